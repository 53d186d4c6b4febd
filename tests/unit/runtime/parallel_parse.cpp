// runtime/parallel_parse.hpp: parse_two_threads, a BTF parsed in two halves on two threads, gives
// what the one-pass parse gives (its table, its errors), and its name hashes give the same name index.
// On a synthetic BTF with the two-halves threshold lowered, and on the Debian corpus's vmlinux
// (bench/corpus/fetch) and the running kernel's BTF where they are there.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "blob_builder.hpp"
#include "btfkit/runtime/parallel_parse.hpp"
#include "corpus_targets.hpp"

namespace {

using namespace btfkit::testing::corpus_targets;

}  // namespace

TEST_CASE("parse_two_threads: vmlinux parsed in two halves is parsed as in one pass; damage anywhere, the same error") {
    if (!have_corpus()) return;
    bk::byte_buffer buf;
    REQUIRE(bk::read_btf_into(vmlinux_path(), buf).has_value());
    const bk::byte_span bytes(buf.data(), buf.size());
    auto one = bk::btf::parse(bytes);
    REQUIRE(one.has_value());
    REQUIRE(one->header().type_len >= bk::btf::split_min_bytes);
    auto same = [](const bk::btf& a, const bk::btf& b) {
        REQUIRE(a.type_count() == b.type_count());
        for (std::uint32_t id = 1; id < a.type_count(); ++id) {
            if (a[id].offset() != b[id].offset()) {
                FAIL("type #" << id << " at " << b[id].offset() << ", expected " << a[id].offset());
            }
        }
        CHECK(std::equal(a.named_indexed().begin(), a.named_indexed().end(), b.named_indexed().begin(), b.named_indexed().end()));
    };
    int halves_used = 0;
    auto counting = [&](auto&& first, auto&& second) {
        ++halves_used;
        bk::detail::run_both(first, second);
    };
    auto two = bk::btf::parse_split(bytes, counting);
    REQUIRE(two.has_value());
    CHECK(halves_used == 1);
    same(*one, *two);
    auto two_again = bk::parse_two_threads(bytes);
    REQUIRE(two_again.has_value());
    same(*one, *two_again);
    if (fs::exists("/sys/kernel/btf/vmlinux")) {  // the running kernel's too
        bk::byte_buffer kb;
        REQUIRE(bk::read_file_into("/sys/kernel/btf/vmlinux", kb).has_value());
        auto k1 = bk::btf::parse(bk::byte_span(kb.data(), kb.size()));
        auto k2 = bk::parse_two_threads(bk::byte_span(kb.data(), kb.size()));
        REQUIRE(k1.has_value());
        REQUIRE(k2.has_value());
        same(*k1, *k2);
    }
    // Damage in either half, or at the guessed boundary itself: the error parse gives.
    const std::uint32_t n = one->type_count();
    struct damage { const char* what; std::uint32_t id; std::size_t field; std::uint32_t value; };
    const std::vector<damage> cases{
        {"unknown kind, first half", n / 4, 4, 0x1f000000u},
        {"unknown kind, second half", 3 * n / 4, 4, 0x1f000000u},
        {"bad name offset, second half", 3 * n / 4, 0, 0x7ffffff0u},
        {"bad name offset, last type", n - 1, 0, 0x7ffffff0u},
        {"vlen too large, just before the middle", n / 2 - 1, 4, 0x0400ffffu},
        {"unknown kind in the middle", n / 2, 4, 0x1f000000u},
        {"unknown kind just after the middle", n / 2 + 1, 4, 0x1f000000u},
    };
    for (const damage& d : cases) {
        CAPTURE(d.what);
        bk::byte_buffer bad(buf.begin(), buf.end());
        bk::detail::store<std::uint32_t>(bad.data() + (*one)[d.id].offset() + d.field, d.value, bk::byte_order::little);
        const bk::byte_span bb(bad.data(), bad.size());
        auto want = bk::btf::parse(bb);
        auto got = bk::parse_two_threads(bb);
        REQUIRE_FALSE(want.has_value());
        REQUIRE_FALSE(got.has_value());
        CHECK(got.error().message() == want.error().message());
    }
    // A bad reference in the second half (found by the folded maximum, after both halves): the same.
    {
        bk::byte_buffer bad(buf.begin(), buf.end());
        std::uint32_t id = 3 * n / 4;
        while (!(*one)[id].is(bk::kind::ptr)) ++id;
        bk::detail::store<std::uint32_t>(bad.data() + (*one)[id].offset() + 8, n + 5, bk::byte_order::little);
        auto want = bk::btf::parse(bk::byte_span(bad.data(), bad.size()));
        auto got = bk::parse_two_threads(bk::byte_span(bad.data(), bad.size()));
        REQUIRE_FALSE(want.has_value());
        REQUIRE_FALSE(got.has_value());
        CHECK(got.error().message() == want.error().message());
    }
    // A section under split_min_bytes (a module, over vmlinux) is parsed in one pass: run_both is not called.
    bk::byte_buffer mb;
    REQUIRE(bk::read_btf_into((corpus / "modules" / "xfs").string(), mb).has_value());
    int calls = 0;
    auto small = bk::btf::parse_split(bk::byte_span(mb.data(), mb.size()), [&](auto&&, auto&&) { ++calls; }, &*one);
    REQUIRE(small.has_value());
    CHECK(calls == 0);
    auto small1 = bk::btf::parse(bk::byte_span(mb.data(), mb.size()), &*one);
    REQUIRE(small1.has_value());
    same(*small1, *small);
}

// The same BTF in the other byte order: every field of the header (past magic, version, flags) and of
// the type section is a 32-bit word; strings are bytes.
bk::byte_buffer swapped_btf(bk::byte_span le) {
    bk::byte_buffer out(le.begin(), le.end());
    auto swap_word = [&](std::size_t at) {
        std::swap(out[at], out[at + 3]);
        std::swap(out[at + 1], out[at + 2]);
    };
    std::swap(out[0], out[1]);  // magic
    const auto u32 = [&](std::size_t at) { return bk::detail::load<std::uint32_t>(le.data() + at, bk::byte_order::little); };
    const std::uint32_t hdr_len = u32(4), type_off = u32(8), type_len = u32(12);
    for (std::size_t at = 4; at + 4 <= hdr_len; at += 4) swap_word(at);
    for (std::size_t at = hdr_len + type_off; at < hdr_len + type_off + type_len; at += 4) swap_word(at);
    return out;
}

TEST_CASE("parse_two_threads with name hashes: the index from them is the one built after the parse, both byte orders") {
    std::vector<std::pair<std::string, bk::byte_buffer>> blobs;
    if (have_corpus()) {
        blobs.emplace_back("Debian vmlinux", bk::byte_buffer{});
        REQUIRE(bk::read_btf_into(vmlinux_path(), blobs.back().second).has_value());
    }
    if (fs::exists("/sys/kernel/btf/vmlinux")) {
        blobs.emplace_back("running kernel", bk::byte_buffer{});
        REQUIRE(bk::read_file_into("/sys/kernel/btf/vmlinux", blobs.back().second).has_value());
    }
    if (blobs.empty()) return;
    const std::size_t little = blobs.size();
    for (std::size_t i = 0; i < little; ++i) {
        const auto& [what, b] = blobs[i];
        blobs.emplace_back(what + ", big-endian", swapped_btf(bk::byte_span(b.data(), b.size())));
    }
    for (const auto& [what, buf] : blobs) {
        CAPTURE(what);
        const bk::byte_span bytes(buf.data(), buf.size());
        bk::named_hashes hashes;
        auto b = bk::parse_two_threads(bytes, nullptr, nullptr, &hashes);
        REQUIRE(b.has_value());
        REQUIRE(b->header().type_len >= bk::btf::split_min_bytes);
        CHECK(b->order() == (what.find("big") != std::string::npos ? bk::byte_order::big : bk::byte_order::little));
        REQUIRE(hashes.size() == b->named_indexed().size());
        const auto from_hashes = bk::name_index::build(*b, hashes);
        const auto after = bk::name_index::build(*b);
        REQUIRE(from_hashes.slots().size() == after.slots().size());
        CHECK(from_hashes.id_bits() == after.id_bits());
        std::size_t differ = 0, used = 0;
        for (std::size_t i = 0; i < after.slots().size(); ++i) {
            differ += from_hashes.slots()[i] != after.slots()[i];
            used += after.slots()[i] != 0;
        }
        CHECK(differ == 0);
        CHECK(used > 10000);
        // Lookups agree with a scan, for names with and without a flavor suffix.
        for (const std::string_view name : {"task_struct", "sk_buff", "u32", "list_head", "no_such_type_here"}) {
            std::vector<std::uint32_t> got, want;
            from_hashes.for_each(*b, name, [&](std::uint32_t id) { got.push_back(id); });
            for (std::uint32_t id = 1; id < b->type_count(); ++id) {
                if (bk::indexed_kind((*b)[id].kind()) && bk::essential_name((*b)[id].name()) == name) want.push_back(id);
            }
            CHECK_MESSAGE(got == want, name);
        }
        // Hashes of another length are not used: the index is built from the names.
        hashes.pop_back();
        const auto rebuilt = bk::name_index::build(*b, hashes);
        REQUIRE(rebuilt.slots().size() == after.slots().size());
        std::size_t rebuilt_differ = 0;
        for (std::size_t i = 0; i < after.slots().size(); ++i) rebuilt_differ += rebuilt.slots()[i] != after.slots()[i];
        CHECK(rebuilt_differ == 0);
    }
    // Damage: the error parse gives, and no hashes.
    const auto& [what, buf] = blobs.front();
    auto one = bk::btf::parse(bk::byte_span(buf.data(), buf.size()));
    REQUIRE(one.has_value());
    for (const std::uint32_t id : {one->type_count() / 4, 3 * one->type_count() / 4}) {
        bk::byte_buffer bad(buf.begin(), buf.end());
        bk::detail::store<std::uint32_t>(bad.data() + (*one)[id].offset(), 0x7ffffff0u, bk::byte_order::little);  // name offset
        bk::named_hashes hashes{1, 2, 3};
        auto got = bk::parse_two_threads(bk::byte_span(bad.data(), bad.size()), nullptr, nullptr, &hashes);
        auto want = bk::btf::parse(bk::byte_span(bad.data(), bad.size()));
        REQUIRE_FALSE(got.has_value());
        REQUIRE_FALSE(want.has_value());
        CHECK(got.error().message() == want.error().message());
        CHECK(hashes.empty());
    }
}

TEST_CASE("parse_two_threads: a small BTF in two halves (threshold lowered): one pass's table, hashes and errors") {
    bt::blob_builder bb(bk::byte_order::little);
    const auto i = bb.add_int("int", 4, bk::int_signed);
    for (std::uint32_t k = 0; k < 300; ++k) {
        const auto s = bb.add_struct("s" + std::to_string(k), 8, false, {{"a", i, 0, 0}, {"b", i, 32, 0}});
        bb.add_ref(bk::kind::ptr, "", s);
    }
    const bk::byte_span bytes = bb.span();
    auto one = bk::btf::parse(bytes);
    REQUIRE(one.has_value());
    bk::named_hashes hashes;
    auto two = bk::parse_two_threads(bytes, nullptr, nullptr, &hashes, false, 64);
    REQUIRE(two.has_value());
    REQUIRE(two->type_count() == one->type_count());
    for (std::uint32_t id = 1; id < one->type_count(); ++id) REQUIRE((*two)[id].offset() == (*one)[id].offset());
    CHECK(std::equal(one->named_indexed().begin(), one->named_indexed().end(), two->named_indexed().begin(), two->named_indexed().end()));
    REQUIRE(hashes.size() == one->named_indexed().size());  // the halves were used and hashed
    const auto from_hashes = bk::name_index::build(*two, hashes), built = bk::name_index::build(*one);
    REQUIRE(from_hashes.slots().size() == built.slots().size());
    std::size_t differ = 0;
    for (std::size_t k = 0; k < built.slots().size(); ++k) differ += from_hashes.slots()[k] != built.slots()[k];
    CHECK(differ == 0);
    // A bad reference in the second half: the one pass's error, and no hashes.
    std::vector<char> bad(bytes.begin(), bytes.end());
    const std::uint32_t victim = one->type_count() - 1;  // the last PTR
    REQUIRE((*one)[victim].is(bk::kind::ptr));
    bk::detail::store<std::uint32_t>(bad.data() + (*one)[victim].offset() + 8, 5000, bk::byte_order::little);
    auto want = bk::btf::parse(bk::byte_span(bad.data(), bad.size()));
    auto got = bk::parse_two_threads(bk::byte_span(bad.data(), bad.size()), nullptr, nullptr, &hashes, false, 64);
    REQUIRE_FALSE(want.has_value());
    REQUIRE_FALSE(got.has_value());
    CHECK(got.error().message() == want.error().message());
    CHECK(hashes.empty());
}
