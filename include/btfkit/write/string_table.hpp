// BTF string tables for writing: a table that stores each string once, in first-added order, and an
// index of a parsed BTF's strings (so that split BTF reuses its base's strings, as libbpf does).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "../error.hpp"
#include "../format/btf.hpp"

namespace btfkit {

namespace detail {

[[nodiscard]] constexpr std::uint32_t string_hash(std::string_view s) noexcept {
    std::uint32_t h = 2166136261u;  // FNV-1a
    for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
    return h;
}

// An open-addressed set of string offsets keyed by the strings they name; `string_of(off)` reads a
// stored string back. Slots hold offset + 1 (0: empty); the table doubles at half load.
class offset_set {
public:
    template <class StringOf>
    [[nodiscard]] constexpr std::optional<std::uint32_t> find(std::string_view s, StringOf&& string_of) const {
        if (slots_.empty()) return std::nullopt;
        const std::size_t mask = slots_.size() - 1;
        for (std::size_t i = string_hash(s) & mask;; i = (i + 1) & mask) {
            const std::uint32_t v = slots_[i];
            if (v == 0) return std::nullopt;
            if (string_of(v - 1) == s) return v - 1;
        }
    }
    // Adds `off` for `s`, which the caller has found absent.
    template <class StringOf>
    constexpr void insert(std::string_view s, std::uint32_t off, StringOf&& string_of) {
        if (2 * (count_ + 1) > slots_.size()) grow(string_of);
        place(string_hash(s), off);
        ++count_;
    }
    constexpr void reserve(std::size_t strings) {
        std::size_t n = 16;
        while (n < 2 * strings) n *= 2;
        if (n > slots_.size()) slots_ = zeros(n);  // only while empty
    }
    [[nodiscard]] constexpr std::size_t size() const noexcept { return count_; }

private:
    // push_back, not a sized constructor: that one is not constant-evaluable with every library.
    static constexpr std::vector<std::uint32_t> zeros(std::size_t n) {
        std::vector<std::uint32_t> v;
        v.reserve(n);
        for (std::size_t i = 0; i < n; ++i) v.push_back(0);
        return v;
    }
    constexpr void place(std::uint32_t h, std::uint32_t off) {
        const std::size_t mask = slots_.size() - 1;
        std::size_t i = h & mask;
        while (slots_[i] != 0) i = (i + 1) & mask;
        slots_[i] = off + 1;
    }
    template <class StringOf>
    constexpr void grow(StringOf&& string_of) {
        std::vector<std::uint32_t> old = zeros(slots_.size() < 16 ? 16 : 2 * slots_.size());
        old.swap(slots_);
        for (std::uint32_t v : old) {
            if (v != 0) place(string_hash(string_of(v - 1)), v - 1);
        }
    }

    std::vector<std::uint32_t> slots_{};
    std::size_t count_ = 0;
};

}  // namespace detail

// The strings a BTF being written owns, each stored once. A base table starts with "" at offset 0;
// a split table's offsets continue after its base's strings (`first_offset`), and "" is offset 0 of
// the base.
class string_table {
public:
    // Offsets stay below this: the kernel's limit on a name offset.
    static constexpr std::uint32_t max_offset = 0x7fffffffu;

    constexpr string_table() : bytes_{'\0'} {}
    constexpr explicit string_table(std::uint32_t first_offset) : first_(first_offset) {
        if (first_offset == 0) bytes_.push_back('\0');
    }

    // The offset of `s`, added if it is new. Fails on a string with a NUL inside it or a table past
    // max_offset.
    constexpr result<std::uint32_t> add(std::string_view s) {
        if (s.empty()) return 0u;
        if (auto found = find(s)) return *found;
        if (s.find('\0') != std::string_view::npos) {
            return error(errc::bad_string, "string has a NUL byte inside it").in_section("BTF strings").got(s.find('\0'));
        }
        const std::uint64_t off = std::uint64_t{first_} + bytes_.size();
        if (off + s.size() > max_offset) {
            return error(errc::out_of_range, "string table too large").in_section("BTF strings").got(off + s.size()).limit(max_offset);
        }
        bytes_.insert(bytes_.end(), s.begin(), s.end());
        bytes_.push_back('\0');
        set_.insert(s, static_cast<std::uint32_t>(off), string_of());
        return static_cast<std::uint32_t>(off);
    }
    // The offset of `s` if this table holds it ("" is always 0).
    [[nodiscard]] constexpr std::optional<std::uint32_t> find(std::string_view s) const {
        if (s.empty()) return 0u;
        return set_.find(s, string_of());
    }
    // The own string at `off` (first_offset() <= off < end_offset(), at a string's start).
    [[nodiscard]] constexpr std::string_view at(std::uint32_t off) const {
        std::string_view out;
        return c_string_at(bytes(), off - first_, out) ? out : std::string_view{};
    }

    [[nodiscard]] constexpr std::uint32_t first_offset() const noexcept { return first_; }
    [[nodiscard]] constexpr std::uint32_t end_offset() const noexcept { return first_ + static_cast<std::uint32_t>(bytes_.size()); }
    [[nodiscard]] constexpr std::span<const char> bytes() const noexcept { return {bytes_.data(), bytes_.size()}; }
    [[nodiscard]] constexpr std::size_t count() const noexcept { return set_.size(); }

private:
    struct reader {
        const string_table* t;
        constexpr std::string_view operator()(std::uint32_t off) const { return t->at(off); }
    };
    [[nodiscard]] constexpr reader string_of() const noexcept { return {this}; }

    std::vector<char> bytes_{};
    detail::offset_set set_{};
    std::uint32_t first_ = 0;
};

// Every string of a parsed BTF and of its bases, found by content; where a string occurs more than
// once, the lowest offset (libbpf's btf__find_str looks in the base first). Build it once for a base
// that many split BTFs are written over.
class string_index {
public:
    constexpr string_index() noexcept = default;

    [[nodiscard]] static constexpr string_index of(const btf& b) {
        string_index idx;
        idx.btf_ = &b;
        std::vector<const btf*> levels;
        for (const btf* l = &b; l != nullptr; l = l->base()) levels.push_back(l);
        std::size_t bytes = 0;
        for (const btf* l : levels) bytes += l->own_strings().size();
        idx.set_.reserve(bytes / 16);
        for (auto l = levels.rbegin(); l != levels.rend(); ++l) {
            const byte_span s = (*l)->own_strings();
            for (std::size_t i = 0; i < s.size();) {
                std::size_t e = i;
                while (e < s.size() && s[e] != '\0') ++e;
                const std::string_view str(s.data() + i, e - i);
                if (!str.empty() && !idx.set_.find(str, idx.string_of())) {
                    idx.set_.insert(str, (*l)->first_string() + static_cast<std::uint32_t>(i), idx.string_of());
                }
                i = e + 1;
            }
        }
        return idx;
    }

    [[nodiscard]] constexpr std::optional<std::uint32_t> find(std::string_view s) const {
        if (s.empty()) return 0u;
        return set_.find(s, string_of());
    }
    [[nodiscard]] constexpr const btf* indexed() const noexcept { return btf_; }

private:
    struct reader {
        const btf* b;
        constexpr std::string_view operator()(std::uint32_t off) const { return b->string(off); }
    };
    [[nodiscard]] constexpr reader string_of() const noexcept { return {btf_}; }

    const btf* btf_ = nullptr;
    detail::offset_set set_{};
};

}  // namespace btfkit
