// What a BTF value printer shares: the kernel's BTF_F_* flags, a snprintf-like bounded buffer, the
// kernel's type size rule and the `.member = (type)` label of bpf_snprintf_btf().
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>

#include "../format/btf.hpp"
#include "../format/dump.hpp"

namespace btfkit {

// The helper's flags (uapi BTF_F_*), and btfkit's own switch for the kernel's quirks.
inline constexpr std::uint32_t show_compact = 1u << 0;   // BTF_F_COMPACT: no indentation, no newlines
inline constexpr std::uint32_t show_noname = 1u << 1;    // BTF_F_NONAME: no member names, no type names
inline constexpr std::uint32_t show_ptr_raw = 1u << 2;   // BTF_F_PTR_RAW: pointers as they are, not hashed
inline constexpr std::uint32_t show_zero = 1u << 3;      // BTF_F_ZERO: zero-valued members too
inline constexpr std::uint32_t show_kernel_compat = 1u << 8;  // reproduce the kernel's bugs (docs/print.md)
inline constexpr std::uint32_t show_kernel_flags = show_compact | show_noname | show_ptr_raw | show_zero;
// How many members and elements a printer visits (and type nodes its checks walk) before it gives up.
inline constexpr std::uint64_t show_default_steps = std::uint64_t{1} << 22;

// snprintf's contract over a caller's buffer: keeps the first size-1 bytes, NUL-terminated, and counts
// every byte offered, so length() is what a large enough buffer would have held.
class bounded_buffer {
public:
    constexpr bounded_buffer(char* buf, std::size_t size) noexcept : buf_(buf), size_(size) {
        if (size_ != 0) buf_[0] = '\0';
    }
    constexpr void append(const char* p, std::size_t n) noexcept {
        if (size_ != 0 && kept_ < size_ - 1) {
            const std::size_t room = size_ - 1 - kept_;
            const std::size_t k = n < room ? n : room;
            if (std::is_constant_evaluated()) {
                for (std::size_t i = 0; i < k; ++i) buf_[kept_ + i] = p[i];
            } else if (k != 0) {
                std::memcpy(buf_ + kept_, p, k);
            }
            kept_ += k;
            buf_[kept_] = '\0';
        }
        total_ += n;
    }
    [[nodiscard]] constexpr std::size_t length() const noexcept { return total_; }
    [[nodiscard]] constexpr std::string_view text() const noexcept { return {buf_, kept_}; }

private:
    char* buf_;
    std::size_t size_;
    std::size_t kept_ = 0;
    std::size_t total_ = 0;
};

namespace detail {

// A short text built on the stack: numbers and labels are formatted here, then handed to a sink.
template <std::size_t N>
class small_text {
public:
    constexpr void put(char c) noexcept {
        if (n_ < N) buf_[n_++] = c;
    }
    constexpr void put(std::string_view s) noexcept {
        const std::size_t k = s.size() < N - n_ ? s.size() : N - n_;
        if (std::is_constant_evaluated()) {
            for (std::size_t i = 0; i < k; ++i) buf_[n_ + i] = s[i];
        } else if (k != 0) {
            std::memcpy(buf_ + n_, s.data(), k);
        }
        n_ += k;
    }
    constexpr void put_unsigned(std::uint64_t v) noexcept {
        char d[20];
        std::size_t k = 0;
        do {
            d[k++] = static_cast<char>('0' + v % 10);
            v /= 10;
        } while (v != 0);
        while (k != 0) put(d[--k]);
    }
    constexpr void put_signed(std::int64_t v) noexcept {
        if (v < 0) {
            put('-');
            put_unsigned(~static_cast<std::uint64_t>(v) + 1);
        } else {
            put_unsigned(static_cast<std::uint64_t>(v));
        }
    }
    // Lower-case hex, at least `width` digits (zero-padded).
    constexpr void put_hex(std::uint64_t v, std::size_t width = 1) noexcept {
        char d[16];
        std::size_t k = 0;
        do {
            d[k++] = "0123456789abcdef"[v & 0xf];
            v >>= 4;
        } while (v != 0);
        for (std::size_t i = k; i < width; ++i) put('0');
        while (k != 0) put(d[--k]);
    }
    [[nodiscard]] constexpr std::string_view view() const noexcept { return {buf_, n_}; }
    constexpr void clear() noexcept { n_ = 0; }

private:
    char buf_[N]{};  // zeroed: constant evaluation needs it
    std::size_t n_ = 0;
};

inline constexpr std::uint32_t kernel_ptr_size = 8;
inline constexpr std::uint32_t kernel_max_resolve_depth = 32;  // MAX_RESOLVE_DEPTH
inline constexpr std::size_t kernel_label_size = 80;           // BTF_SHOW_NAME_SIZE: labels keep 79 bytes
inline constexpr int kernel_label_max_iter = 10;               // BTF_SHOW_MAX_ITER

[[nodiscard]] constexpr bool is_typedef_or_modifier(kind k) noexcept {
    return k == kind::typedef_ || k == kind::volatile_ || k == kind::const_ || k == kind::restrict_ ||
           k == kind::type_tag;
}
[[nodiscard]] constexpr bool kind_has_size(kind k) noexcept {
    return k == kind::int_ || k == kind::struct_ || k == kind::union_ || k == kind::enum_ || k == kind::datasec ||
           k == kind::float_ || k == kind::enum64;
}

// The kernel's btf_resolve_size(): follows typedefs, modifiers and arrays to a sized kind; false for
// kinds without a size, a bad id, a u32 overflow or a chain longer than MAX_RESOLVE_DEPTH.
[[nodiscard]] constexpr bool kernel_size(const btf& b, std::uint32_t id, std::uint32_t& out) noexcept {
    std::uint64_t nelems = 1;
    for (std::uint32_t i = 0; i < kernel_max_resolve_depth; ++i) {
        if (!b.valid_id(id)) return false;
        const type t = b[id];
        std::uint64_t size = 0;
        switch (t.kind()) {
        case kind::int_: case kind::struct_: case kind::union_: case kind::enum_: case kind::float_: case kind::enum64:
            size = t.size();
            break;
        case kind::ptr:
            size = kernel_ptr_size;
            break;
        case kind::typedef_: case kind::volatile_: case kind::const_: case kind::restrict_: case kind::type_tag:
            id = t.ref();
            continue;
        case kind::array: {
            const array_info a = t.array();
            if (nelems != 0 && a.nelems > 0xffffffffull / nelems) return false;
            nelems *= a.nelems;
            id = a.type;
            continue;
        }
        default:
            return false;
        }
        if (nelems != 0 && size > 0xffffffffull / nelems) return false;
        out = static_cast<std::uint32_t>(nelems * size);
        return true;
    }
    return false;
}

inline constexpr std::uint32_t no_type = 0xffffffffu;

// Follows CONST/VOLATILE/RESTRICT/TYPE_TAG (and TYPEDEF when `typedefs`); no_type if the chain has a bad
// id or is longer than MAX_RESOLVE_DEPTH (0, void, is a valid end).
[[nodiscard]] constexpr std::uint32_t skip_chain(const btf& b, std::uint32_t id, bool typedefs) noexcept {
    for (std::uint32_t i = 0; i <= kernel_max_resolve_depth; ++i) {
        if (!b.valid_id(id)) return no_type;
        const kind k = b.kind_of(id);
        if (!is_typedef_or_modifier(k) || (!typedefs && k == kind::typedef_)) return id;
        id = b[id].ref();
    }
    return no_type;
}

// The kernel's btf_show_name(): "[.member = ](prefix name *[])" then the opening bracket, at most 79
// bytes. `member_name` is empty when there is no member to name. With `compat` false an array whose
// elements are pointers still opens with '[' (the kernel drops it: docs/print.md).
template <std::size_t N>
constexpr void show_label(const btf& b, std::uint32_t id, std::string_view member_name, bool noname, bool compat,
                          small_text<N>& out) noexcept {
    constexpr std::string_view array_suffixes = "[][][][][][][][][][]";
    constexpr std::string_view ptr_suffixes = "**********";
    std::size_t arrays = 0, ptrs = 0;
    bool seen_typedef = false, seen_array = false, seen_ptr = false;
    kind first = kind::unknown;
    std::string_view name;
    bool have_name = false;
    std::string_view parens;
    if (!b.valid_id(id)) return;
    type t = b[id];
    int i = 0;
    for (; i < kernel_label_max_iter; ++i) {
        const kind k = t.kind();
        std::uint32_t next = 0;
        if (k != kind::typedef_ && first == kind::unknown) first = k;
        switch (k) {
        case kind::typedef_:
            if (!have_name) { name = b.string(t.name_off()); have_name = true; }
            seen_typedef = true;
            next = t.ref();
            break;
        case kind::array:
            seen_array = true;
            parens = "[";
            if (arrays < array_suffixes.size() / 2) ++arrays;
            next = t.array().type;
            break;
        case kind::ptr:
            seen_ptr = true;
            if (ptrs < ptr_suffixes.size()) ++ptrs;
            next = t.ref();
            break;
        default:
            break;
        }
        if (next == 0) break;
        const std::uint32_t q = skip_chain(b, next, false);
        if (q == no_type) return;  // the kernel would read a bad id here
        t = b[q];
    }
    if (i == kernel_label_max_iter) return;
    if (!have_name) name = b.string(t.name_off());
    std::string_view prefix;
    switch (t.kind()) {
    case kind::struct_: case kind::union_:
        prefix = t.kind() == kind::struct_ ? "struct" : "union";
        if (!seen_array) parens = "{";
        break;
    case kind::enum_: case kind::enum64:
        prefix = "enum";
        break;
    default:
        break;
    }
    if (seen_ptr) parens = "";
    if (!compat && first == kind::array) parens = "[";
    if (seen_typedef) prefix = "";

    small_text<kernel_label_size - 1> label;
    if (noname) {
        label.put(parens);
    } else {
        if (!member_name.empty()) {
            label.put('.');
            label.put(member_name);
            label.put(" = ");
        }
        label.put('(');
        label.put(prefix);
        if (!prefix.empty() && !name.empty()) label.put(' ');
        label.put(name);
        if (ptrs != 0) label.put(' ');
        label.put(ptr_suffixes.substr(0, ptrs));
        label.put(array_suffixes.substr(0, 2 * arrays));
        label.put(')');
        label.put(parens);
    }
    out.put(label.view());
}

}  // namespace detail
}  // namespace btfkit
