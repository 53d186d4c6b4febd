// index/u32_table.hpp: an index's table of u32 values, owned or borrowed from little-endian bytes.
#include <doctest/doctest.h>

#include <array>
#include <cstdint>

#include "btfkit/index/u32_table.hpp"

namespace {

using btfkit::byte_order;
using btfkit::detail::u32_table;

}  // namespace

TEST_CASE("u32_table: owned values, then borrowed little-endian bytes at any alignment, then owned again") {
    u32_table t;
    CHECK(t.empty());
    auto& owned = t.own();
    owned.push_back(7);
    owned.push_back(0xdeadbeef);
    CHECK(t.size() == 2);
    CHECK(t[1] == 0xdeadbeef);
    CHECK(t.memory_bytes() >= 2 * sizeof(std::uint32_t));

    // Three values stored little-endian one byte into the buffer: misaligned on purpose.
    std::array<char, 13> bytes{};
    for (std::uint32_t i = 0; i < 3; ++i) btfkit::detail::store<std::uint32_t>(bytes.data() + 1 + 4 * i, 0x01020304u * (i + 1), byte_order::little);
    t.borrow(bytes.data() + 1, 3);
    CHECK(t.size() == 3);
    CHECK_FALSE(t.empty());
    CHECK(t[0] == 0x01020304u);
    CHECK(t[2] == 0x0306090cu);
    u32_table fresh;  // as an index cache's tables are: borrowed, never owned
    fresh.borrow(bytes.data() + 1, 3);
    CHECK(fresh[1] == 0x02040608u);
    CHECK(fresh.memory_bytes() == 0);

    auto& again = t.own();  // drops the borrowed view
    CHECK(t.empty());
    again.push_back(42);
    CHECK(t.size() == 1);
    CHECK(t[0] == 42);
}
