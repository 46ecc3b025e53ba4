#!/usr/bin/env bash
# prof_peak.sh LIBALLOC PEAK_HOST PEAK_CHECK ALLOCPROF GO CASE
#
# The peak in every profile (issue 15 §1): peak_host (peak_host.c) runs
# under LD_PRELOAD with ALLOCPROF_OUT, its exit profiles are read back by
# prof_peak_check (prof_peak_check.c says what each checks). GO may be
# empty (the go tool pprof check is then left out). CASE is one of:
#
#   exact    rate 1: site_a 30 MiB and site_b 20 MiB at the peak, site_c
#            (held at exit, made after the frees) 0, exactly; `allocprof top
#            -i peak_inuse_space` ranks site_a, site_b; `gate --sample-index
#            peak_inuse_space` of the profile against itself passes; `go tool
#            pprof -sample_index=peak_inuse_space` opens it without a warning
#            and shows 30MB at site_a, and its default view is inuse_space
#   sampled  rate 64 KiB, fixed seed: site_a and site_b within 4 standard
#            errors, site_c 0
#   fork     a child's peak is its own: the parent held 40 MiB at site_p
#            and freed it before fork; the child's profile shows site_q's
#            8 MiB and nothing at site_p, the parent's site_p's 40 MiB
set -u

. "$(dirname "$0")/trig_lib.sh"
trig_start prof_peak LIB HOST CHECK ALLOCPROF GO CASE -- "$@"

# runs peak_host MODE under the preload at RATE, profiles to $D/p.<pid>.pb.gz
profile() {
  env ALLOCPROF_OUT="$D/p.%p.pb.gz" ALLOCPROF_RATE="$1" ALLOCPROF_SEED=15 LD_PRELOAD="$LIB" \
    "$HOST" "$2" >"$TMP/stdout" 2>"$TMP/stderr" || fail "peak_host $2: exit status $?"
}

case $CASE in
exact)
  profile 1 run
  f=$(ls "$D"/p.*.pb.gz) || fail "no profile"
  "$CHECK" exact "$f" >"$TMP/check" 2>&1 || fail "prof_peak_check exact"
  cat "$TMP/check"
  "$ALLOCPROF" top -n 3 -i peak_inuse_space "$f" >"$TMP/top" || fail "allocprof top failed"
  grep -q '^Type: peak_inuse_space (bytes)' "$TMP/top" || fail "top: $(cat "$TMP/top")"
  # the flat table's first two rows
  rows=$(sed -n '/by flat peak_inuse_space/,/^$/p' "$TMP/top" | awk 'NR > 2 && NF { print $1 " " $2 " " $NF }' | head -2 | tr '\n' ';')
  [ "$rows" = "30.0 MiB site_a;20.0 MiB site_b;" ] || fail "top -i peak_inuse_space: '$rows': $(cat "$TMP/top")"
  "$ALLOCPROF" gate --base "$f" --sample-index peak_inuse_space --max-growth 1% "$f" \
    >"$TMP/gate" || fail "gate of the peak against itself: $(cat "$TMP/gate")"
  if [ -n "$GO" ] && command -v "$GO" >/dev/null 2>&1; then
    export HOME=${HOME:-$TMP} PPROF_TMPDIR=$TMP
    "$GO" tool pprof -symbolize=none -sample_index=peak_inuse_space -top "$f" >"$TMP/pprof" \
      2>"$TMP/pprof.err" || fail "go tool pprof: $(cat "$TMP/pprof.err")"
    [ -s "$TMP/pprof.err" ] && fail "go tool pprof warned: $(cat "$TMP/pprof.err")"
    grep -q '^Type: peak_inuse_space' "$TMP/pprof" || fail "pprof: $(head "$TMP/pprof")"
    grep -qE '^ +30MB .* site_a$' "$TMP/pprof" || fail "pprof: site_a not 30MB: $(cat "$TMP/pprof")"
    grep -qE '^ +20MB .* site_b$' "$TMP/pprof" || fail "pprof: site_b not 20MB: $(cat "$TMP/pprof")"
    grep -qE ' site_c$' "$TMP/pprof" && fail "pprof: site_c at the peak: $(cat "$TMP/pprof")"
    "$GO" tool pprof -symbolize=none -top "$f" >"$TMP/pprof" 2>"$TMP/pprof.err"
    grep -q '^Type: inuse_space' "$TMP/pprof" || fail "pprof's default view: $(head "$TMP/pprof")"
    echo "go tool pprof: -sample_index=peak_inuse_space shows the peak; default inuse_space"
  else
    echo "go not found: go tool pprof not checked"
  fi
  ;;
sampled)
  profile 64k run
  f=$(ls "$D"/p.*.pb.gz) || fail "no profile"
  "$CHECK" sampled "$f" >"$TMP/check" 2>&1 || fail "prof_peak_check sampled"
  cat "$TMP/check"
  ;;
fork)
  profile 1 fork
  child=$(sed -n 's/^child //p' "$TMP/stdout")
  [ -n "$child" ] || fail "no child pid"
  [ -s "$D/p.$child.pb.gz" ] || fail "no child profile"
  parent=$(ls "$D"/p.*.pb.gz | grep -v "/p\.$child\.pb\.gz$")
  [ "$(echo "$parent" | wc -l)" = 1 ] || fail "parent profiles: $parent"
  "$CHECK" fork "$parent" "$D/p.$child.pb.gz" >"$TMP/check" 2>&1 || fail "prof_peak_check fork"
  cat "$TMP/check"
  ;;
*)
  echo "prof_peak.sh: unknown case $CASE" >&2
  exit 2
  ;;
esac
echo "prof_peak.$CASE: ok"
