#!/bin/bash
# run_all.sh: the whole test suite. Builds three configurations and runs
# ctest in each:
#   build/           release with debug info: every unit and integration test
#   build-ubsan/     UndefinedBehaviorSanitizer, every test that links the
#                    allocator directly
#   build-tsan/      ThreadSanitizer, the multithreaded stress tests of the
#                    allocator's internal API
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

run_config() {
  local dir=$1; shift
  echo "=== $dir: cmake $*"
  cmake -S . -B "$dir" "$@" >/dev/null
  cmake --build "$dir" -j"$jobs" >/dev/null
  ctest --test-dir "$dir" --output-on-failure -j"$jobs" --timeout 600
}

run_config build -DCMAKE_BUILD_TYPE=RelWithDebInfo
run_config build-ubsan -DCMAKE_BUILD_TYPE=Debug -DALLOC_SANITIZE=undefined -DALLOC_DEBUG=2
run_config build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DALLOC_SANITIZE=thread
echo "run_all: all configurations passed"
