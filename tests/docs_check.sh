#!/bin/bash
# docs_check.sh: the documents say what the code does, for the settings and
# for the command's options. Three checks:
#
#   docs_check.sh settings LIBALLOC LIBALLOC_DUMP ALLOCPROF README MANPAGE
#     The settings are the ALLOC_* and ALLOCPROF_* names the built code
#     holds: read from the libraries and the command themselves, so a setting
#     added to the code (whatever table or parser it goes through) is found.
#     Each one the libraries read has a row in one of README's settings
#     tables (| `NAME ...) and an entry in the man page's ENVIRONMENT
#     section (.B NAME); each one only the command reads (ALLOCPROF_LIB) has
#     the man page entry and is named by the command's --help. And back: a
#     row or an entry for a name the code does not hold is an error. The
#     names `allocprof run` sets for the processes of a run
#     (INTERNAL below) are no user's settings: README.md or cli/README.md must name them.
#
#   docs_check.sh man-options ALLOCPROF MANPAGE
#     For every command `allocprof --help` lists, the man page has its
#     synopsis (.B allocprof CMD) and its entry under COMMANDS (.B CMD after
#     .TP); together they name every option `allocprof CMD --help` lists (by
#     its long or its short form), and no option --help does not list. Every
#     option of `allocprof --help` itself is somewhere in the man page.
#
#   docs_check.sh selftest LIBALLOC LIBALLOC_DUMP ALLOCPROF README MANPAGE
#     Both checks pass on the documents as they are, and fail on copies with
#     a setting or an option taken out, or one added that does not exist.
#
# Prints each problem on a line of its own and exits 1, or prints one line
# "ok: ..." and exits 0.
set -u
export LC_ALL=C

# allocprof run sets these for the processes it starts (cli/cmd_run.c)
INTERNAL="ALLOCPROF_RUN_LOG ALLOCPROF_RUN_PID ALLOCPROF_NO_CHILDREN ALLOCPROF_OUT_OWNER"

# names FILE...: the setting names the files hold, one a line (a name is
# where an ALLOC_ or ALLOCPROF_ starts a word: "MALLOC_ARENA_MAX" is not one)
names() {
  cat "$@" | grep -aoE '(^|[^A-Za-z0-9_])ALLOC(PROF)?_[A-Z0-9_]*[A-Z0-9]' |
    sed -E 's/^[^A]//' | sort -u
}

# man_section MANPAGE NAME: the lines of .SH NAME, \- unescaped
man_section() {
  awk -v s="$2" '/^\.SH / { on = ($2 == s); next } on' "$1" | sed 's/\\-/-/g'
}

in_list() { # in_list WORD LIST...
  local w=$1 x
  shift
  for x in "$@"; do [ "$x" = "$w" ] && return 0; done
  return 1
}

check_settings() {
  local lib=$1 dump=$2 ap=$3 readme=$4 man=$5
  local problems=0 lib_names cli_names doc_readme doc_man n
  lib_names=$(names "$lib" "$dump")
  cli_names=$(comm -13 <(echo "$lib_names") <(names "$ap"))
  [ -n "$lib_names" ] || { echo "no ALLOC_*/ALLOCPROF_* name in $lib and $dump"; return 1; }
  # the rows of README's tables and the man page's ENVIRONMENT entries
  doc_readme=$(grep -oE '^\| `ALLOC(PROF)?_[A-Z0-9_]*[A-Z0-9]' "$readme" | sed 's/^| `//' | sort -u)
  doc_man=$(man_section "$man" ENVIRONMENT | grep -oE '^\.B ALLOC(PROF)?_[A-Z0-9_]*[A-Z0-9]' |
    sed 's/^\.B //' | sort -u)
  local help
  help=$("$ap" --help 2>&1; for c in $(commands "$ap"); do "$ap" "$c" --help 2>&1; done)
  for n in $lib_names $cli_names; do
    if in_list "$n" $INTERNAL; then
      grep -q "$n" "$(dirname "$readme")/cli/README.md" "$readme" ||
        { echo "neither README.md nor cli/README.md names $n, which allocprof sets for the processes it profiles"; problems=$((problems + 1)); }
      continue
    fi
    in_list "$n" $doc_man || { echo "$(basename "$man"): no ENVIRONMENT entry (.B $n)"; problems=$((problems + 1)); }
    if in_list "$n" $lib_names; then
      in_list "$n" $doc_readme || { echo "README.md: no settings table row for $n (| \`$n ...)"; problems=$((problems + 1)); }
    else
      grep -q "$n" <<<"$help" || { echo "allocprof --help: $n is not named (allocprof reads it)"; problems=$((problems + 1)); }
    fi
  done
  for n in $doc_readme; do
    in_list "$n" $lib_names || { echo "README.md: a row for $n, which the libraries do not read"; problems=$((problems + 1)); }
  done
  for n in $doc_man; do
    in_list "$n" $lib_names $cli_names || { echo "$(basename "$man"): an entry for $n, which nothing reads"; problems=$((problems + 1)); }
  done
  [ $problems = 0 ] || return 1
  echo "ok: the $(echo $lib_names $cli_names | wc -w) settings the code reads are documented ($(echo $INTERNAL | wc -w) of them set by allocprof itself)"
}

# commands ALLOCPROF: the commands `allocprof --help` lists
commands() {
  "$1" --help | awk '/^commands:/ {on = 1; next} on && /^  [a-z]/ {print $1} on && /^$/ {on = 0}'
}

# help_options TEXT: "LONG SHORT" a line for each option of a --help text
# (SHORT is - when there is none); --help itself left out
help_options() {
  grep -oE '^ +(-[a-zA-Z], )?--[a-z][a-z-]*' <<<"$1" |
    sed -E 's/^ +//; s/^(-[a-zA-Z]), (--.*)/\2 \1/; s/^(--[a-z-]*)$/\1 -/' | grep -v '^--help ' | sort -u
}

has_word() { # has_word TEXT OPTION: OPTION stands alone in TEXT
  grep -qE -- "(^|[^a-zA-Z0-9-])$2([^a-zA-Z0-9-]|\$)" <<<"$1"
}

check_man_options() {
  local ap=$1 man=$2
  local problems=0 cmds c text opts long short o checked=0 whole
  cmds=$(commands "$ap")
  [ -n "$cmds" ] || { echo "allocprof --help lists no commands"; return 1; }
  whole=$(sed 's/\\-/-/g' "$man")
  for c in $cmds; do
    # the synopsis lines of c, up to the next .br, and its entry under COMMANDS
    text=$(man_section "$man" SYNOPSIS | awk -v c="$c" '
             $0 == ".B allocprof " c || index($0, ".B allocprof " c " ") == 1 { on = 1 }
             on && /^\.br/ { on = 0 }
             on')
    [ -n "$text" ] || { echo "$(basename "$man"): no synopsis of allocprof $c"; problems=$((problems + 1)); }
    local entry
    entry=$(man_section "$man" COMMANDS | awk -v c="$c" '
              /^\.(TP|PP)/ { on = 0; tp = ($1 == ".TP"); next }
              tp && $0 == ".B " c { on = 1; tp = 0; next }
              { tp = 0 }
              on')
    [ -n "$entry" ] || { echo "$(basename "$man"): no entry for $c under COMMANDS"; problems=$((problems + 1)); }
    text="$text
$entry"
    opts=$(help_options "$("$ap" "$c" --help)")
    while read -r long short; do
      [ -n "$long" ] || continue
      checked=$((checked + 1))
      has_word "$text" "$long" || { [ "$short" != - ] && has_word "$text" "$short"; } ||
        { echo "$(basename "$man"): allocprof $c $long is not in its synopsis or entry"; problems=$((problems + 1)); }
    done <<<"$opts"
    # and back: every option the man page gives c is one --help lists
    for o in $(grep -oE -- '(^|[ (])--?[a-zA-Z][a-z-]*' <<<"$text" | sed -E 's/^[ (]//' | sort -u); do
      grep -qE -- "^($o [^ ]+|[^ ]+ $o)\$" <<<"$opts" ||
        { echo "$(basename "$man"): allocprof $c $o, which allocprof $c --help does not list"; problems=$((problems + 1)); }
    done
  done
  # the options of allocprof itself (none today; --version one day)
  while read -r long short; do
    [ -n "$long" ] || continue
    checked=$((checked + 1))
    has_word "$whole" "$long" || { echo "$(basename "$man"): allocprof $long is not named"; problems=$((problems + 1)); }
  done <<<"$(help_options "$("$ap" --help)")"
  [ $problems = 0 ] || return 1
  echo "ok: the $checked options of allocprof and its $(echo $cmds | wc -w) commands are in $(basename "$man"), and no other"
}

# expect_fail WHAT COMMAND...: COMMAND must fail
expect_fail() {
  local what=$1
  shift
  if "$@" >"$tmp/out" 2>&1; then
    echo "selftest: FAIL: the check passed with $what"
    return 1
  fi
  echo "selftest: caught $what: $(head -1 "$tmp/out")"
}

selftest() {
  local lib=$1 dump=$2 ap=$3 readme=$4 man=$5 bad=0
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/allocprof-docs.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  mkdir "$tmp/cli"
  cp "$(dirname "$readme")/cli/README.md" "$tmp/cli/"
  check_settings "$@" || bad=1
  check_man_options "$ap" "$man" || bad=1
  # README without ALLOCPROF_SEED's row, the man page without ALLOC_STATS's
  # entry, a row for a setting nobody reads
  grep -v '^| `ALLOCPROF_SEED`' "$readme" >"$tmp/README.md"
  expect_fail "README.md without ALLOCPROF_SEED" check_settings "$lib" "$dump" "$ap" "$tmp/README.md" "$man" || bad=1
  sed '/^\.B ALLOC_STATS$/,/^\.TP$/d' "$man" >"$tmp/no_stats.1"
  expect_fail "the man page without ALLOC_STATS" check_settings "$lib" "$dump" "$ap" "$readme" "$tmp/no_stats.1" || bad=1
  sed 's/^| `ALLOCPROF_SEED`/| `ALLOCPROF_SEEDS` | x |\n&/' "$readme" >"$tmp/README.md"
  expect_fail "README.md with a row for ALLOCPROF_SEEDS" check_settings "$lib" "$dump" "$ap" "$tmp/README.md" "$man" || bad=1
  # the man page without top's --json, with a --frobnicate for flame, without merge
  sed 's/^\.RB \[ \\-\\-json \]$//' "$man" >"$tmp/no_json.1"
  grep -q 'json' <(sed -n '/^\.B allocprof top/,/^\.br/p' "$tmp/no_json.1") &&
    { echo "selftest: FAIL: could not take --json out of top's synopsis"; bad=1; }
  sed -i 's/^\.B \\-\\-json$/.B \\-\\-jsn/' "$tmp/no_json.1"
  expect_fail "the man page without top --json" check_man_options "$ap" "$tmp/no_json.1" || bad=1
  sed 's/^\.B allocprof flame$/.B allocprof flame\n.RB [ \\-\\-frobnicate ]/' "$man" >"$tmp/frob.1"
  expect_fail "the man page with flame --frobnicate" check_man_options "$ap" "$tmp/frob.1" || bad=1
  sed '/^\.B allocprof merge/,/^\.br/d' "$man" >"$tmp/no_merge.1"
  expect_fail "the man page without merge's synopsis" check_man_options "$ap" "$tmp/no_merge.1" || bad=1
  [ $bad = 0 ] || exit 1
  echo "selftest: ok"
}

case ${1:-} in
settings) shift && check_settings "$@" ;;
man-options) shift && check_man_options "$@" ;;
selftest) shift && selftest "$@" ;;
*)
  echo "usage: docs_check.sh settings|man-options|selftest ..." >&2
  exit 2
  ;;
esac
