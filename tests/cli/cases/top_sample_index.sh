# alloc_objects: f 1200, h 500, r 30, g 10; by name and by position
allocprof top -n 3 --sample-index alloc_objects base.pb.gz
allocprof top -n 3 -i 0 base.pb.gz | tail -n +2 >by_number
allocprof top -n 3 -i alloc_objects base.pb.gz | tail -n +2 >by_name
cmp by_name by_number && echo "same by number"
allocprof top --sample-index nope base.pb.gz; echo "rc=$?"
