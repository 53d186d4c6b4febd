// index/name_hits.hpp: what a name pass found, looked up by hash.
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "btfkit/index/name_hits.hpp"

TEST_CASE("name_hits: covers the names' hashes; each() gives a hash's entries in order") {
    btfkit::name_hits hits;
    CHECK(hits.empty());
    CHECK_FALSE(hits.covers(5));
    hits.hashes = {5, 9, 40};
    hits.vmlinux = {{5, 100}, {9, 7}, {9, 12}, {40, 3}};
    hits.modules = {{9, 1u << 18 | 4}, {40, 2u << 18 | 8}};
    CHECK_FALSE(hits.empty());
    CHECK(hits.covers(9));
    CHECK_FALSE(hits.covers(10));
    std::vector<std::uint32_t> got;
    btfkit::name_hits::each(hits.vmlinux, 9, [&](std::uint32_t v) { got.push_back(v); });
    CHECK(got == std::vector<std::uint32_t>{7, 12});
    got.clear();
    btfkit::name_hits::each(hits.modules, 5, [&](std::uint32_t v) { got.push_back(v); });
    CHECK(got.empty());
    btfkit::name_hits::each(hits.modules, 40, [&](std::uint32_t v) { got.push_back(v); });
    CHECK(got == std::vector<std::uint32_t>{2u << 18 | 8});
    btfkit::name_hits::each(hits.vmlinux, 41, [&](std::uint32_t v) { got.push_back(v); });
    CHECK(got.size() == 1);
    CHECK(hits.memory_bytes() >= 3 * sizeof(std::uint32_t) + 6 * sizeof(btfkit::name_hits::entry));
}
