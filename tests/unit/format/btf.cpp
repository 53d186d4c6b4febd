// format/btf.hpp: btf::parse and the parsed view: its id table allocated from a chunk_arena, and split
// BTF, whose ids and strings continue after its base's.
#include <doctest/doctest.h>

#include <cstdint>
#include <optional>

#include "../fuzz/bases.hpp"
#include "blob_builder.hpp"
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

// Split BTF over fuzz/bases.hpp's synthetic base.
namespace {
namespace split_btf {

using namespace btfkit;
using testing::blob_builder;

btf parse_ok(const blob_builder& b) {
    auto r = btf::parse(b.span());
    REQUIRE_MESSAGE(r.has_value(), r.error().message());
    return std::move(*r);
}

TEST_CASE("split BTF: ids and strings continue after the base") {
    const auto base_blob = testing::synthetic_base(byte_order::little);
    const btf base = parse_ok(base_blob);
    REQUIRE(base.type_count() == testing::synthetic_base_types);
    REQUIRE(base.strings_size() == testing::synthetic_base_strings);
    blob_builder sb(byte_order::little, base.type_count(), base.strings_size());
    const auto own = sb.add_struct("own", 8, false, {{"a", 1, 0, 0}});
    sb.add_ref(kind::typedef_, "into_loop", 21);
    sb.add_ref(kind::ptr, "", own);
    auto r = btf::parse(sb.span(), &base);
    REQUIRE_MESSAGE(r.has_value(), r.error().message());
    CHECK(r->first_id() == base.type_count());
    CHECK(r->string(r->type_at(own)->name_off()) == "own");
    CHECK(r->skip_mods_and_typedefs(own + 1).error().code == errc::type_loop);
    CHECK(r->string((*r)[1].name_off()) == "int");

    blob_builder bad(byte_order::little, base.type_count(), base.strings_size());
    bad.add_ref(kind::ptr, "", base.type_count() + 5);
    CHECK(btf::parse(bad.span(), &base).error().code == errc::bad_type_id);
    blob_builder other_order(byte_order::big, base.type_count(), base.strings_size());
    other_order.add_ref(kind::ptr, "", 1);
    CHECK(btf::parse(other_order.span(), &base).error().code == errc::bad_header);
}

}  // namespace split_btf
}  // namespace

TEST_CASE("btf::assign: parse's result into an object kept across blobs; an error leaves it empty") {
    using namespace btfkit;
    testing::blob_builder small(byte_order::little);
    const auto i = small.add_int("int", 4, int_signed);
    small.add_struct("s", 4, false, {{"a", i, 0, 0}});
    testing::blob_builder big(byte_order::big);
    const auto j = big.add_int("long", 8, int_signed);
    for (int n = 0; n < 50; ++n) big.add_struct("t" + std::to_string(n), 8, false, {{"x", j, 0, 0}});
    btf b;
    for (const auto* blob : {&big, &small, &big}) {
        REQUIRE(b.assign(blob->span()).has_value());
        const auto p = btf::parse(blob->span());
        REQUIRE(p.has_value());
        CHECK(b.type_count() == p->type_count());
        CHECK(b.order() == p->order());
        for (std::uint32_t id = 1; id < b.type_count(); ++id) CHECK((b[id].offset() == (*p)[id].offset() && b[id].name() == (*p)[id].name()));
        CHECK(b.named_indexed().size() == p->named_indexed().size());
    }
    std::vector<char> cut(small.span().begin(), small.span().end() - 3);
    const auto bad = b.assign(byte_span(cut.data(), cut.size()));
    REQUIRE_FALSE(bad.has_value());
    CHECK(bad.error().code == btf::parse(byte_span(cut.data(), cut.size())).error().code);
    CHECK(b.type_count() == 1);  // void alone
    CHECK(b.data().empty());
}
