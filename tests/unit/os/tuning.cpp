// os/tuning.hpp: the tunings a caller turns on (BTFKIT_TUNING's words), and that apply_tuning turns
// on those and off the others.
#include <doctest/doctest.h>

#include <string_view>

#include "btfkit/memory.hpp"
#include "btfkit/os/tuning.hpp"
#include "btfkit/runtime/threads.hpp"

namespace {

using namespace btfkit;

bool same(const os_tuning& a, const os_tuning& b) {
    return a.prefault == b.prefault && a.huge_pages == b.huge_pages && a.populate_halves == b.populate_halves &&
           a.place_helpers == b.place_helpers;
}

// Turns everything off again when a test ends.
struct tuning_reset {
    ~tuning_reset() { apply_tuning({false, false, false, false}); }
};

}  // namespace

TEST_CASE("parse_tuning: all, none, or the words listed") {
    CHECK(same(parse_tuning("all").value(), {true, true, true, true}));
    CHECK(same(parse_tuning("none").value(), {false, false, false, false}));
    CHECK(same(parse_tuning("").value(), {false, false, false, false}));
    CHECK(same(parse_tuning("prefault,place_helpers").value(), {true, false, false, true}));
    CHECK(same(parse_tuning("huge_pages").value(), {false, true, false, false}));
    CHECK(same(parse_tuning("populate_halves,populate_halves").value(), {false, false, true, false}));
    const auto bad = parse_tuning("prefault,hugepages");
    REQUIRE_FALSE(bad.has_value());
    CHECK(bad.error().code == errc::not_found);
    CHECK(bad.error().subject.view() == "hugepages");
    CHECK_FALSE(parse_tuning("all,prefault").has_value());  // "all" is a whole value, not a word
}

TEST_CASE("apply_tuning: the hooks of the tunings on, and none of the others") {
    const tuning_reset reset;
    apply_tuning(parse_tuning("prefault").value());
    CHECK((detail::memory.prefault != nullptr));
    CHECK_FALSE(detail::memory.huge_blocks);
    CHECK((detail::memory.populate == nullptr));
    CHECK((detail::helper_placement.place == nullptr));
    apply_tuning(parse_tuning("all").value());
    CHECK(detail::memory.huge_blocks);
    CHECK((detail::memory.populate != nullptr));
    CHECK((detail::helper_placement.place != nullptr));
    CHECK((detail::helper_placement.placed != nullptr));
    apply_tuning(parse_tuning("none").value());
    CHECK((detail::memory.prefault == nullptr));
    CHECK_FALSE(detail::memory.huge_blocks);
    CHECK((detail::memory.populate == nullptr));
    CHECK((detail::helper_placement.place == nullptr));
    CHECK((detail::helper_placement.placed == nullptr));
}
