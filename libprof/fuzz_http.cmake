# fuzz_http.cmake: ALLOCPROF_HTTP's request parser (http_request.c) under a
# fuzzer (cmake/fuzz_target.cmake), included from libprof/CMakeLists.txt.
# fuzz_http.c is the target; its seeds, fuzz_http_corpus, are requests of
# curl, go tool pprof and Prometheus, and bad ones.
include(${PROJECT_SOURCE_DIR}/cmake/fuzz_target.cmake)
alloc_fuzz_target(http ${CMAKE_CURRENT_LIST_DIR} ${CMAKE_CURRENT_LIST_DIR}/http_request.c)
