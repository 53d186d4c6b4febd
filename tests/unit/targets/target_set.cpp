// targets/target_set.hpp: vmlinux and modules behind one lookup path: find() over synthetic modules,
// module fds and ids for TYPE_ID_TARGET, and (with the Debian corpus, bench/corpus/fetch)
// target_set::prefetch, which opens the modules the lookups would, with the same answers and
// warnings, whichever way it prepares them.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "blob_builder.hpp"
#include "btfkit/targets/target_set.hpp"
#include "corpus_targets.hpp"

namespace {

using namespace btfkit::testing::corpus_targets;

// The module position of each warning's module ("module NAME skipped: ..."), in warning order.
std::vector<std::size_t> warning_positions(const bk::target_set& set) {
    std::vector<std::size_t> out;
    for (const auto& w : set.warnings()) {
        for (std::uint32_t t = 1; t < set.target_count(); ++t) {
            if (w.starts_with("module " + std::string(set.target_name(t)) + " skipped")) out.push_back(t);
        }
    }
    return out;
}

}  // namespace

TEST_CASE("prefetch: opens exactly the modules the lookups would, with the same answers and warnings") {
    if (!have_corpus()) return;
    bt::temp_dir tmp("btfkit-prefetch");
    const auto plain0 = open({}, "");
    // Three modules the index rejects, side by side (so that the two index threads each fail some),
    // then one it takes and opening rejects.
    const auto modules = module_set({truncated_module(tmp, "xfs", "xfs_cut1", 4000), truncated_module(tmp, "xfs", "xfs_cut2", 9000),
                                     truncated_module(tmp, "tcp_bic", "tcp_bic_cut", 100),
                                     module_with_bad_reference(tmp, plain0->vmlinux(), "tcp_bic")});
    REQUIRE(modules.size() >= 64);  // the module index on two threads
    const auto names = names_of(plain0->vmlinux(), modules);
    std::vector<std::string_view> essentials;
    for (const auto& n : names) essentials.push_back(bk::essential_name(n));
    // Names the prefetch is not told of: looked up afterwards, they build the indexes as usual.
    const std::vector<std::string> others{"bpf_prog", "nf_conn", "ext4_sb_info", "i915_vma", "btrfs_fs_info", "kvm_vcpu"};

    const auto lazy = open(modules, "");
    const auto expected = answers(lazy->targets(), names);
    const auto expected_others = answers(lazy->targets(), others);
    const std::uint32_t opened = lazy->targets().modules_opened();
    REQUIRE(opened > 24);  // enough for prefetch's two threads
    const auto expected_warnings = lazy->targets().warnings();
    REQUIRE(expected_warnings.size() == 4);  // the three cut ones, indexed first; tcp_bic_bad, opened later
    CHECK(expected_warnings[3].find("tcp_bic_bad") != std::string::npos);
    const auto positions = warning_positions(lazy->targets());
    REQUIRE(positions.size() == 4);
    CHECK(std::is_sorted(positions.begin(), positions.end()));  // module order, whichever thread read them

    // Without a cache: one pass (no index built), after opening or started at open (target_options::
    // prefetch: the modules walked while vmlinux is read and parsed); with a cache: the cached index,
    // then the opening threads; and with the module index built first, as a lookup would have.
    enum class path { one_pass, at_open, cached, index_first };
    for (const path how : {path::one_pass, path::at_open, path::cached, path::index_first}) {
        CAPTURE(static_cast<int>(how));
        const bool no_index = how == path::one_pass || how == path::at_open;
        const std::string cache = how == path::cached ? (tmp.path / "index.bin").string() : "";
        if (how == path::cached) (void)open(modules, cache)->targets().build_module_index();
        const auto pre = open(modules, cache, how == path::at_open ? names : std::vector<std::string>{});
        bk::target_set& set = pre->targets();
        CHECK(pre->index_cache_hit() == (how == path::cached));
        if (how == path::index_first) REQUIRE(set.build_module_index().has_value());
        if (how == path::at_open) {  // done already
            CHECK(set.modules_opened() == opened);
            CHECK(set.warnings() == expected_warnings);
        }
        REQUIRE(set.prefetch(essentials).has_value());
        CHECK(set.module_index_ready() == !no_index);
        CHECK(set.modules_opened() == opened);
        CHECK(set.warnings() == expected_warnings);
        CHECK(answers(set, names) == expected);
        CHECK(set.modules_opened() == opened);  // nothing left to open
        CHECK(set.warnings() == expected_warnings);
        CHECK(set.module_index_ready() == !no_index);  // the pass's names need no index
        REQUIRE(set.prefetch(essentials).has_value());  // again: nothing to do
        CHECK(set.modules_opened() == opened);
        CHECK(set.module_index_ready() == !no_index);
        CHECK(answers(set, others) == expected_others);  // other names: the indexes now
        CHECK(set.module_index_ready());
        CHECK(set.vmlinux_index().slots().size() > 0);
        CHECK(set.warnings() == expected_warnings);  // the failed modules are not read again
    }
    {  // A few names, one pass: the two modules with hits are opened (tcp_bic_bad fails).
        const auto few = open(modules, "");
        const std::vector<std::string_view> two{"xfs_mount", "bictcp"};
        REQUIRE(few->targets().prefetch(two).has_value());
        CHECK(few->targets().modules_opened() == 2);
        CHECK(few->targets().warnings().size() == 4);
        CHECK(answers(few->targets(), {"xfs_mount", "bictcp"}) == answers(lazy->targets(), {"xfs_mount", "bictcp"}));
        CHECK_FALSE(few->targets().module_index_ready());
        CHECK(few->targets().vmlinux_index().slots().size() == 0);  // scanned for the two names, not indexed
        // Relocation lookups (collect) of the prefetched names take the same entries.
        std::vector<bk::candidate> got, want;
        const bk::relocate_options o{};
        const auto local = bk::btf::parse(lazy->vmlinux().data());  // any BTF with a STRUCT to stand for the local type
        REQUIRE(local.has_value());
        for (const bk::type t : local->types()) {
            if (!t.is(bk::kind::struct_)) continue;
            REQUIRE(bk::collect_candidates(few->targets(), t, "xfs_mount", o, got).has_value());
            REQUIRE(bk::collect_candidates(lazy->targets(), t, "xfs_mount", o, want).has_value());
            break;
        }
        CHECK(got.size() == 1);
        CHECK(got.size() == want.size());
        CHECK_FALSE(few->targets().module_index_ready());
    }
    {  // No modules: the pass scans vmlinux only, and lookups of its names need no vmlinux index.
        const auto none = open({}, "");
        const std::vector<std::string_view> vm{"task_struct", "sk_buff", "xfs_mount"};
        REQUIRE(none->targets().prefetch(vm).has_value());
        CHECK(none->targets().vmlinux_index().slots().size() == 0);
        CHECK(answers(none->targets(), {"task_struct", "sk_buff", "xfs_mount"}) == answers(plain0->targets(), {"task_struct", "sk_buff", "xfs_mount"}));
        CHECK(none->targets().vmlinux_index().slots().size() == 0);
        CHECK(answers(none->targets(), {"bpf_prog"}) == answers(plain0->targets(), {"bpf_prog"}));
        CHECK(none->targets().vmlinux_index().slots().size() > 0);
    }
}

TEST_CASE("target_set: vmlinux first, then the modules in order; a module that fails is skipped with a warning") {
    bt::blob_builder vb(bk::byte_order::little);
    vb.add_int("int", 4, bk::int_signed);                         // 1
    vb.add_struct("task", 4, false, {{"pid", 1, 0, 0}});          // 2
    vb.add_struct("shared", 4, false, {{"a", 1, 0, 0}});          // 3
    auto vm = bk::btf::parse(vb.span());
    REQUIRE(vm.has_value());
    auto module_bytes = [&](const char* only, const char* shared) {
        bt::blob_builder mb(bk::byte_order::little, vm->type_count(), vm->strings_size());
        mb.add_struct(only, 4, false, {{"x", 1, 0, 0}});          // 4
        mb.add_struct(shared, 8, false, {{"y", 1, 32, 0}});       // 5
        return mb.bytes();
    };
    std::vector<std::vector<char>> files{module_bytes("a_only", "shared"), module_bytes("b_only", "shared"),
                                         module_bytes("c_only", "shared___v2")};
    files[1].resize(files[1].size() - 6);  // cut: the module index rejects it
    bk::target_set set(*vm);
    for (const char* name : {"mod_a", "broken", "mod_c"}) set.add_module(name);
    int loads = 0;
    set.set_loader([&](std::uint32_t m, bk::byte_buffer& buf) -> bk::status {
        ++loads;
        buf.assign(files.at(m - 1).begin(), files.at(m - 1).end());
        return {};
    });
    CHECK(set.target_count() == 4);
    CHECK(set.target_name(0) == "vmlinux");
    CHECK(set.target_name(3) == "mod_c");

    auto find = [&](std::string_view name) {
        std::vector<bk::candidate> found;
        REQUIRE(set.find(name, found).has_value());
        std::vector<std::pair<std::uint32_t, std::uint32_t>> out;
        for (const bk::candidate& c : found) out.emplace_back(c.target, c.id);
        return out;
    };
    using hits = std::vector<std::pair<std::uint32_t, std::uint32_t>>;
    std::vector<std::uint32_t> vm_ids;
    REQUIRE(set.for_each_named(bk::target_group::vmlinux, "task", bk::name_space::types, [&](const bk::btf&, std::uint32_t id, std::uint32_t) {
        vm_ids.push_back(id);
    }).has_value());
    CHECK(vm_ids == std::vector<std::uint32_t>{2});
    CHECK(loads == 0);  // vmlinux's group reads no module
    CHECK(find("task") == hits{{0, 2}});
    CHECK(set.module_index_ready());  // the modules' group built the module index: each module read once
    CHECK(loads == 3);
    CHECK(set.modules_opened() == 0);
    CHECK(find("a_only") == hits{{1, 4}});
    CHECK(set.modules_opened() == 1);
    CHECK(loads == 4);
    CHECK(find("shared") == hits{{0, 3}, {1, 5}, {3, 5}});
    CHECK(set.modules_opened() == 2);
    CHECK(find("b_only").empty());
    REQUIRE(set.warnings().size() == 1);
    CHECK(set.warnings()[0].starts_with("module broken skipped"));
    CHECK(set.module_btf(3) != nullptr);
    CHECK(set.module_btf(2) == nullptr);
}

TEST_CASE("target_set::upper_bits: the caller's fd or id, else the resolver's (asked each time), else an error naming the module") {
    bt::blob_builder vb(bk::byte_order::little);
    vb.add_int("int", 4, bk::int_signed);
    auto vm = bk::btf::parse(vb.span());
    REQUIRE(vm.has_value());
    bk::target_set set(*vm);
    set.add_module("mod_a");
    set.add_module("mod_b");
    CHECK(set.upper_bits(0, bk::fd_encoding::btf_fd).value() == 0);  // vmlinux
    CHECK(set.upper_bits(1, bk::fd_encoding::none).value() == 0);
    const auto missing = set.upper_bits(1, bk::fd_encoding::btf_fd);
    REQUIRE_FALSE(missing.has_value());
    CHECK(missing.error().code == bk::errc::not_found);
    CHECK(missing.error().subject.view() == "mod_a");
    set.set_module_fd(1, 42);
    set.set_module_btf_id(1, 7);
    CHECK(set.upper_bits(1, bk::fd_encoding::btf_fd).value() == 42);
    CHECK(set.upper_bits(1, bk::fd_encoding::btf_id).value() == 7);
    int asked = 0;
    set.set_upper_resolver([&](std::uint32_t t, bk::fd_encoding) -> bk::result<std::uint32_t> {
        ++asked;
        return 100 + t;
    });
    CHECK(set.upper_bits(2, bk::fd_encoding::btf_id).value() == 102);
    CHECK(set.upper_bits(2, bk::fd_encoding::btf_id).value() == 102);
    CHECK(asked == 2);  // asked each time: the resolver may check that the module is still loaded
    // Its errors pass through: not_found means "none known", anything else fails the relocation.
    set.set_upper_resolver([](std::uint32_t, bk::fd_encoding) -> bk::result<std::uint32_t> {
        return bk::error(bk::errc::io, "gone");
    });
    CHECK(set.upper_bits(2, bk::fd_encoding::btf_fd).error().code == bk::errc::io);
}
