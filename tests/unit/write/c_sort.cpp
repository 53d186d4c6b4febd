// write/c_sort.hpp: bpftool 7.5's order of types in a C header (rank, sort name, own name, hash, id),
// without the kinds that dump nothing.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "blob_builder.hpp"
#include "btfkit/format/btf.hpp"
#include "btfkit/write/c_sort.hpp"

namespace {

using namespace btfkit;
using testing::blob_builder;

// Every struct id once, and nothing else.
bool is_struct_ids(const btf& b, const big_vector<std::uint32_t>& ids) {
    std::vector<std::uint32_t> sorted(ids.begin(), ids.end()), want;
    std::sort(sorted.begin(), sorted.end());
    for (std::uint32_t id = 0; id < b.type_count(); ++id) {
        if (b.kind_of(id) == kind::struct_) want.push_back(id);
    }
    return sorted == want;
}

}  // namespace

TEST_CASE("c_sorted_ids: named enums, then named structs by name; anonymous types last; ints left out") {
    blob_builder bb(byte_order::little);
    const auto i = bb.add_int("int", 4, int_signed);                     // 1
    bb.add_struct("zeta", 4, false, {{"a", i, 0, 0}});                    // 2
    bb.add_struct("", 4, false, {{"b", i, 0, 0}});                        // 3: anonymous
    bb.add_enum("e", 4, false, {{"E1", 1}});                              // 4
    bb.add_struct("alpha", 4, false, {{"c", i, 0, 0}});                   // 5
    bb.add_ref(kind::typedef_, "alpha_t", 5);                             // 6: sorts by its target's name
    bb.add_union("mid", 4, false, {{"d", i, 0, 0}});                      // 7
    auto b = btf::parse(bb.span());
    REQUIRE(b.has_value());
    const detail::c_dump_order order = detail::c_sorted_ids(*b);
    // void and the int dump nothing: left out. The enum sorts first of all, so bpftool skips it.
    CHECK(std::vector<std::uint32_t>(order.ids.begin(), order.ids.end()) == std::vector<std::uint32_t>{4, 5, 6, 7, 2, 3});
    CHECK(order.skip_first);
    const detail::c_sort_keys keys(*b);
    CHECK(keys.rank(4, false) == 1);
    CHECK(keys.rank(1, false) == 2);
    CHECK(keys.rank(2, false) == 3);
    CHECK(keys.rank(3, false) == 10);
    CHECK(keys.rank(6, false) == 3);  // a typedef ranks as what it names
}

TEST_CASE("c_sorted_ids: a type that dumps nothing can sort first, and then nothing is skipped") {
    blob_builder bb(byte_order::little);
    const auto i = bb.add_int("int", 4, int_signed);       // 1: rank 2, before any struct
    bb.add_struct("s", 4, false, {{"a", i, 0, 0}});         // 2: rank 3
    bb.add_ref(kind::ptr, "", 2);                           // 3: rank 10
    auto b = btf::parse(bb.span());
    REQUIRE(b.has_value());
    const detail::c_dump_order order = detail::c_sorted_ids(*b);
    CHECK(std::vector<std::uint32_t>(order.ids.begin(), order.ids.end()) == std::vector<std::uint32_t>{2, 3});
    CHECK_FALSE(order.skip_first);
}

TEST_CASE("c_sorted_ids: equal names are ordered by bpftool's hash of members, then by id") {
    blob_builder bb(byte_order::little);
    const auto i = bb.add_int("int", 4, int_signed);         // 1
    bb.add_struct("", 4, false, {{"zz", i, 0, 0}});           // 2
    bb.add_struct("", 4, false, {{"aa", i, 0, 0}});           // 3
    bb.add_struct("", 4, false, {{"zz", i, 0, 0}});           // 4: the same hash as 2
    auto b = btf::parse(bb.span());
    REQUIRE(b.has_value());
    detail::c_sort_hashes h(*b);
    const std::uint64_t h2 = h.disambig_hash(2, true), h3 = h.disambig_hash(3, true);
    REQUIRE(h2 != h3);
    CHECK(h.disambig_hash(4, true) == h2);
    const detail::c_dump_order order = detail::c_sorted_ids(*b);
    const std::vector<std::uint32_t> want = h2 < h3 ? std::vector<std::uint32_t>{2, 4, 3} : std::vector<std::uint32_t>{3, 2, 4};
    CHECK(std::vector<std::uint32_t>(order.ids.begin(), order.ids.end()) == want);
}

TEST_CASE("c_sorted_ids: same names ordered by id; a long shared prefix read past") {
    blob_builder bb(byte_order::little);
    const auto i = bb.add_int("int", 4, int_signed);
    for (std::uint32_t k = 0; k < 3000; ++k) {
        // Names that tie on their first bytes, so the comparison reads past the prefix.
        const std::string name = "a_long_common_prefix_" + std::to_string((k * 7919) % 1000);
        bb.add_struct(name, 4, false, {{"m", i, 0, 0}});
    }
    auto b = btf::parse(bb.span());
    REQUIRE(b.has_value());
    const big_vector<std::uint32_t> ids = detail::c_sorted_ids(*b).ids;
    REQUIRE(is_struct_ids(*b, ids));
    std::vector<std::string> names;
    for (const std::uint32_t id : ids) names.emplace_back((*b)[id].name());
    CHECK(std::is_sorted(names.begin(), names.end()));
    // Same names: the id decides, so same-named structs keep their id order.
    std::vector<std::uint32_t> same;
    for (const std::uint32_t id : ids) {
        if ((*b)[id].name() == "a_long_common_prefix_0") same.push_back(id);
    }
    CHECK(same.size() == 3);
    CHECK(std::is_sorted(same.begin(), same.end()));
}

TEST_CASE("c_sort_prefix and c_strcmp: strcmp's order, as integer compares") {
    CHECK(detail::c_strcmp("abc", "abd") < 0);
    CHECK(detail::c_strcmp("ab", "abc") < 0);
    CHECK(detail::c_strcmp("\xff", "a") > 0);  // bytes as unsigned char
    CHECK(detail::c_strcmp("same", "same") == 0);
    CHECK(detail::c_sort_prefix(1, "zzz") < detail::c_sort_prefix(2, "aaa"));  // rank first
    CHECK(detail::c_sort_prefix(3, "abcdefgh") < detail::c_sort_prefix(3, "abcdefgi"));  // the 8th byte
    CHECK(detail::c_sort_prefix(3, "abc") < detail::c_sort_prefix(3, "abcd"));
    CHECK(detail::c_sort_prefix(3, "0123456789abcdeX") == detail::c_sort_prefix(3, "0123456789abcdeY"));  // 15 bytes kept
}
