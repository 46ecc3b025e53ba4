#!/usr/bin/env bash
# real_programs.sh LIBALLOC [WHICH]
#
# Runs real Debian programs twice, plainly and with LIBALLOC in LD_PRELOAD, and
# compares what they print. WHICH is one of python perl sqlite git gcc gxx
# stats, or all (the default). The run of one program exits 77 (ctest's skip)
# when that program is not installed.
#
#   python  dicts, lists, strings, a json round trip and threads
#           (PYTHONMALLOC=malloc, so every object goes through malloc)
#   perl    hashes, regular expressions, sort
#   sqlite  20000 inserts in a transaction, an index, aggregate queries
#   git     init, five commits, log --stat, gc, fsck, log again
#   gcc     gcc -O2 compiles a C program (assembly compared) that then runs
#   gxx     g++ -O2 compiles a C++ program with std containers that then runs
#   stats   ALLOC_STATS=1 makes liballoc print its statistics on stderr at
#           the exit of perl; without it, nothing from liballoc appears
#
# Each run happens in its own directory under a fresh temporary directory, so
# the tests can run in parallel.
set -u

if [ $# -lt 1 ]; then
  echo "usage: real_programs.sh LIBALLOC [python|perl|sqlite|git|gcc|gxx|stats|all]" >&2
  exit 2
fi
LIB=$(readlink -f "$1")
WHICH=${2:-all}
if [ ! -f "$LIB" ]; then
  echo "real_programs: no library $1" >&2
  exit 1
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/allocprof-real.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
export LC_ALL=C TZ=UTC

SKIP=77
failures=0
ran=0

say() { echo "real_programs: $*"; }
fail() {
  echo "real_programs: FAIL: $*" >&2
  failures=$((failures + 1))
}

# find_prog NAME...: the first of the names that is installed, or nothing.
find_prog() {
  local p
  for p in "$@"; do
    if [ -x "$p" ]; then echo "$p"; return 0; fi
    if command -v "$p" >/dev/null 2>&1; then command -v "$p"; return 0; fi
  done
  return 1
}

# Checks once that the library loads as a preload at all.
check_preload_works() {
  local maps
  maps=$(LD_PRELOAD="$LIB" cat /proc/self/maps 2>"$TMP/preload-check.err")
  if ! printf '%s\n' "$maps" | grep -q "$(basename "$LIB")"; then
    echo "real_programs: FAIL: $LIB is not mapped into a preloaded process" >&2
    cat "$TMP/preload-check.err" >&2
    exit 1
  fi
}

# run_both NAME FUNCTION: runs FUNCTION in $TMP/NAME.plain and, with LD_PRELOAD
# exported, in $TMP/NAME.preload; compares exit status 0 and standard output.
run_both() {
  local name=$1 fn=$2 mode dir rc
  for mode in plain preload; do
    dir="$TMP/$name.$mode"
    mkdir -p "$dir"
    (
      cd "$dir" || exit 1
      if [ $mode = preload ]; then export LD_PRELOAD="$LIB"; fi
      "$fn"
    ) >"$dir.out" 2>"$dir.err"
    rc=$?
    if [ $rc -ne 0 ]; then
      fail "$name ($mode) exited with status $rc; its stderr:"
      tail -n 30 "$dir.err" >&2
    fi
  done
  if grep -q "ld.so" "$TMP/$name.preload.err"; then
    fail "$name: the dynamic loader complained:"
    grep "ld.so" "$TMP/$name.preload.err" >&2
  fi
  if ! cmp -s "$TMP/$name.plain.out" "$TMP/$name.preload.out"; then
    fail "$name: output differs with liballoc (< plain, > preloaded):"
    diff "$TMP/$name.plain.out" "$TMP/$name.preload.out" | head -n 40 >&2
  fi
  if [ ! -s "$TMP/$name.plain.out" ]; then
    fail "$name: printed nothing"
  fi
  say "$name: $(wc -l <"$TMP/$name.preload.out") lines of output compared"
  ran=$((ran + 1))
}

# ---- python ---------------------------------------------------------------------

python_work() {
  PYTHONMALLOC=malloc PYTHONHASHSEED=0 "$PYTHON" - <<'EOF'
import collections, hashlib, json, random, threading
random.seed(1)
d = {}
for i in range(150000):
    d["k%d" % i] = [i, str(i) * (i % 7), {"x": i % 13, "f": i / 7.0}]
s = json.dumps(d, sort_keys=True)
assert json.loads(s) == d
print(len(s), hashlib.sha256(s.encode()).hexdigest())
items = sorted(d.items(), key=lambda kv: (kv[1][0] % 1000, kv[0]))
c = collections.Counter(v[2]["x"] for _, v in items)
print(sorted(c.items()))
words = ["".join(random.choice("abcdefgh") for _ in range(random.randint(1, 20))) for _ in range(60000)]
big = " ".join(words)
print(len(set(words)), hashlib.sha256(big.encode()).hexdigest(), big.count("abc"))
lists = [[j for j in range(i % 300)] for i in range(20000)]
print(sum(map(len, lists)))
del d, items, lists
def work(n, out):
    acc = [str(x) * 3 for x in range(n)]
    out.append(sum(len(a) for a in acc))
outs = []
ts = [threading.Thread(target=work, args=(100000 + k, outs)) for k in range(4)]
for t in ts: t.start()
for t in ts: t.join()
print(sorted(outs))
EOF
}

# ---- perl -------------------------------------------------------------------------

perl_work() {
  "$PERL" -e '
use strict; use warnings; use Digest::MD5 qw(md5_hex);
my %h;
for my $i (1 .. 150000) { $h{"key$i"} = ("v" x ($i % 50)) . $i; }
my @k = sort { $h{$a} cmp $h{$b} or $a cmp $b } keys %h;
print scalar(@k), " ", md5_hex(join(",", @k[0 .. 9999])), "\n";
my $text = join(" ", map { "word$_ " . ("x" x ($_ % 17)) } 1 .. 100000);
(my $t2 = $text) =~ s/word(\d+)/W<$1>/g;
my @m = ($t2 =~ /W<(\d*7)>/g);
print scalar(@m), " ", md5_hex($t2), "\n";
my @nums = sort { $a <=> $b } map { ($_ * 7919) % 100003 } 1 .. 100000;
print "$nums[0] $nums[-1] $nums[50000]\n";
delete $h{"key$_"} for grep { $_ % 3 } 1 .. 150000;
print scalar(keys %h), "\n";
'
}

# ---- sqlite -------------------------------------------------------------------------

sqlite_work() {
  {
    echo "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, grp INTEGER, val REAL);"
    echo "BEGIN;"
    awk 'BEGIN { for (i = 1; i <= 20000; i++) printf "INSERT INTO t VALUES(%d, '\''name-%d-%s'\'', %d, %d.5);\n", i, i * 7919 % 20000, substr("abcdefghijklmnopqrstuvwxyz", 1 + i % 26), i % 97, i }'
    echo "COMMIT;"
    echo "CREATE INDEX t_grp ON t(grp, name);"
    echo "SELECT count(*), sum(val), min(name), max(name) FROM t;"
    echo "SELECT grp, count(*), sum(val), max(length(name)) FROM t GROUP BY grp ORDER BY grp;"
    echo "SELECT count(DISTINCT substr(name, 1, 9)) FROM t;"
    echo "SELECT length(group_concat(name, ';')) FROM (SELECT name FROM t ORDER BY name);"
    echo "SELECT a.grp, count(*) FROM t a JOIN t b ON a.id = b.id + 97 WHERE a.grp < 5 GROUP BY a.grp ORDER BY a.grp;"
    echo "UPDATE t SET name = name || name WHERE id % 3 = 0;"
    echo "DELETE FROM t WHERE id % 5 = 0;"
    echo "SELECT count(*), sum(length(name)) FROM t;"
    echo "VACUUM;"
    echo "PRAGMA integrity_check;"
  } >work.sql
  "$SQLITE" test.db <work.sql
}

# ---- git ------------------------------------------------------------------------------

git_work() {
  export HOME=$PWD GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
  export GIT_AUTHOR_NAME=tester GIT_AUTHOR_EMAIL=tester@example.invalid
  export GIT_COMMITTER_NAME=tester GIT_COMMITTER_EMAIL=tester@example.invalid
  "$GIT" init -q repo || return 1
  cd repo || return 1
  "$GIT" config gc.auto 0
  local c f
  for c in 1 2 3 4 5; do
    export GIT_AUTHOR_DATE="2024-01-0${c}T12:00:00Z" GIT_COMMITTER_DATE="2024-01-0${c}T12:00:00Z"
    mkdir -p "dir$c"
    for f in $(seq 1 60); do
      awk -v c="$c" -v f="$f" 'BEGIN { for (i = 0; i < 200 + f; i++) print "line", i, "of file", f, "commit", c, (i * f * c) % 9973 }' >"dir$((f % 5 + 1))/file$f.txt"
    done
    "$GIT" add -A || return 1
    "$GIT" commit -q -m "commit $c" || return 1
  done
  "$GIT" log --stat
  "$GIT" gc --quiet || return 1
  "$GIT" fsck --no-progress --strict || return 1
  "$GIT" log --stat --format='%H %s' | md5sum
  "$GIT" rev-parse HEAD
  "$GIT" diff --stat HEAD~4 HEAD | tail -n 1
  "$GIT" grep -c "commit 5" HEAD -- dir1 | head -n 5
}

# ---- gcc and g++ ------------------------------------------------------------------------

gcc_work() {
  cat >prog.c <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
struct node { char *key; long val; struct node *next; };
static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
int main(void) {
  enum { N = 100000, B = 4099 };
  struct node **tab = calloc(B, sizeof *tab);
  char **keys = malloc(N * sizeof *keys);
  unsigned long h = 0;
  for (long i = 0; i < N; i++) {
    char buf[64];
    snprintf(buf, sizeof buf, "key-%ld-%ld", (i * 7919) % N, i % 13);
    keys[i] = strdup(buf);
    unsigned long b = 5381;
    for (char *s = buf; *s; s++) b = b * 33 + (unsigned char)*s;
    struct node *n = malloc(sizeof *n);
    n->key = keys[i]; n->val = i; n->next = tab[b % B]; tab[b % B] = n;
  }
  qsort(keys, N, sizeof *keys, cmp);
  for (long i = 0; i < N; i += 997) for (char *s = keys[i]; *s; s++) h = h * 131 + (unsigned char)*s;
  long longest = 0;
  for (long b = 0; b < B; b++) {
    long len = 0;
    while (tab[b]) { struct node *n = tab[b]; tab[b] = n->next; free(n); len++; }
    if (len > longest) longest = len;
  }
  for (long i = 0; i < N; i++) free(keys[i]);
  free(keys); free(tab);
  printf("sorted %lu %ld\n", h, longest);
  return 0;
}
EOF
  "$CC" -O2 -Wall -S -o prog.s prog.c || return 1
  "$CC" -O2 -Wall -o prog prog.c || return 1
  ./prog || return 1
  md5sum prog.s
}

gxx_work() {
  cat >prog.cpp <<'EOF'
#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>
int main() {
  std::map<std::string, std::vector<int>> m;
  std::unordered_map<long, std::string> u;
  unsigned long s = 88172645463325252ul;
  for (int i = 0; i < 200000; i++) {
    s ^= s << 13; s ^= s >> 7; s ^= s << 17;
    std::string k = "k" + std::to_string(s % 5000);
    m[k].push_back(i);
    u[(long)(s % 20000)] += std::to_string(i % 10);
  }
  std::vector<std::unique_ptr<std::string>> v;
  for (auto &kv : m) v.push_back(std::make_unique<std::string>(kv.first + ":" + std::to_string(kv.second.size())));
  std::sort(v.begin(), v.end(), [](const auto &a, const auto &b) { return *a > *b; });
  std::set<size_t> lens;
  for (auto &kv : u) lens.insert(kv.second.size());
  unsigned long h = 0;
  for (auto &p : v) for (char c : *p) h = h * 131 + (unsigned char)c;
  std::printf("%zu %zu %zu %lu %s\n", m.size(), u.size(), lens.size(), h, v.front()->c_str());
  return 0;
}
EOF
  "$CXX" -O2 -std=c++17 -Wall -S -o prog.s prog.cpp || return 1
  "$CXX" -O2 -std=c++17 -Wall -o prog prog.cpp || return 1
  ./prog || return 1
  md5sum prog.s
}

# ---- statistics at exit ------------------------------------------------------------------

# perl (or python3), not coreutils or awk: those close stderr at exit, before
# liballoc's exit-time table could be written.
stats_check() {
  local dir="$TMP/stats" prog
  case $STATS_PROG in
  *perl*) prog=("$STATS_PROG" -ne '$n{$_ % 1000} += $_; $t += length; END { $s += $n{$_} * $_ for keys %n; print "$s $t\n" }') ;;
  *) prog=("$STATS_PROG" -c 'import sys; d = {}
for l in open(sys.argv[1]): d[int(l.split()[0]) % 1000] = d.get(int(l.split()[0]) % 1000, 0) + 1
print(sorted(d.items())[:5], len(d))') ;;
  esac
  mkdir -p "$dir"
  seq 1 50000 | awk '{ print ($1 * 7919) % 50000, "line" $1 }' >"$dir/in.txt"
  "${prog[@]}" "$dir/in.txt" >"$dir/plain.out" 2>"$dir/plain.err" || fail "stats: $STATS_PROG failed"
  LD_PRELOAD="$LIB" ALLOC_STATS=1 "${prog[@]}" "$dir/in.txt" >"$dir/stats.out" 2>"$dir/stats.err" ||
    fail "stats: $STATS_PROG with ALLOC_STATS=1 failed"
  LD_PRELOAD="$LIB" "${prog[@]}" "$dir/in.txt" >"$dir/quiet.out" 2>"$dir/quiet.err" ||
    fail "stats: preloaded $STATS_PROG failed"
  cmp -s "$dir/plain.out" "$dir/stats.out" || fail "stats: $STATS_PROG output differs with ALLOC_STATS=1"
  cmp -s "$dir/plain.out" "$dir/quiet.out" || fail "stats: $STATS_PROG output differs with liballoc"
  if ! grep -q "liballoc" "$dir/stats.err"; then
    fail "stats: ALLOC_STATS=1 printed no statistics on stderr; stderr was:"
    head -n 20 "$dir/stats.err" >&2
  fi
  if grep -q "liballoc" "$dir/quiet.err"; then
    fail "stats: liballoc printed on stderr without ALLOC_STATS:"
    head -n 20 "$dir/quiet.err" >&2
  fi
  say "stats: $(grep -c liballoc "$dir/stats.err") lines of statistics"
  ran=$((ran + 1))
}

# ---- driver --------------------------------------------------------------------------

# want NAME PROGRAM-NAMES...: whether to run NAME; sets FOUND to the program.
# Running one program that is missing exits with the skip code.
want() {
  local name=$1
  shift
  FOUND=
  if [ "$WHICH" != all ] && [ "$WHICH" != "$name" ]; then return 1; fi
  if ! FOUND=$(find_prog "$@"); then
    say "$name: SKIP: none of $* is installed"
    if [ "$WHICH" = "$name" ]; then exit $SKIP; fi
    return 1
  fi
  return 0
}

case $WHICH in
python | perl | sqlite | git | gcc | gxx | stats | all) ;;
*)
  echo "real_programs: unknown program set $WHICH" >&2
  exit 2
  ;;
esac

check_preload_works

if want python /usr/bin/python3 python3; then PYTHON=$FOUND run_both python python_work; fi
if want perl /usr/bin/perl perl; then PERL=$FOUND run_both perl perl_work; fi
if want sqlite sqlite3; then SQLITE=$FOUND run_both sqlite sqlite_work; fi
if want git git; then GIT=$FOUND run_both git git_work; fi
if want gcc gcc cc; then CC=$FOUND run_both gcc gcc_work; fi
if want gxx g++ c++; then CXX=$FOUND run_both gxx gxx_work; fi
if want stats /usr/bin/perl perl /usr/bin/python3 python3; then STATS_PROG=$FOUND stats_check; fi

if [ $failures -ne 0 ]; then
  echo "real_programs: $failures failure(s)" >&2
  exit 1
fi
if [ $ran -eq 0 ]; then exit $SKIP; fi
say "all $ran passed"
exit 0
