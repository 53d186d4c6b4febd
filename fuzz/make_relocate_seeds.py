#!/usr/bin/env python3
"""Writes fuzz/targets/ (the real BTFs fuzz_relocate and fuzz_access relocate against, read at start-up) and
the seeds fuzz/corpus/relocate/ and fuzz/corpus/access/.

    python3 fuzz/make_relocate_seeds.py --fixtures build/tests/fixtures [--vmlinux /sys/kernel/btf/vmlinux]
                                        [--objs bench/corpus/data/bpf]

core_kinds.t1.btf / core_kinds.t1.be.btf: the .BTF of tests/fixtures' target objects (LE, BE), what the
core_kinds seeds relocate against; core_kinds.btf: the local .BTF of core_kinds.bpf.o (fuzz_access's local).
vmlinux-core.btf: the kernel's BTF cropped to the types the kernel_core fixture and the libbpf-tools seeds
relocate (task_struct, sk_buff, pt_regs, ...) and what they embed by value; a pointer to a type left out
points to a FWD of that name, function prototypes return void. Relocating those seeds against it gives
the same values as against the whole vmlinux it was cut from.

Seeds: relocate/ holds small libbpf-tools objects with CO-RE records (fuzz_relocate also takes
fuzz/corpus/bpf_object/); access/ one fuzz_access input per CO-RE record of core_kinds (pairs 2 and 3) and
hand-made ones over the synthetic base (pairs 0 and 1). Input layout: run_access in relocate_drivers.hpp.
"""

import argparse
import os
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests', 'regression'))
import make_corpus as mc  # noqa: E402

ROOTS = ('bio block_device bpf_func_id bpf_map_type bpf_perf_event_data dentry file gendisk kmem_cache list_head '
         'mm_struct net_device path pid_t pt_regs renamedata request request_queue sk_buff task_struct '
         'trace_event_raw_block_rq_complete trace_event_raw_block_rq_completion trace_event_raw_signal_generate '
         'trace_event_raw_sys_enter trace_event_raw_sys_exit').split()
MODS = {8, 9, 10, 11, 18}  # typedef, volatile, const, restrict, type_tag


def crop_vmlinux(raw, roots=ROOTS, funcs=()):
    """`roots` and what they embed by value; with `funcs`, those FUNCs too, their prototypes whole."""
    o, h, types, strings = mc.read_btf(raw)

    def sname(off):
        return strings[off:strings.index(b'\0', off)].decode() if off < len(strings) else ''

    def kind(t):
        return (types[t - 1][1] >> 24) & 31 if t else 0

    def words(t):
        tail = types[t - 1][3]
        return list(struct.unpack(o + '%dI' % (len(tail) // 4), tail))

    keep, stack = set(), [i + 1 for i, t in enumerate(types) if sname(t[0]) in roots and (t[1] >> 24) & 31 in (4, 5, 6, 8, 19)]
    protos = {t[2] for t in types if sname(t[0]) in funcs and (t[1] >> 24) & 31 == 12}
    stack += [i + 1 for i, t in enumerate(types) if sname(t[0]) in funcs and (t[1] >> 24) & 31 == 12]
    while stack:  # everything reachable by value (members, modifiers, array elements), not through pointers
        t = stack.pop()
        if t == 0 or t in keep:
            continue
        keep.add(t)
        k, vlen = kind(t), types[t - 1][1] & 0xffff
        if k in MODS or k == 12:
            stack.append(types[t - 1][2])
        elif k == 13 and t in protos:  # return and parameter types
            stack += [types[t - 1][2]] + words(t)[1::2]
        elif k == 3:
            stack += words(t)[:2]
        elif k in (4, 5):
            stack += [words(t)[3 * j + 1] for j in range(vlen)]
        elif k == 2 and kind(types[t - 1][2]) in MODS | {1, 2, 16}:  # pointer to a scalar: keep its chain
            stack.append(types[t - 1][2])
    # A pointer to a named struct/union left out points to a FWD of that name (appended), otherwise to void.
    extra = sorted({types[t - 1][2] for t in keep if kind(t) == 2 and types[t - 1][2] not in keep
                    and kind(types[t - 1][2]) in (4, 5, 7) and sname(types[types[t - 1][2] - 1][0])})
    order = sorted(keep)
    new_id = {t: i + 1 for i, t in enumerate(order + extra)}
    out = mc.Btf(o)
    names = {'': 0}

    def s(n):
        if n not in names:
            names[n] = out.s(n)
        return names[n]

    def ref(t):
        return new_id.get(t, 0)

    for t in order:
        no, info, st, tail = types[t - 1]
        k, vlen = (info >> 24) & 31, info & 0xffff
        tw = words(t)
        if k in MODS or k in (2, 12):
            st = ref(st)
        elif k == 13 and t in protos:
            st = ref(st)
            for j in range(vlen):
                tw[2 * j], tw[2 * j + 1] = s(sname(tw[2 * j])), ref(tw[2 * j + 1])
        elif k == 13:
            st = 0
            for j in range(vlen):
                tw[2 * j], tw[2 * j + 1] = s(sname(tw[2 * j])), 0
        if k == 3:
            tw[0], tw[1] = ref(tw[0]), ref(tw[1])
        elif k in (4, 5):
            for j in range(vlen):
                tw[3 * j], tw[3 * j + 1] = s(sname(tw[3 * j])), ref(tw[3 * j + 1])
        elif k in (6, 19):
            step = 2 if k == 6 else 3
            for j in range(vlen):
                tw[step * j] = s(sname(tw[step * j]))
        if k in (14, 15, 17):  # VAR, DATASEC, DECL_TAG are never reached by value
            raise SystemExit('unexpected kind %d' % k)
        out.u32(s(sname(no)), info, st, *tw)
        out.done()
    for t in extra:  # FWD, kflag set for a union
        out.u32(s(sname(types[t - 1][0])), (7 << 24) | (0x80000000 if kind(t) == 5 else 0), 0)
        out.done()
    return out.build()


def dump_section(obj, name):
    with tempfile.TemporaryDirectory() as tmp:
        p = os.path.join(tmp, 'sec')
        subprocess.run(['llvm-objcopy-19', '--dump-section', name + '=' + p, obj, os.path.join(tmp, 'o')], check=True)
        with open(p, 'rb') as f:
            return f.read()


def dump_btf(obj):
    return dump_section(obj, '.BTF')


LDIMM64_KINDS = {6, 7, 10, 11}  # type ids and enumerators: clang emits ldimm64


def access_input(root, kind, pair, form, access):
    """A fuzz_access input: root id (u16 LE), kind, BTF pair, instruction form, access string."""
    return struct.pack('<HBBB', root, kind, pair, form) + access.encode()


def core_kinds_records(obj):
    """(type id, kind, access string) of every CO-RE record of a little-endian object."""
    btf, ext = dump_btf(obj), dump_section(obj, '.BTF.ext')
    _, h, _, strings = mc.read_btf(btf)
    hdr_len, = struct.unpack_from('<I', ext, 4)
    core_off, core_len = struct.unpack_from('<II', ext, 24)
    p = hdr_len + core_off
    end = p + core_len
    rec_size, = struct.unpack_from('<I', ext, p)
    p += 4
    out = []
    while p < end:
        _, n = struct.unpack_from('<II', ext, p)
        p += 8
        for _ in range(n):
            _, tid, acc, kind = struct.unpack_from('<IIII', ext, p)
            out.append((tid, kind, strings[acc:strings.index(b'\0', acc)].decode()))
            p += rec_size
    return out


def access_seeds(fixtures):
    seeds = {}
    for tid, kind, acc in core_kinds_records(os.path.join(fixtures, 'core_kinds.bpf.o')):
        form = 6 if kind in LDIMM64_KINDS else 3 if kind == 0 else 0
        for pair in (2, 3):
            seeds['core_kinds-%d-%d-%s-p%d' % (tid, kind, acc.replace(':', '_'), pair)] = access_input(tid, kind, pair, form, acc)
    # The synthetic base (fuzz/bases.hpp): 4 int[4], 5 struct s {a, b:3, p}, 6 union u, 7 enum e, 8 enum64,
    # 10 typedef t -> s, 12 const volatile t, 21/22 a typedef/const loop, 24 struct self {arr[1] of self}.
    for name, (root, kind, form, acc) in {
            'struct-member': (5, 0, 3, '0:2'), 'bitfield-lshift': (5, 4, 0, '0:1'), 'bitfield-signed': (5, 3, 0, '0:1'),
            'array-elem': (4, 1, 0, '0:3'), 'array-of-struct': (5, 0, 3, '1:0'), 'union-exists': (6, 2, 0, '0:1'),
            'enum-value': (7, 11, 6, '1'), 'enum64-value': (8, 11, 6, '0'), 'typedef-root': (10, 9, 0, '0'),
            'mods-root': (12, 0, 3, '0:0'), 'loop-root': (21, 0, 0, '0:0'), 'self-array': (24, 0, 3, '0:0:0:0'),
            'type-matches': (24, 12, 0, '0'), 'type-id-target': (5, 7, 6, '0'), 'rshift': (5, 5, 0, '0:2'),
            'blanks-signs': (5, 0, 3, ' +0: \t1'), 'deep': (24, 0, 0, ':'.join(['0'] * 64))}.items():
        for pair in (0, 1):
            seeds['synthetic-%s-p%d' % (name, pair)] = access_input(root, kind, pair, form, acc)
    return seeds


RELOCATE_OBJS = ('slabratetop', 'capable', 'mdflush', 'bitesize', 'filelife', 'biotop', 'sigsnoop')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--fixtures', required=True, help='build dir of tests/fixtures (core_kinds.t1[.be].bpf.o)')
    ap.add_argument('--vmlinux', default='/sys/kernel/btf/vmlinux')
    ap.add_argument('--objs', help='libbpf-tools objects (bench/corpus/data/bpf): seeds of fuzz_relocate')
    ap.add_argument('--out', default=HERE)
    a = ap.parse_args()
    targets = os.path.join(a.out, 'targets')
    os.makedirs(targets, exist_ok=True)
    files = {'core_kinds.btf': dump_btf(os.path.join(a.fixtures, 'core_kinds.bpf.o')),
             'core_kinds.t1.btf': dump_btf(os.path.join(a.fixtures, 'core_kinds.t1.bpf.o')),
             'core_kinds.t1.be.btf': dump_btf(os.path.join(a.fixtures, 'core_kinds.t1.be.bpf.o'))}
    with open(a.vmlinux, 'rb') as f:
        files['vmlinux-core.btf'] = crop_vmlinux(f.read())
    for name, data in files.items():
        with open(os.path.join(targets, name), 'wb') as f:
            f.write(data)
        print('targets/%s: %d bytes' % (name, len(data)))
    seeds = {'access': access_seeds(a.fixtures), 'relocate': {}}
    if a.objs:
        for n in RELOCATE_OBJS:
            with open(os.path.join(a.objs, n + '.bpf.o'), 'rb') as f:
                seeds['relocate']['libbpf-tools-' + n] = f.read()
    for d, files in seeds.items():
        if not files:
            continue
        path = os.path.join(a.out, 'corpus', d)
        shutil.rmtree(path, ignore_errors=True)
        os.makedirs(path)
        for name, data in files.items():
            with open(os.path.join(path, name), 'wb') as f:
                f.write(data)
        print('corpus/%s: %d seeds' % (d, len(files)))


if __name__ == '__main__':
    main()
