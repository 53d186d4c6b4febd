// targets/single_target.hpp: one BTF scanned linearly, as libbpf does; also in constant evaluation.
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "blob_builder.hpp"
#include "btfkit/core/candidates.hpp"
#include "btfkit/targets/single_target.hpp"

namespace {

using namespace btfkit;
using testing::blob_builder;

constexpr blob_builder target_blob() {
    blob_builder b(byte_order::little);
    const auto i = b.add_int("int", 4, int_signed);   // 1
    b.add_struct("task", 4, false, {{"pid", i, 0, 0}});  // 2
    b.add_var("task", i, 1);                             // 3: any kind is scanned
    b.add_struct("task___new", 8, false, {{"pid", i, 32, 0}});  // 4
    b.add_struct("tasks", 4, false, {{"pid", i, 0, 0}});        // 5
    return b;
}

// Candidates for a local STRUCT task, in constant evaluation.
constexpr std::size_t task_candidates() {
    const blob_builder bb = target_blob();
    const auto b = btf::parse(bb.span());
    if (!b) return 0;
    single_target t(*b);
    std::vector<candidate> out;
    if (!collect_candidates(t, (*b)[2], "task", relocate_options{}, out)) return 0;
    return out.size();
}
static_assert(task_candidates() == 2);

}  // namespace

TEST_CASE("single_target: every type of the essential name in vmlinux's group, none in the modules'") {
    const blob_builder bb = target_blob();
    auto b = btf::parse(bb.span());
    REQUIRE(b.has_value());
    const single_target t(*b);
    CHECK(t.target_count() == 1);
    CHECK(t.target_name(0) == "vmlinux");
    CHECK(t.target_btf(0) == &*b);
    std::vector<std::uint32_t> ids;
    REQUIRE(t.for_each_named(target_group::vmlinux, "task", name_space::any_kind, [&](const btf& owner, std::uint32_t id, std::uint32_t target) {
        CHECK(&owner == &*b);
        CHECK(target == 0);
        ids.push_back(id);
    }).has_value());
    CHECK(ids == std::vector<std::uint32_t>{2, 3, 4});
    ids.clear();
    // A name space keeps its kinds, scanned as well: the VAR is a symbol, not a type.
    REQUIRE(t.for_each_named(target_group::vmlinux, "task", name_space::types, [&](const btf&, std::uint32_t id, std::uint32_t) { ids.push_back(id); }).has_value());
    CHECK(ids == std::vector<std::uint32_t>{2, 4});
    ids.clear();
    REQUIRE(t.for_each_named(target_group::vmlinux, "task", name_space::symbols, [&](const btf&, std::uint32_t id, std::uint32_t) { ids.push_back(id); }).has_value());
    CHECK(ids == std::vector<std::uint32_t>{3});
    ids.clear();
    REQUIRE(t.for_each_named(target_group::modules, "task", name_space::types, [&](const btf&, std::uint32_t id, std::uint32_t) { ids.push_back(id); }).has_value());
    CHECK(ids.empty());
    CHECK(t.upper_bits(2, fd_encoding::btf_fd).value() == 0);
    CHECK(task_candidates() == 2);
}
