# install.cmake: what `cmake --install build --prefix P` puts where, and the
# Debian package (`cpack -G DEB` in the build directory).
#
#   bin/allocprof                      the command
#   lib/liballoc.so                    the allocator and the sampling half of
#                                      the profiler (LD_PRELOAD or link with
#                                      -lalloc); on a /usr prefix
#                                      lib/<multiarch>/ as Debian wants
#   lib/liballoc_dump.so               the dumping half, which liballoc.so
#                                      loads from beside itself when a
#                                      process wants profiles
#   include/alloc.h, include/allocprof.h  the public headers
#   lib/pkgconfig/allocprof.pc         `pkg-config --cflags --libs allocprof`
#   lib/cmake/allocprof/               find_package(allocprof): allocprof::alloc
#   share/man/man1/allocprof.1         the manual page
#
# `allocprof run` finds liballoc.so from its own path (cli/CMakeLists.txt
# compiles in the bin -> lib relative path), so an installed tree can move.
include(CMakePackageConfigHelpers)

install(TARGETS allocprof RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS alloc EXPORT allocprofTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS alloc_dump LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES ${PROJECT_SOURCE_DIR}/liballoc/include/alloc.h
              ${PROJECT_SOURCE_DIR}/liballoc/include/allocprof.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

# The .pc file names the prefix given at install time (--prefix), so it is
# written then; programs built against a prefix outside the loader's search
# path get an rpath to it.
install(CODE "
  set(PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  set(PC_LIBDIR \"${CMAKE_INSTALL_LIBDIR}\")
  set(PC_INCLUDEDIR \"${CMAKE_INSTALL_INCLUDEDIR}\")
  set(PC_VERSION \"${PROJECT_VERSION}\")
  if(PC_PREFIX STREQUAL \"/usr\")
    set(PC_RPATH \"\")
  else()
    set(PC_RPATH \"-Wl,-rpath,\\\${libdir} \")
  endif()
  configure_file(\"${CMAKE_CURRENT_LIST_DIR}/allocprof.pc.in\"
                 \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig/allocprof.pc\" @ONLY)
  message(STATUS \"Installing: \$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig/allocprof.pc\")
")

set(ALLOCPROF_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/allocprof)
install(EXPORT allocprofTargets NAMESPACE allocprof:: DESTINATION ${ALLOCPROF_CMAKE_DIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/allocprofConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/allocprofConfig.cmake
                              INSTALL_DESTINATION ${ALLOCPROF_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/allocprofConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/allocprofConfig.cmake
              ${PROJECT_BINARY_DIR}/allocprofConfigVersion.cmake
        DESTINATION ${ALLOCPROF_CMAKE_DIR})

install(FILES ${PROJECT_SOURCE_DIR}/cli/allocprof.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

# ---- the Debian package ----------------------------------------------------------
set(CPACK_PACKAGE_NAME allocprof)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "allocprof developers <allocprof@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "malloc replacement with an always-on sampling heap profiler (pprof output)")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
# dependencies from the binaries' own needs (dpkg-shlibdeps, package dpkg-dev)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS golang-go)
include(CPack)
