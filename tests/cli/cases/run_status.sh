# needs: preload
# exit status and signals: killed -> 128+N; a signal sent to allocprof
# reaches PROG (which waits for it, up to a minute); a missing program ->
# 127; no library -> 2
allocprof run -o 'x.%p.pb.gz' -- sh -c 'kill -TERM $$' 2>err; echo "rc=$?"
sed -E 's/x\.[0-9]+\./x.PID./' err
allocprof run -o 'x.%p.pb.gz' -- sh -c 'trap "echo PROG got USR1; kill \$! 2>/dev/null; exit 5" USR1; kill -USR1 $PPID; sleep 60 & wait' 2>/dev/null; echo "rc=$?"
allocprof run -- ./no-such-program; echo "rc=$?"
ALLOCPROF_LIB=/nonexistent/liballoc.so allocprof run -- true; echo "rc=$?"
