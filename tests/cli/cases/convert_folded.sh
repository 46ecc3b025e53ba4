allocprof convert -o out.folded base.pb.gz && cat out.folded
allocprof convert -i alloc_objects -o objects.folded base.pb.gz && cat objects.folded
