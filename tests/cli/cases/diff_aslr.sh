# Two runs of one program, a stripped library loaded at two addresses (ASLR),
# its frames named by raw address (leaf1) or not at all (leaf2), as profiles
# from before liballoc named them by object and offset were written. Compared
# by object and offset (libstripped.so.1+0x1234, +0x1456), nothing changed:
# diff lists no function, the gate passes, flame --base finds nothing in BASE
# only, and merge keeps one function per frame with twice the bytes
# (leaf2 80 KiB, leaf1 19.5 KiB).
allocprof diff aslr_a.pb.gz aslr_b.pb.gz
allocprof gate --base aslr_a.pb.gz --max-growth 5% aslr_b.pb.gz; echo "gate: exit $?"
allocprof flame --base aslr_a.pb.gz -o d.svg aslr_b.pb.gz && grep -o 'in BASE only: [^<]*' d.svg
allocprof merge -o m.pb.gz aslr_a.pb.gz aslr_b.pb.gz && allocprof top m.pb.gz
