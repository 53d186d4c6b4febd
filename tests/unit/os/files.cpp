// os/files.hpp: whole-file reads into reused buffers and mapped files.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "btfkit/os/files.hpp"
#include "core_object.hpp"
#include "temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
namespace bk = btfkit;
namespace bt = btfkit::testing;

}  // namespace

TEST_CASE("read_file_into: whole files, whether or not their size is a whole number of pages") {
    bt::temp_dir tmp("btfkit-read");
    for (const std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{4095}, std::size_t{4096}, std::size_t{5000}, std::size_t{8192}, std::size_t{300001}}) {
        CAPTURE(n);
        std::vector<char> data(n);
        for (std::size_t i = 0; i < n; ++i) data[i] = static_cast<char>(i * 7 + n);
        const std::string path = (tmp.path / ("f" + std::to_string(n))).string();
        REQUIRE(bt::write_bytes(path, bk::byte_span(data.data(), data.size())));
        bk::byte_buffer plain;
        REQUIRE(bk::read_file_into(path, plain).has_value());
        CHECK(std::equal(plain.begin(), plain.end(), data.begin(), data.end()));
        bk::chunk_arena arena;  // as target_set reads modules: the buffer's blocks in an arena
        bk::byte_buffer in_arena{bk::default_init_allocator<char>(&arena)};
        REQUIRE(bk::read_file_into(path, in_arena).has_value());
        CHECK(std::equal(in_arena.begin(), in_arena.end(), data.begin(), data.end()));
    }
}

TEST_CASE("mapped_file::load::read still maps a sysfs file (the kernel would serve it 4 KiB per read)") {
    const std::string sys = "/sys/kernel/btf/vmlinux";
    if (!fs::exists(sys)) return;
    auto mapped = bk::mapped_file::open(sys);
    auto read = bk::mapped_file::open(sys, bk::mapped_file::load::read);
    REQUIRE(mapped.has_value());
    REQUIRE(read.has_value());
    CHECK(read->is_mapped() == mapped->is_mapped());  // both mapped where the kernel allows it
    REQUIRE(read->size() == mapped->size());
    CHECK(std::equal(read->bytes().begin(), read->bytes().end(), mapped->bytes().begin()));
}
