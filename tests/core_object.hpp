// Hand-built BPF objects with CO-RE records, for relocation tests: programs from instruction lists,
// a local .BTF from blob_builder, .BTF.ext CO-RE records, in either byte order.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "blob_builder.hpp"
#include "btfkit/format/bpf_object.hpp"
#include "btfkit/bytes.hpp"
#include "btfkit/core/relo_rules.hpp"
#include "elf_builder.hpp"

namespace btfkit::testing {

// BPF instructions as clang emits them around CO-RE sites.
namespace asm_ {
inline constexpr std::uint8_t op_mov = 0xb0, mode_mem = 0x60, op_exit = 0x90;
[[nodiscard]] constexpr insn mov64_imm(std::uint8_t dst, std::int32_t imm) noexcept {
    return {static_cast<std::uint8_t>(insn_const::cls_alu64 | op_mov | insn_const::src_k), dst, 0, 0, imm};
}
[[nodiscard]] constexpr insn mov32_imm(std::uint8_t dst, std::int32_t imm) noexcept {
    return {static_cast<std::uint8_t>(insn_const::cls_alu | op_mov | insn_const::src_k), dst, 0, 0, imm};
}
[[nodiscard]] constexpr insn ldx(std::uint8_t size, std::uint8_t dst, std::uint8_t src, std::int16_t off) noexcept {
    return {static_cast<std::uint8_t>(insn_const::cls_ldx | size | mode_mem), dst, src, off, 0};
}
[[nodiscard]] constexpr insn stx(std::uint8_t size, std::uint8_t dst, std::uint8_t src, std::int16_t off) noexcept {
    return {static_cast<std::uint8_t>(insn_const::cls_stx | size | mode_mem), dst, src, off, 0};
}
[[nodiscard]] constexpr insn st_imm(std::uint8_t size, std::uint8_t dst, std::int16_t off, std::int32_t imm) noexcept {
    return {static_cast<std::uint8_t>(insn_const::cls_st | size | mode_mem), dst, 0, off, imm};
}
[[nodiscard]] constexpr insn exit() noexcept {
    return {static_cast<std::uint8_t>(insn_const::cls_jmp | op_exit), 0, 0, 0, 0};
}
// Appends both slots of `dst = value ll`.
inline void ldimm64(std::vector<insn>& out, std::uint8_t dst, std::uint64_t value) {
    out.push_back({insn_const::ld_imm64, dst, 0, 0, static_cast<std::int32_t>(static_cast<std::uint32_t>(value))});
    out.push_back({0, 0, 0, 0, static_cast<std::int32_t>(static_cast<std::uint32_t>(value >> 32))});
}
}  // namespace asm_

struct core_site {
    std::uint32_t insn = 0;  // index within the program's section
    std::uint32_t type_id = 0;
    std::string_view access{};
    relo_kind kind{};
};

// One program, alone in its section (so that section-relative and program-relative indices agree).
struct program_spec {
    std::string_view section;
    std::string_view name;
    std::vector<insn> insns;
    std::vector<core_site> sites;
};

// An ELF BPF object: one executable section and one global FUNC symbol per program, "license",
// `.BTF` = `local` plus the section names and access strings, `.BTF.ext` with the CO-RE records.
[[nodiscard]] inline std::vector<char> build_core_object(byte_order order, blob_builder local,
                                                         const std::vector<program_spec>& progs) {
    elf_builder elf(order);
    struct placed {
        std::uint32_t shndx, name_off;
    };
    std::vector<placed> where;
    for (const program_spec& p : progs) {
        where.push_back({elf.add_program_section(p.section, p.insns), local.add_string(p.section)});
    }
    // .BTF.ext: empty func_info and line_info, one core_relo block per program with records.
    // (btf_ext_builder takes records as an initializer_list; these come from vectors.)
    std::vector<char> core;
    put<std::uint32_t>(core, 0, 16, order);
    for (std::size_t i = 0; i < progs.size(); ++i) {
        if (progs[i].sites.empty()) continue;
        put<std::uint32_t>(core, core.size(), where[i].name_off, order);
        put<std::uint32_t>(core, core.size(), static_cast<std::uint32_t>(progs[i].sites.size()), order);
        for (const core_site& s : progs[i].sites) {
            put<std::uint32_t>(core, core.size(), s.insn * 8u, order);
            put<std::uint32_t>(core, core.size(), s.type_id, order);
            put<std::uint32_t>(core, core.size(), local.add_string(s.access), order);
            put<std::uint32_t>(core, core.size(), static_cast<std::uint32_t>(s.kind), order);
        }
    }
    if (core.size() == 4) core.clear();
    std::vector<char> ext_blob(32, '\0');
    put<std::uint16_t>(ext_blob, 0, btf_magic, order);
    ext_blob[2] = 1;
    put<std::uint32_t>(ext_blob, 4, 32, order);
    put<std::uint32_t>(ext_blob, 28, static_cast<std::uint32_t>(core.size()), order);
    ext_blob.insert(ext_blob.end(), core.begin(), core.end());
    const std::string_view license{"GPL\0", 4};
    elf.add_progbits("license", byte_span{license.data(), license.size()}, elf_const::shf_alloc);
    elf.add_progbits(".BTF", local.span());
    elf.add_progbits(".BTF.ext", byte_span{ext_blob.data(), ext_blob.size()});
    for (std::size_t i = 0; i < progs.size(); ++i) {
        elf.add_func(progs[i].name, static_cast<std::uint16_t>(where[i].shndx), 0, progs[i].insns.size() * 8);
    }
    return elf.build();
}

// Writes `data` to `path`; false on failure.
inline bool write_bytes(const std::string& path, byte_span data) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) return false;
    const bool ok = std::fwrite(data.data(), 1, data.size(), f) == data.size();
    return std::fclose(f) == 0 && ok;
}

// ---- Scenarios shared by the unit tests (unit/core/relocate) and the libbpf diff (test_differential) ----

// An object with its target BTF (raw), relocated against each other.
struct scenario {
    std::string name;            // file stem
    std::vector<char> object;
    std::vector<char> target;    // raw BTF
};

// Every relocation kind against a target without the local type names.
namespace zero_cands {
inline constexpr std::uint32_t int_id = 1, struct_id = 2, enum_id = 3;
// Instruction index of each site, by relocation kind (ldimm64 sites take two slots).
inline constexpr std::uint32_t insn_of[relo_kind_count] = {
    0,   // byte_off        ldx w r0, [r1 + 4]
    1,   // byte_sz         r0 = 4
    2,   // field_exists    r0 = 1
    3,   // signed          r0 = 1
    4,   // lshift_u64      r0 = 32
    5,   // rshift_u64      r0 = 32
    6,   // local_type_id   r0 = 2 ll
    8,   // target_type_id  r0 = 2 ll
    10,  // type_exists     r0 = 1
    11,  // type_size       r0 = 8
    13,  // enumval_exists  r0 = 1 ll
    15,  // enumval_value   r0 = 2 ll
    12,  // type_matches    r0 = 1
};
inline constexpr std::uint32_t ldimm64_byte_sz_insn = 17;  // byte_sz again, on an ldimm64

[[nodiscard]] inline scenario make(byte_order order) {
    using namespace asm_;
    blob_builder local(order);
    local.add_int("int", 4, int_signed);                                                  // 1
    local.add_struct("zc_missing", 8, false, {{"a", 1, 0, 0}, {"b", 1, 32, 0}});          // 2
    local.add_enum("zc_enum", 4, false, {{"ZC_A", 1}, {"ZC_B", 2}});                      // 3
    std::vector<insn> code{ldx(insn_const::size_w, 0, 1, 4), mov64_imm(0, 4), mov64_imm(0, 1), mov64_imm(0, 1),
                           mov64_imm(0, 32), mov64_imm(0, 32)};
    ldimm64(code, 0, struct_id);
    ldimm64(code, 0, struct_id);
    code.push_back(mov64_imm(0, 1));
    code.push_back(mov64_imm(0, 8));
    code.push_back(mov64_imm(0, 1));
    ldimm64(code, 0, 1);
    ldimm64(code, 0, 2);
    ldimm64(code, 0, 4);
    code.push_back(exit());
    std::vector<core_site> sites;
    for (std::uint32_t k = 0; k < relo_kind_count; ++k) {
        const auto rk = static_cast<relo_kind>(k);
        const bool enumval = is_enumval_based(rk);
        sites.push_back({insn_of[k], enumval ? enum_id : struct_id, is_type_based(rk) ? "0" : enumval ? "1" : "0:1", rk});
    }
    sites.push_back({ldimm64_byte_sz_insn, struct_id, "0:1", relo_kind::field_byte_size});
    blob_builder target(order);
    target.add_int("int", 4, int_signed);
    target.add_struct("zc_other", 4, false, {{"a", 1, 0, 0}});
    return {"zero_cands", build_core_object(order, local, {{"kprobe/zc", "zc_prog", code, sites}}), target.bytes()};
}
}  // namespace zero_cands

// Local FWDs (struct foo, union bar, union qux) and a local STRUCT baz against complete or forward
// target types. `target_has_fwd_foo` adds a FWD foo before STRUCT foo in the target.
namespace fwd {
inline constexpr std::uint32_t local_foo = 2, local_bar = 3, local_baz = 4, local_qux = 5;
// Target ids: without FWD foo: foo 2, bar 3, baz (FWD) 4, qux (STRUCT) 5; with it, FWD foo is 2 and the rest move up.
[[nodiscard]] constexpr std::uint32_t target_struct_foo(bool with_fwd) noexcept { return with_fwd ? 3 : 2; }
[[nodiscard]] constexpr std::uint32_t target_union_bar(bool with_fwd) noexcept { return with_fwd ? 4 : 3; }
inline constexpr std::uint32_t target_fwd_foo = 2;

// Programs: "fwd_types" (the sites of `type_sites`), then "fwd_size" with TYPE_SIZE of FWD foo.
struct site_expect {
    std::uint32_t insn, type_id;
    relo_kind kind;
};
inline constexpr site_expect type_sites[] = {
    {0, local_foo, relo_kind::type_exists},     {1, local_foo, relo_kind::type_id_target},
    {3, local_foo, relo_kind::type_matches},    {4, local_bar, relo_kind::type_exists},
    {5, local_bar, relo_kind::type_id_target},  {7, local_bar, relo_kind::type_matches},
    {8, local_baz, relo_kind::type_exists},     {9, local_baz, relo_kind::type_id_target},
    {11, local_baz, relo_kind::type_matches},   {12, local_baz, relo_kind::field_byte_offset},
    {13, local_qux, relo_kind::type_exists},    {14, local_qux, relo_kind::type_id_target},
};

[[nodiscard]] inline scenario make(byte_order order, bool target_has_fwd_foo) {
    using namespace asm_;
    blob_builder local(order);
    local.add_int("int", 4, int_signed);                         // 1
    local.add_fwd("foo", false);                                 // 2: struct foo;
    local.add_fwd("bar", true);                                  // 3: union bar;
    local.add_struct("baz", 4, false, {{"x", 1, 0, 0}});          // 4
    local.add_fwd("qux", true);                                  // 5: union qux; (target: struct qux)
    std::vector<insn> code;
    for (const std::uint32_t id : {local_foo, local_bar, local_baz}) {
        code.push_back(mov64_imm(0, 1));
        ldimm64(code, 0, id);
        code.push_back(mov64_imm(0, 1));
    }
    code.push_back(ldx(insn_const::size_w, 0, 1, 0));
    code.push_back(mov64_imm(0, 1));
    ldimm64(code, 0, local_qux);
    code.push_back(exit());
    std::vector<core_site> sites;
    for (const site_expect& e : type_sites) {
        sites.push_back({e.insn, e.type_id, e.kind == relo_kind::field_byte_offset ? "0:0" : "0", e.kind});
    }
    const std::vector<insn> size_code{mov64_imm(0, 4), exit()};
    const std::vector<core_site> size_sites{{0, local_foo, "0", relo_kind::type_size}};

    blob_builder target(order);
    target.add_int("int", 4, int_signed);
    if (target_has_fwd_foo) target.add_fwd("foo", false);
    target.add_struct("foo", 4, false, {{"a", 1, 0, 0}});
    target.add_union("bar", 4, false, {{"a", 1, 0, 0}, {"b", 1, 0, 0}});
    target.add_fwd("baz", false);
    target.add_struct("qux", 4, false, {{"a", 1, 0, 0}});
    return {target_has_fwd_foo ? "fwd_b" : "fwd_a",
            build_core_object(order, local, {{"kprobe/fwd_types", "fwd_types", code, sites},
                                             {"kprobe/fwd_size", "fwd_size", size_code, size_sites}}),
            target.bytes()};
}
}  // namespace fwd

// Objects whose last relocation libbpf refuses (each after one good site), plus one of load/store
// size changes that all succeed; all against one target.
namespace errors {
inline constexpr std::uint32_t local_present = 4, local_amb = 5, local_amb2 = 6, local_far = 7, local_pt = 8, local_anon = 9;
// Target ids.
inline constexpr std::uint32_t target_amb_a = 7, target_amb_b = 8, target_amb2_a = 9, target_amb2_b = 10, target_pt = 13;

[[nodiscard]] inline blob_builder local_btf(byte_order order) {
    blob_builder b(order);
    b.add_int("int", 4, int_signed);                                                 // 1
    b.add_int("long", 8, int_signed);                                                // 2
    b.add_int("unsigned int", 4, 0);                                                 // 3
    b.add_struct("present", 4, false, {{"a", 1, 0, 0}});                              // 4
    b.add_struct("amb", 8, false, {{"x", 1, 0, 0}, {"y", 1, 32, 0}});                 // 5
    b.add_struct("amb2", 4, false, {{"x", 1, 0, 0}});                                 // 6
    b.add_struct("far", 4, false, {{"c", 1, 0, 0}});                                  // 7
    b.add_struct("pt", 8, false, {{"a", 1, 0, 0}, {"b", 3, 32, 0}});                  // 8
    b.add_struct("", 4, false, {{"x", 1, 0, 0}});                                     // 9: anonymous
    return b;
}

[[nodiscard]] inline std::vector<char> target_btf(byte_order order) {
    blob_builder t(order);
    t.add_int("int", 4, int_signed);                                                  // 1
    t.add_int("long", 8, int_signed);                                                 // 2
    t.add_int("unsigned int", 4, 0);                                                  // 3
    t.add_int("unsigned long", 8, 0);                                                 // 4
    t.add_int("char", 1, int_signed);                                                 // 5
    t.add_struct("present", 4, false, {{"a", 1, 0, 0}});                               // 6
    t.add_struct("amb___a", 8, false, {{"x", 1, 0, 0}, {"y", 1, 32, 0}});              // 7
    t.add_struct("amb___b", 8, false, {{"y", 1, 0, 0}, {"x", 1, 32, 0}});              // 8
    t.add_struct("amb2___a", 4, false, {{"x", 1, 0, 0}});                              // 9
    t.add_struct("amb2___b", 8, false, {{"x", 2, 0, 0}});                              // 10
    const std::uint32_t pad = t.add_array(5, 3, 40000);                              // 11
    t.add_struct("far", 40004, false, {{"pad", pad, 0, 0}, {"c", 1, 320000, 0}});      // 12
    t.add_struct("pt", 16, false, {{"a", 2, 0, 0}, {"b", 4, 64, 0}});                  // 13
    return t.bytes();
}

// One program: `present` exists (a good site), then `last` at instruction 1.
[[nodiscard]] inline scenario after_good_site(byte_order order, std::string name, insn last, core_site site) {
    using namespace asm_;
    site.insn = 1;
    const std::vector<insn> code{mov64_imm(0, 1), last, exit()};
    const std::vector<core_site> sites{{0, local_present, "0", relo_kind::type_exists}, site};
    return {std::move(name), build_core_object(order, local_btf(order), {{"kprobe/e", "err_prog", code, sites}}), target_btf(order)};
}

// The objects, each named after what libbpf does with its last site.
[[nodiscard]] inline std::vector<scenario> make(byte_order order) {
    using namespace asm_;
    std::vector<scenario> out;
    // Two candidates, the field at different offsets: "field offset ambiguity".
    out.push_back(after_good_site(order, "err_offset_ambiguity", ldx(insn_const::size_w, 0, 1, 4),
                                  {0, local_amb, "0:1", relo_kind::field_byte_offset}));
    // The same field size in both, but at different offsets: still "field offset ambiguity".
    out.push_back(after_good_site(order, "err_offset_ambiguity_same_size", mov64_imm(0, 4),
                                  {0, local_amb, "0:1", relo_kind::field_byte_size}));
    // Two candidates, same offset, different sizes: "relocation decision ambiguity".
    out.push_back(after_good_site(order, "err_decision_ambiguity", mov64_imm(0, 4),
                                  {0, local_amb2, "0:0", relo_kind::field_byte_size}));
    // The instruction does not hold the local value: patching refuses it.
    out.push_back(after_good_site(order, "err_validate", mov64_imm(0, 7),
                                  {0, local_present, "0:0", relo_kind::field_byte_size}));
    // Member index past the end of the local struct: the spec does not parse.
    out.push_back(after_good_site(order, "err_bad_access", ldx(insn_const::size_w, 0, 1, 0),
                                  {0, local_present, "0:3", relo_kind::field_byte_offset}));
    // Anonymous root type: no candidate search.
    out.push_back(after_good_site(order, "err_anonymous", ldx(insn_const::size_w, 0, 1, 0),
                                  {0, local_anon, "0:0", relo_kind::field_byte_offset}));
    // Target offset 40000 does not fit a load's 16-bit offset: -ERANGE.
    out.push_back(after_good_site(order, "err_offset_range", ldx(insn_const::size_w, 0, 1, 0),
                                  {0, local_far, "0:0", relo_kind::field_byte_offset}));
    // Access strings as libbpf's sscanf("%d") reads them: blanks and signs are fine; type-based kinds want "0".
    for (const auto& [name, access, k] : {std::tuple{"err_access_double_colon", "0::1", relo_kind::field_byte_offset},
                                          std::tuple{"err_access_trailing_colon", "0:", relo_kind::field_byte_offset},
                                          std::tuple{"err_access_trailing_blank", "0:1 ", relo_kind::field_byte_offset},
                                          std::tuple{"err_access_hex", "0x1", relo_kind::field_byte_offset},
                                          std::tuple{"err_access_type_based", "00", relo_kind::type_exists}}) {
        out.push_back(after_good_site(order, name, mov64_imm(0, 4), {0, local_pt, access, k}));
    }
    {
        std::vector<insn> code;
        for (int i = 0; i < 5; ++i) code.push_back(mov64_imm(0, 4));
        ldimm64(code, 0, local_anon);
        ldimm64(code, 0, 0);
        code.push_back(exit());
        std::vector<core_site> sites;
        std::uint32_t at = 0;
        for (const char* a : {" 0:1", "+0:+1", "0: 1", "-0:1", "00:01"}) sites.push_back({at++, local_pt, a, relo_kind::field_byte_offset});
        sites.push_back({5, local_anon, "0", relo_kind::type_id_local});  // anonymous: fine without a candidate search
        sites.push_back({7, 0, "0", relo_kind::type_id_local});           // void
        out.push_back({"access_forms", build_core_object(order, local_btf(order), {{"kprobe/a", "access_prog", code, sites}}),
                       target_btf(order)});
    }
    // Memory size changes: int -> long (signed: poisoned), unsigned int -> unsigned long (resized).
    {
        const std::vector<insn> code{ldx(insn_const::size_w, 0, 1, 0), ldx(insn_const::size_w, 0, 1, 4),
                                     stx(insn_const::size_w, 1, 2, 4),  st_imm(insn_const::size_w, 1, 4, 5),
                                     mov32_imm(0, 4),                   mov64_imm(0, 0),
                                     exit()};
        const std::vector<core_site> sites{
            {0, local_pt, "0:0", relo_kind::field_byte_offset}, {1, local_pt, "0:1", relo_kind::field_byte_offset},
            {2, local_pt, "0:1", relo_kind::field_byte_offset}, {3, local_pt, "0:1", relo_kind::field_byte_offset},
            {4, local_pt, "0:1", relo_kind::field_byte_offset}, {5, local_pt, "0:0", relo_kind::field_byte_offset},
        };
        out.push_back({"mem_sizes", build_core_object(order, local_btf(order), {{"kprobe/m", "mem_prog", code, sites}}),
                       target_btf(order)});
    }
    return out;
}
}  // namespace errors

// FIELD_SIGNED of an unsigned enum field whose target enum has no enumerators and is the last type, so
// the 4 bytes after its header are the string section's first: "\0sig...". libbpf before 1.3 reads them
// as an INT encoding and, in little-endian, finds the signed bit ('g' = 0x67); libbpf 1.3+ reads INT
// encodings of INTs only. Sites: signed of the enum field (1.1: 1, 1.7: 0), signed of an int field (1),
// byte_off of the enum field (4 -> 0).
namespace signed_enum {
inline constexpr std::uint32_t struct_id = 2;
[[nodiscard]] inline scenario make(byte_order order) {
    using namespace asm_;
    blob_builder local(order);
    local.add_int("int", 4, int_signed);                                                   // 1
    local.add_struct("signed_s", 8, false, {{"i", 1, 0, 0}, {"e", 3, 32, 0}});             // 2
    local.add_enum("sg_e", 4, false, {{"SG_A", 1}});                                       // 3
    std::vector<insn> code{mov64_imm(0, 0), mov64_imm(0, 1), ldx(insn_const::size_w, 0, 1, 4), exit()};
    const std::vector<core_site> sites{{0, struct_id, "0:1", relo_kind::field_signed},
                                       {1, struct_id, "0:0", relo_kind::field_signed},
                                       {2, struct_id, "0:1", relo_kind::field_byte_offset}};
    blob_builder target(order);
    target.add_struct("signed_s", 8, false, {{"e", 3, 0, 0}, {"i", 2, 32, 0}});            // 1: its name is the first string
    target.add_int("int", 4, int_signed);                                                  // 2
    target.add_enum("sg_e", 4, false, {});                                                 // 3: the last type
    return {"signed_enum", build_core_object(order, local, {{"kprobe/sg", "sg_prog", code, sites}}), target.bytes()};
}
}  // namespace signed_enum

}  // namespace btfkit::testing
