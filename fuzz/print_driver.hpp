// fuzz_print's driver, shared with tests/test_print.cpp's replay of the seeds: fuzzed BTF, a type chosen
// by the input, the input itself as the value's bytes, every flag combination the input picks.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

#include "btfkit/show/format_value.hpp"

namespace btfkit::testing {

// Keeps the first `cap` bytes and counts them all.
struct capped_string {
    std::string text;
    std::size_t cap = 1 << 20, total = 0;
    void append(const char* p, std::size_t n) {
        if (text.size() < cap) text.append(p, n < cap - text.size() ? n : cap - text.size());
        total += n;
    }
};

// Input: flags byte, u16 LE type selector, then raw BTF. Returns false with `why` when an invariant breaks.
inline bool run_print(byte_span in, std::string& why) {
    if (in.size() < 3) return true;
    const auto flags = static_cast<std::uint32_t>(static_cast<unsigned char>(in[0]));
    const std::uint32_t selector = static_cast<unsigned char>(in[1]) | (static_cast<std::uint32_t>(static_cast<unsigned char>(in[2])) << 8);
    auto b = btf::parse(in.subspan(3));
    if (!b) return true;
    // The value: the input, then zeros (a typed value up to 64 KiB).
    static char value[1 << 16];
    const std::size_t n = in.size() < sizeof(value) ? in.size() : sizeof(value);
    for (std::size_t i = 0; i < sizeof(value); ++i) value[i] = i < n ? in[i] : 0;
    const std::uint32_t id = b->type_count() > 1 ? 1 + selector % (b->type_count() - 1) : selector;
    for (const std::uint32_t f : {flags & (show_kernel_flags | show_kernel_compat), (flags ^ 0xff) & show_kernel_flags}) {
        capped_string full;
        const auto r = format_value(*b, id, byte_span(value, sizeof(value)), f, full);
        char small[257];
        bounded_buffer cut(small, sizeof(small));
        const auto r2 = format_value(*b, id, byte_span(value, sizeof(value)), f, cut);
        if (r.has_value() != r2.has_value()) { why = "the sink changed the outcome"; return false; }
        if (!r) {
            if (r.error().message().empty()) { why = "an error without a message"; return false; }
            continue;
        }
        if (*r != full.total || *r != *r2 || cut.length() != *r) { why = "reported length differs from the bytes written"; return false; }
        if (full.text.substr(0, cut.text().size()) != cut.text() || cut.text().size() != (*r < 256 ? *r : 256)) {
            why = "a short buffer does not hold the output's first bytes";
            return false;
        }
    }
    return true;
}

}  // namespace btfkit::testing
