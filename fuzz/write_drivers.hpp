// fuzz_btf_write's driver: a BTF that parses is rebuilt through btf_builder and must come back the
// same. Shared with tests/test_regression.cpp, which replays the regression corpus through it.
#pragma once

#include <algorithm>

#include "btf_rebuild.hpp"
#include "drivers.hpp"

namespace btfkit::testing {

namespace write_detail {

// `src` (own types) rebuilt over `base` (null: base BTF) in `order` must encode, parse over `base`
// and have src's types.
template <class Fail>
void round_trip(const Fail& fail, const btf& src, const btf* base, byte_order order, bool copy_all, bool keep_strings) {
    btf_builder b = base != nullptr ? btf_builder(*base) : btf_builder(order);
    rebuild(src, b, copy_all, keep_strings);
    const auto bytes = b.encode(order);
    if (!bytes) {
        fail("the builder refuses to write a BTF that parsed");
        return;
    }
    const auto back = btf::parse({bytes->data(), bytes->size()}, base);
    if (!back) {
        fail("the written BTF does not parse");
        return;
    }
    if (!first_difference(src, *back).empty()) fail("the written BTF has other types than its source");
    // What was written is canonical: writing it again gives it back.
    btf_builder again = base != nullptr ? btf_builder(*base) : btf_builder(order);
    rebuild(*back, again, copy_all, true);
    const auto twice = again.encode(order);
    if (!twice || *twice != *bytes) fail("rewriting the written BTF changes it");
}

// A canonical `src` whose string table the builder writes as it is: copy_type with ids and string
// offsets unchanged writes `src` byte for byte. (The typed adds may not: a name offset into the
// middle of a string, or at a NUL, is written as the offset of its content.)
template <class Fail>
void copies_exactly(const Fail& fail, const btf& src, const btf* base) {
    if (!canonical_layout(src)) return;
    btf_builder b = base != nullptr ? btf_builder(*base) : btf_builder(src.order());
    b.add_strings(src.own_strings());
    if (!std::ranges::equal(b.strings().bytes(), src.own_strings())) return;
    auto same = [](std::uint32_t v) { return v; };
    for (const type t : src.types()) b.copy_type(t, same, same);
    const auto bytes = b.encode();
    if (!bytes || !std::ranges::equal(*bytes, src.data())) fail("copy_type does not write a canonical source byte for byte");
}

template <class Fail>
void round_trips(const Fail& fail, const btf& src, const btf* base, const btf* base_swapped) {
    round_trip(fail, src, base, src.order(), false, false);
    round_trip(fail, src, base, src.order(), true, false);
    round_trip(fail, src, base, src.order(), false, true);
    copies_exactly(fail, src, base);
    const byte_order other = src.order() == byte_order::little ? byte_order::big : byte_order::little;
    if (base == nullptr || base_swapped != nullptr) round_trip(fail, src, base_swapped, other, false, false);
}

}  // namespace write_detail

// The input as base BTF, and as split BTF over the synthetic base (bases.hpp, in the input's byte
// order; the other order's copy has the same ids and strings).
template <class Fail>
void run_btf_write(const Fail& fail, byte_span in) {
    if (auto b = btf::parse(in)) write_detail::round_trips(fail, *b, nullptr, nullptr);
    const byte_order order = split_detail::order_of(in);
    const auto& base = split_detail::synthetic(order);
    const auto& swapped = split_detail::synthetic(order == byte_order::little ? byte_order::big : byte_order::little);
    if (auto s = btf::parse(in, &base.parsed)) write_detail::round_trips(fail, *s, &base.parsed, &swapped.parsed);
}

}  // namespace btfkit::testing
