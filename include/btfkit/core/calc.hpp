// Stages 3 and 4 of CO-RE: the values a relocation computes for a (local, target) spec pair
// (libbpf's bpf_core_calc_relo), and the instruction patched with them (bpf_core_patch_insn).
#pragma once

#include <cstdint>
#include <span>

#include "../error.hpp"
#include "../format/bpf_object.hpp"
#include "../format/btf.hpp"
#include "relo_rules.hpp"
#include "spec.hpp"

namespace btfkit {

namespace detail {

// Signals libbpf's -EUCLEAN: not an error, the instruction is poisoned.
struct calc_out {
    bool poison = false;
};

// Bytes a load or store of a field of type `id` moves, as the LDX/ST/STX size check sees it: the whole
// type, or with `of_element` an array's innermost element (libbpf 1.6+).
constexpr result<std::uint64_t> access_size(const btf& b, std::uint32_t id, bool of_element) noexcept {
    if (of_element) {
        for (std::uint32_t depth = 0;; ++depth) {
            if (depth > max_resolve_depth) return error(errc::type_loop, "array element chain does not end").at_type(id).limit(max_resolve_depth);
            auto t = b.skip_mods_and_typedefs(id);
            if (!t) return t.error();
            if (!t->is(kind::array)) break;
            id = t->array().type;
        }
    }
    return b.resolve_size(id);
}

constexpr status calc_field(relo_kind rk, const core_spec* spec, std::uint64_t& val, std::uint32_t& field_sz,
                            std::uint32_t& type_id, bool* validate, calc_out& out, const core_rules& rules) noexcept {
    field_sz = 0;
    if (rk == relo_kind::field_exists) {
        val = spec ? 1 : 0;
        return {};
    }
    if (!spec) {
        out.poison = true;
        return {};
    }
    const btf& b = *spec->owner;
    const core_accessor& acc = spec->spec[spec->len - 1];
    if (!acc.named) {
        if (rk == relo_kind::field_byte_offset) {
            val = spec->bit_offset / 8;
            auto sz = access_size(b, acc.type_id, rules.memsz_of_array_element);
            if (!sz) return sz.error();
            field_sz = static_cast<std::uint32_t>(*sz);
            type_id = acc.type_id;
        } else if (rk == relo_kind::field_byte_size) {
            auto sz = b.resolve_size(acc.type_id);
            if (!sz) return sz.error();
            val = *sz;
        } else {
            return error(errc::bad_access, "relocation kind cannot apply to an array element").got(static_cast<std::uint32_t>(rk));
        }
        if (validate) *validate = true;
        return {};
    }
    const type t = b[acc.type_id];
    const member m = t.members()[acc.idx];
    auto mtr = b.skip_mods_and_typedefs(m.type);
    if (!mtr) return mtr.error();
    const type mt = *mtr;
    const std::uint32_t field_type_id = mt.id();
    const std::uint32_t bit_off = spec->bit_offset;
    std::uint32_t bit_sz = m.bitfield_size;
    std::uint32_t byte_sz = 0, byte_off = 0;
    const bool bitfield = bit_sz > 0;
    if (bitfield) {
        byte_sz = mt.size();
        if (byte_sz == 0) return error(errc::bad_header, "bitfield of a zero-sized type").at_type(field_type_id);
        byte_off = bit_off / 8 / byte_sz * byte_sz;
        while (std::uint64_t{bit_off} + bit_sz - std::uint64_t{byte_off} * 8 > std::uint64_t{byte_sz} * 8) {
            if (byte_sz >= 8) return error(errc::out_of_range, "bitfield cannot be read with a 64-bit load").at_type(acc.type_id).at_index("member", acc.idx);
            byte_sz *= 2;
            byte_off = bit_off / 8 / byte_sz * byte_sz;
        }
    } else {
        auto sz = b.resolve_size(field_type_id);
        if (!sz) return sz.error();
        byte_sz = static_cast<std::uint32_t>(*sz);
        byte_off = spec->bit_offset / 8;
        bit_sz = byte_sz * 8;
    }
    if (validate) *validate = !bitfield;
    switch (rk) {
    case relo_kind::field_byte_offset:
        val = byte_off;
        if (!bitfield) {
            auto sz = access_size(b, field_type_id, rules.memsz_of_array_element);
            if (!sz) return sz.error();
            field_sz = static_cast<std::uint32_t>(*sz);
            type_id = field_type_id;
        }
        break;
    case relo_kind::field_byte_size:
        val = byte_sz;
        break;
    case relo_kind::field_signed:
        // libbpf before 1.3 reads the INT encoding word of whatever type this is: so do we, under that rule.
        val = (mt.is_any_enum() && mt.kflag()) ||
                      ((!rules.signed_only_from_int || mt.is(kind::int_)) && (((mt.raw_extra_word() >> 24) & 0x0f) & int_signed))
                  ? 1
                  : 0;
        if (validate) *validate = true;
        break;
    case relo_kind::field_lshift_u64:
        // The shift depends on the byte order of the machine the program runs on: the BTF's.
        if (b.order() == byte_order::little) {
            val = 64 - (std::uint64_t{bit_off} + bit_sz - std::uint64_t{byte_off} * 8);
        } else {
            val = (8 - std::uint64_t{byte_sz}) * 8 + (bit_off - std::uint64_t{byte_off} * 8);
        }
        break;
    case relo_kind::field_rshift_u64:
        val = 64 - bit_sz;
        if (validate) *validate = true;
        break;
    default:
        return error(errc::unsupported, "unrecognized field relocation").got(static_cast<std::uint32_t>(rk));
    }
    return {};
}

constexpr status calc_type(relo_kind rk, const core_spec* spec, std::uint64_t& val, bool* validate, bool fwd_ext = false) noexcept {
    if (validate) *validate = true;
    if (!spec) {
        val = 0;
        return {};
    }
    if (rk == relo_kind::type_size && fwd_ext && validate != nullptr) {
        // A local FWD has no size to check the instruction against: take the target's.
        auto t = spec->owner->skip_mods_and_typedefs(spec->root_type_id);
        if (t && t->is(kind::fwd)) {
            val = 0;
            *validate = false;
            return {};
        }
    }
    switch (rk) {
    case relo_kind::type_id_target:
        val = spec->root_type_id;
        if (validate) *validate = false;
        break;
    case relo_kind::type_exists: case relo_kind::type_matches:
        val = 1;
        break;
    case relo_kind::type_size: {
        auto sz = spec->owner->resolve_size(spec->root_type_id);
        if (!sz) return sz.error();
        val = *sz;
        break;
    }
    default:
        return error(errc::unsupported, "unrecognized type relocation").got(static_cast<std::uint32_t>(rk));
    }
    return {};
}

constexpr status calc_enumval(relo_kind rk, const core_spec* spec, std::uint64_t& val, calc_out& out) noexcept {
    switch (rk) {
    case relo_kind::enumval_exists:
        val = spec ? 1 : 0;
        return {};
    case relo_kind::enumval_value: {
        if (!spec) {
            out.poison = true;
            return {};
        }
        const type t = (*spec->owner)[spec->spec[0].type_id];
        const enumerator e = t.enumerators()[spec->spec[0].idx];
        // ENUM values are s32 in BTF and sign-extend, whatever the enum's signedness (as in libbpf).
        val = t.is(kind::enum_) ? static_cast<std::uint64_t>(static_cast<std::int64_t>(static_cast<std::int32_t>(e.lo32))) : e.value;
        return {};
    }
    default:
        return error(errc::unsupported, "unrecognized enum relocation").got(static_cast<std::uint32_t>(rk));
    }
}

}  // namespace detail

// Stage 3: values for one (local, target) pair; target null means "no match" (libbpf's bpf_core_calc_relo).
// `fwd_ext`: a local FWD's TYPE_SIZE takes the target's size without checking the instruction.
// `rules`: where libbpf releases differ, whose rules (rules_of(libbpf_compat::v1_1) for libbpf 1.1's).
constexpr status calc_relo(relo_kind rk, const core_spec& local, const core_spec* targ, relo_res& res, bool fwd_ext = false,
                           const core_rules& rules = {}) noexcept {
    res = relo_res{};
    detail::calc_out out;
    status st;
    if (is_field_based(rk)) {
        st = detail::calc_field(rk, &local, res.orig_val, res.orig_sz, res.orig_type_id, &res.validate, out, rules);
        if (st && !out.poison) st = detail::calc_field(rk, targ, res.new_val, res.new_sz, res.new_type_id, nullptr, out, rules);
        if (st && !out.poison && res.orig_sz != res.new_sz) {
            const type ot = (*local.owner)[res.orig_type_id];
            const type nt = (*targ->owner)[res.new_type_id];
            const bool both_ptr = ot.is(kind::ptr) && nt.is(kind::ptr);
            const bool both_unsigned = ot.is(kind::int_) && nt.is(kind::int_) && ot.int_encoding() != int_signed &&
                                       nt.int_encoding() != int_signed;
            res.fail_memsz_adjust = !(both_ptr || both_unsigned);
        }
    } else if (is_type_based(rk)) {
        st = detail::calc_type(rk, &local, res.orig_val, &res.validate, fwd_ext);
        if (st) st = detail::calc_type(rk, targ, res.new_val, nullptr);
    } else if (is_enumval_based(rk)) {
        st = detail::calc_enumval(rk, &local, res.orig_val, out);
        if (st && !out.poison) st = detail::calc_enumval(rk, targ, res.new_val, out);
    } else {
        return error(errc::unsupported, "unrecognized CO-RE relocation kind").got(static_cast<std::uint32_t>(rk));
    }
    if (!st) return st;
    if (out.poison) res.poison = true;
    return {};
}

// Stage 4: patch the instruction(s) at `at` (2 slots for ldimm64) in place (libbpf's bpf_core_patch_insn).
// `upper` replaces the upper 32 bits of a TYPE_ID_TARGET ldimm64 (module BTF fd or id), when set.
struct patch_outcome {
    bool poisoned = false;
    insn before{};
    insn after{};
    bool ldimm64 = false;
    std::uint64_t old_value = 0;  // what the instruction held
};

namespace detail {
[[nodiscard]] constexpr int insn_size_bytes(std::uint8_t code) noexcept {
    switch (code & 0x18) {
    case insn_const::size_dw: return 8;
    case insn_const::size_w: return 4;
    case insn_const::size_h: return 2;
    case insn_const::size_b: return 1;
    }
    return -1;
}
[[nodiscard]] constexpr int bytes_to_size_code(std::uint32_t sz) noexcept {
    switch (sz) {
    case 8: return insn_const::size_dw;
    case 4: return insn_const::size_w;
    case 2: return insn_const::size_h;
    case 1: return insn_const::size_b;
    }
    return -1;
}
constexpr void poison_insn(insn& i) noexcept {
    i = insn{static_cast<std::uint8_t>(insn_const::cls_jmp | insn_const::op_call), 0, 0, 0, insn_const::poison_imm};
}
}  // namespace detail

// `code` is the section's bytes from the instruction on (at least 8, 16 for ldimm64 available).
constexpr result<patch_outcome> patch_insn(std::span<char> code, byte_order order, const relo_res& res) noexcept {
    using namespace insn_const;
    if (code.size() < insn_size) return error(errc::out_of_range, "instruction past the end of its section");
    patch_outcome out;
    insn i = decode_insn(code.data(), order);
    out.before = i;
    out.ldimm64 = i.is_ldimm64();
    const bool have_second = code.size() >= 2 * insn_size;
    insn second = have_second ? decode_insn(code.data() + insn_size, order) : insn{};
    auto write = [&] {
        encode_insn(code.data(), i, order);
        if (out.ldimm64 && have_second) encode_insn(code.data() + insn_size, second, order);
        out.after = i;
    };
    auto poison = [&] {
        if (i.is_ldimm64() && have_second) detail::poison_insn(second);
        detail::poison_insn(i);
        out.poisoned = true;
        write();
        return out;
    };
    if (res.poison) return poison();
    const std::uint64_t orig = res.orig_val, nv = res.new_val;
    switch (i.cls()) {
    case cls_alu: case cls_alu64:
        if ((i.code & src_x) != src_k) return error(errc::bad_instruction, "ALU instruction does not use an immediate");
        out.old_value = static_cast<std::uint32_t>(i.imm);
        if (res.validate && static_cast<std::uint64_t>(static_cast<std::int64_t>(i.imm)) != orig) {
            return error(errc::bad_instruction, "unexpected ALU/ALU64 immediate").got(static_cast<std::uint32_t>(i.imm)).limit(orig);
        }
        i.imm = static_cast<std::int32_t>(static_cast<std::uint32_t>(nv));
        break;
    case cls_ldx: case cls_st: case cls_stx:
        out.old_value = static_cast<std::uint16_t>(i.off);
        if (res.validate && static_cast<std::uint64_t>(static_cast<std::int64_t>(i.off)) != orig) {
            return error(errc::bad_instruction, "unexpected LDX/ST/STX offset").got(static_cast<std::uint16_t>(i.off)).limit(orig);
        }
        if (nv > 0x7fff) return error(errc::out_of_range, "LDX/ST/STX offset too big").got(nv).limit(0x7fff);
        if (res.fail_memsz_adjust) return poison();
        i.off = static_cast<std::int16_t>(nv);
        if (res.new_sz != res.orig_sz) {
            const int have = detail::insn_size_bytes(i.code);
            if (have < 0 || static_cast<std::uint32_t>(have) != res.orig_sz) {
                return error(errc::bad_instruction, "LDX/ST/STX has an unexpected memory size").got(static_cast<std::uint64_t>(have)).limit(res.orig_sz);
            }
            const int code_sz = detail::bytes_to_size_code(res.new_sz);
            if (code_sz < 0) return error(errc::bad_instruction, "invalid new memory size").got(res.new_sz);
            i.code = static_cast<std::uint8_t>((i.code & 0xe0) | code_sz | i.cls());
        }
        break;
    case cls_ld: {
        if (!i.is_ldimm64() || !have_second || i.src != 0 || i.off != 0 || second.code != 0 || second.dst != 0 ||
            second.src != 0 || second.off != 0) {
            return error(errc::bad_instruction, "LDIMM64 has an unexpected form");
        }
        const std::uint64_t imm = static_cast<std::uint32_t>(i.imm) | (std::uint64_t{static_cast<std::uint32_t>(second.imm)} << 32);
        out.old_value = imm;
        if (res.validate && imm != orig) return error(errc::bad_instruction, "unexpected LDIMM64 value").got(imm).limit(orig);
        i.imm = static_cast<std::int32_t>(static_cast<std::uint32_t>(nv));
        second.imm = static_cast<std::int32_t>(static_cast<std::uint32_t>(nv >> 32));
        break;
    }
    default:
        return error(errc::bad_instruction, "instruction class cannot be relocated").got(i.code);
    }
    write();
    return out;
}

}  // namespace btfkit
