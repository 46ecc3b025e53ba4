#!/usr/bin/env python3
"""Interleaved runs of one program under several settings: the A/B of two
builds of the allocator, or of one build with and without a setting.

    python3 bench/ab.py REPS 'PROGRAM [ARGS]' NAME:VAR=VAL,VAR=VAL ...

Each repetition runs the program once under every NAME's environment (the
caller's, with its LD_PRELOAD and ALLOCPROF_* removed, plus the VAR=VALs),
in the order given, so that the machine's drift falls on all alike. Prints
each NAME's median wall and CPU (user+sys) seconds and their ratio to the
first NAME's. Used for the experiment builds of bench/RESULTS.md sections
14 and 15, e.g.

    python3 bench/ab.py 41 build/bench/bench_glibc_thread \\
        off:LD_PRELOAD=$PWD/build/liballoc/liballoc.so,ALLOCPROF_RATE=0 \\
        on:LD_PRELOAD=$PWD/build/liballoc/liballoc.so,ALLOCPROF_RATE=524288 \\
        before:LD_PRELOAD=/tmp/before/liballoc.so,ALLOCPROF_RATE=524288

Standard library only.
"""

import os
import shlex
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (bench/run.py: the environment a run starts from)


def parse_config(arg):
    if ":" not in arg:
        sys.exit("ab.py: %r is not NAME:VAR=VAL,..." % arg)
    name, settings = arg.split(":", 1)
    env = run.base_env()
    for kv in filter(None, settings.split(",")):
        if "=" not in kv:
            sys.exit("ab.py: %r in %r is not VAR=VAL" % (kv, arg))
        k, v = kv.split("=", 1)
        env[k] = v
    return name, env


def main():
    if len(sys.argv) < 4 or sys.argv[1] in ("-h", "--help"):
        sys.exit(__doc__.strip().split("\n\n")[1])
    try:
        reps = int(sys.argv[1])
    except ValueError:
        reps = 0
    if reps < 1:
        sys.exit("ab.py: REPS must be a whole number of at least 1, got %r" % sys.argv[1])
    argv = shlex.split(sys.argv[2])
    configs = [parse_config(a) for a in sys.argv[3:]]
    times = {name: [] for name, _ in configs}
    for _ in range(reps):
        for name, env in configs:
            start = time.perf_counter()
            try:
                proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL)
            except OSError as e:
                sys.exit("ab.py: cannot run %s: %s" % (argv[0], e))
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - start
            if os.waitstatus_to_exitcode(status) != 0:
                sys.exit("ab.py: %s under %s exited with status %d"
                         % (argv[0], name, os.waitstatus_to_exitcode(status)))
            times[name].append((wall, usage.ru_utime + usage.ru_stime))
    first = None
    for name, _ in configs:
        wall = statistics.median(t[0] for t in times[name])
        cpu = statistics.median(t[1] for t in times[name])
        first = first or (wall, cpu)
        print("%-12s wall %.4f s (%.3f)  cpu %.4f s (%.3f)"
              % (name, wall, wall / first[0], cpu, cpu / first[1]))


if __name__ == "__main__":
    main()
