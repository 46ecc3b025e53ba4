#!/usr/bin/env python3
"""Checks libprof's CFI interpreter (liballoc/mprof_cfi.c) against readelf.

For every row of every FDE in each library given (readelf
--debug-dump=frames-interp: one row per address where a rule changes), asks
prof_cfi_rules for the rule at that address and compares: the CFA (rsp or
rbp plus an offset), where rbp was saved, and whether the return address is
at CFA - 8. Rows the walker must not follow (a CFA or rbp given by an
expression or another register, a signal frame's CIE) must come back
unsupported; rows with an undefined return address, outermost.

usage: prof_cfi_readelf.py PROF_CFI_RULES LIBRARY...  (a path or a soname)
"""
import re
import subprocess
import sys

STEP, OUTERMOST, UNSUPPORTED = 1, 2, 3
CFA_RBP, RBP_SAVED = 1, 2


def readelf_rows(lib):
    # readelf exits 1 over sections it does not follow (a libc's debug
    # link) while printing every frame table: the rows are what counts.
    out = subprocess.run(["readelf", "--wide", "--debug-dump=frames-interp", lib],
                         capture_output=True, text=True).stdout
    if " FDE " not in out:
        raise SystemExit("FAIL: readelf shows no FDE in %s" % lib)
    cie_aug = {}
    rows = []  # (loc, expectation) with expectation a tuple or a kind
    header, aug = None, ""
    for line in out.splitlines():
        m = re.match(r"^([0-9a-f]+) [0-9a-f]+ [0-9a-f]+ CIE \"([^\"]*)\"", line)
        if m:
            cie_aug[int(m.group(1), 16)] = m.group(2)
            header = None
            continue
        m = re.match(r"^[0-9a-f]+ [0-9a-f]+ [0-9a-f]+ FDE cie=([0-9a-f]+)", line)
        if m:
            aug = cie_aug.get(int(m.group(1), 16), "")
            header = None
            continue
        if line.strip().startswith("LOC"):
            header = line.split()
            continue
        if header is None or not re.match(r"^[0-9a-f]{8,16} ", line):
            header = None if not line.strip() else header
            continue
        # a register rule prints as "r3 (rbx)": one cell
        cells = re.sub(r"r\d+ \(\w+\)", "reg", line).split()
        row = dict(zip(header, cells))
        loc = int(cells[0], 16)
        if loc == 0:
            continue  # the FDE of a discarded function
        rows.append((loc, expectation(row, aug)))
    return rows


def expectation(row, aug):
    ra, cfa, rbp = row.get("ra", "u"), row.get("CFA", "?"), row.get("rbp", "u")
    if ra == "u":
        return OUTERMOST
    if "S" in aug or ra != "c-8":
        return UNSUPPORTED
    m = re.fullmatch(r"(rsp|rbp)([+-]\d+)", cfa)
    if not m:
        return UNSUPPORTED
    flags = CFA_RBP if m.group(1) == "rbp" else 0
    rbp_off = 0
    if rbp not in ("u", "s"):
        m2 = re.fullmatch(r"c([+-]\d+)", rbp)
        if not m2:
            return UNSUPPORTED
        flags |= RBP_SAVED
        rbp_off = int(m2.group(1))
    return (STEP, flags, int(m.group(2)), rbp_off)


def main():
    tool, libs = sys.argv[1], sys.argv[2:]
    failed = False
    for lib in libs:
        lib = subprocess.run([tool, "--path", lib], capture_output=True, text=True,
                             check=True).stdout.strip()
        rows = readelf_rows(lib)
        query = "".join("%x\n" % loc for loc, _ in rows)
        out = subprocess.run([tool, lib], input=query, capture_output=True, text=True, check=True).stdout
        answers = out.splitlines()
        if len(answers) != len(rows):
            print("FAIL %s: %d answers for %d rows" % (lib, len(answers), len(rows)))
            failed = True
            continue
        bad = 0
        counts = {STEP: 0, OUTERMOST: 0, UNSUPPORTED: 0}
        for (loc, want), answer in zip(rows, answers):
            kind, flags, cfa, rbp_off = map(int, answer.split()[1:])
            got = (kind, flags, cfa, rbp_off if flags & RBP_SAVED else 0) if kind == STEP else kind
            if got != want:
                bad += 1
                if bad <= 10:
                    print("FAIL %s+%#x: interpreter says %s, readelf %s" % (lib, loc, got, want))
            else:
                counts[want if isinstance(want, int) else STEP] += 1
        print("%s: %d rows: %d walkable, %d outermost, %d unsupported, %d wrong"
              % (lib, len(rows), counts[STEP], counts[OUTERMOST], counts[UNSUPPORTED], bad))
        failed = failed or bad > 0 or counts[STEP] == 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
