# fuzz_http.cmake: ALLOCPROF_HTTP's request parser (http_request.c) under a
# fuzzer, included from libprof/CMakeLists.txt. fuzz_http.c is the target.
# Every build replays its seeds (fuzz_http_corpus: requests of curl, go
# tool pprof and Prometheus, and bad ones); with ALLOCPROF_FUZZ a bounded,
# seeded libFuzzer run like formats.fuzz_bounded. Longer runs:
# fuzz_http -max_total_time=600 DIR libprof/fuzz_http_corpus
add_executable(prof_fuzz_http_replay ${CMAKE_CURRENT_LIST_DIR}/fuzz_http.c
                                     ${CMAKE_CURRENT_LIST_DIR}/http_request.c
                                     ${PROJECT_SOURCE_DIR}/formats/fuzz_replay.c)
target_include_directories(prof_fuzz_http_replay PRIVATE ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(prof_fuzz_http_replay PRIVATE formats) # fuzz_replay.c reads with fileio
alloc_target_warnings(prof_fuzz_http_replay)
add_test(NAME prof.fuzz_http_replay
         COMMAND prof_fuzz_http_replay ${CMAKE_CURRENT_LIST_DIR}/fuzz_http_corpus)

if(ALLOCPROF_FUZZ AND CMAKE_C_COMPILER_ID MATCHES "Clang") # as formats/CMakeLists.txt decides
  add_executable(fuzz_http ${CMAKE_CURRENT_LIST_DIR}/fuzz_http.c ${CMAKE_CURRENT_LIST_DIR}/http_request.c)
  target_include_directories(fuzz_http PRIVATE ${CMAKE_CURRENT_LIST_DIR})
  target_compile_options(fuzz_http PRIVATE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all)
  target_link_options(fuzz_http PRIVATE -fsanitize=fuzzer,address,undefined)
  alloc_target_warnings(fuzz_http)
  set(FUZZ_HTTP_SECONDS 30 CACHE STRING "time cap of prof.fuzz_http_bounded")
  add_test(NAME prof.fuzz_http_bounded
           COMMAND ${CMAKE_COMMAND} -E env sh -c
                   "rm -rf '${PROJECT_BINARY_DIR}/libprof/fuzz_http_new' && mkdir -p '${PROJECT_BINARY_DIR}/libprof/fuzz_http_new' && exec '$<TARGET_FILE:fuzz_http>' -seed=1 -runs=${FUZZ_RUNS} -max_total_time=${FUZZ_HTTP_SECONDS} -rss_limit_mb=2048 -print_final_stats=1 '${PROJECT_BINARY_DIR}/libprof/fuzz_http_new' '${CMAKE_CURRENT_LIST_DIR}/fuzz_http_corpus'")
  set_tests_properties(prof.fuzz_http_bounded PROPERTIES TIMEOUT 600)
endif()
