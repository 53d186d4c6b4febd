// core/candidates.hpp: the candidate collector: the candidate rule's rounds over a target source,
// vmlinux first and the modules only when vmlinux has none (unless search_all_targets).
#include <doctest/doctest.h>

#include <cstdint>
#include <string_view>
#include <vector>

#include "blob_builder.hpp"
#include "btfkit/core/candidates.hpp"
#include "btfkit/format/btf.hpp"

namespace {

using namespace btfkit;
using testing::blob_builder;

// vmlinux and one module, each scanned as libbpf does; `fail` makes the modules' lookup an error.
struct two_targets {
    const btf& vmlinux;
    const btf& module;
    bool fail = false;
    int module_lookups = 0;
    template <class F>
    status for_each_named(target_group g, std::string_view essential, name_space sp, F&& f) {
        if (g == target_group::vmlinux) {
            scan_named(vmlinux, 0, 1, essential, sp, f);
            return {};
        }
        ++module_lookups;
        if (fail) return error(errc::io, "module unreadable");
        scan_named(module, 1, module.first_id(), essential, sp, f);
        return {};
    }
};

struct answer {
    std::uint32_t target, id;
    bool operator==(const answer&) const = default;
};

}  // namespace

TEST_CASE("collect_candidates: vmlinux first; the modules when it has none, or with search_all_targets") {
    blob_builder vb(byte_order::little);
    vb.add_int("int", 4, int_signed);                      // 1
    vb.add_struct("foo", 4, false, {{"a", 1, 0, 0}});      // 2
    vb.add_fwd("bar", false);                              // 3
    vb.add_enum("e", 4, false, {{"E1", 1}});               // 4
    vb.add_struct("foo___v2", 8, false, {{"a", 1, 0, 0}});  // 5
    auto vm = btf::parse(vb.span());
    REQUIRE(vm.has_value());
    blob_builder mb(byte_order::little, vm->type_count(), vm->strings_size());
    mb.add_struct("foo", 4, false, {{"a", 1, 0, 0}});      // 6
    mb.add_struct("bar", 4, false, {{"a", 1, 0, 0}});      // 7
    mb.add_enum64("baz", 8, false, {{"B1", 1}});           // 8
    auto mod = btf::parse(mb.span(), &*vm);
    REQUIRE(mod.has_value());
    // The local types: STRUCT foo, FWD bar, ENUM baz.
    blob_builder lb(byte_order::little);
    lb.add_int("int", 4, int_signed);
    lb.add_struct("foo", 4, false, {{"a", 1, 0, 0}});
    lb.add_fwd("bar", false);
    lb.add_enum("baz", 4, false, {{"B1", 1}});
    auto local = btf::parse(lb.span());
    REQUIRE(local.has_value());

    two_targets src{*vm, *mod};
    auto collect = [&](std::uint32_t local_id, std::string_view name, const relocate_options& o) {
        std::vector<candidate> out;
        REQUIRE(collect_candidates(src, (*local)[local_id], name, o, out).has_value());
        std::vector<answer> got;
        for (const candidate& c : out) got.push_back({c.target, c.id});
        return got;
    };
    const relocate_options dflt{};
    CHECK(collect(2, "foo", dflt) == std::vector<answer>{{0, 2}, {0, 5}});  // both flavors, vmlinux only
    CHECK(src.module_lookups == 0);
    relocate_options all;
    all.search_all_targets = true;
    CHECK(collect(2, "foo", all) == std::vector<answer>{{0, 2}, {0, 5}, {1, 6}});
    // ENUM matches ENUM64, found in the module since vmlinux has no baz.
    CHECK(collect(4, "baz", dflt) == std::vector<answer>{{1, 8}});
    // FWD bar: with the extension, the module's complete STRUCT (round 1) before vmlinux's FWD (round 2);
    // without it (libbpf), only a FWD matches a FWD.
    CHECK(collect(3, "bar", dflt) == std::vector<answer>{{1, 7}});
    relocate_options libbpf;
    libbpf.fwd_extension = false;
    CHECK(collect(3, "bar", libbpf) == std::vector<answer>{{0, 3}});
    CHECK(collect(2, "nope", dflt).empty());
    // A source's error is passed on.
    src.fail = true;
    std::vector<candidate> out;
    const status st = collect_candidates(src, (*local)[4], "baz", dflt, out);
    REQUIRE_FALSE(st.has_value());
    CHECK(st.error().code == errc::io);
}

TEST_CASE("scan_named: types whose essential name is the one asked, from first_id on, in id order") {
    blob_builder b(byte_order::little);
    b.add_int("int", 4, int_signed);                       // 1
    b.add_struct("sk", 4, false, {{"a", 1, 0, 0}});        // 2
    b.add_struct("sk___x", 4, false, {{"a", 1, 0, 0}});    // 3
    b.add_struct("skb", 4, false, {{"a", 1, 0, 0}});       // 4
    b.add_ref(kind::typedef_, "sk___y___z", 2);            // 5: essential name sk___y
    auto bt = btf::parse(b.span());
    REQUIRE(bt.has_value());
    std::vector<std::uint32_t> ids;
    scan_named(*bt, 9, 1, "sk", name_space::any_kind, [&](const btf&, std::uint32_t id, std::uint32_t target) {
        CHECK(target == 9);
        ids.push_back(id);
    });
    CHECK(ids == std::vector<std::uint32_t>{2, 3});
    ids.clear();
    scan_named(*bt, 0, 3, "sk", name_space::any_kind, [&](const btf&, std::uint32_t id, std::uint32_t) { ids.push_back(id); });
    CHECK(ids == std::vector<std::uint32_t>{3});
}
