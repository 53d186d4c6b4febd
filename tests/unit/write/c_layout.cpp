// write/c_layout.hpp: the sizes and alignment libbpf's btf_dump reads (btf__align_of,
// btf__resolve_size, the pointer size from "long"), and the error a loop in bad BTF gives.
#include <doctest/doctest.h>

#include <cstdint>

#include "blob_builder.hpp"
#include "btfkit/format/btf.hpp"
#include "btfkit/write/c_layout.hpp"

using namespace btfkit;
using testing::blob_builder;

TEST_CASE("c_layout: alignment, packing and sizes as libbpf computes them") {
    blob_builder bb(byte_order::little);
    const auto i = bb.add_int("int", 4, int_signed);                                         // 1
    const auto c = bb.add_int("char", 1, int_char | int_signed);                             // 2
    bb.add_int("long int", 8, int_signed);                                                   // 3: the pointer size
    const auto p = bb.add_ref(kind::ptr, "", i);                                             // 4
    const auto a = bb.add_array(i, i, 3);                                                    // 5: int [3]
    const auto s = bb.add_struct("s", 16, false, {{"c", c, 0, 0}, {"p", p, 64, 0}});         // 6: aligned to 8
    const auto packed = bb.add_struct("q", 5, false, {{"c", c, 0, 0}, {"i", i, 8, 0}});      // 7: int at byte 1
    const auto t = bb.add_ref(kind::typedef_, "s_t", s);                                     // 8
    auto b = btf::parse(bb.span());
    REQUIRE(b.has_value());
    detail::c_layout l(*b);
    CHECK(l.ptr_size() == 8);
    CHECK(l.align_of(i) == 4);
    CHECK(l.align_of(a) == 4);
    CHECK(l.align_of(s) == 8);
    CHECK(l.align_of(t) == 8);
    CHECK(l.align_of(packed) == 1);  // a member off its alignment: libbpf says 1
    CHECK_FALSE(l.struct_packed((*b)[s]));
    CHECK(l.struct_packed((*b)[packed]));
    CHECK(l.resolve_size(a) == 12);
    CHECK(l.resolve_size(p) == 8);
    CHECK(l.resolve_size(t) == 16);
    CHECK(l.align_of(0) == detail::c_einval);  // void has no alignment
    CHECK_FALSE(l.failure().has_value());
}

TEST_CASE("c_layout: the pointer size is 4 where \"long\" is, 8 where no long is named") {
    blob_builder small(byte_order::little);
    small.add_int("long", 4, int_signed);
    auto b = btf::parse(small.span());
    REQUIRE(b.has_value());
    CHECK(detail::c_layout(*b).ptr_size() == 4);
    blob_builder none(byte_order::little);
    none.add_int("int", 4, int_signed);
    auto n = btf::parse(none.span());
    REQUIRE(n.has_value());
    CHECK(detail::c_layout(*n).ptr_size() == 8);
}

TEST_CASE("c_layout: a typedef loop is an error naming the type, and libbpf's -EINVAL") {
    blob_builder bb(byte_order::little);
    bb.add_ref(kind::typedef_, "a", 2);  // 1
    bb.add_ref(kind::typedef_, "b", 1);  // 2
    auto b = btf::parse(bb.span());
    REQUIRE(b.has_value());
    detail::c_layout l(*b);
    CHECK(l.align_of(1) == detail::c_einval);
    REQUIRE(l.failure().has_value());
    CHECK(l.failure()->code == errc::type_loop);
    CHECK(l.resolve_size(1) < 0);
}
