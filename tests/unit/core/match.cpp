// core/match.hpp: stage 2 of CO-RE, a local spec matched against one candidate (match_spec), here
// the FWD extension at that stage.
#include <doctest/doctest.h>

#include "btfkit/core/match.hpp"
#include "btfkit/core/spec.hpp"
#include "core_object.hpp"
#include "loaded.hpp"

namespace {

namespace bk = btfkit;
namespace bt = btfkit::testing;
using bk::relo_kind;
using bt::load;
using bt::parse_btf;

}  // namespace

TEST_CASE("relocate: the FWD extension at the matching stage") {
    const auto le = bk::byte_order::little;
    const bt::scenario sc = bt::fwd::make(le, false);
    const auto obj = load(sc.object);
    const auto target = parse_btf(sc.target);
    const bk::btf& local = obj->obj.btf();
    for (const relo_kind k : {relo_kind::type_exists, relo_kind::type_id_target, relo_kind::type_matches}) {
        CAPTURE(bk::relo_kind_name(k));
        bk::core_spec ls, ts;
        REQUIRE(bk::parse_spec(local, bt::fwd::local_foo, "0", k, ls).has_value());
        auto on = bk::match_spec(ls, target->b, bt::fwd::target_struct_foo(false), ts, {true});
        auto off = bk::match_spec(ls, target->b, bt::fwd::target_struct_foo(false), ts, {false});
        REQUIRE(on.has_value());
        REQUIRE(off.has_value());
        CHECK(*on);
        CHECK_FALSE(*off);
        // FWD union bar against STRUCT foo: never.
        REQUIRE(bk::parse_spec(local, bt::fwd::local_bar, "0", k, ls).has_value());
        auto wrong = bk::match_spec(ls, target->b, bt::fwd::target_struct_foo(false), ts, {true});
        REQUIRE(wrong.has_value());
        CHECK_FALSE(*wrong);
        // Local STRUCT baz against target FWD baz (id 4): never, with or without the extension.
        REQUIRE(bk::parse_spec(local, bt::fwd::local_baz, "0", k, ls).has_value());
        for (const bool ext : {true, false}) {
            auto rev = bk::match_spec(ls, target->b, 4, ts, {ext});
            REQUIRE(rev.has_value());
            CHECK_FALSE(*rev);
        }
    }
}
