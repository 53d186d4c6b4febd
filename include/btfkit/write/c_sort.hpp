// bpftool 7.5's order of types in a C header: rank, sort name, own name and a hash of names
// (btf_type_rank, btf_type_sort_name, btf_type_disambig_hash), sorted a rank at a time.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <ranges>
#include <span>
#include <utility>
#include <vector>

#include "../format/btf.hpp"
#include "../memory.hpp"
#include "c_names.hpp"

namespace btfkit::detail {

// The string at `off` as a C string, "" where the offset is bad (the string tables end in a NUL).
[[nodiscard]] inline const char* c_sort_string(const btf& b, std::uint32_t off) noexcept {
    const char* p = b.string_ptr(off);
    return p != nullptr ? p : "";
}

// bpftool 7.5's sort keys of one type: rank and sort name (btf_type_rank, btf_type_sort_name).
class c_sort_keys {
public:
    explicit c_sort_keys(const btf& b) noexcept : b_(b) {}

    [[nodiscard]] int rank(std::uint32_t id, bool has_name, unsigned depth = 0) const {
        constexpr int max_rank = 10;
        if (depth > c_max_nesting) return max_rank;
        const type t = b_[id];
        if (t.name_off() != 0) has_name = true;
        switch (t.kind()) {
        case kind::enum_: case kind::enum64: return has_name ? 1 : 0;
        case kind::int_: case kind::float_: return 2;
        case kind::struct_: case kind::union_: return has_name ? 3 : max_rank;
        case kind::func_proto: return has_name ? 4 : max_rank;
        case kind::array: return has_name ? rank(t.array().type, has_name, depth + 1) : max_rank;
        case kind::type_tag: case kind::const_: case kind::ptr: case kind::volatile_: case kind::restrict_:
        case kind::typedef_: case kind::decl_tag:
            return has_name ? rank(t.ref(), has_name, depth + 1) : max_rank;
        default: return max_rank;
        }
    }

    // The string offset of the sort name.
    [[nodiscard]] std::uint32_t sort_name(std::uint32_t id, bool from_ref, unsigned depth = 0) const {
        if (depth > c_max_nesting) return 0;
        const type t = b_[id];
        switch (t.kind()) {
        case kind::enum_: case kind::enum64: {
            std::uint32_t off = t.name_off();
            if (!from_ref && off == 0 && t.vlen() != 0) off = t.enumerators()[0].name_off;
            return off;
        }
        case kind::array: return sort_name(t.array().type, true, depth + 1);
        case kind::type_tag: case kind::const_: case kind::ptr: case kind::volatile_: case kind::restrict_:
        case kind::typedef_: case kind::decl_tag:
            return sort_name(t.ref(), true, depth + 1);
        default: return t.name_off();
        }
    }

    [[nodiscard]] const char* name(std::uint32_t off) const noexcept { return c_sort_string(b_, off); }

private:
    const btf& b_;
};

// bpftool 7.5's last key (btf_type_disambig_hash), remembered for every id it reaches: a member
// type, or a struct behind many pointers, is hashed once.
class c_sort_hashes {
public:
    explicit c_sort_hashes(const btf& b) : b_(b), memo_(b.type_count()), memo_full_(b.type_count()), known_(b.type_count()) {}

    // libbpf's str_hash: h * 31 + c over (signed) chars.
    [[nodiscard]] static std::uint64_t str_hash(const char* s) noexcept {
        std::uint64_t h = 0;
        for (; *s != 0; ++s) h = h * 31 + static_cast<std::uint64_t>(static_cast<std::int64_t>(static_cast<signed char>(*s)));
        return h;
    }

    [[nodiscard]] std::uint64_t disambig_hash(std::uint32_t id, bool include_members, unsigned depth = 0) {
        if (depth > c_max_nesting) return 0;
        const std::uint8_t bit = include_members ? 2 : 1;
        if ((known_[id] & bit) != 0) return include_members ? memo_full_[id] : memo_[id];
        const std::uint64_t h = disambig_hash_of(id, include_members, depth);
        (include_members ? memo_full_[id] : memo_[id]) = h;
        known_[id] = static_cast<std::uint8_t>(known_[id] | bit);
        return h;
    }

private:
    [[nodiscard]] static constexpr std::uint64_t hasher(std::uint64_t h, std::uint64_t v) noexcept { return h * 31 + v; }
    [[nodiscard]] std::uint64_t name_hasher(std::uint64_t h, std::uint32_t off) const {
        return off == 0 ? h : hasher(h, str_hash(c_sort_string(b_, off)));
    }

    [[nodiscard]] std::uint64_t disambig_hash_of(std::uint32_t id, bool include_members, unsigned depth) {
        const type t = b_[id];
        std::uint64_t h = name_hasher(0, t.name_off());
        switch (t.kind()) {
        case kind::enum_: case kind::enum64:
            for (const enumerator e : t.enumerators()) h = name_hasher(h, e.name_off);
            break;
        case kind::struct_: case kind::union_:
            if (!include_members) break;
            for (const member m : t.members()) {
                h = name_hasher(h, m.name_off);
                h = hasher(h, disambig_hash(m.type, false, depth + 1));
            }
            break;
        case kind::type_tag: case kind::const_: case kind::ptr: case kind::volatile_: case kind::restrict_:
        case kind::typedef_: case kind::decl_tag:
            h = hasher(h, disambig_hash(t.ref(), include_members, depth + 1));
            break;
        case kind::array: {
            const array_info a = t.array();
            h = hasher(h, a.nelems);
            h = hasher(h, disambig_hash(a.type, include_members, depth + 1));
            break;
        }
        default:
            break;
        }
        return h;
    }

    const btf& b_;
    big_vector<std::uint64_t> memo_, memo_full_;  // without and with members (known_ bits 1 and 2)
    big_vector<std::uint8_t> known_;
};

// The rank in the top byte and the sort name's first 7 bytes, then its next 8 bytes, big-endian and
// NUL-padded: ordered as bpftool's comparison orders them, so most comparisons are integer compares.
struct c_sort_prefix {
    std::uint64_t hi = 0, lo = 0;

    c_sort_prefix() noexcept = default;
    c_sort_prefix(int rank, const char* s) noexcept : hi(static_cast<std::uint64_t>(rank)) {
        bool ended = false;
        for (std::size_t i = 0; i < 15; ++i) {
            ended = ended || s[i] == 0;
            const std::uint64_t c = ended ? 0u : static_cast<unsigned char>(s[i]);
            if (i < 7) hi = (hi << 8) | c;
            else lo = (lo << 8) | c;
        }
    }
    [[nodiscard]] bool operator==(const c_sort_prefix&) const noexcept = default;
    [[nodiscard]] bool operator<(const c_sort_prefix& o) const noexcept { return hi != o.hi ? hi < o.hi : lo < o.lo; }
};

// strcmp's order (bytes as unsigned char).
[[nodiscard]] inline int c_strcmp(const char* a, const char* b) noexcept {
    for (; *a != 0 && *a == *b; ++a, ++b) {}
    return static_cast<int>(static_cast<unsigned char>(*a)) - static_cast<int>(static_cast<unsigned char>(*b));
}

// Fewer types than this are sorted and dumped on the calling thread alone: a thread would cost more
// than it saves.
inline constexpr std::uint32_t c_sort_split_min = 16384;

// Runs both callables, one after the other (write_c_header's default run_both).
struct c_run_inline {
    template <class A, class B>
    void operator()(A&& first, B&& second) const {
        first();
        second();
    }
};

// Kinds whose btf_dump__dump_type writes nothing and leaves no state that another type's dump reads
// (it only marks them ordered): where they sort does not change the header.
[[nodiscard]] constexpr bool c_dumps_nothing(kind k) noexcept {
    return k == kind::unknown || k == kind::int_ || k == kind::float_ || k == kind::func || k == kind::var ||
           k == kind::datasec || k == kind::decl_tag;
}

// bpftool 7.5's order: rank, sort name, own name, disambiguation hash, id, for the types whose dump
// writes something; the others are left out, but still decide whether the first type is skipped.
// Grouped by rank first (ranks 0-10), then keyed and sorted a group at a time (sort_group), so that a
// caller can dump a group while the next is sorted. The hash is taken only where the names tie: a run of equal names is sorted by it afterwards.
class c_sort_order {
public:
    static constexpr std::size_t group_count = 11;  // ranks 0 to 10

    explicit c_sort_order(const btf& b) : b_(b), keys_(b) {}

    // Groups every id that dumps something by rank, each group's other keys left to sort_group.
    void group() {
        const std::uint32_t n = b_.type_count();
        entries_.reserve(n);
        for (std::uint32_t id = 0; id < n; ++id) {
            const int rank = keys_.rank(id, false);
            if (c_dumps_nothing(b_.kind_of(id))) {
                quiet_.push_back({id, static_cast<std::uint8_t>(rank)});
            } else {
                entry x{{}, id, 0, 0, false, false};
                x.prefix.hi = static_cast<std::uint64_t>(rank) << 56;
                entries_.push_back(x);
            }
        }
        // In place: each entry swapped straight into its group's next free slot.
        std::size_t next[group_count] = {};
        for (const entry& x : entries_) ++start_[rank_of(x) + 1];
        for (std::size_t g = 0; g < group_count; ++g) {
            start_[g + 1] += start_[g];
            next[g] = start_[g];
        }
        for (std::size_t g = 0; g < group_count; ++g) {
            while (next[g] < start_[g + 1]) {
                entry& x = entries_[next[g]];
                const std::size_t r = rank_of(x);
                if (r == g) ++next[g];
                else std::swap(x, entries_[next[r]++]);
            }
        }
    }

    // Keys and sorts group g (after group()); the groups are sorted in order, 0 first.
    void sort_group(std::size_t g) {
        const auto first = entries_.begin() + static_cast<std::ptrdiff_t>(start_[g]);
        const auto last = entries_.begin() + static_cast<std::ptrdiff_t>(start_[g + 1]);
        for (auto i = first; i != last; ++i) key(*i);
        std::sort(first, last, [this](const entry& x, const entry& y) {
            const int r = compare_names(x, y);
            return r != 0 ? r < 0 : x.id < y.id;
        });
        // Runs of equal names, by hash and then id (the id order they are in now).
        for (auto i = first; i != last;) {
            auto j = i + 1;
            while (j != last && compare_names(*i, *j) == 0) ++j;
            if (j - i > 1) {
                if (!hashes_) hashes_.emplace(b_);
                run_.clear();
                for (auto k = i; k != j; ++k) run_.push_back({hashes_->disambig_hash(k->id, true), k->id});
                if (!std::is_sorted(run_.begin(), run_.end())) std::sort(run_.begin(), run_.end());  // most runs: one hash
                for (auto k = i; k != j; ++k) k->id = run_[static_cast<std::size_t>(k - i)].second;
            }
            i = j;
        }
        if (!first_known_ && first != last) decide_skip_first(*first);
    }

    // Group g's ids, in order (once sorted).
    [[nodiscard]] auto group(std::size_t g) const noexcept {
        return std::span<const entry>(entries_).subspan(start_[g], start_[g + 1] - start_[g]) | std::views::transform(&entry::id);
    }
    // bpftool sorts every id, void included, and dumps from the second on: true when the first of all
    // is the first id of the first group with any (it is then written only where another type needs it), false when it is a type
    // that dumps nothing. Known once the first group with any type is sorted.
    [[nodiscard]] bool skip_first() const noexcept { return skip_first_; }

private:
    struct entry {
        c_sort_prefix prefix;
        std::uint32_t id;
        std::uint32_t sort_name, own_name;  // string offsets
        bool whole_name;  // the sort name fits in the prefix: equal prefixes mean equal sort names
        bool anonymous;   // no own name
    };

    [[nodiscard]] static std::size_t rank_of(const entry& x) noexcept { return static_cast<std::size_t>(x.prefix.hi >> 56); }

    // The keys past the rank, which group() has put in the prefix's top byte.
    void key(entry& x) {
        x.sort_name = keys_.sort_name(x.id, false);
        x.own_name = b_.name_off_of(x.id);
        const char* sort_name = keys_.name(x.sort_name);
        x.prefix = c_sort_prefix(static_cast<int>(rank_of(x)), sort_name);
        x.whole_name = false;
        for (std::size_t i = 0; i < 15 && !x.whole_name; ++i) x.whole_name = sort_name[i] == 0;
        x.anonymous = *keys_.name(x.own_name) == 0;
    }

    // By rank and names alone: 0 where only the hash (then the id) can tell them apart.
    [[nodiscard]] int compare_names(const entry& x, const entry& y) const noexcept {
        if (!(x.prefix == y.prefix)) return x.prefix < y.prefix ? -1 : 1;
        if (!(x.whole_name && y.whole_name)) {
            if (const int r = c_strcmp(keys_.name(x.sort_name), keys_.name(y.sort_name)); r != 0) return r;
        }
        if (!(x.anonymous && y.anonymous)) {
            if (const int r = c_strcmp(keys_.name(x.own_name), keys_.name(y.own_name)); r != 0) return r;
        }
        return 0;
    }

    // Whether a left-out type sorts before `first`: by rank first (most are rank 10, past any named type).
    void decide_skip_first(const entry& first) {
        first_known_ = true;
        skip_first_ = true;
        for (const auto& [id, rank] : quiet_) {
            if (rank > rank_of(first)) continue;
            entry q{{}, id, 0, 0, false, false};
            q.prefix.hi = static_cast<std::uint64_t>(rank) << 56;
            key(q);
            int r = compare_names(q, first);
            if (r == 0) {
                if (!hashes_) hashes_.emplace(b_);
                const std::uint64_t hq = hashes_->disambig_hash(id, true), hf = hashes_->disambig_hash(first.id, true);
                r = hq != hf ? (hq < hf ? -1 : 1) : (id < first.id ? -1 : 1);
            }
            if (r < 0) {
                skip_first_ = false;
                return;
            }
        }
    }

    const btf& b_;
    c_sort_keys keys_;
    big_vector<std::pair<std::uint32_t, std::uint8_t>> quiet_;  // the ids left out, with their ranks
    big_vector<entry> entries_;        // by rank group, each sorted by sort_group
    std::size_t start_[group_count + 1] = {};  // group g is entries_[start_[g], start_[g + 1])
    std::optional<c_sort_hashes> hashes_;
    std::vector<std::pair<std::uint64_t, std::uint32_t>> run_;
    bool first_known_ = false, skip_first_ = false;
};

// The types bpftool 7.5 dumps one by one, in its order.
struct c_dump_order {
    big_vector<std::uint32_t> ids;  // every id of a kind that dumps something, sorted
    bool skip_first = false;        // see c_sort_order::skip_first
};

// Every group of c_sort_order sorted.
[[nodiscard]] inline c_dump_order c_sorted_ids(const btf& b) {
    c_sort_order order(b);
    order.group();
    c_dump_order out;
    for (std::size_t g = 0; g < c_sort_order::group_count; ++g) {
        order.sort_group(g);
        for (const std::uint32_t id : order.group(g)) out.ids.push_back(id);
    }
    out.skip_first = order.skip_first();
    return out;
}

}  // namespace btfkit::detail
