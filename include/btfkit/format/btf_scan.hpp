// The validating scans over a BTF type section that btf::parse runs: the fast one-pass scan (in one
// piece, or in two halves from a guessed record boundary) and the precise pass that names the first
// bad record.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "../bytes.hpp"
#include "../error.hpp"
#include "../memory.hpp"
#include "btf_types.hpp"

namespace btfkit {

namespace detail {

// The checks one pass makes over a type record: fits, known kind, vlen consistent, strings and ids in range.
struct type_checker {
    byte_reader r;
    std::uint32_t strings_end;  // valid string offsets are < strings_end
    std::uint32_t id;
    std::size_t off;

    [[nodiscard]] constexpr error fail(errc c, const char* what) const noexcept {
        return error(c, what).in_section("BTF types").at_offset(off).at_type(id);
    }
};

}  // namespace detail

namespace detail {

// The fast validating pass over the type section, for byte order O known at compile time.
// What a scan of a run of type records found: where it stopped, the largest string offset and
// referenced id, and whether every record fit and was well formed (see scan_types).
struct type_scan {
    std::size_t end_off = 0;
    std::uint32_t max_str = 0, max_ref = 0;
    bool ok = false;
};

// Scans the records from `start` until `end`: appends each one's offset to `offsets` and the index
// (counted from 0 at `start`) of each named type of an indexed kind to `named`, and folds every string
// offset and referenced id into a maximum. ok is false if a record does not fit before `end`, has an
// unknown kind, or is a bad INT.
template <byte_order O>
constexpr type_scan scan_type_range(const char* p, std::size_t start, std::size_t end,
                                    std::vector<std::uint32_t, arena_allocator<std::uint32_t>>& offsets,
                                    std::vector<std::uint32_t, arena_allocator<std::uint32_t>>& named) {
    auto u32 = [p](std::size_t off) { return load<std::uint32_t>(p + off, O); };
    // named: every type's index is written at position n, which advances only for a named type of an
    // indexed kind (no branch to mispredict); sized from a guess, doubled when full.
    constexpr std::uint32_t indexed_mask = name_space_kinds(name_space::types);
    const std::size_t named_before = named.size();
    named.resize(named_before + std::max<std::size_t>(64, (end - start) / 256));
    std::uint32_t* np = named.data();
    std::size_t n = named_before, room = named.size();
    std::uint32_t rel = 0;
    type_scan out;
    std::uint32_t max_str = 0, max_ref = 0;
    bool bad = false;
    std::size_t off = start;
    auto finish = [&](bool ok) {
        named.resize(n);
        out.end_off = off;
        out.max_str = max_str;
        out.max_ref = max_ref;
        out.ok = ok && !bad;
        return out;
    };
    while (off < end) {
        if (end - off < btf_type_header_size) return finish(false);
        const std::uint32_t info = u32(off + 4);
        const auto k = static_cast<kind>((info >> 24) & 0x1f);
        const std::uint32_t vlen = info & 0xffff;
        const std::uint64_t sz = type_record_size(k, vlen);
        if (sz == 0 || sz > end - off) return finish(false);  // unknown kind, or record past the end
        const std::uint32_t name_off = u32(off);
        np[n] = rel++;
        n += (name_off != 0) & ((indexed_mask >> static_cast<std::uint32_t>(k)) & 1u);
        if (n == room) {
            named.resize(2 * n);
            np = named.data();
            room = named.size();
        }
        offsets.push_back(static_cast<std::uint32_t>(off));
        max_str = std::max(max_str, name_off);
        const std::uint32_t st = u32(off + 8);
        const std::size_t rec = off + btf_type_header_size;
        switch (k) {
        case kind::int_: {
            const std::uint32_t d = u32(rec);
            bad |= (d & 0xff) > 128 || (d & 0xff) + ((d >> 16) & 0xff) > 128;
            break;
        }
        case kind::ptr: case kind::typedef_: case kind::volatile_: case kind::const_: case kind::restrict_:
        case kind::func: case kind::var: case kind::type_tag: case kind::decl_tag:
            max_ref = std::max(max_ref, st);
            break;
        case kind::array:
            max_ref = std::max({max_ref, u32(rec), u32(rec + 4)});
            break;
        case kind::struct_: case kind::union_:
            for (std::uint32_t j = 0; j < vlen; ++j) {
                max_str = std::max(max_str, u32(rec + 12u * j));
                max_ref = std::max(max_ref, u32(rec + 12u * j + 4));
            }
            break;
        case kind::enum_:
            for (std::uint32_t j = 0; j < vlen; ++j) max_str = std::max(max_str, u32(rec + 8u * j));
            break;
        case kind::enum64:
            for (std::uint32_t j = 0; j < vlen; ++j) max_str = std::max(max_str, u32(rec + 12u * j));
            break;
        case kind::func_proto:
            max_ref = std::max(max_ref, st);
            for (std::uint32_t j = 0; j < vlen; ++j) {
                max_str = std::max(max_str, u32(rec + 8u * j));
                max_ref = std::max(max_ref, u32(rec + 8u * j + 4));
            }
            break;
        case kind::datasec:
            for (std::uint32_t j = 0; j < vlen; ++j) max_ref = std::max(max_ref, u32(rec + 12u * j));
            break;
        default:
            break;
        }
        off += static_cast<std::size_t>(sz);
    }
    return finish(true);
}

// One pass over the whole type section (see btf::parse); false if anything is wrong.
template <byte_order O>
constexpr bool scan_types(const char* p, std::size_t start, std::size_t end, std::uint32_t strings_end,
                          std::uint32_t start_id, std::vector<std::uint32_t, arena_allocator<std::uint32_t>>& offsets,
                          std::vector<std::uint32_t, arena_allocator<std::uint32_t>>& named) {
    // Room for the most records the section could hold (12 bytes each), reserved once and kept:
    // shrinking to fit would copy the table into fresh memory (0.6 ms for vmlinux, more than the
    // pass itself saves), and counting first costs a second walk over every record.
    offsets.reserve((end - start) / btf_type_header_size + 1);
    const type_scan t = scan_type_range<O>(p, start, end, offsets, named);
    const std::uint64_t end_id = std::uint64_t{start_id} + offsets.size();
    return t.ok && end_id <= 0x7fffffffu && t.max_str < strings_end && t.max_ref < end_id;
}

// Walks the type section again with every check in order and returns the first problem, named.
constexpr error precise_type_error(const byte_reader& r, std::uint32_t start_id, std::uint32_t strings_end,
                                   std::size_t types_start, std::size_t types_end) {
    struct {
        std::uint32_t start_id_;
    } b{start_id};
    std::uint32_t count = 0;
    for (std::size_t off = types_start; off < types_end; ++count) {
        if (types_end - off < btf_type_header_size) {
            return error(errc::truncated, "type record header does not fit").in_section("BTF types").at_offset(off).at_type(b.start_id_ + count);
        }
        const std::uint32_t info = r.u32(off + 4);
        const auto k = static_cast<kind>((info >> 24) & 0x1f);
        if (static_cast<std::uint8_t>(k) == 0 || static_cast<std::uint8_t>(k) > kind_max) {
            return error(errc::bad_kind, "unknown type kind").in_section("BTF types").at_offset(off).at_type(b.start_id_ + count).got(static_cast<std::uint8_t>(k));
        }
        const std::uint64_t sz = type_record_size(k, info & 0xffff);
        if (sz > types_end - off) {
            return error(errc::truncated, "type record does not fit in the type section").in_section("BTF types").at_offset(off).at_type(b.start_id_ + count).got(sz).limit(types_end - off);
        }
        off += sz;
    }
    if (std::uint64_t{b.start_id_} + count > 0x7fffffffu) return error(errc::bad_header, "too many types").in_section("BTF types").got(count);

    // Pass 2: fill the table and check names, referenced ids and kind-specific fields.
    const std::uint32_t type_end_id = b.start_id_ + count;
    std::size_t off = types_start;
    for (std::uint32_t i = 0; i < count; ++i) {
        const std::uint32_t id = b.start_id_ + i;
        const std::uint32_t name_off = r.u32(off);
        const std::uint32_t info = r.u32(off + 4);
        const std::uint32_t st = r.u32(off + 8);
        const auto k = static_cast<kind>((info >> 24) & 0x1f);
        const std::uint32_t vlen = info & 0xffff;
        const detail::type_checker c{r, strings_end, id, off};
        if (name_off >= strings_end) return c.fail(errc::bad_string, "type name offset outside the string table").got(name_off).limit(strings_end);
        auto check_ref = [&](std::uint32_t ref, const char* what) -> error {
            if (ref >= type_end_id) return c.fail(errc::bad_type_id, what).got(ref).limit(type_end_id);
            return {};
        };
        const std::size_t rec = off + btf_type_header_size;
        error e{};
        switch (k) {
        case kind::int_: {
            const std::uint32_t d = r.u32(rec);
            const std::uint32_t bits = d & 0xff, boff = (d >> 16) & 0xff;
            if (bits > 128 || bits + boff > 128) e = c.fail(errc::bad_header, "INT bits/offset exceed 128").got(d);
            break;
        }
        case kind::ptr: case kind::typedef_: case kind::volatile_: case kind::const_: case kind::restrict_:
        case kind::func: case kind::var: case kind::type_tag: case kind::decl_tag:
            e = check_ref(st, "refers to a type past the end");
            break;
        case kind::array: {
            e = check_ref(r.u32(rec), "array element type past the end");
            if (e.code == errc::ok) e = check_ref(r.u32(rec + 4), "array index type past the end");
            break;
        }
        case kind::struct_: case kind::union_:
            for (std::uint32_t j = 0; j < vlen && e.code == errc::ok; ++j) {
                const std::size_t mo = rec + 12u * j;
                if (r.u32(mo) >= strings_end) e = c.fail(errc::bad_string, "member name offset outside the string table").at_index("member", j).got(r.u32(mo)).limit(strings_end);
                else if (r.u32(mo + 4) >= type_end_id) e = c.fail(errc::bad_type_id, "member refers to a type past the end").at_index("member", j).got(r.u32(mo + 4)).limit(type_end_id);
            }
            break;
        case kind::enum_: case kind::enum64: {
            const std::uint32_t step = k == kind::enum_ ? 8 : 12;
            for (std::uint32_t j = 0; j < vlen && e.code == errc::ok; ++j) {
                if (r.u32(rec + step * j) >= strings_end) e = c.fail(errc::bad_string, "enumerator name offset outside the string table").at_index("enumerator", j).got(r.u32(rec + step * j)).limit(strings_end);
            }
            break;
        }
        case kind::func_proto:
            e = check_ref(st, "return type past the end");
            for (std::uint32_t j = 0; j < vlen && e.code == errc::ok; ++j) {
                const std::size_t po = rec + 8u * j;
                if (r.u32(po) >= strings_end) e = c.fail(errc::bad_string, "parameter name offset outside the string table").at_index("param", j).got(r.u32(po)).limit(strings_end);
                else if (r.u32(po + 4) >= type_end_id) e = c.fail(errc::bad_type_id, "parameter refers to a type past the end").at_index("param", j).got(r.u32(po + 4)).limit(type_end_id);
            }
            break;
        case kind::datasec:
            for (std::uint32_t j = 0; j < vlen && e.code == errc::ok; ++j) {
                if (r.u32(rec + 12u * j) >= type_end_id) e = c.fail(errc::bad_type_id, "datasec variable refers to a type past the end").at_index("var", j).got(r.u32(rec + 12u * j)).limit(type_end_id);
            }
            break;
        case kind::fwd: case kind::float_: case kind::unknown:
            break;
        }
        if (e.code != errc::ok) return e;
        off += static_cast<std::size_t>(type_record_size(k, vlen));
    }
    return error(errc::bad_header, "BTF failed validation");
}

}  // namespace detail

namespace detail {
// The first offset from `from` (4-aligned, within 64 KiB) where 16 records in a row look well formed
// (a known kind, unused info bits clear, fitting the section, a name inside the string table), or
// the section's end; only a guess, which btf::parse_split checks.
template <byte_order O>
std::size_t record_boundary_after(const char* p, std::size_t from, std::size_t end, std::uint32_t strings_end) {
    auto u32 = [p](std::size_t off) { return load<std::uint32_t>(p + off, O); };
    for (std::size_t c = from; c < end && c < from + (std::size_t{64} << 10); c += 4) {
        std::size_t x = c;
        int good = 0;
        while (good < 16 && x < end) {
            if (end - x < btf_type_header_size) break;
            const std::uint32_t info = u32(x + 4);
            if ((info & 0x60ff0000u) != 0) break;
            const std::uint64_t sz = type_record_size(static_cast<kind>((info >> 24) & 0x1f), info & 0xffff);
            if (sz == 0 || sz > end - x || u32(x) >= strings_end) break;
            x += static_cast<std::size_t>(sz);
            ++good;
        }
        if (good == 16 || (x == end && good > 0)) return c;
    }
    return end;
}

// parse_split's two scans, into offsets and named; false if they do not make up the one pass's result.
template <byte_order O, class RunBoth, class OnHalf>
bool parse_halves(byte_span data, std::size_t start, std::size_t end, std::uint32_t strings_end, std::uint32_t start_id,
                  std::vector<std::uint32_t, arena_allocator<std::uint32_t>>& offsets,
                  std::vector<std::uint32_t, arena_allocator<std::uint32_t>>& named, RunBoth&& run_both, OnHalf&& on_half) {
    const std::size_t mid = record_boundary_after<O>(data.data(), start + ((end - start) / 2 & ~std::size_t{3}), end, strings_end);
    if (mid == end) return false;  // no boundary found
    std::vector<std::uint32_t, arena_allocator<std::uint32_t>> offsets2, named2;
    type_scan first, second;
    // Both tables are reserved here (address space; their fresh pages are touched on their own
    // threads): a reserve on a thread would wait for the mmap lock while the other thread maps in its
    // half of the data (parse_two_threads with populate_halves).
    // The second table is a huge block whatever its size (see arena_allocator; with huge blocks turned
    // on): its memory is then one huge-page fault on the second thread, not ~100 small pages populated
    // here before the threads start.
    offsets.reserve((end - start) / btf_type_header_size + 1);
    offsets2.reserve(std::max((end - mid) / btf_type_header_size + 1, huge_table_bytes / sizeof(std::uint32_t)));
    run_both([&] {
        first = scan_type_range<O>(data.data(), start, mid, offsets, named);
        if (first.ok && first.end_off == mid) on_half(std::size_t{0}, std::span<const std::uint32_t>(offsets), std::span<const std::uint32_t>(named));
    }, [&] {
        second = scan_type_range<O>(data.data(), mid, end, offsets2, named2);
        if (second.ok) on_half(std::size_t{1}, std::span<const std::uint32_t>(offsets2), std::span<const std::uint32_t>(named2));
    });
    if (!first.ok || first.end_off != mid || !second.ok) return false;
    const auto count1 = static_cast<std::uint32_t>(offsets.size());
    offsets.insert(offsets.end(), offsets2.begin(), offsets2.end());
    named.reserve(named.size() + named2.size());
    for (const std::uint32_t i : named2) named.push_back(count1 + i);
    const std::uint64_t end_id = std::uint64_t{start_id} + offsets.size();
    return end_id <= 0x7fffffffu && std::max(first.max_str, second.max_str) < strings_end && std::max(first.max_ref, second.max_ref) < end_id;
}
}  // namespace detail

}  // namespace btfkit
