// show/format_value.hpp: bpf_snprintf_btf's text without the kernel: constant evaluation gives the
// run-time text (the documented default/compat differences included), short buffers keep what
// snprintf keeps, and what the kernel would crash or fail on is an error value.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>

#include "blob_builder.hpp"
#include "btfkit/show/format_value.hpp"
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

// The same value printed in constant evaluation, in both byte orders.
constexpr std::uint32_t ct_flags = show_ptr_raw | show_compact;
constexpr auto ct_le = print_sample(byte_order::little, ct_flags);
constexpr auto ct_be = print_sample(byte_order::big, ct_flags);
constexpr auto ct_compat = print_sample(byte_order::little, ct_flags | show_kernel_compat);
static_assert(ct_le.ok && ct_be.ok && ct_compat.ok);
static_assert(ct_le.length == ct_be.length);
static_assert(contains(ct_le, ".a = (int)-5,") && contains(ct_le, ".b = (unsigned int)0x5,"));
static_assert(contains(ct_le, ".name = (char[])['h','i',]"));
// Default: the array of pointers opens with '[' and shows each element.
static_assert(contains(ct_le, ".p = (int *[])[") && contains(ct_le, "0x0000000000003000"));
// Kernel compat: no '[', and element 0 for every element.
static_assert(contains(ct_compat, ".p = (int *[])0x0000000000001000,") && !contains(ct_compat, "0x0000000000002000"));

}  // namespace

TEST_CASE("print: constant evaluation gives the run-time text, in both byte orders") {
    for (const auto order : {byte_order::little, byte_order::big}) {
        const printed rt = print_sample(order, ct_flags);
        const printed& ct = order == byte_order::little ? ct_le : ct_be;
        REQUIRE(rt.ok);
        CHECK(std::string_view(rt.text.data(), rt.length) == std::string_view(ct.text.data(), ct.length));
    }
    // The three pointers, each once, by default; element 0 three times in kernel compat.
    const std::string_view def(ct_le.text.data(), ct_le.length), compat(ct_compat.text.data(), ct_compat.length);
    for (const std::string_view p : {"0x0000000000001000", "0x0000000000002000", "0x0000000000003000"}) {
        CHECK(def.find(p) != std::string_view::npos);
    }
    std::size_t zeros = 0;
    for (std::size_t i = compat.find("0x0000000000001000"); i != std::string_view::npos; i = compat.find("0x0000000000001000", i + 1)) ++zeros;
    CHECK(zeros == 3);
}

TEST_CASE("print: a short buffer keeps the first size-1 bytes and the full length is returned") {
    const printed full = print_sample(byte_order::little, 0);
    REQUIRE(full.ok);
    const auto blob = sample_blob(byte_order::little);
    auto b = btf::parse(blob.span());
    REQUIRE(b.has_value());
    const auto value = sample_value(byte_order::little);
    for (std::size_t size = 1; size < full.length + 3; ++size) {
        std::string buf(size, '\x7f');
        bounded_buffer sink(buf.data(), size);
        const auto r = format_value(*b, sample_struct, byte_span(value.data(), value.size()), 0, sink);
        REQUIRE(r.has_value());
        CHECK(*r == full.length);
        const std::size_t kept = std::min(size - 1, full.length);
        CHECK(sink.text() == std::string_view(full.text.data(), kept));
        CHECK(buf[kept] == '\0');
    }
}

TEST_CASE("print: what the kernel would crash or fail on is an error value") {
    blob_builder bb(byte_order::little);
    const std::uint32_t i32 = bb.add_int("int", 4, int_signed);
    const std::uint32_t var = bb.add_var("v", i32, 1);
    const std::uint32_t sec = bb.add_datasec(".data", 4, {{var, 0, 4}});
    const std::uint32_t void_typedef = bb.add_ref(kind::typedef_, "nothing", 0);
    const std::uint32_t void_const = bb.add_ref(kind::const_, "", void_typedef);
    const std::uint32_t holder = bb.add_struct("h", 4, false, {{"x", void_const, 0, 0}});
    const std::uint32_t loop_a = bb.add_ref(kind::typedef_, "a", 0);
    auto b = btf::parse(bb.span());
    REQUIRE(b.has_value());
    const char value[64] = {};
    std::string out;
    const auto code = [&](std::uint32_t id, std::size_t n = sizeof(value)) {
        out.clear();
        const auto r = format_value(*b, id, byte_span(value, n), 0, out);
        if (!r) CHECK(out.empty());  // refused before any output
        return r.has_value() ? errc::ok : r.error().code;
    };
    CHECK(code(var) == errc::unsupported);
    CHECK(code(sec) == errc::unsupported);
    CHECK(code(void_typedef) == errc::unsupported);
    CHECK(code(void_const) == errc::unsupported);
    CHECK(code(holder) == errc::unsupported);
    CHECK(code(loop_a) == errc::unsupported);
    CHECK(code(0) == errc::bad_type_id);
    CHECK(code(b->type_count()) == errc::bad_type_id);
    CHECK(code(i32, 3) == errc::truncated);
    CHECK(code(i32) == errc::ok);
}
