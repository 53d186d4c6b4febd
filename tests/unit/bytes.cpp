// bytes.hpp: bounds-checked loads in either byte order, over char so that strings are string_views.
#include <doctest/doctest.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "btfkit/bytes.hpp"

namespace {

using namespace btfkit;

// 01 02 03 04 05 06 07 08 then "ab\0" and "cd" (unterminated).
constexpr std::array<char, 13> sample{1, 2, 3, 4, 5, 6, 7, 8, 'a', 'b', '\0', 'c', 'd'};

constexpr std::uint32_t u32_at(std::size_t off, byte_order order) { return byte_reader(byte_span(sample), order).u32(off); }
static_assert(u32_at(0, byte_order::little) == 0x04030201u);
static_assert(u32_at(0, byte_order::big) == 0x01020304u);
static_assert(detail::byteswap<std::uint16_t>(0x1234) == 0x3412);

}  // namespace

TEST_CASE("bytes: loads in either byte order, the same at run time as in constant evaluation") {
    const byte_reader le(byte_span(sample), byte_order::little), be(byte_span(sample), byte_order::big);
    CHECK(le.u8(1) == 2);
    CHECK(le.u16(0) == 0x0201);
    CHECK(be.u16(0) == 0x0102);
    CHECK(le.u32(0) == u32_at(0, byte_order::little));
    CHECK(be.u32(0) == u32_at(0, byte_order::big));
    CHECK(le.u32(1) == 0x05040302u);  // no alignment needed
    CHECK(le.u64(0) == 0x0807060504030201ull);
    CHECK(be.u64(0) == 0x0102030405060708ull);
    const std::array<char, 4> minus_two{static_cast<char>(0xfe), static_cast<char>(0xff), static_cast<char>(0xff), static_cast<char>(0xff)};
    CHECK(byte_reader(byte_span(minus_two), byte_order::little).s32(0) == -2);
    CHECK(detail::byteswap<std::uint32_t>(0x11223344u) == 0x44332211u);
    CHECK(detail::byteswap<std::uint64_t>(0x0102030405060708ull) == 0x0807060504030201ull);
}

TEST_CASE("bytes: store writes what load reads, in each order") {
    for (const byte_order order : {byte_order::little, byte_order::big}) {
        std::array<char, 8> buf{};
        detail::store<std::uint64_t>(buf.data(), 0x1122334455667788ull, order);
        CHECK(detail::load<std::uint64_t>(buf.data(), order) == 0x1122334455667788ull);
        CHECK(static_cast<unsigned char>(buf[0]) == (order == byte_order::little ? 0x88 : 0x11));
        detail::store<std::uint16_t>(buf.data() + 3, 0xabcd, order);
        CHECK(detail::load<std::uint16_t>(buf.data() + 3, order) == 0xabcd);
    }
    CHECK((native_order == byte_order::little || native_order == byte_order::big));
}

TEST_CASE("bytes: fits() and sub() keep reads inside the view") {
    const byte_reader r(byte_span(sample), byte_order::little);
    CHECK(r.size() == sample.size());
    CHECK(r.fits(0, 13));
    CHECK(r.fits(13, 0));
    CHECK_FALSE(r.fits(13, 1));
    CHECK_FALSE(r.fits(14, 0));
    CHECK_FALSE(r.fits(1, ~std::uint64_t{0}));  // no wrap-around
    const byte_reader s = r.sub(4, 4);
    CHECK(s.size() == 4);
    CHECK(s.order() == byte_order::little);
    CHECK(s.u32(0) == 0x08070605u);
    CHECK_FALSE(s.fits(1, 4));
}

TEST_CASE("bytes: c_string_at finds terminated strings only") {
    std::string_view out;
    CHECK(c_string_at(byte_span(sample), 8, out));
    CHECK(out == "ab");
    CHECK(c_string_at(byte_span(sample), 10, out));
    CHECK(out.empty());
    CHECK_FALSE(c_string_at(byte_span(sample), 11, out));  // "cd" runs off the end
    CHECK_FALSE(c_string_at(byte_span(sample), 13, out));
    CHECK_FALSE(c_string_at(byte_span(sample), 1000, out));
    // The run-time scan reads eight bytes at a time: strings of every length, ending in or after a
    // word, near the end of the data or not, give what the constant-evaluated search gives.
    for (std::size_t len = 0; len <= 20; ++len) {
        for (std::size_t before = 0; before <= 9; ++before) {
            for (std::size_t after = 0; after <= 9; ++after) {
                std::string table(before, '\0');
                for (std::size_t i = 0; i < len; ++i) table += static_cast<char>(0x80 + i);  // high bytes too
                table += '\0';
                table.append(after, 'z');
                CAPTURE(len);
                CAPTURE(before);
                CAPTURE(after);
                REQUIRE(c_string_at(byte_span(table.data(), table.size()), before, out));
                CHECK(out.data() == table.data() + before);
                CHECK(out.size() == len);
                table.pop_back();
                if (after == 0) CHECK_FALSE(c_string_at(byte_span(table.data(), table.size()), before, out));  // the NUL gone
            }
        }
    }
    const std::array<std::byte, 2> raw{std::byte{'x'}, std::byte{0}};
    const byte_span v = as_byte_span(raw);
    CHECK(v.size() == 2);
    CHECK(v[0] == 'x');
}
