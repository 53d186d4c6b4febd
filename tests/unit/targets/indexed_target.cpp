// targets/indexed_target.hpp: one BTF with its name index, shared by several threads at once.
// Needs the Debian corpus (bench/corpus/fetch); skips without it.
#include <doctest/doctest.h>

#include <cstdint>
#include <thread>
#include <vector>

#include "btfkit/targets/indexed_target.hpp"
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
