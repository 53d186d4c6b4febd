// The name pass: the answer to lookups of a known set of names in one name space, found in one pass
// over vmlinux and every module on two threads, without building the indexes.
#pragma once

#include <algorithm>
#include <iterator>
#include <atomic>
#include <bitset>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "../format/btf.hpp"
#include "../index/module_index.hpp"
#include "../index/name_hash.hpp"
#include "../index/name_hits.hpp"
#include "../index/name_index.hpp"
#include "../memory.hpp"
#include "threads.hpp"

namespace btfkit {

// Every module is read once and its names hashed; the entries of these names are kept and the
// modules that have any are parsed; vmlinux is scanned for the names too. Two threads take modules a
// few at a time.
// It can start before vmlinux is parsed (file_targets does, given target_options::prefetch): a
// module's walk needs only vmlinux's strings (base_strings_known) and its parse needs vmlinux parsed
// (base_parsed); a module read before then waits, in memory freed when the pass ends. A module whose
// walk over the strings alone fails is walked again over parsed vmlinux, so its warning is the same.
// target_set::prefetch runs one, and target_set::adopt takes one started earlier.
class name_pass {
public:
    using entry = name_hits::entry;

    // What the pass found: the hits, the modules opened (parsed over vmlinux, their bytes and tables
    // in `arenas`) and the modules that failed, each list in module order.
    struct outcome {
        name_hits hits;
        std::vector<std::pair<std::uint32_t, btf>> opened;
        std::vector<std::pair<std::uint32_t, error>> unread, unparsed;  // (module index, why)
        std::vector<chunk_arena> arenas;
    };

    // `keys`: essential names (whole names for symbols) of name space `sp`. `skip[i]`: module i is not
    // read (it failed before). Nothing runs until start() or finish.
    name_pass(std::span<const std::string_view> keys, std::uint32_t module_count, module_loader load,
              std::vector<bool> skip = {}, name_space sp = name_space::types)
        : modules_(module_count), load_(std::move(load)), skip_(std::move(skip)), space_(sp) {
        for (const std::string_view e : keys) hashes_.push_back(name_hash(e));
        std::sort(hashes_.begin(), hashes_.end());
        hashes_.erase(std::unique(hashes_.begin(), hashes_.end()), hashes_.end());
        for (const std::uint32_t h : hashes_) filter_[h & 4095] = true;
        // A bit per pair of first bytes of the names (a one-letter name: followed by NUL, or by the
        // '_' of "___"): vmlinux's names are tried on it before hashing.
        for (const std::string_view e : keys) {
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
    [[nodiscard]] const btf* base() const noexcept { return vmlinux_; }
    [[nodiscard]] name_space space() const noexcept { return space_; }

    // The rest of the pass, here, once vmlinux is parsed: vmlinux's entries (if `scan_vmlinux`),
    // modules until none is left, then waiting for the second thread. Once only.
    [[nodiscard]] outcome finish(bool scan_vmlinux) {
        outcome out;
        out.hits.hashes = hashes_;
        out.hits.has_vmlinux = scan_vmlinux;
        out.hits.has_modules = modules_ != 0;
        if (scan_vmlinux) out.hits.vmlinux = scan(*vmlinux_);
        work(shares_[0]);
        helper_.join();
        for (auto& o : shares_) {
            out.hits.modules.insert(out.hits.modules.end(), o.hits.begin(), o.hits.end());
            std::move(o.opened.begin(), o.opened.end(), std::back_inserter(out.opened));
            std::move(o.unread.begin(), o.unread.end(), std::back_inserter(out.unread));
            std::move(o.unparsed.begin(), o.unparsed.end(), std::back_inserter(out.unparsed));
            out.arenas.push_back(std::move(o.arena));
        }
        std::sort(out.hits.modules.begin(), out.hits.modules.end());
        auto by_module = [](const auto& a, const auto& b) { return a.first < b.first; };
        std::sort(out.opened.begin(), out.opened.end(), by_module);
        std::sort(out.unread.begin(), out.unread.end(), by_module);
        std::sort(out.unparsed.begin(), out.unparsed.end(), by_module);
        return out;
    }

private:
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
    // Whether a name's first two bytes are those of a name wanted. `name` is NUL-terminated in its
    // string table, and not empty (so name[1] is at most its NUL).
    [[nodiscard]] bool pair_wanted(const char* name) const noexcept {
        return pairs_[pair_of(static_cast<unsigned char>(name[0]), static_cast<unsigned char>(name[1]))];
    }
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

    // vmlinux's entries for the names, sorted.
    [[nodiscard]] std::vector<entry> scan(const btf& v) const {
        std::vector<entry> hits;
        // The named types of the space: the parse's list for types, one walk for symbols.
        const std::vector<std::uint32_t> walked = space_ == name_space::types ? std::vector<std::uint32_t>{} : detail::named_in(v, space_);
        for (const std::uint32_t rel : space_ == name_space::types ? v.named_indexed() : std::span<const std::uint32_t>(walked)) {
            const std::uint32_t id = v.first_id() + rel;
            const std::uint32_t off = v.name_off_of(id);
            const char* p = off != 0 ? v.string_ptr(off) : nullptr;
            if (p == nullptr || *p == 0) continue;
            std::uint32_t h = 0;
            if (!pair_wanted(p) || !space_hash_at(space_, p, v.string_table_end(off), h)) continue;
            if (wanted(h)) hits.emplace_back(h, id);
        }
        std::sort(hits.begin(), hits.end());
        return hits;
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
        auto want = [this](const char* name) { return pair_wanted(name); };
        const status st = s == parsed ? index_module(j, bytes, vmlinux_, vmlinux_->type_count(), space_, emit, want)
                                      : index_module(j, bytes, strings_, 0, space_, emit, want);
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
    name_space space_;
    std::vector<std::uint32_t> hashes_{};  // the names', sorted
    std::bitset<4096> filter_{};           // a bit per (hash mod 4096): most names are out after one load
    std::bitset<65536> pairs_{};
    std::atomic<int> stage_{none};
    base_strings strings_{};
    const btf* vmlinux_ = nullptr;
    std::atomic<std::uint32_t> next_{0};
    share shares_[2]{share(std::size_t{64} << 10), share(detail::huge_block_bytes)};  // the caller's, the helper's
    bool two_ = false;
    detail::helper_thread helper_{};  // last: joined first, while the rest is still there
};

}  // namespace btfkit
