// os/file_targets.hpp: targets from files or the running kernel.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "btfkit/os/file_targets.hpp"
#include "corpus_targets.hpp"

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
