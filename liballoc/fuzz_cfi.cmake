# fuzz_cfi.cmake: the stack walker's CFI interpreter (mprof_cfi.c) under a
# fuzzer (cmake/fuzz_target.cmake), included from the top CMakeLists.txt
# after formats/ (the replay driver reads its corpus with formats' fileio).
# fuzz_cfi.c is the target; its seeds, fuzz_cfi_corpus, are written by
# fuzz_cfi_seeds.py from real libraries.
include(${PROJECT_SOURCE_DIR}/cmake/fuzz_target.cmake)
alloc_fuzz_target(cfi ${CMAKE_CURRENT_LIST_DIR} ${CMAKE_CURRENT_LIST_DIR}/mprof_cfi.c)
