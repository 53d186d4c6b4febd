// The module index: the named types of one name space of every module, by name hash, in one table
// of (hash, module entry) pairs bucketed by hash (CSR) and kept in module order; and the walk that
// lists one module's entries from its bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <utility>

#include "../error.hpp"
#include "../format/btf.hpp"
#include "../memory.hpp"
#include "name_hash.hpp"
#include "u32_table.hpp"

namespace btfkit {

// Reads module `module`'s raw BTF bytes (1-based: 0 is vmlinux) into `buf`, resized to fit; an error
// skips the module. Called from two threads at once by the parallel strategies (each with its own
// buffer).
using module_loader = std::function<status(std::uint32_t module, byte_buffer& buf)>;

// Which module (0-based) and which of its own types (id - first id), packed in one u32.
struct module_entry {
    static constexpr std::uint32_t local_bits = 18;
    static constexpr std::uint32_t max_modules = 1u << (32 - local_bits);
    static constexpr std::uint32_t max_local = 1u << local_bits;

    [[nodiscard]] static constexpr std::uint32_t pack(std::uint32_t module, std::uint32_t local) noexcept {
        return module << local_bits | local;
    }
    [[nodiscard]] static constexpr std::uint32_t module_of(std::uint32_t e) noexcept { return e >> local_bits; }
    [[nodiscard]] static constexpr std::uint32_t local_of(std::uint32_t e) noexcept { return e & (max_local - 1); }
};

namespace detail {
// Every name is hashed (no prefilter).
struct any_name {
    [[nodiscard]] constexpr bool operator()(const char*) const noexcept { return true; }
};

// index_module for a name space known at compile time: its kinds and its hash inline in the walk.
template <name_space Sp, class Base, class Emit, class Want>
status index_module_in(std::uint32_t i, byte_span bytes, const Base& base, std::uint32_t first, Emit&& emit, Want&& want) {
    bool too_many = false;
    constexpr std::uint32_t kinds = name_space_kinds(Sp);
    BTFKIT_TRY(btf::walk_named(bytes, base, [&](std::uint32_t id, kind k, const char* name, const char* end) {
        if (((kinds >> static_cast<std::uint32_t>(k)) & 1u) == 0) return;
        if (id - first >= module_entry::max_local) {
            too_many = true;
            return;
        }
        std::uint32_t h = 0;
        if (!want(name) || !name_hash_at<compares_essential(Sp)>(name, end, h)) return;
        emit(h, module_entry::pack(i, id - first));
    }));
    if (too_many) return error(errc::unsupported, "module has too many types for the index");
    return {};
}
}  // namespace detail

// Calls emit(hash, module entry) for each named type of name space `sp` (types or symbols) in module
// i's bytes, walked over its base (a parsed btf, whose type count is `first`, or base_strings, with
// `first` 0). `want(name)`, where given, is asked first: a name it refuses is not hashed (a cheap
// test on the name's bytes for a walk that wants a few names only).
template <class Base, class Emit, class Want = detail::any_name>
status index_module(std::uint32_t i, byte_span bytes, const Base& base, std::uint32_t first, name_space sp, Emit&& emit, Want&& want = {}) {
    if (sp == name_space::symbols) return detail::index_module_in<name_space::symbols>(i, bytes, base, first, emit, want);
    return detail::index_module_in<name_space::types>(i, bytes, base, first, emit, want);
}

class module_index {
public:
    module_index() = default;

    // The index of `parts`, each a run of (hash, entry) pairs in module order; every module's pairs
    // are in one part (the parallel build gives each thread every other module).
    [[nodiscard]] static module_index build(std::uint32_t modules, std::span<const big_vector<std::uint32_t>> parts) {
        std::size_t total = 0;
        for (const auto& p : parts) total += p.size() / 2;
        module_index x;
        std::uint32_t buckets = 1;
        while (buckets < total / 2 + 1) buckets <<= 1;
        x.mask_ = buckets - 1;
        auto& start = x.starts_.own();
        start.assign(buckets + 1, 0);
        for (const auto& p : parts) {
            for (std::size_t k = 0; k < p.size(); k += 2) ++start[(p[k] & x.mask_) + 1];
        }
        for (std::uint32_t i = 0; i < buckets; ++i) start[i + 1] += start[i];
        big_vector<std::uint32_t> fill(start.begin(), start.end() - 1);
        auto& pairs = x.pairs_.own();
        pairs.assign(2 * total, 0);
        // In module order, so that a bucket lists a hash's entries module by module.
        std::vector<std::size_t> at(parts.size(), 0);
        for (std::uint32_t m = 0; m < modules; ++m) {
            for (std::size_t k = 0; k < parts.size(); ++k) {
                const auto& p = parts[k];
                for (std::size_t& i = at[k]; i < p.size() && module_entry::module_of(p[i + 1]) == m; i += 2) {
                    const std::uint32_t slot = fill[p[i] & x.mask_]++;
                    pairs[2 * slot] = p[i];
                    pairs[2 * slot + 1] = p[i + 1];
                }
            }
        }
        return x;
    }

    // The index over borrowed little-endian tables (an index cache): `starts` holds buckets + 1
    // values, `pairs` 2 x entries. Checked whole: a power-of-two bucket count, starts in order from 0
    // to the entry count; the entries themselves are checked on every lookup.
    [[nodiscard]] static result<module_index> borrow(const char* starts, std::uint32_t buckets, const char* pairs, std::uint32_t entries) {
        if (buckets == 0 || (buckets & (buckets - 1)) != 0) return error(errc::bad_header, "module index bucket count is not a power of two").got(buckets);
        std::uint32_t prev = 0;
        for (std::uint32_t i = 0; i <= buckets; ++i) {
            const std::uint32_t v = detail::load<std::uint32_t>(starts + 4ull * i, byte_order::little);
            if (v < prev || v > entries || (i == 0 && v != 0) || (i == buckets && v != entries)) {
                return error(errc::bad_header, "module index bucket starts out of order").at_index("bucket", i);
            }
            prev = v;
        }
        module_index x;
        x.mask_ = buckets - 1;
        x.starts_.borrow(starts, buckets + 1);
        x.pairs_.borrow(pairs, 2ull * entries);
        return x;
    }

    // Calls f(entry) for the entries whose hash is h (collisions included: callers compare names), in
    // module order.
    template <class F>
    void for_each(std::uint32_t h, F&& f) const {
        if (starts_.empty()) return;
        const std::uint32_t bucket = h & mask_;
        // Bounds hold for a built index; the min is for one borrowed from a damaged cache file.
        const std::size_t end = std::min<std::size_t>(starts_[bucket + 1], pairs_.size() / 2);
        for (std::size_t i = starts_[bucket]; i < end; ++i) {
            if (pairs_[2 * i] == h) f(pairs_[2 * i + 1]);
        }
    }

    [[nodiscard]] std::uint32_t buckets() const noexcept { return mask_ + 1; }
    [[nodiscard]] std::uint32_t entries() const noexcept { return static_cast<std::uint32_t>(pairs_.size() / 2); }
    // The tables as an index cache stores them: bucket starts (buckets + 1), then the pairs.
    [[nodiscard]] const detail::u32_table& starts() const noexcept { return starts_; }
    [[nodiscard]] const detail::u32_table& pairs() const noexcept { return pairs_; }
    [[nodiscard]] std::size_t memory_bytes() const noexcept { return starts_.memory_bytes() + pairs_.memory_bytes(); }

private:
    std::uint32_t mask_ = 0;
    detail::u32_table starts_{};  // bucket -> first entry, buckets + 1 values
    detail::u32_table pairs_{};   // hash, entry
};

}  // namespace btfkit
