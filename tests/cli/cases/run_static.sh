# needs: preload
# a statically linked program (ldconfig is static or static-pie on glibc
# systems) cannot be entered by LD_PRELOAD: run says so rather than blaming
# the sampling rate; found through PATH as exec finds it, and behind a
# script's #! line too
ld=$(command -v ldconfig || PATH=/sbin:/usr/sbin command -v ldconfig)
[ -n "$ld" ] || { echo "no ldconfig"; exit 77; }
case $(od -An -c -j1 -N3 "$ld" | tr -d ' ') in ELF) ;; *) echo "ldconfig is no ELF file"; exit 77 ;; esac
allocprof run -- "$ld" --version >/dev/null 2>err; echo "rc=$?"
sed "s|$ld|LDCONFIG|" err
dir=$(dirname "$ld")
PATH="$dir:$PATH" allocprof run -- ldconfig --version >/dev/null 2>err; echo "rc=$?"
sed "s|$ld|LDCONFIG|" err
printf '#!%s --version\n' "$ld" >script; chmod +x script
allocprof run -- ./script >/dev/null 2>err; echo "rc=$?"
sed "s|$ld|LDCONFIG|" err
# a dynamic program that takes no sample: the old message
allocprof run -- sh -c true; echo "rc=$?"
