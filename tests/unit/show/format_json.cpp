// show/format_json.hpp: bpftool map dump -j's text; constant evaluation gives the run-time text.
#include <doctest/doctest.h>

#include <string_view>

#include "btfkit/show/format_json.hpp"
#include "print_sample.hpp"

namespace {

using namespace btfkit;
using testing::blob_builder;
using testing::contains;
using testing::json_sample;
using testing::print_sample;
using testing::printed;
using testing::sample_blob;
using testing::sample_struct;
using testing::sample_value;

constexpr auto json_le = json_sample(byte_order::little);
constexpr auto json_be = json_sample(byte_order::big);
static_assert(json_le.ok && json_be.ok);
static_assert(contains(json_le, "{\"a\":-5,\"b\":\"0x5\",\"p\":[4096,8192,12288],\"name\":\"hi\"}"));

}  // namespace

TEST_CASE("print --json: constant evaluation gives the run-time text, in both byte orders") {
    for (const auto order : {byte_order::little, byte_order::big}) {
        const printed rt = json_sample(order);
        const printed& ct = order == byte_order::little ? json_le : json_be;
        REQUIRE(rt.ok);
        CHECK(std::string_view(rt.text.data(), rt.length) == std::string_view(ct.text.data(), ct.length));
    }
}
