// show/show_label.hpp: what the value printers share: snprintf's bounded buffer, the kernel's size
// rule (btf_resolve_size) and the `.member = (type)` label of bpf_snprintf_btf().
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "blob_builder.hpp"
#include "btfkit/format/btf.hpp"
#include "btfkit/show/show_label.hpp"

namespace {

using namespace btfkit;
using testing::blob_builder;

// int; struct s; int *[3]; typedef struct s s_t; const s_t; enum e; a 40-deep typedef chain.
blob_builder label_blob() {
    blob_builder b(byte_order::little);
    const auto i = b.add_int("int", 4, int_signed);                  // 1
    const auto s = b.add_struct("s", 4, false, {{"a", i, 0, 0}});    // 2
    const auto p = b.add_ref(kind::ptr, "", i);                      // 3
    b.add_array(p, i, 3);                                            // 4
    const auto td = b.add_ref(kind::typedef_, "s_t", s);             // 5
    b.add_ref(kind::const_, "", td);                                 // 6
    b.add_enum("e", 4, false, {{"E", 1}});                           // 7
    b.add_array(s, i, 2);                                            // 8
    std::uint32_t id = i;
    for (int k = 0; k < 40; ++k) id = b.add_ref(kind::typedef_, "", id);  // 9 .. 48
    return b;
}

std::string label(const btf& b, std::uint32_t id, std::string_view member, bool noname = false, bool compat = false) {
    detail::small_text<128> out;
    detail::show_label(b, id, member, noname, compat, out);
    return std::string(out.view());
}

}  // namespace

TEST_CASE("bounded_buffer: keeps the first size-1 bytes, NUL-terminated, and counts all") {
    char buf[6];
    bounded_buffer b(buf, sizeof(buf));
    b.append("abc", 3);
    CHECK(b.text() == "abc");
    b.append("defgh", 5);
    CHECK(b.text() == "abcde");
    CHECK(buf[5] == '\0');
    CHECK(b.length() == 8);
    bounded_buffer none(nullptr, 0);  // size 0: counts only, as snprintf(NULL, 0, ...)
    none.append("xyz", 3);
    CHECK(none.length() == 3);
    CHECK(none.text().empty());
}

TEST_CASE("small_text: numbers formatted on the stack") {
    detail::small_text<64> t;
    t.put_signed(-9223372036854775807LL - 1);
    t.put(' ');
    t.put_unsigned(18446744073709551615ull);
    t.put(' ');
    t.put_hex(0xbeef, 8);
    CHECK(t.view() == "-9223372036854775808 18446744073709551615 0000beef");
    detail::small_text<4> tiny;
    tiny.put("truncated");
    CHECK(tiny.view() == "trun");
}

TEST_CASE("kernel_size and skip_chain: the kernel's rules, bounded by MAX_RESOLVE_DEPTH") {
    const blob_builder bb = label_blob();
    auto parsed = btf::parse(bb.span());
    REQUIRE(parsed.has_value());
    const btf& b = *parsed;
    std::uint32_t size = 0;
    REQUIRE(detail::kernel_size(b, 4, size));
    CHECK(size == 24);  // three 8-byte pointers
    REQUIRE(detail::kernel_size(b, 6, size));
    CHECK(size == 4);
    CHECK(detail::kernel_size(b, 30, size));   // 22 typedefs deep
    CHECK_FALSE(detail::kernel_size(b, 48, size));  // 40 deep: past the bound
    CHECK_FALSE(detail::kernel_size(b, 0, size));   // void has no size
    CHECK_FALSE(detail::kernel_size(b, 99, size));
    CHECK(detail::skip_chain(b, 6, true) == 2);
    CHECK(detail::skip_chain(b, 6, false) == 5);
    CHECK(detail::skip_chain(b, 48, true) == detail::no_type);
}

TEST_CASE("show_label: the kernel's btf_show_name() labels") {
    const blob_builder bb = label_blob();
    auto parsed = btf::parse(bb.span());
    REQUIRE(parsed.has_value());
    const btf& b = *parsed;
    CHECK(label(b, 2, "") == "(struct s){");
    CHECK(label(b, 2, "x") == ".x = (struct s){");
    CHECK(label(b, 1, "a") == ".a = (int)");
    CHECK(label(b, 3, "") == "(int *)");
    CHECK(label(b, 5, "") == "(s_t){");  // a typedef's name, no prefix
    CHECK(label(b, 7, "") == "(enum e)");
    CHECK(label(b, 8, "") == "(struct s[])[");
    // An array of pointers opens with '[' by default; the kernel drops it (docs/print.md).
    CHECK(label(b, 4, "p") == ".p = (int *[])[");
    CHECK(label(b, 4, "p", false, true) == ".p = (int *[])");
    CHECK(label(b, 2, "x", true) == "{");  // BTF_F_NONAME
}
