#!/usr/bin/env python3
"""Start-up cost of the preload: liballoc beside glibc, jemalloc, tcmalloc
and mimalloc, for /bin/true and a small C program (bench/small_program.c).

Each program is run REPS times under every allocator, interleaved in a
fresh random order per round, by bench_spawn (bench/spawn.c: a static,
tiny launcher, so that its own pages do not inflate a child's peak RSS).
Prints, per program, the median wall time from fork to reaped exit and the
median peak RSS (ru_maxrss), with ratios and differences against mimalloc,
and checks liballoc against the bar issue 9 set: peak RSS at most
mimalloc's + 256 KiB, start-up within 10% of mimalloc's. Exits 1 when
liballoc misses it (--check), else 0.

    python3 bench/startup.py --build BUILD_DIR [--reps 400] [--markdown OUT.md] [--check]

Standard library only; finds the peers as bench/run.py does.
"""

import argparse
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (bench/run.py: allocator discovery)

RSS_MARGIN_KIB = 256
TIME_RATIO = 1.10


def measure(spawn, reps, allocs, prog):
    cmd = [spawn, str(reps)] + ["%s=%s" % (n, p or "") for n, p, _ in allocs] + ["--"] + prog
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    if out.returncode != 0:
        sys.exit("startup.py: %s failed: %s" % (" ".join(cmd[:3]), out.stderr.strip()))
    res = {}
    for line in out.stdout.splitlines():
        name, wall, rss = line.split()
        res[name] = (float(wall), int(rss))
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", required=True, help="build directory (liballoc, bench_spawn)")
    ap.add_argument("--reps", type=int, default=400)
    ap.add_argument("--markdown", help="also write the tables to this file")
    ap.add_argument("--check", action="store_true", help="exit 1 when liballoc misses the bar")
    args = ap.parse_args(argv)
    spawn = os.path.join(args.build, "bench", "bench_spawn")
    small = os.path.join(args.build, "bench", "bench_small_program")
    for p in (spawn, small):
        if not os.path.exists(p):
            sys.exit("startup.py: %s not built (cmake --build %s --target bench_all)" % (p, args.build))
    ns = argparse.Namespace(liballoc=None, build=args.build, extra=None, allocators=None)
    allocs = run.discover_allocators(ns)
    if not any(a[0] == "mimalloc" for a in allocs):
        run.note("NOTE: no mimalloc: ratios against glibc instead")
    base = "mimalloc" if any(a[0] == "mimalloc" for a in allocs) else "glibc"
    programs = [("/bin/true", ["/bin/true"]),
                ("small C program", [small, "alpha", "beta", "gamma"])]
    lines = ["Start-up and peak RSS, median of %d interleaved runs per allocator "
             "(`python3 bench/startup.py --build %s --reps %d`); ratios and "
             "differences against %s." % (args.reps, args.build, args.reps, base), ""]
    ok = True
    for title, prog in programs:
        res = measure(spawn, args.reps, allocs, prog)
        bw, br = res[base]
        lines += ["**%s**" % title, "",
                  "| allocator | start (us) | vs %s | peak RSS (KiB) | vs %s (KiB) |" % (base, base),
                  "|---|---:|---:|---:|---:|"]
        for name, _, _ in allocs:
            w, r = res[name]
            lines.append("| %s | %.0f | %.2fx | %d | %+d |" % (name, w, w / bw, r, r - br))
        lines.append("")
        if "liballoc" in res:
            w, r = res["liballoc"]
            rss_ok = r <= br + RSS_MARGIN_KIB
            time_ok = w <= bw * TIME_RATIO
            ok = ok and rss_ok and time_ok
            lines.append("liballoc: peak RSS %+d KiB against %s (bar: +%d) %s; start-up %.2fx (bar: %.2fx) %s"
                         % (r - br, base, RSS_MARGIN_KIB, "ok" if rss_ok else "MISSED",
                            w / bw, TIME_RATIO, "ok" if time_ok else "MISSED"))
            lines.append("")
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text + "\n")
    return 1 if (args.check and not ok) else 0


if __name__ == "__main__":
    sys.exit(main())
