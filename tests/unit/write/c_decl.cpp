// write/c_decl.hpp: C declarations as libbpf's btf_dump writes them; here the declarator chains,
// pinned to what bpftool 7.1 prints for the same types as typedefs.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "blob_builder.hpp"
#include "btfkit/format/btf.hpp"
#include "btfkit/write/c_decl.hpp"

namespace {

using namespace btfkit;
using testing::blob_builder;

blob_builder decl_blob() {
    blob_builder b(byte_order::little);
    const auto i = b.add_int("int", 4, int_signed);                 // 1
    const auto c = b.add_int("char", 1, int_char | int_signed);     // 2
    const auto cc = b.add_ref(kind::const_, "", c);                 // 3
    b.add_ref(kind::ptr, "", cc);                                   // 4 const char *
    b.add_ref(kind::volatile_, "", i);                              // 5 volatile int
    const auto ip = b.add_ref(kind::ptr, "", i);                    // 6 int *
    b.add_array(ip, i, 2);                                          // 7 int *[2]
    const auto a4 = b.add_array(i, i, 4);                           // 8 int [4]
    b.add_ref(kind::ptr, "", a4);                                   // 9 int (*)[4]
    const auto fp = b.add_func_proto(i, {{"c", c}, {"", 0}});       // 10 int (char c, ...)
    b.add_ref(kind::ptr, "", fp);                                   // 11
    b.add_ref(kind::const_, "", ip);                                // 12 int * const
    b.add_array(a4, i, 3);                                          // 13 int [3][4]
    b.add_ref(kind::ptr, "", 14);                                   // 14: a pointer to itself
    return b;
}

// The protected emission steps, opened for the test.
struct decl_writer : detail::c_decl_writer<std::string> {
    using c_decl_writer::c_decl_writer;
    using c_decl_writer::emit_type_decl;
};

// `id` declared as `name`, and whether the writer failed.
std::string decl(const btf& b, std::uint32_t id, std::string_view name, bool* failed = nullptr) {
    std::string out;
    {
        detail::chunk_writer<std::string> w(out);
        decl_writer d(b, w, bpftool_compat::v7_1);
        d.emit_type_decl(id, name, 0);
        if (failed != nullptr) *failed = d.failed();
    }
    return out;
}

}  // namespace

TEST_CASE("c_decl: declarators as btf_dump writes them (bpftool 7.1's typedefs of the same types)") {
    const blob_builder bb = decl_blob();
    auto parsed = btf::parse(bb.span());
    REQUIRE(parsed.has_value());
    const btf& b = *parsed;
    CHECK(decl(b, 4, "t4") == "const char *t4");
    CHECK(decl(b, 5, "t5") == "volatile int t5");
    CHECK(decl(b, 6, "t6") == "int *t6");
    CHECK(decl(b, 7, "t7") == "int *t7[2]");
    CHECK(decl(b, 9, "t9") == "int (*t9)[4]");
    CHECK(decl(b, 11, "t11") == "int (*t11)(char c, ...)");
    CHECK(decl(b, 12, "t12") == "int * const t12");
    CHECK(decl(b, 13, "t13") == "int t13[3][4]");
    CHECK(decl(b, 1, "") == "int");
}

TEST_CASE("c_decl: a declarator chain that does not end is an error naming the type") {
    const blob_builder bb = decl_blob();
    auto parsed = btf::parse(bb.span());
    REQUIRE(parsed.has_value());
    bool failed = false;
    (void)decl(*parsed, 14, "loop", &failed);
    CHECK(failed);
    std::string out;
    detail::chunk_writer<std::string> w(out);
    decl_writer d(*parsed, w, bpftool_compat::v7_1);
    d.emit_type_decl(14, "loop", 0);
    REQUIRE(d.failed());
    CHECK(d.failure().code == errc::type_loop);
    CHECK(d.failure().where.type_id == 14);
}
