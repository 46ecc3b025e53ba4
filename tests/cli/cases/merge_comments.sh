# merge keeps each input's comments together, one comment per input (pid=
# beside its own trigger= and seq=), and says when the inputs come from
# different programs (cmdline= differs); one input keeps its comments
allocprof merge -o m.pb.gz dump_a.pb.gz dump_b.pb.gz; echo "merge rc=$?"
allocprof top m.pb.gz | grep Comment
allocprof merge -o m2.pb.gz dump_a.pb.gz base.pb.gz dump_other.pb.gz; echo "merge rc=$?"
allocprof top m2.pb.gz | grep Comment
allocprof merge -o m3.pb.gz dump_b.pb.gz; echo "merge rc=$?"
allocprof top m3.pb.gz | grep Comment
