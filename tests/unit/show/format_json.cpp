// show/format_json.hpp: bpftool map dump -j's text; constant evaluation gives the run-time text.
#include <doctest/doctest.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "btfkit/show/format_json.hpp"
#include "btfkit/write/btf_builder.hpp"
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
// json_plan in constant evaluation: the plan's vectors and strings are transient, its bytes format_json's.
constexpr auto plan_le = testing::plan_sample(byte_order::little);
constexpr auto plan_be = testing::plan_sample(byte_order::big);
static_assert(plan_le.ok && plan_be.ok);
static_assert(std::string_view(plan_le.text.data(), plan_le.length) == std::string_view(json_le.text.data(), json_le.length));
static_assert(std::string_view(plan_be.text.data(), plan_be.length) == std::string_view(json_be.text.data(), json_be.length));
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

// Every kind the plan has a node for: bitfields, bools, chars, 128-bit and odd-width INTs, both enum
// kinds with duplicate values, char arrays that are and are not strings, arrays of structs, a union,
// pointers, typedefs and qualifiers, members at odd bit offsets, in both byte orders; random bytes.
TEST_CASE("json_plan: the bytes format_json prints, value after value") {
    for (const auto order : {byte_order::little, byte_order::big}) {
        btf_builder w(order);
        const auto i32 = w.add_int("int", 4, int_signed);                                        // 1
        const auto u8 = w.add_int("unsigned char", 1, 0);                                        // 2
        const auto chr = w.add_int("char", 1, int_signed);                                       // 3
        const auto bl = w.add_int("_Bool", 1, int_bool);                                         // 4
        const auto i128 = w.add_int("__int128", 16, int_signed);                                 // 5
        const auto c = w.add_int("signed char", 1, int_char);                                    // 6
        const auto e = w.add_enum("e", 4, true, {{"A", 0}, {"B", 1}, {"C", 0xffffffff}, {"D", 1}});
        const auto e64 = w.add_enum64("e64", 8, false, {{"X", 1}, {"Y", 0x100000000ull}});
        const auto str = w.add_array(w.add_const(chr), i32, 6);
        const auto bytes = w.add_array(u8, i32, 3);
        const auto inner = w.add_struct("in", 8, {{"x", i32, 0}, {"name", w.add_array(c, i32, 4), 32}});
        const auto inners = w.add_array(w.add_typedef("in_t", inner), i32, 2);
        const auto un = w.add_union("u", 8, {{"l", e64, 0}, {"p", w.add_ptr(inner), 0}});
        const auto outer = w.add_struct("outer", 96,
                                        {{"a", i32, 0, 3}, {"b", i32, 3, 7}, {"ok", bl, 16}, {"e", e, 32}, {"s", str, 64},
                                         {"raw", bytes, 112}, {"in", inners, 192}, {"u", un, 320}, {"big", i128, 384},
                                         {"v", w.add_volatile(i32), 512}, {"odd", u8, 548}},
                                        true);
        const auto blob = w.encode();
        REQUIRE(blob.has_value());
        const auto b = btf::parse({blob->data(), blob->size()});
        REQUIRE(b.has_value());
        const auto plan = json_plan::compile(*b, outer);
        REQUIRE(plan.has_value());
        std::mt19937_64 rng(7);
        for (int n = 0; n < 500; ++n) {
            std::vector<char> v(96);
            for (auto& ch : v) {
                const auto r = rng();
                ch = n % 3 == 0 ? static_cast<char>(r) : n % 3 == 1 ? (r % 4 == 0 ? 0 : static_cast<char>(0x20 + r % 0x5f)) : (r % 8 == 0 ? static_cast<char>(r >> 8) : 0);
            }
            std::string direct, planned;
            const auto r1 = format_json(*b, outer, byte_span(v.data(), v.size()), direct);
            const auto r2 = plan->format(byte_span(v.data(), v.size()), planned);
            REQUIRE(r1.has_value());
            REQUIRE(r2.has_value());
            CHECK(*r1 == *r2);
            CHECK(direct == planned);
        }
        // The same refusals: a short value, and a too-small visit budget.
        std::string out;
        CHECK(plan->format(byte_span(out.data(), 0), out).error().code == errc::truncated);
        const auto tight = json_plan::compile(*b, outer, 3);
        CHECK_FALSE(tight.has_value());
        CHECK(json_plan::compile(*b, 0).error().code == errc::bad_type_id);
    }
}
