// Candidate search: an essential-name index per BTF, an indexed single target, and a target set of
// vmlinux plus module BTFs that are read only when a lookup needs them.
#pragma once

#include <algorithm>
#include <atomic>
#include <bitset>
#include <bit>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <iterator>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "format/btf.hpp"
#include "error.hpp"
#include "core/relo_rules.hpp"
#include "core/relocate.hpp"

namespace btfkit {

namespace detail {
inline constexpr std::uint64_t hash_k = 0x9e3779b97f4a7c15ull;
inline constexpr std::uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
[[nodiscard]] constexpr std::uint64_t zero_bytes(std::uint64_t w) noexcept { return (w - ones) & ~w & highs; }
[[nodiscard]] constexpr std::uint64_t mix_word(std::uint64_t h, std::uint64_t w) noexcept {
    h = (h ^ w) * hash_k;
    return h ^ (h >> 29);
}
[[nodiscard]] constexpr std::uint32_t finish_hash(std::uint64_t h, std::size_t len) noexcept {
    h ^= len;
    h *= 0xff51afd7ed558ccdull;
    return static_cast<std::uint32_t>(h ^ (h >> 32));
}
// 8 bytes little-endian-first, whatever the host, so constant evaluation and run time agree.
[[nodiscard]] constexpr std::uint64_t word_at(const char* p, std::size_t n) noexcept {
    std::uint64_t w = 0;
    for (std::size_t k = 0; k < n; ++k) w |= std::uint64_t{static_cast<unsigned char>(p[k])} << (8 * k);
    return w;
}

// A table of u32 values: owned, or borrowed from little-endian bytes that outlive it (an index cache
// mapped from a file). Reads decode with byte loads, so a borrowed table needs no alignment.
class u32_table {
public:
    [[nodiscard]] constexpr std::uint32_t operator[](std::size_t i) const noexcept {
        if (borrowed_ != nullptr) return load<std::uint32_t>(borrowed_ + 4 * i, byte_order::little);
        return owned_[i];
    }
    [[nodiscard]] constexpr std::size_t size() const noexcept { return borrowed_ != nullptr ? borrowed_size_ : owned_.size(); }
    [[nodiscard]] constexpr bool empty() const noexcept { return size() == 0; }
    // The owned storage, for building (drops any borrowed view).
    constexpr big_vector<std::uint32_t>& own() noexcept {
        borrowed_ = nullptr;
        borrowed_size_ = 0;
        return owned_;
    }
    void borrow(const char* p, std::size_t n) {
        owned_ = {};
        borrowed_ = p;
        borrowed_size_ = n;
    }
    [[nodiscard]] constexpr std::size_t memory_bytes() const noexcept { return owned_.capacity() * sizeof(std::uint32_t); }

private:
    big_vector<std::uint32_t> owned_{};
    const char* borrowed_ = nullptr;
    std::size_t borrowed_size_ = 0;
};
}  // namespace detail

// A word-at-a-time hash of a name (8 bytes per step; the tail is zero-padded). Names are compared
// after a hash match, so it only needs to spread.
[[nodiscard]] constexpr std::uint32_t name_hash(std::string_view s) noexcept {
    std::uint64_t h = detail::hash_k;
    std::size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) h = detail::mix_word(h, detail::word_at(s.data() + i, 8));
    if (i < s.size()) h = detail::mix_word(h, detail::word_at(s.data() + i, s.size() - i));
    return detail::finish_hash(h, s.size());
}

// name_hash(essential_name(s)) for the NUL-terminated string at `p`, with `end` the end of its
// string table: whole words while they fit; a name with "___" in it (rare) takes the exact path.
// Returns false for an empty name.
[[nodiscard]] inline bool essential_hash_at(const char* p, const char* end, std::uint32_t& out) noexcept {
    if (*p == 0) return false;
    std::uint64_t h = detail::hash_k;
    std::size_t i = 0;
    std::uint64_t prev_us = 0;  // '_' bytes (0x80 each) of the previous word
    while (static_cast<std::size_t>(end - p) >= i + 8) {
        std::uint64_t w;
        std::memcpy(&w, p + i, 8);
        if constexpr (std::endian::native == std::endian::big) w = detail::byteswap(w);
        const std::uint64_t z = detail::zero_bytes(w);
        const std::uint64_t us = detail::zero_bytes(w ^ (detail::ones * '_'));
        // Three '_' in a row, inside this word or across the previous one: take the exact path.
        const std::uint64_t us_wide_lo = (us << 8) | (prev_us >> 56), us_wide_lo2 = (us << 16) | (prev_us >> 48);
        if ((us & us_wide_lo & us_wide_lo2) != 0) break;
        if (z != 0) {
            const std::size_t n = static_cast<std::size_t>(std::countr_zero(z)) / 8;
            if (n == 0) {
                out = detail::finish_hash(h, i);
                return true;
            }
            const std::uint64_t mask = n == 8 ? ~0ull : (1ull << (8 * n)) - 1;
            // Bytes after the NUL belong to the next string: masked out, as name_hash zero-pads.
            out = detail::finish_hash(detail::mix_word(h, w & mask), i + n);
            return true;
        }
        h = detail::mix_word(h, w);
        prev_us = us;
        i += 8;
    }
    const std::string_view s(p);
    out = name_hash(essential_name(s));
    return true;
}

// The same for a type's name, read straight from the string table.
[[nodiscard]] constexpr bool essential_hash_of(const btf& b, std::uint32_t name_off, std::uint32_t& out) noexcept {
    if (name_off == 0) return false;
    if (std::is_constant_evaluated()) {
        std::string_view s;
        if (!b.string_at(name_off, s) || s.empty()) return false;
        out = name_hash(essential_name(s));
        return true;
    }
    const char* p = b.string_ptr(name_off);
    return p != nullptr && essential_hash_at(p, b.string_table_end(name_off), out);
}

namespace detail {
// Calls f(i) for i in [0, n), address_of(i + 16) prefetched before each: for loops where every step
// misses the cache (the names, right after a parse), so that the misses overlap instead of coming
// one after another. address_of may give nullptr.
template <class Address, class F>
void prefetched_loop(std::size_t n, Address&& address_of, F&& f) {
    constexpr std::size_t ahead = 16;
    for (std::size_t i = 0; i < std::min(ahead, n); ++i) __builtin_prefetch(address_of(i));
    for (std::size_t i = 0; i < n; ++i) {
        if (i + ahead < n) __builtin_prefetch(address_of(i + ahead));
        f(i);
    }
}
}  // namespace detail

// Ids of a BTF's own named types bucketed by the hash of their essential name (a CSR table: one
// pass to count, one to place). Lookups compare names, so collisions cost a compare, never a wrong answer.
class name_index {
public:
    constexpr name_index() noexcept = default;

    // One pass, one allocation: an open-addressing table (load <= 3/4) of u32 slots, each holding a
    // type's id (relative, +1; 0 = empty) and the top bits of its name hash as a tag.
    [[nodiscard]] static constexpr name_index build(const btf& b) {
        name_index x = sized_for(b);
        auto& owned = x.slots_.own();
        const std::span<const std::uint32_t> listed = b.named_indexed();
        if (std::is_constant_evaluated()) {
            for (const std::uint32_t rel : listed) {
                std::uint32_t h = 0;
                if (essential_hash_of(b, b.name_off_of(x.first_ + rel), h)) x.insert(owned, h, rel + 1);
            }
            return x;
        }
        // Right after a parse the names are not in any cache: each is a miss.
        auto name_at = [&](std::size_t i) -> const char* {
            const std::uint32_t off = b.name_off_of(x.first_ + listed[i]);
            return off != 0 ? b.string_ptr(off) : nullptr;
        };
        detail::prefetched_loop(listed.size(), name_at, [&](std::size_t i) {
            std::uint32_t h = 0;
            if (essential_hash_of(b, b.name_off_of(x.first_ + listed[i]), h)) x.insert(owned, h, listed[i] + 1);
        });
        return x;
    }
    // The same index from the names' hashes taken already, one per b.named_indexed() entry (see
    // named_hashes); hashes of another length are ignored (built as above).
    [[nodiscard]] static name_index build(const btf& b, std::span<const std::uint64_t> hashes) {
        const std::span<const std::uint32_t> listed = b.named_indexed();
        if (hashes.size() != listed.size()) return build(b);
        name_index x = sized_for(b);
        auto& owned = x.slots_.own();
        for (std::size_t i = 0; i < listed.size(); ++i) {
            if (hashes[i] != 0) x.insert(owned, static_cast<std::uint32_t>(hashes[i]), listed[i] + 1);
        }
        return x;
    }

    // Calls f(id) for every own type whose essential name is `essential`, in id order.
    template <class F>
    constexpr void for_each(const btf& b, std::string_view essential, F&& f) const {
        if (slots_.empty()) return;
        const std::uint32_t h = name_hash(essential);
        const std::uint32_t tag = tag_of(h), id_mask = (1u << id_bits_) - 1;
        std::uint32_t found[32]{};
        std::uint32_t n = 0;
        bool overflow = false;
        // At most one lap: a borrowed table (from a cache file) might have no empty slot.
        for (std::uint32_t at = h & mask_, probes = 0; probes <= mask_; at = (at + 1) & mask_, ++probes) {
            const std::uint32_t e = slots_[at];
            if (e == 0) break;
            if ((e >> id_bits_) != tag) continue;
            const std::uint32_t rel = e & id_mask;
            if (rel == 0 || rel > b.type_count() - first_) continue;  // only a corrupt borrowed table
            const std::uint32_t id = first_ + rel - 1;
            if (essential_name(b[id].name()) != essential) continue;
            if (n == std::size(found)) {
                overflow = true;
                break;
            }
            found[n++] = id;
        }
        if (overflow) {  // more same-named types than the buffer holds: walk them all in id order
            for (std::uint32_t id = first_; id < b.type_count(); ++id) {
                if (indexed_kind(b.kind_of(id)) && essential_name(b[id].name()) == essential) f(id);
            }
            return;
        }
        for (std::uint32_t i = 1; i < n; ++i) {  // probe order -> id order (a handful of ids)
            for (std::uint32_t k = i; k > 0 && found[k - 1] > found[k]; --k) {
                const std::uint32_t t = found[k - 1];
                found[k - 1] = found[k];
                found[k] = t;
            }
        }
        for (std::uint32_t i = 0; i < n; ++i) f(found[i]);
    }

    [[nodiscard]] constexpr std::size_t memory_bytes() const noexcept { return slots_.memory_bytes(); }

    // The table as stored in an index cache (see index_cache.hpp).
    [[nodiscard]] constexpr std::uint32_t id_bits() const noexcept { return id_bits_; }
    [[nodiscard]] constexpr const detail::u32_table& slots() const noexcept { return slots_; }
    // The index of `b` over a borrowed table of `slot_count` little-endian u32 slots; empty if the
    // shape does not fit `b` (the table's contents are checked on every lookup).
    [[nodiscard]] static std::optional<name_index> borrow(const btf& b, const char* slots, std::uint32_t slot_count, std::uint32_t id_bits) {
        if (id_bits != id_bits_for(b.own_count()) || slot_count < 16 || (slot_count & (slot_count - 1)) != 0) return std::nullopt;
        name_index x;
        x.first_ = b.first_id();
        x.id_bits_ = id_bits;
        x.mask_ = slot_count - 1;
        x.slots_.borrow(slots, slot_count);
        return x;
    }

private:
    [[nodiscard]] static constexpr std::uint32_t id_bits_for(std::uint32_t count) noexcept {
        std::uint32_t bits = 1;
        while ((std::uint64_t{1} << bits) <= count) ++bits;
        return bits;
    }
    [[nodiscard]] constexpr std::uint32_t tag_of(std::uint32_t h) const noexcept {
        return id_bits_ >= 32 ? 0 : (h >> id_bits_) | 1u;  // never 0, so an entry is never 0
    }
    // An empty table for b's listed names (load factor <= 2/3).
    [[nodiscard]] static constexpr name_index sized_for(const btf& b) {
        name_index x;
        x.first_ = b.first_id();
        x.id_bits_ = id_bits_for(b.own_count());
        const auto named = static_cast<std::uint32_t>(b.named_indexed().size());
        std::uint32_t slots = 16;
        while (slots < named / 2 * 3 + 16) slots <<= 1;
        x.mask_ = slots - 1;
        auto& owned = x.slots_.own();
        if (std::is_constant_evaluated()) {
            for (std::uint32_t i = 0; i < slots; ++i) owned.push_back(0);
        } else {
            owned.resize(slots);
        }
        return x;
    }
    constexpr void insert(big_vector<std::uint32_t>& owned, std::uint32_t h, std::uint32_t rel1) const {
        const std::uint32_t e = (tag_of(h) << id_bits_) | rel1;
        std::uint32_t at = h & mask_;
        while (owned[at] != 0) at = (at + 1) & mask_;
        owned[at] = e;
    }

    std::uint32_t first_ = 1;
    std::uint32_t id_bits_ = 1;
    std::uint32_t mask_ = 0;
    detail::u32_table slots_{};
};

namespace detail {
struct index_cache_access;

// Candidates of one indexed BTF, in id order, with the FWD preference of scan_candidates.
// `each(essential, f)` calls f(id) for the BTF's indexed types of that essential name, in id order.
template <class Each>
constexpr void indexed_candidates(const btf& b, std::uint32_t target, const type& local_t, std::string_view essential,
                                  bool fwd_ext, std::vector<candidate>& out, Each&& each) {
    const kind lk = local_t.kind();
    if (!indexed_kind(lk)) {
        scan_candidates(b, target, b.first_id(), local_t, essential, fwd_ext, out);
        return;
    }
    const std::size_t before = out.size();
    if (fwd_ext && lk == kind::fwd) {
        each(essential, [&](std::uint32_t id) {
            if (fwd_resolves_to(lk, local_t.kflag(), b[id].kind())) out.push_back(candidate{&b, id, target});
        });
        if (out.size() != before) return;
    }
    each(essential, [&](std::uint32_t id) {
        if (kinds_core_compat(b[id].kind(), lk)) out.push_back(candidate{&b, id, target});
    });
}

// Set by kernel.hpp: `place` puts a helper thread just started on another CPU than its creator's,
// and `placed` (called first thing by the helper) lets it run on any CPU again (see there).
struct helper_thread_hooks {
    void (*place)(std::thread&) noexcept = nullptr;
    void (*placed)() noexcept = nullptr;
};
inline helper_thread_hooks helper_hooks{};

// A helper thread running f, placed by helper_hooks.
template <class F>
std::thread start_helper(F&& f) {
    std::thread t([f = std::forward<F>(f)]() mutable {
        if (helper_hooks.placed != nullptr) helper_hooks.placed();
        f();
    });
    if (helper_hooks.place != nullptr) helper_hooks.place(t);
    return t;
}

// A helper thread, if one can be started: join() waits for it and passes on its exception
// (std::bad_alloc); the destructor waits too (when the caller's share throws), dropping it.
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
        return true;
    }
    [[nodiscard]] bool started() const noexcept { return t_.joinable(); }
    void join() {
        if (t_.joinable()) t_.join();
        if (failed_) std::rethrow_exception(std::exchange(failed_, nullptr));
    }

private:
    std::thread t_{};
    std::exception_ptr failed_{};
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

// Reads a module's raw BTF bytes into `buf` (resized to fit); an error skips the module. Called from
// two threads at once while a module index is built or a pass runs (each with its own buffer).
using module_loader = std::function<status(std::uint32_t module, byte_buffer& buf)>;

namespace detail {
// A module entry packs (module index << module_local_bits) | the type's own index.
inline constexpr std::uint32_t module_local_bits = 18;
// Fewer modules than this are not worth a second thread (~0.5 ms for it, its huge pages).
inline constexpr std::size_t thread_min_modules = 24;

// Calls emit(hash, packed entry) for each indexed named type of module i's bytes, walked over its
// base (a parsed btf, whose type count is `first`, or base_strings, with `first` 0).
template <class Base, class Emit>
status index_module(std::uint32_t i, byte_span bytes, const Base& base, std::uint32_t first, Emit&& emit) {
    bool too_many = false;
    BTFKIT_TRY(btf::walk_named(bytes, base, [&](std::uint32_t id, kind k, const char* name, const char* end) {
        std::uint32_t h = 0;
        if (!indexed_kind(k) || !essential_hash_at(name, end, h)) return;
        if (id - first >= (1u << module_local_bits)) {
            too_many = true;
            return;
        }
        emit(h, (i << module_local_bits) | (id - first));
    }));
    if (too_many) return error(errc::unsupported, "module has too many types for the index");
    return {};
}
}  // namespace detail

class target_set;

// The one pass of target_set::prefetch for a batch of names: every module is read once and its names
// hashed; the entries of these names are kept and the modules that have any are parsed; vmlinux is
// scanned for the names too. Two threads take modules a few at a time.
// It can start before vmlinux is parsed (file_targets does, given target_options::prefetch): a
// module's walk needs only vmlinux's strings (base_strings_known) and its parse needs vmlinux parsed
// (base_parsed); a module read before then waits, in memory freed when the pass ends. A module whose
// walk over the strings alone fails is walked again over parsed vmlinux, so its warning is the same.
// target_set::adopt takes the outcome: lookups of these names then need no index.
class name_pass {
public:
    using entry = std::pair<std::uint32_t, std::uint32_t>;  // (hash, vmlinux id) or (hash, packed module entry)

    // `skip[i]`: module i is not read (it failed before). Nothing runs until start() or finish.
    name_pass(std::span<const std::string_view> essentials, std::uint32_t module_count, module_loader load,
              std::vector<bool> skip = {})
        : modules_(module_count), load_(std::move(load)), skip_(std::move(skip)) {
        for (const std::string_view e : essentials) hashes_.push_back(name_hash(e));
        std::sort(hashes_.begin(), hashes_.end());
        hashes_.erase(std::unique(hashes_.begin(), hashes_.end()), hashes_.end());
        for (const std::uint32_t h : hashes_) filter_[h & 4095] = true;
        // A bit per pair of first bytes of the names (a one-letter name: followed by NUL, or by the
        // '_' of "___"): vmlinux's names are tried on it before hashing.
        for (const std::string_view e : essentials) {
            if (e.empty()) continue;
            const auto a = static_cast<unsigned char>(e[0]);
            if (e.size() > 1) {
                pairs_[pair_of(a, static_cast<unsigned char>(e[1]))] = true;
            } else {
                pairs_[pair_of(a, 0)] = true;
                pairs_[pair_of(a, '_')] = true;
            }
        }
        if (!load_) modules_ = 0;
    }
    name_pass(const name_pass&) = delete;
    name_pass& operator=(const name_pass&) = delete;
    ~name_pass() {
        stage_.store(stop, std::memory_order_release);
        stage_.notify_all();
    }

    // Starts the second thread on its share, from thread_min_modules modules (else finish() does all).
    void start() {
        if (modules_ < detail::thread_min_modules || helper_.started()) return;
        two_ = true;  // before the thread starts: it reads it
        if (!helper_.start([this] { work(shares_[1]); })) two_ = false;
    }
    // vmlinux's string table is known (it must stay where it is): modules may be walked.
    void base_strings_known(base_strings s) {
        strings_ = s;
        advance(strings);
    }
    // vmlinux is parsed (it must outlive the pass and the modules parsed over it).
    void base_parsed(const btf& vmlinux) {
        vmlinux_ = &vmlinux;  // (strings_ stays: the helper may be walking over it)
        advance(parsed);
    }
    [[nodiscard]] std::uint32_t module_count() const noexcept { return modules_; }
    [[nodiscard]] const std::vector<std::uint32_t>& hashes() const noexcept { return hashes_; }

private:
    friend class target_set;
    enum : int { none = 0, strings = 1, parsed = 2, stop = 3 };
    struct share {
        std::vector<entry> hits;
        std::vector<std::pair<std::uint32_t, error>> unread, unparsed;  // (module index, why)
        std::vector<std::pair<std::uint32_t, btf>> opened;
        std::vector<std::pair<std::uint32_t, byte_span>> unwalked, to_parse;  // waiting for vmlinux
        std::vector<std::uint32_t> rewalk;  // failed over vmlinux's strings: again over parsed vmlinux
        chunk_arena arena;                      // the opened modules' bytes and tables (adopted by the set)
        chunk_arena waiting{detail::huge_block_bytes};  // modules read before vmlinux's strings were known
        explicit share(std::size_t first_chunk) : arena(first_chunk) {}
    };

    [[nodiscard]] static constexpr unsigned pair_of(unsigned char a, unsigned char b) noexcept { return unsigned{a} | unsigned{b} << 8; }
    [[nodiscard]] bool wanted(std::uint32_t h) const noexcept {
        return filter_[h & 4095] && std::binary_search(hashes_.begin(), hashes_.end(), h);
    }
    void advance(int to) {
        stage_.store(to, std::memory_order_release);
        stage_.notify_all();
    }
    // The stage once it is at least `want`; `stop` if the pass was abandoned.
    int wait_for(int want) const {
        int s = stage_.load(std::memory_order_acquire);
        while (s < want) {
            stage_.wait(s, std::memory_order_acquire);
            s = stage_.load(std::memory_order_acquire);
        }
        return s;
    }

    // The caller's part, once vmlinux is parsed: vmlinux's entries (if `scan_vmlinux`), modules
    // until none is left, then waiting for the second thread.
    void finish(bool scan_vmlinux) {
        if (scan_vmlinux) {
            const btf& v = *vmlinux_;
            for (const std::uint32_t rel : v.named_indexed()) {  // the named types of indexed kinds
                const std::uint32_t id = v.first_id() + rel;
                const std::uint32_t off = v.name_off_of(id);
                const char* p = off != 0 ? v.string_ptr(off) : nullptr;
                if (p == nullptr || *p == 0) continue;
                std::uint32_t h = 0;  // p[1]: at most the NUL
                if (!pairs_[pair_of(static_cast<unsigned char>(p[0]), static_cast<unsigned char>(p[1]))] ||
                    !essential_hash_at(p, v.string_table_end(off), h)) continue;
                if (wanted(h)) vmlinux_hits_.emplace_back(h, id);
            }
            std::sort(vmlinux_hits_.begin(), vmlinux_hits_.end());
        }
        work(shares_[0]);
        helper_.join();
    }

    void work(share& o) {
        // The read buffer shares the arena's first chunk (a huge page) with the bytes kept: one
        // fresh page for both. It is not given back (the arena frees it).
        byte_buffer buf{default_init_allocator<char>(&o.arena)};
        if (two_) buf.reserve(std::size_t{256} << 10);
        constexpr std::uint32_t block = 4;  // modules taken at a time: the threads finish together
        for (std::uint32_t i = next_.fetch_add(block); i < modules_; i = next_.fetch_add(block)) {
            for (std::uint32_t j = i; j < std::min(modules_, i + block); ++j) {
                if (j < skip_.size() && skip_[j]) continue;
                if (const status st = load_(j + 1, buf); !st) {
                    o.unread.emplace_back(j, st.error());
                    continue;
                }
                const byte_span bytes(buf.data(), buf.size());
                const int s = stage_.load(std::memory_order_acquire);
                if (s == stop) return;
                if (s == none) {
                    o.unwalked.emplace_back(j, o.waiting.keep(bytes));
                    continue;
                }
                for (const auto& [k, b] : o.unwalked) take(o, k, b, s);
                o.unwalked.clear();
                take(o, j, bytes, s);
            }
        }
        if (!o.unwalked.empty()) {
            const int s = wait_for(strings);
            if (s == stop) return;
            for (const auto& [k, b] : o.unwalked) take(o, k, b, s);
            o.unwalked.clear();
        }
        if (!o.to_parse.empty() || !o.rewalk.empty()) {
            if (wait_for(parsed) == stop) return;
            for (const auto& [k, b] : o.to_parse) parse(o, k, b);
            for (const std::uint32_t k : o.rewalk) {
                if (const status st = load_(k + 1, buf); !st) o.unread.emplace_back(k, st.error());
                else take(o, k, byte_span(buf.data(), buf.size()), parsed);
            }
        }
    }

    // Module j's entries for the names, from its bytes walked over vmlinux (at stage s); keeps the
    // bytes of a module that has any, and parses it once vmlinux is.
    void take(share& o, std::uint32_t j, byte_span bytes, int s) {
        const std::size_t before = o.hits.size();
        auto emit = [&](std::uint32_t h, std::uint32_t packed) {
            if (wanted(h)) o.hits.emplace_back(h, packed);
        };
        const status st = s == parsed ? detail::index_module(j, bytes, vmlinux_, vmlinux_->type_count(), emit)
                                      : detail::index_module(j, bytes, strings_, 0, emit);
        if (!st) {
            o.hits.resize(before);
            if (s == parsed) o.unread.emplace_back(j, st.error());
            else o.rewalk.push_back(j);
            return;
        }
        if (o.hits.size() == before) return;  // a module lookups of these names would not open
        const byte_span kept = o.arena.keep(bytes);
        if (s == parsed) parse(o, j, kept);
        else o.to_parse.emplace_back(j, kept);
    }
    void parse(share& o, std::uint32_t j, byte_span kept) {
        auto b = btf::parse(kept, vmlinux_, &o.arena);
        if (b) o.opened.emplace_back(j, std::move(*b));
        else o.unparsed.emplace_back(j, b.error());
    }

    std::uint32_t modules_;
    module_loader load_;
    std::vector<bool> skip_;
    std::vector<std::uint32_t> hashes_{};  // the names', sorted
    std::bitset<4096> filter_{};           // a bit per (hash mod 4096): most names are out after one load
    std::bitset<65536> pairs_{};
    std::atomic<int> stage_{none};
    base_strings strings_{};
    const btf* vmlinux_ = nullptr;
    std::atomic<std::uint32_t> next_{0};
    std::vector<entry> vmlinux_hits_{};
    share shares_[2]{share(std::size_t{64} << 10), share(detail::huge_block_bytes)};  // the caller's, the helper's
    bool two_ = false;
    detail::helper_thread helper_{};  // last: joined first, while the rest is still there
};

// The essential-name hashes of a BTF's named types of indexed kinds, one per btf::named_indexed()
// entry: (1 << 32 | hash), or 0 for a name with nothing to index (empty). name_index::build takes them.
using named_hashes = std::vector<std::uint64_t>;

namespace detail {
// Appends to `out` the hashes of one half's listed names (parse_split's on_half): the records' name
// offsets read at `offsets`, the names in `strings` (BTF that is not split), prefetched as in
// name_index::build. An offset outside the table gives 0 (the parse fails).
template <byte_order O>
void hash_listed_names(byte_span data, byte_span strings, std::span<const std::uint32_t> offsets,
                       std::span<const std::uint32_t> listed, named_hashes& out) {
    const char* const end = strings.data() + strings.size();
    auto name_at = [&](std::size_t i) -> const char* {
        const std::size_t rec = offsets[listed[i]];
        if (rec > data.size() - 4) return nullptr;
        const std::uint32_t off = load<std::uint32_t>(data.data() + rec, O);
        return off < strings.size() ? strings.data() + off : nullptr;
    };
    out.reserve(out.size() + listed.size());
    prefetched_loop(listed.size(), name_at, [&](std::size_t i) {
        const char* p = name_at(i);
        std::uint32_t h = 0;
        out.push_back(p != nullptr && essential_hash_at(p, end, h) ? (std::uint64_t{1} << 32) | h : 0);
    });
}
}  // namespace detail

// btf::parse on two threads where the type section is large (vmlinux): the same result, ~half the time.
// With `hashes` (BTF that is not split), each thread also hashes the names its half lists, for
// name_index::build(b, hashes): the index is then inserts only (vmlinux's names, each a cache miss
// after the parse, took ~0.4 ms on one thread). `hashes` is left empty where the halves were not used.
// With `populate_halves` (data in a file mapping made without populating it: mapped_file::load::
// map_halves), each thread first maps in its half of the data (detail::populate_hook), instead of
// one thread mapping it all before the parse starts (4.4 MB of page cache: ~0.37 ms, of W1's ~1.5).
// `min_bytes` is parse_split's: smaller type sections take the one pass (tests and fuzzers lower it).
[[nodiscard]] inline result<btf> parse_two_threads(byte_span data, const btf* base = nullptr, chunk_arena* tables = nullptr,
                                                   named_hashes* hashes = nullptr, bool populate_halves = false,
                                                   std::size_t min_bytes = btf::split_min_bytes) {
    auto both = [data, populate_halves](auto&& first, auto&& second) {
        if (!populate_halves || detail::populate_hook == nullptr) return detail::run_both(first, second);
        const std::size_t half = data.size() / 2;
        detail::run_both([&] {
            detail::populate_hook(data.data(), half);
            first();
        }, [&] {
            detail::populate_hook(data.data() + half, data.size() - half);
            second();
        });
    };
    if (hashes == nullptr || base != nullptr) return btf::parse_split(data, both, base, tables, min_bytes);
    hashes->clear();
    const auto strings = base_strings::of(data);
    if (!strings) return btf::parse_split(data, both, base, tables, min_bytes);  // its error
    named_hashes halves[2];
    // A half hashes only once its scan is good, but the other half's may fail and the parse fall back
    // to the one pass: the hashes then belong to no parse, and are used only if both halves hashed
    // (both scans good and meeting at the boundary: the result is the halves' unless the parse fails).
    bool hashed[2]{false, false};
    auto on_half = [&](std::size_t half, std::span<const std::uint32_t> offsets, std::span<const std::uint32_t> listed) {
        hashed[half] = true;
        if (strings->order == byte_order::little) {
            detail::hash_listed_names<byte_order::little>(data, strings->strings, offsets, listed, halves[half]);
        } else {
            detail::hash_listed_names<byte_order::big>(data, strings->strings, offsets, listed, halves[half]);
        }
    };
    auto b = btf::parse_split(data, both, base, tables, min_bytes, on_half);
    if (b && hashed[0] && hashed[1] && halves[0].size() + halves[1].size() == b->named_indexed().size()) {
        *hashes = std::move(halves[0]);
        hashes->insert(hashes->end(), halves[1].begin(), halves[1].end());
    }
    return b;
}

// One BTF with its name index: same answers as single_target, without scanning.
class indexed_target {
public:
    constexpr explicit indexed_target(const btf& b) : btf_(&b), index_(name_index::build(b)) {}
    [[nodiscard]] constexpr std::uint32_t target_count() const noexcept { return 1; }
    [[nodiscard]] constexpr std::string_view target_name(std::uint32_t) const noexcept { return "vmlinux"; }
    [[nodiscard]] constexpr const btf& target_btf(std::uint32_t) const noexcept { return *btf_; }
    constexpr status collect(const type& local_t, std::string_view essential, const relocate_options& o,
                             std::vector<candidate>& out) const {
        detail::indexed_candidates(*btf_, 0, local_t, essential, o.fwd_extension, out,
                                   [&](std::string_view e, auto&& f) { index_.for_each(*btf_, e, f); });
        return {};
    }
    [[nodiscard]] constexpr result<std::uint32_t> upper_bits(std::uint32_t, fd_encoding) const noexcept { return std::uint32_t{0}; }
    [[nodiscard]] constexpr const name_index& index() const noexcept { return index_; }

private:
    const btf* btf_;
    name_index index_;
};

// vmlinux plus module BTFs. Modules are registered by name and a loader; nothing is read until a
// lookup needs modules. Then every module is read once (two threads) to build one index of all
// module type names, and only modules that hold a candidate are kept in memory, parsed.
// A module that fails to read or parse is skipped with a warning; the others keep working.
// prefetch(names) before any index exists answers those names in one pass instead (see there).
// Lookups build what they need on first use (indexes, opened modules): a target set is not for
// concurrent lookups; a name_index, or an indexed_target, is (nothing in them changes).
class target_set {
public:
    using loader = module_loader;
    // Gives the upper half for TYPE_ID_TARGET of a module (fd or id); an error or 0 means "none".
    using upper_resolver = std::function<result<std::uint32_t>(std::uint32_t module, fd_encoding)>;

    // `index_vmlinux = false` leaves the vmlinux name index to build_vmlinux_index(), an index cache
    // (index_cache.hpp) or the first lookup that needs it (a prefetch's names need none).
    explicit target_set(const btf& vmlinux, bool index_vmlinux = true) : vmlinux_(&vmlinux) {
        if (index_vmlinux) build_vmlinux_index();
    }
    target_set(const target_set&) = delete;
    target_set& operator=(const target_set&) = delete;

    // Registers a module; returns its target index (1-based: 0 is vmlinux).
    std::uint32_t add_module(std::string name) {
        modules_.push_back(std::make_unique<module>());
        modules_.back()->name = std::move(name);
        index_built_ = false;
        batch_ = {};
        return static_cast<std::uint32_t>(modules_.size());
    }
    void set_loader(loader l) { loader_ = std::move(l); }
    void set_upper_resolver(upper_resolver r) { resolver_ = std::move(r); }
    // Called once the module name index has been built by reading the modules (not when it came
    // from an index cache): the moment to save it (index_cache.hpp).
    void set_index_listener(std::function<void(const target_set&)> f) { listener_ = std::move(f); }
    void build_vmlinux_index() const {
        vmlinux_index_ = name_index::build(*vmlinux_, vmlinux_hashes_);
        vmlinux_hashes_ = {};
    }
    // vmlinux's name hashes, taken while it was parsed (parse_two_threads): build_vmlinux_index, when
    // it runs, only inserts them.
    void keep_vmlinux_hashes(named_hashes h) { vmlinux_hashes_ = std::move(h); }
    // Caller-provided module BTF fd (or id), used for TYPE_ID_TARGET's upper half.
    void set_module_fd(std::uint32_t target, int fd) { modules_.at(target - 1)->fd = fd; }
    void set_module_btf_id(std::uint32_t target, std::uint32_t id) { modules_.at(target - 1)->btf_id = id; }

    [[nodiscard]] std::uint32_t target_count() const noexcept { return static_cast<std::uint32_t>(modules_.size()) + 1; }
    [[nodiscard]] std::string_view target_name(std::uint32_t t) const noexcept {
        return t == 0 ? std::string_view{"vmlinux"} : std::string_view{modules_[t - 1]->name};
    }
    [[nodiscard]] const btf& vmlinux() const noexcept { return *vmlinux_; }
    // Empty until built (see the constructor).
    [[nodiscard]] const name_index& vmlinux_index() const noexcept { return vmlinux_index_; }
    // The parsed module, if it has been opened (because a lookup found a candidate in it).
    [[nodiscard]] const btf* module_btf(std::uint32_t t) const noexcept {
        return t == 0 ? vmlinux_ : (modules_[t - 1]->parsed ? &*modules_[t - 1]->parsed : nullptr);
    }
    [[nodiscard]] const std::vector<std::string>& warnings() const noexcept { return warnings_; }
    [[nodiscard]] std::uint32_t modules_opened() const noexcept {
        std::uint32_t n = 0;
        for (const auto& m : modules_) n += m->parsed ? 1u : 0u;
        return n;
    }

    // Candidates for the relocation engine: vmlinux first; modules when vmlinux has none (or always).
    // A local FWD (with the extension) looks for complete types across vmlinux and modules first,
    // and only then for FWDs, with the same vmlinux-first rule in each round.
    status collect(const type& local_t, std::string_view essential, const relocate_options& o, std::vector<candidate>& out) const {
        if (o.fwd_extension && local_t.is(kind::fwd)) {
            auto complete = [&](const btf& b, std::uint32_t id) { return fwd_resolves_to(kind::fwd, local_t.kflag(), b[id].kind()); };
            auto forward = [&](const btf& b, std::uint32_t id) { return b[id].is(kind::fwd); };
            BTFKIT_TRY(collect_round(essential, o.search_all_targets, out, complete));
            if (!out.empty()) return {};
            return collect_round(essential, o.search_all_targets, out, forward);
        }
        const std::size_t before = out.size();
        detail::indexed_candidates(*vmlinux_, 0, local_t, essential, o.fwd_extension, out,
                                   [&](std::string_view e, auto&& f) { for_each_vmlinux(e, f); });
        if (out.size() != before && !o.search_all_targets) return {};
        return collect_modules(local_t, essential, o.fwd_extension, out);
    }

    // Every indexed type (see indexed_kind) across vmlinux and all modules whose essential name is `essential`.
    status find(std::string_view essential, std::vector<candidate>& out) const {
        for_each_vmlinux(essential, [&](std::uint32_t id) { out.push_back(candidate{vmlinux_, id, 0}); });
        return for_each_module_hit(essential, [&](std::uint32_t t, const btf& b, std::uint32_t id) {
            out.push_back(candidate{&b, id, t});
        });
    }

    [[nodiscard]] result<std::uint32_t> upper_bits(std::uint32_t t, fd_encoding enc) const {
        if (t == 0 || enc == fd_encoding::none) return std::uint32_t{0};
        const module& m = *modules_[t - 1];
        if (enc == fd_encoding::btf_fd && m.fd >= 0) return static_cast<std::uint32_t>(m.fd);
        if (enc == fd_encoding::btf_id && m.btf_id != 0) return m.btf_id;
        if (resolver_) {
            auto r = resolver_(t, enc);
            if (r && *r != 0) {
                if (enc == fd_encoding::btf_fd) m.fd = static_cast<int>(*r);
                else m.btf_id = *r;
            }
            return r;
        }
        return error(errc::not_found, "no kernel BTF fd or id for this module").about(m.name);
    }

    // Builds the module name index now (otherwise the first module lookup does).
    status build_module_index() const { return ensure_index(); }

    // Opens now every module that lookups of these essential names would open, so that those lookups
    // find them ready: the same modules and the same answers, sooner. Modules that fail are skipped
    // with a warning, as in a lookup.
    // Before any module index exists (and with no index listener, which wants the whole index), one
    // pass on two threads reads every module once, keeps the entries of these names only, and opens
    // the modules that have any; vmlinux, if not indexed yet, is scanned for them meanwhile. Lookups
    // of these names are then answered from those entries; another name builds the indexes then.
    // Otherwise the module index is built (or was) and the modules it lists for the names are opened,
    // on two threads from 24 of them.
    status prefetch(std::span<const std::string_view> essentials) const {
        if (essentials.empty()) return {};
        if (!batch_.hashes.empty()) {
            bool covered = true;
            for (const std::string_view e : essentials) covered = covered && batch_.covers(name_hash(e));
            if (covered) return {};  // opened by the pass that took them
        }
        bool modules_done = modules_.empty();
        if (batch_.hashes.empty()) {
            const bool scan_modules = !modules_.empty() && !index_built_ && !listener_ && loader_ && modules_opened() == 0;
            if (scan_modules || !vmlinux_indexed()) {
                BTFKIT_TRY(scan_batch(essentials, scan_modules));
                modules_done = modules_done || scan_modules;
            }
        }
        if (modules_done) return {};
        BTFKIT_TRY(ensure_index());
        std::vector<std::uint32_t> want;
        for (const std::string_view e : essentials) {
            BTFKIT_TRY(module_entries(e, [&](std::uint32_t t, std::uint32_t) {
                const module& m = *modules_[t - 1];
                if (!m.parsed && !m.failed) want.push_back(t);
            }));
        }
        std::sort(want.begin(), want.end());
        want.erase(std::unique(want.begin(), want.end()), want.end());
        if (want.size() < detail::thread_min_modules || !loader_) {  // not worth a thread: ~0.5 ms for it, its huge pages
            for (const std::uint32_t t : want) (void)open_module(t);
            return {};
        }
        // Each thread reads every other module into its own buffer and arena and parses it; the
        // results are installed here, in module order, once both are done.
        std::vector<std::optional<btf>> parsed(want.size());
        std::vector<error> errors(want.size());
        chunk_arena second(detail::huge_block_bytes);
        auto work = [&](std::size_t first, chunk_arena& a) {
            byte_buffer buf{default_init_allocator<char>(&a)};
            for (std::size_t i = first; i < want.size(); i += 2) {
                auto bytes = load_into(want[i], buf, a);
                auto b = bytes ? btf::parse(*bytes, vmlinux_, &a) : result<btf>(bytes.error());
                if (b) parsed[i].emplace(std::move(*b));
                else errors[i] = b.error();
            }
        };
        detail::run_both([&] { work(0, arena_); }, [&] { work(1, second); });
        arena_.adopt(std::move(second));
        for (std::size_t i = 0; i < want.size(); ++i) {
            module& m = *modules_[want[i] - 1];
            if (parsed[i]) m.parsed = std::move(parsed[i]);
            else fail(m, errors[i]);
        }
        return {};
    }
    [[nodiscard]] bool module_index_ready() const noexcept { return index_built_; }

    // Takes a name pass started over this set's modules (same count and loader) before any lookup
    // (file_targets does this for target_options::prefetch): finishes it here — vmlinux's scan, the
    // modules left, waiting for its thread — and keeps what it found, as prefetch of its names would.
    // vmlinux must have been given to it (base_parsed).
    status adopt(name_pass& p) const {
        if (p.vmlinux_ != vmlinux_) return error(errc::unsupported, "name pass over another vmlinux");
        if ((p.module_count() != 0 && p.module_count() != modules_.size()) || index_built_ || !batch_.hashes.empty() || modules_opened() != 0) {
            return error(errc::unsupported, "a name pass is for a target set no lookup has used, over the same modules");
        }
        return take_pass(p);
    }

    [[nodiscard]] std::size_t index_memory_bytes() const noexcept {
        return vmlinux_index_.memory_bytes() + module_start_.memory_bytes() + module_entries_.memory_bytes() + batch_.memory_bytes();
    }

private:
    friend struct detail::index_cache_access;

    struct module {
        std::string name;
        std::string failure;              // why it was skipped, if it was
        bool io_failure = false;          // ... and whether the OS said no (may pass: never cached)
        std::optional<btf> parsed;        // over its bytes in arena_, once it holds a candidate
        bool failed = false;
        mutable int fd = -1;
        mutable std::uint32_t btf_id = 0;
    };
    // (hash, target << 18 | own index) in one u64 would be denser; two u32 arrays keep it simple.
    static constexpr std::uint32_t local_bits = detail::module_local_bits;

    // What a prefetch's one pass found for its names (see prefetch): every vmlinux and module entry
    // whose essential-name hash is one of theirs (hash collisions included: lookups compare names).
    struct batch_entries {
        using entry = name_pass::entry;
        std::vector<std::uint32_t> hashes;                      // the names', sorted
        std::vector<entry> vmlinux, modules;                    // sorted: by hash, then id / module then id
        bool with_modules = false;                              // whether the modules were read (else vmlinux only)

        [[nodiscard]] bool covers(std::uint32_t h) const noexcept { return std::binary_search(hashes.begin(), hashes.end(), h); }
        // Calls f(value) for the entries of `list` with hash h, in order.
        template <class F>
        static void each(const std::vector<entry>& list, std::uint32_t h, F&& f) {
            auto at = std::lower_bound(list.begin(), list.end(), entry{h, 0});
            for (; at != list.end() && at->first == h; ++at) f(at->second);
        }
        [[nodiscard]] std::size_t memory_bytes() const noexcept {
            return hashes.capacity() * sizeof(std::uint32_t) + (vmlinux.capacity() + modules.capacity()) * sizeof(entry);
        }
    };

    // One round of candidates accepted by `keep`: vmlinux, then modules (if vmlinux had none, or always).
    template <class Keep>
    status collect_round(std::string_view essential, bool all, std::vector<candidate>& out, Keep&& keep) const {
        const std::size_t before = out.size();
        for_each_vmlinux(essential, [&](std::uint32_t id) {
            if (keep(*vmlinux_, id)) out.push_back(candidate{vmlinux_, id, 0});
        });
        if (out.size() != before && !all) return {};
        return for_each_module_hit(essential, [&](std::uint32_t t, const btf& b, std::uint32_t id) {
            if (keep(b, id)) out.push_back(candidate{&b, id, t});
        });
    }

    status collect_modules(const type& local_t, std::string_view essential, bool fwd_ext, std::vector<candidate>& out) const {
        const kind lk = local_t.kind();
        if (!indexed_kind(lk)) {  // not in the index: libbpf's scan over every module, in order
            for (std::uint32_t t = 1; t <= modules_.size(); ++t) {
                if (const btf* b = open_module(t)) scan_candidates(*b, t, b->first_id(), local_t, essential, fwd_ext, out);
            }
            return {};
        }
        const std::size_t before = out.size();
        if (fwd_ext && lk == kind::fwd) {
            BTFKIT_TRY(for_each_module_hit(essential, [&](std::uint32_t t, const btf& b, std::uint32_t id) {
                if (fwd_resolves_to(lk, local_t.kflag(), b[id].kind())) out.push_back(candidate{&b, id, t});
            }));
            if (out.size() != before) return {};
        }
        return for_each_module_hit(essential, [&](std::uint32_t t, const btf& b, std::uint32_t id) {
            if (kinds_core_compat(b[id].kind(), lk)) out.push_back(candidate{&b, id, t});
        });
    }

    // Built, or borrowed from a cache (a built or borrowed index has at least 16 slots).
    [[nodiscard]] bool vmlinux_indexed() const noexcept { return !vmlinux_index_.slots().empty(); }

    // Calls f(id) for vmlinux's indexed types with this essential name, in id order: from its name
    // index, or from a prefetch pass that took the name before the index existed; else it is built now.
    template <class F>
    void for_each_vmlinux(std::string_view essential, F&& f) const {
        if (!vmlinux_indexed()) {
            const std::uint32_t h = name_hash(essential);
            if (batch_.covers(h)) {
                batch_entries::each(batch_.vmlinux, h, [&](std::uint32_t id) {
                    if (essential_name((*vmlinux_)[id].name()) == essential) f(id);
                });
                return;
            }
            build_vmlinux_index();
        }
        vmlinux_index_.for_each(*vmlinux_, essential, f);
    }

    // Calls f(target, module btf, id) for module types with this essential name, in module order then id order.
    template <class F>
    status for_each_module_hit(std::string_view essential, F&& f) const {
        if (modules_.empty()) return {};
        return module_entries(essential, [&](std::uint32_t t, std::uint32_t local) {
            const btf* b = open_module(t);
            if (b == nullptr) return;
            const std::uint32_t id = b->first_id() + local;
            if (id >= b->type_count()) return;
            if (essential_name((*b)[id].name()) == essential) f(t, *b, id);
        });
    }

    // Calls f(target, own index) for the module entries whose hash is the name's (hash collisions
    // included: the caller compares names), in module order then id order: from a prefetch pass
    // that took the name, or the module index (built now if need be).
    template <class F>
    status module_entries(std::string_view essential, F&& f) const {
        const std::uint32_t h = name_hash(essential);
        auto packed_entry = [&](std::uint32_t packed) {
            const std::uint32_t t = (packed >> local_bits) + 1;
            if (t <= modules_.size()) f(t, packed & ((1u << local_bits) - 1));
        };
        if (!index_built_ && batch_.with_modules && batch_.covers(h)) {
            batch_entries::each(batch_.modules, h, packed_entry);
            return {};
        }
        BTFKIT_TRY(ensure_index());
        const std::uint32_t bucket = h & module_mask_;
        // Bounds hold for a built index; the checks are for one borrowed from a corrupt cache file.
        const std::size_t end = std::min<std::size_t>(module_start_[bucket + 1], module_entries_.size() / 2);
        for (std::size_t i = module_start_[bucket]; i < end; ++i) {
            if (module_entries_[2 * i] == h) packed_entry(module_entries_[2 * i + 1]);
        }
        return {};
    }

    // Reads module i (0-based) into `buf` and calls emit(hash, packed entry) for each of its indexed
    // named types; an error means the module is to be skipped.
    template <class Emit>
    status read_and_index(std::uint32_t i, byte_buffer& buf, Emit&& emit) const {
        if (!loader_) return error(errc::not_found, "no module loader");
        BTFKIT_TRY(loader_(i + 1, buf));
        return detail::index_module(i, byte_span(buf.data(), buf.size()), vmlinux_, vmlinux_->type_count(), emit);
    }

    [[nodiscard]] status check_module_count() const {
        const auto n = static_cast<std::uint32_t>(modules_.size());
        if (n >= (1u << (32 - local_bits))) return error(errc::unsupported, "too many modules for the index").got(n);
        return {};
    }

    // Marks failed, in module order (the order warnings come in), the modules of these (index, why) pairs.
    void fail_in_order(std::vector<std::pair<std::uint32_t, error>>& failures) const {
        std::sort(failures.begin(), failures.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        for (auto& [i, e] : failures) fail(*modules_[i], e);
    }

    // prefetch's one pass (see there): vmlinux's entries for these names if it has no index yet, and,
    // if `scan_modules`, every module's, opening the modules that have any.
    status scan_batch(std::span<const std::string_view> essentials, bool scan_modules) const {
        if (scan_modules) BTFKIT_TRY(check_module_count());
        std::vector<bool> skip;
        for (const auto& m : modules_) skip.push_back(m->failed);
        name_pass p(essentials, scan_modules ? static_cast<std::uint32_t>(modules_.size()) : 0u, loader_, std::move(skip));
        p.base_parsed(*vmlinux_);
        p.start();
        return take_pass(p);
    }

    // Runs the rest of pass p (see adopt) and keeps what it found.
    status take_pass(name_pass& p) const {
        if (p.module_count() != 0) BTFKIT_TRY(check_module_count());
        p.finish(!vmlinux_indexed());
        // Outcomes in module order: the failures to read (as the module index reports them), then
        // the failures to parse (as opening reports them).
        for (auto list : {&name_pass::share::unread, &name_pass::share::unparsed}) {
            std::vector<std::pair<std::uint32_t, error>> all;
            for (auto& o : p.shares_) std::move((o.*list).begin(), (o.*list).end(), std::back_inserter(all));
            fail_in_order(all);
        }
        batch_entries found;
        found.hashes = p.hashes_;
        found.vmlinux = std::move(p.vmlinux_hits_);
        found.with_modules = p.module_count() != 0;
        for (auto& o : p.shares_) {
            for (auto& [j, b] : o.opened) modules_[j]->parsed.emplace(std::move(b));
            found.modules.insert(found.modules.end(), o.hits.begin(), o.hits.end());
            arena_.adopt(std::move(o.arena));
        }
        std::sort(found.modules.begin(), found.modules.end());
        batch_ = std::move(found);
        return {};
    }

    const btf* open_module(std::uint32_t t) const {
        module& m = *modules_[t - 1];
        if (m.parsed) return &*m.parsed;
        if (m.failed || !loader_) return nullptr;
        auto bytes = load_into(t, scratch_, arena_);
        if (!bytes) {
            fail(m, bytes.error());
            return nullptr;
        }
        auto b = btf::parse(*bytes, vmlinux_, &arena_);
        if (!b) {
            fail(m, b.error());
            return nullptr;
        }
        m.parsed.emplace(std::move(*b));
        return &*m.parsed;
    }

    // Module t's bytes, read by the loader into `buf` (whose blocks come from `a`) and left in `a`: in
    // the buffer's own block if they fill most of it (the buffer then starts afresh), else copied.
    result<byte_span> load_into(std::uint32_t t, byte_buffer& buf, chunk_arena& a) const {
        BTFKIT_TRY(loader_(t, buf));
        if (buf.capacity() - buf.size() <= buf.size() / 2 + 4096) {
            const byte_span kept(buf.data(), buf.size());
            buf = byte_buffer(default_init_allocator<char>(&a));  // the old block is not given back
            return kept;
        }
        return a.keep(byte_span(buf.data(), buf.size()));
    }

    void fail(module& m, const error& e) const {
        fail(m, e.message());
        m.io_failure = e.code == errc::io;
    }
    void fail(module& m, std::string why) const {
        m.failed = true;
        warnings_.push_back("module " + m.name + " skipped: " + why);
        m.failure = std::move(why);
    }

    status ensure_index() const {
        if (index_built_) return {};
        BTFKIT_TRY(check_module_count());
        const auto n = static_cast<std::uint32_t>(modules_.size());
        // Each worker reads its share of modules into one reused buffer and emits (hash, packed) pairs.
        struct worker_out {
            big_vector<std::uint32_t> pairs;
            std::vector<std::pair<std::uint32_t, error>> failures;
        };
        const unsigned threads = n >= 64 ? 2u : 1u;
        std::vector<worker_out> outs(threads);
        auto work = [&](unsigned w) {
            byte_buffer buf;
            if (threads == 2) buf.reserve(detail::huge_block_bytes);  // many modules: one huge page, no fault per 4 KiB
            worker_out& o = outs[w];
            for (std::uint32_t i = w; i < n; i += threads) {
                if (modules_[i]->failed) continue;
                const std::size_t before = o.pairs.size();
                const status st = read_and_index(i, buf, [&](std::uint32_t h, std::uint32_t packed) {
                    o.pairs.push_back(h);
                    o.pairs.push_back(packed);
                });
                if (!st) {
                    o.pairs.resize(before);
                    o.failures.emplace_back(i, st.error());
                }
            }
        };
        if (threads == 2) detail::run_both([&] { work(0); }, [&] { work(1); });
        else work(0);
        std::vector<std::pair<std::uint32_t, error>> failures;
        for (auto& o : outs) std::move(o.failures.begin(), o.failures.end(), std::back_inserter(failures));
        fail_in_order(failures);
        std::size_t total = 0;
        for (auto& o : outs) total += o.pairs.size() / 2;
        std::uint32_t buckets = 1;
        while (buckets < total / 2 + 1) buckets <<= 1;
        module_mask_ = buckets - 1;
        auto& start = module_start_.own();
        start.assign(buckets + 1, 0);
        for (auto& o : outs)
            for (std::size_t k = 0; k < o.pairs.size(); k += 2) ++start[(o.pairs[k] & module_mask_) + 1];
        for (std::uint32_t i = 0; i < buckets; ++i) start[i + 1] += start[i];
        std::vector<std::uint32_t> fill(start.begin(), start.end() - 1);
        auto& entries = module_entries_.own();
        entries.assign(2 * total, 0);
        // Place in module order (worker outputs interleave modules; order within a bucket follows
        // module index so that hits come out in module order).
        std::vector<std::size_t> pos(threads, 0);
        for (std::uint32_t i = 0; i < n; ++i) {
            worker_out& o = outs[i % threads];
            std::size_t& p = pos[i % threads];
            while (p < o.pairs.size() && (o.pairs[p + 1] >> local_bits) == i) {
                const std::uint32_t slot = fill[o.pairs[p] & module_mask_]++;
                entries[2 * slot] = o.pairs[p];
                entries[2 * slot + 1] = o.pairs[p + 1];
                p += 2;
            }
        }
        index_built_ = true;
        if (listener_) listener_(*this);
        return {};
    }

    const btf* vmlinux_;
    mutable name_index vmlinux_index_;
    mutable named_hashes vmlinux_hashes_{};
    // Opened modules' bytes and id tables (and the loader's buffer): it outlives everything that
    // points into it, since members go in reverse order.
    mutable chunk_arena arena_{};
    std::vector<std::unique_ptr<module>> modules_{};
    loader loader_{};
    upper_resolver resolver_{};
    std::function<void(const target_set&)> listener_{};
    mutable std::vector<std::string> warnings_{};
    mutable byte_buffer scratch_{default_init_allocator<char>(&arena_)};  // what the loader reads
    mutable bool index_built_ = false;
    mutable std::uint32_t module_mask_ = 0;
    mutable detail::u32_table module_start_{};    // bucket -> first entry (CSR), buckets + 1 values
    mutable detail::u32_table module_entries_{};  // pairs: hash, (module << local_bits) | own index
    mutable batch_entries batch_{};
};

}  // namespace btfkit
