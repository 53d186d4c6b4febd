// memory.hpp: chunk_arena, the allocators over it, byte_buffer, and the memory_tuning hooks that are
// off unless a caller turns them on.
#include <doctest/doctest.h>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "btfkit/memory.hpp"

namespace {

using namespace btfkit;

std::uintptr_t address(const void* p) { return std::bit_cast<std::uintptr_t>(p); }

std::size_t prefaulted = 0, prefaulted_bytes = 0;
void count_prefault(void*, std::size_t n) noexcept {
    ++prefaulted;
    prefaulted_bytes += n;
}

// Restores plain allocations when a test ends, whatever it set.
struct tuning_reset {
    ~tuning_reset() { set_memory_tuning({}); }
};

}  // namespace

TEST_CASE("chunk_arena: allocations in order from one chunk, aligned; a larger one gets its own chunk") {
    chunk_arena a(1024);
    char* p = a.allocate(3, 1);  // the chunk's start
    CHECK(address(p) % 16 == 0);
    char* q = a.allocate(8);  // 8-aligned, right after
    CHECK(q == p + 8);
    char* r = a.allocate(5, 16);
    CHECK(r == p + 16);
    char* big = a.allocate(4096);  // past the first chunk
    CHECK((big < p || big >= p + 1024));
    big[4095] = 'z';
    char* after = a.allocate(1, 1);
    CHECK(after == big + 4096);  // the new chunk goes on filling
    const char text[] = {'b', 't', 'f'};
    const byte_span kept = a.keep(byte_span(text, 3));
    CHECK(kept.size() == 3);
    CHECK(kept.data() != text);
    CHECK(std::string_view(kept.data(), 3) == "btf");
}

TEST_CASE("arena_allocator and byte_buffer: blocks from the arena, nothing given back until it goes") {
    chunk_arena a(std::size_t{1} << 16);
    char* first = a.allocate(16);
    std::vector<std::uint32_t, arena_allocator<std::uint32_t>> v{arena_allocator<std::uint32_t>(&a)};
    v.reserve(10);
    CHECK(static_cast<char*>(static_cast<void*>(v.data())) == first + 16);
    for (std::uint32_t i = 0; i < 10; ++i) v.push_back(i * 3);
    CHECK(v[9] == 27);
    byte_buffer buf{default_init_allocator<char>(&a)};
    buf.resize(100);
    CHECK(buf.data() == static_cast<char*>(static_cast<void*>(v.data())) + 40);
    CHECK(a.allocate(1, 1) == buf.data() + 100);
    // A copy allocates on its own (big_allocator), so it may outlive the arena.
    const std::vector<std::uint32_t, arena_allocator<std::uint32_t>> copy = v;
    CHECK(copy.get_allocator().arena == nullptr);
    CHECK(copy == v);
    // Without an arena: ordinary blocks.
    byte_buffer plain;
    plain.resize(5, 'x');
    CHECK(std::string_view(plain.data(), plain.size()) == "xxxxx");
}

TEST_CASE("chunk_arena::adopt: the other arena's memory stays where it is, owned by this one") {
    chunk_arena a, b;
    char* pa = a.allocate(64);
    char* pb = b.allocate(64);
    pb[63] = 'b';
    a.adopt(std::move(b));
    CHECK(pb[63] == 'b');
    CHECK(a.allocate(8) == pa + 64);
    chunk_arena empty;
    empty.adopt(std::move(a));  // an empty arena takes the chunks and fills the last one
    CHECK(empty.allocate(8) == pa + 72);
}

TEST_CASE("memory_tuning: nothing unless set; then prefault for big blocks and huge-page-aligned large ones") {
    const tuning_reset reset;
    prefaulted = prefaulted_bytes = 0;
    {
        big_vector<char> v(std::size_t{128} << 10);
        CHECK(prefaulted == 0);  // off by default
    }
    set_memory_tuning(memory_tuning{&count_prefault, nullptr, false});
    {
        big_vector<char> small(1000);
        CHECK(prefaulted == 0);
        big_vector<char> big(std::size_t{64} << 10);
        CHECK(prefaulted == 1);
        CHECK(prefaulted_bytes == std::size_t{64} << 10);
    }
    set_memory_tuning(memory_tuning{&count_prefault, nullptr, true});
    {
        big_vector<char> huge(std::size_t{1} << 20);
        CHECK(address(huge.data()) % (std::size_t{2} << 20) == 0);
        CHECK(prefaulted == 2);
        CHECK(prefaulted_bytes == (std::size_t{64} << 10) + (std::size_t{2} << 20));  // the whole huge block
        // arena_allocator takes whole huge blocks from 512 KiB.
        std::vector<std::uint32_t, arena_allocator<std::uint32_t>> table;
        table.reserve((std::size_t{512} << 10) / 4);
        CHECK(address(table.data()) % (std::size_t{2} << 20) == 0);
    }
}
