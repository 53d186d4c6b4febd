// OS tuning a caller turns on (nothing here runs unless asked): fresh memory backed in one call and
// in huge pages, file mappings mapped in by halves, helper threads started on another CPU.
#pragma once

#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <thread>

#include "../error.hpp"
#include "../memory.hpp"
#include "../runtime/threads.hpp"

namespace btfkit {

namespace detail {
// Fresh memory for n bytes at p (see big_allocator): each whole 2 MiB of it (2 MiB-aligned by
// big_allocator, which passes its huge blocks whole) is marked for transparent huge pages, to take one
// fault per 2 MiB on first touch instead of 512; the rest (a block under 2 MiB) is populated in one
// madvise call instead of one fault per page. The huge part is not populated: that would hold the
// process's mmap lock while it zeroes megabytes, stalling any other thread's mmap, while a fault
// takes only its region's lock.
inline void os_prefault(void* p, std::size_t n) noexcept {
#ifdef MADV_POPULATE_WRITE
    constexpr std::size_t page = 4096, huge = huge_block_bytes;
    const auto a = std::bit_cast<std::uintptr_t>(p);
    const std::uintptr_t lo = (a + page - 1) & ~(page - 1), hi = (a + n) & ~(page - 1);
    std::uintptr_t hlo = (a + huge - 1) & ~(huge - 1), hhi = (a + n) & ~(huge - 1);
    if (hhi > hlo) {
        (void)::madvise(std::bit_cast<void*>(hlo), hhi - hlo, MADV_HUGEPAGE);
    } else {
        hlo = hhi = lo;
    }
    if (hlo > lo) (void)::madvise(std::bit_cast<void*>(lo), hlo - lo, MADV_POPULATE_WRITE);
    if (hi > hhi) (void)::madvise(std::bit_cast<void*>(hhi), hi - hhi, MADV_POPULATE_WRITE);
#else
    (void)p;
    (void)n;
#endif
}

// Maps in the pages of [p, p + n) of a file mapping (memory_tuning::populate); where it cannot, the pages
// are faulted in when read.
inline void os_populate_read(const void* p, std::size_t n) noexcept {
#ifdef MADV_POPULATE_READ
    constexpr std::uintptr_t page = 4096;
    const auto a = std::bit_cast<std::uintptr_t>(p);
    const std::uintptr_t lo = a & ~(page - 1), hi = (a + n + page - 1) & ~(page - 1);
    if (n != 0) (void)::madvise(std::bit_cast<void*>(lo), hi - lo, MADV_POPULATE_READ);
#else
    (void)p;
    (void)n;
#endif
}

// A scheduler may keep a new thread on its creator's CPU until the creator sleeps (some hypervisors'
// guest kernels do, to spare waking an idle vCPU): a helper meant to run beside its creator then
// starts when the creator's share is done. So a helper starts pinned to another allowed CPU, and once
// running it may go anywhere the process may (the main thread's affinity).
inline void os_place_helper(std::thread& t) noexcept {
    cpu_set_t allowed;
    const int here = ::sched_getcpu();
    if (here < 0 || ::sched_getaffinity(0, sizeof(allowed), &allowed) != 0) return;
    for (int step = 1; step < CPU_SETSIZE; ++step) {  // the next allowed CPU after this one
        const int c = (here + step) % CPU_SETSIZE;
        if (!CPU_ISSET(c, &allowed)) continue;
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(c, &one);
        (void)::pthread_setaffinity_np(t.native_handle(), sizeof(one), &one);
        return;
    }
}
inline void os_helper_placed() noexcept {
    cpu_set_t allowed;
    if (::sched_getaffinity(::getpid(), sizeof(allowed), &allowed) == 0) (void)::sched_setaffinity(0, sizeof(allowed), &allowed);
}
}  // namespace detail

// Which tunings to turn on. Each was added for hosts where a page fault or a thread start costs much
// (docs/performance.md says what each bought there, and what bench/tuning measured since): the CLI
// turns all on, the in-process benchmarks none, unless BTFKIT_TUNING says otherwise.
struct os_tuning {
    bool prefault = true;      // fresh blocks from 64 KiB backed in one madvise call
    bool huge_pages = true;    // blocks from 1 MiB in whole 2 MiB-aligned blocks marked for huge pages
    bool populate_halves = true;  // a file mapping mapped in by the two parse threads, a half each
    bool place_helpers = true; // a helper thread starts on another CPU than its creator's
};

// "all", "none", or a comma-separated list of prefault, huge_pages, populate_halves, place_helpers
// (the ones listed on, the others off), as tools read it from BTFKIT_TUNING.
[[nodiscard]] inline result<os_tuning> parse_tuning(std::string_view s) {
    if (s == "all") return os_tuning{};
    os_tuning t{false, false, false, false};
    if (s == "none") return t;
    while (!s.empty()) {
        const std::size_t comma = s.find(',');
        const std::string_view w = s.substr(0, comma);
        if (w == "prefault") t.prefault = true;
        else if (w == "huge_pages") t.huge_pages = true;
        else if (w == "populate_halves") t.populate_halves = true;
        else if (w == "place_helpers") t.place_helpers = true;
        else return error(errc::not_found, "unknown tuning (all, none, prefault, huge_pages, populate_halves, place_helpers)").about(w);
        s = comma == std::string_view::npos ? std::string_view{} : s.substr(comma + 1);
    }
    return t;
}

// Turns these tunings on (and the others off), process-wide; call it before opening targets.
inline void apply_tuning(const os_tuning& t) noexcept {
    memory_tuning m;
    if (t.prefault || t.huge_pages) m.prefault = &detail::os_prefault;
    m.huge_blocks = t.huge_pages;
    if (t.populate_halves) m.populate = &detail::os_populate_read;
    set_memory_tuning(m);
    set_thread_placement(t.place_helpers ? thread_placement{&detail::os_place_helper, &detail::os_helper_placed} : thread_placement{});
}

}  // namespace btfkit
