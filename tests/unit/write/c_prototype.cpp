// write/c_prototype.hpp: a FUNC as one C declaration, names as the BTF spells them.
#include "symbols_sample.hpp"

namespace {
namespace bk = btfkit;
using bk::kind;
using bk::name_space;
using namespace btfkit::testing::symbols_sample;
}  // namespace

TEST_CASE("c_prototype: a FUNC as one C declaration, names as the BTF spells them") {
    const synthetic syn;
    const bk::btf& b = *syn.vmlinux;
    std::map<std::string, std::string> protos;
    for (std::uint32_t id = 1; id < b.type_count(); ++id) {
        if (b.kind_of(id) != kind::func) continue;
        auto p = bk::c_prototype(b, id);
        REQUIRE(p.has_value());
        protos[std::string(b[id].name())] = *p;
    }
    CHECK(protos["foo"] == "int foo(int a, const char *b);");
    CHECK(protos["nothing"] == "void nothing(void);");
    CHECK(protos["vfoo"] == "struct foo *vfoo(const char *fmt, ...);");
    CHECK(protos["with_callback"] == "int with_callback(void (*fn)(int), int n);");
    CHECK_FALSE(bk::c_prototype(b, 1).has_value());  // INT: not a FUNC
}

