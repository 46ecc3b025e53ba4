# The stripped library of diff_aslr rebuilt (same file name, another build
# ID): its offsets mean other code, so its frames are other frames, told
# apart by the build ID's first digits.
allocprof diff aslr_a.pb.gz aslr_rebuilt.pb.gz
