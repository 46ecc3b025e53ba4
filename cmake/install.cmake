# install.cmake: what `cmake --install build --prefix P` puts where, and the
# Debian package (`cpack -G DEB` in the build directory).
#
#   bin/allocprof                      the command
#   LIBDIR/liballoc.so.<release>       the allocator and the sampling half of
#     liballoc.so.1, liballoc.so       the profiler (LD_PRELOAD or link with
#                                      -lalloc); soname liballoc.so.1
#   LIBDIR/liballoc_dump.so            the dumping half, which liballoc.so
#                                      loads from beside its real file when a
#                                      process wants profiles
#   include/allocprof/alloc.h          the public headers (#include
#   include/allocprof/allocprof.h      <allocprof/alloc.h>)
#   LIBDIR/pkgconfig/allocprof.pc      `pkg-config --cflags --libs allocprof`
#   LIBDIR/cmake/allocprof/            find_package(allocprof): allocprof::alloc
#   share/man/man1/allocprof.1.gz      the manual page
#   share/doc/allocprof/copyright      DEP-5 (cmake/copyright), and the
#   share/doc/allocprof/changelog.gz   Debian changelog (cmake/changelog)
#
# Two layouts from one build. `cmake --install` makes the one GNUInstallDirs
# chose for the prefix given at configure time (component "tree"): LIBDIR is
# lib for /usr/local or /opt/..., lib/<multiarch> for /usr. The Debian
# package always has prefix /usr and LIBDIR lib/<multiarch> (component "deb",
# which only CPack installs), whatever the configure-time prefix. The rules
# are written once, in allocprof_install below, and made for each layout.
#
# `allocprof run` finds liballoc.so from its own path (ALLOCPROF_BIN_TO_LIB
# at the end of the rules), so an installed tree can move.
include(CMakePackageConfigHelpers)

# The package's LIBDIR: what GNUInstallDirs gives the prefix /usr on Debian.
if(CMAKE_LIBRARY_ARCHITECTURE)
  set(ALLOCPROF_DEB_LIBDIR lib/${CMAKE_LIBRARY_ARCHITECTURE})
else()
  set(ALLOCPROF_DEB_LIBDIR lib)
endif()

# The changelog's top entry is this release, and its trailer names the
# package's maintainer: one place for both.
file(STRINGS ${CMAKE_CURRENT_LIST_DIR}/changelog ALLOCPROF_CHANGELOG_TOP LIMIT_COUNT 1)
if(NOT ALLOCPROF_CHANGELOG_TOP MATCHES "^allocprof \\(${PROJECT_VERSION}\\) ")
  message(FATAL_ERROR "cmake/changelog: its first entry is not version ${PROJECT_VERSION} "
                      "(${ALLOCPROF_CHANGELOG_TOP}); add an entry for this release")
endif()
file(STRINGS ${CMAKE_CURRENT_LIST_DIR}/changelog ALLOCPROF_CHANGELOG_TRAILER REGEX "^ -- " LIMIT_COUNT 1)
string(REGEX REPLACE "^ -- (.*>)  .*$" "\\1" ALLOCPROF_MAINTAINER "${ALLOCPROF_CHANGELOG_TRAILER}")

# The compressed documents (Debian wants gzip -9n: no name, no time stamp,
# the same bytes at every build).
set(ALLOCPROF_DOC_DIR ${PROJECT_BINARY_DIR}/doc)
set(ALLOCPROF_GZ_DOCS)
foreach(pair "cli/allocprof.1;allocprof.1.gz" "cmake/changelog;changelog.gz")
  list(GET pair 0 in)
  list(GET pair 1 out)
  add_custom_command(OUTPUT ${ALLOCPROF_DOC_DIR}/${out}
                     COMMAND ${CMAKE_COMMAND} -E make_directory ${ALLOCPROF_DOC_DIR}
                     COMMAND gzip -9n -c ${PROJECT_SOURCE_DIR}/${in} > ${ALLOCPROF_DOC_DIR}/${out}
                     DEPENDS ${PROJECT_SOURCE_DIR}/${in} VERBATIM)
  list(APPEND ALLOCPROF_GZ_DOCS ${ALLOCPROF_DOC_DIR}/${out})
endforeach()
add_custom_target(allocprof_docs ALL DEPENDS ${ALLOCPROF_GZ_DOCS})

# allocprof_install(COMPONENT LIBDIR [EXCLUDE_FROM_ALL]): every file above,
# with the libraries, the .pc file and the CMake package in LIBDIR.
function(allocprof_install component libdir)
  set(excl ${ARGN})
  set(opts COMPONENT ${component} ${excl})
  install(TARGETS allocprof RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} ${opts})
  # the real file, the soname link and the liballoc.so link
  install(TARGETS alloc EXPORT allocprofTargets_${component}
          LIBRARY DESTINATION ${libdir} ${opts}
          INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  install(TARGETS alloc_dump LIBRARY DESTINATION ${libdir} ${opts})
  install(FILES ${PROJECT_SOURCE_DIR}/liballoc/include/alloc.h
                ${PROJECT_SOURCE_DIR}/liballoc/include/allocprof.h
          DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/allocprof ${opts})

  # The .pc file names the prefix given at install time (--prefix), so it is
  # written then; programs built against a prefix outside the loader's
  # search path get an rpath to it.
  install(CODE "
    set(PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
    set(PC_LIBDIR \"${libdir}\")
    set(PC_INCLUDEDIR \"${CMAKE_INSTALL_INCLUDEDIR}\")
    set(PC_VERSION \"${PROJECT_VERSION}\")
    if(PC_PREFIX STREQUAL \"/usr\")
      set(PC_RPATH \"\")
    else()
      set(PC_RPATH \"-Wl,-rpath,\\\${libdir} \")
    endif()
    configure_file(\"${CMAKE_CURRENT_FUNCTION_LIST_DIR}/allocprof.pc.in\"
                   \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${libdir}/pkgconfig/allocprof.pc\" @ONLY)
    message(STATUS \"Installing: \$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${libdir}/pkgconfig/allocprof.pc\")
  " ${opts})

  set(cmakedir ${libdir}/cmake/allocprof)
  set(gen ${PROJECT_BINARY_DIR}/cmake-${component})
  install(EXPORT allocprofTargets_${component} FILE allocprofTargets.cmake NAMESPACE allocprof::
          DESTINATION ${cmakedir} ${opts})
  configure_package_config_file(${CMAKE_CURRENT_FUNCTION_LIST_DIR}/allocprofConfig.cmake.in
                                ${gen}/allocprofConfig.cmake INSTALL_DESTINATION ${cmakedir})
  write_basic_package_version_file(${gen}/allocprofConfigVersion.cmake COMPATIBILITY SameMinorVersion)
  install(FILES ${gen}/allocprofConfig.cmake ${gen}/allocprofConfigVersion.cmake
          DESTINATION ${cmakedir} ${opts})

  install(FILES ${ALLOCPROF_DOC_DIR}/allocprof.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 ${opts})
  install(FILES ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/copyright ${ALLOCPROF_DOC_DIR}/changelog.gz
          DESTINATION ${CMAKE_INSTALL_DOCDIR} ${opts})
endfunction()

allocprof_install(tree ${CMAKE_INSTALL_LIBDIR})
allocprof_install(deb ${ALLOCPROF_DEB_LIBDIR} EXCLUDE_FROM_ALL)

# Where `allocprof run` looks for liballoc.so, relative to its own directory
# (cli/cmd_run.c): ../lib always, and this one, the configured LIBDIR, or
# the package's when the configured one is plain lib.
if(CMAKE_INSTALL_LIBDIR STREQUAL "lib")
  set(bin_to_lib ${ALLOCPROF_DEB_LIBDIR})
else()
  set(bin_to_lib ${CMAKE_INSTALL_LIBDIR})
endif()
file(RELATIVE_PATH ALLOCPROF_BIN_TO_LIB ${CMAKE_INSTALL_FULL_BINDIR} ${CMAKE_INSTALL_PREFIX}/${bin_to_lib})
target_compile_definitions(allocprof PRIVATE ALLOCPROF_BIN_TO_LIB="${ALLOCPROF_BIN_TO_LIB}")

# ---- the Debian package ----------------------------------------------------------
# One package, allocprof, made of the "deb" component alone.
set(CPACK_PACKAGE_NAME allocprof)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${ALLOCPROF_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "malloc replacement with an always-on sampling heap profiler (pprof output)")
set(CPACK_PACKAGE_DESCRIPTION
    "allocprof is a malloc replacement on the Go runtime's allocator design
(liballoc.so, to preload or to link) with a Poisson-sampled heap profiler
that writes pprof files, which go tool pprof opens as they are, on exit, on
a signal, on a timer or at a new peak. The allocprof command runs a program
under the profiler and summarises, merges, diffs and draws its profiles, and
gates a CI job on memory growth.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL deb)
set(CPACK_COMPONENTS_GROUPING ALL_COMPONENTS_IN_ONE)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# dependencies from the binaries' own needs (dpkg-shlibdeps, package dpkg-dev)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# a shlibs control file, so that packages linking liballoc.so.1 depend on us
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
# stripped binaries in the package, their debug information in a -dbgsym .ddeb
set(CPACK_DEBIAN_DEBUGINFO_PACKAGE ON)
# ldconfig by trigger, as Debian wants, rather than from postinst and postrm
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${CMAKE_CURRENT_LIST_DIR}/deb/triggers)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# libdebuginfod1: `allocprof symbolize --debuginfod` loads it with dlopen (cli/debuginfod.h)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "golang-go, libdebuginfod1")
include(CPack)
