// Stage 1 of CO-RE: an access string and root type parsed into a spec (raw indices, high-level
// accessors, bit offset), libbpf's bpf_core_parse_spec; and the spec notation of libbpf's logs.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "../error.hpp"
#include "../format/bpf_object.hpp"
#include "../format/btf.hpp"
#include "relo_rules.hpp"

namespace btfkit {

inline constexpr std::uint32_t core_spec_max_len = 64;  // libbpf's BPF_CORE_SPEC_MAX_LEN
inline constexpr int compat_max_level = 32;             // recursion budget of libbpf's compat/match checks

// One high-level step of an access spec: a named field, or an array index (name empty, named false).
struct core_accessor {
    std::uint32_t type_id = 0;
    std::uint32_t idx = 0;
    std::string_view name{};
    bool named = false;
};

// A parsed access spec for one BTF: raw indices, high-level accessors and the resulting bit offset.
struct core_spec {
    const btf* owner = nullptr;
    std::uint32_t root_type_id = 0;
    relo_kind kind{};
    std::uint32_t len = 0;      // high-level accessors
    std::uint32_t raw_len = 0;  // raw indices
    std::uint32_t bit_offset = 0;
    std::array<core_accessor, core_spec_max_len> spec{};
    std::array<std::uint32_t, core_spec_max_len> raw{};

    constexpr void reset(const btf* b, std::uint32_t root, relo_kind k) noexcept {
        owner = b;
        root_type_id = root;
        kind = k;
        len = raw_len = bit_offset = 0;
    }
};

// What one relocation computes (libbpf's bpf_core_relo_res).
struct relo_res {
    std::uint64_t orig_val = 0;
    std::uint64_t new_val = 0;
    bool poison = false;
    bool validate = true;
    bool fail_memsz_adjust = false;
    std::uint32_t orig_sz = 0, new_sz = 0;
    std::uint32_t orig_type_id = 0, new_type_id = 0;
};


namespace detail {

// Whether an array accessor is a flexible array member: the last member, with no elements.
[[nodiscard]] constexpr bool is_flex_arr(const btf& b, const core_accessor& acc, const array_info& arr) noexcept {
    if (!acc.named || arr.nelems > 0) return false;
    const type t = b[acc.type_id];
    return acc.idx + 1u == t.vlen();
}

[[nodiscard]] constexpr bool is_space(char c) noexcept { return c == ' ' || (c >= '\t' && c <= '\r'); }

// Parses "0:1:2" into indices, libbpf's way (sscanf %d: optional blanks and sign). Negative or huge
// indices, which libbpf would read out of bounds with, are errors here.
constexpr status parse_access_string(std::string_view s, core_spec& spec) noexcept {
    if (s.empty() || s[0] == ':') return error(errc::bad_access, "access string is empty or starts with ':'");
    std::size_t i = 0;
    while (i < s.size()) {
        if (s[i] == ':') ++i;
        while (i < s.size() && is_space(s[i])) ++i;
        bool neg = false;
        if (i < s.size() && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
        const std::size_t start = i;
        std::uint64_t v = 0;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
            v = v * 10 + static_cast<std::uint64_t>(s[i] - '0');
            if (v > 0x7fffffff) return error(errc::bad_access, "access index too large").at_offset(start);
            ++i;
        }
        if (i == start) return error(errc::bad_access, "access string has a non-number").at_offset(i);
        if (neg && v != 0) return error(errc::bad_access, "negative access index").at_offset(start);
        if (spec.raw_len == core_spec_max_len) return error(errc::too_deep, "access string too long").limit(core_spec_max_len);
        spec.raw[spec.raw_len++] = static_cast<std::uint32_t>(v);
    }
    if (spec.raw_len == 0) return error(errc::bad_access, "access string has no index");
    return {};
}

}  // namespace detail

// Stage 1: the local spec of a relocation (libbpf's bpf_core_parse_spec).
constexpr status parse_spec(const btf& b, std::uint32_t root_id, std::string_view access, relo_kind rk, core_spec& spec) noexcept {
    spec.reset(&b, root_id, rk);
    if (!b.valid_id(root_id)) return error(errc::bad_type_id, "relocation type id past the end").got(root_id).limit(b.type_count());
    if (access.empty() || access[0] == ':') return error(errc::bad_access, "access string is empty or starts with ':'").at_type(root_id);
    if (is_type_based(rk)) {
        if (access != "0") return error(errc::bad_access, "type-based relocation needs access string \"0\"").at_type(root_id);
        return {};
    }
    BTFKIT_TRY(detail::parse_access_string(access, spec));
    auto tr = b.skip_mods_and_typedefs(root_id);
    if (!tr) return tr.error();
    std::uint32_t id = tr->id();
    std::uint32_t idx = spec.raw[0];
    spec.spec[0] = core_accessor{id, idx, {}, false};
    spec.len = 1;

    if (is_enumval_based(rk)) {
        const type t = *tr;
        if (!t.is_any_enum() || spec.raw_len > 1 || idx >= t.vlen()) {
            return error(errc::bad_access, "enum value relocation needs one enumerator index of an enum").at_type(root_id).got(idx).limit(t.vlen());
        }
        spec.spec[0].name = b.string(t.enumerators()[idx].name_off);
        spec.spec[0].named = true;
        return {};
    }
    if (!is_field_based(rk)) return error(errc::unsupported, "unknown relocation kind").at_type(root_id).got(static_cast<std::uint32_t>(rk));

    auto sz = b.resolve_size(id);
    if (!sz) return sz.error();
    {
        const std::uint64_t bits = std::uint64_t{idx} * *sz * 8;
        if (bits > 0xffffffffu) return error(errc::out_of_range, "access offset overflows").at_type(root_id).got(idx);
        spec.bit_offset = static_cast<std::uint32_t>(bits);
    }
    for (std::uint32_t i = 1; i < spec.raw_len; ++i) {
        auto cur = b.skip_mods_and_typedefs(id);
        if (!cur) return cur.error();
        const type t = *cur;
        id = t.id();
        idx = spec.raw[i];
        if (t.is_composite()) {
            if (idx >= t.vlen()) return error(errc::bad_access, "member index past the end").at_type(id).at_index("access", i).got(idx).limit(t.vlen());
            const member m = t.members()[idx];
            spec.bit_offset += m.bit_offset;
            if (m.name_off != 0) {
                const std::string_view name = b.string(m.name_off);
                if (name.empty()) return error(errc::bad_string, "member has an empty name").at_type(id).at_index("member", idx);
                spec.spec[spec.len++] = core_accessor{id, idx, name, true};
            }
            id = m.type;
        } else if (t.is(kind::array)) {
            const array_info a = t.array();
            auto elem = b.skip_mods_and_typedefs(a.type);
            if (!elem) return elem.error();
            id = elem->id();
            const bool flex = detail::is_flex_arr(b, spec.spec[spec.len - 1], a);
            if (!flex && idx >= a.nelems) return error(errc::bad_access, "array index past the end").at_type(t.id()).at_index("access", i).got(idx).limit(a.nelems);
            spec.spec[spec.len++] = core_accessor{id, idx, {}, false};
            auto esz = b.resolve_size(id);
            if (!esz) return esz.error();
            const std::uint64_t bits = spec.bit_offset + std::uint64_t{idx} * *esz * 8;
            if (bits > 0xffffffffu) return error(errc::out_of_range, "access offset overflows").at_type(t.id()).got(idx);
            spec.bit_offset = static_cast<std::uint32_t>(bits);
        } else {
            return error(errc::bad_access, "access step into a type that is neither composite nor array").at_type(id).at_index("access", i).got(static_cast<std::uint8_t>(t.kind()));
        }
    }
    return {};
}

// libbpf's spec notation for logs: "<byte_off> [7] struct task_struct.pid (0:18 @ offset 2392)".
inline std::string format_spec(const core_spec& spec) {
    std::string out;
    const btf& b = *spec.owner;
    const type t = b[spec.root_type_id];
    const std::string_view n = t.name();
    out += '<';
    out += relo_kind_name(spec.kind);
    out += "> [";
    out += std::to_string(spec.root_type_id);
    out += "] ";
    out += kind_str(t.kind());
    out += ' ';
    out += n.empty() ? std::string_view{"<anon>"} : n;
    if (is_type_based(spec.kind) || spec.len == 0) return out;
    if (is_enumval_based(spec.kind)) {
        auto e = b.skip_mods_and_typedefs(spec.root_type_id);
        if (e && e->is_any_enum() && spec.raw_len > 0 && spec.raw[0] < e->vlen()) {
            const enumerator en = e->enumerators()[spec.raw[0]];
            out += "::";
            out += b.string(en.name_off);
            out += " = ";
            const bool is_signed = e->kflag();
            if (e->is(kind::enum_)) {
                out += is_signed ? std::to_string(static_cast<std::int32_t>(en.lo32)) : std::to_string(en.lo32);
            } else {
                out += is_signed ? std::to_string(static_cast<std::int64_t>(en.value)) : std::to_string(en.value);
            }
        }
        return out;
    }
    for (std::uint32_t i = 0; i < spec.len; ++i) {
        if (spec.spec[i].named) {
            out += '.';
            out += spec.spec[i].name;
        } else if (i > 0 || spec.spec[i].idx > 0) {
            out += '[';
            out += std::to_string(spec.spec[i].idx);
            out += ']';
        }
    }
    out += " (";
    for (std::uint32_t i = 0; i < spec.raw_len; ++i) {
        if (i) out += ':';
        out += std::to_string(spec.raw[i]);
    }
    out += " @ offset ";
    out += std::to_string(spec.bit_offset / 8);
    if (spec.bit_offset % 8) {
        out += '.';
        out += std::to_string(spec.bit_offset % 8);
    }
    out += ')';
    return out;
}

}  // namespace btfkit
