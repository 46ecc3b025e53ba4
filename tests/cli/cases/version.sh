# allocprof --version and -V: the version and the build's identity (the git
# commit at build time, or "unknown" outside a checkout), one line, exit 0
v=$(allocprof --version) || exit
[ "$(allocprof -V)" = "$v" ] && echo "-V is --version"
echo "$v" | sed -E 's/^allocprof [0-9]+\.[0-9]+\.[0-9]+ \(git [0-9A-Za-z._+-]+, [A-Za-z]+ build\)$/allocprof VERSION (git ID, TYPE build)/'
