# fuzz_cfi.cmake: the stack walker's CFI interpreter (mprof_cfi.c) under a
# fuzzer, included from the top CMakeLists.txt after formats/ (the replay
# driver reads its corpus with formats' fileio). fuzz_cfi.c is the
# target. Every build replays its seeds (fuzz_cfi_corpus, written by
# fuzz_cfi_seeds.py from real libraries); with ALLOCPROF_FUZZ a bounded,
# seeded libFuzzer run like formats.fuzz_bounded. Longer runs:
# fuzz_cfi -max_total_time=600 DIR liballoc/fuzz_cfi_corpus
add_executable(prof_fuzz_cfi_replay ${CMAKE_CURRENT_LIST_DIR}/fuzz_cfi.c ${CMAKE_CURRENT_LIST_DIR}/mprof_cfi.c ${PROJECT_SOURCE_DIR}/formats/fuzz_replay.c)
target_include_directories(prof_fuzz_cfi_replay PRIVATE ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(prof_fuzz_cfi_replay PRIVATE formats) # fuzz_replay.c reads with fileio
alloc_target_warnings(prof_fuzz_cfi_replay)
add_test(NAME prof.fuzz_cfi_replay
         COMMAND prof_fuzz_cfi_replay ${CMAKE_CURRENT_LIST_DIR}/fuzz_cfi_corpus)

if(ALLOCPROF_FUZZ AND CMAKE_C_COMPILER_ID MATCHES "Clang") # as formats/CMakeLists.txt decides
  add_executable(fuzz_cfi ${CMAKE_CURRENT_LIST_DIR}/fuzz_cfi.c ${CMAKE_CURRENT_LIST_DIR}/mprof_cfi.c)
  target_include_directories(fuzz_cfi PRIVATE ${CMAKE_CURRENT_LIST_DIR})
  # any undefined behaviour is a crash the fuzzer reports, not a warning
  target_compile_options(fuzz_cfi PRIVATE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all)
  target_link_options(fuzz_cfi PRIVATE -fsanitize=fuzzer,address,undefined)
  alloc_target_warnings(fuzz_cfi)
  set(FUZZ_CFI_SECONDS 30 CACHE STRING "time cap of prof.fuzz_cfi_bounded")
  add_test(NAME prof.fuzz_cfi_bounded
           COMMAND ${CMAKE_COMMAND} -E env sh -c
                   "rm -rf '${PROJECT_BINARY_DIR}/liballoc/fuzz_cfi_new' && mkdir -p '${PROJECT_BINARY_DIR}/liballoc/fuzz_cfi_new' && exec '$<TARGET_FILE:fuzz_cfi>' -seed=1 -runs=${FUZZ_RUNS} -max_total_time=${FUZZ_CFI_SECONDS} -rss_limit_mb=2048 -print_final_stats=1 '${PROJECT_BINARY_DIR}/liballoc/fuzz_cfi_new' '${CMAKE_CURRENT_LIST_DIR}/fuzz_cfi_corpus'")
  set_tests_properties(prof.fuzz_cfi_bounded PROPERTIES TIMEOUT 600)
endif()
