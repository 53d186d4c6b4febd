// write/c_prerender.hpp: struct, union and enum definitions rendered ahead, their names left to the
// writer that copies them in: the header is the same text as when the writer renders them itself,
// ___N names and enumerators counted where the definitions land.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "blob_builder.hpp"
#include "btfkit/format/btf.hpp"
#include "btfkit/index/name_hash.hpp"
#include "btfkit/write/btf_builder.hpp"
#include "btfkit/write/c_header.hpp"

namespace {

using namespace btfkit;
using testing::blob_builder;

// Names used twice (structs, typedefs, enumerators of anonymous enums inside structs), an anonymous
// union, bitfields, a function pointer: every kind of name a definition holds.
blob_builder names_blob() {
    blob_builder b(byte_order::little);
    const auto i = b.add_int("int", 4, int_signed);                                                   // 1
    const auto anon_enum = b.add_enum("", 4, false, {{"READY", 0}, {"DONE", 1}});                     // 2
    const auto s1 = b.add_struct("s", 8, false, {{"state", anon_enum, 0, 0}, {"n", i, 32, 0}});      // 3
    const auto t1 = b.add_ref(kind::typedef_, "s_t", s1);                                            // 4
    const auto anon_enum2 = b.add_enum("", 4, false, {{"READY", 2}});                                 // 5
    const auto s2 = b.add_struct("s", 8, false, {{"again", anon_enum2, 0, 0}, {"t", t1, 32, 0}});    // 6
    const auto t2 = b.add_ref(kind::typedef_, "s_t", s2);                                            // 7
    const auto u = b.add_union("", 4, false, {{"a", i, 0, 0}, {"b", t2, 0, 0}});                     // 8
    const auto ptr_s2 = b.add_ref(kind::ptr, "", s2);                                                // 9
    const auto proto = b.add_func_proto(i, {{"p", ptr_s2}, {"t", t1}});                              // 10
    const auto fn = b.add_ref(kind::ptr, "", proto);                                                 // 11
    b.add_struct("holder", 24, true, {{"u", u, 0, 0}, {"bits", i, 32, 3}, {"more", i, 35, 5}, {"fn", fn, 64, 0}, {"s", s1, 128, 0}});  // 12
    b.add_enum("mode", 4, false, {{"READY", 7}, {"DONE", 8}});                                                                    // 13
    b.add_enum("mode", 4, false, {{"OFF", 0}});                                                                                   // 14
    return b;
}

// The body of the header in `compat`'s order, every named struct, union and enum rendered ahead when
// `ahead`.
std::string body(const btf& b, bool ahead, bpftool_compat compat) {
    std::string out;
    detail::c_dump_order order = detail::c_sorted_ids(b);
    if (compat == bpftool_compat::v7_1) {
        order.ids.clear();
        order.skip_first = false;
        for (std::uint32_t id = 1; id < b.type_count(); ++id) order.ids.push_back(id);
    }
    detail::c_prerender pre(b, compat);
    std::atomic<detail::c_prerender*> published{nullptr};
    if (ahead) {
        for (std::uint32_t id = 1; id < b.type_count(); ++id) {
            if (pre.renders(id)) REQUIRE(pre.render(id));
        }
        published.store(&pre);
    }
    detail::chunk_writer<std::string> w(out);
    detail::c_header_writer<std::string> d(b, w, compat);
    d.reserve_names();
    d.use_prerendered(&published);
    for (std::size_t k = 0; k < order.ids.size(); ++k) {
        if (k == 0 && order.skip_first) continue;
        d.dump_type(order.ids[k]);
    }
    if (compat == bpftool_compat::v7_5) d.emit_kfuncs();
    REQUIRE_FALSE(d.failed());
    w.flush();
    return out;
}

}  // namespace

TEST_CASE("c_prerender: definitions rendered ahead, names left to where they land") {
    const blob_builder bb = names_blob();
    auto b = btf::parse(bb.span());
    REQUIRE(b.has_value());
    detail::c_prerender pre(*b, bpftool_compat::v7_5);
    CHECK(pre.renders(3));
    CHECK_FALSE(pre.renders(8));  // anonymous: written inside its user
    CHECK_FALSE(pre.renders(4));
    CHECK_FALSE(pre.renders(2));  // anonymous enum: written inside its user
    CHECK(pre.renders(13));
    CHECK(pre.find(12) == nullptr);
    REQUIRE(pre.render(12));
    const detail::c_prerendered* d = pre.find(12);
    REQUIRE(d != nullptr);
    // No name is in the text; each has its place: holder, s_t (in the union), s and s_t (the
    // prototype's parameters), s.
    CHECK(d->text.find("holder") == std::string_view::npos);
    CHECK(d->text.find("s_t") == std::string_view::npos);
    CHECK(d->text.find("\tint bits: 3;") != std::string_view::npos);
    REQUIRE(d->name_count() == 5);
    CHECK(d->name(0).kind == detail::c_name_kind::type);
    CHECK(d->name(0).what == 12);
    CHECK(d->name(0).len == 6);  // "holder", and its hash: the writer counts it without reading it
    CHECK(d->name(0).hash == name_hash("holder"));
    CHECK(d->name(1).kind == detail::c_name_kind::ident);
    CHECK(d->name(1).what == 7);
    CHECK(d->text.substr(0, d->name(0).at) == "struct ");
}

TEST_CASE("c_prerender: the header copied from definitions rendered ahead is the header") {
    const blob_builder bb = names_blob();
    auto b = btf::parse(bb.span());
    REQUIRE(b.has_value());
    for (const bpftool_compat c : {bpftool_compat::v7_5, bpftool_compat::v7_1}) {
        CAPTURE(static_cast<int>(c));
        const std::string direct = body(*b, false, c), copied = body(*b, true, c);
        CHECK(direct.find("struct s___2 {") != std::string::npos);
        CHECK(direct.find("READY___2") != std::string::npos);
        CHECK(direct.find("READY___3 = ") != std::string::npos);  // the third READY: 7.1's enum mode, 7.5's s___2
        CHECK(direct.find("enum mode___2 {") != std::string::npos);
        CHECK(direct.find("s_t___2") != std::string::npos);
        CHECK(copied == direct);
    }
}

TEST_CASE("c_prerender: what the writer takes first is not rendered for it") {
    const blob_builder bb = names_blob();
    auto b = btf::parse(bb.span());
    REQUIRE(b.has_value());
    detail::c_prerender pre(*b, bpftool_compat::v7_1);
    // Not rendered yet: the writer takes it, and the renderer leaves it
    CHECK(pre.take(12) == nullptr);
    CHECK(pre.render(12));
    CHECK(pre.find(12) == nullptr);
    CHECK(pre.take(12) == nullptr);
    // Rendered first: the writer gets it
    REQUIRE(pre.render(13));
    const detail::c_prerendered* d = pre.find(13);
    REQUIRE(d != nullptr);
    CHECK(pre.take(13) == d);
    CHECK(d->name_count() == 3);  // mode, READY, DONE
    CHECK(d->name(1).kind == detail::c_name_kind::enumerator);
    CHECK(d->text.find(" = 7,") != std::string_view::npos);
}

TEST_CASE("c_prerender: a block is filled again once the writer has copied in all it holds") {
    // Four structs of 300 members: each definition is larger than a block (this BTF's blocks are
    // the smallest, 4 KiB), so each takes a block of its own.
    blob_builder bb(byte_order::little);
    const auto i = bb.add_int("int", 4, int_signed);  // 1
    std::vector<std::string> names;
    for (int k = 0; k < 300; ++k) names.push_back("member_" + std::to_string(k));
    std::vector<member_spec> members;
    for (std::uint32_t k = 0; k < names.size(); ++k) members.push_back({names[k], i, 32 * k, 0});
    for (const std::string_view s : {"a", "b", "c", "d"}) bb.builder().add_struct(s, 4 * 300, btf_builder::member_list(members));  // 2..5
    bb.rebuild();
    auto b = btf::parse(bb.span());
    REQUIRE(b.has_value());
    detail::c_prerender pre(*b, bpftool_compat::v7_1);
    const detail::c_prerendered* defs[4]{};
    std::string kept[3];  // a, b and c as rendered: their names differ (each ref holds its type's id)
    for (std::uint32_t k = 0; k < 3; ++k) {
        REQUIRE(pre.render(2 + k));
        defs[k] = pre.take(2 + k);
        REQUIRE(defs[k] != nullptr);
        kept[k] = std::string(defs[k]->text) + std::string(defs[k]->names);
    }
    CHECK(defs[0]->text.size() > 4096);
    // Nothing copied in yet: each in a block of its own, a and b untouched by what came after
    CHECK(defs[1]->text.data() != defs[0]->text.data());
    CHECK(defs[2]->text.data() != defs[0]->text.data());
    CHECK(defs[2]->text.data() != defs[1]->text.data());
    for (std::uint32_t k = 0; k < 3; ++k) CHECK(std::string(defs[k]->text) + std::string(defs[k]->names) == kept[k]);
    // a copied in: d takes its block, and b and c stay as they were
    const char* const a_place = defs[0]->text.data();
    detail::c_prerender::copied(*defs[0]);
    REQUIRE(pre.render(5));
    defs[3] = pre.take(5);
    REQUIRE(defs[3] != nullptr);
    CHECK(defs[3]->text.data() == a_place);
    CHECK(defs[3]->name(0).what == 5);
    for (std::uint32_t k = 1; k < 3; ++k) CHECK(std::string(defs[k]->text) + std::string(defs[k]->names) == kept[k]);
    // The text does not depend on where it was kept
    CHECK(defs[3]->text == defs[1]->text);
}
