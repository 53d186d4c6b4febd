// format/btf_scan.hpp: the validating scans of a type section: the one pass lists every record and the
// named types of indexed kinds, and the precise pass names the first bad record.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "blob_builder.hpp"
#include "btfkit/format/btf.hpp"
#include "btfkit/format/btf_scan.hpp"

namespace {

using namespace btfkit;
using testing::blob_builder;

using table = std::vector<std::uint32_t, arena_allocator<std::uint32_t>>;

// int, struct s { int a; }, an anonymous pointer, typedef t; in `order`.
blob_builder four_types(byte_order order) {
    blob_builder b(order);
    const auto i = b.add_int("int", 4, int_signed);
    const auto s = b.add_struct("s", 4, false, {{"a", i, 0, 0}});
    b.add_ref(kind::ptr, "", s);
    b.add_ref(kind::typedef_, "t", s);
    return b;
}

// Where the type section and the strings are, from the header of a base BTF.
struct sections {
    std::size_t types_start = 0, types_end = 0;
    std::uint32_t strings_end = 0;
};
sections sections_of(const byte_reader& r) {
    const std::uint32_t hdr_len = r.u32(4);
    return {hdr_len + r.u32(8), std::size_t{hdr_len} + r.u32(8) + r.u32(12), r.u32(20)};
}

}  // namespace

TEST_CASE("errors name the place") {
    blob_builder b(byte_order::little);
    b.add_int("int", 4, int_signed);
    b.add_struct("s", 4, false, {{"a", 1, 0, 0}, {"b", 99, 0, 0}});
    const auto r = btf::parse(b.span());
    REQUIRE_FALSE(r);
    const std::string msg = r.error().message();
    CHECK(msg.find("type #2") != std::string::npos);
    CHECK(msg.find("member 1") != std::string::npos);
    CHECK(msg.find("got 99") != std::string::npos);
}

TEST_CASE("btf_scan: one pass lists every record and the named indexed types, in either byte order") {
    for (const byte_order order : {byte_order::little, byte_order::big}) {
        CAPTURE(order == byte_order::little ? "little endian" : "big endian");
        const blob_builder b = four_types(order);
        const byte_reader r(b.span(), order);
        const sections s = sections_of(r);
        table offsets, named;
        const bool ok = order == byte_order::little
                            ? detail::scan_types<byte_order::little>(b.span().data(), s.types_start, s.types_end, s.strings_end, 1, offsets, named)
                            : detail::scan_types<byte_order::big>(b.span().data(), s.types_start, s.types_end, s.strings_end, 1, offsets, named);
        REQUIRE(ok);
        // Records of 16 (INT), 24 (STRUCT, one member), 12 (PTR) and 12 (TYPEDEF) bytes, back to back.
        CHECK(offsets == table{static_cast<std::uint32_t>(s.types_start), static_cast<std::uint32_t>(s.types_start + 16),
                               static_cast<std::uint32_t>(s.types_start + 40), static_cast<std::uint32_t>(s.types_start + 52)});
        CHECK(named == table{0, 1, 3});  // the anonymous PTR is not listed
        // A section cut inside the last record: the pass fails, and the precise pass says where.
        table o2, n2;
        const bool cut = order == byte_order::little
                             ? detail::scan_types<byte_order::little>(b.span().data(), s.types_start, s.types_end - 4, s.strings_end, 1, o2, n2)
                             : detail::scan_types<byte_order::big>(b.span().data(), s.types_start, s.types_end - 4, s.strings_end, 1, o2, n2);
        CHECK_FALSE(cut);
        const error e = detail::precise_type_error(r, 1, s.strings_end, s.types_start, s.types_end - 4);
        CHECK(e.code == errc::truncated);
        CHECK(e.where.type_id == 4);
        CHECK(e.where.offset == s.types_start + 52);
    }
}

TEST_CASE("btf_scan: the precise pass names the first bad record and what is wrong with it") {
    blob_builder b = four_types(byte_order::little);
    std::vector<char> bytes = b.bytes();
    const byte_reader good(byte_span(bytes.data(), bytes.size()), byte_order::little);
    const sections s = sections_of(good);
    // The member of struct s (id 2) refers to type 99; the typedef (id 4) to type 77: the first is named.
    detail::store<std::uint32_t>(bytes.data() + s.types_start + 16 + 12 + 4, 99, byte_order::little);
    detail::store<std::uint32_t>(bytes.data() + s.types_start + 52 + 8, 77, byte_order::little);
    const byte_reader r(byte_span(bytes.data(), bytes.size()), byte_order::little);
    table offsets, named;
    CHECK_FALSE(detail::scan_types<byte_order::little>(bytes.data(), s.types_start, s.types_end, s.strings_end, 1, offsets, named));
    const error e = detail::precise_type_error(r, 1, s.strings_end, s.types_start, s.types_end);
    CHECK(e.code == errc::bad_type_id);
    CHECK(e.where.type_id == 2);
    CHECK(e.where.index == 0);
    CHECK(e.where.value == 99);
    CHECK(e.where.limit == 5);
    // A name offset past the strings, in a record before it: that one is first.
    detail::store<std::uint32_t>(bytes.data() + s.types_start, s.strings_end + 3, byte_order::little);
    const error first = detail::precise_type_error(r, 1, s.strings_end, s.types_start, s.types_end);
    CHECK(first.code == errc::bad_string);
    CHECK(first.where.type_id == 1);
}
