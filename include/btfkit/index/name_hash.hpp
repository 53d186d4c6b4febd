// The name hash the indexes are keyed by: word-at-a-time over a name, and straight from a string
// table, of the essential name (libbpf's, without a "___flavor" suffix) or of the whole name (symbols).
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "../bytes.hpp"
#include "../core/relo_rules.hpp"
#include "../format/btf.hpp"

namespace btfkit {

namespace detail {
inline constexpr std::uint64_t hash_k = 0x9e3779b97f4a7c15ull;
[[nodiscard]] constexpr std::uint64_t mix_word(std::uint64_t h, std::uint64_t w) noexcept {
    h = (h ^ w) * hash_k;
    return h ^ (h >> 29);
}
[[nodiscard]] constexpr std::uint32_t finish_hash(std::uint64_t h, std::size_t len) noexcept {
    h ^= len;
    h *= 0xff51afd7ed558ccdull;
    return static_cast<std::uint32_t>(h ^ (h >> 32));
}
// 8 bytes little-endian-first, whatever the host, so constant evaluation and run time agree.
[[nodiscard]] constexpr std::uint64_t word_at(const char* p, std::size_t n) noexcept {
    std::uint64_t w = 0;
    for (std::size_t k = 0; k < n; ++k) w |= std::uint64_t{static_cast<unsigned char>(p[k])} << (8 * k);
    return w;
}

}  // namespace detail

// A word-at-a-time hash of a name (8 bytes per step; the tail is zero-padded). Names are compared
// after a hash match, so it only needs to spread.
[[nodiscard]] constexpr std::uint32_t name_hash(std::string_view s) noexcept {
    std::uint64_t h = detail::hash_k;
    std::size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) h = detail::mix_word(h, detail::word_at(s.data() + i, 8));
    if (i < s.size()) h = detail::mix_word(h, detail::word_at(s.data() + i, s.size() - i));
    return detail::finish_hash(h, s.size());
}

namespace detail {
// name_hash of the NUL-terminated string at `p` (its essential name if `Essential`), with `end` the end
// of its string table: whole words while they fit; an essential name with "___" in it (rare) takes
// the exact path. Returns the string's length (the whole name's).
template <bool Essential>
[[nodiscard]] inline std::size_t hash_name_at(const char* p, const char* end, std::uint32_t& out) noexcept {
    std::uint64_t h = hash_k;
    std::size_t i = 0;
    [[maybe_unused]] std::uint64_t prev_us = 0;  // '_' bytes (0x80 each) of the previous word
    while (static_cast<std::size_t>(end - p) >= i + 8) {
        const std::uint64_t w = load<std::uint64_t>(p + i, byte_order::little);
        const std::uint64_t z = zero_bytes(w);
        if constexpr (Essential) {
            const std::uint64_t us = zero_bytes(w ^ (ones * '_'));
            // Three '_' in a row, inside this word or across the previous one: take the exact path.
            const std::uint64_t us_wide_lo = (us << 8) | (prev_us >> 56), us_wide_lo2 = (us << 16) | (prev_us >> 48);
            if ((us & us_wide_lo & us_wide_lo2) != 0) break;
            prev_us = us;
        }
        if (z != 0) {
            const std::size_t n = static_cast<std::size_t>(std::countr_zero(z)) / 8;
            // Bytes after the NUL belong to the next string: masked out, as name_hash zero-pads.
            if (n != 0) h = mix_word(h, w & ((1ull << (8 * n)) - 1));
            out = finish_hash(h, i + n);
            return i + n;
        }
        h = mix_word(h, w);
        i += 8;
    }
    const std::string_view s(p);
    out = name_hash(Essential ? essential_name(s) : s);
    return s.size();
}
// The same, false for an empty name.
template <bool Essential>
[[nodiscard]] inline bool name_hash_at(const char* p, const char* end, std::uint32_t& out) noexcept {
    if (*p == 0) return false;
    static_cast<void>(hash_name_at<Essential>(p, end, out));
    return true;
}
}  // namespace detail

// The NUL-terminated string at `p`, with `end` the end of its NUL-terminated string table, and its
// name_hash in `out`: one pass over the name for both.
[[nodiscard]] inline std::string_view hashed_name_at(const char* p, const char* end, std::uint32_t& out) noexcept {
    return {p, detail::hash_name_at<false>(p, end, out)};
}

// name_hash(essential_name(s)) for the NUL-terminated string at `p`, with `end` the end of its
// string table. Returns false for an empty name.
[[nodiscard]] inline bool essential_hash_at(const char* p, const char* end, std::uint32_t& out) noexcept {
    return detail::name_hash_at<true>(p, end, out);
}
// The hash a name is indexed by in name space `s`: of its essential name, or of the whole name
// (symbols). A lookup hashes its key with name_hash.
[[nodiscard]] inline bool space_hash_at(name_space s, const char* p, const char* end, std::uint32_t& out) noexcept {
    return compares_essential(s) ? detail::name_hash_at<true>(p, end, out) : detail::name_hash_at<false>(p, end, out);
}

// The same for a type's name, read straight from the string table.
[[nodiscard]] constexpr bool space_hash_of(const btf& b, std::uint32_t name_off, name_space sp, std::uint32_t& out) noexcept {
    if (name_off == 0) return false;
    if (std::is_constant_evaluated()) {
        std::string_view s;
        if (!b.string_at(name_off, s) || s.empty()) return false;
        out = name_hash(compares_essential(sp) ? essential_name(s) : s);
        return true;
    }
    const char* p = b.string_ptr(name_off);
    return p != nullptr && space_hash_at(sp, p, b.string_table_end(name_off), out);
}
[[nodiscard]] constexpr bool essential_hash_of(const btf& b, std::uint32_t name_off, std::uint32_t& out) noexcept {
    return space_hash_of(b, name_off, name_space::types, out);
}

// Whether a type named `name` answers a lookup of `key` in name space `s` (key: an essential name,
// or for symbols a whole name).
[[nodiscard]] constexpr bool key_matches(name_space s, std::string_view name, std::string_view key) noexcept {
    return compares_essential(s) ? essential_name(name) == key : name == key;
}

namespace detail {
// Calls f(i) for i in [0, n), address_of(i + 16) prefetched before each: for loops where every step
// misses the cache (the names, right after a parse), so that the misses overlap instead of coming
// one after another. address_of may give nullptr.
template <class Address, class F>
void prefetched_loop(std::size_t n, Address&& address_of, F&& f) {
    constexpr std::size_t ahead = 16;
    for (std::size_t i = 0; i < std::min(ahead, n); ++i) __builtin_prefetch(address_of(i));
    for (std::size_t i = 0; i < n; ++i) {
        if (i + ahead < n) __builtin_prefetch(address_of(i + ahead));
        f(i);
    }
}
}  // namespace detail

}  // namespace btfkit
