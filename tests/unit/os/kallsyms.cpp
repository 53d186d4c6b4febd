// os/kallsyms.hpp: /proc/kallsyms and saved copies, with libbpf's name rules and clear errors.
#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "btfkit/os/kallsyms.hpp"
#include "temp_dir.hpp"

namespace {

namespace bk = btfkit;
namespace bt = btfkit::testing;

std::string write(const bt::temp_dir& d, const char* name, const std::string& text) {
    const std::string p = (d.path / name).string();
    std::ofstream(p) << text;
    return p;
}

}  // namespace

TEST_CASE("kallsyms: addresses by name; .llvm. data symbols from 1.5 on; ambiguity is an error") {
    bt::temp_dir d("btfkit-kallsyms");
    const std::string p = write(d, "kallsyms",
        "ffffffff81000000 T _stext\n"
        "ffffffff81a2b3c4 T schedule\n"
        "ffffffffc0001000 t helper\t[xfs]\n"
        "ffffffffc0002000 t helper\t[ext4]\n"
        "ffffffff82001000 d counter.llvm.1234567\n"
        "ffffffff82002000 t textonly.llvm.99\n");
    auto k = bk::kallsyms::read(p);
    REQUIRE_MESSAGE(k.has_value(), k.error().message());
    CHECK(k->size() == 6);
    const auto latest = bk::libbpf_compat_latest;
    CHECK(k->address("schedule", latest)->value() == 0xffffffff81a2b3c4ull);
    CHECK_FALSE(k->address("no_such", latest)->has_value());
    CHECK(k->address("counter", latest)->value() == 0xffffffff82001000ull);
    CHECK_FALSE(k->address("counter", bk::libbpf_compat::v1_1)->has_value());
    CHECK_FALSE(k->address("textonly", latest)->has_value());  // only data ('d') symbols drop the suffix
    auto both = k->address("helper", latest);
    REQUIRE_FALSE(both.has_value());
    CHECK(both.error().code == bk::errc::ambiguous);
    CHECK(both.error().message().find("helper") != std::string::npos);
}

TEST_CASE("kallsyms: a line that does not parse is named") {
    bt::temp_dir d("btfkit-kallsyms");
    auto k = bk::kallsyms::read(write(d, "bad", "ffffffff81000000 T _stext\nzzzz T nope\n"));
    REQUIRE_FALSE(k.has_value());
    CHECK(k.error().message().find("line 2") != std::string::npos);
    auto missing = bk::kallsyms::read((d.path / "absent").string());
    REQUIRE_FALSE(missing.has_value());
    CHECK(missing.error().code == bk::errc::io);
    CHECK(missing.error().message().find("absent") != std::string::npos);
}

TEST_CASE("kallsyms: the running kernel's, where readable, agree with the file's text") {
    if (!std::filesystem::exists("/proc/kallsyms")) return;
    auto k = bk::kallsyms::read();
    REQUIRE_MESSAGE(k.has_value(), k.error().message());
    CHECK(k->size() > 1000);
    std::ifstream in("/proc/kallsyms");
    std::string addr, type, name;
    in >> addr >> type >> name;
    REQUIRE(static_cast<bool>(in));
    const auto a = k->address(name, bk::libbpf_compat_latest);
    if (a && a->has_value()) {
        const std::uint64_t want = std::stoull(addr, nullptr, 16);
        CHECK(**a == want);
    }
}
