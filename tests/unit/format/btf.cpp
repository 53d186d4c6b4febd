// format/btf.hpp: btf::parse and the parsed view; here its id table allocated from a chunk_arena.
#include <doctest/doctest.h>

#include <cstdint>
#include <optional>

#include "btfkit/format/btf.hpp"
#include "corpus_targets.hpp"

namespace {

using namespace btfkit::testing::corpus_targets;

}  // namespace

TEST_CASE("btf::parse with a chunk_arena: the same table, in the arena; a copy owns its own") {
    if (!have_corpus()) return;
    const auto ft = open({}, "");
    const bk::btf& vm = ft->vmlinux();
    bk::byte_buffer buf;
    REQUIRE(bk::read_btf_into((corpus / "modules" / "xfs").string(), buf).has_value());
    const bk::byte_span bytes(buf.data(), buf.size());
    const auto plain = bk::btf::parse(bytes, &vm);
    REQUIRE(plain.has_value());
    std::optional<bk::btf> copy;
    {
        bk::chunk_arena arena;
        (void)arena.allocate(3, 1);  // misaligned on purpose: the table is aligned anyway
        auto in_arena = bk::btf::parse(bytes, &vm, &arena);
        REQUIRE(in_arena.has_value());
        REQUIRE(in_arena->type_count() == plain->type_count());
        for (std::uint32_t id = in_arena->first_id(); id < in_arena->type_count(); ++id) {
            REQUIRE((*in_arena)[id].offset() == (*plain)[id].offset());
        }
        copy.emplace(*in_arena);
        // A failure allocates from the arena too, and gives nothing back: no harm.
        bk::byte_buffer bad(buf.begin(), buf.end());
        bad[bad.size() - 1] = 'x';  // the string section no longer ends with NUL
        CHECK_FALSE(bk::btf::parse(bk::byte_span(bad.data(), bad.size()), &vm, &arena).has_value());
    }
    for (std::uint32_t id = copy->first_id(); id < copy->type_count(); ++id) {
        REQUIRE((*copy)[id].offset() == (*plain)[id].offset());
    }
    // Arenas adopt each other's chunks; what was allocated stays put.
    bk::chunk_arena a, b(std::size_t{1} << 21);
    char* pa = a.allocate(100);
    char* pb = b.allocate(100);
    pa[99] = 'a';
    pb[99] = 'b';
    a.adopt(std::move(b));
    CHECK(a.allocate(8) == pa + 104);  // a goes on filling its own chunk
    CHECK(pa[99] == 'a');
    CHECK(pb[99] == 'b');
}
