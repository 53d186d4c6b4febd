// Errors as values: an error code, a static description, the place it refers to and the name of its
// subject (owned); a result type.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace btfkit {

enum class errc : std::uint8_t {
    ok = 0,
    truncated,        // data ends before a structure does
    bad_magic,        // not BTF / not ELF / not what was expected
    unsupported,      // valid but not handled (version, ELF class, relocation kind, ...)
    bad_header,       // inconsistent header fields
    out_of_range,     // an offset, length or count points outside its container
    bad_string,       // string offset outside the string table or not terminated
    bad_type_id,      // a type id past the last type
    bad_kind,         // a kind number we do not know, or a kind where another was required
    type_loop,        // a reference chain that does not end
    too_deep,         // nesting beyond a fixed bound
    bad_access,       // malformed or out-of-range CO-RE access string
    bad_instruction,  // an instruction that cannot carry the relocation
    ambiguous,        // candidates disagree
    not_found,        // a named thing is absent
    io,               // the operating system said no
};

[[nodiscard]] constexpr std::string_view to_string(errc e) noexcept {
    switch (e) {
    case errc::ok: return "ok";
    case errc::truncated: return "truncated";
    case errc::bad_magic: return "bad magic";
    case errc::unsupported: return "unsupported";
    case errc::bad_header: return "bad header";
    case errc::out_of_range: return "out of range";
    case errc::bad_string: return "bad string";
    case errc::bad_type_id: return "bad type id";
    case errc::bad_kind: return "bad kind";
    case errc::type_loop: return "type loop";
    case errc::too_deep: return "too deep";
    case errc::bad_access: return "bad access string";
    case errc::bad_instruction: return "bad instruction";
    case errc::ambiguous: return "ambiguous";
    case errc::not_found: return "not found";
    case errc::io: return "I/O error";
    }
    return "unknown error";
}

// Where an error is. Each field is optional; `set` says which are present.
struct location {
    enum field : std::uint8_t { f_section = 1, f_offset = 2, f_type = 4, f_index = 8, f_value = 16, f_limit = 32 };
    const char* section = nullptr;  // e.g. ".BTF.ext" or "BTF types"
    const char* index_label = nullptr;  // e.g. "member", "relocation"
    std::uint64_t offset = 0;
    std::uint64_t value = 0;
    std::uint64_t limit = 0;
    std::uint32_t type_id = 0;
    std::uint32_t index = 0;
    std::uint8_t set = 0;
};

// Text an error owns, such as the file or module it is about: empty (no allocation), or a copy made
// when it is set, so that an error outlives the strings it was built from. Where memory runs out at
// run time the text is dropped rather than the error.
class owned_text {
public:
    constexpr owned_text() noexcept = default;
    constexpr explicit owned_text(std::string_view s) noexcept { assign(s); }
    constexpr owned_text(const owned_text& o) noexcept { assign(o.view()); }
    constexpr owned_text(owned_text&& o) noexcept : p_(std::exchange(o.p_, nullptr)), n_(std::exchange(o.n_, 0)) {}
    constexpr owned_text& operator=(owned_text o) noexcept {
        std::swap(p_, o.p_);
        std::swap(n_, o.n_);
        return *this;
    }
    constexpr ~owned_text() { delete[] p_; }

    [[nodiscard]] constexpr std::string_view view() const noexcept { return p_ != nullptr ? std::string_view(p_, n_) : std::string_view{}; }
    [[nodiscard]] constexpr bool empty() const noexcept { return n_ == 0; }

private:
    constexpr void assign(std::string_view s) noexcept {
        if (s.empty()) return;
        p_ = std::is_constant_evaluated() ? new char[s.size()] : new (std::nothrow) char[s.size()];
        if (p_ == nullptr) return;
        for (std::size_t i = 0; i < s.size(); ++i) p_[i] = s[i];
        n_ = s.size();
    }
    char* p_ = nullptr;
    std::size_t n_ = 0;
};

struct [[nodiscard]] error {
    errc code = errc::ok;
    const char* what = "";  // static description of what is wrong
    location where{};
    owned_text subject{};  // e.g. the file or module the error came from

    constexpr error() noexcept = default;
    constexpr error(errc c, const char* w) noexcept : code(c), what(w) {}

    // Builders return a copy, so they chain on temporaries and on a result's const error alike.
    [[nodiscard]] constexpr error in_section(const char* s) const noexcept { error e = *this; e.where.section = s; e.where.set |= location::f_section; return e; }
    [[nodiscard]] constexpr error at_offset(std::uint64_t o) const noexcept { error e = *this; e.where.offset = o; e.where.set |= location::f_offset; return e; }
    [[nodiscard]] constexpr error at_type(std::uint32_t id) const noexcept { error e = *this; e.where.type_id = id; e.where.set |= location::f_type; return e; }
    [[nodiscard]] constexpr error at_index(const char* label, std::uint32_t i) const noexcept {
        error e = *this; e.where.index_label = label; e.where.index = i; e.where.set |= location::f_index; return e;
    }
    [[nodiscard]] constexpr error got(std::uint64_t v) const noexcept { error e = *this; e.where.value = v; e.where.set |= location::f_value; return e; }
    [[nodiscard]] constexpr error limit(std::uint64_t l) const noexcept { error e = *this; e.where.limit = l; e.where.set |= location::f_limit; return e; }
    [[nodiscard]] constexpr error about(std::string_view s) const noexcept { error e = *this; e.subject = owned_text(s); return e; }

    [[nodiscard]] constexpr bool has(location::field f) const noexcept { return (where.set & f) != 0; }

    // "vmlinux: type #4711: member 3: refers to a type past the end (got 999999, limit 120504) [bad type id]"
    [[nodiscard]] std::string message() const {
        std::string out;
        auto sep = [&out] { if (!out.empty()) out += ": "; };
        if (!subject.empty()) out.append(subject.view());
        if (has(location::f_section)) { sep(); out += "section "; out += where.section; }
        if (has(location::f_offset)) {
            out += has(location::f_section) ? " at offset " : (sep(), "offset ");
            out += std::to_string(where.offset);
        }
        if (has(location::f_type)) { sep(); out += "type #"; out += std::to_string(where.type_id); }
        if (has(location::f_index)) {
            sep();
            out += where.index_label ? where.index_label : "index";
            out += ' ';
            out += std::to_string(where.index);
        }
        sep();
        out += what;
        if (has(location::f_value) || has(location::f_limit)) {
            out += " (";
            if (has(location::f_value)) { out += "got "; out += std::to_string(where.value); }
            if (has(location::f_value) && has(location::f_limit)) out += ", ";
            if (has(location::f_limit)) { out += "limit "; out += std::to_string(where.limit); }
            out += ')';
        }
        out += " [";
        out += to_string(code);
        out += ']';
        return out;
    }
};

// A value or an error. T must be default-constructible (views and small structs are).
template <class T>
class [[nodiscard]] result {
public:
    using value_type = T;
    constexpr result(const T& v) : value_(v) {}
    constexpr result(T&& v) noexcept(std::is_nothrow_move_constructible_v<T>) : value_(std::move(v)) {}
    constexpr result(const error& e) noexcept : error_(e) {}
    constexpr result(btfkit::error&& e) noexcept : error_(std::move(e)) {}

    [[nodiscard]] constexpr bool has_value() const noexcept { return error_.code == errc::ok; }
    constexpr explicit operator bool() const noexcept { return has_value(); }

    [[nodiscard]] constexpr T& value() & noexcept { return value_; }
    [[nodiscard]] constexpr const T& value() const& noexcept { return value_; }
    [[nodiscard]] constexpr T&& value() && noexcept { return std::move(value_); }
    constexpr T& operator*() & noexcept { return value_; }
    constexpr const T& operator*() const& noexcept { return value_; }
    constexpr T&& operator*() && noexcept { return std::move(value_); }
    constexpr T* operator->() noexcept { return &value_; }
    constexpr const T* operator->() const noexcept { return &value_; }

    [[nodiscard]] constexpr const btfkit::error& error() const noexcept { return error_; }
    [[nodiscard]] constexpr T value_or(T other) const { return has_value() ? value_ : other; }

private:
    T value_{};
    btfkit::error error_{};
};

template <>
class [[nodiscard]] result<void> {
public:
    constexpr result() noexcept = default;
    constexpr result(const error& e) noexcept : error_(e) {}
    constexpr result(btfkit::error&& e) noexcept : error_(std::move(e)) {}
    [[nodiscard]] constexpr bool has_value() const noexcept { return error_.code == errc::ok; }
    constexpr explicit operator bool() const noexcept { return has_value(); }
    [[nodiscard]] constexpr const btfkit::error& error() const noexcept { return error_; }

private:
    btfkit::error error_{};
};

using status = result<void>;

}  // namespace btfkit

// Propagate an error from an expression yielding a result; usable in constexpr functions.
#define BTFKIT_TRY(...)                                               \
    do {                                                              \
        if (auto btfkit_try_r_ = (__VA_ARGS__); !btfkit_try_r_) {     \
            return btfkit_try_r_.error();                             \
        }                                                             \
    } while (0)
