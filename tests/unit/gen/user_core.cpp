// gen/user_core.hpp: kernel structs described in C++, their local BTF and CO-RE records built in
// constant evaluation, and their fields relocated by the engine: against a BTF of another layout
// (checked by hand), and against the running kernel (checked against a plain scan of its members).
#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "btfkit/gen/user_core.hpp"
#include "btfkit/targets/single_target.hpp"
#include "parsed.hpp"
#include "running_vmlinux.hpp"

namespace {

namespace bk = btfkit;
namespace bt = btfkit::testing;

constexpr bk::user_field task_fields[] = {{"tgid", 4, true}, {"pid", 4, true}, {"btfkit_no_such_field", 8}};
constexpr bk::user_field file_fields[] = {{"f_flags", 4}};
constexpr bk::user_struct structs[] = {{"task_struct", task_fields}, {"file", file_fields}};

// The compile-time half: the local BTF parses back with the structs' fields where C would put them,
// and .BTF.ext holds four records per field.
constexpr bool builds_at_compile_time() {
    auto img = bk::build_user_core(structs, bk::byte_order::little);
    if (!img || img->fields != 4 || img->insns.size() != 4 * 4 * 8) return false;
    auto b = bk::btf::parse(bk::byte_span(img->btf.data(), img->btf.size()));
    if (!b) return false;
    std::uint32_t found = 0;
    for (std::uint32_t id = 1; id < b->type_count(); ++id) {
        const bk::type t = (*b)[id];
        if (t.kind() == bk::kind::struct_ && t.name() == "task_struct") {
            const auto m = t.members();
            found += m.size() == 3 && m[0].bit_offset == 0 && m[1].bit_offset == 32 && m[2].bit_offset == 64 && t.size() == 16;
        }
    }
    auto x = bk::btf_ext::parse(bk::byte_span(img->btf_ext.data(), img->btf_ext.size()), *b);
    return found == 1 && x && x->core_relo_count() == 16;
}
static_assert(builds_at_compile_time());
constexpr bk::user_field odd_field[] = {{"x", 3}};
constexpr bk::user_struct odd[] = {{"s", odd_field}};
static_assert(!bk::build_user_core(odd).has_value());  // 3 bytes is no integer size
static_assert(bk::read_field(std::string_view("\x01\x00\xff\xff", 4), {true, 2, 2, true}) == -1);
static_assert(bk::read_field(std::string_view("\x01\x00\xff\xff", 4), {true, 2, 2, false}) == 0xffff);
static_assert(bk::read_field(std::string_view("\x01\x00", 2), {true, 1, 4, false}) == 0);  // past the bytes
static_assert(bk::read_field(std::string_view("\x01\x00", 2), {false, 0, 1, false}) == 0);  // not in the kernel

}  // namespace

TEST_CASE("user_core: fields relocated against a BTF of another layout") {
    auto img = bk::build_user_core(structs);
    REQUIRE_MESSAGE(img.has_value(), img.error().message());
    bk::btf_builder t;
    const std::uint32_t i32 = t.add_int("int", 4, bk::int_signed), u64 = t.add_int("long unsigned int", 8, 0), u32 = t.add_int("unsigned int", 4, 0);
    t.add_struct("task_struct", 64, {{"state", u64, 0}, {"pid", i32, 256}, {"tgid", i32, 288}});
    t.add_struct("file", 32, {{"f_mode", u32, 0}, {"f_flags", u32, 96}});
    auto tb = t.encode();
    REQUIRE(tb.has_value());
    const bk::btf target = bt::parse_or_fail(*tb);
    bk::single_target src(target);
    bk::relocation_scratch scratch;
    std::vector<bk::field_location> at;
    auto st = bk::relocate_user_core(*img, src, scratch, at);
    REQUIRE_MESSAGE(st.has_value(), st.error().message());
    REQUIRE(at.size() == 4);
    CHECK(at[0].exists);
    CHECK(at[0].offset == 36);  // tgid
    CHECK(at[0].size == 4);
    CHECK(at[0].is_signed);
    CHECK(at[1].offset == 32);  // pid
    CHECK_FALSE(at[2].exists);  // the kernel lacks it
    CHECK(at[3].offset == 12);  // f_flags
    CHECK_FALSE(at[3].is_signed);
    // Raw bytes as the kernel lays them out.
    std::array<char, 64> task{};
    task[32] = 7;
    task[36] = static_cast<char>(0xfe);
    task[37] = task[38] = task[39] = static_cast<char>(0xff);
    CHECK(bk::read_field(task, at[1]) == 7);
    CHECK(bk::read_field(task, at[0]) == -2);
    CHECK(bk::read_field(task, at[2]) == 0);
}

TEST_CASE("user_core: the running kernel's offsets, as its BTF lays out the members") {
    const auto v = bt::running_vmlinux_or_skip();
    if (!v) return;
    const bk::btf& k = *v->types;
    auto img = bk::build_user_core(structs);
    REQUIRE(img.has_value());
    bk::single_target src(k);
    bk::relocation_scratch scratch;
    std::vector<bk::field_location> at;
    REQUIRE(bk::relocate_user_core(*img, src, scratch, at).has_value());
    const auto member_offset = [&](std::string_view s, std::string_view m) -> std::int64_t {
        const bk::type t = k[bt::scan_id(k, s, bk::kind::struct_)];
        for (const auto& x : t.members()) {
            if (k.string(x.name_off) == m) return x.bit_offset / 8;
        }
        return -1;
    };
    CHECK(at[0].offset == member_offset("task_struct", "tgid"));
    CHECK(at[1].offset == member_offset("task_struct", "pid"));
    CHECK(at[0].size == 4);
    CHECK_FALSE(at[2].exists);
    CHECK(at[3].offset == member_offset("file", "f_flags"));
}
