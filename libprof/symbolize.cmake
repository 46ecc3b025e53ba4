# symbolize.cmake: the profiler's symbolizer and mapping collector, included
# from libprof/CMakeLists.txt: symbolize.c (API, cache, resolving),
# symbolize_elf.c (ELF/DWARF indexes), symbolize_files.c (finding files and
# debug info), cxxname.c (short C++ names), mappings.c (loaded objects).
# Runs at dump time only; reads ELF and DWARF through elfutils' libdw
# (Debian: libdw-dev, libelf-dev).
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(PROF_LIBDW QUIET IMPORTED_TARGET GLOBAL libdw)
endif()
if(TARGET PkgConfig::PROF_LIBDW)
  set(PROF_SYMBOLIZE_DW PkgConfig::PROF_LIBDW)
else()
  find_path(PROF_LIBDW_INCLUDE_DIR elfutils/libdwfl.h REQUIRED)
  find_library(PROF_LIBDW_LIB dw REQUIRED)
  find_library(PROF_LIBELF_LIB elf REQUIRED)
  add_library(prof_libdw INTERFACE)
  target_include_directories(prof_libdw INTERFACE ${PROF_LIBDW_INCLUDE_DIR})
  target_link_libraries(prof_libdw INTERFACE ${PROF_LIBDW_LIB} ${PROF_LIBELF_LIB})
  set(PROF_SYMBOLIZE_DW prof_libdw)
endif()

# The sources are listed once: liballoc_dump.so compiles them too
# (libprof/CMakeLists.txt), without the allocator's core.
set(PROF_SYMBOLIZE_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/symbolize.c
  ${CMAKE_CURRENT_LIST_DIR}/symbolize_elf.c
  ${CMAKE_CURRENT_LIST_DIR}/symbolize_files.c
  ${CMAKE_CURRENT_LIST_DIR}/cxxname.c
  ${CMAKE_CURRENT_LIST_DIR}/mappings.c)
add_library(prof_symbolize STATIC ${PROF_SYMBOLIZE_SOURCES})
target_include_directories(prof_symbolize PUBLIC ${CMAKE_CURRENT_LIST_DIR})
# alloc_core for the loader fence (liballoc/loaderfence.h) around dl_iterate_phdr
# formats for hashtab.h, the index of the symbolizer's tables
target_link_libraries(prof_symbolize PUBLIC alloc_core formats ${PROF_SYMBOLIZE_DW} ${CMAKE_DL_LIBS})
set_target_properties(prof_symbolize PROPERTIES POSITION_INDEPENDENT_CODE ON
                                                C_VISIBILITY_PRESET hidden)
target_compile_options(prof_symbolize PRIVATE -fvisibility=hidden)
alloc_target_warnings(prof_symbolize)
