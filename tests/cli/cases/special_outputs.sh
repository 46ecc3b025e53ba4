# -o and --junit replace only regular files or create new ones: a fifo, a
# symbolic link or a directory there is refused (exit 2, one line) and left
# as it was; the files written follow the umask (0644 under 022; output_modes)
mkfifo myfifo || exit
echo precious >victim
ln -s victim mylink
mkdir mydir
allocprof flame -o myfifo base.pb.gz; echo "rc=$?"
allocprof convert -o mylink base.pb.gz; echo "rc=$?"
allocprof merge -o mydir base.pb.gz base.pb.gz; echo "rc=$?"
allocprof diff -o mylink base.pb.gz grown.pb.gz >/dev/null; echo "rc=$?"
allocprof gate --base base.pb.gz --junit myfifo base.pb.gz >/dev/null; echo "rc=$?"
allocprof gate --base base.pb.gz --junit mylink base.pb.gz >/dev/null; echo "rc=$?"
test -p myfifo && echo "myfifo: still a fifo"
test -L mylink && echo "mylink: still a link to $(cat mylink)"
test -d mydir && echo "mydir: still a directory"
umask 022
allocprof convert -o new.pb base.pb.gz && ls -l new.pb | cut -c1-10
allocprof flame -o new.svg base.pb.gz && ls -l new.svg | cut -c1-10
echo "temporaries left: $(ls -A | grep -c tmp)"
