// targets/prefetch_plan.hpp: how prefetch(names) prepares lookups, a pure decision over the target
// set's state: a name pass where no module index exists (or will be wanted whole), else the index.
#include <doctest/doctest.h>

#include "btfkit/targets/prefetch_plan.hpp"

namespace {

using btfkit::plan_prefetch;
using btfkit::prefetch_plan;
using btfkit::prefetch_state;

// A set with modules and a loader, nothing built or opened yet.
constexpr prefetch_state fresh() {
    prefetch_state s;
    s.has_modules = true;
    s.can_read = true;
    return s;
}

bool same(const prefetch_plan& a, const prefetch_plan& b) {
    return a.pass == b.pass && a.pass_modules == b.pass_modules && a.open_listed == b.open_listed;
}

static_assert(plan_prefetch(fresh()).pass_modules);

}  // namespace

TEST_CASE("plan_prefetch: a fresh set takes one pass over vmlinux and the modules, and opens nothing listed") {
    CHECK(same(plan_prefetch(fresh()), {true, true, false}));
    prefetch_state indexed = fresh();
    indexed.vmlinux_indexed = true;
    CHECK(same(plan_prefetch(indexed), {true, true, false}));  // the modules still need the pass
}

TEST_CASE("plan_prefetch: a module index (built, borrowed or wanted whole) or open modules rule out the pass") {
    for (int why = 0; why < 4; ++why) {
        CAPTURE(why);
        prefetch_state s = fresh();
        if (why == 0) s.module_index = true;
        if (why == 1) s.wants_whole_index = true;
        if (why == 2) s.any_opened = true;
        if (why == 3) s.can_read = false;
        // vmlinux without an index is still scanned for the names, unless indexes are wanted whole
        // (for a cache: the lookups then build vmlinux's, to be saved); the modules come from the index.
        CHECK(same(plan_prefetch(s), {why != 1, false, true}));
        s.vmlinux_indexed = true;
        CHECK(same(plan_prefetch(s), {false, false, true}));
    }
}

TEST_CASE("plan_prefetch: without modules, only vmlinux; names a pass answered need nothing") {
    prefetch_state none;
    CHECK(same(plan_prefetch(none), {true, false, false}));
    none.vmlinux_indexed = true;
    CHECK(same(plan_prefetch(none), {false, false, false}));
    prefetch_state covered = fresh();
    covered.names_covered = true;
    CHECK(same(plan_prefetch(covered), {false, false, false}));
    // A pass already ran for other names: no second pass, the modules through the index.
    prefetch_state passed = fresh();
    passed.has_pass = true;
    CHECK(same(plan_prefetch(passed), {false, false, true}));
}
