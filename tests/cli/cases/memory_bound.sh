# memory is bounded by the input: at most 64 MiB + 40 x the decompressed
# size (here 10 MiB of empty samples in 10 KB of gzip, refused before
# protobuf-c allocates 5 million Sample structures), and endless input
# (/dev/zero, a pipe) or a file of zeros is refused after its first
# megabytes, not read to 1 or 4 GiB
command -v python3 >/dev/null || { echo "SKIP: no python3"; exit 77; }
peak="python3 $CLI_GOLDEN/../peak_rss.py"
for cmd in top merge flame; do
  case $cmd in
    top) args="empty_samples.pb.gz" ;;
    merge) args="-o m.pb.gz empty_samples.pb.gz base.pb.gz" ;;
    flame) args="-o f.svg empty_samples.pb.gz" ;;
  esac
  $peak '64*2**20 + 40*10*2**20' -- allocprof $cmd $args; echo "$cmd: rc=$?"
done
$peak '64*2**20' -- allocprof convert -o x.pb /dev/zero; echo "convert /dev/zero: rc=$?"
$peak '64*2**20' -- allocprof top /dev/zero; echo "top /dev/zero: rc=$?"
truncate -s 900M sparse.pb && $peak '64*2**20' -- allocprof top sparse.pb; echo "top sparse zeros: rc=$?"
rm -f sparse.pb
head -c 3000000 /dev/zero | $peak '64*2**20' -- allocprof top /dev/stdin; echo "top pipe: rc=$?"
echo "outputs left: $(ls -A | grep -c -e '^x.pb' -e '^m.pb' -e '^f.svg')"
# folded stacks repeat names: 300 stacks of 16 frames named by 64 KiB
# (300 MiB of text from a 140 KB profile) are refused, not built
"$GEN_PROFILES" --fat 300 fat.pb.gz || exit
size=$(gzip -dc fat.pb.gz | wc -c)
$peak "64*2**20 + 40*$size" -- allocprof flame -o fat.svg fat.pb.gz; echo "flame fat: rc=$?"
$peak "64*2**20 + 40*$size" -- allocprof convert -o fat.folded fat.pb.gz; echo "convert fat: rc=$?"
# a flame graph with a box for every frame: 8000 stacks of 400 frames that
# part at the root (3.2 million boxes from 3.6 MB) are refused
"$GEN_PROFILES" --diverge 8000 400 dv.pb.gz || exit
size=$(gzip -dc dv.pb.gz | wc -c)
$peak "64*2**20 + 40*$size" -- allocprof flame -o dv.svg dv.pb.gz; echo "flame diverge: rc=$?"
echo "outputs left: $(ls -A | grep -c -e '^fat.svg' -e '^fat.folded' -e '^dv.svg')"
