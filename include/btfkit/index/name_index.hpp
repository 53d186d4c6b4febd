// A BTF's own named types of one name space by name (essential, or whole for symbols): an
// open-addressing table of ids tagged with their name hash, built in one pass or borrowed from an
// index cache.
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

namespace detail {
// Own indexes (id - first id), in order, of b's types of name space s with a name offset: the parse's
// list for types (btf::named_indexed), else one walk over the records.
[[nodiscard]] constexpr std::vector<std::uint32_t> named_in(const btf& b, name_space s) {
    std::vector<std::uint32_t> out;
    for (std::uint32_t id = b.first_id(); id < b.type_count(); ++id) {
        if (in_name_space(b.kind_of(id), s) && b.name_off_of(id) != 0) out.push_back(id - b.first_id());
    }
    return out;
}
}  // namespace detail

// Ids of a BTF's own named types of one name space (types by default), by the hash of their name.
// Lookups compare names, so collisions cost a compare, never a wrong answer.
class name_index {
public:
    constexpr name_index() noexcept = default;

    // One pass, one allocation: an open-addressing table (load <= 2/3) of u32 slots, each holding a
    // type's id (relative, +1; 0 = empty) and the top bits of its name hash as a tag. The types
    // space takes the parse's list of named types; symbols list theirs first (one walk).
    [[nodiscard]] static constexpr name_index build(const btf& b, name_space sp = name_space::types) {
        if (sp == name_space::types) return build_listed(b, sp, b.named_indexed());
        const std::vector<std::uint32_t> listed = detail::named_in(b, sp);
        return build_listed(b, sp, listed);
    }
    // The types index from the names' hashes taken already, one per b.named_indexed() entry (see
    // named_hashes); hashes of another length are ignored (built as above).
    [[nodiscard]] static name_index build(const btf& b, std::span<const std::uint64_t> hashes) {
        const std::span<const std::uint32_t> listed = b.named_indexed();
        if (hashes.size() != listed.size()) return build(b);
        name_index x = sized_for(b, name_space::types, listed.size());
        auto& owned = x.slots_.own();
        for (std::size_t i = 0; i < listed.size(); ++i) {
            if (hashes[i] != 0) x.insert(owned, static_cast<std::uint32_t>(hashes[i]), listed[i] + 1);
        }
        return x;
    }

    // Calls f(id) for every own type of the index's name space whose name is `key` (an essential
    // name; a whole name for symbols), in id order.
    template <class F>
    constexpr void for_each(const btf& b, std::string_view key, F&& f) const {
        if (slots_.empty()) return;
        const std::uint32_t h = name_hash(key);
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
            if (!key_matches(space_, b[id].name(), key)) continue;
            if (n == std::size(found)) {
                overflow = true;
                break;
            }
            found[n++] = id;
        }
        if (overflow) {  // more same-named types than the buffer holds: walk them all in id order
            for (std::uint32_t id = first_; id < b.type_count(); ++id) {
                if (in_name_space(b.kind_of(id), space_) && key_matches(space_, b[id].name(), key)) f(id);
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
    [[nodiscard]] constexpr name_space space() const noexcept { return space_; }

    // The table as stored in an index cache (see index_cache.hpp).
    [[nodiscard]] constexpr std::uint32_t id_bits() const noexcept { return id_bits_; }
    [[nodiscard]] constexpr const detail::u32_table& slots() const noexcept { return slots_; }
    // The index of `b` over a borrowed table of `slot_count` little-endian u32 slots; empty if the
    // shape does not fit `b` (the table's contents are checked on every lookup).
    [[nodiscard]] static std::optional<name_index> borrow(const btf& b, const char* slots, std::uint32_t slot_count, std::uint32_t id_bits,
                                                         name_space sp = name_space::types) {
        if (id_bits != id_bits_for(b.own_count()) || slot_count < 16 || (slot_count & (slot_count - 1)) != 0) return std::nullopt;
        name_index x;
        x.space_ = sp;
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
    // An empty table for `named` names (load factor <= 2/3).
    [[nodiscard]] static constexpr name_index sized_for(const btf& b, name_space sp, std::size_t named) {
        name_index x;
        x.space_ = sp;
        x.first_ = b.first_id();
        x.id_bits_ = id_bits_for(b.own_count());
        std::size_t slots = 16;
        while (slots < named / 2 * 3 + 16) slots <<= 1;
        x.mask_ = static_cast<std::uint32_t>(slots - 1);
        auto& owned = x.slots_.own();
        if (std::is_constant_evaluated()) {
            for (std::size_t i = 0; i < slots; ++i) owned.push_back(0);
        } else {
            owned.resize(slots);
        }
        return x;
    }
    [[nodiscard]] static constexpr name_index build_listed(const btf& b, name_space sp, std::span<const std::uint32_t> listed) {
        name_index x = sized_for(b, sp, listed.size());
        auto& owned = x.slots_.own();
        if (std::is_constant_evaluated()) {
            for (const std::uint32_t rel : listed) {
                std::uint32_t h = 0;
                if (space_hash_of(b, b.name_off_of(x.first_ + rel), sp, h)) x.insert(owned, h, rel + 1);
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
            if (space_hash_of(b, b.name_off_of(x.first_ + listed[i]), sp, h)) x.insert(owned, h, listed[i] + 1);
        });
        return x;
    }
    constexpr void insert(big_vector<std::uint32_t>& owned, std::uint32_t h, std::uint32_t rel1) const {
        const std::uint32_t e = (tag_of(h) << id_bits_) | rel1;
        std::uint32_t at = h & mask_;
        while (owned[at] != 0) at = (at + 1) & mask_;
        owned[at] = e;
    }

    name_space space_ = name_space::types;
    std::uint32_t first_ = 1;
    std::uint32_t id_bits_ = 1;
    std::uint32_t mask_ = 0;
    detail::u32_table slots_{};
};

}  // namespace btfkit
