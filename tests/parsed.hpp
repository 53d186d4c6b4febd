// Bytes from tests parsed or the test failed: a file, BTF, a BPF object; BTF as bpftool's raw dump.
#pragma once

#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "btfkit/format/bpf_object.hpp"
#include "btfkit/format/btf.hpp"
#include "btfkit/format/dump.hpp"
#include "process.hpp"

namespace btfkit::testing {

inline std::vector<char> read_bytes(const std::filesystem::path& p) {
    const std::string s = read_text(p);
    return {s.begin(), s.end()};
}

inline btf parse_or_fail(const std::vector<char>& bytes) {
    auto b = btf::parse(byte_span(bytes.data(), bytes.size()));
    REQUIRE_MESSAGE(b.has_value(), b.error().message());
    return std::move(*b);
}
// The parsed view keeps pointing into the bytes: they must outlive it.
btf parse_or_fail(std::vector<char>&&) = delete;

inline bpf_object parse_object(const std::vector<char>& bytes) {
    auto o = bpf_object::parse(byte_span(bytes.data(), bytes.size()));
    REQUIRE_MESSAGE(o.has_value(), o.error().message());
    return std::move(*o);
}
bpf_object parse_object(std::vector<char>&&) = delete;

// `bpftool btf dump file` of `b`'s own types.
inline std::string raw_dump(const btf& b) {
    struct sink {
        std::string s;
        void append(const char* p, std::size_t n) { s.append(p, n); }
    } out;
    dump_raw(b, out);
    return out.s;
}

}  // namespace btfkit::testing
