# the command's output files follow the umask (0666 less it, as cp and gzip
# make theirs), whichever command writes them; the profiler's own profiles
# keep 0600 (tests/unit/test_formats_fileio.c)
modes() {
  allocprof merge -o m.pb.gz base.pb.gz grown.pb.gz &&
    allocprof convert -o c.pb.zst base.pb.gz &&
    allocprof convert -o c.folded base.pb.gz &&
    allocprof convert --all -o s.%n.pb snap.zst 2>/dev/null &&
    allocprof diff -o d.pb.gz base.pb.gz grown.pb.gz >/dev/null &&
    allocprof flame -o f.svg base.pb.gz >/dev/null &&
    { allocprof gate --junit j.xml --base base.pb.gz grown.pb.gz >/dev/null; [ $? = 1 ]; } ||
    echo "a command failed"
  for f in m.pb.gz c.pb.zst c.folded s.0.pb d.pb.gz f.svg j.xml; do
    echo "$f $(stat -c %a "$f")"
  done
  rm -f m.pb.gz c.pb.zst c.folded s.*.pb d.pb.gz f.svg j.xml
}
for u in 022 077 002; do
  echo "umask $u"
  (umask $u && modes)
done
# an existing file is replaced by one of the new mode
umask 022
touch old.svg && chmod 600 old.svg
allocprof flame -o old.svg base.pb.gz >/dev/null && echo "old.svg $(stat -c %a old.svg)"
