// CO-RE rules as constexpr data and functions: relocation kinds and their traits, kind
// compatibility, the candidate rule, flavor names.
#pragma once

#include <cstdint>
#include <string_view>

#include "../format/btf.hpp"

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

// The candidate rule: which target types a local type of this kind may match, and in which round.
// 0: never. 1: in the first round. 2: only if no target had a first-round candidate. Without the FWD
// extension this is libbpf's btf_kind_core_compat (same kind, or ENUM vs ENUM64), all in round 1.
// With it, a local FWD (kflag 0 = struct, 1 = union) matches a complete STRUCT/UNION in round 1 and,
// only where none exists, a target FWD in round 2; a target FWD never stands for a local STRUCT/UNION.
// The relocation kind does not enter: like libbpf's, the candidate list is searched once per local
// type and shared by all its relocations (a field or enumerator relocation cannot have a FWD root).
[[nodiscard]] constexpr int candidate_round(kind local, bool local_kflag, kind target, bool fwd_ext) noexcept {
    if (fwd_ext && local == kind::fwd) return fwd_resolves_to(local, local_kflag, target) ? 1 : target == kind::fwd ? 2 : 0;
    return kinds_core_compat(local, target) ? 1 : 0;
}
// The rounds a local type of this kind can have candidates in.
[[nodiscard]] constexpr int candidate_rounds_for(kind local, bool fwd_ext) noexcept { return fwd_ext && local == kind::fwd ? 2 : 1; }

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
