// A small BTF for the trace/ room's tests: a function whose parameter reaches, through a pointer to a
// const typedef and an anonymous union, a bitfield, an array of structs and a self pointer.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "btfkit/format/btf.hpp"
#include "btfkit/write/btf_builder.hpp"

namespace btfkit::testing {

// struct inner { int a; int b : 3; int c : 5; };            (kflag, bitfields)
// struct outer { long x; union { struct inner in; char raw[8]; }; struct inner arr[4]; struct outer *next; };
// typedef struct outer outer_t;
// int fn(const outer_t *o, int n);   void nothing(void);
constexpr btf_builder trace_sample() {
    btf_builder b(byte_order::little);
    const auto i = b.add_int("int", 4, int_signed);                                                   // 1
    const auto l = b.add_int("long", 8, int_signed);                                                  // 2
    const auto c = b.add_int("char", 1, int_char);                                                    // 3
    const auto inner = b.add_struct("inner", 8, {{"a", i, 0, 0}, {"b", i, 32, 3}, {"c", i, 35, 5}}, true);  // 4
    const auto raw = b.add_array(c, i, 8);                                                            // 5
    const auto anon = b.add_union("", 8, {{"in", inner, 0}, {"raw", raw, 0}});                        // 6
    const auto arr = b.add_array(inner, i, 4);                                                        // 7
    const std::uint32_t outer_id = 8, ptr_outer = 9;
    b.add_struct("outer", 56, {{"x", l, 0}, {"", anon, 64}, {"arr", arr, 128}, {"next", ptr_outer, 384}});  // 8
    b.add_ptr(outer_id);                                                                              // 9
    const auto td = b.add_typedef("outer_t", outer_id);                                               // 10
    const auto k = b.add_const(td);                                                                   // 11
    const auto pk = b.add_ptr(k);                                                                     // 12
    const auto proto = b.add_func_proto(i, {{"o", pk}, {"n", i}});                                    // 13
    b.add_func("fn", proto);                                                                          // 14
    const auto vproto = b.add_func_proto(0, {});                                                      // 15
    b.add_func("nothing", vproto);                                                                    // 16
    return b;
}
inline constexpr std::uint32_t fn_id = 14, nothing_id = 16;

// The sample parsed; `keep` holds its bytes.
inline btf parsed_sample(std::vector<char>& keep) {
    auto bytes = trace_sample().encode();
    REQUIRE(bytes.has_value());
    keep.assign(bytes->begin(), bytes->end());
    auto b = btf::parse({keep.data(), keep.size()});
    REQUIRE(b.has_value());
    return *b;
}

}  // namespace btfkit::testing
