# symbolize on bad arguments and files: one line, exit 2, nothing written;
# then a profile whose frames all have names (nothing to do: one line)
echo "hello" >not_a_profile.txt
mkdir -p adir
for args in "" "--debuginfod ftp://example.org base.pb.gz" "--debug-dir= base.pb.gz" "--debug-dir nodir base.pb.gz" \
  "-o x.pb.gz base.pb.gz new.pb.gz" "missing.pb.gz" "not_a_profile.txt" "-o x.folded base.pb.gz" \
  "-o adir base.pb.gz" "-o nodir/x.pb.gz base.pb.gz" "--frob base.pb.gz"; do
  echo "=== symbolize $args"
  allocprof symbolize $args
  echo "rc=$?"
done
ls x.pb.gz base.sym.pb.gz 2>&1 | sed 's/.*cannot access/cannot access/'
echo "=== symbolize base.pb.gz (named already)"
allocprof symbolize --debuginfod http://127.0.0.1:9 base.pb.gz
echo "rc=$?"
allocprof top -n 1 base.sym.pb.gz >/dev/null && echo "base.sym.pb.gz reads"
echo "=== a mapping's path is a fifo: not opened (it would block), not read"
mkfifo fifo
printf '%s\n' 'heap profile:    1:     1000 [     1:     1000] @ heapprofile' \
  '     1:     1000 [     1:     1000] @ 0x7f0000001234 0x7f0000001250' '' 'MAPPED_LIBRARIES:' \
  "7f0000000000-7f0000100000 r-xp 00000000 08:01 100 $PWD/fifo" >fifo.heap
allocprof symbolize -o fifo.pb.gz fifo.heap
echo "rc=$?"
