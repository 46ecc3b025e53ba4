# legacy_files.sh: small heap profiles in the text formats of gperftools
# (tcmalloc's heap_v2) and jemalloc (jeprof's), written into the current
# directory by the cases that read them (cases/legacy_*.sh source this).
# The same two stacks in both: demo+0x1136 and demo+0x1150, each called from
# demo+0x1190 under libc's __libc_start_call_main (libc.so.6+0x27249).
maps() {
  cat <<'MAPS'

MAPPED_LIBRARIES:
00400000-00401000 r--p 00000000 08:01 1000                               /usr/bin/demo
00401000-00402000 r-xp 00001000 08:01 1000                               /usr/bin/demo
00402000-00403000 r--p 00002000 08:01 1000                               /usr/bin/demo
01a2b000-01a4c000 rw-p 00000000 00:00 0                                  [heap]
7f0000000000-7f0000026000 r--p 00000000 08:01 2000                       /usr/lib/x86_64-linux-gnu/libc.so.6
7f0000026000-7f000017b000 r-xp 00026000 08:01 2000                       /usr/lib/x86_64-linux-gnu/libc.so.6
7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0                          [stack]
MAPS
}

# tcmalloc sampling once per 512 KiB: one 1 MiB object live of two, two
# 512 KiB objects live of three
write_gperf() {
  {
    echo 'heap profile:      3:  2097152 [     5:  3670016] @ heap_v2/524288'
    echo '     1:  1048576 [     2:  2097152] @ 0x00401137 0x00401191 0x7f0000027249'
    echo '     2:  1048576 [     3:  1572864] @ 0x00401151 0x00401191 0x7f0000027249'
    maps
  } >"$1"
}

# jemalloc sampling once per 512 KiB, in-use only (no prof_accum), two
# threads
write_jemalloc() {
  {
    echo 'heap_v2/524288'
    echo '  t*: 3: 2097152 [0: 0]'
    echo '  t0: 2: 1572864 [0: 0]'
    echo '  t1: 1: 524288 [0: 0]'
    echo '@ 0x00401137 0x00401191 0x7f0000027249'
    echo '  t*: 1: 1048576 [0: 0]'
    echo '  t0: 1: 1048576 [0: 0]'
    echo '@ 0x00401151 0x00401191 0x7f0000027249'
    echo '  t*: 2: 1048576 [0: 0]'
    echo '  t0: 1: 524288 [0: 0]'
    echo '  t1: 1: 524288 [0: 0]'
    maps
  } >"$1"
}
