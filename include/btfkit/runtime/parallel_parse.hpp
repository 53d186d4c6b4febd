// btf::parse on two threads for a large type section (vmlinux), hashing the names of each half for
// the name index on the way.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "../format/btf.hpp"
#include "../index/name_hash.hpp"
#include "../index/name_index.hpp"
#include "../memory.hpp"
#include "threads.hpp"

namespace btfkit {

namespace detail {
// Appends to `out` the hashes of one half's listed names (parse_split's on_half): the records' name
// offsets read at `offsets`, the names in `strings` (BTF that is not split), prefetched as in
// name_index::build. An offset outside the table gives 0 (the parse fails).
template <byte_order O>
void hash_listed_names(byte_span data, byte_span strings, std::span<const std::uint32_t> offsets,
                       std::span<const std::uint32_t> listed, named_hashes& out) {
    const char* const end = strings.data() + strings.size();
    auto name_at = [&](std::size_t i) -> const char* {
        const std::size_t rec = offsets[listed[i]];
        if (rec > data.size() - 4) return nullptr;
        const std::uint32_t off = load<std::uint32_t>(data.data() + rec, O);
        return off < strings.size() ? strings.data() + off : nullptr;
    };
    out.reserve(out.size() + listed.size());
    prefetched_loop(listed.size(), name_at, [&](std::size_t i) {
        const char* p = name_at(i);
        std::uint32_t h = 0;
        out.push_back(p != nullptr && essential_hash_at(p, end, h) ? (std::uint64_t{1} << 32) | h : 0);
    });
}
}  // namespace detail

// btf::parse on two threads where the type section is large (vmlinux): the same result, about half
// the time. With `hashes` (BTF that is not split), each thread also hashes the names its half lists,
// for name_index::build(b, hashes): the index is then inserts only, instead of a pass in which every
// name is a cache miss. `hashes` is left empty where the halves were not used.
// With `populate_halves` (data in a file mapping made without populating it: mapped_file::load::
// map_halves), each thread first maps in its half of the data (memory_tuning::populate), instead of
// one thread mapping it all before the parse starts.
// `min_bytes` is parse_split's: smaller type sections take the one pass (tests and fuzzers lower it).
[[nodiscard]] inline result<btf> parse_two_threads(byte_span data, const btf* base = nullptr, chunk_arena* tables = nullptr,
                                                   named_hashes* hashes = nullptr, bool populate_halves = false,
                                                   std::size_t min_bytes = btf::split_min_bytes) {
    auto both = [data, populate_halves](auto&& first, auto&& second) {
        const auto populate = detail::memory.populate;
        if (!populate_halves || populate == nullptr) return detail::run_both(first, second);
        const std::size_t half = data.size() / 2;
        detail::run_both([&] {
            populate(data.data(), half);
            first();
        }, [&] {
            populate(data.data() + half, data.size() - half);
            second();
        });
    };
    if (hashes == nullptr || base != nullptr) return btf::parse_split(data, both, base, tables, min_bytes);
    hashes->clear();
    const auto strings = base_strings::of(data);
    if (!strings) return btf::parse_split(data, both, base, tables, min_bytes);  // its error
    named_hashes halves[2];
    // A half hashes only once its scan is good, but the other half's may fail and the parse fall back
    // to the one pass: the hashes then belong to no parse, and are used only if both halves hashed
    // (both scans good and meeting at the boundary: the result is the halves' unless the parse fails).
    bool hashed[2]{false, false};
    auto on_half = [&](std::size_t half, std::span<const std::uint32_t> offsets, std::span<const std::uint32_t> listed) {
        hashed[half] = true;
        if (strings->order == byte_order::little) {
            detail::hash_listed_names<byte_order::little>(data, strings->strings, offsets, listed, halves[half]);
        } else {
            detail::hash_listed_names<byte_order::big>(data, strings->strings, offsets, listed, halves[half]);
        }
    };
    auto b = btf::parse_split(data, both, base, tables, min_bytes, on_half);
    if (b && hashed[0] && hashed[1] && halves[0].size() + halves[1].size() == b->named_indexed().size()) {
        *hashes = std::move(halves[0]);
        hashes->insert(hashes->end(), halves[1].begin(), halves[1].end());
    }
    return b;
}

}  // namespace btfkit
