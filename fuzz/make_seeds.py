#!/usr/bin/env python3
"""Writes the committed seed corpora fuzz/corpus/{btf,btf_split,bpf_object}/ from real and synthetic data.

    python3 fuzz/make_seeds.py [--objs /tmp/objs] [--vmlinux /sys/kernel/btf/vmlinux]
                               [--modules /tmp/dl/k/lib/modules/6.1.0-47-amd64] [--bpf-clang clang-19]
                               [--strip llvm-strip-19]

Every source is optional; the synthetic seeds (tests/regression/make_corpus.py's writers) are always written.
Seeds are kept small (a few KB) so the targets run fast: real BTF is cropped to a window of types with its
strings rebuilt, and only the smallest real objects and module .BTF sections are taken.
"""

import argparse
import glob
import hashlib
import os
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests', 'regression'))
import make_corpus as mc  # noqa: E402

REF_KINDS = {2, 8, 9, 10, 11, 12, 14, 17, 18}


def crop_btf(raw, first, count):
    """A valid little blob: types [first, first+count) of `raw`, renumbered from 1; references outside the
    window become void (0); the string table holds only the names used."""
    o, h, types, strings = mc.read_btf(raw)
    window = types[first - 1:first - 1 + count]
    out = mc.Btf(o)

    def ref(t):
        return t - first + 1 if first <= t < first + len(window) else 0

    def name(off):
        end = strings.index(b'\0', off) if off < len(strings) else off
        return out.s(strings[off:end].decode('utf-8', 'replace')) if off < len(strings) else 0

    for no, info, st, tail in window:
        k, vlen = (info >> 24) & 31, info & 0xffff
        words = [name(no), info, ref(st) if k in REF_KINDS or k == 13 else st]
        tw = list(struct.unpack(o + '%dI' % (len(tail) // 4), tail))
        if k == 3:
            tw[0], tw[1] = ref(tw[0]), ref(tw[1])
        elif k in (4, 5):
            for j in range(vlen):
                tw[3 * j], tw[3 * j + 1] = name(tw[3 * j]), ref(tw[3 * j + 1])
        elif k in (6, 19):
            step = 2 if k == 6 else 3
            for j in range(vlen):
                tw[step * j] = name(tw[step * j])
        elif k == 13:
            for j in range(vlen):
                tw[2 * j], tw[2 * j + 1] = name(tw[2 * j]), ref(tw[2 * j + 1])
        elif k == 15:
            for j in range(vlen):
                tw[3 * j] = ref(tw[3 * j])
        out.u32(*(words + tw))
        out.done()
    return out.build()


def elf_sections(data):
    return {s['name']: data[s['offset']:s['offset'] + s['size']] for s in mc.read_elf(data)}


def write(dirname, name, data, seen):
    digest = hashlib.sha1(data).hexdigest()
    if digest in seen:
        return
    seen.add(digest)
    with open(os.path.join(dirname, name), 'wb') as f:
        f.write(data)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--objs', help='directory of real BPF objects (libbpf-tools *.bpf.o)')
    ap.add_argument('--vmlinux', help='raw vmlinux BTF to crop')
    ap.add_argument('--modules', help='kernel module tree (Debian 6.1.0-47-amd64: split .BTF over its vmlinux)')
    ap.add_argument('--bpf-clang', default='clang-19', help='compiles tests/fixtures/*.bpf.c; "" to skip')
    ap.add_argument('--strip', default='llvm-strip-19', help='strips debug sections from compiled fixtures')
    ap.add_argument('--out', default=os.path.join(HERE, 'corpus'))
    a = ap.parse_args()

    dirs = {t: os.path.join(a.out, t) for t in ('btf', 'btf_split', 'bpf_object')}
    for d in dirs.values():
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    seen = set()
    btf_dir, split_dir, obj_dir = dirs['btf'], dirs['btf_split'], dirs['bpf_object']

    # Synthetic: every kind in both byte orders, loops, and the hand-made regression cases by driver.
    write(btf_dir, 'all-kinds-le', mc.all_kinds().build(), seen)
    write(btf_dir, 'all-kinds-be', mc.all_kinds('>').build(), seen)
    write(btf_dir, 'synthetic-base-le', mc.synthetic_base().build(), seen)
    for name, data in mc.hand_made():
        if len(data) > 4096:
            continue
        driver = name.split('-', 1)[0]
        target = {'btf': btf_dir, 'elf': obj_dir, 'obj': obj_dir}.get(driver, split_dir if driver.startswith('split') else None)
        if target:
            write(target, name, data, seen)

    # Fixtures: tests/fixtures/*.bpf.c compiled for both byte orders, as tests/fixtures/meson.build does.
    if a.bpf_clang and shutil.which(a.bpf_clang):
        fixtures = os.path.join(HERE, '..', 'tests', 'fixtures')
        with tempfile.TemporaryDirectory() as tmp:
            for src in sorted(glob.glob(os.path.join(fixtures, '*.bpf.c'))):
                for target in ('bpf', 'bpfeb'):
                    base = os.path.basename(src)[:-len('.bpf.c')]
                    out = os.path.join(tmp, '%s.%s.o' % (base, target))
                    r = subprocess.run([a.bpf_clang, '-target', target, '-g', '-O2', '-I' + fixtures, '-c', src, '-o', out],
                                       capture_output=True)
                    if r.returncode != 0:
                        continue
                    if a.strip and shutil.which(a.strip):  # debug sections are most of the bytes
                        subprocess.run([a.strip, '-g', out], check=True)
                    data = open(out, 'rb').read()
                    if len(data) <= 32768:
                        write(obj_dir, 'fixture-%s-%s' % (base, target), data, seen)
                    btf = elf_sections(data).get('.BTF') if target == 'bpf' else None
                    if btf and len(btf) <= 8192:
                        write(btf_dir, 'fixture-%s' % base, btf, seen)

    # Real BPF objects: the smallest ones whole, the .BTF of more.
    if a.objs:
        objs = sorted(glob.glob(os.path.join(a.objs, '*.bpf.o')), key=lambda p: (os.path.getsize(p), p))
        for p in objs[:6]:
            write(obj_dir, 'libbpf-tools-' + os.path.basename(p)[:-len('.bpf.o')], open(p, 'rb').read(), seen)
        for p in objs[:16]:
            btf = elf_sections(open(p, 'rb').read()).get('.BTF')
            if btf:
                write(btf_dir, 'libbpf-tools-' + os.path.basename(p)[:-len('.bpf.o')], btf, seen)

    # Real vmlinux BTF, cropped to windows of types.
    if a.vmlinux:
        raw = open(a.vmlinux, 'rb').read()
        n = len(mc.read_btf(raw)[2])
        for first, count in ((1, 60), (1, 200), (n // 3, 80), (n // 2, 80), (2 * n // 3, 80), (n - 80, 80)):
            write(btf_dir, 'vmlinux-types-%d-%d' % (first, first + count - 1), crop_btf(raw, first, count), seen)

    # Real split BTF: module .BTF sections over the padding base shaped like their vmlinux (mode 2).
    if a.modules:
        mods = sorted(glob.glob(os.path.join(a.modules, '**', '*.ko'), recursive=True))
        picked = []
        for p in mods:
            btf = elf_sections(open(p, 'rb').read()).get('.BTF')
            if btf and 600 <= len(btf) <= 6144:
                picked.append((p, btf))
        step = max(1, len(picked) // 10)
        for p, btf in picked[::step][:10]:
            write(split_dir, 'module-' + os.path.basename(p)[:-3], b'\2' + btf, seen)

    for t, d in dirs.items():
        files = os.listdir(d)
        print('%-10s %3d seeds, %6d bytes' % (t, len(files), sum(os.path.getsize(os.path.join(d, f)) for f in files)))


if __name__ == '__main__':
    sys.exit(main())
