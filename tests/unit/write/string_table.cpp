// write/string_table.hpp: a BTF string table that stores each string once, in first-added order (its
// offsets continuing a base's for split BTF), and an index of a parsed BTF's strings.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "blob_builder.hpp"
#include "btfkit/format/btf.hpp"
#include "btfkit/write/string_table.hpp"

namespace {

using namespace btfkit;

constexpr std::uint32_t offset_of_second() {
    string_table t;
    (void)t.add("first");
    return t.add("second").value();
}
static_assert(offset_of_second() == 7);

}  // namespace

TEST_CASE("string_table: each string once, in the order added, after the leading \"\"") {
    string_table t;
    CHECK(t.add("").value() == 0);
    CHECK(t.add("int").value() == 1);
    CHECK(t.add("char").value() == 5);
    CHECK(t.add("int").value() == 1);
    CHECK(t.find("char").value() == 5);
    CHECK_FALSE(t.find("ch").has_value());
    CHECK(t.at(5) == "char");
    CHECK(t.count() == 2);
    CHECK(std::string(t.bytes().data(), t.bytes().size()) == std::string("\0int\0char\0", 10));
    CHECK(t.end_offset() == 10);
    const auto nul = t.add(std::string_view("a\0b", 3));
    REQUIRE_FALSE(nul.has_value());
    CHECK(nul.error().code == errc::bad_string);
    // Many strings: the set grows and still finds every one.
    for (int i = 0; i < 300; ++i) CHECK(t.add("s" + std::to_string(i)).has_value());
    CHECK(t.find("s123").has_value());
    CHECK(t.at(t.find("s123").value()) == "s123");
}

TEST_CASE("string_table: a split table's offsets continue after its base's strings") {
    string_table t(100);
    CHECK(t.first_offset() == 100);
    CHECK(t.add("").value() == 0);  // the base's ""
    CHECK(t.add("own").value() == 100);
    CHECK(t.add("more").value() == 104);
    CHECK(t.at(104) == "more");
    CHECK(t.end_offset() == 109);
}

TEST_CASE("string_index: a parsed BTF's strings and its base's, the lowest offset of each") {
    testing::blob_builder base(byte_order::little);
    base.add_int("int", 4, int_signed);
    base.add_struct("s", 4, false, {{"int", 1, 0, 0}});  // "int" is stored once
    auto b = btf::parse(base.span());
    REQUIRE(b.has_value());
    testing::blob_builder split(byte_order::little, b->type_count(), b->strings_size());
    split.add_struct("own", 4, false, {{"x", 1, 0, 0}});
    auto m = btf::parse(split.span(), &*b);
    REQUIRE(m.has_value());
    const string_index idx = string_index::of(*m);
    CHECK(idx.indexed() == &*m);
    CHECK(idx.find("").value() == 0);
    REQUIRE(idx.find("int").has_value());
    CHECK(m->string(*idx.find("int")) == "int");
    CHECK(*idx.find("int") < b->strings_size());  // the base's
    REQUIRE(idx.find("own").has_value());
    CHECK(*idx.find("own") >= b->strings_size());
    CHECK(m->string(*idx.find("own")) == "own");
    CHECK_FALSE(idx.find("nope").has_value());
}
