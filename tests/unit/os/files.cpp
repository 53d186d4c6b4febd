// os/files.hpp: whole-file reads into reused buffers, module BTF read to its declared length, files
// opened relative to their directory, and mapped files.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "blob_builder.hpp"
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

// Module BTF is read with no fstat: a raw BTF file's header says its length. The bytes read must be
// the file's all the same, in both byte orders, whether the file holds exactly that, more (trailing
// bytes: parsing ignores them) or less (truncated: read to its end, and parsing says so).
TEST_CASE("read_btf_into: raw BTF to the length its header declares, in both byte orders") {
    bt::temp_dir tmp("btfkit-read-btf");
    for (const bk::byte_order order : {bk::byte_order::little, bk::byte_order::big}) {
        CAPTURE(static_cast<int>(order));
        bt::blob_builder b(order);
        const std::uint32_t i = b.add_int("int", 4, 1);
        b.add_ref(bk::kind::typedef_, "counter_t", i);
        for (int k = 0; k < 2000; ++k) b.add_ref(bk::kind::ptr, "", i);  // 24 KiB of records
        const std::vector<char>& blob = b.bytes();
        REQUIRE(bk::detail::declared_btf_length(b.span()) == blob.size());
        CHECK(bk::detail::declared_btf_length(b.span().first(23)) == 0);
        const std::string exact = (tmp.path / "exact").string(), longer = (tmp.path / "longer").string(), cut = (tmp.path / "cut").string();
        std::vector<char> more = blob;
        more.insert(more.end(), 100, '\x5a');
        REQUIRE(bt::write_bytes(exact, b.span()));
        REQUIRE(bt::write_bytes(longer, bk::byte_span(more.data(), more.size())));
        REQUIRE(bt::write_bytes(cut, b.span().first(blob.size() - 10)));
        bk::byte_buffer buf;
        REQUIRE(bk::read_btf_into(exact, buf).has_value());
        CHECK(std::equal(buf.begin(), buf.end(), blob.begin(), blob.end()));
        REQUIRE(bk::read_btf_into(longer, buf).has_value());
        CHECK(std::equal(buf.begin(), buf.end(), more.begin(), more.end()));  // all of it: one read got it
        CHECK(bk::btf::parse(bk::byte_span(buf.data(), buf.size())).has_value());
        REQUIRE(bk::read_btf_into(cut, buf).has_value());
        CHECK(buf.size() == blob.size() - 10);
        auto p = bk::btf::parse(bk::byte_span(buf.data(), buf.size()));
        REQUIRE_FALSE(p.has_value());
        CHECK(p.error().code == bk::errc::truncated);
    }
    // sysfs serves its files 4 KiB per read call: read on until the declared length.
    const std::string sys = "/sys/kernel/btf/vmlinux";
    if (!fs::exists(sys)) return;
    auto mapped = bk::mapped_file::open(sys);
    REQUIRE(mapped.has_value());
    bk::byte_buffer buf;
    REQUIRE(bk::read_btf_into(sys, buf).has_value());
    CHECK(std::equal(buf.begin(), buf.end(), mapped->bytes().begin(), mapped->bytes().end()));
}

// A directory_opener opens its directory's files relative to the directory it holds open: they are
// found even after the directory is renamed. Other paths open as they are.
TEST_CASE("directory_opener: files opened relative to the directory held open") {
    bt::temp_dir tmp("btfkit-opener");
    const fs::path dir = tmp.path / "mods", moved = tmp.path / "moved";
    fs::create_directory(dir);
    const char one[] = "one", two[] = "two!";
    REQUIRE(bt::write_bytes((dir / "a").string(), bk::byte_span(one, 3)));
    REQUIRE(bt::write_bytes((dir / "b").string(), bk::byte_span(two, 4)));
    REQUIRE(bt::write_bytes((tmp.path / "elsewhere").string(), bk::byte_span(one, 3)));
    const std::vector<std::string> paths{(dir / "a").string(), (dir / "b").string()};
    const bk::directory_opener opener(paths);
    fs::rename(dir, moved);
    bk::byte_buffer buf;
    const bk::status not_btf = bk::read_btf_into(paths[1], buf, &opener);  // opened and read; not BTF
    REQUIRE_FALSE(not_btf.has_value());
    CHECK(not_btf.error().code != bk::errc::io);
    auto size_of = [&](const std::string& path) {
        const int fd = opener.open(path);
        if (fd < 0) return -1L;
        char tmpbuf[16];
        const long n = ::read(fd, tmpbuf, sizeof tmpbuf);
        ::close(fd);
        return n;
    };
    CHECK(size_of(paths[0]) == 3);  // through the directory held open
    CHECK(size_of(paths[1]) == 4);
    CHECK(size_of((tmp.path / "elsewhere").string()) == 3);  // not in it: as it is
    CHECK(size_of((moved / "a").string()) == 3);
    // Paths in two directories: none is held, each opens as it is (the renamed one no longer does).
    const bk::directory_opener mixed(std::vector<std::string>{(moved / "a").string(), (tmp.path / "elsewhere").string()});
    fs::rename(moved, dir);
    const int fd = mixed.open((moved / "a").string());
    CHECK(fd < 0);
    if (fd >= 0) ::close(fd);
}
