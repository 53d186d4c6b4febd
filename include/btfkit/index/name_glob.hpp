// Shell patterns over names, as fnmatch(3) without flags matches them in the C locale: what
// `btfkit funcs GLOB` and lookups by pattern take. constexpr, so the rules are proven at compile time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace btfkit {

namespace detail {

// The C locale's character classes, as [:name:] names them (0: not a class name).
enum class char_class : std::uint8_t { none, alnum, alpha, blank, cntrl, digit, graph, lower, print, punct, space, upper, xdigit };

[[nodiscard]] constexpr char_class char_class_named(std::string_view n) noexcept {
    constexpr std::string_view names[] = {"alnum", "alpha", "blank", "cntrl", "digit", "graph",
                                          "lower", "print", "punct", "space", "upper", "xdigit"};
    for (std::size_t i = 0; i < std::size(names); ++i) {
        if (names[i] == n) return static_cast<char_class>(i + 1);
    }
    return char_class::none;
}

[[nodiscard]] constexpr bool in_char_class(char_class k, unsigned char c) noexcept {
    const bool upper = c >= 'A' && c <= 'Z', lower = c >= 'a' && c <= 'z', digit = c >= '0' && c <= '9';
    const bool graph = c >= 0x21 && c <= 0x7e;
    switch (k) {
    case char_class::alnum: return upper || lower || digit;
    case char_class::alpha: return upper || lower;
    case char_class::blank: return c == ' ' || c == '\t';
    case char_class::cntrl: return c < 0x20 || c == 0x7f;
    case char_class::digit: return digit;
    case char_class::graph: return graph;
    case char_class::lower: return lower;
    case char_class::print: return graph || c == ' ';
    case char_class::punct: return graph && !(upper || lower || digit);
    case char_class::space: return c == ' ' || (c >= '\t' && c <= '\r');
    case char_class::upper: return upper;
    case char_class::xdigit: return digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    case char_class::none: return false;
    }
    return false;
}

// One element of a pattern at a position: where it ends, and whether character c matches it.
struct glob_element {
    std::size_t end = 0;
    bool matches = false;
    bool well_formed = true;  // false: an unterminated [ or bad item, a trailing backslash (see name_glob)
};

// A bracket expression's items in order, from just after `[` (and `!`/`^`); calls on_item(lo, hi) for
// each character or range, on_class(k) for each [:class:], and returns where the expression ends
// (after its `]`), or npos if it does not end (then `[` is an ordinary character). `well_formed` is
// cleared by items fnmatch reads in ways of its own: an unknown class name, [= or [. that is not one
// character, [: that is not a class, a `[` as a range's end, "[.c.]-]".
template <class OnItem, class OnClass>
constexpr std::size_t bracket_items(std::string_view p, std::size_t j, OnItem&& on_item, OnClass&& on_class, bool& well_formed) {
    constexpr std::size_t npos = std::string_view::npos;
    const std::size_t n = p.size();
    // One character at j (escaped, or [.c.] where `collating` allows it): its value and end, or false.
    auto one_char = [&](std::size_t at, bool collating, unsigned char& c, std::size_t& next) {
        if (at >= n) return false;
        if (p[at] == '\\') {
            if (at + 1 >= n) return false;
            c = static_cast<unsigned char>(p[at + 1]);
            next = at + 2;
            return true;
        }
        if (collating && p[at] == '[' && at + 1 < n && p[at + 1] == '.') {
            const std::size_t close = p.find(".]", at + 2);
            if (close == npos) return false;
            if (close != at + 3) well_formed = false;  // fnmatch: "[.ab.]" fails the element
            c = static_cast<unsigned char>(p[at + 2 < close ? at + 2 : at]);
            next = close + 2;
            return true;
        }
        c = static_cast<unsigned char>(p[at]);
        next = at + 1;
        return true;
    };
    for (bool first = true;; first = false) {
        if (j >= n) return npos;
        if (p[j] == ']' && !first) return j + 1;
        if (p[j] == '[' && j + 1 < n && p[j + 1] == ':') {
            std::size_t k = j + 2;
            while (k < n && p[k] >= 'a' && p[k] < 'z') ++k;
            if (k + 1 < n && p[k] == ':' && p[k + 1] == ']') {
                const char_class cls = char_class_named(p.substr(j + 2, k - j - 2));
                if (cls == char_class::none) well_formed = false;
                on_class(cls);
                j = k + 2;
                continue;
            }
            well_formed = false;  // "[:" read as two ordinary characters
        } else if (p[j] == '[' && j + 3 < n && p[j + 1] == '=' && p[j + 3] == '=' && j + 4 < n && p[j + 4] == ']') {
            const auto c = static_cast<unsigned char>(p[j + 2]);
            on_item(c, c);
            j += 5;
            continue;
        } else if (p[j] == '[' && j + 1 < n && p[j + 1] == '=') {
            well_formed = false;
        }
        unsigned char lo = 0, hi = 0;
        std::size_t next = 0;
        if (!one_char(j, true, lo, next)) return npos;
        // fnmatch reads "[.c.]-]" as a range that then is not one: c is no member.
        if (p[j] == '[' && j + 1 < n && p[j + 1] == '.' && next + 1 < n && p[next] == '-' && p[next + 1] == ']') well_formed = false;
        // A range: lo '-' hi, where hi is not the closing ']'.
        if (next + 1 < n && p[next] == '-' && p[next + 1] != ']') {
            std::size_t after = 0;
            if (p[next + 1] == '[' && !(next + 2 < n && p[next + 2] == '.')) well_formed = false;
            if (!one_char(next + 1, true, hi, after)) return npos;
            on_item(lo, hi);
            j = after;
            continue;
        }
        on_item(lo, lo);
        j = next;
    }
}

// The element of pattern p at i (not a '*'), against character c.
[[nodiscard]] constexpr glob_element glob_element_at(std::string_view p, std::size_t i, unsigned char c) noexcept {
    switch (p[i]) {
    case '?':
        return {i + 1, true};
    case '\\':
        if (i + 1 >= p.size()) return {p.size(), false, false};  // a trailing backslash matches nothing
        return {i + 2, static_cast<unsigned char>(p[i + 1]) == c};
    case '[': {
        std::size_t j = i + 1;
        const bool negated = j < p.size() && (p[j] == '!' || p[j] == '^');
        if (negated) ++j;
        bool hit = false, well_formed = true;
        const std::size_t end = bracket_items(
            p, j, [&](unsigned char lo, unsigned char hi) { hit = hit || (lo <= c && c <= hi); },
            [&](char_class k) { hit = hit || in_char_class(k, c); }, well_formed);
        if (end == std::string_view::npos) return {i + 1, c == '[', false};  // unterminated: an ordinary '['
        return {end, hit != negated, well_formed};
    }
    default:
        return {i + 1, static_cast<unsigned char>(p[i]) == c};
    }
}

[[nodiscard]] constexpr bool glob_special(char c) noexcept { return c == '*' || c == '?' || c == '[' || c == '\\'; }

}  // namespace detail

// Whether `name` matches shell pattern `pattern` as fnmatch(pattern, name, 0) decides in the C locale:
// `*` any run of characters, `?` any one, `[...]` one of a set (`!` or `^` first negates; `]` first is
// a member; ranges `a-z` by byte value; classes `[:alpha:]` and the other eleven; `[=c=]`, `[.c.]`),
// `\c` the character c. `/` and a leading `.` are ordinary characters. A `[` that starts no complete
// set is an ordinary character, and a trailing `\` matches nothing. Time: O(pattern x name), one
// backtracking point (the last `*`).
[[nodiscard]] constexpr bool glob_matches(std::string_view pattern, std::string_view name) noexcept {
    constexpr std::size_t none = std::string_view::npos;
    std::size_t pi = 0, si = 0, star_p = none, star_s = 0;
    for (;;) {
        if (pi < pattern.size() && pattern[pi] == '*') {
            while (pi < pattern.size() && pattern[pi] == '*') ++pi;
            star_p = pi;
            star_s = si;
            continue;
        }
        if (pi == pattern.size()) {
            if (si == name.size()) return true;
        } else if (si < name.size()) {
            const detail::glob_element e = detail::glob_element_at(pattern, pi, static_cast<unsigned char>(name[si]));
            if (e.matches) {
                pi = e.end;
                ++si;
                continue;
            }
        }
        // A mismatch: the last '*' takes one more character, if there is one.
        if (star_p == none || star_s >= name.size()) return false;
        si = ++star_s;
        pi = star_p;
    }
}

// A pattern with what lookups need to know about it: its literal prefix (every match starts with it),
// and whether it is a plain name (no special character: it matches that name only).
class name_glob {
public:
    constexpr name_glob() noexcept = default;
    constexpr explicit name_glob(std::string_view pattern) noexcept : pattern_(pattern) {
        while (prefix_ < pattern_.size() && !detail::glob_special(pattern_[prefix_])) ++prefix_;
    }
    [[nodiscard]] constexpr bool matches(std::string_view name) const noexcept {
        if (is_literal()) return name == pattern_;
        return name.substr(0, prefix_) == pattern_.substr(0, prefix_) && glob_matches(pattern_.substr(prefix_), name.substr(prefix_));
    }
    [[nodiscard]] constexpr std::string_view pattern() const noexcept { return pattern_; }
    [[nodiscard]] constexpr std::string_view literal_prefix() const noexcept { return pattern_.substr(0, prefix_); }
    [[nodiscard]] constexpr bool is_literal() const noexcept { return prefix_ == pattern_.size(); }
    // Every `[` starts a complete set of well-formed items and no `\` ends the pattern: the patterns
    // POSIX defines, for which any fnmatch agrees. On others glibc has ways of its own (an
    // unterminated set can fail where a matching member comes first, for one).
    [[nodiscard]] constexpr bool well_formed() const noexcept {
        for (std::size_t i = 0; i < pattern_.size();) {
            if (pattern_[i] == '*') {
                ++i;
                continue;
            }
            const detail::glob_element e = detail::glob_element_at(pattern_, i, 0);
            if (!e.well_formed) return false;
            i = e.end;
        }
        return true;
    }

private:
    std::string_view pattern_{};
    std::size_t prefix_ = 0;
};

}  // namespace btfkit
