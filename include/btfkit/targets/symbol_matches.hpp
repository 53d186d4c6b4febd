// The FUNCs (or VARs) whose names match a shell pattern across vmlinux and the modules, as a lazy
// range: what `btfkit funcs` lists, and what a loader attaching one program to `fentry/tcp_*` walks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <ranges>
#include <string_view>
#include <vector>

#include "../core/candidates.hpp"
#include "../error.hpp"
#include "../format/btf.hpp"
#include "../index/name_glob.hpp"
#include "target_set.hpp"

namespace btfkit {

// The matches, in target order (vmlinux, then the modules in order) and id order within a target. The
// patterns are borrowed (their text must outlive the range), and so is the target set, which must not
// get more modules meanwhile.
class symbol_matches {
public:
    // Ids [first, last) of one target that may hold matches.
    struct segment {
        std::uint32_t target = 0, first = 0, last = 0;
    };

    symbol_matches() = default;  // no matches

    // Symbols of kind `k` (FUNC or VAR) named as `names` says, in the BTFs whose names ("vmlinux", a
    // module's) match `in`. Preparing is the costly part: a plain name is looked up in the symbols
    // indexes (built when first needed, or borrowed from an index cache); a pattern reads every module
    // not open yet once, on two threads, and opens those that hold a match (no index knows patterns).
    [[nodiscard]] static result<symbol_matches> find(target_set& set, name_glob names, kind k = kind::func, name_glob in = name_glob("*")) {
        symbol_matches m(set, names, k);
        if (names.is_literal()) {
            for (const target_group g : {target_group::vmlinux, target_group::modules}) {
                BTFKIT_TRY(set.for_each_named(g, names.pattern(), name_space::symbols, [&](const btf& b, std::uint32_t id, std::uint32_t t) {
                    if (b.kind_of(id) == k && in.matches(set.target_name(t))) m.segments_.push_back(segment{t, id, id + 1});
                }));
            }
            return m;
        }
        if (in.matches(set.target_name(0))) m.segments_.push_back(segment{0, set.vmlinux().first_id(), set.vmlinux().type_count()});
        const auto wanted = [k, names](kind tk, const char* name) { return tk == k && starts_with(name, names.literal_prefix()) && names.matches(name); };
        for (const std::uint32_t t : set.open_modules_where(name_space::symbols, [&](std::string_view module) { return in.matches(module); }, wanted)) {
            const btf& b = *set.module_btf(t);
            m.segments_.push_back(segment{t, b.first_id(), b.type_count()});
        }
        return m;
    }

    class iterator {
    public:
        using value_type = candidate;
        using difference_type = std::ptrdiff_t;
        iterator() = default;
        [[nodiscard]] candidate operator*() const noexcept { return candidate{b_, id_, m_->segments_[seg_].target}; }
        iterator& operator++() noexcept {
            ++id_;
            settle();
            return *this;
        }
        iterator operator++(int) noexcept {
            iterator t = *this;
            ++*this;
            return t;
        }
        [[nodiscard]] bool operator==(const iterator& o) const noexcept { return seg_ == o.seg_ && id_ == o.id_; }
        [[nodiscard]] bool operator==(std::default_sentinel_t) const noexcept { return m_ == nullptr || seg_ == m_->segments_.size(); }

    private:
        friend class symbol_matches;
        explicit iterator(const symbol_matches& m) noexcept : m_(&m) {
            enter();
            settle();
        }
        void enter() noexcept {
            if (seg_ == m_->segments_.size()) return;
            b_ = m_->set_->module_btf(m_->segments_[seg_].target);
            id_ = m_->segments_[seg_].first;
        }
        // On to the first match from (seg_, id_): the kind, then the literal prefix straight from the
        // string table (most names fail on their first byte), then the whole pattern.
        void settle() noexcept {
            const std::string_view pre = m_->names_.literal_prefix();
            while (seg_ < m_->segments_.size()) {
                for (const std::uint32_t last = m_->segments_[seg_].last; id_ < last; ++id_) {
                    if (b_->kind_of(id_) != m_->kind_) continue;
                    const char* p = b_->string_ptr(b_->name_off_of(id_));
                    if (p == nullptr || !starts_with(p, pre)) continue;
                    if (m_->names_.matches(p)) return;
                }
                ++seg_;
                enter();
            }
        }
        const symbol_matches* m_ = nullptr;
        std::size_t seg_ = 0;
        const btf* b_ = nullptr;
        std::uint32_t id_ = 0;
    };

    [[nodiscard]] iterator begin() const noexcept { return iterator(*this); }
    [[nodiscard]] std::default_sentinel_t end() const noexcept { return {}; }
    // Where the matches may be (the range walks these ids).
    [[nodiscard]] const std::vector<segment>& segments() const noexcept { return segments_; }

private:
    symbol_matches(const target_set& set, name_glob names, kind k) : set_(&set), names_(names), kind_(k) {}
    // Whether NUL-terminated `p` starts with `pre`: most names fail on their first byte, before any strlen.
    [[nodiscard]] static bool starts_with(const char* p, std::string_view pre) noexcept {
        for (std::size_t i = 0; i < pre.size(); ++i) {
            if (p[i] != pre[i] || p[i] == 0) return false;  // p ends at its NUL
        }
        return true;
    }

    const target_set* set_ = nullptr;
    name_glob names_{};
    kind kind_ = kind::func;
    std::vector<segment> segments_{};
};

static_assert(std::input_iterator<symbol_matches::iterator>);
static_assert(std::ranges::input_range<symbol_matches>);

}  // namespace btfkit
