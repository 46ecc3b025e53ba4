#!/bin/sh
# gopprof.sh: go tool pprof opens every profile allocprof writes (merge,
# diff -o, convert to each container go reads, snapshots out of a stream)
# and shows the right values; and allocprof reads what go tool pprof writes.
# Exit 77 (skipped) when there is no go on PATH or in $ALLOCPROF_GO.
set -u
go=${ALLOCPROF_GO:-$(command -v go || true)}
if [ -z "$go" ] || [ ! -x "$go" ]; then
  echo "SKIP: no go toolchain (Debian: golang-go)"
  exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/cli.gopprof.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT INT TERM
cp -R "$CLI_DATA"/. "$work"/ && cd "$work" || exit 1
export HOME="$work" GOCACHE="$work/.gocache" GOFLAGS=-mod=mod PPROF_TMPDIR="$work"
PATH="$CLI_BIN:$PATH"
fail=0
run() { "$@" || { echo "FAIL: $*"; fail=1; }; }

run allocprof merge -o merged.pb.gz base.pb.gz base.pb.gz
run allocprof merge -o merged.pb base.pb.gz copy.pb.zst
run allocprof diff -o diff.pb.gz base.pb.gz grown.pb.gz >/dev/null
run allocprof merge -o rates.pb.gz base.pb.gz noisy_new.pb.gz
run allocprof diff --focus '^k$' --hide '^main$' -o focus.pb.gz base.pb.gz grown.pb.gz >/dev/null
run allocprof convert -o conv.pb.gz copy.pb.zst
run allocprof convert -o conv.pb base.pb.gz
run allocprof convert --all -o 'snap.%n.pb.gz' snap.zst 2>/dev/null

# go tool pprof -raw: exit 0, nothing on stderr, the expected values
expect() { # file pattern
  if ! "$go" tool pprof -raw "$1" >"$1.raw" 2>"$1.err"; then
    echo "FAIL: go tool pprof -raw $1:"; cat "$1.err"; fail=1; return
  fi
  if [ -s "$1.err" ]; then echo "FAIL: go tool pprof -raw $1 complains:"; cat "$1.err"; fail=1; fi
  if ! grep -Eq "$2" "$1.raw"; then
    echo "FAIL: go tool pprof -raw $1: no line matching '$2':"; cat "$1.raw"; fail=1
  fi
}
# sample lines of -raw: the four values, then the location ids
expect merged.pb.gz '^ +20 +20971520 +20 +20971520:'      # g: 2 x 10 x 1 MiB
expect merged.pb '^ +20 +20971520 +20 +20971520:'
expect diff.pb.gz '^ +20 +81920 +20 +81920:'              # k is new
expect diff.pb.gz '^ +-30 +-30000 +-30 +-30000:'          # r is gone
expect rates.pb.gz '^ +sampling_period:\[524288 bytes\]'   # merged rates as labels
expect rates.pb.gz '^ +sampling_period:\[1 bytes\]'
expect focus.pb.gz '^ +20 +81920 +20 +81920: [0-9]+ $'     # k alone, main hidden
expect conv.pb.gz '^ +10 +10485760 +10 +10485760:'
expect conv.pb '^ +1000 +100000 +1000 +100000:'           # f
for i in 0 1 2; do expect "snap.$i.pb.gz" '^ +10 +10485760 +10 +10485760:'; done
expect snap.2.pb.gz '^ +1500 +150000 +1500 +150000:'

# and the other way: what go tool pprof writes, allocprof reads
if "$go" tool pprof -proto base.pb.gz >fromgo.pb.gz 2>fromgo.err; then
  allocprof top --json fromgo.pb.gz >fromgo.json || { echo "FAIL: allocprof top fromgo.pb.gz"; fail=1; }
  grep -q '"total": 10625760' fromgo.json ||
    { echo "FAIL: allocprof top of go's profile:"; cat fromgo.json; fail=1; }
  allocprof merge -o both.pb.gz fromgo.pb.gz base.pb.gz || { echo "FAIL: merge with go's profile"; fail=1; }
  expect both.pb.gz '^ +20 +20971520 +20 +20971520:'
else
  echo "FAIL: go tool pprof -proto base.pb.gz:"; cat fromgo.err; fail=1
fi
[ $fail = 0 ] && echo "gopprof: every profile written opens in go tool pprof"
exit $fail
