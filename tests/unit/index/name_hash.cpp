// index/name_hash.hpp: the essential-name hash, over a name and straight from a string table (word at
// a time, the "___flavor" suffix dropped): both paths must give the same value for every name.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "blob_builder.hpp"
#include "btfkit/core/relo_rules.hpp"
#include "btfkit/format/btf.hpp"
#include "btfkit/index/name_hash.hpp"

namespace {

using namespace btfkit;

// The hash is the same in constant evaluation (an index may be built there).
constexpr std::uint32_t task_struct_hash = name_hash("task_struct");

// `name` followed by `after` in one buffer, as in a string table: what follows a name is another
// string, which a scan of the name must not read.
std::string in_table(std::string_view name, std::string_view after) {
    std::string table(name);
    table += '\0';
    table += after;
    return table;
}
// Names of every length up to and past a few words: n letters.
std::string letters(std::size_t n) {
    std::string name;
    for (std::size_t i = 0; i < n; ++i) name += static_cast<char>('a' + i % 26);
    return name;
}
constexpr std::string_view followers[] = {"", "x", "zzzzzzzzzzzzzzzzzzzzzzzz"};

// essential_hash_at over `name` followed by `after`.
std::uint32_t hash_in_table(std::string_view name, std::string_view after) {
    const std::string table = in_table(name, after);
    std::uint32_t h = 0;
    REQUIRE(essential_hash_at(table.data(), table.data() + table.size(), h));
    return h;
}

}  // namespace

TEST_CASE("name_hash: the same at run time as in constant evaluation; different names spread") {
    CHECK(name_hash("task_struct") == task_struct_hash);
    CHECK(name_hash("task_struct") != name_hash("task_structs"));
    CHECK(name_hash("a") != name_hash("b"));
    CHECK(name_hash("") != name_hash(std::string_view("\0", 1)));  // the length is part of it
    CHECK(name_hash("abcdefgh") != name_hash("abcdefghi"));         // a word and a word plus one byte
}

TEST_CASE("essential_hash_at: name_hash of the essential name, whatever the length or what follows") {
    for (std::size_t n = 1; n <= 40; ++n) {
        const std::string name = letters(n);
        for (const std::string_view after : followers) {
            CAPTURE(name);
            CHECK(hash_in_table(name, after) == name_hash(name));
        }
    }
    // Flavors: the suffix from the last "___" is dropped, as libbpf's essential names; across a word
    // boundary too.
    for (const std::string_view n : {"xfs_mount___flavour", "task_struct___old", "abcde___x", "abcdefg___x", "a___b___c", "a____b"}) {
        CAPTURE(n);
        CHECK(hash_in_table(n, "tail") == name_hash(essential_name(n)));
    }
    CHECK(hash_in_table("task_struct___old", "") == name_hash("task_struct"));
    std::uint32_t h = 0;
    const char empty[] = "\0next";
    CHECK_FALSE(essential_hash_at(empty, empty + sizeof(empty), h));
}

TEST_CASE("hashed_name_at: the name and its name_hash in one pass, whatever the length or what follows") {
    for (std::size_t n = 0; n <= 40; ++n) {
        const std::string name = letters(n);
        for (const std::string_view after : followers) {
            const std::string table = in_table(name, after);
            CAPTURE(name);
            CAPTURE(after);
            std::uint32_t h = 0;
            const std::string_view got = hashed_name_at(table.data(), table.data() + table.size(), h);
            CHECK(got.data() == table.data());
            CHECK(got == name);
            CHECK(h == name_hash(name));
        }
    }
    // Flavors are hashed whole: this is the name itself, not its essential name.
    std::uint32_t h = 0;
    const char flavored[] = "task_struct___old";
    CHECK(hashed_name_at(flavored, flavored + sizeof(flavored), h) == "task_struct___old");
    CHECK(h == name_hash("task_struct___old"));
}

TEST_CASE("essential_hash_of: a type's name read from its BTF's string table") {
    testing::blob_builder bb(byte_order::little);
    bb.add_int("int", 4, int_signed);
    bb.add_struct("sock___v2", 4, false, {{"a", 1, 0, 0}});
    bb.add_ref(kind::ptr, "", 2);
    auto b = btf::parse(bb.span());
    REQUIRE(b.has_value());
    std::uint32_t h = 0;
    REQUIRE(essential_hash_of(*b, (*b)[2].name_off(), h));
    CHECK(h == name_hash("sock"));
    REQUIRE(essential_hash_of(*b, (*b)[1].name_off(), h));
    CHECK(h == name_hash("int"));
    CHECK_FALSE(essential_hash_of(*b, (*b)[3].name_off(), h));  // anonymous
}

// How names compare in each name space: types by essential name, symbols whole.
static_assert(btfkit::key_matches(btfkit::name_space::types, "foo___v2", "foo") && !btfkit::key_matches(btfkit::name_space::symbols, "foo___v2", "foo"));
static_assert(btfkit::key_matches(btfkit::name_space::symbols, "foo___v2", "foo___v2"));
