// os/file_targets.hpp: targets from files or the running kernel: vmlinux read rather than mapped,
// module directories, and the running kernel's errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
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

// target_options::module_dirs: a directory's files (but "vmlinux") in name order after the module
// files given, listed while vmlinux is read on another thread: the same targets as the files listed
// by the caller, with and without names prefetched at open (the name pass starts over vmlinux read
// already); errors name the directory or vmlinux.
TEST_CASE("target_options::module_dirs: the directory's files, in name order, after the files given") {
    if (!have_corpus()) return;
    const bk::testing::temp_dir tmp("btfkit-module-dirs");
    const auto modules = module_set();
    std::vector<std::string> listed;
    for (std::size_t i = 1; i < modules.size(); ++i) {  // all but the first, which is given as a file
        const std::string name = std::filesystem::path(modules[i]).filename().string();
        std::filesystem::create_symlink(modules[i], tmp.path / name);
        listed.push_back((tmp.path / name).string());
    }
    std::filesystem::create_symlink(vmlinux_path(), tmp.path / "vmlinux");  // not a module
    std::sort(listed.begin(), listed.end());
    listed.insert(listed.begin(), modules[0]);
    const std::vector<std::string> names{"task_struct", "xfs_mount", "bictcp", "no_such_type_anywhere"};
    for (const bool prefetch : {false, true}) {
        CAPTURE(prefetch);
        bk::target_options o;
        if (prefetch) o.prefetch.assign(names.begin(), names.end());
        auto by_files = bk::file_targets::open(vmlinux_path(), listed, o);
        o.module_dirs = {tmp.path.string()};
        auto by_dir = bk::file_targets::open(vmlinux_path(), {modules[0]}, o);
        REQUIRE(by_files.has_value());
        REQUIRE_MESSAGE(by_dir.has_value(), by_dir.error().message());
        const bk::target_set& a = (*by_files)->targets();
        const bk::target_set& b = (*by_dir)->targets();
        REQUIRE(b.target_count() == a.target_count());
        for (std::uint32_t t = 0; t < a.target_count(); ++t) CHECK(b.target_name(t) == a.target_name(t));
        CHECK(answers((*by_dir)->targets(), names) == answers((*by_files)->targets(), names));
    }
    bk::target_options o;
    o.module_dirs = {tmp.path.string(), "/nonexistent-btfkit-modules"};
    auto missing = bk::file_targets::open(vmlinux_path(), {}, o);
    REQUIRE_FALSE(missing.has_value());
    CHECK(missing.error().message().find("/nonexistent-btfkit-modules") != std::string::npos);
    o.module_dirs = {tmp.path.string()};
    auto no_vmlinux = bk::file_targets::open("/nonexistent-btfkit-vmlinux", {}, o);
    REQUIRE_FALSE(no_vmlinux.has_value());
    CHECK(no_vmlinux.error().message().find("/nonexistent-btfkit-vmlinux") != std::string::npos);
}
