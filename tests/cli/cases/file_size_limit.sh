# under a file size limit (ulimit -f) the write fails with EFBIG in one line,
# exit 2, instead of SIGXFSZ killing the command; nothing is left behind
# (the output goes through a pipe: the limit applies to regular files only)
out=$( (ulimit -f 0; allocprof convert -o big.pb base.pb.gz 2>&1; echo "rc=$?") )
echo "$out"
out=$( (ulimit -f 0; allocprof flame -o big.svg base.pb.gz 2>&1; echo "rc=$?") )
echo "$out"
echo "files left: $(ls -A | grep -c -e '^big' -e tmp)"
