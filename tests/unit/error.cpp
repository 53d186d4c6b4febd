// error.hpp: errors as values that say what and where and own the name of their subject; result<T>,
// status and BTFKIT_TRY.
#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "btfkit/error.hpp"

namespace {

using namespace btfkit;

constexpr result<int> half(int v) {
    if (v % 2 != 0) return error(errc::out_of_range, "odd value").got(static_cast<std::uint64_t>(v));
    return v / 2;
}
// Halves twice; the first failure is passed on unchanged.
constexpr result<int> quarter(int v) {
    BTFKIT_TRY(half(v));
    BTFKIT_TRY(half(v / 2));
    return v / 4;
}
static_assert(quarter(8).value() == 2);
static_assert(quarter(6).error().code == errc::out_of_range && quarter(6).error().where.value == 3);
static_assert(to_string(errc::bad_type_id) == "bad type id");

}  // namespace

TEST_CASE("error: the message says where, then what, then the code") {
    const error e = error(errc::bad_type_id, "refers to a type past the end").at_type(4711).at_index("member", 3).got(999999).limit(120504);
    CHECK(e.message() == "type #4711: member 3: refers to a type past the end (got 999999, limit 120504) [bad type id]");
    CHECK(e.about("vmlinux").message() == "vmlinux: type #4711: member 3: refers to a type past the end (got 999999, limit 120504) [bad type id]");
    CHECK(error(errc::truncated, "header cut").in_section(".BTF.ext").at_offset(12).message() == "section .BTF.ext at offset 12: header cut [truncated]");
    CHECK(error(errc::truncated, "header cut").at_offset(12).message() == "offset 12: header cut [truncated]");
    CHECK(error(errc::io, "cannot open file").limit(7).message() == "cannot open file (limit 7) [I/O error]");
    CHECK(error(errc::not_found, "no such name").message() == "no such name [not found]");
    CHECK(e.has(location::f_type));
    CHECK_FALSE(e.has(location::f_section));
}

TEST_CASE("error: about() copies its subject, so the error outlives the caller's string") {
    error e;
    {
        std::string name = "module xfs";
        e = error(errc::io, "cannot read").about(name);
        name.assign(name.size(), '#');
    }
    CHECK(e.subject.view() == "module xfs");
    const error copy = e;
    e = error{};
    CHECK(copy.message() == "module xfs: cannot read [I/O error]");
    CHECK(e.subject.empty());
}

TEST_CASE("error: result, status and BTFKIT_TRY") {
    const result<int> ok = quarter(12);
    REQUIRE(ok.has_value());
    CHECK(*ok == 3);
    CHECK(ok.value_or(-1) == 3);
    const result<int> bad = quarter(10);  // 10 -> 5: odd
    CHECK_FALSE(bad);
    CHECK(bad.value_or(-1) == -1);
    CHECK(bad.error().where.value == 5);
    const status fine{};
    CHECK(fine.has_value());
    const status failed = error(errc::unsupported, "version 2");
    CHECK_FALSE(failed.has_value());
    CHECK(failed.error().code == errc::unsupported);
    for (int c = 0; c <= static_cast<int>(errc::io); ++c) CHECK(to_string(static_cast<errc>(c)) != "unknown error");
}
