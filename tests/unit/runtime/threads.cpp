// runtime/threads.hpp: helper threads that pass on their exception, run_both, and helper placement,
// which is off unless a caller sets it.
#include <doctest/doctest.h>

#include <atomic>
#include <new>
#include <thread>

#include "btfkit/runtime/threads.hpp"

namespace {

std::atomic<int> placed_calls{0}, place_calls{0};
void count_place(std::thread&) noexcept { ++place_calls; }
void count_placed() noexcept { ++placed_calls; }

// Restores the OS's placement when a test ends.
struct placement_reset {
    ~placement_reset() { btfkit::set_thread_placement({}); }
};

}  // namespace

TEST_CASE("run_both: both run, the second on another thread, and both have ended on return") {
    std::thread::id first_on, second_on;
    std::atomic<bool> second_done{false};
    btfkit::detail::run_both([&] { first_on = std::this_thread::get_id(); },
                             [&] {
                                 second_on = std::this_thread::get_id();
                                 second_done = true;
                             });
    CHECK(second_done);
    CHECK(first_on == std::this_thread::get_id());
    CHECK(second_on != first_on);
}

TEST_CASE("run_both and helper_thread: an exception on the helper reaches the caller once both stopped") {
    bool first_ran = false;
    CHECK_THROWS_AS(btfkit::detail::run_both([&] { first_ran = true; }, [] { throw std::bad_alloc(); }), std::bad_alloc);
    CHECK(first_ran);
    btfkit::detail::helper_thread h;
    CHECK_FALSE(h.started());
    int value = 0;
    REQUIRE(h.start([&] { value = 42; }));
    CHECK(h.started());
    h.join();
    CHECK(value == 42);
    CHECK_FALSE(h.started());
    btfkit::detail::helper_thread failing;
    REQUIRE(failing.start([] { throw std::bad_alloc(); }));
    CHECK_THROWS_AS(failing.join(), std::bad_alloc);
    CHECK_NOTHROW(failing.join());  // passed on once
}

TEST_CASE("thread_placement: nothing by default; once set, called for every helper; {} turns it off") {
    const placement_reset reset;
    place_calls = placed_calls = 0;
    btfkit::detail::run_both([] {}, [] {});
    CHECK(place_calls == 0);
    CHECK(placed_calls == 0);
    btfkit::set_thread_placement({&count_place, &count_placed});
    btfkit::detail::run_both([] {}, [] {});
    btfkit::detail::helper_thread h;
    REQUIRE(h.start([] {}));
    h.join();
    CHECK(place_calls == 2);
    CHECK(placed_calls == 2);  // in the helper, before its work: joined, so counted
    btfkit::set_thread_placement({});
    btfkit::detail::run_both([] {}, [] {});
    CHECK(place_calls == 2);
}
