// The core parses in constant evaluation: every check here is a static_assert, repeated at run time.
#include <doctest/doctest.h>

#include "btfkit.hpp"
#include "blob_builder.hpp"

namespace {

using namespace btfkit;
using testing::blob_builder;

// struct s { int a; unsigned b:3; }; typedef struct s s_t; const s_t *p;
constexpr auto small_blob(byte_order order) {
    blob_builder b(order);
    const auto int_id = b.add_int("int", 4, int_signed);
    const auto uint_id = b.add_int("unsigned int", 4, 0);
    const auto s_id = b.add_struct("s", 8, true, {{"a", int_id, 0, 0}, {"b", uint_id, 32, 3}});
    const auto td = b.add_ref(kind::typedef_, "s_t", s_id);
    const auto c = b.add_ref(kind::const_, "", td);
    b.add_ref(kind::ptr, "", c);
    return b;
}

constexpr bool parses_small_blob(byte_order order) {
    const auto b = small_blob(order);
    const auto r = btf::parse(b.span());
    if (!r) return false;
    const btf& t = *r;
    if (t.type_count() != 7 || t.order() != order) return false;
    const type s = t[3];
    if (!s.is(kind::struct_) || s.name() != "s" || s.size() != 8 || s.vlen() != 2) return false;
    const member m1 = s.members()[1];
    if (t.string(m1.name_off) != "b" || m1.bit_offset != 32 || m1.bitfield_size != 3) return false;
    const auto skipped = t.skip_mods_and_typedefs(5);
    if (!skipped || skipped->id() != 3) return false;
    const auto sz = t.resolve_size(4);
    return sz && *sz == 8;
}

static_assert(parses_small_blob(byte_order::little));
static_assert(parses_small_blob(byte_order::big));

constexpr bool rejects_truncation() {
    const auto b = small_blob(byte_order::little);
    for (std::size_t n = 0; n < b.size(); ++n) {
        if (btf::parse(b.span().first(n))) return false;
    }
    return true;
}
static_assert(rejects_truncation());

constexpr errc error_of_bad_member_type() {
    blob_builder b(byte_order::little);
    b.add_struct("s", 4, false, {{"a", 99, 0, 0}});
    return btf::parse(b.span()).error().code;
}
static_assert(error_of_bad_member_type() == errc::bad_type_id);

constexpr errc error_of_typedef_loop() {
    blob_builder b(byte_order::little);
    b.add_ref(kind::typedef_, "a", 2);
    b.add_ref(kind::const_, "", 1);
    const auto r = btf::parse(b.span());
    if (!r) return errc::ok;
    return r->skip_mods_and_typedefs(1).error().code;
}
static_assert(error_of_typedef_loop() == errc::type_loop);

}  // namespace

TEST_CASE("constexpr checks hold at run time too") {
    CHECK(parses_small_blob(byte_order::little));
    CHECK(parses_small_blob(byte_order::big));
    CHECK(rejects_truncation());
    CHECK(error_of_bad_member_type() == errc::bad_type_id);
    CHECK(error_of_typedef_loop() == errc::type_loop);
}

// ---------------------------------------------------------------------------------------------
// A whole relocation in constant evaluation: a tiny BPF object (ELF, .BTF, .BTF.ext) relocated
// against a tiny target BTF.

#include "btfkit/core/relocate.hpp"
#include "btfkit.hpp"

namespace {

struct mini_object {
    std::vector<char> bytes;
};

constexpr void put_u16(std::vector<char>& v, std::size_t off, std::uint16_t x) { detail::store<std::uint16_t>(v.data() + off, x, byte_order::little); }
constexpr void put_u32(std::vector<char>& v, std::size_t off, std::uint32_t x) { detail::store<std::uint32_t>(v.data() + off, x, byte_order::little); }
constexpr void put_u64(std::vector<char>& v, std::size_t off, std::uint64_t x) { detail::store<std::uint64_t>(v.data() + off, x, byte_order::little); }
constexpr void append(std::vector<char>& v, byte_span s) { for (char c : s) v.push_back(c); }
constexpr void pad_to(std::vector<char>& v, std::size_t n) { while (v.size() < n) v.push_back(0); }

// Sections: [1] "prog" code, [2] .BTF, [3] .BTF.ext, [4] .symtab, [5] .strtab, [6] .shstrtab.
constexpr mini_object make_object(byte_span code, byte_span btf_blob, byte_span ext) {
    mini_object o;
    auto& v = o.bytes;
    pad_to(v, 64);
    v[0] = 0x7f; v[1] = 'E'; v[2] = 'L'; v[3] = 'F'; v[4] = 2; v[5] = 1; v[6] = 1;
    put_u16(v, 16, 1);
    put_u16(v, 18, elf_const::em_bpf);
    using namespace std::string_view_literals;
    constexpr std::string_view shstr = "\0prog\0.BTF\0.BTF.ext\0.symtab\0.strtab\0.shstrtab\0"sv;
    constexpr std::string_view strtab = "\0prog_fn\0"sv;
    struct sec { std::uint32_t name, type; std::uint64_t flags; std::size_t off = 0, size = 0; std::uint32_t link = 0; std::uint64_t entsize = 0; };
    sec secs[7] = {{}, {1, elf_const::sht_progbits, elf_const::shf_alloc | elf_const::shf_execinstr},
                   {6, elf_const::sht_progbits, 0}, {11, elf_const::sht_progbits, 0}, {20, elf_const::sht_symtab, 0},
                   {28, elf_const::sht_strtab, 0}, {36, elf_const::sht_strtab, 0}};
    auto add = [&](sec& s, byte_span data) { pad_to(v, (v.size() + 7) / 8 * 8); s.off = v.size(); s.size = data.size(); append(v, data); };
    add(secs[1], code);
    add(secs[2], btf_blob);
    add(secs[3], ext);
    std::vector<char> sym(48, 0);
    put_u32(sym, 24, 1);
    sym[28] = 0x12;  // GLOBAL FUNC
    put_u16(sym, 30, 1);
    put_u64(sym, 40, code.size());
    secs[4].link = 5;
    secs[4].entsize = 24;
    add(secs[4], byte_span(sym.data(), sym.size()));
    add(secs[5], byte_span(strtab.data(), strtab.size()));
    add(secs[6], byte_span(shstr.data(), shstr.size()));
    pad_to(v, (v.size() + 7) / 8 * 8);
    const std::size_t shoff = v.size();
    put_u64(v, 40, shoff);
    put_u16(v, 58, 64);
    put_u16(v, 60, 7);
    put_u16(v, 62, 6);
    pad_to(v, shoff + 7 * 64);
    for (std::size_t i = 1; i < 7; ++i) {
        const std::size_t h = shoff + 64 * i;
        put_u32(v, h, secs[i].name);
        put_u32(v, h + 4, secs[i].type);
        put_u64(v, h + 8, secs[i].flags);
        put_u64(v, h + 24, secs[i].off);
        put_u64(v, h + 32, secs[i].size);
        put_u32(v, h + 40, secs[i].link);
        put_u64(v, h + 56, secs[i].entsize);
    }
    return o;
}

constexpr std::vector<char> encode(std::initializer_list<insn> insns) {
    std::vector<char> v(insns.size() * 8, 0);
    std::size_t at = 0;
    for (const insn& i : insns) { encode_insn(v.data() + at, i, byte_order::little); at += 8; }
    return v;
}

// Local: struct s { int a; int b; }, struct gone { int z; }. Target: struct s { long x; int a; int b; }.
// insn 0: r1 = 4 (offset of s.b)        FIELD_BYTE_OFFSET "0:1"  -> 12
// insn 1: r2 = 1 (s.b exists)           FIELD_EXISTS "0:1"       -> 1
// insn 2: r3 = *(u32 *)(r1 + 0) (gone.z) FIELD_BYTE_OFFSET "0:0" -> poisoned
// insn 3-4: r4 = ldimm64 type id of s   TYPE_ID_TARGET "0"       -> target id of s
// insn 5: r5 = 8 (sizeof s)             TYPE_SIZE "0"            -> 16
struct relocated {
    insn out[6];
    std::uint32_t ok = 0, poisoned = 0, errors = 0;
    std::uint32_t target_s = 0;
};

// Through relocate_object (the ELF object), or through relocate_section from the raw .BTF and
// .BTF.ext bytes and the section's instructions alone (twice: the same bytes again continue the object).
enum class tiny_entry { object, section };

constexpr relocated relocate_tiny(tiny_entry entry = tiny_entry::object) {
    using testing::blob_builder;
    blob_builder local(byte_order::little);
    const auto l_int = local.add_int("int", 4, int_signed);
    const auto l_s = local.add_struct("s", 8, false, {{"a", l_int, 0, 0}, {"b", l_int, 32, 0}});
    const auto l_gone = local.add_struct("gone", 4, false, {{"z", l_int, 0, 0}});
    const auto sec_name = local.add_string("prog");
    const auto acc01 = local.add_string("0:1");
    const auto acc00 = local.add_string("0:0");
    const auto acc0 = local.add_string("0");

    blob_builder target(byte_order::little);
    const auto t_long = target.add_int("long", 8, int_signed);
    const auto t_int = target.add_int("int", 4, int_signed);
    const auto t_s = target.add_struct("s", 16, false, {{"x", t_long, 0, 0}, {"a", t_int, 64, 0}, {"b", t_int, 96, 0}});

    using namespace insn_const;
    const auto code = encode({
        insn{cls_alu64 | 0xb0, 1, 0, 0, 4},
        insn{cls_alu64 | 0xb0, 2, 0, 0, 1},
        insn{cls_ldx | size_w | 0x60, 3, 1, 0, 0},
        insn{ld_imm64, 4, 0, 0, static_cast<std::int32_t>(l_s)},
        insn{0, 0, 0, 0, 0},
        insn{cls_alu64 | 0xb0, 5, 0, 0, 8},
    });

    std::vector<char> ext(32, 0);
    put_u16(ext, 0, btf_magic);
    ext[2] = 1;
    put_u32(ext, 4, 32);         // hdr_len
    put_u32(ext, 24, 0);         // core_relo_off
    const std::uint32_t recs[][4] = {
        {0, l_s, acc01, static_cast<std::uint32_t>(relo_kind::field_byte_offset)},
        {8, l_s, acc01, static_cast<std::uint32_t>(relo_kind::field_exists)},
        {16, l_gone, acc00, static_cast<std::uint32_t>(relo_kind::field_byte_offset)},
        {24, l_s, acc0, static_cast<std::uint32_t>(relo_kind::type_id_target)},
        {40, l_s, acc0, static_cast<std::uint32_t>(relo_kind::type_size)},
    };
    const std::size_t core_len = 4 + 8 + 16 * std::size(recs);
    put_u32(ext, 28, static_cast<std::uint32_t>(core_len));
    pad_to(ext, 32 + core_len);
    put_u32(ext, 32, 16);
    put_u32(ext, 36, sec_name);
    put_u32(ext, 40, static_cast<std::uint32_t>(std::size(recs)));
    for (std::size_t r = 0; r < std::size(recs); ++r)
        for (std::size_t w = 0; w < 4; ++w) put_u32(ext, 44 + 16 * r + 4 * w, recs[r][w]);

    relocated out;
    auto tb = btf::parse(target.span());
    if (!tb) return out;
    const indexed_target tgt(*tb);
    relocation_scratch scratch;
    if (entry == tiny_entry::section) {
        std::vector<char> insns = code;
        result<relocation_summary> sum = relocation_summary{};
        for (int pass = 0; pass < 2 && sum; ++pass) {
            insns = code;
            sum = relocate_section("prog", std::span<char>(insns.data(), insns.size()), local.span(), byte_span(ext.data(), ext.size()), tgt,
                                   scratch, relocate_options{}, [](const relocation_report&) {});
        }
        if (!sum) return out;
        out.ok = sum->ok;
        out.poisoned = sum->poisoned;
        out.errors = sum->errors;
        out.target_s = t_s;
        for (std::uint32_t i = 0; i < 6; ++i) out.out[i] = decode_insn(insns.data() + 8 * i, byte_order::little);
        return out;
    }
    const auto obj_bytes = make_object(byte_span(code.data(), code.size()), local.span(), byte_span(ext.data(), ext.size()));
    auto obj = bpf_object::parse(byte_span(obj_bytes.bytes.data(), obj_bytes.bytes.size()));
    if (!obj) return out;
    std::vector<char> image = obj_bytes.bytes;
    auto sum = relocate_object(*obj, std::span<char>(image.data(), image.size()), tgt, scratch, relocate_options{}, [](const relocation_report&) {});
    if (!sum) return out;
    out.ok = sum->ok;
    out.poisoned = sum->poisoned;
    out.errors = sum->errors;
    out.target_s = t_s;
    const auto sec = obj->file().section(1);
    for (std::uint32_t i = 0; i < 6; ++i) out.out[i] = decode_insn(image.data() + sec.offset + 8 * i, byte_order::little);
    return out;
}

constexpr relocated tiny = relocate_tiny();
static_assert(tiny.ok == 4 && tiny.poisoned == 1 && tiny.errors == 0);
static_assert(tiny.out[0].imm == 12);                                  // offset of s.b moved from 4 to 12
static_assert(tiny.out[1].imm == 1);                                   // s.b exists
static_assert(tiny.out[2].code == (insn_const::cls_jmp | insn_const::op_call) && tiny.out[2].imm == insn_const::poison_imm);
static_assert(tiny.out[3].imm == static_cast<std::int32_t>(tiny.target_s) && tiny.out[4].imm == 0);  // vmlinux: upper 0
static_assert(tiny.out[5].imm == 16);                                  // sizeof(struct s) in the target

// The program-level entry point gives the object's bits from the section's bytes alone.
constexpr relocated tiny_section = relocate_tiny(tiny_entry::section);
static_assert(tiny_section.ok == tiny.ok && tiny_section.poisoned == tiny.poisoned && tiny_section.errors == 0);
static_assert(tiny_section.out[0] == tiny.out[0] && tiny_section.out[1] == tiny.out[1] && tiny_section.out[2] == tiny.out[2] &&
              tiny_section.out[3] == tiny.out[3] && tiny_section.out[4] == tiny.out[4] && tiny_section.out[5] == tiny.out[5]);

// The candidate-source concept, as the targets satisfy it (a const source too, when its lookups are const).
static_assert(candidate_source<single_target> && candidate_source<const single_target>);
static_assert(candidate_source<indexed_target> && candidate_source<const indexed_target>);
static_assert(candidate_source<target_set> && !candidate_source<const target_set>);  // its lookups open modules
static_assert(!candidate_source<int> && !candidate_source<btf>);

// The candidate rule, over every (local kind, local kflag, target kind, extension) combination: its
// properties, not a second copy of it.
template <class P>
constexpr bool for_all_kinds(P&& holds) {
    for (std::uint8_t l = 0; l <= kind_max; ++l)
        for (std::uint8_t f = 0; f < 2; ++f)
            for (std::uint8_t t = 0; t <= kind_max; ++t)
                for (int ext = 0; ext < 2; ++ext)
                    if (!holds(static_cast<kind>(l), f != 0, static_cast<kind>(t), ext != 0)) return false;
    return true;
}
constexpr bool candidate_rule_holds() {
    return for_all_kinds([](kind l, bool f, kind t, bool ext) {
        const int r = candidate_round(l, f, t, ext);
        // A round within the rounds the local kind has, and none past them.
        if (r < 0 || r > candidate_rounds_for(l, ext)) return false;
        // Without the extension, or for any local kind but FWD: libbpf's btf_kind_core_compat in round 1,
        // which is symmetric and a kind other than the local one only for ENUM vs ENUM64.
        if (!ext || l != kind::fwd) {
            if (r != candidate_round(t, f, l, ext) && (t != kind::fwd || !ext)) return false;
            if (r == 1 && l != t && !(is_any_enum_kind(l) && is_any_enum_kind(t))) return false;
            if (l == t && r != 1) return false;
        }
        // A target FWD never stands for a local STRUCT/UNION.
        if ((l == kind::struct_ || l == kind::union_) && t == kind::fwd && r != 0) return false;
        if (ext && l == kind::fwd) {
            // Complete types first: the STRUCT (kflag 0) or UNION (kflag 1) in round 1, a FWD only after.
            const kind complete = f ? kind::union_ : kind::struct_;
            if ((t == complete) != (r == 1)) return false;
            if ((t == kind::fwd) != (r == 2)) return false;
        }
        return true;
    });
}
static_assert(candidate_rule_holds());
static_assert(candidate_round(kind::fwd, false, kind::struct_, true) == 1 && candidate_round(kind::fwd, false, kind::fwd, true) == 2);
static_assert(candidate_round(kind::fwd, true, kind::struct_, true) == 0 && candidate_round(kind::fwd, false, kind::struct_, false) == 0);
static_assert(candidate_round(kind::enum_, false, kind::enum64, false) == 1 && candidate_round(kind::struct_, false, kind::fwd, true) == 0);

// The candidate stage over every local root kind: the single collector gives, for a tiny target,
// what the rule allows and in its order (a local FWD finds the struct, not the forward declaration).
constexpr bool collector_follows_rule() {
    blob_builder t(byte_order::little);
    const std::uint32_t t_int = t.add_int("s", 4, 0);  // a type of another kind, same name
    const std::uint32_t t_fwd = t.add_fwd("s", false);
    const std::uint32_t t_s = t.add_struct("s", 4, false, {{"a", t_int, 0, 0}});
    blob_builder l(byte_order::little);
    const std::uint32_t l_fwd = l.add_fwd("s", false);
    const std::uint32_t l_s = l.add_struct("s", 4, false, {});
    const std::uint32_t l_u = l.add_fwd("s", true);
    auto tb = btf::parse(t.span());
    auto lb = btf::parse(l.span());
    if (!tb || !lb) return false;
    const single_target src(*tb);
    relocate_options with, without;
    without.fwd_extension = false;
    auto ids = [&](std::uint32_t local, const relocate_options& o) {
        std::vector<candidate> out;
        (void)collect_candidates(src, (*lb)[local], "s", o, out);
        std::uint32_t packed = 0;
        for (const candidate& c : out) packed = packed * 16 + c.id;
        return packed;
    };
    return ids(l_fwd, with) == t_s && ids(l_fwd, without) == t_fwd && ids(l_s, with) == t_s && ids(l_u, with) == t_fwd &&
           ids(l_u, without) == t_fwd;
}
static_assert(collector_follows_rule());

static_assert(essential_name_len("task_struct___old") == 11 && essential_name_len("a___b___c") == 5 &&
              essential_name_len("x____y") == 6 && essential_name_len("___x") == 4 && essential_name_len("ab") == 2);

// ---- libbpf 1.1 against 1.7 (libbpf_compat): one relocation through every stage at each level ----

static_assert(!rules_of(libbpf_compat::v1_1).memsz_of_array_element && !rules_of(libbpf_compat::v1_1).signed_only_from_int);
static_assert(rules_of(libbpf_compat::v1_7).memsz_of_array_element && rules_of(libbpf_compat::v1_7).signed_only_from_int);
static_assert(relocate_options{}.compat == libbpf_compat::v1_7 && libbpf_compat_latest == libbpf_compat::v1_7);

struct one_relocation {
    bool ok = false, poisoned = false;
    insn out{};
};

// parse_spec -> match_spec -> calc_relo -> patch_insn for one site, with `compat`'s rules.
constexpr one_relocation relocate_one(const blob_builder& lb, std::uint32_t local_id, std::string_view access, relo_kind rk,
                                      const blob_builder& tb, std::uint32_t target_id, insn in, libbpf_compat compat) {
    one_relocation r;
    const auto l = btf::parse(lb.span());
    const auto t = btf::parse(tb.span());
    if (!l || !t) return r;
    core_spec ls, ts;
    if (!parse_spec(*l, local_id, access, rk, ls)) return r;
    const auto m = match_spec(ls, *t, target_id, ts, match_options{false});
    if (!m || !*m) return r;
    relo_res res{};
    if (!calc_relo(rk, ls, &ts, res, false, rules_of(compat))) return r;
    std::vector<char> code(8, 0);
    encode_insn(code.data(), in, l->order());
    const auto p = patch_insn(std::span<char>(code.data(), code.size()), l->order(), res);
    if (!p) return r;
    return {true, p->poisoned, p->after};
}

// struct cc { int x; int grow[5]; int widen[2]; } against struct cc { long pad; int x; int grow[8]; long widen[1]; },
// each array field read by a 4-byte load: libbpf d7a4ab15 (1.6) sizes the check by the element.
constexpr one_relocation array_field_load(std::string_view access, std::int16_t off, libbpf_compat compat) {
    blob_builder local(byte_order::little);
    const auto l_int = local.add_int("int", 4, int_signed);
    const auto l_grow = local.add_array(l_int, l_int, 5);
    const auto l_widen = local.add_array(l_int, l_int, 2);
    const auto l_cc = local.add_struct("cc", 32, false, {{"x", l_int, 0, 0}, {"grow", l_grow, 32, 0}, {"widen", l_widen, 192, 0}});
    blob_builder target(byte_order::little);
    const auto t_int = target.add_int("int", 4, int_signed);
    const auto t_long = target.add_int("long", 8, int_signed);
    const auto t_grow = target.add_array(t_int, t_int, 8);
    const auto t_widen = target.add_array(t_long, t_int, 1);
    const auto t_cc = target.add_struct("cc", 56, false, {{"pad", t_long, 0, 0}, {"x", t_int, 64, 0}, {"grow", t_grow, 96, 0},
                                                          {"widen", t_widen, 384, 0}});
    const insn ldx{static_cast<std::uint8_t>(insn_const::cls_ldx | insn_const::size_w | 0x60), 0, 1, off, 0};
    return relocate_one(local, l_cc, access, relo_kind::field_byte_offset, target, t_cc, ldx, compat);
}
// int grow[5] -> int[8]: 1.1 compares 20 with 32 bytes and poisons; 1.7 compares 4 with 4 and moves the offset.
static_assert(array_field_load("0:1", 4, libbpf_compat::v1_1).ok && array_field_load("0:1", 4, libbpf_compat::v1_1).poisoned);
static_assert(!array_field_load("0:1", 4, libbpf_compat::v1_7).poisoned && array_field_load("0:1", 4, libbpf_compat::v1_7).out.off == 12 &&
              (array_field_load("0:1", 4, libbpf_compat::v1_7).out.code & 0x18) == insn_const::size_w);
// int widen[2] -> long[1]: 1.1 sees 8 bytes both sides and moves the offset; 1.7 sees 4 against 8 and poisons.
static_assert(!array_field_load("0:2", 24, libbpf_compat::v1_1).poisoned && array_field_load("0:2", 24, libbpf_compat::v1_1).out.off == 48);
static_assert(array_field_load("0:2", 24, libbpf_compat::v1_7).ok && array_field_load("0:2", 24, libbpf_compat::v1_7).poisoned);

// FIELD_SIGNED of an unsigned enum field, against a target enum with no enumerators that is the last type:
// the 4 bytes after its header are the strings' first, "\0sig" (the struct's name comes first). libbpf 1.1
// reads them as an INT encoding: signed in little-endian ('g' = 0x67 has the signed bit), not in big-endian.
// libbpf b4c8def4 (1.3) reads INT encodings of INTs only.
constexpr std::int32_t enum_signedness(byte_order order, libbpf_compat compat) {
    blob_builder local(order);
    local.add_int("int", 4, int_signed);
    const auto l_e = local.add_enum("sg_e", 4, false, {{"SG_A", 1}});
    const auto l_s = local.add_struct("signed_s", 4, false, {{"e", l_e, 0, 0}});
    blob_builder target(order);
    const auto t_s = target.add_struct("signed_s", 4, false, {{"e", 3, 0, 0}});
    target.add_int("int", 4, int_signed);
    target.add_enum("sg_e", 4, false, {});
    const insn mov{static_cast<std::uint8_t>(insn_const::cls_alu64 | 0xb0), 0, 0, 0, 0};
    const auto r = relocate_one(local, l_s, "0:0", relo_kind::field_signed, target, t_s, mov, compat);
    return r.ok && !r.poisoned ? r.out.imm : -1;
}
static_assert(enum_signedness(byte_order::little, libbpf_compat::v1_1) == 1);
static_assert(enum_signedness(byte_order::little, libbpf_compat::v1_7) == 0);
static_assert(enum_signedness(byte_order::big, libbpf_compat::v1_1) == 0);
static_assert(enum_signedness(byte_order::big, libbpf_compat::v1_7) == 0);

}  // namespace

TEST_CASE("libbpf compatibility levels relocate the same at run time as in constant evaluation") {
    for (const auto c : {libbpf_compat::v1_1, libbpf_compat::v1_7}) {
        const bool newer = c == libbpf_compat::v1_7;
        CHECK(array_field_load("0:1", 4, c).poisoned == !newer);
        CHECK(array_field_load("0:2", 24, c).poisoned == newer);
        CHECK(enum_signedness(byte_order::little, c) == (newer ? 0 : 1));
        CHECK(enum_signedness(byte_order::big, c) == 0);
    }
    libbpf_compat c{};
    CHECK((parse_libbpf_compat("1.1", c) && c == libbpf_compat::v1_1));
    CHECK((parse_libbpf_compat("1.7", c) && c == libbpf_compat::v1_7 && to_string(c) == "1.7"));
    CHECK_FALSE(parse_libbpf_compat("1.2", c));
}

TEST_CASE("a tiny object relocates the same at run time as in constant evaluation") {
    const relocated r = relocate_tiny();
    CHECK(r.ok == tiny.ok);
    CHECK(r.poisoned == tiny.poisoned);
    for (int i = 0; i < 6; ++i) CHECK(r.out[i] == tiny.out[i]);
    const relocated sec = relocate_tiny(tiny_entry::section);
    CHECK(sec.ok == tiny.ok);
    CHECK(sec.poisoned == tiny.poisoned);
    for (int i = 0; i < 6; ++i) CHECK(sec.out[i] == tiny.out[i]);
    CHECK(candidate_rule_holds());
}
