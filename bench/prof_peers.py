#!/usr/bin/env python3
"""What a sampling heap profiler costs, ours against the peers' own, each
on its own allocator at the same mean sampling interval.

    python3 bench/prof_peers.py --build BUILD [--reps 7] [--rate 524288]
                                [--workloads glibc_thread,churn,...]

Three allocators have one built in, each switched on by its user's
setting, without a dump at exit (sampling and recording only):
  liballoc  ALLOCPROF_RATE=RATE (off: ALLOCPROF_RATE=0)
  jemalloc  MALLOC_CONF=prof:true,lg_prof_sample:log2(RATE) (Debian's
            libjemalloc2 is built with profiling; off: no MALLOC_CONF)
  tcmalloc  gperftools' libtcmalloc.so.4 (not _minimal, which cannot
            sample) with TCMALLOC_SAMPLE_PARAMETER=RATE (off: =0)
glibc and mimalloc have no sampling profiler. For each workload and each
repetition all six runs are made back to back in a shuffled order, so the
machine's drift falls on every column alike; the table gives the median
wall and CPU time of each and the profiler's overhead (the median of the
per-repetition ratios on/off), and the geomean of the overheads. The
absolute seconds say that the allocators differ too: an overhead is a
share of that allocator's own time. Standard library only.
"""

import argparse
import math
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (bench/run.py: finding the peers, running one workload)

DEFAULT_WORKLOADS = "glibc_thread,churn,larson,xmalloc,pareto,realloc,espresso_like"


def configs(build, rate):
    """(profiler, on/off, preload, env) for each run; exits if a peer is missing."""
    lib = os.path.abspath(os.path.join(build, "liballoc", "liballoc.so"))
    ldmap = run.ldconfig_libs()
    je = run.find_peer(["libjemalloc.so.2", "libjemalloc.so"], ldmap)
    tc = run.find_peer(["libtcmalloc.so.4", "libtcmalloc.so"], ldmap)
    missing = [n for n, p in (("liballoc", lib if os.path.exists(lib) else None),
                              ("jemalloc", je), ("tcmalloc (libtcmalloc.so.4)", tc)) if not p]
    if missing:
        sys.exit("prof_peers: not found: %s (build first; Debian: apt-get install "
                 "libjemalloc2 libgoogle-perftools4)" % ", ".join(missing))
    lg = int(math.log2(rate))
    return [
        ("liballoc", "off", lib, {"ALLOCPROF_RATE": "0"}),
        ("liballoc", "on", lib, {"ALLOCPROF_RATE": str(rate)}),
        ("jemalloc", "off", je, {}),
        ("jemalloc", "on", je, {"MALLOC_CONF": "prof:true,lg_prof_sample:%d" % lg}),
        ("tcmalloc", "off", tc, {"TCMALLOC_SAMPLE_PARAMETER": "0"}),
        ("tcmalloc", "on", tc, {"TCMALLOC_SAMPLE_PARAMETER": str(rate)}),
    ]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", required=True, help="CMake build directory")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--rate", type=int, default=524288,
                    help="mean bytes between samples; a power of two (jemalloc takes its log2)")
    ap.add_argument("--workloads", default=DEFAULT_WORKLOADS)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=1, help="seed of the run order")
    ap.add_argument("--timeout", type=int, default=600)
    args = ap.parse_args()
    if args.reps < 1 or args.rate < 2 or args.rate & (args.rate - 1):
        sys.exit("prof_peers: --reps must be at least 1 and --rate a power of two")
    cfgs = configs(args.build, args.rate)
    workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    binaries = {}
    for w in workloads:
        b = os.path.join(args.build, "bench", "bench_" + w)
        if not os.path.exists(b):
            sys.exit("prof_peers: %s does not exist (build first, or no such workload)" % b)
        binaries[w] = b
    order = random.Random(args.seed)
    profilers = ["liballoc", "jemalloc", "tcmalloc"]
    print("| workload | profiler | off wall | on wall | overhead wall | off CPU | on CPU"
          " | overhead CPU |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    overheads = {p: ([], []) for p in profilers}
    for w in workloads:
        times = {(p, s): [] for p, s, _, _ in cfgs}
        for _ in range(args.reps):
            for p, s, preload, env in order.sample(cfgs, len(cfgs)):
                r = run.run_one(binaries[w], args.scale, preload, env, args.timeout)
                if r.error:
                    sys.exit("prof_peers: %s under %s (%s): %s" % (w, p, s, r.error))
                times[(p, s)].append((r.wall, r.cpu))
        for p in profilers:
            off, on = times[(p, "off")], times[(p, "on")]
            ow = run.median([on[i][0] / off[i][0] for i in range(args.reps)])
            oc = run.median([on[i][1] / off[i][1] for i in range(args.reps)])
            overheads[p][0].append(ow)
            overheads[p][1].append(oc)
            print("| %s | %s | %.3f s | %.3f s | %+.0f%% | %.3f s | %.3f s | %+.0f%% |" % (
                w, p, run.median([t[0] for t in off]), run.median([t[0] for t in on]),
                100 * (ow - 1), run.median([t[1] for t in off]),
                run.median([t[1] for t in on]), 100 * (oc - 1)))
        sys.stdout.flush()
    for p in profilers:
        print("| geomean | %s | | | %+.1f%% | | | %+.1f%% |" % (
            p, 100 * (run.geomean(overheads[p][0]) - 1), 100 * (run.geomean(overheads[p][1]) - 1)))


if __name__ == "__main__":
    main()
