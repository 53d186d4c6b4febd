// Shared by the C header writer's parts: which bpftool it matches, its recursion bound, and the
// counts of names used (btf_dump's type_names / ident_names) that make names unique with ___N.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "../index/name_hash.hpp"
#include "../memory.hpp"

namespace btfkit {

// Which bpftool (and the libbpf it links) the output matches byte for byte.
enum class bpftool_compat : std::uint8_t {
    v7_1,  // Debian 12: Linux 6.1's libbpf, types in id order
    v7_5,  // bookworm-backports: libbpf 1.5, types sorted, __ksym/__weak macros and kfunc externs
};

// How declarations spell type names: made unique with ___N as btf_dump does for a whole header, or as
// the BTF spells them (a declaration on its own: a prototype).
enum class c_names : std::uint8_t { unique, as_written };

namespace detail {

// Bounds on recursion that valid BTF never reaches; a loop in bad BTF stops there with an error.
inline constexpr unsigned c_max_nesting = 512;

// How often each name was used (btf_dump's type_names / ident_names): open addressing over views
// into the string table, one probe sequence per use, no allocation per name, 16 bytes a slot.
class c_name_counts {
public:
    // Room for `names` names without growing (the counts so far are kept).
    void reserve(std::size_t names) {
        std::size_t cap = 64;
        while (cap < names * 2) cap *= 2;
        if (cap > slots_.size()) rehash(cap);
    }
    // The name's count after this use.
    std::uint32_t bump(std::string_view name) { return bump(name, name_hash(name)); }
    // The same with the name's name_hash, `h`, known.
    std::uint32_t bump(std::string_view name, std::uint32_t h) {
        if ((used_ + 1) * 2 > slots_.size()) rehash(slots_.empty() ? 64 : slots_.size() * 2);
        slot* s = find(name, h);
        if (s->count == 0) {
            s->name = name.data();
            s->len = static_cast<std::uint32_t>(name.size());
            ++used_;
        }
        return ++s->count;
    }

    // A hint that the name hashed `h` is counted soon.
    void prefetch(std::uint32_t h) const noexcept {
        if (!slots_.empty()) __builtin_prefetch(&slots_[h & (slots_.size() - 1)]);
    }

private:
    struct slot {
        const char* name = nullptr;
        std::uint32_t len = 0, count = 0;
    };
    [[nodiscard]] slot* find(std::string_view name, std::uint32_t h) noexcept {
        const std::size_t mask = slots_.size() - 1;
        for (std::size_t i = h & mask;; i = (i + 1) & mask) {
            slot& s = slots_[i];
            if (s.count == 0 || (s.len == name.size() && std::string_view(s.name, s.len) == name)) return &s;
        }
    }
    void rehash(std::size_t cap) {
        big_vector<slot> old = std::move(slots_);
        slots_.assign(cap, slot{});
        for (const slot& o : old) {
            if (o.count == 0) continue;
            const std::string_view name(o.name, o.len);
            *find(name, name_hash(name)) = o;
        }
    }
    big_vector<slot> slots_;  // huge pages where the OS tuning allows: each use probes a random slot
    std::size_t used_ = 0;
};

}  // namespace detail
}  // namespace btfkit
