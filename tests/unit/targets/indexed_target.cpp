// targets/indexed_target.hpp: one BTF with its name index: single_target's answers without a scan for
// the indexed kinds, a scan for the others; and (with the Debian corpus, bench/corpus/fetch) shared by
// several threads at once.
#include <doctest/doctest.h>

#include <cstdint>
#include <thread>
#include <vector>

#include "blob_builder.hpp"
#include "btfkit/targets/indexed_target.hpp"
#include "btfkit/targets/single_target.hpp"
#include "corpus_targets.hpp"

namespace {

using namespace btfkit::testing::corpus_targets;

}  // namespace

TEST_CASE("an indexed_target (a built name index) answers the same from several threads at once") {
    if (!have_corpus()) return;
    const auto ft = open({}, "");
    const bk::btf& vm = ft->vmlinux();
    const bk::indexed_target target(vm);
    // Every named STRUCT/UNION/ENUM of vmlinux, as a local type of its own kind.
    std::vector<std::uint32_t> ids;
    for (std::uint32_t id = 1; id < vm.type_count(); ++id) {
        const bk::type t = vm[id];
        if ((t.is(bk::kind::struct_) || t.is(bk::kind::union_) || t.is(bk::kind::enum_)) && !t.name().empty()) ids.push_back(id);
    }
    REQUIRE(ids.size() > 5000);
    auto all = [&](std::vector<std::uint32_t>& out) {
        std::vector<bk::candidate> found;
        for (const std::uint32_t id : ids) {
            found.clear();
            if (!bk::collect_candidates(target, vm[id], bk::essential_name(vm[id].name()), bk::relocate_options{}, found)) out.push_back(0);
            out.push_back(static_cast<std::uint32_t>(found.size()));
            for (const auto& c : found) out.push_back(c.id);
        }
    };
    std::vector<std::uint32_t> expected;
    all(expected);
    std::vector<std::vector<std::uint32_t>> got(4);
    {
        std::vector<std::jthread> threads;
        for (auto& g : got) threads.emplace_back([&all, &g] { all(g); });
    }
    for (const auto& g : got) CHECK(g == expected);
}

TEST_CASE("indexed_target: the index for indexed kinds, a scan otherwise; single_target's answers either way") {
    bt::blob_builder bb(bk::byte_order::little);
    const auto i = bb.add_int("int", 4, bk::int_signed);          // 1
    bb.add_struct("task", 4, false, {{"pid", i, 0, 0}});           // 2
    bb.add_var("task", i, 1);                                      // 3: not an indexed kind
    bb.add_struct("task___new", 8, false, {{"pid", i, 32, 0}});    // 4
    bb.add_ref(bk::kind::func, "task", bb.add_func_proto(i, {}), 0);  // 5 proto, 6 func
    auto b = bk::btf::parse(bb.span());
    REQUIRE(b.has_value());
    const bk::indexed_target indexed(*b);
    const bk::single_target single(*b);
    auto ids = [&](const auto& t, bool by_index) {
        std::vector<std::uint32_t> out;
        const auto sp = by_index ? bk::name_space::types : bk::name_space::any_kind;
        REQUIRE(t.for_each_named(bk::target_group::vmlinux, "task", sp, [&](const bk::btf&, std::uint32_t id, std::uint32_t target) {
            CHECK(target == 0);
            out.push_back(id);
        }).has_value());
        return out;
    };
    CHECK(ids(indexed, true) == std::vector<std::uint32_t>{2, 4});  // the VAR and FUNC are in no index
    CHECK(ids(indexed, false) == std::vector<std::uint32_t>{2, 3, 4, 6});
    CHECK(ids(indexed, false) == ids(single, false));
    std::vector<std::uint32_t> modules;
    REQUIRE(indexed.for_each_named(bk::target_group::modules, "task", bk::name_space::types, [&](const bk::btf&, std::uint32_t id, std::uint32_t) {
        modules.push_back(id);
    }).has_value());
    CHECK(modules.empty());
    CHECK(indexed.index().slots().size() >= 16);
    CHECK(indexed.upper_bits(2, bk::fd_encoding::btf_id).value() == 0);
}
