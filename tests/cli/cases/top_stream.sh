# a snapshot stream gives its last snapshot (grown: k is there)
allocprof top -n 3 snap.zst
