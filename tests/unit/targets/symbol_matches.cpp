// targets/symbol_matches.hpp and the symbols name space of target_set: FUNCs and VARs by whole name in
// their own indexes, prefetched and cached as the types' are, and every match of a pattern.
#include "symbols_sample.hpp"

namespace {
namespace bk = btfkit;
using bk::kind;
using bk::name_space;
using namespace btfkit::testing::symbols_sample;
}  // namespace


TEST_CASE("symbols: looked up by whole name, in their own indexes, built only when a symbol is asked for") {
    const synthetic syn;
    bk::target_set s(*syn.vmlinux);
    syn.setup(s);
    CHECK(s.vmlinux_index_ready(name_space::types));
    CHECK_FALSE(s.vmlinux_index_ready(name_space::symbols));

    CHECK(found(s, "foo", name_space::types).size() == 2);  // STRUCT foo in vmlinux and m1
    CHECK(s.module_index_ready(name_space::types));
    CHECK_FALSE(s.vmlinux_index_ready(name_space::symbols));  // CO-RE lookups never build the symbols' indexes
    CHECK_FALSE(s.module_index_ready(name_space::symbols));

    const auto foo = found(s, "foo", name_space::symbols);
    REQUIRE(foo.size() == 2);
    CHECK(foo[0].starts_with("vmlinux:") == true);
    CHECK(foo[0].ends_with(":FUNC:foo"));
    CHECK(foo[1].starts_with("m0:"));
    CHECK(s.vmlinux_index_ready(name_space::symbols));
    CHECK(s.module_index_ready(name_space::symbols));
    // Whole names: no flavor stripping either way (the caller strips its local name).
    CHECK(found(s, "baz", name_space::symbols).empty());
    CHECK(found(s, "baz___v2", name_space::symbols).size() == 1);
    const auto v2 = found(s, "foo___v2", name_space::symbols);
    REQUIRE(v2.size() == 1);
    CHECK(v2[0].starts_with("m1:"));
    const auto bar = found(s, "bar", name_space::symbols);
    REQUIRE(bar.size() == 2);
    CHECK(bar[0].ends_with(":VAR:bar"));
    CHECK(bar[1].starts_with("m0:"));
    CHECK(found(s, "only_m2", name_space::symbols).empty());
    CHECK(s.module_btf(3) == nullptr);  // m2 holds no symbol: never opened for one

    // The same answers from a scanned single target (vmlinux only) and an indexed one.
    bk::single_target single(*syn.vmlinux);
    bk::indexed_target indexed(*syn.vmlinux, true), unindexed(*syn.vmlinux);
    for (const char* n : {"foo", "baz___v2", "bar", "vfoo", "absent"}) {
        std::vector<std::uint32_t> a, b, c, d;
        REQUIRE(single.for_each_named(bk::target_group::vmlinux, n, name_space::symbols, [&](const bk::btf&, std::uint32_t id, std::uint32_t) { a.push_back(id); }));
        REQUIRE(indexed.for_each_named(bk::target_group::vmlinux, n, name_space::symbols, [&](const bk::btf&, std::uint32_t id, std::uint32_t) { b.push_back(id); }));
        REQUIRE(unindexed.for_each_named(bk::target_group::vmlinux, n, name_space::symbols, [&](const bk::btf&, std::uint32_t id, std::uint32_t) { c.push_back(id); }));
        s.vmlinux_index(name_space::symbols).for_each(*syn.vmlinux, n, [&](std::uint32_t id) { d.push_back(id); });
        CHECK(a == b);
        CHECK(a == c);
        CHECK(a == d);
    }
}

TEST_CASE("symbols: prefetch's one pass and the index cache give the answers the indexes give") {
    const synthetic syn;
    bk::target_set ref(*syn.vmlinux);
    syn.setup(ref);
    const auto expected = all_answers(ref);
    REQUIRE(expected.size() > 10);

    SUBCASE("prefetch of symbols: a pass over the modules, no module index built") {
        bk::target_set s(*syn.vmlinux, false);
        syn.setup(s);
        const std::vector<std::string_view> keys{"foo", "bar", "only_m0"};
        REQUIRE(s.prefetch(keys, name_space::symbols).has_value());
        CHECK_FALSE(s.module_index_ready(name_space::symbols));
        CHECK(s.modules_opened() == 1);  // m0 (foo, bar, only_m0)
        CHECK(found(s, "foo", name_space::symbols) == found(ref, "foo", name_space::symbols));
        CHECK_FALSE(s.module_index_ready(name_space::symbols));
        CHECK(all_answers(s) == expected);
    }
    SUBCASE("index cache: both spaces saved, borrowed back, and a listener told of every index built") {
        bk::target_set a(*syn.vmlinux);
        syn.setup(a);
        int built = 0;
        a.set_index_listener([&](const bk::target_set&) { ++built; });
        REQUIRE(a.build_module_index().has_value());
        CHECK(built == 1);
        auto types_only = bk::index_cache::save(a, 42);
        REQUIRE(types_only.has_value());
        CHECK(found(a, "foo", name_space::symbols).size() == 2);
        CHECK(built == 3);  // the symbols' vmlinux index, then their module index
        auto both = bk::index_cache::save(a, 42);
        REQUIRE(both.has_value());
        CHECK(both->size() > types_only->size());

        bk::target_set b(*syn.vmlinux, false);
        syn.setup(b);
        REQUIRE(bk::index_cache::load(b, bk::byte_span(both->data(), both->size()), 42).has_value());
        CHECK(b.vmlinux_index_ready(name_space::symbols));
        CHECK(b.module_index_ready(name_space::symbols));
        CHECK(b.modules_opened() == 0);
        CHECK(all_answers(b) == expected);

        bk::target_set c(*syn.vmlinux, false);  // an image without symbols: they build as usual
        syn.setup(c);
        REQUIRE(bk::index_cache::load(c, bk::byte_span(types_only->data(), types_only->size()), 42).has_value());
        CHECK_FALSE(c.vmlinux_index_ready(name_space::symbols));
        CHECK(all_answers(c) == expected);

        // A damaged symbols section is an error that leaves the set as it was.
        bk::byte_buffer bad = *both;
        bad[bad.size() - 5] = static_cast<char>(bad[bad.size() - 5] ^ 0x20);
        bk::target_set d(*syn.vmlinux, false);
        syn.setup(d);
        CHECK_FALSE(bk::index_cache::load(d, bk::byte_span(bad.data(), bad.size()), 42).has_value());
        CHECK_FALSE(d.vmlinux_index_ready(name_space::symbols));
        CHECK(all_answers(d) == expected);
    }
}

TEST_CASE("symbol_matches: every FUNC (or VAR) a pattern matches, target then id order, only in the BTFs asked for") {
    const synthetic syn;
    auto list = [&](std::string_view pattern, kind k = kind::func, std::string_view in = "*") {
        bk::target_set s(*syn.vmlinux);
        syn.setup(s);
        auto m = bk::symbol_matches::find(s, bk::name_glob(pattern), k, bk::name_glob(in));
        REQUIRE(m.has_value());
        std::vector<std::string> out;
        for (const bk::candidate c : *m) out.push_back(std::string(s.target_name(c.target)) + ":" + std::string((*c.owner)[c.id].name()));
        // The brute-force answer: every type of every BTF.
        std::vector<std::string> want;
        for (std::uint32_t t = 0; t < s.target_count(); ++t) {
            if (!bk::glob_matches(in, s.target_name(t))) continue;
            bk::byte_buffer buf;
            std::optional<bk::btf> parsed;
            if (t > 0) {
                buf.assign(syn.modules[t - 1].begin(), syn.modules[t - 1].end());
                auto b = bk::btf::parse(bk::byte_span(buf.data(), buf.size()), syn.vmlinux.get());
                REQUIRE(b.has_value());
                parsed.emplace(std::move(*b));
            }
            const bk::btf& b = t == 0 ? *syn.vmlinux : *parsed;
            for (std::uint32_t id = b.first_id(); id < b.type_count(); ++id) {
                if (b.kind_of(id) == k && bk::glob_matches(pattern, b[id].name())) want.push_back(std::string(s.target_name(t)) + ":" + std::string(b[id].name()));
            }
        }
        CHECK(out == want);
        return out;
    };
    CHECK(list("*") == std::vector<std::string>{"vmlinux:foo", "vmlinux:baz___v2", "vmlinux:nothing", "vmlinux:vfoo", "vmlinux:with_callback",
                                                 "m0:foo", "m0:only_m0", "m1:foo___v2", "m1:fool"});
    CHECK(list("foo") == std::vector<std::string>{"vmlinux:foo", "m0:foo"});
    CHECK(list("foo*").size() == 4);
    CHECK(list("fo?").size() == 2);
    CHECK(list("*", kind::func, "m[01]").size() == 4);
    CHECK(list("foo", kind::func, "vmlinux") == std::vector<std::string>{"vmlinux:foo"});
    CHECK(list("bar", kind::var) == std::vector<std::string>{"vmlinux:bar", "m0:bar"});
    CHECK(list("b*", kind::var).size() == 2);
    CHECK(list("nothing_like_it*").empty());
    CHECK(list("foo", kind::var).empty());
}

