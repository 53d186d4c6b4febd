// write/c_header.hpp: the C header bpftool prints (`btfkit dump F format c`): each type after what it
// needs, in id order (bpftool 7.1) or sorted (7.5), pinned to both bpftools' output for one BTF;
// and the root types of `--types` with what they need.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "blob_builder.hpp"
#include "btfkit/format/btf.hpp"
#include "btfkit/runtime/threads.hpp"
#include "btfkit/write/c_header.hpp"

namespace {

using namespace btfkit;
using testing::blob_builder;

blob_builder header_blob() {
    blob_builder b(byte_order::little);
    const auto i = b.add_int("int", 4, int_signed);                                         // 1
    const auto point = b.add_struct("point", 8, false, {{"x", i, 0, 0}, {"y", i, 32, 0}});  // 2
    const auto point_t = b.add_ref(kind::typedef_, "point_t", point);                       // 3
    const auto node_ptr = b.add_ref(kind::ptr, "", 5);                                      // 4
    b.add_struct("node", 16, false, {{"next", node_ptr, 0, 0}, {"p", point_t, 64, 0}});     // 5
    b.add_enum("color", 4, false, {{"RED", 0}, {"GREEN", 5}});                             // 6
    const auto proto = b.add_func_proto(i, {{"a", i}, {"n", node_ptr}});                    // 7
    const auto fn_ptr = b.add_ref(kind::ptr, "", proto);                                    // 8
    b.add_ref(kind::typedef_, "handler_t", fn_ptr);                                         // 9
    const auto arr = b.add_array(i, i, 4);                                                  // 10
    b.add_struct("holder", 24, false, {{"v", arr, 0, 0}, {"h", 9, 128, 0}});                // 11
    b.add_union("u", 8, false, {{"a", i, 0, 0}, {"p", point_t, 0, 0}});                     // 12
    return b;
}

constexpr std::string_view prologue =
    "#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n\n"
    "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n"
    "#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n"
    "#endif\n\n";
constexpr std::string_view epilogue =
    "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n#endif /* __VMLINUX_H__ */\n";
constexpr std::string_view ksym_macros =
    "#ifndef __ksym\n#define __ksym __attribute__((section(\".ksyms\")))\n#endif\n\n"
    "#ifndef __weak\n#define __weak __attribute__((weak))\n#endif\n\n";

constexpr std::string_view point_def = "struct point {\n\tint x;\n\tint y;\n};\n\n";
constexpr std::string_view point_t_def = "typedef struct point point_t;\n\n";
constexpr std::string_view node_def = "struct node {\n\tstruct node *next;\n\tpoint_t p;\n};\n\n";
constexpr std::string_view color_def = "enum color {\n\tRED = 0,\n\tGREEN = 5,\n};\n\n";
constexpr std::string_view handler_def = "typedef int (*handler_t)(int a, struct node *n);\n\n";
constexpr std::string_view holder_def = "struct holder {\n\tint v[4];\n\thandler_t h;\n};\n\n";
constexpr std::string_view u_def = "union u {\n\tint a;\n\tpoint_t p;\n};\n\n";

std::string cat(std::initializer_list<std::string_view> parts) {
    std::string s;
    for (const std::string_view p : parts) s += p;
    return s;
}

}  // namespace

TEST_CASE("write_c_header: bpftool 7.1's and 7.5's text for the same BTF") {
    const blob_builder bb = header_blob();
    auto b = btf::parse(bb.span());
    REQUIRE(b.has_value());
    std::string v71;
    REQUIRE(write_c_header(*b, v71, {bpftool_compat::v7_1}).has_value());
    CHECK(v71 == cat({prologue, point_def, point_t_def, node_def, color_def, handler_def, holder_def, u_def, epilogue}));
    // 7.5 sorts every id; the named enum sorts before void and, first, is dumped by no one (bpftool's own
    // quirk, kept). `struct node;` comes first where handler_t needs it.
    std::string v75;
    REQUIRE(write_c_header(*b, v75).has_value());
    CHECK(v75 == cat({prologue, ksym_macros, "struct node;\n\n", handler_def, holder_def, point_def, point_t_def, node_def, u_def,
                      "\n/* BPF kfuncs */\n#ifndef BPF_NO_KFUNC_PROTOTYPES\n#endif\n\n", epilogue}));
}

TEST_CASE("write_c_header: beside a second thread (7.5's sort, definitions rendered ahead), the same text") {
    // Past c_sort_split_min types, so that run_both is asked for a thread: structs (each
    // pointing to the next), enums, typedefs and anonymous types in every rank group.
    blob_builder bb(byte_order::little);
    const auto i = bb.add_int("int", 4, int_signed);
    std::uint32_t prev_ptr = 0;
    for (std::uint32_t k = 0; k < detail::c_sort_split_min / 4 + 10; ++k) {
        const std::string n = std::to_string((k * 7919) % 3000);  // some names twice: ___2
        const auto st = bb.add_struct("s" + n, 16, false, {{"v", i, 0, 0}, {"next", prev_ptr != 0 ? prev_ptr : i, 64, 0}});
        prev_ptr = bb.add_ref(kind::ptr, "", st);
        bb.add_ref(kind::typedef_, "t" + n, st);
        // Enumerators named again and again: ___N counted where each enum, rendered ahead, lands
        bb.add_enum(k % 2 == 0 ? "e" + n : "", 4, false, {{"E" + n + "_" + std::to_string(k), 1}, {"E" + std::to_string(k % 50), 2}});
    }
    auto b = btf::parse(bb.span());
    REQUIRE(b.has_value());
    REQUIRE(b->type_count() > detail::c_sort_split_min);
    for (const bpftool_compat c : {bpftool_compat::v7_5, bpftool_compat::v7_1}) {
        CAPTURE(static_cast<int>(c));
        std::string inline_text;
        REQUIRE(write_c_header(*b, inline_text, {c}).has_value());
        CHECK(inline_text.size() > 100000);
        CHECK(inline_text.find("___2 {") != std::string::npos);
        CHECK(inline_text.find("E7___3 = 2,") != std::string::npos);
        // The threads meet at a different place each time: the text does not depend on where
        for (int round = 0; round < 4; ++round) {
            std::string threaded;
            int helpers = 0;
            REQUIRE(write_c_header(*b, threaded, {c}, [&](auto&& first, auto&& second) {
                ++helpers;
                detail::run_both(first, second);
            }).has_value());
            CHECK(helpers == 1);
            CHECK(inline_text == threaded);
        }
    }
}

TEST_CASE("c_header_roots and roots: the types named and what they need, nothing else") {
    const blob_builder bb = header_blob();
    auto b = btf::parse(bb.span());
    REQUIRE(b.has_value());
    const std::string_view names[] = {"node", "color"};
    const auto roots = c_header_roots(*b, names, bpftool_compat::v7_1);
    REQUIRE(roots.has_value());
    CHECK(*roots == std::vector<std::uint32_t>{5, 6});
    std::string out;
    c_header_options o{bpftool_compat::v7_1};
    o.roots = *roots;
    REQUIRE(write_c_header(*b, out, o).has_value());
    CHECK(out == cat({prologue, point_def, point_t_def, node_def, color_def, epilogue}));
    const std::string_view missing[] = {"node", "no_such"};
    const auto bad = c_header_roots(*b, missing);
    REQUIRE_FALSE(bad.has_value());
    CHECK(bad.error().code == errc::not_found);
    CHECK(bad.error().subject.view() == "no_such");
    const std::uint32_t past[] = {99};
    o.roots = past;
    std::string none;
    CHECK(write_c_header(*b, none, o).error().code == errc::bad_type_id);
}
