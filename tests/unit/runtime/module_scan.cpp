// runtime/module_scan.hpp: the module index built with every module read once (one thread, or two
// from 64 modules: the same index), failures listed in module order; modules opened on two threads.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "blob_builder.hpp"
#include "btfkit/format/btf.hpp"
#include "btfkit/runtime/module_scan.hpp"

namespace {

using namespace btfkit;
using testing::blob_builder;

// A base with one INT, and `n` modules over it: module i (0-based) has STRUCT "m<i>" and STRUCT
// "common"; module `unreadable` cannot be read and module `cut` is truncated.
struct module_set {
    std::vector<char> base_bytes;
    btf base;
    std::vector<std::vector<char>> modules;
    std::atomic<std::uint32_t> loads{0};
    std::uint32_t unreadable = 2, cut = 3;

    explicit module_set(std::uint32_t n) {
        blob_builder bb(byte_order::little);
        bb.add_int("int", 4, int_signed);
        base_bytes = bb.bytes();
        auto b = btf::parse(byte_span(base_bytes.data(), base_bytes.size()));
        REQUIRE(b.has_value());
        base = std::move(*b);
        for (std::uint32_t i = 0; i < n; ++i) {
            blob_builder m(byte_order::little, base.type_count(), base.strings_size());
            m.add_struct("m" + std::to_string(i), 4, false, {{"x", 1, 0, 0}});
            m.add_struct("common", 8, false, {{"y", 1, 0, 0}});
            modules.push_back(m.bytes());
        }
        if (cut < n) modules[cut].resize(modules[cut].size() - 5);
    }
    module_loader loader() {
        return [this](std::uint32_t t, byte_buffer& buf) -> status {
            ++loads;
            if (t - 1 == unreadable) return error(errc::io, "cannot open file");
            const std::vector<char>& m = modules.at(t - 1);
            buf.assign(m.begin(), m.end());
            return {};
        };
    }
};

std::vector<std::uint32_t> modules_with(const module_index& x, std::string_view name) {
    std::vector<std::uint32_t> out;
    x.for_each(name_hash(name), [&](std::uint32_t e) { out.push_back(module_entry::module_of(e)); });
    return out;
}

}  // namespace

TEST_CASE("build_module_index: every module read once; failures listed in order; one or two threads, one index") {
    for (const std::uint32_t n : {6u, 70u}) {
        CAPTURE(n);
        module_set set(n);
        std::vector<bool> skip(n, false);
        skip[4] = true;
        const module_index_build built = build_module_index(n, skip, set.loader(), set.base);
        CHECK(set.loads == n - 1);
        REQUIRE(built.failures.size() == 2);
        CHECK(built.failures[0].first == set.unreadable);
        CHECK(built.failures[0].second.code == errc::io);
        CHECK(built.failures[1].first == set.cut);
        std::vector<std::uint32_t> want;
        for (std::uint32_t i = 0; i < n; ++i) {
            if (i != set.unreadable && i != set.cut && i != 4) want.push_back(i);
        }
        CHECK(modules_with(built.index, "common") == want);
        CHECK(modules_with(built.index, "m5") == std::vector<std::uint32_t>{5});
        CHECK(modules_with(built.index, "m4").empty());  // skipped
        CHECK(modules_with(built.index, "int").empty());  // vmlinux's, not a module's
        CHECK(built.index.entries() == 2 * want.size());
    }
}

TEST_CASE("open_modules: the modules asked for, parsed over vmlinux into the two arenas; errors where not") {
    module_set set(8);
    chunk_arena mine, second;
    const std::vector<std::uint32_t> want{1, 3, 4, 8, 6};  // 1-based; 3 is unreadable, 4 is cut
    const opened_modules out = open_modules(want, set.loader(), set.base, mine, second);
    REQUIRE(out.parsed.size() == want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
        CAPTURE(want[i]);
        const bool bad = want[i] - 1 == set.unreadable || want[i] - 1 == set.cut;
        CHECK(out.parsed[i].has_value() == !bad);
        CHECK((out.errors[i].code != errc::ok) == bad);
        if (!out.parsed[i]) continue;
        const btf& m = *out.parsed[i];
        CHECK(m.base() == &set.base);
        CHECK(m[m.first_id()].name() == "m" + std::to_string(want[i] - 1));
    }
    CHECK(out.errors[1].code == errc::io);
}

TEST_CASE("load_into: a module's bytes, kept in the arena") {
    module_set set(3);
    chunk_arena a;
    byte_buffer buf{default_init_allocator<char>(&a)};
    const auto bytes = load_into(set.loader(), 2, buf, a);
    REQUIRE(bytes.has_value());
    CHECK(std::vector<char>(bytes->begin(), bytes->end()) == set.modules[1]);
    const auto again = load_into(set.loader(), 1, buf, a);  // the first bytes stay where they are
    REQUIRE(again.has_value());
    CHECK(std::vector<char>(bytes->begin(), bytes->end()) == set.modules[1]);
    CHECK(std::vector<char>(again->begin(), again->end()) == set.modules[0]);
    CHECK_FALSE(load_into(set.loader(), 3, buf, a).has_value());
}
