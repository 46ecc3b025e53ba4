#!/bin/bash
# run_all.sh: the whole test suite. Builds five configurations and runs
# ctest in each:
#   build/           release with debug info: every test
#   build-ubsan/     UndefinedBehaviorSanitizer and expensive allocator
#                    checks (ALLOC_DEBUG=2): every test
#   build-tsan/      ThreadSanitizer: the multithreaded tests of the
#                    allocator's internal API
#   build-asan/      AddressSanitizer: the allocprof command's tests (ASan
#                    brings its own malloc, so nothing that preloads
#                    liballoc runs here)
#   build-fuzz/      clang + libFuzzer: bounded fuzzing runs of the
#                    profile readers (FUZZ_SECONDS, default 60) and of the
#                    stack walker's CFI interpreter (30 s)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

# run_config DIR "TARGETS" "CTEST-REGEX" CMAKE-ARGS...: configure, build the
# targets (all when empty) and run the tests matching the regex (all when
# empty).
run_config() {
  local dir=$1 targets=$2 regex=$3
  shift 3
  echo "=== $dir: cmake $*"
  cmake -S . -B "$dir" "$@" >/dev/null
  local t=()
  for x in $targets; do t+=(--target "$x"); done
  cmake --build "$dir" -j"$jobs" "${t[@]}" >/dev/null
  local r=()
  [ -n "$regex" ] && r=(-R "$regex")
  ctest --test-dir "$dir" --output-on-failure -j"$jobs" --timeout 900 "${r[@]}"
}

run_config build "" "" -DCMAKE_BUILD_TYPE=RelWithDebInfo
run_config build-ubsan "" "" -DCMAKE_BUILD_TYPE=Debug -DALLOC_SANITIZE=undefined -DALLOC_DEBUG=2
run_config build-tsan "" "" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DALLOC_SANITIZE=thread
run_config build-asan "allocprof cli_gen_profiles heapdemo" '^cli\.' -DCMAKE_BUILD_TYPE=Debug -DALLOC_SANITIZE=address
run_config build-fuzz "fuzz_profile_read fuzz_cfi fuzz_ub_probe" '^(formats\.fuzz_bounded|formats\.fuzz_ub_fatal|prof\.fuzz_cfi_bounded)$' -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DALLOCPROF_FUZZ=ON -DFUZZ_SECONDS="${FUZZ_SECONDS:-60}"
echo "run_all: all configurations passed"
