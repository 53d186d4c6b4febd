// index/module_index.hpp: every module's names in one table, bucketed by hash and kept in module
// order; borrowed tables checked whole; and index_module, the walk that lists a module's entries.
#include <doctest/doctest.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "blob_builder.hpp"
#include "btfkit/format/btf.hpp"
#include "btfkit/index/module_index.hpp"

namespace {

using namespace btfkit;
using testing::blob_builder;

std::vector<std::uint32_t> entries_of(const module_index& x, std::uint32_t h) {
    std::vector<std::uint32_t> out;
    x.for_each(h, [&](std::uint32_t e) { out.push_back(e); });
    return out;
}

// The tables as an index cache stores them: little-endian u32s.
std::vector<char> le_bytes(const detail::u32_table& t) {
    std::vector<char> out(4 * t.size());
    for (std::size_t i = 0; i < t.size(); ++i) detail::store<std::uint32_t>(out.data() + 4 * i, t[i], byte_order::little);
    return out;
}

static_assert(module_entry::module_of(module_entry::pack(3, 77)) == 3 && module_entry::local_of(module_entry::pack(3, 77)) == 77);

}  // namespace

TEST_CASE("module_index: a hash's entries in module order, whichever part each module was in") {
    const std::uint32_t a = name_hash("a"), b = name_hash("b");
    // Modules 0 and 2 in one part, 1 and 3 in the other (the two index threads take every other module).
    std::vector<big_vector<std::uint32_t>> parts(2);
    parts[0] = {a, module_entry::pack(0, 5), b, module_entry::pack(0, 6), a, module_entry::pack(2, 1)};
    parts[1] = {a, module_entry::pack(1, 9), b, module_entry::pack(3, 2)};
    const module_index x = module_index::build(4, parts);
    CHECK(x.entries() == 5);
    CHECK((x.buckets() & (x.buckets() - 1)) == 0);
    CHECK(entries_of(x, a) == std::vector<std::uint32_t>{module_entry::pack(0, 5), module_entry::pack(1, 9), module_entry::pack(2, 1)});
    CHECK(entries_of(x, b) == std::vector<std::uint32_t>{module_entry::pack(0, 6), module_entry::pack(3, 2)});
    CHECK(entries_of(x, name_hash("c")).empty());
    CHECK(entries_of(module_index{}, a).empty());

    // Borrowed from its own bytes: the same answers; a bad shape is an error naming what is wrong.
    const std::vector<char> starts = le_bytes(x.starts()), pairs = le_bytes(x.pairs());
    auto borrowed = module_index::borrow(starts.data(), x.buckets(), pairs.data(), x.entries());
    REQUIRE_MESSAGE(borrowed.has_value(), borrowed.error().message());
    CHECK(entries_of(*borrowed, a) == entries_of(x, a));
    CHECK(borrowed->memory_bytes() == 0);
    const auto odd = module_index::borrow(starts.data(), 3, pairs.data(), x.entries());
    REQUIRE_FALSE(odd.has_value());
    CHECK(odd.error().code == errc::bad_header);
    const auto short_count = module_index::borrow(starts.data(), x.buckets(), pairs.data(), x.entries() - 1);
    REQUIRE_FALSE(short_count.has_value());
    CHECK(short_count.error().has(location::f_index));
}

TEST_CASE("index_module: a module's named types of indexed kinds, over its base, by essential-name hash") {
    blob_builder base(byte_order::little);
    base.add_int("int", 4, int_signed);  // 1
    auto vmlinux = btf::parse(base.span());
    REQUIRE(vmlinux.has_value());
    blob_builder mod(byte_order::little, vmlinux->type_count(), vmlinux->strings_size());
    mod.add_struct("xfs_mount", 4, false, {{"m", 1, 0, 0}});  // 2
    mod.add_ref(kind::ptr, "", 2);                            // 3: anonymous
    mod.add_var("xfs_var", 1, 1);                             // 4: not an indexed kind
    mod.add_ref(kind::typedef_, "xfs_t___old", 2);            // 5
    std::vector<std::pair<std::uint32_t, std::uint32_t>> got;
    const status st = index_module(7, mod.span(), &*vmlinux, vmlinux->type_count(), name_space::types, [&](std::uint32_t h, std::uint32_t e) { got.emplace_back(h, e); });
    REQUIRE_MESSAGE(st.has_value(), st.error().message());
    const std::vector<std::pair<std::uint32_t, std::uint32_t>> want{{name_hash("xfs_mount"), module_entry::pack(7, 0)},
                                                                    {name_hash("xfs_t"), module_entry::pack(7, 3)}};
    CHECK(got == want);
    // Over the base's strings alone (base_strings): own indexes count from 0, the same entries.
    auto strings = base_strings::of(base.span());
    REQUIRE(strings.has_value());
    got.clear();
    REQUIRE(index_module(7, mod.span(), *strings, 0, name_space::types, [&](std::uint32_t h, std::uint32_t e) { got.emplace_back(h, e); }).has_value());
    CHECK(got == want);
    // A cut module is an error, and nothing half-listed is the caller's problem.
    const status cut = index_module(7, mod.span().first(mod.size() - 3), &*vmlinux, vmlinux->type_count(), name_space::types, [](std::uint32_t, std::uint32_t) {});
    CHECK_FALSE(cut.has_value());
}
