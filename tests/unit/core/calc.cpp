// core/calc.hpp: stages 3 and 4 of CO-RE: the values of a relocation for a (local, target) spec pair
// (libbpf's bpf_core_calc_relo), and the instruction patched with them (bpf_core_patch_insn).
#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <span>

#include "blob_builder.hpp"
#include "btfkit/core/calc.hpp"
#include "btfkit/core/spec.hpp"
#include "btfkit/format/btf.hpp"
#include "core_object.hpp"

namespace {

using namespace btfkit;
using testing::blob_builder;
namespace asm_ = testing::asm_;

// Local: struct s { int a; unsigned int b; int c; } (12 bytes); enum e { X = 1 }.
// Target: struct s { long pad; int a; unsigned long b; long c; } (32 bytes); enum e { X = 7 }.
constexpr std::uint32_t struct_s = 4, enum_e = 5;
blob_builder side(bool target) {
    blob_builder b(byte_order::little);
    const auto i = b.add_int("int", 4, int_signed);                                   // 1
    const auto u = b.add_int(target ? "unsigned long" : "unsigned int", target ? 8 : 4, 0);  // 2
    const auto l = b.add_int(target ? "long" : "int2", target ? 8 : 4, int_signed);   // 3
    if (target) {
        b.add_struct("s", 32, false, {{"pad", l, 0, 0}, {"a", i, 64, 0}, {"b", u, 128, 0}, {"c", l, 192, 0}});
    } else {
        b.add_struct("s", 12, false, {{"a", i, 0, 0}, {"b", u, 32, 0}, {"c", l, 64, 0}});
    }
    b.add_enum("e", 4, false, {{"X", target ? 7u : 1u}});
    return b;
}

struct pair_of_specs {
    blob_builder lb = side(false), tb = side(true);
    btf local, target;
    core_spec ls, ts;
    pair_of_specs() {
        auto l = btf::parse(lb.span());
        auto t = btf::parse(tb.span());
        REQUIRE(l.has_value());
        REQUIRE(t.has_value());
        local = std::move(*l);
        target = std::move(*t);
    }
    // The local and target specs of one field (its member index on each side) or of the type.
    void specs(relo_kind k, const char* local_access, const char* target_access, std::uint32_t root = struct_s) {
        REQUIRE(parse_spec(local, root, local_access, k, ls).has_value());
        REQUIRE(parse_spec(target, root, target_access, k, ts).has_value());
    }
};

// One instruction (two for ldimm64) as little-endian bytes.
std::array<char, 16> code_of(const insn& first, const insn& second = {}) {
    std::array<char, 16> c{};
    encode_insn(c.data(), first, byte_order::little);
    encode_insn(c.data() + 8, second, byte_order::little);
    return c;
}

}  // namespace

TEST_CASE("calc_relo: field values, sizes and the load-size check, as libbpf computes them") {
    pair_of_specs p;
    relo_res res;
    p.specs(relo_kind::field_byte_offset, "0:0", "0:1");  // a
    REQUIRE(calc_relo(relo_kind::field_byte_offset, p.ls, &p.ts, res).has_value());
    CHECK(res.orig_val == 0);
    CHECK(res.new_val == 8);
    CHECK_FALSE(res.poison);
    CHECK_FALSE(res.fail_memsz_adjust);
    p.specs(relo_kind::field_byte_offset, "0:1", "0:2");  // b: unsigned, 4 -> 8 bytes: a load can be resized
    REQUIRE(calc_relo(relo_kind::field_byte_offset, p.ls, &p.ts, res).has_value());
    CHECK(res.orig_sz == 4);
    CHECK(res.new_sz == 8);
    CHECK_FALSE(res.fail_memsz_adjust);
    p.specs(relo_kind::field_byte_offset, "0:2", "0:3");  // c: signed, 4 -> 8 bytes: it cannot
    REQUIRE(calc_relo(relo_kind::field_byte_offset, p.ls, &p.ts, res).has_value());
    CHECK(res.fail_memsz_adjust);
    p.specs(relo_kind::field_byte_size, "0:2", "0:3");
    REQUIRE(calc_relo(relo_kind::field_byte_size, p.ls, &p.ts, res).has_value());
    CHECK(res.orig_val == 4);
    CHECK(res.new_val == 8);
    p.specs(relo_kind::field_signed, "0:1", "0:3");
    REQUIRE(calc_relo(relo_kind::field_signed, p.ls, &p.ts, res).has_value());
    CHECK(res.orig_val == 0);
    CHECK(res.new_val == 1);
    // No target: existence 0, anything else about the field poisons the instruction.
    p.specs(relo_kind::field_exists, "0:0", "0:1");
    REQUIRE(calc_relo(relo_kind::field_exists, p.ls, nullptr, res).has_value());
    CHECK(res.orig_val == 1);
    CHECK(res.new_val == 0);
    CHECK_FALSE(res.poison);
    p.specs(relo_kind::field_byte_offset, "0:0", "0:1");
    REQUIRE(calc_relo(relo_kind::field_byte_offset, p.ls, nullptr, res).has_value());
    CHECK(res.poison);
}

TEST_CASE("calc_relo: type and enum value kinds") {
    pair_of_specs p;
    relo_res res;
    p.specs(relo_kind::type_size, "0", "0");
    REQUIRE(calc_relo(relo_kind::type_size, p.ls, &p.ts, res).has_value());
    CHECK(res.orig_val == 12);
    CHECK(res.new_val == 32);
    p.specs(relo_kind::type_id_target, "0", "0");
    REQUIRE(calc_relo(relo_kind::type_id_target, p.ls, &p.ts, res).has_value());
    CHECK(res.new_val == struct_s);
    REQUIRE(calc_relo(relo_kind::type_exists, p.ls, nullptr, res).has_value());
    CHECK(res.orig_val == 1);
    CHECK(res.new_val == 0);
    CHECK_FALSE(res.poison);  // type-based kinds resolve to 0, never poison
    p.specs(relo_kind::enumval_value, "0", "0", enum_e);
    REQUIRE(calc_relo(relo_kind::enumval_value, p.ls, &p.ts, res).has_value());
    CHECK(res.orig_val == 1);
    CHECK(res.new_val == 7);
    REQUIRE(calc_relo(relo_kind::enumval_value, p.ls, nullptr, res).has_value());
    CHECK(res.poison);
    CHECK(calc_relo(static_cast<relo_kind>(42), p.ls, &p.ts, res).error().code == errc::unsupported);
}

TEST_CASE("patch_insn: immediates, offsets, resized loads, ldimm64 halves and poison") {
    using namespace insn_const;
    relo_res res;
    res.orig_val = 4;
    res.new_val = 12;
    // ALU: the immediate.
    auto c = code_of(asm_::mov64_imm(0, 4));
    auto out = patch_insn(std::span<char>(c.data(), 8), byte_order::little, res);
    REQUIRE(out.has_value());
    CHECK(out->after.imm == 12);
    CHECK(out->old_value == 4);
    CHECK(decode_insn(c.data(), byte_order::little).imm == 12);
    // The instruction must hold the local value.
    c = code_of(asm_::mov64_imm(0, 5));
    CHECK(patch_insn(std::span<char>(c.data(), 8), byte_order::little, res).error().code == errc::bad_instruction);
    // LDX: the offset, and the size code when the field's size changed.
    res.orig_sz = 4;
    res.new_sz = 8;
    c = code_of(asm_::ldx(size_w, 0, 1, 4));
    out = patch_insn(std::span<char>(c.data(), 8), byte_order::little, res);
    REQUIRE(out.has_value());
    CHECK(out->after == asm_::ldx(size_dw, 0, 1, 12));
    res.new_val = 0x8000;
    c = code_of(asm_::ldx(size_w, 0, 1, 4));
    CHECK(patch_insn(std::span<char>(c.data(), 8), byte_order::little, res).error().code == errc::out_of_range);
    // ldimm64: both halves.
    res = relo_res{};
    res.orig_val = 1;
    res.new_val = (std::uint64_t{42} << 32) | 7;
    c = code_of({ld_imm64, 0, 0, 0, 1}, {});
    out = patch_insn(std::span<char>(c.data(), 16), byte_order::little, res);
    REQUIRE(out.has_value());
    CHECK(out->ldimm64);
    CHECK(decode_insn(c.data(), byte_order::little).imm == 7);
    CHECK(decode_insn(c.data() + 8, byte_order::little).imm == 42);
    // Poison: `call 0xbad2310`, in both slots of an ldimm64.
    res.poison = true;
    c = code_of({ld_imm64, 0, 0, 0, 1}, {});
    out = patch_insn(std::span<char>(c.data(), 16), byte_order::little, res);
    REQUIRE(out.has_value());
    CHECK(out->poisoned);
    for (const std::size_t at : {std::size_t{0}, std::size_t{8}}) {
        const insn p = decode_insn(c.data() + at, byte_order::little);
        CHECK(p.code == (cls_jmp | op_call));
        CHECK(p.imm == poison_imm);
    }
    CHECK(patch_insn(std::span<char>(c.data(), 7), byte_order::little, res).error().code == errc::out_of_range);
}
