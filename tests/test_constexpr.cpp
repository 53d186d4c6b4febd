// The core parses in constant evaluation: every check here is a static_assert, repeated at run time.
#include <doctest/doctest.h>

#include "btfkit.hpp"
#include "blob_builder.hpp"

namespace {

using namespace btfkit;
using testing::blob_builder;

// struct s { int a; unsigned b:3; }; typedef struct s s_t; const s_t *p;
constexpr auto small_blob(byte_order order) {
    blob_builder b(order);
    const auto int_id = b.add_int("int", 4, int_signed);
    const auto uint_id = b.add_int("unsigned int", 4, 0);
    const auto s_id = b.add_struct("s", 8, true, {{"a", int_id, 0, 0}, {"b", uint_id, 32, 3}});
    const auto td = b.add_ref(kind::typedef_, "s_t", s_id);
    const auto c = b.add_ref(kind::const_, "", td);
    b.add_ref(kind::ptr, "", c);
    return b;
}

constexpr bool parses_small_blob(byte_order order) {
    const auto b = small_blob(order);
    const auto r = btf::parse(b.span());
    if (!r) return false;
    const btf& t = *r;
    if (t.type_count() != 7 || t.order() != order) return false;
    const type s = t[3];
    if (!s.is(kind::struct_) || s.name() != "s" || s.size() != 8 || s.vlen() != 2) return false;
    const member m1 = s.members()[1];
    if (t.string(m1.name_off) != "b" || m1.bit_offset != 32 || m1.bitfield_size != 3) return false;
    const auto skipped = t.skip_mods_and_typedefs(5);
    if (!skipped || skipped->id() != 3) return false;
    const auto sz = t.resolve_size(4);
    return sz && *sz == 8;
}

static_assert(parses_small_blob(byte_order::little));
static_assert(parses_small_blob(byte_order::big));

constexpr bool rejects_truncation() {
    const auto b = small_blob(byte_order::little);
    for (std::size_t n = 0; n < b.size(); ++n) {
        if (btf::parse(b.span().first(n))) return false;
    }
    return true;
}
static_assert(rejects_truncation());

constexpr errc error_of_bad_member_type() {
    blob_builder b(byte_order::little);
    b.add_struct("s", 4, false, {{"a", 99, 0, 0}});
    return btf::parse(b.span()).error().code;
}
static_assert(error_of_bad_member_type() == errc::bad_type_id);

constexpr errc error_of_typedef_loop() {
    blob_builder b(byte_order::little);
    b.add_ref(kind::typedef_, "a", 2);
    b.add_ref(kind::const_, "", 1);
    const auto r = btf::parse(b.span());
    if (!r) return errc::ok;
    return r->skip_mods_and_typedefs(1).error().code;
}
static_assert(error_of_typedef_loop() == errc::type_loop);

}  // namespace

TEST_CASE("constexpr checks hold at run time too") {
    CHECK(parses_small_blob(byte_order::little));
    CHECK(parses_small_blob(byte_order::big));
    CHECK(rejects_truncation());
    CHECK(error_of_bad_member_type() == errc::bad_type_id);
    CHECK(error_of_typedef_loop() == errc::type_loop);
}

TEST_CASE("errors name the place") {
    blob_builder b(byte_order::little);
    b.add_int("int", 4, int_signed);
    b.add_struct("s", 4, false, {{"a", 1, 0, 0}, {"b", 99, 0, 0}});
    const auto r = btf::parse(b.span());
    REQUIRE_FALSE(r);
    const std::string msg = r.error().message();
    CHECK(msg.find("type #2") != std::string::npos);
    CHECK(msg.find("member 1") != std::string::npos);
    CHECK(msg.find("got 99") != std::string::npos);
}
