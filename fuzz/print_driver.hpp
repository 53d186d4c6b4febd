// fuzz_print's driver, shared with tests/test_regression.cpp's replay of the seeds: fuzzed BTF, a
// type chosen by the input, the input itself as the value's bytes, every flag combination it picks.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

#include "btfkit/show/format_json.hpp"
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
    // A small visit budget keeps each input fast; the budget's own check is part of what runs.
    constexpr std::uint64_t steps = 1 << 16;
    for (const std::uint32_t f : {flags & (show_kernel_flags | show_kernel_compat), (flags ^ 0xff) & show_kernel_flags}) {
        capped_string full;
        const auto r = format_value(*b, id, byte_span(value, sizeof(value)), f, full, steps);
        char small[257];
        bounded_buffer cut(small, sizeof(small));
        const auto r2 = format_value(*b, id, byte_span(value, sizeof(value)), f, cut, steps);
        if (r.has_value() != r2.has_value()) { why = "the sink changed the outcome"; return false; }
        if (!r) {
            if (r.error().message().empty()) { why = "an error without a message"; return false; }
            continue;
        }
        // Each visit writes at most an indent, a label, a value and delimiters; a value is at most a string.
        if (full.total > (steps + 1) * (192 + std::uint64_t{b->strings_size()})) { why = "output longer than the visit budget allows"; return false; }
        if (*r != full.total || *r != *r2 || cut.length() != *r) { why = "reported length differs from the bytes written"; return false; }
        if (full.text.substr(0, cut.text().size()) != cut.text() || cut.text().size() != (*r < 256 ? *r : 256)) {
            why = "a short buffer does not hold the output's first bytes";
            return false;
        }
    }
    capped_string json;
    const auto j = format_json(*b, id, byte_span(value, sizeof(value)), json, steps);
    if (j ? *j != json.total : j.error().message().empty()) { why = "format_json: length or error message wrong"; return false; }
    // The plan prints the same bytes, or fails as format_json does (at compile time for the type's
    // own faults).
    const auto plan = json_plan::compile(*b, id, steps);
    if (!plan) {
        if (j) { why = "json_plan: refused a type format_json prints"; return false; }
        return true;
    }
    capped_string planned;
    const auto pj = plan->format(byte_span(value, sizeof(value)), planned);
    if (pj.has_value() != j.has_value() || (j && (*pj != *j || planned.text != json.text)) || (!j && pj.error().code != j.error().code)) {
        why = "json_plan: output or outcome differs from format_json";
        return false;
    }
    return true;
}

}  // namespace btfkit::testing
