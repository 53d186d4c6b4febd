// gen/min_btf.hpp: the marked types of a BTF written as base BTF, and a split BTF's as split BTF over
// the minimised base, with where each source type went.
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "btfkit/gen/core_marks.hpp"
#include "btfkit/gen/min_btf.hpp"
#include "btfkit/write/btf_builder.hpp"
#include "parsed.hpp"

namespace bk = btfkit;
namespace bt = btfkit::testing;

TEST_CASE("write_min_btf, write_min_btf_split: marked types and members only, references renumbered, unkept ones void") {
    bk::btf_builder b;
    const std::uint32_t i = b.add_int("int", 4, bk::int_signed);  // 1
    b.add_struct("s", 16, {{"a", i, 0}, {"p", 3, 64}});           // 2
    b.add_ptr(4);                                                 // 3
    b.add_struct("unused", 4, {{"u", i, 0}});                     // 4
    b.add_typedef("s_t", 2);                                      // 5
    const auto base_bytes = b.encode();
    REQUIRE(base_bytes.has_value());
    const bk::btf base = bt::parse_or_fail(*base_bytes);

    // s with `p` alone, the pointer (its pointee not kept), the typedef; int and `unused` dropped.
    bk::btf_marks marks(base);
    CHECK(marks.add(2, bk::keep::type));
    marks.add_member(2, 1);
    CHECK(marks.add(3, bk::keep::type));
    CHECK(marks.add(5, bk::keep::type));
    CHECK_FALSE(marks.add(5, bk::keep::type));
    const auto min = bk::write_min_btf(marks);
    REQUIRE(min.has_value());
    const bk::btf kept = bt::parse_or_fail(min->bytes);
    CHECK(bt::raw_dump(kept) ==
          "[1] STRUCT 's' size=16 vlen=1\n\t'p' type_id=2 bits_offset=64\n"
          "[2] PTR '(anon)' type_id=0\n"
          "[3] TYPEDEF 's_t' type_id=1\n");
    CHECK(min->type_count == 3);
    const std::vector<std::uint32_t> base_ids{0, 0, 1, 2, 0, 3, 0};  // new_id of 0..6
    for (std::uint32_t id = 0; id < base_ids.size(); ++id) CHECK_MESSAGE(min->new_id(id) == base_ids[id], "base id " << id);

    // A split BTF over the source base: its members' base ids map through the minimised base.
    bk::btf_builder sb(base);
    sb.add_struct("m", 16, {{"t", 5, 0}, {"n", i, 64}});  // 6
    sb.add_ptr(6);                                        // 7
    sb.add_struct("gone", 4, {{"g", i, 0}});              // 8
    const auto split_bytes = sb.encode();
    REQUIRE(split_bytes.has_value());
    auto split = bk::btf::parse(bk::byte_span(split_bytes->data(), split_bytes->size()), &base);
    REQUIRE(split.has_value());
    bk::btf_marks split_marks(*split);
    split_marks.add(6, bk::keep::type);
    split_marks.add_member(6, 0);
    split_marks.add(7, bk::keep::type);
    const auto mod = bk::write_min_btf_split(split_marks, kept, *min);
    REQUIRE(mod.has_value());
    auto kept_mod = bk::btf::parse(bk::byte_span(mod->bytes.data(), mod->bytes.size()), &kept);
    REQUIRE(kept_mod.has_value());
    CHECK(kept_mod->first_id() == 4);
    CHECK(bt::raw_dump(*kept_mod) ==
          "[4] STRUCT 'm' size=16 vlen=1\n\t't' type_id=3 bits_offset=0\n"
          "[5] PTR '(anon)' type_id=4\n");
    CHECK(mod->new_id(5) == 0);  // a base id: the base's min_btf maps it
    CHECK(mod->new_id(6) == 4);
    CHECK(mod->new_id(7) == 5);
    CHECK(mod->new_id(8) == 0);
}
