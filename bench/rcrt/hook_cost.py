#!/usr/bin/env python3
"""bench/rcrt/hook_cost.py - where the extra instructions of rcrt's hooks-in build come from.

Reads callgrind profiles (--dump-instr=yes --compress-pos=no --compress-strings=no, collection
toggled on one workload function) of bench_hooks built with and without the hooks, and the
hook-site table (section rc_trace_sites: {site - ., traced - ., key} per site) of the hooks-in
executable. Splits the difference of the two builds' instruction counts into:
  site NOPs  executions of the 5-byte NOP sites (object and collector sites);
  rest       everything else: code the compiler laid out differently around the sites
             (prologue saves and spills for the calls in the traced blocks, reloads after them),
             with the functions that carry most of it.
Fused sites (key flag 0x100: the refcount add/sub itself) execute an instruction the build
without hooks executes too; their count is shown for information.
Usage: hook_cost.py ON_EXE OFF_EXE DIR WORKLOAD:ITERATIONS...
       (DIR holds cg.on.WORKLOAD and cg.off.WORKLOAD)
"""
import collections
import os
import struct
import sys

FUSED = 0x100


def site_table(path):
    """{address: key} of the sites in the rc_trace_sites section of an ELF64 file."""
    d = open(path, 'rb').read()
    shoff, = struct.unpack_from('<Q', d, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from('<HHH', d, 0x3a)

    def header(i):
        return struct.unpack_from('<IIQQQQ', d, shoff + i * shentsize)

    strtab_off = header(shstrndx)[4]
    for i in range(shnum):
        name, _, _, addr, off, size = header(i)
        end = d.index(b'\0', strtab_off + name)
        if d[strtab_off + name:end] == b'rc_trace_sites':
            sites = {}
            for e in range(0, size, 12):
                rel, _, key = struct.unpack_from('<iii', d, off + e)
                sites[addr + e + rel] = key
            return sites
    return {}


def profile(path, obj):
    """Total instructions, and those of object `obj` per address and per function (self cost,
    calls skipped)."""
    by_addr, by_fn = collections.Counter(), collections.Counter()
    total = 0
    ob = fn = None
    skip = False
    for line in open(path):
        if skip:
            skip = False
        elif line.startswith('ob='):
            ob = os.path.realpath(line[3:].strip())
        elif line.startswith('fn='):
            fn = line[3:].strip().split("'")[0]
        elif line.startswith('calls='):
            skip = True  # the next line is the inclusive cost of the call
        elif line.startswith('totals:'):
            total = int(line.split()[1])
        elif line.startswith('0x') and ob == obj:
            addr, _, cost = line.split()
            by_addr[int(addr, 16)] += int(cost)
            by_fn[fn] += int(cost)
    return total, by_addr, by_fn


def main():
    on_exe, off_exe = (os.path.realpath(p) for p in sys.argv[1:3])
    where = sys.argv[3]
    sites = site_table(on_exe)
    print('instructions per iteration (callgrind, no tracer): hooks in = hooks out + site NOPs'
          ' + rest')
    print('%-10s %10s %10s %7s %10s %8s %12s' % ('workload', 'hooks in', 'hooks out', 'ratio',
                                               'site NOPs', 'rest', 'fused sites'))
    notes = []
    for arg in sys.argv[4:]:
        work, iters = arg.split(':')
        iters = int(iters)
        ton, on_addr, on_fn = profile('%s/cg.on.%s' % (where, work), on_exe)
        toff, _, off_fn = profile('%s/cg.off.%s' % (where, work), off_exe)
        ion, ioff = ton / iters, toff / iters
        nops = sum(c for a, c in on_addr.items() if a in sites and not sites[a] & FUSED) / iters
        fused = sum(c for a, c in on_addr.items() if a in sites and sites[a] & FUSED) / iters
        rest = ion - ioff - nops
        ratio = ion / ioff if ioff else float('nan')
        print('%-10s %10.0f %10.0f %7.3f %10.0f %8.0f %12.0f' % (
            work.split('_')[0], ion, ioff, ratio, nops, rest, fused))
        diffs = collections.Counter()
        for f in set(on_fn) | set(off_fn):
            diffs[f] = (on_fn[f] - off_fn[f]) / iters
        top = [f for f, d in diffs.most_common(4) if d > 0]
        notes.append('%s: extra instructions (NOPs included) by function: %s' % (
            work.split('_')[0], ', '.join('%s %+.0f' % (f, diffs[f]) for f in top)))
    for n in notes:
        print(n)


if __name__ == '__main__':
    main()
