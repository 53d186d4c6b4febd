// Memory for large tables and many small blobs: an allocator that can hand out huge-page-aligned
// blocks, a chunk arena, and allocators over it. How fresh memory is backed is up to the caller
// (os/tuning.hpp); nothing here touches the operating system.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstdint>
#include <limits>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

#include "bytes.hpp"

namespace btfkit {

// How fresh memory is backed, process-wide; a caller turns it on (os/tuning.hpp installs the OS's
// calls). By default nothing: big blocks are ordinary allocations, touched page by page.
struct memory_tuning {
    // Called for every fresh block of prefault_min_bytes or more: back it now (one call instead of a
    // first-touch fault per page).
    void (*prefault)(void*, std::size_t) noexcept = nullptr;
    // Maps in the pages of [p, p + n) of a file mapping made without populating it
    // (mapped_file::load::map_halves), so that two threads can each map their half at once.
    void (*populate)(const void*, std::size_t) noexcept = nullptr;
    // Blocks from 1 MiB (arena_allocator's tables and buffers from 512 KiB) take whole 2 MiB-aligned
    // blocks, which `prefault` can back with huge pages.
    bool huge_blocks = false;
};

namespace detail {
inline memory_tuning memory{};
inline constexpr std::size_t prefault_min_bytes = 64 * 1024;
inline constexpr std::size_t huge_block_bytes = std::size_t{2} << 20;
// arena_allocator's blocks from this size (without an arena) take a whole huge block.
inline constexpr std::size_t huge_table_bytes = huge_block_bytes / 4;

// Allocation failure: std::bad_alloc, or without exceptions the end of the process (the containers
// cannot carry an error value out of an allocator).
[[noreturn]] inline void out_of_memory() {
#if defined(__cpp_exceptions)
    throw std::bad_alloc();
#else
    std::abort();
#endif
}
}  // namespace detail

// Sets how fresh memory is backed from now on (process-wide); {} for plain allocations. Set it before
// allocating: a block is released as it was allocated only if the setting has not changed between.
inline void set_memory_tuning(memory_tuning t) noexcept { detail::memory = t; }

// std::allocator that, as memory_tuning says, prefaults large blocks and gives blocks of 1 MiB or more
// whole 2 MiB-aligned huge blocks (see huge_bytes).
template <class T>
struct big_allocator : std::allocator<T> {
    using value_type = T;
    template <class U>
    struct rebind {
        using other = big_allocator<U>;
    };
    constexpr big_allocator() noexcept = default;
    template <class U>
    constexpr big_allocator(const big_allocator<U>&) noexcept {}
    [[nodiscard]] constexpr T* allocate(std::size_t n) { return allocate_from(n, detail::huge_block_bytes / 2); }
    constexpr void deallocate(T* p, std::size_t n) noexcept { deallocate_from(p, n, detail::huge_block_bytes / 2); }
    template <class U>
    constexpr bool operator==(const big_allocator<U>&) const noexcept { return true; }

protected:
    // The size of the huge-page block that holds n objects (a whole number of 2 MiB) if they take
    // `from` bytes or more, else 0 (an ordinary allocation). On VMs with shadow paging a first touch
    // costs a few microseconds per 4 KiB page but once per 2 MiB page, so an unused tail can be
    // cheaper than the faults it saves (its address space counts as heap in mallinfo; once any byte
    // of its huge page is touched, the whole 2 MiB counts as RSS too).
    static constexpr std::size_t huge_bytes(std::size_t n, std::size_t from) noexcept {
        const std::size_t b = n * sizeof(T);
        if (std::is_constant_evaluated() || !detail::memory.huge_blocks || b < from) return 0;
        return (b + detail::huge_block_bytes - 1) / detail::huge_block_bytes * detail::huge_block_bytes;
    }
    // Allocation and release with a given rounding threshold; a block must be released with the
    // threshold it was allocated with.
    [[nodiscard]] constexpr T* allocate_from(std::size_t n, std::size_t from) {
        if (std::is_constant_evaluated()) return std::allocator<T>::allocate(n);
        T* p = nullptr;
        if (n > std::numeric_limits<std::size_t>::max() / sizeof(T)) detail::out_of_memory();
        const std::size_t bytes = huge_bytes(n, from);
        if (bytes != 0) {
            p = static_cast<T*>(::operator new(bytes, std::align_val_t{detail::huge_block_bytes}));
        } else {
            p = std::allocator<T>::allocate(n);
        }
        // A huge block whole: its last 2 MiB then takes one huge-page fault when first touched, however
        // little of it is used, instead of a fault per small page; else the bytes asked for.
        if (detail::memory.prefault != nullptr && n * sizeof(T) >= detail::prefault_min_bytes) detail::memory.prefault(p, bytes != 0 ? bytes : n * sizeof(T));
        return p;
    }
    constexpr void deallocate_from(T* p, std::size_t n, std::size_t from) noexcept {
        if (!std::is_constant_evaluated() && huge_bytes(n, from) != 0) {
            ::operator delete(p, std::align_val_t{detail::huge_block_bytes});
        } else {
            std::allocator<T>::deallocate(p, n);
        }
    }
};

template <class T>
using big_vector = std::vector<T, big_allocator<T>>;

// Memory handed out in order from large chunks (big_allocator's: prefaulted, huge pages from 2 MiB)
// and returned all at once when the arena goes: for many small blobs and tables that live as long as
// their owner, without fresh pages (a first-touch fault each) for every one. Run time only; one thread
// at a time.
class chunk_arena {
public:
    // The first chunk's size; later ones are 2 MiB (or larger, for a larger request).
    explicit chunk_arena(std::size_t first_chunk = std::size_t{64} << 10) noexcept : first_(first_chunk) {}
    chunk_arena(const chunk_arena&) = delete;
    chunk_arena& operator=(const chunk_arena&) = delete;
    chunk_arena(chunk_arena&& o) noexcept
        : chunks_(std::move(o.chunks_)), used_(std::exchange(o.used_, 0)), first_(o.first_) {}
    chunk_arena& operator=(chunk_arena&&) = delete;
    ~chunk_arena() {
        for (const auto& c : chunks_) big_allocator<char>().deallocate(c.p, c.n);
    }

    // n bytes aligned to `align` (a power of two up to 16).
    [[nodiscard]] char* allocate(std::size_t n, std::size_t align = 8) {
        std::size_t at = (used_ + align - 1) & ~(align - 1);
        if (chunks_.empty() || chunks_.back().n < at || chunks_.back().n - at < n) {
            const std::size_t step = chunks_.empty() ? first_ : detail::huge_block_bytes;
            if (n > std::numeric_limits<std::size_t>::max() - step) detail::out_of_memory();
            const std::size_t size = std::max(step, (n + step - 1) / step * step);
            if (chunks_.size() == chunks_.capacity()) chunks_.reserve(2 * chunks_.size() + 4);  // no leak if push_back would throw
            chunks_.push_back(chunk{big_allocator<char>().allocate(size), size});
            at = 0;
        }
        used_ = at + n;
        return chunks_.back().p + at;
    }
    // A copy of `bytes` in the arena.
    [[nodiscard]] byte_span keep(byte_span bytes) {
        char* p = allocate(bytes.size());
        for (std::size_t i = 0; i < bytes.size(); ++i) p[i] = bytes[i];  // compiles to memcpy
        return {p, bytes.size()};
    }
    // Takes over o's chunks, and so what was allocated from them; this arena goes on filling its own.
    void adopt(chunk_arena&& o) {
        if (o.chunks_.empty()) return;
        if (chunks_.empty()) {
            chunks_ = std::move(o.chunks_);
            used_ = o.used_;
        } else {
            chunks_.insert(chunks_.end() - 1, o.chunks_.begin(), o.chunks_.end());
        }
        o.chunks_.clear();
        o.used_ = 0;
    }

private:
    struct chunk {
        char* p;
        std::size_t n;
    };
    std::vector<chunk> chunks_{};
    std::size_t used_ = 0;
    std::size_t first_;
};

// big_allocator or, given a chunk_arena, memory from it: deallocate then gives nothing back (the
// arena frees it all when it goes), so a container may be destroyed after its arena, though not used.
// A copy of a container allocates with big_allocator.
template <class T>
struct arena_allocator : big_allocator<T> {
    using value_type = T;
    using propagate_on_container_move_assignment = std::true_type;
    using propagate_on_container_swap = std::true_type;
    using is_always_equal = std::false_type;
    template <class U>
    struct rebind {
        using other = arena_allocator<U>;
    };
    constexpr arena_allocator() noexcept = default;
    constexpr explicit arena_allocator(chunk_arena* a) noexcept : arena(a) {}
    template <class U>
    constexpr arena_allocator(const arena_allocator<U>& o) noexcept : arena(o.arena) {}
    // Without an arena, blocks from 512 KiB take a whole huge page: these are tables and buffers
    // filled right away, such as vmlinux's id table.
    [[nodiscard]] constexpr T* allocate(std::size_t n) {
        if (std::is_constant_evaluated() || arena == nullptr) return this->allocate_from(n, detail::huge_table_bytes);
        if (n > std::numeric_limits<std::size_t>::max() / sizeof(T)) detail::out_of_memory();
        return static_cast<T*>(static_cast<void*>(arena->allocate(n * sizeof(T), alignof(T) < 16 ? alignof(T) : 16)));
    }
    constexpr void deallocate(T* p, std::size_t n) noexcept {
        if (std::is_constant_evaluated() || arena == nullptr) this->deallocate_from(p, n, detail::huge_table_bytes);
    }
    constexpr arena_allocator select_on_container_copy_construction() const noexcept { return {}; }
    template <class U>
    constexpr bool operator==(const arena_allocator<U>& o) const noexcept { return arena == o.arena; }

    chunk_arena* arena = nullptr;
};

// A growable byte buffer whose resize does not zero-fill (file contents overwrite it anyway); given a
// chunk_arena, its blocks come from there (and stay there).
template <class T>
struct default_init_allocator : arena_allocator<T> {
    template <class U>
    struct rebind {
        using other = default_init_allocator<U>;
    };
    default_init_allocator() noexcept = default;
    explicit default_init_allocator(chunk_arena* a) noexcept : arena_allocator<T>(a) {}
    template <class U>
    default_init_allocator(const default_init_allocator<U>& o) noexcept : arena_allocator<T>(o.arena) {}
    template <class U>
    void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
        ::new (static_cast<void*>(p)) U;
    }
    template <class U, class... A>
    void construct(U* p, A&&... a) {
        ::new (static_cast<void*>(p)) U(std::forward<A>(a)...);
    }
    default_init_allocator select_on_container_copy_construction() const noexcept { return {}; }
    template <class U>
    bool operator==(const default_init_allocator<U>& o) const noexcept { return this->arena == o.arena; }
};
using byte_buffer = std::vector<char, default_init_allocator<char>>;

}  // namespace btfkit
