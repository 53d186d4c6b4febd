// os/file_targets.hpp: targets from files or the running kernel: vmlinux read rather than mapped, and
// the running kernel's errors.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "btfkit/os/file_targets.hpp"
#include "corpus_targets.hpp"
#include "temp_dir.hpp"

namespace {

using namespace btfkit::testing::corpus_targets;

}  // namespace

TEST_CASE("target_options::read_vmlinux: vmlinux read into memory, not mapped; the same answers") {
    if (!have_corpus()) return;
    auto mapped = bk::mapped_file::open(vmlinux_path());
    auto read = bk::mapped_file::open(vmlinux_path(), bk::mapped_file::load::read);
    REQUIRE(mapped.has_value());
    REQUIRE(read.has_value());
    CHECK(mapped->is_mapped());
    CHECK_FALSE(read->is_mapped());
    REQUIRE(read->size() == mapped->size());
    CHECK(std::equal(read->bytes().begin(), read->bytes().end(), mapped->bytes().begin()));

    const auto modules = module_set();
    bk::target_options o;
    o.read_vmlinux = true;
    auto ft = bk::file_targets::open(vmlinux_path(), modules, o);
    REQUIRE(ft.has_value());
    const auto plain = open(modules, "");
    const std::vector<std::string> names{"task_struct", "xfs_mount", "bictcp", "no_such_type_anywhere"};
    CHECK(answers((*ft)->targets(), names) == answers(plain->targets(), names));
    CHECK((*ft)->vmlinux().type_count() == plain->vmlinux().type_count());
}

// An error from running_kernel(dir) owns its text: it names the files the call built from `dir` after
// those strings are gone (the sanitizer builds read freed memory if it borrowed them).
TEST_CASE("running_kernel: the error for a directory without vmlinux outlives the call") {
    bk::error e;
    {
        const bk::testing::temp_dir tmp("btfkit-no-vmlinux");
        std::string dir = tmp.path.string();
        auto k = bk::file_targets::running_kernel(dir);
        REQUIRE_FALSE(k.has_value());
        e = k.error();
        dir.assign(dir.size(), 'x');  // the caller's string changes and goes
    }
    const std::string m = e.message();
    MESSAGE(m);
    CHECK(m.find("btfkit-no-vmlinux") != std::string::npos);
    CHECK(m.find("/vmlinux") != std::string::npos);
    CHECK(e.code == bk::errc::io);
    // And a missing directory names the directory.
    std::string missing = "/nonexistent-btfkit-dir";
    auto r = bk::file_targets::running_kernel(missing);
    missing.clear();
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().message().find("/nonexistent-btfkit-dir") != std::string::npos);
}
