// index/name_index.hpp: one BTF's named types of indexed kinds by essential name; lookups give every
// type of that essential name in id order, as a scan would, and a borrowed table answers as the built one.
#include <doctest/doctest.h>

#include <cstdint>
#include <string_view>
#include <vector>

#include "blob_builder.hpp"
#include "btfkit/format/btf.hpp"
#include "btfkit/index/name_index.hpp"

namespace {

using namespace btfkit;
using testing::blob_builder;

// Flavors of one name, a FUNC and a VAR (kinds no index holds), an anonymous STRUCT.
constexpr blob_builder flavors() {
    blob_builder b(byte_order::little);
    const auto i = b.add_int("int", 4, int_signed);                          // 1
    b.add_struct("sock", 4, false, {{"a", i, 0, 0}});                         // 2
    b.add_struct("sock___v2", 8, false, {{"a", i, 0, 0}});                    // 3
    b.add_ref(kind::func, "sock", b.add_func_proto(i, {}), 0);                // 4 proto, 5 func
    b.add_var("sock", i, 1);                                                  // 6
    b.add_fwd("sock", false);                                                 // 7
    b.add_struct("", 4, false, {{"x", i, 0, 0}});                             // 8
    b.add_ref(kind::typedef_, "sock_t", 2);                                   // 9
    return b;
}

std::vector<std::uint32_t> lookup(const name_index& x, const btf& b, std::string_view name) {
    std::vector<std::uint32_t> ids;
    x.for_each(b, name, [&](std::uint32_t id) { ids.push_back(id); });
    return ids;
}

// The index answers in constant evaluation too.
constexpr std::uint32_t first_sock() {
    const blob_builder bb = flavors();
    const auto b = btf::parse(bb.span());
    if (!b) return 0;
    const name_index x = name_index::build(*b);
    std::uint32_t first = 0;
    x.for_each(*b, "sock", [&](std::uint32_t id) { if (first == 0) first = id; });
    return first;
}
static_assert(first_sock() == 2);

}  // namespace

TEST_CASE("name_index: every type of an essential name, in id order; other kinds and names are not there") {
    const blob_builder bb = flavors();
    auto b = btf::parse(bb.span());
    REQUIRE(b.has_value());
    const name_index x = name_index::build(*b);
    CHECK(lookup(x, *b, "sock") == std::vector<std::uint32_t>{2, 3, 7});  // not the FUNC, not the VAR
    CHECK(lookup(x, *b, "sock_t") == std::vector<std::uint32_t>{9});
    CHECK(lookup(x, *b, "int") == std::vector<std::uint32_t>{1});
    CHECK(lookup(x, *b, "sock___v2").empty());  // lookups take essential names
    CHECK(lookup(x, *b, "").empty());
    CHECK(lookup(x, *b, "nope").empty());
    CHECK(x.slots().size() >= 16);
    CHECK((x.slots().size() & (x.slots().size() - 1)) == 0);
    CHECK(lookup(name_index{}, *b, "sock").empty());  // an empty index answers nothing
}

TEST_CASE("name_index: built from hashes taken at parse time, or borrowed from bytes, it answers the same") {
    const blob_builder bb = flavors();
    auto b = btf::parse(bb.span());
    REQUIRE(b.has_value());
    const name_index built = name_index::build(*b);
    named_hashes hashes;
    for (const std::uint32_t rel : b->named_indexed()) {
        std::uint32_t h = 0;
        hashes.push_back(essential_hash_of(*b, b->name_off_of(b->first_id() + rel), h) ? (std::uint64_t{1} << 32 | h) : 0);
    }
    const name_index from_hashes = name_index::build(*b, hashes);
    REQUIRE(from_hashes.slots().size() == built.slots().size());
    for (std::size_t i = 0; i < built.slots().size(); ++i) CHECK(from_hashes.slots()[i] == built.slots()[i]);
    hashes.pop_back();  // another length: ignored, built from the names
    CHECK(lookup(name_index::build(*b, hashes), *b, "sock") == std::vector<std::uint32_t>{2, 3, 7});

    // The table as an index cache stores it: little-endian u32s.
    std::vector<char> image(4 * built.slots().size());
    for (std::size_t i = 0; i < built.slots().size(); ++i) detail::store<std::uint32_t>(image.data() + 4 * i, built.slots()[i], byte_order::little);
    const auto n = static_cast<std::uint32_t>(built.slots().size());
    const auto borrowed = name_index::borrow(*b, image.data(), n, built.id_bits());
    REQUIRE(borrowed.has_value());
    CHECK(borrowed->memory_bytes() == 0);
    for (const std::string_view name : {"sock", "sock_t", "int", "nope"}) CHECK(lookup(*borrowed, *b, name) == lookup(built, *b, name));
    // A shape that does not fit this BTF is refused.
    CHECK_FALSE(name_index::borrow(*b, image.data(), n, built.id_bits() + 1).has_value());
    CHECK_FALSE(name_index::borrow(*b, image.data(), n - 1, built.id_bits()).has_value());
    CHECK_FALSE(name_index::borrow(*b, image.data(), 8, built.id_bits()).has_value());
    // Damaged slots cost a wrong candidate never: ids past the end are skipped, names are compared.
    std::vector<char> bad(image.size(), static_cast<char>(0xff));
    const auto junk = name_index::borrow(*b, bad.data(), n, built.id_bits());
    REQUIRE(junk.has_value());
    CHECK(lookup(*junk, *b, "sock").empty());
}
