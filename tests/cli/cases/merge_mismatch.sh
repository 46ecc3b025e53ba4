# sample types differ: one line naming the file, no output file
allocprof merge -o m.pb.gz base.pb.gz cpu.pb.gz; echo "rc=$?"
ls m.pb.gz* 2>/dev/null; echo "left: $(ls | grep -c '^m\.')"
