// Counts the global allocator's calls: `allocations` goes up by one per operator new. Include it in
// exactly one file of a test executable, since it replaces the global operator new and delete.
#pragma once

#include <atomic>
#include <cstdlib>
#include <new>

namespace btfkit::testing {
inline std::atomic<std::size_t> allocations{0};
}

// The replacements pair malloc with free; GCC cannot see that operator new is malloc here.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

void* operator new(std::size_t n) {
    btfkit::testing::allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
