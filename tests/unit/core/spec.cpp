// core/spec.hpp: stage 1 of CO-RE, an access string over a root type parsed into a spec (libbpf's
// bpf_core_parse_spec), its errors, and libbpf's log notation of a spec.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "blob_builder.hpp"
#include "btfkit/core/spec.hpp"
#include "btfkit/format/btf.hpp"

namespace {

using namespace btfkit;
using testing::blob_builder;

// struct inner { int x; int y; }; struct outer { int a; struct inner in[3]; }; typedef struct outer outer_t;
// enum e { A = 1, B = -2 };
constexpr std::uint32_t outer_t = 5, enum_e = 6;
blob_builder local_blob() {
    blob_builder b(byte_order::little);
    const auto i = b.add_int("int", 4, int_signed);                                       // 1
    const auto inner = b.add_struct("inner", 8, false, {{"x", i, 0, 0}, {"y", i, 32, 0}});  // 2
    const auto arr = b.add_array(inner, i, 3);                                            // 3
    const auto outer = b.add_struct("outer", 28, false, {{"a", i, 0, 0}, {"in", arr, 32, 0}});  // 4
    b.add_ref(kind::typedef_, "outer_t", outer);                                          // 5
    b.add_enum("e", 4, true, {{"A", 1}, {"B", static_cast<std::uint64_t>(-2)}});          // 6
    return b;
}

}  // namespace

TEST_CASE("parse_spec: raw indices, named steps and the bit offset through a typedef, an array and a member") {
    const blob_builder bb = local_blob();
    auto b = btf::parse(bb.span());
    REQUIRE(b.has_value());
    core_spec s;
    const status st = parse_spec(*b, outer_t, "0:1:2:1", relo_kind::field_byte_offset, s);
    REQUIRE_MESSAGE(st.has_value(), st.error().message());
    CHECK(s.raw_len == 4);
    CHECK(s.len == 4);
    CHECK(s.root_type_id == outer_t);
    CHECK(s.spec[0].type_id == 4);  // the typedef is skipped
    CHECK(s.spec[1].name == "in");
    CHECK(s.spec[1].named);
    CHECK_FALSE(s.spec[2].named);
    CHECK(s.spec[2].idx == 2);
    CHECK(s.spec[3].name == "y");
    CHECK(s.bit_offset == 32 + 2 * 64 + 32);
    CHECK(format_spec(s) == "<byte_off> [5] typedef outer_t.in[2].y (0:1:2:1 @ offset 24)");
    // Blanks and a sign, as sscanf("%d") reads them.
    REQUIRE(parse_spec(*b, outer_t, "0: +1", relo_kind::field_byte_offset, s).has_value());
    CHECK(s.bit_offset == 32);
    // An index on the root steps over whole objects.
    REQUIRE(parse_spec(*b, 2, "3:1", relo_kind::field_byte_offset, s).has_value());
    CHECK(s.bit_offset == 3 * 64 + 32);
}

TEST_CASE("parse_spec: enum values, type-based kinds, and every malformed access an error naming it") {
    const blob_builder bb = local_blob();
    auto b = btf::parse(bb.span());
    REQUIRE(b.has_value());
    core_spec s;
    REQUIRE(parse_spec(*b, enum_e, "1", relo_kind::enumval_value, s).has_value());
    CHECK(s.spec[0].name == "B");
    CHECK(format_spec(s) == "<enumval_value> [6] enum e::B = -2");
    REQUIRE(parse_spec(*b, outer_t, "0", relo_kind::type_size, s).has_value());
    CHECK(s.len == 0);
    CHECK(format_spec(s) == "<type_size> [5] typedef outer_t");

    auto code = [&](std::uint32_t root, const char* access, relo_kind k) {
        const status st = parse_spec(*b, root, access, k, s);
        return st.has_value() ? errc::ok : st.error().code;
    };
    CHECK(code(enum_e, "2", relo_kind::enumval_exists) == errc::bad_access);     // past the enumerators
    CHECK(code(enum_e, "0:0", relo_kind::enumval_value) == errc::bad_access);   // one index only
    CHECK(code(outer_t, "0:1", relo_kind::type_exists) == errc::bad_access);    // type-based: "0" only
    CHECK(code(outer_t, "0:2", relo_kind::field_exists) == errc::bad_access);   // no member 2
    CHECK(code(outer_t, "0:1:3", relo_kind::field_exists) == errc::bad_access); // in[3] of 3
    CHECK(code(outer_t, "0:0:0", relo_kind::field_exists) == errc::bad_access); // into an int
    CHECK(code(outer_t, "0:x", relo_kind::field_exists) == errc::bad_access);
    CHECK(code(outer_t, "0:-1", relo_kind::field_exists) == errc::bad_access);
    CHECK(code(outer_t, ":0", relo_kind::field_exists) == errc::bad_access);
    CHECK(code(outer_t, "", relo_kind::field_exists) == errc::bad_access);
    CHECK(code(outer_t, "0:4294967296", relo_kind::field_exists) == errc::bad_access);
    CHECK(code(99, "0", relo_kind::field_exists) == errc::bad_type_id);
    std::string deep = "0";
    for (std::uint32_t i = 0; i < core_spec_max_len; ++i) deep += ":0";
    CHECK(code(2, deep.c_str(), relo_kind::field_exists) == errc::too_deep);
    const status named = parse_spec(*b, outer_t, "0:2", relo_kind::field_exists, s);
    REQUIRE_FALSE(named.has_value());
    CHECK(named.error().message().find("type #4: access 1: member index past the end") != std::string::npos);
}
