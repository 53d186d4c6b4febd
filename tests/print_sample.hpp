// The value the print suites format: a struct of an int, a bitfield, an array of pointers and a char
// array, in either byte order, and its text from format_value and format_json, in constant evaluation
// or at run time.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "blob_builder.hpp"
#include "btfkit/format/btf.hpp"
#include "btfkit/show/format_json.hpp"
#include "btfkit/show/format_value.hpp"

namespace btfkit::testing {

// struct s { int a; unsigned b:3; int *p[3]; char name[4]; }
constexpr auto sample_blob(byte_order order) {
    blob_builder b(order);
    const std::uint32_t i32 = b.add_int("int", 4, int_signed);
    const std::uint32_t u32 = b.add_int("unsigned int", 4, 0);
    const std::uint32_t chr = b.add_int("char", 1, int_signed);
    const std::uint32_t ptr = b.add_ref(kind::ptr, "", i32);
    const std::uint32_t arr = b.add_array(ptr, i32, 3);
    const std::uint32_t name = b.add_array(chr, i32, 4);
    b.add_struct("s", 40, true, {{"a", i32, 0, 0}, {"b", u32, 32, 3}, {"p", arr, 64, 0}, {"name", name, 256, 0}});
    (void)u32;
    return b;
}
inline constexpr std::uint32_t sample_struct = 7;

// The sample value: a = -5, b = 5, p = {0x1000, 0x2000, 0x3000}, name = "hi".
constexpr std::array<char, 40> sample_value(byte_order order) {
    std::array<char, 40> v{};
    detail::store<std::uint32_t>(v.data(), static_cast<std::uint32_t>(-5), order);
    v[4] = static_cast<char>(order == byte_order::little ? 5 : 5 << 5);
    for (std::uint32_t i = 0; i < 3; ++i) detail::store<std::uint64_t>(v.data() + 8 + 8 * i, 0x1000u * (i + 1), order);
    v[32] = 'h';
    v[33] = 'i';
    return v;
}

struct printed {
    std::array<char, 512> text{};
    std::size_t length = 0;
    bool ok = false;
};
constexpr printed print_sample(byte_order order, std::uint32_t flags) {
    const auto blob = sample_blob(order);
    auto b = btf::parse(blob.span());
    printed out;
    if (!b) return out;
    const auto value = sample_value(order);
    bounded_buffer sink(out.text.data(), out.text.size());
    const auto r = format_value(*b, sample_struct, byte_span(value.data(), value.size()), flags, sink);
    out.ok = r.has_value();
    out.length = r.has_value() ? *r : 0;
    return out;
}

constexpr bool contains(const printed& p, std::string_view s) {
    return std::string_view(p.text.data(), p.length).find(s) != std::string_view::npos;
}

constexpr printed json_sample(byte_order order) {
    const auto blob = sample_blob(order);
    auto b = btf::parse(blob.span());
    printed out;
    if (!b) return out;
    const auto value = sample_value(order);
    bounded_buffer sink(out.text.data(), out.text.size());
    const auto r = format_json(*b, sample_struct, byte_span(value.data(), value.size()), sink);
    out.ok = r.has_value();
    out.length = r.has_value() ? *r : 0;
    return out;
}

// The same value through a json_plan (compiled, then formatted), in constant evaluation too.
constexpr printed plan_sample(byte_order order) {
    const auto blob = sample_blob(order);
    auto b = btf::parse(blob.span());
    printed out;
    if (!b) return out;
    const auto plan = json_plan::compile(*b, sample_struct);
    if (!plan) return out;
    const auto value = sample_value(order);
    bounded_buffer sink(out.text.data(), out.text.size());
    const auto r = plan->format(byte_span(value.data(), value.size()), sink);
    out.ok = r.has_value();
    out.length = r.has_value() ? *r : 0;
    return out;
}

}  // namespace btfkit::testing
