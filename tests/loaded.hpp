// An object or a BTF kept alive with the bytes its views point into, for the CO-RE suites that build
// their inputs by hand (core/relocate, core/match).
#pragma once

#include <doctest/doctest.h>

#include <memory>
#include <utility>
#include <vector>

#include "btfkit/format/bpf_object.hpp"
#include "btfkit/format/btf.hpp"

namespace btfkit::testing {

// An object kept alive with the bytes its views point into.
struct loaded_object {
    std::vector<char> bytes;
    bpf_object obj;
};

inline std::unique_ptr<loaded_object> load(std::vector<char> bytes) {
    auto o = std::make_unique<loaded_object>();
    o->bytes = std::move(bytes);
    auto p = bpf_object::parse(byte_span(o->bytes.data(), o->bytes.size()));
    REQUIRE_MESSAGE(p.has_value(), p.error().message());
    o->obj = std::move(*p);
    return o;
}

// A BTF kept alive with its bytes.
struct owned_btf {
    std::vector<char> bytes;
    btf b;
};

inline std::unique_ptr<owned_btf> parse_btf(std::vector<char> bytes) {
    auto o = std::make_unique<owned_btf>();
    o->bytes = std::move(bytes);
    auto p = btf::parse(byte_span(o->bytes.data(), o->bytes.size()));
    REQUIRE_MESSAGE(p.has_value(), p.error().message());
    o->b = std::move(*p);
    return o;
}

}  // namespace btfkit::testing
