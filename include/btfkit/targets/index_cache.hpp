// Index cache: a target set's name indexes (vmlinux's and the module index, of each name space that
// has them) saved as bytes and borrowed back later, so that a lookup in the next process reads only
// the modules that hold a hit instead of every module. OS-free: the caller names what the image depends on with an index_key
// (kernel.hpp uses each file's path, size, mtime and inode), stores the bytes, and keeps them alive
// (mapped) while the target set uses them.
//
// Format (version 2), little-endian whatever the host, 4-byte aligned sections:
//   header (80 bytes): magic "BTFKIX01", version, flags (bit 0: types module index present, bit 1:
//     symbols module index present), key, module count, vmlinux own type count, vmlinux id bits,
//     types: vmlinux slot count, module buckets, module entries; failure count, failure bytes,
//     checksum of everything after its first 64 bytes; symbols: vmlinux slot count (0: none), module
//     buckets, module entries; a reserved 0
//   per name space (types, then symbols, each if present):
//     vmlinux name index slots        u32 x slots           (name_index's open-addressing table)
//     module bucket starts            u32 x (buckets + 1)   (CSR over the module entries)
//     module entries                  u32 x 2 x entries     (name hash, module_entry)
//   failures                          { u32 module, u32 length, message, pad to 4 } x count
// A loaded image is checked whole (size, checksum, shape) before anything is borrowed; lookups still
// bound every value they read and compare names after opening a module, so a bad image can only cost
// candidates, never memory safety.
#pragma once

#include <cstdint>
#include <string_view>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "../bytes.hpp"
#include "../error.hpp"
#include "../memory.hpp"
#include "target_set.hpp"
#include "../index/module_index.hpp"
#include "../index/name_hash.hpp"
#include "../index/name_index.hpp"

namespace btfkit {

// What an index image was built from, as a 64-bit digest: add the same facts in the same order to
// find the image again. A change in btfkit's index layout changes every key (the format version
// seeds it).
class index_key {
public:
    constexpr index_key() noexcept = default;
    constexpr index_key& add(std::uint64_t v) noexcept {
        h_ = mix(h_ + v * detail::hash_k);
        return *this;
    }
    constexpr index_key& add(std::string_view s) noexcept {
        add(s.size());
        std::size_t i = 0;
        for (; i + 8 <= s.size(); i += 8) add(detail::word_at(s.data() + i, 8));
        if (i < s.size()) add(detail::word_at(s.data() + i, s.size() - i));
        return *this;
    }
    [[nodiscard]] constexpr std::uint64_t value() const noexcept { return h_; }

private:
    [[nodiscard]] static constexpr std::uint64_t mix(std::uint64_t x) noexcept {  // splitmix64's finaliser
        x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
        x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
        return x ^ (x >> 31);
    }
    std::uint64_t h_ = 0x42544649'58000002ull;  // "BTFIX", format 2
};

namespace detail {

inline constexpr char index_magic[8] = {'B', 'T', 'F', 'K', 'I', 'X', '0', '1'};
inline constexpr std::uint32_t index_version = 2;
inline constexpr std::size_t index_header_size = 80;
inline constexpr std::size_t index_checksum_from = 64;  // the checksum covers the bytes from here on
inline constexpr std::uint32_t index_has_modules = 1;   // flag bit of the types space; << 1 for symbols
// Where a name space's three counts (vmlinux slots, module buckets, module entries) are in the header.
[[nodiscard]] constexpr std::size_t index_space_counts_at(name_space sp) noexcept { return sp == name_space::types ? 36 : 64; }

// Four independent multiply lanes over 8-byte words (the tail zero-padded): spreads well enough to
// catch a torn or damaged file, at memory speed.
[[nodiscard]] constexpr std::uint64_t index_checksum(const char* p, std::size_t n) noexcept {
    std::uint64_t lane[4] = {hash_k, hash_k ^ 1, hash_k ^ 2, hash_k ^ 3};
    std::size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        for (std::size_t k = 0; k < 4; ++k) lane[k] = mix_word(lane[k], load<std::uint64_t>(p + i + 8 * k, byte_order::little));
    }
    for (std::size_t k = 0; i < n; i += 8, ++k) lane[k & 3] = mix_word(lane[k & 3], word_at(p + i, n - i < 8 ? n - i : 8));
    return index_key{}.add(lane[0]).add(lane[1]).add(lane[2]).add(lane[3]).add(n).value();
}

// A failure record: module index, length, then the message padded with NULs to 4 bytes.
[[nodiscard]] constexpr std::uint64_t failure_record_size(std::uint64_t len) noexcept { return 8 + (len + 3) / 4 * 4; }

}  // namespace detail

namespace index_cache {

// The target set's indexes as an image keyed by `key`: per indexed name space, the vmlinux name index
// if built (types': always) and the module index if built (with the modules that failed, unless the OS
// refused one: that may pass, so neither it nor a module index that lacks it is recorded). Fails if
// vmlinux's types index was never built.
[[nodiscard]] inline result<byte_buffer> save(const target_set& s, std::uint64_t key) {
    constexpr name_space spaces[] = {name_space::types, name_space::symbols};
    if (!s.vmlinux_index_ready()) return error(errc::unsupported, "the vmlinux name index is not built").in_section("index cache");
    bool io_failure = false;
    for (std::uint32_t i = 0; i < s.module_count(); ++i) {
        bool by_os = false;
        io_failure |= s.module_failed(i, &by_os) && by_os;
    }
    const module_index* mods[2] = {nullptr, nullptr};
    bool any_mods = false;
    std::size_t tables = 0;
    for (const name_space sp : spaces) {
        const auto k = static_cast<std::size_t>(sp);
        mods[k] = io_failure ? nullptr : s.modules_index(sp);
        any_mods |= mods[k] != nullptr;
        tables += s.vmlinux_index(sp).slots().size() + (mods[k] ? mods[k]->buckets() + 1 + 2ull * mods[k]->entries() : 0);
    }
    std::uint32_t failures = 0;
    std::size_t failure_bytes = 0;
    for (std::uint32_t i = 0; any_mods && i < s.module_count(); ++i) {
        if (!s.module_failed(i)) continue;
        ++failures;
        failure_bytes += detail::failure_record_size(s.module_failure(i).size());
    }
    byte_buffer out;
    out.resize(detail::index_header_size + 4 * tables + failure_bytes);
    char* p = out.data();
    auto put32 = [&](std::uint32_t v) { detail::store(p, v, byte_order::little); p += 4; };
    auto put_table = [&](const detail::u32_table& t) {
        t.store_le(p);
        p += 4 * t.size();
    };
    auto put_counts = [&](name_space sp) {
        const module_index* m = mods[static_cast<std::size_t>(sp)];
        put32(static_cast<std::uint32_t>(s.vmlinux_index(sp).slots().size()));
        put32(m ? m->buckets() : 0);
        put32(m ? m->entries() : 0);
    };
    for (char c : detail::index_magic) *p++ = c;
    put32(detail::index_version);
    put32((mods[0] ? detail::index_has_modules : 0) | (mods[1] ? detail::index_has_modules << 1 : 0));
    detail::store(p, key, byte_order::little);
    p += 8;
    put32(s.module_count());
    put32(s.vmlinux().own_count());
    put32(s.vmlinux_index().id_bits());
    put_counts(name_space::types);
    put32(failures);
    put32(static_cast<std::uint32_t>(failure_bytes));
    char* const checksum_at = p;
    p += 8;
    put_counts(name_space::symbols);
    put32(0);
    for (const name_space sp : spaces) {
        put_table(s.vmlinux_index(sp).slots());
        if (const module_index* m = mods[static_cast<std::size_t>(sp)]) {
            put_table(m->starts());
            put_table(m->pairs());
        }
    }
    for (std::uint32_t i = 0; any_mods && i < s.module_count(); ++i) {
        if (!s.module_failed(i)) continue;
        const std::string_view why = s.module_failure(i);
        put32(i);
        put32(static_cast<std::uint32_t>(why.size()));
        for (std::size_t k = 0; k < detail::failure_record_size(why.size()) - 8; ++k) *p++ = k < why.size() ? why[k] : '\0';
    }
    using detail::index_checksum_from;
    detail::store(checksum_at, detail::index_checksum(out.data() + index_checksum_from, out.size() - index_checksum_from), byte_order::little);
    return out;
}

// Borrows the indexes of an image saved for the same key, modules and vmlinux (the bytes must outlive
// the target set's use of them). Any mismatch or damage is an error naming it (errc::not_found when
// the image is merely stale) and leaves the set as it was.
[[nodiscard]] inline status load(target_set& s, byte_span img, std::uint64_t key) {
    using detail::index_header_size;
    auto bad = [&](const char* what, std::size_t off, errc code = errc::bad_header) { return error(code, what).in_section("index cache").at_offset(off); };
    if (img.size() < index_header_size) return error(errc::truncated, "index cache shorter than its header").in_section("index cache").got(img.size());
    for (std::size_t i = 0; i < 8; ++i) {
        if (img[i] != detail::index_magic[i]) return bad("not a btfkit index cache (magic)", 0, errc::bad_magic);
    }
    const byte_reader r{img, byte_order::little};
    if (r.u32(8) != detail::index_version) return error(errc::unsupported, "index cache format version").in_section("index cache").at_offset(8).got(r.u32(8));
    const std::uint32_t flags = r.u32(12);
    if ((flags & ~(detail::index_has_modules | detail::index_has_modules << 1)) != 0) return bad("unknown index cache flags", 12);
    if (r.u64(16) != key) return error(errc::not_found, "index cache is stale (built from other files)").in_section("index cache").at_offset(16);
    const std::uint32_t modules = r.u32(24), vm_count = r.u32(28), id_bits = r.u32(32);
    const std::uint32_t failures = r.u32(48), failure_bytes = r.u32(52);
    if (modules != s.module_count()) return bad("index cache module count differs from the target set", 24);
    if (vm_count != s.vmlinux().own_count()) return bad("index cache vmlinux type count differs", 28);
    if (r.u32(76) != 0) return bad("index cache reserved field is not 0", 76);
    struct counts {
        std::uint32_t slots, buckets, entries;
        bool mods;
    } c[2];
    std::uint64_t tables = 0;
    for (const name_space sp : {name_space::types, name_space::symbols}) {
        const auto k = static_cast<std::size_t>(sp);
        const std::size_t at = detail::index_space_counts_at(sp);
        c[k] = {r.u32(at), r.u32(at + 4), r.u32(at + 8), (flags & (detail::index_has_modules << k)) != 0};
        if (c[k].mods != (c[k].buckets != 0) || (!c[k].mods && c[k].entries != 0)) return bad("index cache module index shape", at + 4);
        tables += std::uint64_t{c[k].slots} + (c[k].mods ? std::uint64_t{c[k].buckets} + 1 : 0) + 2ull * c[k].entries;
    }
    if (!c[0].mods && !c[1].mods && failures != 0) return bad("index cache failures without a module index", 48);
    if (index_header_size + 4 * tables + failure_bytes != img.size()) {
        return error(errc::truncated, "index cache size does not match its header").in_section("index cache").got(img.size());
    }
    using detail::index_checksum_from;
    if (detail::index_checksum(img.data() + index_checksum_from, img.size() - index_checksum_from) != r.u64(56)) return bad("index cache checksum mismatch", 56);
    const char* at = img.data() + index_header_size;
    std::optional<name_index> vm[2];
    std::optional<module_index> mod_index[2];
    for (const name_space sp : {name_space::types, name_space::symbols}) {
        const auto k = static_cast<std::size_t>(sp);
        if (sp == name_space::types || c[k].slots != 0) {
            vm[k] = name_index::borrow(s.vmlinux(), at, c[k].slots, id_bits, sp);
            if (!vm[k]) return bad("index cache vmlinux table does not fit this vmlinux", static_cast<std::size_t>(at - img.data()));
            at += 4ull * c[k].slots;
        }
        if (c[k].mods) {
            auto m = module_index::borrow(at, c[k].buckets, at + 4ull * (c[k].buckets + 1), c[k].entries);
            if (!m) return m.error().in_section("index cache").at_offset(static_cast<std::size_t>(at - img.data()));
            mod_index[k] = std::move(*m);
            at += 4ull * (c[k].buckets + 1) + 8ull * c[k].entries;
        }
    }
    // Failures: checked whole before anything changes.
    std::vector<std::pair<std::uint32_t, std::string>> failed;
    std::size_t off = static_cast<std::size_t>(at - img.data());
    for (std::uint32_t i = 0; i < failures; ++i) {
        if (img.size() - off < 8) return bad("index cache failure record truncated", off);
        const std::uint32_t mod = r.u32(off), len = r.u32(off + 4);
        if (mod >= modules || detail::failure_record_size(len) > img.size() - off) return bad("index cache failure record out of range", off);
        failed.emplace_back(mod, std::string(img.data() + off + 8, len));
        off += detail::failure_record_size(len);
    }
    if (off != img.size()) return bad("index cache failure records do not fill their section", off);
    for (const name_space sp : {name_space::types, name_space::symbols}) {
        const auto k = static_cast<std::size_t>(sp);
        s.use_indexes(sp, std::move(vm[k]), std::move(mod_index[k]), failed);
    }
    return {};
}

}  // namespace index_cache

}  // namespace btfkit
