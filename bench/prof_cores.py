#!/usr/bin/env python3
"""What sampling costs a threaded workload with its threads on one CPU and
on two (bench/RESULTS.md section 12).

On one CPU the threads never run at once, so a sample costs what its
instructions cost; on two, every sample also moves the lines of the
profiler's shared state (prof_lock, the counters, the buckets, the
sampled-object shards) from the other core. The difference between the two
overheads is that sharing.

    python3 bench/prof_cores.py --build BUILD [--workload glibc_thread]
                                [--reps 7] [--rate 524288]

Runs the workload under BUILD/liballoc/liballoc.so with ALLOCPROF_RATE=0
and with the rate, on CPU 0 alone and on every CPU, interleaved in each
repetition, and prints the median wall and CPU (user+sys) seconds of each
and the overhead of sampling. Standard library only; Linux only (CPU
affinity).
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (bench/run.py: the environment a run starts from)


def run_once(binary, preload, rate, cpus):
    env = run.base_env()  # no profiler setting or preload of the caller's
    env["LD_PRELOAD"] = preload
    env["ALLOCPROF_RATE"] = str(rate)
    start = time.monotonic()
    proc = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL,
                            preexec_fn=lambda: os.sched_setaffinity(0, cpus))
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
        sys.exit("prof_cores: %s failed (status %d)" % (binary, status))
    return wall, usage.ru_utime + usage.ru_stime


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", required=True, help="CMake build directory")
    ap.add_argument("--workload", default="glibc_thread", help="a bench_<name> binary")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--rate", type=int, default=524288, help="ALLOCPROF_RATE when sampling")
    args = ap.parse_args()
    if args.reps < 1 or args.rate < 1:
        sys.exit("prof_cores: --reps and --rate must be at least 1")
    binary = os.path.join(args.build, "bench", "bench_" + args.workload)
    preload = os.path.abspath(os.path.join(args.build, "liballoc", "liballoc.so"))
    for path in (binary, preload):
        if not os.path.exists(path):
            sys.exit("prof_cores: %s does not exist (build first)" % path)
    every = os.sched_getaffinity(0)
    placements = [("one CPU", {min(every)}), ("all %d CPUs" % len(every), every)]
    results = {}
    for _ in range(args.reps):
        for name, cpus in placements:
            for rate in (0, args.rate):
                results.setdefault((name, rate), []).append(run_once(binary, preload, rate, cpus))
    print("%s, %d repetitions, medians (wall / CPU seconds)" % (args.workload, args.reps))
    print("%-12s %17s %17s %10s %10s" % ("threads on", "profiling off", "rate %d" % args.rate,
                                          "wall", "CPU"))
    for name, _ in placements:
        off, on = results[(name, 0)], results[(name, args.rate)]
        w0, c0 = statistics.median(r[0] for r in off), statistics.median(r[1] for r in off)
        w1, c1 = statistics.median(r[0] for r in on), statistics.median(r[1] for r in on)
        print("%-12s %8.3f / %6.3f %8.3f / %6.3f %+9.1f%% %+9.1f%%" %
              (name, w0, c0, w1, c1, 100 * (w1 / w0 - 1), 100 * (c1 / c0 - 1)))


if __name__ == "__main__":
    main()
