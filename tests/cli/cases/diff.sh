# grown - base: f +50000, k +81920 (new), r -30000 (gone): +101920
allocprof diff base.pb.gz grown.pb.gz
