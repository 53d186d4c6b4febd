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
        if (!refers(b_.kind_of(id))) return name_hasher(0, b_.name_off_of(id));  // its name alone: nothing to remember
        const std::uint8_t bit = include_members ? 2 : 1;
        if ((known_[id] & bit) != 0) return include_members ? memo_full_[id] : memo_[id];
        const std::uint64_t h = disambig_hash_of(id, include_members, depth);
        (include_members ? memo_full_[id] : memo_[id]) = h;
        known_[id] = static_cast<std::uint8_t>(known_[id] | bit);
        return h;
    }

private:
    // Kinds whose hash takes more than their own name (disambig_hash_of's cases).
    [[nodiscard]] static constexpr bool refers(kind k) noexcept {
        switch (k) {
        case kind::enum_: case kind::enum64: case kind::struct_: case kind::union_: case kind::type_tag: case kind::const_:
        case kind::ptr: case kind::volatile_: case kind::restrict_: case kind::typedef_: case kind::decl_tag: case kind::array:
            return true;
        default:
            return false;
        }
    }
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

// Permutes [first, last) in place so that the elements come in order of bucket(x) (0 to N - 1),
// each moved straight to its bucket's next free slot; `starts` gets each bucket's start (N + 1 values,
// relative to first).
template <std::size_t N, class It, class Bucket>
void c_partition(It first, It last, Bucket&& bucket, std::size_t (&starts)[N + 1]) {
    std::size_t next[N] = {};
    std::fill(std::begin(starts), std::end(starts), std::size_t{0});
    for (It i = first; i != last; ++i) ++starts[bucket(*i) + 1];
    for (std::size_t k = 0; k < N; ++k) {
        starts[k + 1] += starts[k];
        next[k] = starts[k];
    }
    for (std::size_t k = 0; k < N; ++k) {
        while (next[k] < starts[k + 1]) {
            auto& x = first[static_cast<std::ptrdiff_t>(next[k])];
            const std::size_t to = bucket(x);
            if (to == k) ++next[k];
            else std::swap(x, first[static_cast<std::ptrdiff_t>(next[to]++)]);
        }
    }
}

// bpftool 7.5's order: rank, sort name, own name, disambiguation hash, id, for the types whose dump
// writes something; the others are left out, but still decide whether the first type is skipped.
// Sorted so that a caller can dump what is in order while the rest is sorted: the ids are grouped by
// rank, then each group is keyed, split by the first byte of its sort names, and sorted a part at a
// time. The hash is taken only where the names tie: a run of equal names is sorted by it afterwards.
class c_sort_order {
public:
    explicit c_sort_order(const btf& b) : b_(b), keys_(b) {}

    // Sorts every id that dumps something, calling publish(n) whenever the first n are in their final
    // order (n grows; the last call gives them all). skip_first() is known from the first call on.
    template <class Publish>
    void sort(Publish&& publish) {
        entries_.reserve(b_.type_count());
        group();
        for (std::size_t g = 0; g < group_count; ++g) sort_group(g, publish);
        publish(entries_.size());
    }
    // The i-th id in order, once published.
    [[nodiscard]] std::uint32_t id_at(std::size_t i) const noexcept { return entries_.data()[i].id; }
    // Where the ids of `rank` (0 to 10) start in the order, and where they end (known from the first
    // publish(n) on).
    [[nodiscard]] std::size_t rank_start(std::size_t rank) const noexcept { return start_[rank]; }
    [[nodiscard]] std::size_t rank_end(std::size_t rank) const noexcept { return start_[rank + 1]; }
    // Named structs and unions rank 3.
    static constexpr std::size_t named_composite_rank = 3;
    // bpftool sorts every id, void included, and dumps from the second on: true when the first of all
    // is the first entry (it is then written only where another type needs it), false when it is a
    // type that dumps nothing. Known before the first entry is published.
    [[nodiscard]] bool skip_first() const noexcept { return skip_first_; }

private:
    static constexpr std::size_t group_count = 11;  // ranks 0 to 10

    struct entry {
        c_sort_prefix prefix;
        std::uint32_t id;
        std::uint32_t sort_name, own_name;  // string offsets
        bool whole_name;  // the sort name fits in the prefix: equal prefixes mean equal sort names
        bool anonymous;   // no own name
    };

    [[nodiscard]] static std::size_t rank_of(const entry& x) noexcept { return static_cast<std::size_t>(x.prefix.hi >> 56); }
    [[nodiscard]] static std::size_t first_byte_of(const entry& x) noexcept { return static_cast<std::size_t>((x.prefix.hi >> 48) & 0xff); }

    // Every id that dumps something, grouped by rank; the ranks of the ids left out.
    void group() {
        const std::uint32_t n = b_.type_count();
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
        c_partition<group_count>(entries_.begin(), entries_.end(), rank_of, start_);
    }

    // Keys and sorts group g, a part (first byte of the sort name) at a time, each published when sorted.
    template <class Publish>
    void sort_group(std::size_t g, Publish& publish) {
        const auto first = entries_.begin() + static_cast<std::ptrdiff_t>(start_[g]);
        const auto last = entries_.begin() + static_cast<std::ptrdiff_t>(start_[g + 1]);
        for (auto i = first; i != last; ++i) key(*i);
        std::size_t parts[257];
        c_partition<256>(first, last, first_byte_of, parts);
        for (std::size_t k = 0; k < 256; ++k) {
            if (parts[k] == parts[k + 1]) continue;
            sort_part(first + static_cast<std::ptrdiff_t>(parts[k]), first + static_cast<std::ptrdiff_t>(parts[k + 1]));
            if (!first_known_) decide_skip_first(entries_[0]);
            publish(start_[g] + parts[k + 1]);
        }
    }
    // Sorts one part (its entries share a rank and the sort name's first byte).
    template <class It>
    void sort_part(It first, It last) {
        if (first_byte_of(*first) == 0) {
            // An empty sort name (prototypes, pointers to void...): the anonymous entries tie on every
            // name and come first (own name "" before any other), ordered by hash and id alone.
            const It named = std::partition(first, last, [](const entry& x) { return x.anonymous; });
            order_run(first, named);
            first = named;
        }
        std::sort(first, last, [this](const entry& x, const entry& y) {
            const int r = compare_names(x, y);
            return r != 0 ? r < 0 : x.id < y.id;
        });
        for (auto i = first; i != last;) {  // runs of equal names
            auto j = i + 1;
            while (j != last && compare_names(*i, *j) == 0) ++j;
            order_run(i, j);
            i = j;
        }
    }
    // Puts entries whose names are equal in order of hash, then id.
    template <class It>
    void order_run(It first, It last) {
        if (last - first < 2) return;
        if (!hashes_) hashes_.emplace(b_);
        run_.clear();
        for (auto k = first; k != last; ++k) run_.push_back({0, k->id});
        // Hashed in id order: a chain deeper than the hash's recursion bound gets the value bpftool
        // gets only when its shallower links were hashed (and remembered) first.
        if (!std::is_sorted(run_.begin(), run_.end())) std::sort(run_.begin(), run_.end());
        for (auto& [hash, id] : run_) hash = hashes_->disambig_hash(id, true);
        if (!std::is_sorted(run_.begin(), run_.end())) std::sort(run_.begin(), run_.end());
        for (auto k = first; k != last; ++k) k->id = run_[static_cast<std::size_t>(k - first)].second;
    }

    // The keys past the rank, which grouping has put in the prefix's top byte.
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
    std::size_t start_[group_count + 1] = {};  // group g is entries_[start_[g], start_[g + 1]) once grouped
    std::optional<c_sort_hashes> hashes_;
    std::vector<std::pair<std::uint64_t, std::uint32_t>> run_;
    bool first_known_ = false, skip_first_ = false;
};

// The types bpftool 7.5 dumps one by one, in its order.
struct c_dump_order {
    big_vector<std::uint32_t> ids;  // every id of a kind that dumps something, sorted
    bool skip_first = false;        // see c_sort_order::skip_first
};

// Every id of c_sort_order, sorted.
[[nodiscard]] inline c_dump_order c_sorted_ids(const btf& b) {
    c_sort_order order(b);
    c_dump_order out;
    order.sort([&](std::size_t n) {
        for (std::size_t i = out.ids.size(); i < n; ++i) out.ids.push_back(order.id_at(i));
    });
    out.skip_first = order.skip_first();
    return out;
}

}  // namespace btfkit::detail
