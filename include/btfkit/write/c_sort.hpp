// bpftool 7.5's order of types in a C header: rank, sort name, own name and a hash of names
// (btf_type_rank, btf_type_sort_name, btf_type_disambig_hash), every id sorted at once.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "../format/btf.hpp"
#include "../memory.hpp"
#include "c_names.hpp"

namespace btfkit::detail {

// The names bpftool 7.5's comparison reads when rank and the sort name's first bytes tie.
struct c_sort_tie {
    const char* sort_name;  // NUL-terminated, in the string table
    const char* own_name;
};

// bpftool 7.5's sort key of one type (btf_type_rank, btf_type_sort_name, disambig hash).
class c_sort_keys {
public:
    explicit c_sort_keys(const btf& b) : b_(b), memo_(b.type_count()), memo_full_(b.type_count()), known_(b.type_count()) {}

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

    [[nodiscard]] const char* sort_name(std::uint32_t id, bool from_ref, unsigned depth = 0) const {
        if (depth > c_max_nesting) return "";
        const type t = b_[id];
        switch (t.kind()) {
        case kind::enum_: case kind::enum64: {
            std::uint32_t off = t.name_off();
            if (!from_ref && off == 0 && t.vlen() != 0) off = t.enumerators()[0].name_off;
            return name(off);
        }
        case kind::array: return sort_name(t.array().type, true, depth + 1);
        case kind::type_tag: case kind::const_: case kind::ptr: case kind::volatile_: case kind::restrict_:
        case kind::typedef_: case kind::decl_tag:
            return sort_name(t.ref(), true, depth + 1);
        default: return name(t.name_off());
        }
    }

    [[nodiscard]] const char* name(std::uint32_t off) const noexcept {
        const char* p = b_.string_ptr(off);
        return p != nullptr ? p : "";
    }

    // libbpf's str_hash: h * 31 + c over (signed) chars.
    [[nodiscard]] static std::uint64_t str_hash(const char* s) noexcept {
        std::uint64_t h = 0;
        for (; *s != 0; ++s) h = h * 31 + static_cast<std::uint64_t>(static_cast<std::int64_t>(static_cast<signed char>(*s)));
        return h;
    }
    [[nodiscard]] static constexpr std::uint64_t hasher(std::uint64_t h, std::uint64_t v) noexcept { return h * 31 + v; }
    [[nodiscard]] std::uint64_t name_hasher(std::uint64_t h, std::uint32_t off) const {
        return off == 0 ? h : hasher(h, str_hash(name(off)));
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
    // disambig_hash of every id reached so far, without and with members (known_ bits 1 and 2): a
    // member type, or a struct behind many pointers, is hashed once
    big_vector<std::uint64_t> memo_, memo_full_;
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

// Fewer types than this are sorted on the calling thread alone: a thread would cost more than it saves.
inline constexpr std::uint32_t c_sort_split_min = 16384;

// Runs both callables, one after the other (the default of c_sorted_ids' run_both).
struct c_run_inline {
    template <class A, class B>
    void operator()(A&& first, B&& second) const {
        first();
        second();
    }
};

// Every id (void included) in bpftool 7.5's order: rank, sort name, own name, disambiguation hash, id.
// `run_both(first, second)` runs both callables, the second on another thread if it can: each keys
// and sorts half of the ids, and the halves are merged (the order is total, so the result is the same).
template <class RunBoth = c_run_inline>
[[nodiscard]] big_vector<std::uint32_t> c_sorted_ids(const btf& b, RunBoth&& run_both = {}) {
    struct entry {
        c_sort_prefix prefix;
        std::uint64_t hash;
        std::uint32_t id;
        bool whole_name;  // the sort name fits in the prefix: equal prefixes mean equal sort names
        bool anonymous;   // no own name
    };
    const std::uint32_t n = b.type_count();
    big_vector<c_sort_tie> ties(n);
    big_vector<entry> e(n);
    auto less = [&ties](const entry& x, const entry& y) {
        if (!(x.prefix == y.prefix)) return x.prefix < y.prefix;
        if (!(x.whole_name && y.whole_name)) {
            if (const int r = c_strcmp(ties[x.id].sort_name, ties[y.id].sort_name); r != 0) return r < 0;
        }
        if (!(x.anonymous && y.anonymous)) {
            if (const int r = c_strcmp(ties[x.id].own_name, ties[y.id].own_name); r != 0) return r < 0;
        }
        if (x.hash != y.hash) return x.hash < y.hash;
        return x.id < y.id;
    };
    auto key_and_sort = [&](std::uint32_t from, std::uint32_t to) {
        c_sort_keys keys(b);  // one per half: its memo is written as it goes
        for (std::uint32_t id = from; id < to; ++id) {
            const char* sort_name = keys.sort_name(id, false);
            const char* own_name = keys.name(b.name_off_of(id));
            bool whole = false;
            for (std::size_t i = 0; i < 15 && !whole; ++i) whole = sort_name[i] == 0;
            e[id] = {c_sort_prefix(keys.rank(id, false), sort_name), keys.disambig_hash(id, true), id, whole, *own_name == 0};
            ties[id] = {sort_name, own_name};
        }
        std::sort(e.begin() + from, e.begin() + to, less);
    };
    const std::uint32_t half = n / 2;
    if (n < c_sort_split_min) {
        c_run_inline{}([&] { key_and_sort(0, half); }, [&] { key_and_sort(half, n); });
    } else {
        run_both([&] { key_and_sort(0, half); }, [&] { key_and_sort(half, n); });
    }
    big_vector<std::uint32_t> ids(n);
    std::uint32_t i = 0, j = half, k = 0;
    while (i < half && j < n) ids[k++] = less(e[j], e[i]) ? e[j++].id : e[i++].id;
    while (i < half) ids[k++] = e[i++].id;
    while (j < n) ids[k++] = e[j++].id;
    return ids;
}

}  // namespace btfkit::detail
