// A BTF's own named types by essential name: an open-addressing table of ids tagged with their
// name hash, built in one pass or borrowed from an index cache.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "../format/btf.hpp"
#include "name_hash.hpp"
#include "u32_table.hpp"

namespace btfkit {

// The essential-name hashes of a BTF's named types of indexed kinds, one per btf::named_indexed()
// entry: (1 << 32 | hash), or 0 for a name with nothing to index (empty). name_index::build takes them.
using named_hashes = std::vector<std::uint64_t>;

// Ids of a BTF's own named types of indexed kinds, by the hash of their essential name. Lookups
// compare names, so collisions cost a compare, never a wrong answer.
class name_index {
public:
    constexpr name_index() noexcept = default;

    // One pass, one allocation: an open-addressing table (load <= 2/3) of u32 slots, each holding a
    // type's id (relative, +1; 0 = empty) and the top bits of its name hash as a tag.
    [[nodiscard]] static constexpr name_index build(const btf& b) {
        name_index x = sized_for(b);
        auto& owned = x.slots_.own();
        const std::span<const std::uint32_t> listed = b.named_indexed();
        if (std::is_constant_evaluated()) {
            for (const std::uint32_t rel : listed) {
                std::uint32_t h = 0;
                if (essential_hash_of(b, b.name_off_of(x.first_ + rel), h)) x.insert(owned, h, rel + 1);
            }
            return x;
        }
        // Right after a parse the names are not in any cache: each is a miss.
        auto name_at = [&](std::size_t i) -> const char* {
            const std::uint32_t off = b.name_off_of(x.first_ + listed[i]);
            return off != 0 ? b.string_ptr(off) : nullptr;
        };
        detail::prefetched_loop(listed.size(), name_at, [&](std::size_t i) {
            std::uint32_t h = 0;
            if (essential_hash_of(b, b.name_off_of(x.first_ + listed[i]), h)) x.insert(owned, h, listed[i] + 1);
        });
        return x;
    }
    // The same index from the names' hashes taken already, one per b.named_indexed() entry (see
    // named_hashes); hashes of another length are ignored (built as above).
    [[nodiscard]] static name_index build(const btf& b, std::span<const std::uint64_t> hashes) {
        const std::span<const std::uint32_t> listed = b.named_indexed();
        if (hashes.size() != listed.size()) return build(b);
        name_index x = sized_for(b);
        auto& owned = x.slots_.own();
        for (std::size_t i = 0; i < listed.size(); ++i) {
            if (hashes[i] != 0) x.insert(owned, static_cast<std::uint32_t>(hashes[i]), listed[i] + 1);
        }
        return x;
    }

    // Calls f(id) for every own type whose essential name is `essential`, in id order.
    template <class F>
    constexpr void for_each(const btf& b, std::string_view essential, F&& f) const {
        if (slots_.empty()) return;
        const std::uint32_t h = name_hash(essential);
        const std::uint32_t tag = tag_of(h), id_mask = (1u << id_bits_) - 1;
        std::uint32_t found[32]{};
        std::uint32_t n = 0;
        bool overflow = false;
        // At most one lap: a borrowed table (from a cache file) might have no empty slot.
        for (std::uint32_t at = h & mask_, probes = 0; probes <= mask_; at = (at + 1) & mask_, ++probes) {
            const std::uint32_t e = slots_[at];
            if (e == 0) break;
            if ((e >> id_bits_) != tag) continue;
            const std::uint32_t rel = e & id_mask;
            if (rel == 0 || rel > b.type_count() - first_) continue;  // only a corrupt borrowed table
            const std::uint32_t id = first_ + rel - 1;
            if (essential_name(b[id].name()) != essential) continue;
            if (n == std::size(found)) {
                overflow = true;
                break;
            }
            found[n++] = id;
        }
        if (overflow) {  // more same-named types than the buffer holds: walk them all in id order
            for (std::uint32_t id = first_; id < b.type_count(); ++id) {
                if (indexed_kind(b.kind_of(id)) && essential_name(b[id].name()) == essential) f(id);
            }
            return;
        }
        for (std::uint32_t i = 1; i < n; ++i) {  // probe order -> id order (a handful of ids)
            for (std::uint32_t k = i; k > 0 && found[k - 1] > found[k]; --k) {
                const std::uint32_t t = found[k - 1];
                found[k - 1] = found[k];
                found[k] = t;
            }
        }
        for (std::uint32_t i = 0; i < n; ++i) f(found[i]);
    }

    [[nodiscard]] constexpr std::size_t memory_bytes() const noexcept { return slots_.memory_bytes(); }

    // The table as stored in an index cache (see index_cache.hpp).
    [[nodiscard]] constexpr std::uint32_t id_bits() const noexcept { return id_bits_; }
    [[nodiscard]] constexpr const detail::u32_table& slots() const noexcept { return slots_; }
    // The index of `b` over a borrowed table of `slot_count` little-endian u32 slots; empty if the
    // shape does not fit `b` (the table's contents are checked on every lookup).
    [[nodiscard]] static std::optional<name_index> borrow(const btf& b, const char* slots, std::uint32_t slot_count, std::uint32_t id_bits) {
        if (id_bits != id_bits_for(b.own_count()) || slot_count < 16 || (slot_count & (slot_count - 1)) != 0) return std::nullopt;
        name_index x;
        x.first_ = b.first_id();
        x.id_bits_ = id_bits;
        x.mask_ = slot_count - 1;
        x.slots_.borrow(slots, slot_count);
        return x;
    }

private:
    [[nodiscard]] static constexpr std::uint32_t id_bits_for(std::uint32_t count) noexcept {
        std::uint32_t bits = 1;
        while ((std::uint64_t{1} << bits) <= count) ++bits;
        return bits;
    }
    [[nodiscard]] constexpr std::uint32_t tag_of(std::uint32_t h) const noexcept {
        return id_bits_ >= 32 ? 0 : (h >> id_bits_) | 1u;  // never 0, so an entry is never 0
    }
    // An empty table for b's listed names (load factor <= 2/3).
    [[nodiscard]] static constexpr name_index sized_for(const btf& b) {
        name_index x;
        x.first_ = b.first_id();
        x.id_bits_ = id_bits_for(b.own_count());
        const auto named = static_cast<std::uint32_t>(b.named_indexed().size());
        std::uint32_t slots = 16;
        while (slots < named / 2 * 3 + 16) slots <<= 1;
        x.mask_ = slots - 1;
        auto& owned = x.slots_.own();
        if (std::is_constant_evaluated()) {
            for (std::uint32_t i = 0; i < slots; ++i) owned.push_back(0);
        } else {
            owned.resize(slots);
        }
        return x;
    }
    constexpr void insert(big_vector<std::uint32_t>& owned, std::uint32_t h, std::uint32_t rel1) const {
        const std::uint32_t e = (tag_of(h) << id_bits_) | rel1;
        std::uint32_t at = h & mask_;
        while (owned[at] != 0) at = (at + 1) & mask_;
        owned[at] = e;
    }

    std::uint32_t first_ = 1;
    std::uint32_t id_bits_ = 1;
    std::uint32_t mask_ = 0;
    detail::u32_table slots_{};
};

}  // namespace btfkit
