// CO-RE rule tables as constexpr data: relocation-kind traits, kind compatibility, flavor names.
#pragma once

#include <cstdint>
#include <string_view>

#include "../format/btf_types.hpp"

namespace btfkit {

// CO-RE relocation kinds (enum bpf_core_relo_kind).
enum class relo_kind : std::uint32_t {
    field_byte_offset = 0, field_byte_size = 1, field_exists = 2, field_signed = 3, field_lshift_u64 = 4,
    field_rshift_u64 = 5, type_id_local = 6, type_id_target = 7, type_exists = 8, type_size = 9,
    enumval_exists = 10, enumval_value = 11, type_matches = 12,
};
inline constexpr std::uint32_t relo_kind_count = 13;

// libbpf's names, as in its logs and our JSON.
[[nodiscard]] constexpr std::string_view relo_kind_name(relo_kind k) noexcept {
    constexpr std::string_view names[] = {"byte_off", "byte_sz", "field_exists", "signed", "lshift_u64",
                                          "rshift_u64", "local_type_id", "target_type_id", "type_exists",
                                          "type_size", "enumval_exists", "enumval_value", "type_matches"};
    const auto i = static_cast<std::uint32_t>(k);
    return i < relo_kind_count ? names[i] : "unknown";
}

enum class relo_class : std::uint8_t { field, type, enumval, unknown };

[[nodiscard]] constexpr relo_class class_of(relo_kind k) noexcept {
    switch (k) {
    case relo_kind::field_byte_offset: case relo_kind::field_byte_size: case relo_kind::field_exists:
    case relo_kind::field_signed: case relo_kind::field_lshift_u64: case relo_kind::field_rshift_u64:
        return relo_class::field;
    case relo_kind::type_id_local: case relo_kind::type_id_target: case relo_kind::type_exists:
    case relo_kind::type_matches: case relo_kind::type_size:
        return relo_class::type;
    case relo_kind::enumval_exists: case relo_kind::enumval_value:
        return relo_class::enumval;
    }
    return relo_class::unknown;
}
[[nodiscard]] constexpr bool is_field_based(relo_kind k) noexcept { return class_of(k) == relo_class::field; }
[[nodiscard]] constexpr bool is_type_based(relo_kind k) noexcept { return class_of(k) == relo_class::type; }
[[nodiscard]] constexpr bool is_enumval_based(relo_kind k) noexcept { return class_of(k) == relo_class::enumval; }
// Kinds whose result is 0 (not a poisoned instruction) when nothing matches.
[[nodiscard]] constexpr bool is_existence(relo_kind k) noexcept {
    return k == relo_kind::field_exists || k == relo_kind::type_exists || k == relo_kind::type_matches ||
           k == relo_kind::enumval_exists;
}
[[nodiscard]] constexpr bool is_any_enum_kind(kind k) noexcept { return k == kind::enum_ || k == kind::enum64; }

// Which libbpf release's CO-RE rules to follow where releases differ; the newest by default. Only
// relocation values change between them: candidate search and matching are the same since 1.1.
enum class libbpf_compat : std::uint8_t {
    v1_1,  // Debian 12's libbpf
    v1_7,  // current libbpf
};
inline constexpr libbpf_compat libbpf_compat_latest = libbpf_compat::v1_7;

// "1.1", "1.7": as the CLI and docs spell a level.
[[nodiscard]] constexpr std::string_view to_string(libbpf_compat c) noexcept { return c == libbpf_compat::v1_1 ? "1.1" : "1.7"; }
[[nodiscard]] constexpr bool parse_libbpf_compat(std::string_view s, libbpf_compat& out) noexcept {
    if (s == "1.1") out = libbpf_compat::v1_1;
    else if (s == "1.7" || s == "latest") out = libbpf_compat::v1_7;
    else return false;
    return true;
}

// The rules that differ, each named after what it decides.
struct core_rules {
    // The memory size an LDX/ST/STX of a FIELD_BYTE_OFFSET is checked and resized against: for an array
    // field, its element's size (libbpf 1.6+, d7a4ab15) or the whole array's (before).
    bool memsz_of_array_element = true;
    // FIELD_SIGNED reads an INT encoding only from an INT (libbpf 1.3+, b4c8def4); before, from the
    // 4 bytes after any type's header.
    bool signed_only_from_int = true;
};
[[nodiscard]] constexpr core_rules rules_of(libbpf_compat c) noexcept {
    const bool newer = c != libbpf_compat::v1_1;
    return core_rules{newer, newer};
}

// libbpf's btf_kind_core_compat: same kind, or ENUM vs ENUM64.
[[nodiscard]] constexpr bool kinds_core_compat(kind a, kind b) noexcept {
    return a == b || (is_any_enum_kind(a) && is_any_enum_kind(b));
}

// A local FWD (kflag 0 = struct, 1 = union) may stand for a target STRUCT/UNION; never the other way.
[[nodiscard]] constexpr bool fwd_resolves_to(kind local, bool local_kflag, kind target) noexcept {
    return local == kind::fwd && ((target == kind::struct_ && !local_kflag) || (target == kind::union_ && local_kflag));
}

// Whether a target type of kind `target` can be a candidate for a local root type, for relocation `rk`.
// With `fwd_ext`, type-based relocations also let a local FWD find a complete STRUCT/UNION.
[[nodiscard]] constexpr bool candidate_kind_ok(kind local, bool local_kflag, kind target, relo_kind rk, bool fwd_ext) noexcept {
    if (kinds_core_compat(local, target)) return true;
    return fwd_ext && is_type_based(rk) && fwd_resolves_to(local, local_kflag, target);
}

// The full table of the rule above, by [local kind][target kind][relocation kind], for inspection and tests.
struct candidate_table {
    bool ok[kind_max + 1][2][kind_max + 1][relo_kind_count]{};  // [local][local kflag][target][relocation]
};
[[nodiscard]] consteval candidate_table make_candidate_table(bool fwd_ext) {
    candidate_table t{};
    for (std::uint8_t l = 0; l <= kind_max; ++l)
        for (std::uint8_t f = 0; f < 2; ++f)
            for (std::uint8_t g = 0; g <= kind_max; ++g)
                for (std::uint32_t r = 0; r < relo_kind_count; ++r)
                    t.ok[l][f][g][r] = candidate_kind_ok(static_cast<kind>(l), f != 0, static_cast<kind>(g), static_cast<relo_kind>(r), fwd_ext);
    return t;
}
inline constexpr candidate_table candidate_rules = make_candidate_table(true);
inline constexpr candidate_table libbpf_candidate_rules = make_candidate_table(false);

// Length of `name` without its last "___flavor" suffix (libbpf's bpf_core_essential_name_len).
[[nodiscard]] constexpr std::size_t essential_name_len(std::string_view name) noexcept {
    const std::size_t n = name.size();
    if (n < 5) return n;
    for (std::size_t i = n - 5 + 1; i-- > 0;) {
        if (name[i] != '_' && name[i + 1] == '_' && name[i + 2] == '_' && name[i + 3] == '_' && name[i + 4] != '_') {
            return i + 1;
        }
    }
    return n;
}
[[nodiscard]] constexpr std::string_view essential_name(std::string_view name) noexcept {
    return name.substr(0, essential_name_len(name));
}

}  // namespace btfkit
