#!/usr/bin/env python3
"""peak_rss.py LIMIT -- CMD ARGS...: runs CMD, passes its stdout, stderr and
exit status through, and prints one line on stdout: whether its peak
resident memory (ru_maxrss of the child) stayed within LIMIT bytes, so that a
golden case can assert a memory bound without printing a number that varies.
LIMIT may be an expression such as "64*2**20 + 40*10*2**20". With
PEAK_RSS_SHOW=1 it prints the peak itself (for measuring by hand). Under a
sanitizer (CLI_SANITIZE set, as tests/cli/CMakeLists.txt does) the limit is
four times larger: shadow memory and quarantine are not the command's."""
import os
import resource
import subprocess
import sys

limit = int(eval(sys.argv[1], {"__builtins__": {}}))
if os.environ.get("CLI_SANITIZE"):
    limit *= 4
assert sys.argv[2] == "--"
rc = subprocess.run(sys.argv[3:]).returncode
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
sys.stdout.flush()
if os.environ.get("PEAK_RSS_SHOW") == "1":
    print(f"peak {peak / 2**20:.1f} MiB, limit {limit / 2**20:.1f} MiB")
elif peak <= limit:
    print("peak memory within the bound")
else:
    print(f"peak memory {peak} bytes, over the bound of {limit}")
sys.exit(rc if rc >= 0 else 128 - rc)
