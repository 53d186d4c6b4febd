// trace/explain.hpp: messages for paths that do not resolve, and C's spelling of types.
#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

#include "btfkit/trace/arg_path.hpp"
#include "btfkit/trace/explain.hpp"
#include "btfkit/write/btf_builder.hpp"
#include "trace_sample.hpp"

using namespace btfkit;
using btfkit::testing::fn_id;
using btfkit::testing::nothing_id;
using btfkit::testing::parsed_sample;

namespace {

std::string explained(const btf& b, std::uint32_t func, std::string_view fname, std::string_view arg) {
    path_failure why;
    auto r = resolve_arg(b, func, arg, &why);
    REQUIRE_FALSE(r.has_value());
    return explain_path(b, func, fname, arg, why);
}

}  // namespace

TEST_CASE("explain_path: the bad step, in the user's words, with the alternatives") {
    std::vector<char> keep;
    const btf b = parsed_sample(keep);
    CHECK(explained(b, fn_id, "fn", "p") == "fn: no parameter 'p' (parameters: o, n)");
    CHECK(explained(b, fn_id, "fn", "o->nope") == "fn(o->nope): struct outer has no member 'nope' (members: x, in, raw, arr, next)");
    CHECK(explained(b, fn_id, "fn", "o.x") == "fn(o.x): '.' applied to a pointer (const outer_t *) at offset 1 of 'o.x' (use '->')");
    CHECK(explained(b, fn_id, "fn", "o->in->a") == "fn(o->in->a): '->' applied to struct inner, which is no pointer at offset 5 of 'o->in->a' (use '.')");
    CHECK(explained(b, fn_id, "fn", "o->arr[4]") == "fn(o->arr[4]): index 4 out of range for struct inner [4] (4 elements)");
    CHECK(explained(b, nothing_id, "nothing", "return") == "nothing(return): the function returns void");
}

TEST_CASE("c_type_name: C's spelling of pointers, qualifiers, arrays and prototypes") {
    btf_builder w(byte_order::little);
    const auto c = w.add_int("char", 1, int_char);                   // 1
    const auto k = w.add_const(c);                                   // 2
    const auto pk = w.add_ptr(k);                                    // 3  const char *
    const auto p = w.add_ptr(c);                                     // 4
    const auto kp = w.add_const(p);                                  // 5  char * const
    const auto arr = w.add_array(pk, c, 4);                          // 6  const char *[4]
    const auto parr = w.add_ptr(w.add_array(c, c, 8));              // 8  char (*)[8]
    const auto fp = w.add_ptr(w.add_func_proto(c, {{"a", pk}}));     // 10 char (*)(const char *)
    auto bytes = w.encode();
    REQUIRE(bytes.has_value());
    auto b = btf::parse({bytes->data(), bytes->size()});
    REQUIRE(b.has_value());
    CHECK(c_type_name(*b, pk) == "const char *");
    CHECK(c_type_name(*b, kp) == "char * const");
    CHECK(c_type_name(*b, arr) == "const char *[4]");
    CHECK(c_type_name(*b, parr) == "char (*)[8]");
    CHECK(c_type_name(*b, fp) == "char (*)(const char *)");
    CHECK(c_type_name(*b, 0) == "void");
}


// Found by fuzz_trace_expr: a prototype taking pointers to itself made c_type_name recurse into every
// parameter at every level, 3^32 visits; now at most max_c_type_visits, "..." past them.
TEST_CASE("c_type_name: prototypes that take themselves end in bounded output") {
    btf_builder w(byte_order::little);
    w.add_ptr(2);                                                            // 1
    w.add_func_proto(1, {{"x", 1}, {"y", 1}, {"z", 1}});                     // 2
    const auto bytes = w.encode();
    REQUIRE(bytes.has_value());
    const auto b = btf::parse({bytes->data(), bytes->size()});
    REQUIRE(b.has_value());
    const std::string name = c_type_name(*b, 1);
    CHECK(name.starts_with("... (*)("));
    CHECK(name.find("...") != std::string::npos);
    CHECK(name.size() < max_c_type_visits * 64);  // each visit: a few tokens (no names here)
}

// Found by fuzz_trace_expr: a member of type void (the kernel's BTF check refuses it) was taken as a
// step of type void. It is malformed BTF, said with the member's name.
TEST_CASE("explain_path: a member of type void is malformed BTF, named") {
    btf_builder w(byte_order::little);
    const auto i = w.add_int("int", 4, int_signed);                          // 1
    const auto s = w.add_struct("s", 4, {{"a", i, 0}, {"x", 0, 0}});         // 2
    const auto f = w.add_func("f", w.add_func_proto(i, {{"p", w.add_ptr(s)}}));
    const auto bytes = w.encode();
    REQUIRE(bytes.has_value());
    const auto b = btf::parse({bytes->data(), bytes->size()});
    REQUIRE(b.has_value());
    path_failure why;
    const auto r = resolve_arg(*b, f, "p->x", &why);
    REQUIRE_FALSE(r.has_value());
    CHECK(why.problem == path_problem::bad_btf);
    CHECK(explain_path(*b, f, "f", "p->x", why) == "f(p->x): the BTF on this path is malformed: member 'x' of struct s has type void");
    CHECK(resolve_arg(*b, f, "p->a").has_value());
}
