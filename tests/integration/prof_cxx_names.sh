#!/bin/bash
# prof_cxx_names.sh: a plain C++ program (prof_cxx_names: std::map, vector,
# std::function with a lambda, operator<<, an anonymous namespace) profiled
# under the preload at rate 1, exit dump. The program runs as without the
# profiler, and the profile's function names are pprof's short form, with
# the full names in system_name:
#   - prof_names: no template arguments or parameter lists in any name, and
#     std::_Rb_tree::_M_emplace_hint_unique and the others below exist, each
#     with its full demangled name as system name;
#   - go tool pprof -top (when go exists) shows the same short names, and
#     with -symbolize=demangle=full the full names from system_name.
#
#   prof_cxx_names.sh LIBALLOC PROF_CXX_NAMES PROF_NAMES [GO]
set -u
LIBALLOC=$1
PROG=$2
PROF_NAMES=$3
GO=${4:-}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/prof_cxx_names.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
fail=0
say() { echo "prof_cxx_names: $*"; }
bad() { echo "prof_cxx_names: FAIL: $*" >&2; fail=1; }

# run from a copy deleted afterwards: pprof's -symbolize=demangle=full
# re-reads the binary when it finds it, and must take the profile's names
mkdir -p "$TMP/bin"
cp "$PROG" "$TMP/bin/prof_cxx_names" || exit 1
PROG=$TMP/bin/prof_cxx_names
want=$("$PROG") || { bad "the program fails without the profiler"; exit 1; }
got=$(ALLOCPROF_RATE=1 ALLOCPROF_OUT="$TMP/cxx.%p.pb.gz" LD_PRELOAD="$LIBALLOC" "$PROG" 2>"$TMP/stderr")
rc=$?
rm -f "$PROG"
[ $rc -eq 0 ] || bad "exited with $rc under the preload: $(head -3 "$TMP/stderr")"
[ "$got" = "$want" ] || bad "printed '$got' under the preload, not '$want'"
[ -s "$TMP/stderr" ] && bad "stderr: $(head -3 "$TMP/stderr")"
files=("$TMP"/cxx.*.pb.gz)
[ ${#files[@]} -eq 1 ] && [ -s "${files[0]}" ] || { bad "want one profile, got: ${files[*]}"; exit 1; }
f=${files[0]}

names=("std::_Rb_tree::_M_emplace_hint_unique" "std::vector::_M_realloc_insert"
       "std::_Function_handler::_M_invoke" "(anonymous namespace)::fill_map" "std::operator<<")
"$PROF_NAMES" "$f" "${names[@]}" || bad "prof_names found names not in short form (above)"

if [ -n "$GO" ] && command -v "$GO" >/dev/null 2>&1; then
  export HOME=${HOME:-$TMP} PPROF_TMPDIR=$TMP
  top() { # top OUT ARGS...: -top of every function
    local out=$1
    shift
    "$GO" tool pprof -sample_index=alloc_space -nodecount=100000 "$@" -top "$f" >"$out" 2>"$out.err" ||
      bad "go tool pprof $* failed: $(head -3 "$out.err")"
  }
  # the function column of -top's rows (after five figures), without
  # " (inline)" and the brackets a short name may keep
  functions() {
    awk 'NF > 5 && $1 ~ /^[0-9.]+[kMG]?B?$/ { $1 = $2 = $3 = $4 = $5 = ""; sub(/^ +/, ""); print }' "$1" |
      sed -e 's/ (inline)$//'
  }
  top "$TMP/short" -symbolize=none
  [ -s "$TMP/short.err" ] && bad "go tool pprof wrote on stderr: $(head -3 "$TMP/short.err")"
  functions "$TMP/short" >"$TMP/short.names"
  [ -s "$TMP/short.names" ] || bad "pprof -top shows no functions: $(head -12 "$TMP/short")"
  sed -e 's/operator\(<=>\|<<=\|>>=\|->\*\|->\|<<\|>>\|<=\|>=\|<\|>\|()\)//g' \
      -e 's/(anonymous namespace)//g' -e 's/{[^}]*}//g' "$TMP/short.names" |
    grep -n '[<>()]' >"$TMP/long" && bad "pprof -top shows long names: $(head -5 "$TMP/long")"
  for n in "${names[@]}"; do
    grep -qxF "$n" "$TMP/short.names" || bad "pprof -top does not show $n"
  done
  # -symbolize=demangle=full takes the names from system_name (and says on
  # stderr that the binary is gone)
  top "$TMP/full" -symbolize=demangle=full
  grep -qF 'std::_Rb_tree<std::__cxx11::basic_string<char' "$TMP/full" ||
    bad "pprof -symbolize=demangle=full shows no full std::_Rb_tree name: $(head -12 "$TMP/full")"
  say "go tool pprof: $(wc -l <"$TMP/short.names") short names in -top"
fi

[ $fail -eq 0 ] && say "ok"
exit $fail
