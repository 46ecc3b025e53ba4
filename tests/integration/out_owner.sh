#!/usr/bin/env bash
# out_owner.sh LIBALLOC OUT_SPAWN TRIG_HOST TRIG_CHECK ALLOCPROF CASE
#
# One name, one process (libprof/trigger_out.c): when ALLOCPROF_OUT has no %p,
# the first process to arm it keeps the name and any other process that
# inherits the setting adds its pid, with one line on stderr, however it
# was started; and a repeated trigger numbers files that have no %n.
# OUT_SPAWN (out_spawn.c) starts a child in each way; trig_check reads the
# files back. Every case checks that both profiles survive, each with its
# own process's pid in its comments. CASE is one of:
#
#   fork          a fork child (no exec)
#   forkexec      fork, then exec of another program
#   spawn         posix_spawn
#   system        system() (a shell, then the program)
#   wrapper       timeout, env and sh -c in front of the program: the
#                 program's profile survives beside timeout's
#   selfexec      a process that execs another program keeps its pid: it
#                 keeps the name, and says nothing
#   signal_spawn  a signal dump into heap.0, then a spawned child: the
#                 parent's heap.0 (trigger=signal) is still its own
#   numbered      ALLOCPROF_INTERVAL with a pattern without %n: files
#                 numbered 0, 1, 2..., one line saying so
#   run_numbered  allocprof run --interval 0.25 -o PATTERN without %n: every
#                 numbered file written, and listed by run
set -u

. "$(dirname "$0")/trig_lib.sh"
trig_start out_owner LIB SPAWN HOST CHECK ALLOCPROF CASE -- "$@"

on_disk() { (cd "$D" && ls -1 | sort); }
# value NAME: the pid out_spawn printed as NAME=PID
value() { sed -n "s/^$1=//p" "$TMP/stdout"; }
# pid_of FILE: the pid= comment of FILE, which must read as a whole profile
pid_of() {
  "$CHECK" profile "$D/$1" >/dev/null || fail "$1 does not read as a profile"
  "$CHECK" comments "$D/$1" | sed -n 's/^pid=//p'
}
# one_line_for FILE: stderr is exactly one line, the one naming FILE
one_line_for() {
  [ "$(wc -l <"$TMP/stderr")" = 1 ] || fail "not exactly one line on stderr"
  grep -q "has no %p.* writes $D/$1 so as not to replace" "$TMP/stderr" || fail "the line does not name $1"
}

# run_spawn MODE: out_spawn MODE under the preload, o.pb.gz, every process sampled
run_spawn() {
  LD_PRELOAD=$LIB ALLOCPROF_RATE=1 ALLOCPROF_OUT=$D/o.pb.gz "$SPAWN" "$@" >"$TMP/stdout" 2>"$TMP/stderr" ||
    fail "out_spawn $1 failed"
}

# parent_and_child CHILD_NAME: o.pb.gz is the parent's, o.CHILD.pb.gz the child's
parent_and_child() {
  local parent child
  parent=$(value parent) child=$(value "$1")
  [ -n "$parent" ] && [ -n "$child" ] || fail "unexpected output"
  [ "$(on_disk)" = "$(printf 'o.%s.pb.gz\no.pb.gz\n' "$child" | sort)" ] || fail "files: $(on_disk | tr '\n' ' ')"
  [ "$(pid_of o.pb.gz)" = "$parent" ] || fail "o.pb.gz is not the parent's"
  [ "$(pid_of "o.$child.pb.gz")" = "$child" ] || fail "o.$child.pb.gz is not the child's"
  one_line_for "o.$child.pb.gz"
}

case $CASE in
fork)
  run_spawn fork
  parent_and_child child
  ;;
forkexec | spawn | system)
  run_spawn "$CASE" "$SPAWN"
  parent_and_child leaf
  ;;
wrapper)
  command -v timeout >/dev/null || { echo "no timeout; skipped"; exit 77; }
  LD_PRELOAD=$LIB ALLOCPROF_RATE=1 ALLOCPROF_OUT=$D/o.pb.gz \
    timeout 120 env WRAPPED=1 sh -c "'$SPAWN' leaf; exit \$?" >"$TMP/stdout" 2>"$TMP/stderr" ||
    fail "the wrapped program failed"
  leaf=$(value leaf)
  [ -n "$leaf" ] || fail "unexpected output"
  [ "$(pid_of "o.$leaf.pb.gz")" = "$leaf" ] || fail "the program's own profile is lost"
  "$CHECK" comments "$D/o.pb.gz" | grep -q "^cmdline=timeout 120 " || fail "o.pb.gz is not timeout's"
  grep -q "writes $D/o.$leaf.pb.gz so as not to replace" "$TMP/stderr" || fail "the program said nothing"
  # one line per process that writes under its pid, and no other
  for f in $(on_disk); do
    [ "$f" = o.pb.gz ] || [ "$(grep -c "writes $D/$f so as not" "$TMP/stderr")" = 1 ] || fail "no line for $f"
  done
  [ "$(wc -l <"$TMP/stderr")" = "$(($(on_disk | wc -l) - 1))" ] || fail "more lines than renamed files"
  ;;
selfexec)
  run_spawn selfexec "$SPAWN"
  [ "$(value selfexec)" = "$(value leaf)" ] || fail "exec changed the pid"
  [ "$(on_disk)" = o.pb.gz ] || fail "files: $(on_disk | tr '\n' ' ')"
  [ "$(pid_of o.pb.gz)" = "$(value leaf)" ] || fail "o.pb.gz is not the process's"
  [ ! -s "$TMP/stderr" ] || fail "the process that owns the name said something"
  ;;
signal_spawn)
  LD_PRELOAD=$LIB ALLOCPROF_RATE=1 ALLOCPROF_OUT=$D/heap.%n.pb.gz ALLOCPROF_SIGNAL=USR2 \
    "$SPAWN" signal_spawn "$SPAWN" "$D/heap.0.pb.gz" >"$TMP/stdout" 2>"$TMP/stderr" ||
    fail "out_spawn signal_spawn failed"
  parent=$(value parent) leaf=$(value leaf)
  [ "$(on_disk)" = "$(printf 'heap.%s.0.pb.gz\nheap.0.pb.gz\nheap.1.pb.gz\n' "$leaf" | sort)" ] ||
    fail "files: $(on_disk | tr '\n' ' ')"
  [ "$(pid_of heap.0.pb.gz)" = "$parent" ] || fail "heap.0.pb.gz is not the parent's"
  "$CHECK" comments "$D/heap.0.pb.gz" | grep -qx "trigger=signal" || fail "heap.0.pb.gz is not the signal dump"
  [ "$(pid_of heap.1.pb.gz)" = "$parent" ] || fail "heap.1.pb.gz is not the parent's"
  [ "$(pid_of "heap.$leaf.0.pb.gz")" = "$leaf" ] || fail "the child's profile is not its own"
  one_line_for "heap.$leaf.0.pb.gz"
  ;;
numbered)
  LD_PRELOAD=$LIB ALLOCPROF_OUT=$D/iv.pb.gz ALLOCPROF_INTERVAL=0.1 \
    "$HOST" until "$D/iv.2.pb.gz" 0 return >"$TMP/stdout" 2>"$TMP/stderr" || fail "trig_host failed"
  n=$(on_disk | wc -l)
  [ "$n" -ge 4 ] || fail "$n files, expected 3 interval dumps and the exit one"
  for i in $(seq 0 $((n - 1))); do
    "$CHECK" profile "$D/iv.$i.pb.gz" >/dev/null || fail "iv.$i.pb.gz missing or broken"
  done
  [ "$(wc -l <"$TMP/stderr")" = 1 ] && grep -q "has no %n and ALLOCPROF_INTERVAL .* numbered ($D/iv.%n.pb.gz)" "$TMP/stderr" ||
    fail "not one line saying the files are numbered"
  ;;
run_numbered)
  (cd "$D" && "$ALLOCPROF" run --interval 0.25 -o r.pb.gz -- "$HOST" until "$D/r.2.pb.gz" 0 return) \
    >"$TMP/stdout" 2>"$TMP/stderr" || fail "allocprof run failed"
  n=$(on_disk | wc -l)
  [ "$n" -ge 4 ] || fail "$n files, expected 3 interval dumps and the exit one"
  listed=$(sed -n 's/^allocprof: profile written: //p' "$TMP/stderr" | sort)
  [ "$listed" = "$(on_disk)" ] || fail "run listed: $listed"
  ;;
*)
  echo "out_owner.sh: unknown case $CASE" >&2
  exit 2
  ;;
esac
echo "out_owner.$CASE: ok"
