#!/usr/bin/env python3
"""Benchmark runner: liballoc beside glibc, jemalloc, tcmalloc and mimalloc.

Runs every workload binary (bench_<name>) under each allocator via
LD_PRELOAD (glibc: no preload), interleaved: for each repetition and each
workload the allocators run in a freshly shuffled order, so that machine
noise falls on all of them alike. Measures wall time, CPU time (user+sys)
and peak RSS (ru_maxrss from wait4), takes medians over the repetitions and
prints ratio tables against a baseline allocator (mimalloc unless told
otherwise) with a geometric-mean row. Checks that every run exits cleanly
and that all allocators print the same checksum; exits 1 otherwise.

    python3 bench/run.py --build BUILD_DIR [--reps N] [--workloads a,b]
                         [--markdown OUT.md] [--quick]
    python3 bench/run.py --bin-dir DIR [--liballoc PATH] ...

Standard library only.
"""

import argparse
import datetime
import glob
import math
import os
import platform
import random
import re
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

# Default order of the workloads in the tables.
WORKLOADS = [
    "churn",
    "larson",
    "xmalloc",
    "thread_churn",
    "realloc",
    "large",
    "cache_scratch",
    "rss_return",
    "prodcons",
    "randmix",
    "glibc_thread",
    "pareto",
    "batch",
    "espresso_like",
]

# Workloads whose wall/CPU time says nothing about the allocator (they sleep).
TIME_EXCLUDED = {"rss_return"}

# Scale passed to every workload with --quick (rss_return: 256 MiB).
QUICK_SCALE = 0.25

# Peer allocators: name -> sonames to look for, best first.
PEERS = [
    ("jemalloc", ["libjemalloc.so.2", "libjemalloc.so"]),
    ("tcmalloc", ["libtcmalloc_minimal.so.4", "libtcmalloc.so.4",
                  "libtcmalloc_minimal.so", "libtcmalloc.so"]),
    ("mimalloc", ["libmimalloc.so.2", "libmimalloc.so"]),
]

LIB_DIRS = [
    "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu", "/lib/aarch64-linux-gnu",
    "/usr/lib64", "/usr/lib", "/usr/local/lib64", "/usr/local/lib",
]

CHECKSUM_RE = re.compile(r"checksum=(0x[0-9a-fA-F]+)")
PEAK_RE = re.compile(r"peak_rss_kib=(\d+)")
RSS_RE = re.compile(r"^rss_mib\s+(.*)$", re.M)
PRELOAD_ERR_RE = re.compile(r"cannot be preloaded|ld\.so: object .* from LD_PRELOAD")


def note(msg):
    print("run.py: " + msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- discovery

def ldconfig_libs():
    """soname -> path, from `ldconfig -p` (empty if ldconfig is unavailable)."""
    found = {}
    for exe in ("ldconfig", "/sbin/ldconfig", "/usr/sbin/ldconfig"):
        try:
            out = subprocess.run([exe, "-p"], capture_output=True, text=True,
                                 timeout=20).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        machine = platform.machine()
        for line in out.splitlines():
            m = re.match(r"\s*(\S+)\s+\(([^)]*)\)\s+=>\s+(\S+)", line)
            if not m:
                continue
            soname, flags, path = m.groups()
            # prefer the native ABI when both 32- and 64-bit copies exist
            if machine == "x86_64" and "x86-64" not in flags:
                found.setdefault(soname, path)
                continue
            found[soname] = path
        if found:
            break
    return found


def find_peer(sonames, ldmap):
    for so in sonames:
        p = ldmap.get(so)
        if p and os.path.exists(p):
            return os.path.realpath(p)
    for so in sonames:
        for d in LIB_DIRS:
            for p in sorted(glob.glob(os.path.join(d, so))):
                if os.path.exists(p):
                    return os.path.realpath(p)
    return None


def discover_allocators(args):
    """List of (name, preload_path_or_None, extra_env)."""
    allocs = []
    lib = args.liballoc
    if not lib and args.build:
        lib = os.path.join(args.build, "liballoc", "liballoc.so")
    if lib and os.path.exists(lib):
        allocs.append(("liballoc", os.path.abspath(lib), {}))
    else:
        note("WARNING: liballoc not found (%s); running the peers only"
             % (lib or "no --build or --liballoc given"))
    allocs.append(("glibc", None, {}))
    ldmap = ldconfig_libs()
    for name, sonames in PEERS:
        p = find_peer(sonames, ldmap)
        if p:
            allocs.append((name, p, {}))
        else:
            note("NOTE: %s not found (tried %s); skipped (Debian: apt-get install "
                 "libjemalloc-dev libgoogle-perftools-dev libmimalloc-dev)"
                 % (name, ", ".join(sonames)))
    for spec in args.extra or []:
        # NAME=PATH[:VAR=VAL[:VAR=VAL...]]; a ':' starts a new VAR=VAL only
        # when a variable name and '=' follow, so values may hold colons
        # (MALLOC_CONF=prof:true,lg_prof_sample:19)
        if "=" not in spec:
            sys.exit("run.py: --extra wants NAME=PATH[:VAR=VAL...], got %r" % spec)
        name, rest = spec.split("=", 1)
        parts = re.split(r":(?=[A-Za-z_][A-Za-z0-9_]*=)", rest)
        path = parts[0] or None
        env = {}
        for kv in parts[1:]:
            if "=" not in kv:
                sys.exit("run.py: bad VAR=VAL %r in --extra" % kv)
            k, v = kv.split("=", 1)
            env[k] = v
        if path and not os.path.exists(path):
            sys.exit("run.py: --extra %s: %s does not exist" % (name, path))
        allocs.append((name, os.path.abspath(path) if path else None, env))
    if args.allocators:
        want = [a.strip() for a in args.allocators.split(",") if a.strip()]
        allocs = [a for a in allocs if a[0] in want]
    return allocs


# ------------------------------------------------------------------ running

class Result:
    __slots__ = ("wall", "cpu", "maxrss_kib", "checksum", "rss", "error")

    def __init__(self):
        self.wall = self.cpu = None
        # peak RSS in KiB: the workload's own VmHWM when it reports one, else
        # ru_maxrss from wait4 (which Linux inflates with the RSS of the image
        # that exec'ed, i.e. this Python process when subprocess uses vfork)
        self.maxrss_kib = None
        self.checksum = None
        self.rss = {}
        self.error = None


def base_env():
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    # a profiler left switched on in the caller's shell would skew liballoc
    for k in list(env):
        if k.startswith("ALLOCPROF_"):
            env.pop(k)
    return env


def run_one(binary, scale, preload, extra_env, timeout):
    env = base_env()
    if preload:
        env["LD_PRELOAD"] = preload
    env.update(extra_env)
    r = Result()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        try:
            proc = subprocess.Popen([binary, repr(scale)], stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=err, env=env)
        except OSError as e:
            r.error = "cannot start: %s" % e
            return r
        timed_out = []

        def kill():
            timed_out.append(True)
            try:
                os.kill(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            while True:
                try:
                    _, status, ru = os.wait4(proc.pid, 0)
                    break
                except InterruptedError:
                    continue
        finally:
            timer.cancel()
        r.wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped: tell Popen
        r.cpu = ru.ru_utime + ru.ru_stime
        r.maxrss_kib = ru.ru_maxrss
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
    code = proc.returncode
    if timed_out:
        r.error = "timed out after %ds" % timeout
    elif code < 0:
        r.error = "killed by signal %d (%s)" % (-code, signal.Signals(-code).name
                                                 if -code in signal.valid_signals() else "?")
    elif code != 0:
        r.error = "exit status %d" % code
    elif preload and PRELOAD_ERR_RE.search(stderr):
        r.error = "LD_PRELOAD failed: " + stderr.strip().splitlines()[0]
    if r.error and stderr.strip() and not r.error.startswith("LD_PRELOAD"):
        r.error += " | stderr: " + " / ".join(stderr.strip().splitlines()[-3:])
    m = CHECKSUM_RE.search(stdout)
    if m:
        r.checksum = m.group(1).lower()
    elif not r.error:
        r.error = "no checksum in output"
    m = PEAK_RE.search(stdout)
    if m and int(m.group(1)) > 0:
        r.maxrss_kib = int(m.group(1))
    m = RSS_RE.search(stdout)
    if m:
        for kv in m.group(1).split():
            if "=" in kv:
                k, v = kv.split("=", 1)
                try:
                    r.rss[k] = float(v)
                except ValueError:
                    pass
    return r


# ---------------------------------------------------------------- reporting

def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def geomean(xs):
    xs = [x for x in xs if x is not None and x > 0]
    if not xs:
        return None
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def fmt_abs(v, unit):
    if v is None:
        return "-"
    if unit == "s":
        return "%.3f s" % v
    return "%.1f MiB" % v


def render_table(title, rows, header, markdown):
    """rows: list of lists of strings; header: list of strings."""
    out = []
    if markdown:
        out.append("### " + title)
        out.append("")
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
        for row in rows:
            out.append("| " + " | ".join(row) + " |")
        out.append("")
    else:
        widths = [max(len(header[i]), *(len(r[i]) for r in rows)) for i in range(len(header))]
        out.append(title)
        line = "  ".join(h.ljust(widths[0]) if i == 0 else h.rjust(widths[i])
                         for i, h in enumerate(header))
        out.append(line)
        out.append("-" * len(line))
        for row in rows:
            if row[0] == "geomean":
                out.append("-" * len(line))
            out.append("  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i])
                                 for i, c in enumerate(row)))
        out.append("")
    return "\n".join(out)


def build_report(results, workloads, allocs, baseline, markdown, paired=False, partner=None):
    """results[(workload, alloc)] = list of Result, one per repetition in order.

    paired: a ratio is the median over repetitions of (this allocator's run /
    the baseline run made right next to it, partner[(workload, alloc)]),
    instead of the ratio of the two medians: a slow phase of a shared
    machine hits both sides of a pair."""
    names = [a[0] for a in allocs]
    metrics = [
        ("wall time", "s", lambda r: r.wall),
        ("CPU time (user+sys)", "s", lambda r: r.cpu),
        ("peak RSS (VmHWM)", "MiB", lambda r: r.maxrss_kib / 1024.0 if r.maxrss_kib else None),
    ]
    sections = []

    def med(w, a, get):
        rs = results.get((w, a), [])
        if any(r.error for r in rs):
            return "FAIL"
        return median(get(r) for r in rs)

    for title, unit, get in metrics:
        wl = [w for w in workloads if not (unit == "s" and w in TIME_EXCLUDED)]
        if not wl:
            continue
        header = ["workload"] + names + [baseline + " (abs)"]
        rows = []
        ratios = {a: [] for a in names}
        for w in wl:
            base = med(w, baseline, get)
            row = [w]
            for a in names:
                v = med(w, a, get)
                if v == "FAIL":
                    row.append("FAIL")
                elif v is None or base in (None, "FAIL") or base <= 0:
                    row.append("-")
                else:
                    ratio = v / base
                    if paired and a != baseline:
                        pairs = zip(results.get((w, a), []),
                                    (partner or {}).get((w, a), results.get((w, baseline), [])))
                        ratio = median(get(x) / get(y) for x, y in pairs
                                       if get(x) is not None and get(y))
                    ratios[a].append(ratio)
                    row.append("%.2f" % ratio)
            row.append(fmt_abs(base, unit) if base != "FAIL" else "FAIL")
            rows.append(row)
        gm = ["geomean"]
        for a in names:
            g = geomean(ratios[a])
            gm.append("%.2f" % g if g is not None else "-")
        gm.append("")
        rows.append(gm)
        t = "%s, %s, ratio to %s = 1.00 (lower is better)" % (
            title, "median of paired ratios" if paired else "median", baseline)
        if unit == "s" and any(w in TIME_EXCLUDED for w in workloads):
            t += "; rss_return left out (it sleeps)"
        sections.append(render_table(t, rows, header, markdown))

        # absolute medians
        arows = []
        for w in wl:
            row = [w]
            for a in names:
                v = med(w, a, get)
                row.append("FAIL" if v == "FAIL" else fmt_abs(v, unit).replace(" s", "").replace(" MiB", ""))
            arows.append(row)
        sections.append(render_table("%s, median, absolute (%s)" % (title, unit),
                                     arows, ["workload"] + names, markdown))

    if "rss_return" in workloads:
        keys = [("peak", "peak"), ("after_free", "after free"), ("t1.0", "+1 s"),
                ("t2.0", "+2 s"), ("t2.5", "+2.5 s")]
        rows = []
        for a in names:
            rs = results.get(("rss_return", a), [])
            if not rs:
                continue
            if any(r.error for r in rs):
                rows.append([a] + ["FAIL"] * len(keys))
                continue
            row = [a]
            for k, _ in keys:
                v = median(r.rss.get(k) for r in rs)
                row.append("%.1f" % v if v is not None else "-")
            rows.append(row)
        if rows:
            sections.append(render_table(
                "rss_return: RSS in MiB after freeing the whole working set (median)",
                rows, ["allocator"] + [k[1] for k in keys], markdown))
    return "\n".join(sections)


# --------------------------------------------------------------------- main

def parse_args(argv):
    ap = argparse.ArgumentParser(
        description="Run the allocator benchmarks, interleaved, against the peers.")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--build", help="CMake build dir (binaries in BUILD/bench, "
                     "liballoc at BUILD/liballoc/liballoc.so)")
    src.add_argument("--bin-dir", help="directory holding the bench_<name> binaries")
    ap.add_argument("--liballoc", help="path of liballoc.so (default: from --build)")
    ap.add_argument("--reps", type=int, default=None,
                    help="repetitions (default 5, or 1 with --quick)")
    ap.add_argument("--workloads", help="comma-separated subset of: " + ",".join(WORKLOADS))
    ap.add_argument("--allocators", help="comma-separated subset of the allocators")
    ap.add_argument("--extra", action="append", metavar="NAME=PATH[:VAR=VAL...]",
                    help="an extra allocator column (e.g. liballoc with the "
                    "profiler on); may repeat")
    ap.add_argument("--baseline", default="mimalloc",
                    help="allocator the ratios are relative to (default mimalloc)")
    ap.add_argument("--scale", type=float, default=None,
                    help="work scale passed to every workload (default 1, or %g with "
                    "--quick)" % QUICK_SCALE)
    ap.add_argument("--quick", action="store_true",
                    help="smaller workloads and one repetition: a smoke run")
    ap.add_argument("--paired", action="store_true",
                    help="ratios are medians of per-repetition ratios to the baseline "
                    "(robust to a machine whose speed drifts between repetitions)")
    ap.add_argument("--markdown", metavar="OUT.md", help="also write the tables as Markdown")
    ap.add_argument("--timeout", type=int, default=300, help="seconds per run (default 300)")
    ap.add_argument("--seed", type=int, default=None, help="seed of the run-order shuffle")
    args = ap.parse_args(argv)
    if args.reps is None:
        args.reps = 1 if args.quick else 5
    if args.reps < 1:
        ap.error("--reps must be >= 1")
    if args.scale is None:
        args.scale = QUICK_SCALE if args.quick else 1.0
    if not args.scale > 0:
        ap.error("--scale must be > 0")
    return args


def nproc():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    bin_dir = args.bin_dir or os.path.join(args.build, "bench")

    workloads = WORKLOADS
    if args.workloads:
        workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
        unknown = [w for w in workloads if w not in WORKLOADS]
        if unknown:
            # allow ad-hoc workloads as long as the binary exists
            note("note: workloads not in the standard list: " + ",".join(unknown))
    binaries = {}
    for w in workloads:
        p = os.path.join(bin_dir, "bench_" + w)
        if not os.access(p, os.X_OK):
            note("ERROR: missing workload binary %s" % p)
            return 2
        binaries[w] = os.path.abspath(p)

    allocs = discover_allocators(args)
    names = [a[0] for a in allocs]
    if not allocs:
        note("ERROR: no allocators to run")
        return 2
    baseline = args.baseline
    if baseline not in names:
        fallback = "glibc" if "glibc" in names else names[0]
        note("NOTE: baseline %s unavailable; ratios are relative to %s" % (baseline, fallback))
        baseline = fallback

    seed = args.seed if args.seed is not None else int(time.time())
    rng = random.Random(seed)
    cmdline = "python3 " + " ".join(shlex.quote(a) for a in [sys.argv[0]] + list(argv))
    started = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    header_lines = [
        "command: " + cmdline,
        "date: " + started.isoformat(),
        "machine: %s, nproc %d, kernel %s" % (platform.machine(), nproc(), platform.release()),
        "reps: %d, scale: %g, shuffle seed: %d" % (args.reps, args.scale, seed),
        "allocators: " + ", ".join("%s (%s)" % (n, p or "no preload") for n, p, _ in allocs),
    ]
    for l in header_lines:
        print(l)
    print(flush=True)

    results = {}
    # --paired: partner[(w, a)][i] is the baseline run made right next to
    # allocator a's i-th run of workload w
    partner = {}
    failures = []

    def run_logged(rep, w, name, path, env):
        r = run_one(binaries[w], args.scale, path, env, args.timeout)
        results.setdefault((w, name), []).append(r)
        if r.error:
            failures.append("%s under %s (rep %d): %s" % (w, name, rep + 1, r.error))
            status = "FAIL " + r.error
        else:
            status = "%.3fs %.1fMiB" % (r.wall, r.maxrss_kib / 1024.0)
        print("  rep %d/%d %-13s %-10s %s" % (rep + 1, args.reps, w, name, status),
              file=sys.stderr, flush=True)
        return r

    base_alloc = next((a for a in allocs if a[0] == baseline), None)
    for rep in range(args.reps):
        for w in workloads:
            order = list(allocs)
            rng.shuffle(order)
            if not args.paired or base_alloc is None:
                for name, path, env in order:
                    run_logged(rep, w, name, path, env)
                continue
            # Paired: every other allocator runs back to back with a run of
            # the baseline, in a random order within the pair, so that both
            # sides of a ratio see the machine in the same state.
            for a in order:
                if a is base_alloc:
                    continue
                pair = [a, base_alloc]
                rng.shuffle(pair)
                runs = {x[0]: run_logged(rep, w, *x) for x in pair}
                partner.setdefault((w, a[0]), []).append(runs[baseline])

    # correctness: one checksum per workload, over all allocators and reps
    for w in workloads:
        sums = {}
        for name in names:
            for r in results.get((w, name), []):
                if r.checksum:
                    sums.setdefault(r.checksum, set()).add(name)
        if len(sums) > 1:
            failures.append("%s: checksums differ: %s" % (
                w, "; ".join("%s from %s" % (c, ",".join(sorted(a))) for c, a in sums.items())))

    report = build_report(results, workloads, allocs, baseline, markdown=False, paired=args.paired,
                          partner=partner)
    print(report)
    if failures:
        print("FAILURES:")
        for f in failures:
            print("  " + f)
    else:
        print("all runs exited cleanly; checksums identical across allocators")

    if args.markdown:
        md = ["# allocprof benchmark results", ""]
        md += ["- " + l.replace("command: ", "command: `", 1) + ("`" if l.startswith("command: ") else "")
               for l in header_lines]
        md.append("")
        md.append("Ratios are %s, relative to %s; lower is better. "
                  "Allocators ran interleaved in a shuffled order for every workload and "
                  "repetition." % ("medians of paired ratios: each allocator's run over a "
                                   "run of the baseline made right next to it"
                                   if args.paired else "medians over the repetitions", baseline))
        md.append("")
        md.append(build_report(results, workloads, allocs, baseline, markdown=True,
                               paired=args.paired, partner=partner))
        if failures:
            md.append("## Failures")
            md.append("")
            md += ["- " + f for f in failures]
        else:
            md.append("All runs exited cleanly; checksums identical across allocators.")
        md.append("")
        with open(args.markdown, "w") as f:
            f.write("\n".join(md))
        print("wrote " + args.markdown)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
