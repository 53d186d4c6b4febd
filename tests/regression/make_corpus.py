#!/usr/bin/env python3
"""Writes the hand-made part of tests/regression/: broken BTF, split BTF, ELF and BPF objects.

Deterministic: the same inputs give the same files. The generated files are committed, so the tests do not
need Python; rerun after changing this script:

    python3 tests/regression/make_corpus.py [--objs /tmp/objs]

--objs is a directory with libbpf-tools' bashreadline.bpf.o and biopattern.bpf.o (Debian libbpf-tools
0.26.0+ds-1); truncations and corruptions of those real objects are written when it is given.

File names: <driver>-<what it exercises>.<expected outcome>
  driver  btf (raw BTF), split0 (fuzz_btf_split input over the synthetic base: mode byte 0, then the split),
          split1/split2/split3 (other fuzz_btf_split modes), elf (ELF view), obj (BPF object)
  outcome ok (the driver's parse succeeds), an errc name (it fails with that code), err (it fails, any code),
          any (no expectation; only: no crash, no broken invariant)
fuzz/run adds crash-<target>-<sha1> files: inputs that once crashed a fuzz target.
This module is also imported by fuzz/make_seeds.py for its BTF and ELF writers.
"""

import argparse
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

BTF_MAGIC = 0xEB9F
K = dict(int=1, ptr=2, array=3, struct=4, union=5, enum=6, fwd=7, typedef=8, volatile=9, const=10, restrict=11,
         func=12, func_proto=13, var=14, datasec=15, float=16, decl_tag=17, type_tag=18, enum64=19)
SHT_NULL, SHT_PROGBITS, SHT_SYMTAB, SHT_STRTAB, SHT_RELA, SHT_NOBITS, SHT_REL = 0, 1, 2, 3, 4, 8, 9
SHF_ALLOC, SHF_EXECINSTR = 2, 4


# ---------------------------------------------------------------------------------------------------------
# BTF


class Btf:
    """Raw BTF writer, like tests/blob_builder.hpp; `patch` overrides header fields when building."""

    def __init__(self, order='<', base_types=0, base_strings=0):
        self.o = order
        self.next_id = base_types if base_types else 1
        self.str_base = base_strings
        self.strings = bytearray() if base_strings else bytearray(b'\0')
        self.types = bytearray()

    def s(self, name):
        if name == '' and self.str_base == 0:
            return 0
        off = self.str_base + len(self.strings)
        self.strings += name.encode() + b'\0'
        return off

    def u32(self, *ws):
        for w in ws:
            self.types += struct.pack(self.o + 'I', w & 0xffffffff)

    def head(self, name, kind, vlen=0, kflag=False, st=0):
        self.u32(self.s(name) if isinstance(name, str) else name,
                 (0x80000000 if kflag else 0) | (kind << 24) | (vlen & 0xffff), st)

    def done(self):
        self.next_id += 1
        return self.next_id - 1

    def int_(self, name, size, enc=1, bits=None, off=0):
        self.head(name, K['int'], st=size)
        self.u32((enc << 24) | (off << 16) | (size * 8 if bits is None else bits))
        return self.done()

    def ref(self, kind, name, t, vlen=0):
        self.head(name, K[kind], vlen, st=t)
        return self.done()

    def var(self, name, t, linkage=1):
        self.head(name, K['var'], st=t)
        self.u32(linkage)
        return self.done()

    def decl_tag(self, value, t, comp):
        self.head(value, K['decl_tag'], st=t)
        self.u32(comp)
        return self.done()

    def array(self, elem, index, n):
        self.head('', K['array'])
        self.u32(elem, index, n)
        return self.done()

    def struct(self, name, size, members, kflag=False, union=False, vlen=None):
        self.head(name, K['union' if union else 'struct'], len(members) if vlen is None else vlen, kflag, size)
        for m in members:
            mname, t, off = m[:3]
            bits = m[3] if len(m) > 3 else 0
            self.u32(self.s(mname) if isinstance(mname, str) else mname, t, (bits << 24) | off if kflag else off)
        return self.done()

    def enum(self, name, size, values, signed=False, vlen=None):
        self.head(name, K['enum'], len(values) if vlen is None else vlen, signed, size)
        for n, v in values:
            self.u32(self.s(n) if isinstance(n, str) else n, v)
        return self.done()

    def enum64(self, name, size, values, signed=False):
        self.head(name, K['enum64'], len(values), signed, size)
        for n, v in values:
            self.u32(self.s(n) if isinstance(n, str) else n, v & 0xffffffff, v >> 32)
        return self.done()

    def func_proto(self, ret, params):
        self.head('', K['func_proto'], len(params), st=ret)
        for n, t in params:
            self.u32(self.s(n) if isinstance(n, str) else n, t)
        return self.done()

    def datasec(self, name, size, vars_):
        self.head(name, K['datasec'], len(vars_), st=size)
        for t, off, sz in vars_:
            self.u32(t, off, sz)
        return self.done()

    def raw(self, *words):
        self.u32(*words)
        return self.done()

    def build(self, **patch):
        h = dict(magic=BTF_MAGIC, version=1, flags=0, hdr_len=24, type_off=0, type_len=len(self.types),
                 str_off=len(self.types), str_len=len(self.strings))
        h.update(patch)
        hdr = struct.pack(self.o + 'HBBIIIII', h['magic'], h['version'], h['flags'], h['hdr_len'], h['type_off'],
                          h['type_len'], h['str_off'], h['str_len'])
        return hdr + b'\0' * max(0, h['hdr_len'] - 24) + bytes(self.types) + bytes(self.strings)


def synthetic_base(order='<'):
    """fuzz/bases.hpp's synthetic_base, type for type: 25 types, ids 1..25, 80 string bytes."""
    b = Btf(order)
    i = b.int_('int', 4, 1)
    c = b.int_('char', 1, 2)
    p = b.ref('ptr', '', i)
    b.array(i, i, 4)
    s = b.struct('s', 24, [('a', i, 0), ('b', c, 32, 3), ('p', p, 64)], kflag=True)
    b.struct('u', 8, [('x', i, 0), ('y', p, 0)], union=True)
    b.enum('e', 4, [('A', 0), ('B', 0xffffffff)], signed=True)
    b.enum64('e64', 8, [('C', 1 << 40)])
    b.head('f', K['fwd']); b.done()
    td = b.ref('typedef', 't', s)
    v = b.ref('volatile', '', td)
    b.ref('const', '', v)
    b.ref('restrict', '', p)
    fp = b.func_proto(i, [('z', i), ('', 0)])
    b.ref('func', 'fn', fp, 1)
    var = b.var('v', i)
    b.datasec('.data', 4, [(var, 0, 4)])
    b.head('float', K['float'], st=4); b.done()
    b.decl_tag('tag', s, 0)
    b.ref('type_tag', 'tt', i)
    b.ref('typedef', 'loop', 22)
    b.ref('const', '', 21)
    b.array(23, i, 2)
    b.struct('self', 8, [('arr', 25, 0)])
    b.array(24, i, 1)
    assert b.next_id == SYNTH_TYPES and len(b.strings) == SYNTH_STRINGS, (b.next_id, len(b.strings))
    return b


SYNTH_TYPES, SYNTH_STRINGS = 26, 80  # fuzz/bases.hpp: synthetic_base_types, synthetic_base_strings


def all_kinds(order='<'):
    """A valid blob with every kind, bitfields, signed enums, a variadic prototype."""
    b = Btf(order)
    i = b.int_('int', 4, 1)
    u8 = b.int_('unsigned char', 1, 0)
    bf = b.int_('u3', 1, 0, bits=3, off=2)
    p = b.ref('ptr', '', i)
    a = b.array(i, i, 16)
    s = b.struct('s', 80, [('a', i, 0), ('b', u8, 32, 3), ('c', bf, 35, 3), ('arr', a, 64)], kflag=True)
    b.struct('u', 8, [('x', i, 0), ('p', p, 0)], union=True)
    b.enum('e', 4, [('NEG', 0xffffffff), ('POS', 7)], signed=True)
    b.enum64('e64', 8, [('BIG', 0xffffffff00000001)], signed=False)
    b.head('fw', K['fwd'], kflag=True); b.done()
    td = b.ref('typedef', 's_t', s)
    cv = b.ref('const', '', b.ref('volatile', '', td))
    b.ref('restrict', '', b.ref('ptr', '', cv))
    fp = b.func_proto(i, [('x', i), ('y', p), ('', 0)])
    b.ref('func', 'f', fp, 2)
    gv = b.var('g', s, 2)
    b.datasec('.bss', 80, [(gv, 0, 80)])
    b.head('double', K['float'], st=8); b.done()
    b.decl_tag('tag', s, 1)
    b.ref('type_tag', 'user', i)
    return b


def read_btf(data):
    """(order, header dict, [(name_off, info, st, tail bytes)], strings) of a raw BTF blob."""
    o = '<' if struct.unpack_from('<H', data)[0] == BTF_MAGIC else '>'
    magic, ver, flags, hl, to, tl, so, sl = struct.unpack_from(o + 'HBBIIIII', data)
    h = dict(hdr_len=hl, type_off=to, type_len=tl, str_off=so, str_len=sl)
    p, end, types = hl + to, hl + to + tl, []
    while p < end:
        no, info, st = struct.unpack_from(o + 'III', data, p)
        k, vlen = (info >> 24) & 31, info & 0xffff
        n = {1: 4, 3: 12, 14: 4, 17: 4, 4: 12 * vlen, 5: 12 * vlen, 15: 12 * vlen, 19: 12 * vlen, 6: 8 * vlen,
             13: 8 * vlen}.get(k, 0)
        types.append((no, info, st, data[p + 12:p + 12 + n]))
        p += 12 + n
    return o, h, types, data[hl + so:hl + so + sl]


# ---------------------------------------------------------------------------------------------------------
# ELF


def read_elf(data):
    """[(name, type, flags, offset, size, link, info, align, entsize)] of a little-endian ELF64 file."""
    shoff, = struct.unpack_from('<Q', data, 40)
    shnum, shstrndx = struct.unpack_from('<HH', data, 60)
    hdrs = [struct.unpack_from('<IIQQQQIIQQ', data, shoff + 64 * i) for i in range(shnum)]
    so = hdrs[shstrndx][4]
    out = []
    for name, typ, flags, addr, off, size, link, info, align, ent in hdrs:
        out.append(dict(name=data[so + name:data.index(b'\0', so + name)].decode(), type=typ, flags=flags,
                        offset=off, size=size, link=link, info=info, align=align, entsize=ent, index=len(out)))
    return out


class Elf:
    """ELF64 writer, like tests/elf_builder.hpp: sections, a symbol table, and patched headers."""
    SYMTAB = -1  # as a link: the symbol table's index

    def __init__(self, order='<', machine=247):
        self.o, self.machine, self.sections, self.symbols = order, machine, [], []
        self.hdr_patch = {}
        self.strtab_patch = {}
        self.symtab_patch = {}
        self.sec0 = {}  # section 0's header fields; 'name_of': index of a section whose name it takes

    def section(self, sname, typ, data=b'', flags=0, link=0, info=0, align=8, entsize=0, **patch):
        """Appends a section; keyword `patch` fields (name, type, offset, size, link, ...) replace the layout's."""
        self.sections.append(dict(name=sname, type=typ, data=bytes(data), flags=flags, link=link, info=info,
                                  align=align, entsize=entsize, patch=patch))
        return len(self.sections)

    def program(self, name, insns):
        code = b''.join(struct.pack(self.o + 'BBhi', c, (s << 4) | d if self.o == '<' else (d << 4) | s, off, imm)
                        for c, d, s, off, imm in insns)
        return self.section(name, SHT_PROGBITS, code, SHF_ALLOC | SHF_EXECINSTR)

    def func(self, name, shndx, value, size, typ=2, bind=1):
        self.symbols.append((name, typ, bind, shndx, value, size))
        return len(self.symbols)

    def build(self):
        secs = [dict(s) for s in self.sections]
        symtab = 0
        if self.symbols:
            strtab, syms = bytearray(b'\0'), bytearray(24)
            for name, typ, bind, shndx, value, size in self.symbols:
                syms += struct.pack(self.o + 'IBBHQQ', len(strtab), (bind << 4) | typ, 0, shndx, value, size)
                strtab += name.encode() + b'\0'
            secs.append(dict(name='.strtab', type=SHT_STRTAB, data=bytes(strtab), flags=0, link=0, info=0, align=1,
                             entsize=0, patch=self.strtab_patch))
            symtab = len(secs) + 1
            secs.append(dict(name='.symtab', type=SHT_SYMTAB, data=bytes(syms), flags=0, link=len(secs), info=1,
                             align=8, entsize=24, patch=self.symtab_patch))
        shstr = bytearray(b'\0')
        names = []
        for s in secs + [dict(name='.shstrtab')]:
            names.append(len(shstr))
            shstr += s['name'].encode() + b'\0'
        secs.append(dict(name='.shstrtab', type=SHT_STRTAB, data=bytes(shstr), flags=0, link=0, info=0, align=1,
                         entsize=0, patch={}))
        out, offs = bytearray(64), []
        for s in secs:
            out += b'\0' * (-len(out) % s['align'])
            offs.append(len(out))
            if s['type'] != SHT_NOBITS:
                out += s['data']
        out += b'\0' * (-len(out) % 8)
        shoff = len(out)
        z = dict(name=0, type=0, flags=0, addr=0, offset=0, size=0, link=0, info=0, align=0, entsize=0)
        z.update({k: v for k, v in self.sec0.items() if k != 'name_of'})
        if 'name_of' in self.sec0:
            z['name'] = names[self.sec0['name_of'] - 1]
        out += struct.pack(self.o + 'IIQQQQIIQQ', z['name'], z['type'], z['flags'], z['addr'], z['offset'], z['size'],
                           z['link'], z['info'], z['align'], z['entsize'])
        for i, s in enumerate(secs):
            f = dict(name=names[i], type=s['type'], flags=s['flags'], addr=0, offset=offs[i], size=len(s['data']),
                     link=symtab if s['link'] == Elf.SYMTAB else s['link'], info=s['info'], align=s['align'],
                     entsize=s['entsize'])
            f.update(s['patch'])
            out += struct.pack(self.o + 'IIQQQQIIQQ', f['name'], f['type'], f['flags'], f['addr'], f['offset'],
                               f['size'], f['link'], f['info'], f['align'], f['entsize'])
        h = dict(shoff=shoff, shentsize=64, shnum=len(secs) + 1, shstrndx=len(secs), cls=2,
                 data=1 if self.o == '<' else 2)
        h.update(self.hdr_patch)
        out[0:16] = bytes([0x7f, ord('E'), ord('L'), ord('F'), h['cls'], h['data'], 1]) + b'\0' * 9
        struct.pack_into(self.o + 'HHIQQQIHHHHHH', out, 16, 1, self.machine, 1, 0, 0, h['shoff'], 0, 64, 0, 0,
                         h['shentsize'], h['shnum'], h['shstrndx'])
        return bytes(out)


def btf_ext(order='<', func=(), line=(), core=(), hdr_len=32, rec=None, patch=None):
    """A .BTF.ext blob. func/line/core: [(sec_name_off, [record tuples])]; rec overrides record sizes."""
    rec = rec or {}
    subs = []
    for recs, size, key in ((func, 8, 'func'), (line, 16, 'line'), (core, 16, 'core')):
        if not recs:
            subs.append(b'')
            continue
        size = rec.get(key, size)
        d = struct.pack(order + 'I', size)
        for name_off, rs in recs:
            d += struct.pack(order + 'II', name_off, len(rs))
            for r in rs:
                d += struct.pack(order + '%dI' % len(r), *r) + b'\0' * (size - 4 * len(r) if size < 4096 else 0)
        subs.append(d)
    body, offs = b'', []
    for s in subs:
        offs.append((len(body), len(s)))
        body += s
    h = dict(magic=BTF_MAGIC, version=1, flags=0, hdr_len=hdr_len, func_off=offs[0][0], func_len=offs[0][1],
             line_off=offs[1][0], line_len=offs[1][1], core_off=offs[2][0], core_len=offs[2][1])
    h.update(patch or {})
    hdr = struct.pack(order + 'HBBIIIIIII', h['magic'], h['version'], h['flags'], h['hdr_len'], h['func_off'],
                      h['func_len'], h['line_off'], h['line_len'], h['core_off'], h['core_len'])
    return (hdr + b'\0' * 32)[:hdr_len] if hdr_len <= 32 else hdr + b'\0' * (hdr_len - 32), body


def bpf_object(order='<', btf_patch=None, ext_args=None, ext_raw=None, with_ext=True, elf_fn=None):
    """A small BPF object: two programs in one section, a subprogram, .BTF and .BTF.ext with CO-RE relos."""
    b = Btf(order)
    i = b.int_('int', 4, 1)
    s = b.struct('task', 16, [('pid', i, 0), ('tgid', i, 32), ('comm', b.array(i, i, 2), 64)])
    p = b.ref('ptr', '', s)
    fp = b.func_proto(i, [('ctx', p)])
    b.ref('func', 'prog_a', fp, 1)
    b.ref('func', 'prog_b', fp, 1)
    sec_name = b.s('kprobe/x')
    acc = b.s('0:1')
    acc2 = b.s('0:2:1')
    src = b.s('x.c')
    line = b.s('return 0;')
    btf_bytes = b.build(**(btf_patch or {}))
    e = Elf(order)
    ld, mov, exit_ = (0x61, 0, 1, 4, 0), (0xb7, 0, 0, 0, 0), (0x95, 0, 0, 0, 0)
    x = e.program('kprobe/x', [ld, mov, exit_, ld, (0x79, 0, 1, 8, 0), exit_])
    t = e.program('.text', [mov, exit_])
    e.func('prog_a', x, 0, 24)
    e.func('prog_b', x, 24, 24)
    e.func('sub', t, 0, 16)
    e.section('license', SHT_PROGBITS, b'GPL\0', flags=SHF_ALLOC | 1, align=1)
    e.section('.BTF', SHT_PROGBITS, btf_bytes, align=4)
    if with_ext:
        args = dict(func=[(sec_name, [(0, 6), (24, 7)])], line=[(sec_name, [(0, src, line, (7 << 10) | 3)])],
                    core=[(sec_name, [(0, s, acc, 0), (32, s, acc2, 1)])])
        args.update(ext_args or {})
        hdr, body = btf_ext(order, **args)
        e.section('.BTF.ext', SHT_PROGBITS, ext_raw if ext_raw is not None else hdr + body, align=4)
    if elf_fn:
        elf_fn(e)
    return e.build()


# ---------------------------------------------------------------------------------------------------------
# The corpus


def hand_made():
    """(name, bytes) for every hand-made case."""
    out = []

    def add(name, data):
        out.append((name, bytes(data)))

    # --- raw BTF: header
    good = all_kinds().build()
    add('btf-all-kinds-le.ok', good)
    add('btf-all-kinds-be.ok', all_kinds('>').build())
    add('btf-empty-input.truncated', b'')
    add('btf-header-23-bytes.truncated', good[:23])
    add('btf-header-only.bad_header', Btf().build(str_len=0))
    add('btf-bad-magic.bad_magic', b'\x9e\xeb' + good[2:])
    add('btf-version-2.unsupported', good[:2] + b'\x02' + good[3:])
    add('btf-hdr-len-8.bad_header', all_kinds().build(hdr_len=8))
    add('btf-hdr-len-past-end.truncated', struct.pack('<HBBI', BTF_MAGIC, 1, 0, 0x7fffffff) + good[8:])
    add('btf-hdr-len-32-zero-tail.ok', all_kinds().build(hdr_len=32))
    # --- raw BTF that fuzz_btf_write's round trip must keep: fields the typed adds do not write (copy_type
    # writes them), strings stored twice or never used, enum extremes, a gap before the strings
    for order, suffix in (('<', 'le'), ('>', 'be')):
        b = Btf(order)
        i = b.int_('int', 4, 1)
        b.ref('ptr', 'named_ptr', i)
        b.int_('high_encoding_bits', 4, 0x11)
        b.head('fwd_sized', K['fwd'], st=8); b.done()
        b.head('kflag_typedef', K['typedef'], 0, True, i); b.done()
        b.head('', K['ptr'], 3, False, i); b.done()
        b.head('named_array', K['array'], 0, False, 4); b.u32(i, i, 2); b.done()
        b.decl_tag('tag_minus_2', i, 0xfffffffe)
        b.raw(0, (K['const'] << 24) | (1 << 16), i)
        b.raw(0, (K['volatile'] << 24) | (1 << 29), i)
        add('btf-write-untyped-fields-%s.ok' % suffix, b.build())
    b = Btf()
    i = b.int_('int', 4, 1)
    b.int_('int', 4, 1)
    b.s('unused')
    b.struct('s', 4, [('int', i, 0)])
    add('btf-write-strings-repeated-and-unused.ok', b.build())
    b = Btf()
    b.enum('se', 4, [('MIN', 0x80000000), ('M1', 0xffffffff)], signed=True)
    b.enum('ue', 4, [('MAX', 0xffffffff)])
    b.enum64('se64', 8, [('NEG', (1 << 64) - 1)], signed=True)
    add('btf-write-enum-extremes.ok', b.build())
    b = all_kinds()
    gap = b.build(str_off=len(b.types) + 4)
    add('btf-write-gap-before-strings.ok', gap[:24 + len(b.types)] + b'\0' * 4 + gap[24 + len(b.types):])
    long_hdr = bytearray(all_kinds().build(hdr_len=32))
    long_hdr[30] = 1
    add('btf-hdr-len-32-nonzero-tail.unsupported', long_hdr)
    n = len(all_kinds().types)
    add('btf-str-past-end.truncated', all_kinds().build(str_len=0xffffffff))
    add('btf-str-off-past-end.truncated', all_kinds().build(str_off=0xfffffff0))
    add('btf-type-len-past-end.truncated', all_kinds().build(type_len=0xfffffffc))
    add('btf-type-off-huge.truncated', all_kinds().build(type_off=0xfffffffc))
    add('btf-type-overlaps-strings.bad_header', all_kinds().build(str_off=n - 4, str_len=len(all_kinds().strings) + 4))
    add('btf-strings-before-types.bad_header', all_kinds().build(type_off=4, type_len=n - 4, str_off=0))
    add('btf-type-off-misaligned.bad_header', all_kinds().build(type_off=2, type_len=n - 4))
    add('btf-type-len-not-multiple-of-4.bad_header', all_kinds().build(type_len=n - 2))
    add('btf-str-empty.bad_header', all_kinds().build(str_len=0))
    add('btf-str-not-nul-terminated.bad_string', good[:-1] + b'x')
    b = Btf()
    b.int_('int', 4)
    add('btf-str-not-starting-with-nul.bad_string', b.build(str_off=len(b.types) + 1, str_len=len(b.strings) - 1))
    # --- raw BTF: records
    b = Btf(); b.raw(0, 0 << 24, 0)
    add('btf-kind-0.bad_kind', b.build())
    b = Btf(); b.raw(0, 20 << 24, 0)
    add('btf-kind-20.bad_kind', b.build())
    b = Btf(); b.raw(0, 31 << 24, 0)
    add('btf-kind-31.bad_kind', b.build())
    b = Btf(); b.int_('int', 4); b.raw(0, (K['struct'] << 24) | 0xffff, 8)
    add('btf-struct-vlen-65535.truncated', b.build())
    b = Btf(); b.raw(0, (K['enum'] << 24) | 0xffff, 4)
    add('btf-enum-vlen-65535.truncated', b.build())
    b = Btf(); b.raw(0, (K['func_proto'] << 24) | 0xffff, 0)
    add('btf-func-proto-vlen-65535.truncated', b.build())
    b = Btf(); b.raw(0, (K['datasec'] << 24) | 0xffff, 0)
    add('btf-datasec-vlen-65535.truncated', b.build())
    b = Btf(); b.int_('int', 4); b.struct('s', 8, [('a', 1, 0)], vlen=2)
    add('btf-struct-vlen-one-short.truncated', b.build())
    b = Btf(); b.int_('int', 4)
    add('btf-int-record-cut.truncated', b.build(type_len=12, str_off=16))
    b = Btf(); b.raw(0, K['int'] << 24)
    add('btf-type-header-cut.truncated', b.build())
    b = Btf(); b.int_(0x1000, 4)
    add('btf-name-off-past-strings.bad_string', b.build())
    b = Btf(); b.int_('int', 4); b.struct('s', 4, [(0x1000, 1, 0)])
    add('btf-member-name-past-strings.bad_string', b.build())
    b = Btf(); b.int_('int', 4); b.struct('s', 4, [('a', 1, 0), ('b', 99, 0)])
    add('btf-member-type-past-end.bad_type_id', b.build())
    b = Btf(); b.enum('e', 4, [('A', 1), (0x1000, 2)])
    add('btf-enumerator-name-past-strings.bad_string', b.build())
    b = Btf(); b.enum64('e', 8, [(0x1000, 2)])
    add('btf-enum64-name-past-strings.bad_string', b.build())
    b = Btf(); b.int_('int', 4); b.func_proto(1, [('a', 1), ('b', 7)])
    add('btf-param-type-past-end.bad_type_id', b.build())
    b = Btf(); b.int_('int', 4); b.func_proto(1, [(0x1000, 1)])
    add('btf-param-name-past-strings.bad_string', b.build())
    b = Btf(); b.func_proto(9, [])
    add('btf-return-type-past-end.bad_type_id', b.build())
    b = Btf(); b.int_('int', 4); b.datasec('.data', 4, [(5, 0, 4)])
    add('btf-datasec-var-past-end.bad_type_id', b.build())
    b = Btf(); b.int_('int', 4); b.array(7, 1, 2)
    add('btf-array-elem-past-end.bad_type_id', b.build())
    b = Btf(); b.int_('int', 4); b.array(1, 7, 2)
    add('btf-array-index-past-end.bad_type_id', b.build())
    for kind in ('ptr', 'typedef', 'volatile', 'const', 'restrict', 'func', 'type_tag'):
        b = Btf(); b.ref(kind, 'r' if kind in ('typedef', 'func', 'type_tag') else '', 0x7fffffff)
        add('btf-%s-ref-past-end.bad_type_id' % kind, b.build())
    b = Btf(); b.var('v', 3)
    add('btf-var-ref-past-end.bad_type_id', b.build())
    b = Btf(); b.decl_tag('t', 3, -1)
    add('btf-decl-tag-ref-past-end.bad_type_id', b.build())
    b = Btf(); b.int_('int', 4, bits=129)
    add('btf-int-129-bits.bad_header', b.build())
    b = Btf(); b.int_('int', 16, bits=100, off=100)
    add('btf-int-bits-plus-offset-200.bad_header', b.build())
    b = Btf(); b.raw(0, K['int'] << 24, 0xffffffff, 0xffffffff)
    add('btf-int-all-ones.bad_header', b.build())
    # --- raw BTF: type graphs that loop or go deep (parse accepts them; the walks must stop)
    b = Btf(); b.ref('typedef', 'a', 2); b.ref('const', '', 1)
    add('btf-loop-typedef-const.ok', b.build())
    b = Btf(); b.ref('typedef', 'self', 1)
    add('btf-loop-typedef-self.ok', b.build())
    b = Btf(); b.ref('volatile', '', 2); b.ref('restrict', '', 3); b.ref('type_tag', 't', 4); b.ref('const', '', 1)
    add('btf-loop-four-modifiers.ok', b.build())
    b = Btf(); i = b.int_('int', 4); b.array(2, i, 3)
    add('btf-loop-array-of-itself.ok', b.build())
    b = Btf(); i = b.int_('int', 4); b.array(3, i, 0); b.ref('typedef', 'arr_t', 2)
    add('btf-loop-array-typedef-zero-elems.ok', b.build())
    b = Btf(); i = b.int_('int', 4); b.struct('node', 8, [('next', 3, 0)]); b.array(2, i, 1)
    add('btf-struct-containing-array-of-itself.ok', b.build())
    b = Btf(); b.var('v', 2); b.ref('typedef', 't', 1)
    add('btf-loop-var-typedef.ok', b.build())
    b = Btf(); b.decl_tag('t', 1, -1)
    add('btf-loop-decl-tag-self.ok', b.build())
    b = Btf(); i = b.int_('int', 4)
    for k in range(40):
        i = b.ref('typedef', 't%d' % k, i)
    add('btf-deep-typedef-chain-40.ok', b.build())
    b = Btf(); i = b.int_('int', 4)
    for k in range(40):
        i = b.array(i, 1, 2)
    add('btf-deep-array-chain-40.ok', b.build())
    b = Btf(); i = b.int_('int', 4)
    for k in range(2000):
        i = b.ref(('const', 'volatile', 'typedef')[k % 3], 'x' if k % 3 == 2 else '', i)
    add('btf-deep-modifier-chain-2000.ok', b.build())
    b = Btf(); i = b.int_('int', 4); b.array(b.array(i, i, 0xffffffff), i, 0xffffffff)
    add('btf-array-size-overflow.ok', b.build())
    b = Btf(); s = b.struct('big', 0xffffffff, []); b.array(s, s, 2)
    add('btf-array-of-huge-struct.ok', b.build())
    b = Btf(); f = b.head('fw', K['fwd']); f = b.done(); b.array(f, f, 2); b.ref('typedef', 'fp', b.func_proto(0, []))
    add('btf-sizeless-kinds.ok', b.build())
    b = Btf(); i = b.int_('int', 4); b.struct('wide', 4, [(0, i, 0)] * 5000)
    add('btf-struct-5000-members.ok', b.build())

    # --- split BTF over the synthetic base (fuzz_btf_split mode 0)
    def split(order='<'):
        return Btf(order, SYNTH_TYPES, SYNTH_STRINGS)

    s = split(); s.struct('own', 8, [('a', 1, 0), ('b', 27, 32)]); s.ref('ptr', '', 26); s.ref('typedef', 'tt', 21)
    add('split0-refs-base-and-own.ok', b'\0' + s.build())
    s = split('>'); s.struct('own', 8, [('a', 1, 0)]); s.ref('ptr', '', 26)
    add('split0-big-endian.ok', b'\0' + s.build())
    s = split(); s.raw(0, K['typedef'] << 24, 5)
    add('split0-no-strings.ok', b'\0' + s.build())
    s = split(); s.raw(5, K['typedef'] << 24, 5)
    add('split0-name-in-base.ok', b'\0' + s.build())
    s = split(); s.int_(SYNTH_STRINGS + 100, 4)
    add('split0-name-past-strings.bad_string', b'\0' + s.build())
    s = split(); s.ref('ptr', '', SYNTH_TYPES + 1)
    add('split0-ref-past-end.bad_type_id', b'\0' + s.build())
    s = split(); s.ref('typedef', 'into_loop', 21); s.ref('const', '', 23); s.ref('typedef', 't', 24)
    add('split0-refs-into-base-loops.ok', b'\0' + s.build())
    s = split(); s.ref('ptr', '', 26)
    add('split0-header-cut.truncated', b'\0' + s.build()[:20])
    add('split0-bad-magic.bad_magic', b'\0' + b'\0\0' + s.build()[2:])
    s = split(); s.struct('s', 8, [('a', 1, 0)], vlen=300)
    add('split0-vlen-past-end.truncated', b'\0' + s.build())
    # mode 1: a fuzzed base: u16 length, base, split
    base = Btf(); base.int_('int', 4); base.ref('typedef', 'a', 3); base.ref('const', '', 2)
    bb = base.build()
    s = Btf('<', base.next_id, len(base.strings)); s.ref('ptr', '', 2); s.ref('typedef', 'x', 4)
    add('split1-own-base.ok', b'\1' + struct.pack('<H', len(bb)) + bb + s.build())
    s = Btf('>', base.next_id, len(base.strings)); s.ref('ptr', '', 2)
    add('split1-byte-order-differs.bad_header', b'\1' + struct.pack('<H', len(bb)) + bb + s.build())
    add('split1-base-broken.any', b'\1' + struct.pack('<H', 10) + bb[:10] + s.build())
    # mode 3: split over split
    mid = split(); mid.ref('ptr', '', 1); mid.ref('typedef', 'm', 26)
    mb = mid.build()
    last = Btf('<', mid.next_id, SYNTH_STRINGS + len(mid.strings)); last.ref('ptr', '', 27); last.int_(SYNTH_STRINGS + 1, 4)
    add('split3-split-over-split.ok', b'\3' + struct.pack('<H', len(mb)) + mb + last.build())
    last = Btf('>', mid.next_id, SYNTH_STRINGS + len(mid.strings)); last.ref('ptr', '', 27)
    add('split3-byte-order-differs.any', b'\3' + struct.pack('<H', len(mb)) + mb + last.build())

    # --- ELF
    obj = bpf_object()
    add('obj-small-valid-le.ok', obj)
    add('obj-small-valid-be.ok', bpf_object('>'))
    add('elf-magic-only.truncated', b'\x7fELF')
    add('elf-header-63-bytes.truncated', obj[:63])
    add('elf-not-elf.bad_magic', b'\x7fELG' + obj[4:])
    add('elf-class-32.unsupported', obj[:4] + b'\x01' + obj[5:])
    add('elf-data-encoding-3.bad_header', obj[:5] + b'\x03' + obj[6:])

    def elf_with(order='<', hdr=None, fn=None):
        e = Elf(order)
        e.section('data', SHT_PROGBITS, b'payload\0')
        if fn:
            fn(e)
        e.hdr_patch = hdr or {}
        return e.build()

    add('elf-no-section-headers.ok', elf_with(hdr=dict(shoff=0)))
    add('elf-shentsize-32.bad_header', elf_with(hdr=dict(shentsize=32)))
    add('elf-shoff-past-end.truncated', elf_with(hdr=dict(shoff=1 << 40)))
    add('elf-shoff-max.truncated', elf_with(hdr=dict(shoff=0xffffffffffffffff)))
    add('elf-shnum-past-end.truncated', elf_with(hdr=dict(shnum=0xfff0)))
    ext = bytearray(elf_with(hdr=dict(shnum=0)))
    shoff, = struct.unpack_from('<Q', ext, 40)
    struct.pack_into('<Q', ext, shoff + 32, 3)  # extended numbering: count in section 0's sh_size
    add('elf-extended-shnum.ok', ext)
    struct.pack_into('<Q', ext, shoff + 32, 1 << 62)
    add('elf-extended-shnum-huge.truncated', ext)
    ext = bytearray(elf_with(hdr=dict(shstrndx=0xffff)))
    struct.pack_into('<I', ext, struct.unpack_from('<Q', ext, 40)[0] + 40, 2)  # real index in section 0's sh_link
    add('elf-shstrndx-extended.ok', ext)
    struct.pack_into('<I', ext, struct.unpack_from('<Q', ext, 40)[0] + 40, 0xfffffff0)
    add('elf-shstrndx-extended-past-end.out_of_range', ext)
    add('elf-shstrndx-past-end.out_of_range', elf_with(hdr=dict(shstrndx=99)))
    add('elf-section-past-end.truncated', elf_with(fn=lambda e: e.section('big', SHT_PROGBITS, b'x', size=1 << 20)))
    add('elf-section-offset-wraps.truncated',
        elf_with(fn=lambda e: e.section('wrap', SHT_PROGBITS, b'x', offset=0xffffffffffffff00, size=0x200)))
    add('elf-nobits-huge.ok', elf_with(fn=lambda e: e.section('.bss', SHT_NOBITS, b'', offset=1 << 50, size=1 << 60)))
    add('elf-symtab-size-25.bad_header', elf_with(fn=lambda e: e.section('.symtab', SHT_SYMTAB, b'\0' * 25)))
    add('elf-rel-size-17.bad_header', elf_with(fn=lambda e: e.section('.rel', SHT_REL, b'\0' * 17)))
    add('elf-rela-size-23.bad_header', elf_with(fn=lambda e: e.section('.rela', SHT_RELA, b'\0' * 23)))
    add('elf-rela-valid.ok', elf_with(fn=lambda e: e.section('.rela', SHT_RELA, struct.pack('<QQq', 8, (1 << 32) | 1, -4))))
    add('elf-symtab-link-past-end.ok', elf_with(fn=lambda e: e.section('.symtab', SHT_SYMTAB, b'\0' * 48, link=77)))
    add('elf-section-name-past-shstrtab.ok', elf_with(fn=lambda e: e.section('n', SHT_PROGBITS, b'x', name=0xffffff)))
    add('elf-shstrtab-nobits.ok', elf_with(fn=lambda e: e.section('nb', SHT_NOBITS, b''), hdr=dict(shstrndx=2)))
    add('elf-shstrtab-unterminated.ok', elf_with(fn=lambda e: e.section('u', SHT_STRTAB, b'abc'), hdr=dict(shstrndx=2)))
    add('elf-big-endian.ok', elf_with('>'))
    # F1 (fixed in b207ec9): SHT_NULL sections skipped the bounds check but served as name tables and data.
    add('elf-null-shstrtab-out-of-bounds.truncated',
        elf_with(fn=lambda e: e.section('', SHT_NULL, b'', offset=0x10000000, size=0x100), hdr=dict(shstrndx=2)))
    add('obj-null-btf-out-of-bounds.truncated', elf_with(fn=lambda e: e.section('.BTF', SHT_NULL, b'', offset=1 << 20, size=64)))
    add('obj-null-strtab-out-of-bounds.truncated', bpf_object(elf_fn=lambda e: e.strtab_patch.update(type=SHT_NULL, offset=1 << 33)))
    # F4 (fixed in 4aa61c0): section 0 was exempt from the bounds check whatever its type, yet its data was used.
    def sec0(e, **f):
        e.sec0.update(f)

    add('elf-section0-progbits-out-of-bounds.ok',
        elf_with(fn=lambda e: sec0(e, type=SHT_PROGBITS, offset=0xfffffffff0000000, size=0x1000)))
    add('obj-section0-named-btf-out-of-bounds.truncated',
        elf_with(fn=lambda e: sec0(e, name_of=e.section('.BTF', SHT_NOBITS, b''), type=SHT_PROGBITS, offset=1 << 20, size=64)))
    add('obj-symtab-links-section0-out-of-bounds.ok',
        bpf_object(elf_fn=lambda e: (sec0(e, type=SHT_STRTAB, offset=1 << 33, size=64), e.symtab_patch.update(link=0))))
    # BPF objects: programs and symbols
    add('obj-no-btf.ok', bpf_object(with_ext=False, btf_patch=None).replace(b'.BTF\0', b'.XTF\0'))
    add('obj-btf-broken.bad_string', bpf_object(btf_patch=dict(str_len=1)))
    add('obj-btf-nobits.truncated', elf_with(fn=lambda e: e.section('.BTF', SHT_NOBITS, b'')))
    add('obj-ext-without-btf.not_found', elf_with(fn=lambda e: e.section('.BTF.ext', SHT_PROGBITS, b'\0' * 32)))

    def syms(fn):
        def f(e):
            fn(e)
        return bpf_object(elf_fn=f)

    add('obj-func-symbol-past-section-end.ok', syms(lambda e: e.func('far', 1, 40, 16)))
    add('obj-func-symbol-misaligned.ok', syms(lambda e: e.func('odd', 1, 4, 8)))
    add('obj-func-symbol-value-huge.ok', syms(lambda e: e.func('huge', 1, 0xfffffffffffffff8, 16)))
    add('obj-func-symbol-shndx-past-end.ok', syms(lambda e: e.func('nowhere', 0xfe00, 0, 8)))
    add('obj-func-symbol-shndx-reserved.ok', syms(lambda e: e.func('abs', 0xfff1, 0, 8)))
    add('obj-func-symbol-in-nobits.ok', syms(lambda e: e.func('bss', e.section('.bss', SHT_NOBITS, b'', flags=6), 0, 8)))
    # .BTF.ext header and subsections
    add('obj-ext-8-bytes.bad_header', bpf_object(ext_raw=b'\x9f\xeb\x01\x00\x18\x00\x00\x00'))
    add('obj-ext-7-bytes.truncated', bpf_object(ext_raw=b'\x9f\xeb\x01\x00\x18\x00\x00'))
    add('obj-ext-bad-magic.bad_magic', bpf_object(ext_args=None, ext_raw=b'\x00\x00\x01\x00' + b'\0' * 28))
    add('obj-ext-version-2.unsupported', bpf_object(ext_raw=b'\x9f\xeb\x02\x00\x20\x00\x00\x00' + b'\0' * 24))
    add('obj-ext-hdr-len-16.bad_header', bpf_object(ext_raw=b'\x9f\xeb\x01\x00\x10\x00\x00\x00' + b'\0' * 24))
    add('obj-ext-hdr-len-past-end.bad_header', bpf_object(ext_raw=b'\x9f\xeb\x01\x00\xff\x00\x00\x00' + b'\0' * 24))
    hdr, body = btf_ext(hdr_len=24, func=[(1, [(0, 5)])])
    add('obj-ext-hdr-len-24-no-core.ok', bpf_object(ext_raw=hdr + body))
    add('obj-ext-func-past-end.truncated', bpf_object(ext_args=dict(patch=dict(func_len=0xfffffff0))))
    add('obj-ext-core-off-past-end.truncated', bpf_object(ext_args=dict(patch=dict(core_off=0xffffff00))))
    add('obj-ext-line-misaligned.bad_header', bpf_object(ext_args=dict(patch=dict(line_off=2, line_len=4))))
    add('obj-ext-func-len-2.truncated', bpf_object(ext_args=dict(patch=dict(func_len=2))))
    add('obj-ext-func-no-blocks.bad_header', bpf_object(ext_args=dict(patch=dict(func_len=4))))
    add('obj-ext-func-rec-size-4.bad_header', bpf_object(ext_args=dict(rec=dict(func=4))))
    add('obj-ext-line-rec-size-18.bad_header', bpf_object(ext_args=dict(rec=dict(line=18))))
    add('obj-ext-core-rec-size-huge.truncated', bpf_object(ext_args=dict(rec=dict(core=0xfffffffc))))
    add('obj-ext-core-rec-size-20.ok', bpf_object(ext_args=dict(rec=dict(core=20))))
    add('obj-ext-func-block-header-cut.truncated', bpf_object(ext_args=dict(patch=dict(func_len=4 + 8 + 8 + 8 + 4))))
    add('obj-ext-func-block-name-past-strings.bad_string', bpf_object(ext_args=dict(func=[(0x10000, [(0, 5)])])))
    add('obj-ext-func-block-name-empty.bad_string', bpf_object(ext_args=dict(func=[(0, [(0, 5)])])))
    add('obj-ext-func-block-no-records.bad_header', bpf_object(ext_args=dict(func=[(1, [])])))
    add('obj-ext-func-block-name-not-a-section.ok', bpf_object(ext_args=dict(func=[(1, [(0, 5)])])))
    add('obj-ext-core-insn-off-misaligned.bad_header', bpf_object(ext_args=dict(core=[(1, [(4, 2, 1, 0)])])))
    add('obj-ext-core-type-id-past-end.bad_type_id', bpf_object(ext_args=dict(core=[(1, [(0, 0x7fffffff, 1, 0)])])))
    add('obj-ext-core-access-past-strings.bad_string', bpf_object(ext_args=dict(core=[(1, [(0, 2, 0xfffff, 0)])])))
    add('obj-ext-core-kind-unknown.ok', bpf_object(ext_args=dict(core=[(1, [(0, 2, 1, 0xffffffff)])])))
    add('obj-ext-core-insn-off-past-section.ok', bpf_object(ext_args=dict(core=[(1, [(1 << 20, 2, 1, 0)])])))
    return out


def real_variants(objs):
    """Truncations and corruptions of two small real objects (libbpf-tools 0.26.0)."""
    out = []
    # bashreadline: cuts and broken section headers.
    data = open(os.path.join(objs, 'bashreadline.bpf.o'), 'rb').read()
    secs = read_elf(data)
    shoff, = struct.unpack_from('<Q', data, 40)
    cuts = sorted({shoff + 64 * k + 13 for k in range(0, len(secs), 3)} |
                  {s['offset'] + s['size'] // 2 for s in secs if s['size']})
    for c in cuts:
        if c < len(data):
            out.append(('obj-bashreadline-cut-at-%d.err' % c, data[:c]))
    for s in secs[1:]:
        h = shoff + 64 * s['index']
        tag = s['name'].lstrip('.').replace('/', '_').replace('.', '_')
        checked = 'err' if s['type'] not in (SHT_NULL, SHT_NOBITS) else 'any'
        for field, at, val, fmt in (('size-huge', 32, 0xffffffffffffff00, '<Q'), ('offset-huge', 24, 0xfffffffffffffff0, '<Q'),
                                    ('link-huge', 40, 0xffff, '<I'), ('type-null', 4, SHT_NULL, '<I')):
            d = bytearray(data)
            struct.pack_into(fmt, d, h + at, val)
            out.append(('obj-bashreadline-%s-%s.%s' % (tag, field, checked if field.endswith('huge') and field != 'link-huge' else 'any'), d))
    # biopattern (CO-RE relocations): .BTF and .BTF.ext headers, flipped bytes, the raw .BTF cut short.
    data = open(os.path.join(objs, 'biopattern.bpf.o'), 'rb').read()
    secs = read_elf(data)
    for sname, words in (('.BTF', range(1, 6)), ('.BTF.ext', range(1, 8))):
        s = next(x for x in secs if x['name'] == sname)
        tag = sname[1:].replace('.', '_')
        for w in words:
            for val, vtag in ((0xffffffff, 'ones'), (0, 'zero'), (0x7ffffffc, 'big')):
                d = bytearray(data)
                struct.pack_into('<I', d, s['offset'] + 4 * w, val)
                out.append(('obj-biopattern-%s-word%d-%s.any' % (tag, w, vtag), d))
        for k in range(1, 9):
            d = bytearray(data)
            d[s['offset'] + (s['size'] * k) // 9] ^= 0xff
            out.append(('obj-biopattern-%s-flip-%d.any' % (tag, k), d))
    s = next(x for x in secs if x['name'] == '.BTF')
    raw = data[s['offset']:s['offset'] + s['size']]
    out.append(('btf-biopattern.ok', raw))
    for k in range(1, 9):
        c = 24 + (len(raw) - 24) * k // 9
        out.append(('btf-biopattern-cut-at-%d.err' % c, raw[:c]))
    return out


def many_blocks_many_sections(n):
    """F3's repro (too big to commit): n ELF sections and n one-record .BTF.ext func_info blocks naming
    a section that does not exist, so iterating the blocks scans every section for each block."""
    b = Btf()
    b.int_('int', 4)
    name = b.s('x')
    body = struct.pack('<I', 8) + b''.join(struct.pack('<IIII', name, 1, 0, 1) for _ in range(n))
    e = Elf()
    e.section('.BTF', SHT_PROGBITS, b.build(), align=4)
    e.section('.BTF.ext', SHT_PROGBITS, struct.pack('<HBBIIIIIII', BTF_MAGIC, 1, 0, 32, 0, len(body), 0, 0, 0, 0) + body, align=4)
    for _ in range(n):
        e.section('s', SHT_PROGBITS, b'', align=1)
    return e.build()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--objs', help='directory with bashreadline.bpf.o and biopattern.bpf.o')
    ap.add_argument('--out', default=HERE)
    ap.add_argument('--f3-repro', metavar='PATH', help='write only F3\'s repro (8000 sections and blocks) to PATH')
    a = ap.parse_args()
    if a.f3_repro:
        with open(a.f3_repro, 'wb') as f:
            f.write(many_blocks_many_sections(8000))
        return 0
    files = hand_made() + (real_variants(a.objs) if a.objs else [])
    names = set()
    for name, data in files:
        assert name not in names, name
        assert len(data) <= 65536, (name, len(data))
        names.add(name)
        with open(os.path.join(a.out, name), 'wb') as f:
            f.write(data)
    print('%d files written to %s' % (len(files), a.out))


if __name__ == '__main__':
    sys.exit(main())
