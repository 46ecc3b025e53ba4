#!/usr/bin/env python3
"""Writes seed inputs for fuzz_cfi (liballoc/fuzz_cfi.c) from a real library's
.eh_frame: each seed is a 2-byte code offset, then one CIE and one FDE of the
library, the FDE's CIE pointer rewritten to point at the copy in front of it.

usage: fuzz_cfi_seeds.py LIBRARY OUTDIR [COUNT]
(the seeds in liballoc/fuzz_cfi_corpus came from Debian 12's libc.so.6 and
libstdc++.so.6)
"""
import os
import struct
import subprocess
import sys
import tempfile


def entries(sec):
    off = 0
    while off + 4 <= len(sec):
        (length,) = struct.unpack_from("<I", sec, off)
        if length == 0 or length == 0xFFFFFFFF:
            return
        yield off, sec[off:off + 4 + length]
        off += 4 + length


def main():
    lib, outdir = sys.argv[1], sys.argv[2]
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 24
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "eh_frame")
        subprocess.run(["objcopy", "-O", "binary", "--only-section=.eh_frame", lib, raw],
                       check=True)
        sec = open(raw, "rb").read()
    by_off = dict(entries(sec))
    fdes = []
    for off, e in by_off.items():
        (cie_ptr,) = struct.unpack_from("<I", e, 4)
        if cie_ptr == 0:
            continue  # a CIE
        cie = by_off.get(off + 4 - cie_ptr)
        if cie is not None:
            fdes.append((cie, e))
    os.makedirs(outdir, exist_ok=True)
    step = max(1, len(fdes) // count)
    base = os.path.basename(lib).split(".")[0]
    for i, (cie, fde) in enumerate(fdes[::step][:count]):
        fde = bytearray(fde)
        struct.pack_into("<I", fde, 4, len(cie) + 4)  # back to offset 0
        pc = (i * 37) % 256
        with open(os.path.join(outdir, "%s-%02d" % (base, i)), "wb") as f:
            f.write(struct.pack("<H", pc) + cie + bytes(fde))


if __name__ == "__main__":
    main()
