// Counts every heap allocation of the process: malloc and friends are interposed (so libbpf, libelf
// and libstdc++ are seen too) and forward to glibc's own entry points; global operator new/delete
// are replaced to go through them.
#include <malloc.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <new>

#include "bench_support.hpp"

extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void __libc_free(void*);
}

namespace {

std::atomic<std::uint64_t> g_allocs{0}, g_frees{0};
std::atomic<std::int64_t> g_live{0}, g_peak{0};

void on_alloc(void* p) noexcept {
    if (p == nullptr) return;
    g_allocs.fetch_add(1, std::memory_order_relaxed);
    const auto n = static_cast<std::int64_t>(::malloc_usable_size(p));
    const std::int64_t live = g_live.fetch_add(n, std::memory_order_relaxed) + n;
    std::int64_t peak = g_peak.load(std::memory_order_relaxed);
    while (live > peak && !g_peak.compare_exchange_weak(peak, live, std::memory_order_relaxed)) {
    }
}

void on_free(void* p) noexcept {
    if (p == nullptr) return;
    g_frees.fetch_add(1, std::memory_order_relaxed);
    g_live.fetch_sub(static_cast<std::int64_t>(::malloc_usable_size(p)), std::memory_order_relaxed);
}

}  // namespace

namespace bench {
alloc_snapshot allocations() noexcept {
    return {g_allocs.load(std::memory_order_relaxed), g_frees.load(std::memory_order_relaxed),
            g_live.load(std::memory_order_relaxed), g_peak.load(std::memory_order_relaxed)};
}
void reset_peak() noexcept { g_peak.store(g_live.load(std::memory_order_relaxed), std::memory_order_relaxed); }
}  // namespace bench

extern "C" {

void* malloc(std::size_t n) {
    void* p = __libc_malloc(n);
    on_alloc(p);
    return p;
}
void* calloc(std::size_t n, std::size_t m) {
    void* p = __libc_calloc(n, m);
    on_alloc(p);
    return p;
}
void* realloc(void* old, std::size_t n) {
    if (old == nullptr) return malloc(n);
    const auto before = static_cast<std::int64_t>(::malloc_usable_size(old));
    void* p = __libc_realloc(old, n);
    if (p == nullptr && n != 0) return nullptr;  // failed: the old block is untouched
    g_frees.fetch_add(1, std::memory_order_relaxed);  // the old block is gone (freed, or resized into p)
    g_live.fetch_sub(before, std::memory_order_relaxed);
    on_alloc(p);  // a resize counts as one allocation
    return p;
}
void* reallocarray(void* old, std::size_t n, std::size_t m) {
    std::size_t bytes = 0;
    if (__builtin_mul_overflow(n, m, &bytes)) {
        errno = ENOMEM;
        return nullptr;
    }
    return realloc(old, bytes);
}
void free(void* p) {
    on_free(p);
    __libc_free(p);
}
void* memalign(std::size_t a, std::size_t n) {
    void* p = __libc_memalign(a, n);
    on_alloc(p);
    return p;
}
void* aligned_alloc(std::size_t a, std::size_t n) { return memalign(a, n); }
int posix_memalign(void** out, std::size_t a, std::size_t n) {
    if (a < sizeof(void*) || (a & (a - 1)) != 0) return EINVAL;
    void* p = memalign(a, n);
    if (p == nullptr) return ENOMEM;
    *out = p;
    return 0;
}
void* valloc(std::size_t n) { return memalign(4096, n); }
void* pvalloc(std::size_t n) { return memalign(4096, (n + 4095) & ~std::size_t{4095}); }

}  // extern "C"

void* operator new(std::size_t n) {
    if (void* p = malloc(n == 0 ? 1 : n)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return ::operator new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return malloc(n == 0 ? 1 : n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return malloc(n == 0 ? 1 : n); }
void operator delete(void* p) noexcept { free(p); }
void operator delete[](void* p) noexcept { free(p); }
void operator delete(void* p, std::size_t) noexcept { free(p); }
void operator delete[](void* p, std::size_t) noexcept { free(p); }
