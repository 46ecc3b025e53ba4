# fuzz_target.cmake: one parser of the profiler under a fuzzer, the same
# way for each (liballoc/fuzz_cfi.cmake, libprof/fuzz_http.cmake): every
# build replays the seeds kept in the repository; with ALLOCPROF_FUZZ a
# bounded, seeded libFuzzer run like formats.fuzz_bounded (formats/
# CMakeLists.txt, which sets FUZZ_RUNS and decides when fuzzing is built).
#
# alloc_fuzz_target(NAME DIR SOURCE...): DIR/fuzz_NAME.c is the target,
# SOURCE... the code under test (paths), DIR/fuzz_NAME_corpus the seeds.
# Makes prof_fuzz_NAME_replay (test prof.fuzz_NAME_replay, the seeds on the
# plain driver formats/fuzz_replay.c, which reads with formats' fileio) and,
# when fuzzing, fuzz_NAME (test prof.fuzz_NAME_bounded, at most
# FUZZ_<NAME>_SECONDS, new inputs under the build's DIR/fuzz_NAME_new).
# Longer runs: fuzz_NAME -max_total_time=600 NEWDIR DIR/fuzz_NAME_corpus
function(alloc_fuzz_target name dir)
  set(target ${dir}/fuzz_${name}.c)
  set(corpus ${dir}/fuzz_${name}_corpus)
  add_executable(prof_fuzz_${name}_replay ${target} ${ARGN} ${PROJECT_SOURCE_DIR}/formats/fuzz_replay.c)
  target_include_directories(prof_fuzz_${name}_replay PRIVATE ${dir})
  target_link_libraries(prof_fuzz_${name}_replay PRIVATE formats)
  alloc_target_warnings(prof_fuzz_${name}_replay)
  add_test(NAME prof.fuzz_${name}_replay COMMAND prof_fuzz_${name}_replay ${corpus})

  if(ALLOCPROF_FUZZ AND CMAKE_C_COMPILER_ID MATCHES "Clang") # as formats/CMakeLists.txt decides
    add_executable(fuzz_${name} ${target} ${ARGN})
    target_include_directories(fuzz_${name} PRIVATE ${dir})
    # any undefined behaviour is a crash the fuzzer reports, not a warning
    target_compile_options(fuzz_${name} PRIVATE -fsanitize=fuzzer,address,undefined
                                                -fno-sanitize-recover=all)
    target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer,address,undefined)
    alloc_target_warnings(fuzz_${name})
    string(TOUPPER ${name} upper)
    set(FUZZ_${upper}_SECONDS 30 CACHE STRING "time cap of prof.fuzz_${name}_bounded")
    file(RELATIVE_PATH sub ${PROJECT_SOURCE_DIR} ${dir})
    set(new ${PROJECT_BINARY_DIR}/${sub}/fuzz_${name}_new)
    add_test(NAME prof.fuzz_${name}_bounded
             COMMAND ${CMAKE_COMMAND} -E env sh -c
                     "rm -rf '${new}' && mkdir -p '${new}' && exec '$<TARGET_FILE:fuzz_${name}>' -seed=1 -runs=${FUZZ_RUNS} -max_total_time=${FUZZ_${upper}_SECONDS} -rss_limit_mb=2048 -print_final_stats=1 '${new}' '${corpus}'")
    set_tests_properties(prof.fuzz_${name}_bounded PROPERTIES TIMEOUT 600)
  endif()
endfunction()
