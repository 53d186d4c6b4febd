// Helper threads for the parallel strategies: a helper that passes on its exception, run_both, and
// the placement of a helper on a CPU, which a caller may turn on (os/tuning.hpp).
#pragma once

#include <cstddef>
#include <exception>
#include <system_error>
#include <thread>
#include <utility>

namespace btfkit {

// How helper threads are placed: `place` runs in the creator right after a helper starts, `placed`
// first thing in the helper. Null (the default): wherever the OS puts them.
struct thread_placement {
    void (*place)(std::thread&) noexcept = nullptr;
    void (*placed)() noexcept = nullptr;
};

namespace detail {

inline thread_placement helper_placement{};

// Fewer modules than this are not worth a second thread (starting it, and its fresh memory).
inline constexpr std::size_t thread_min_modules = 24;

template <class F>
std::thread start_helper(F&& f) {
    std::thread t([f = std::forward<F>(f)]() mutable {
        if (helper_placement.placed != nullptr) helper_placement.placed();
        f();
    });
    if (helper_placement.place != nullptr) helper_placement.place(t);
    return t;
}

// A helper thread, if one can be started: join() waits for it and passes on its exception
// (std::bad_alloc); the destructor waits too (when the caller's share throws), dropping it.
// Without exceptions, a thread that cannot be started ends the process, as any failed allocation.
class helper_thread {
public:
    helper_thread() = default;
    helper_thread(const helper_thread&) = delete;
    helper_thread& operator=(const helper_thread&) = delete;
    ~helper_thread() {
        if (t_.joinable()) t_.join();
    }
    // Starts f on the helper; false (and nothing runs) where no thread can be started.
    template <class F>
    bool start(F&& f) {
#if defined(__cpp_exceptions)
        try {
            t_ = start_helper([this, f = std::forward<F>(f)]() mutable {
                try {
                    f();
                } catch (...) {
                    failed_ = std::current_exception();
                }
            });
        } catch (const std::system_error&) {
            return false;
        }
#else
        t_ = start_helper(std::forward<F>(f));
#endif
        return true;
    }
    [[nodiscard]] bool started() const noexcept { return t_.joinable(); }
    void join() {
        if (t_.joinable()) t_.join();
#if defined(__cpp_exceptions)
        if (failed_) std::rethrow_exception(std::exchange(failed_, nullptr));
#endif
    }

private:
    std::thread t_{};
#if defined(__cpp_exceptions)
    std::exception_ptr failed_{};
#endif
};

// Runs `first` here and `second` on another thread, and waits for both; where no thread can be
// started, runs `second` here after `first`. An exception from either (std::bad_alloc) reaches the
// caller once both have stopped.
template <class First, class Second>
void run_both(First&& first, Second&& second) {
    helper_thread other;
    const bool started = other.start(second);
    first();
    other.join();
    if (!started) second();
}

}  // namespace detail

// Places helper threads from now on (process-wide); {} for the OS's default.
inline void set_thread_placement(thread_placement p) noexcept { detail::helper_placement = p; }

}  // namespace btfkit
