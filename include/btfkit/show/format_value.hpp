// format_value(): a value's bytes printed as the kernel's bpf_snprintf_btf() prints them, into any sink;
// allocation-free and usable in constant evaluation. docs/print.md lists the default/compat differences.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "../error.hpp"
#include "../format/btf.hpp"
#include "show_label.hpp"

namespace btfkit {

namespace detail {

inline constexpr std::uint32_t show_max_depth = 64;                 // nesting of aggregates by value
inline constexpr std::uint16_t int_char_encoding = 2;               // BTF_INT_CHAR

// Every type reached by value from `id` can be shown without the kernel reaching a missing show routine:
// no VAR/DATASEC, no chain ending in void, valid ids, bounded nesting (so no loop on cyclic types).
[[nodiscard]] constexpr status check_printable(const btf& b, std::uint32_t id, std::uint64_t& budget, std::uint32_t depth = 0) noexcept {
    if (budget == 0) return error(errc::too_deep, "the type has more members and elements than the printer visits").at_type(id);
    --budget;
    if (depth > show_max_depth) return error(errc::too_deep, "types nest deeper than the printer allows").at_type(id).limit(show_max_depth);
    for (std::uint32_t i = 0;; ++i) {
        if (!b.valid_id(id)) return error(errc::bad_type_id, "value type id past the end").at_type(id).limit(b.type_count());
        if (id == 0) return error(errc::unsupported, "value of type void (a typedef or modifier chain ends in void)");
        const type t = b[id];
        const kind k = t.kind();
        if (static_cast<std::uint8_t>(k) > kind_max) return error(errc::bad_kind, "unknown kind").at_type(id).got(static_cast<std::uint8_t>(k));
        if (k == kind::var || k == kind::datasec) return error(errc::unsupported, "VAR and DATASEC values are not printed").at_type(id);
        if (!is_typedef_or_modifier(k)) break;
        if (i == kernel_max_resolve_depth) return error(errc::type_loop, "typedef/modifier chain too long").at_type(id);
        id = t.ref();
    }
    const type t = b[id];
    switch (t.kind()) {
    case kind::struct_: case kind::union_: {
        const auto ms = t.members();
        if (!b.data().empty() && t.offset() + btf_type_header_size + 12ull * ms.size() > b.data().size())
            return error(errc::truncated, "members past the end of the BTF").at_type(id);
        for (std::uint32_t j = 0; j < ms.size(); ++j) {
            const status s = check_printable(b, ms[j].type, budget, depth + 1);
            if (!s) return error(s.error()).at_index("member", j);
        }
        return {};
    }
    case kind::array:
        return check_printable(b, t.array().type, budget, depth + 1);
    case kind::ptr:
        if (!b.valid_id(t.ref())) return error(errc::bad_type_id, "pointer target past the end").at_type(id).got(t.ref());
        return {};
    default:
        return {};
    }
}

// The walk of the kernel's btf_show code (kernel/bpf/btf.c), state for state.
template <byte_sink S>
class value_printer {
public:
    constexpr value_printer(const btf& b, byte_span bytes, std::uint32_t flags, S& sink, std::uint64_t max_steps) noexcept
        : b_(b), bytes_(bytes), flags_(flags), sink_(sink), compat_((flags & show_kernel_compat) != 0), max_steps_(max_steps) {}

    constexpr status run(std::uint32_t id) noexcept {
        show(b_[id], id, 0, 0);
        if (failed_) return fatal_;
        if (status_failed_) return error(errc::unsupported, "the kernel fails on this type: its size cannot be resolved").at_type(id);
        return {};
    }
    [[nodiscard]] constexpr std::size_t length() const noexcept { return length_; }

private:
    const btf& b_;
    byte_span bytes_;
    std::uint32_t flags_;
    S& sink_;
    bool compat_;
    std::uint64_t max_steps_;
    std::size_t length_ = 0;
    bool failed_ = false;
    error fatal_{};
    std::uint64_t steps_ = 0;

    // show->state
    std::uint8_t depth_ = 0, depth_to_show_ = 0, depth_check_ = 0;
    bool array_member_ = false, array_terminated_ = false;
    std::uint16_t array_encoding_ = 0;
    std::uint32_t type_id_ = 0;
    bool has_type_ = false;
    kind type_kind_ = kind::unknown;
    bool has_member_ = false;
    member member_{};
    bool status_failed_ = false;
    // show->obj: the kernel's 32-byte safe copy of the value, as offsets into bytes_
    std::int64_t obj_size_ = 0, obj_head_ = 0, obj_data_ = 0;
    char safe_[32]{};

    [[nodiscard]] constexpr bool flag(std::uint32_t f) const noexcept { return (flags_ & f) != 0; }

    constexpr void fail(const error& e) noexcept {
        if (!failed_) { failed_ = true; fatal_ = e; }
    }
    constexpr void emit(std::string_view s) noexcept {
        if (depth_check_ != 0 || s.empty()) return;
        sink_.append(s.data(), s.size());
        length_ += s.size();
    }
    constexpr void emit_indent() noexcept {
        if (flag(show_compact)) return;
        constexpr std::string_view spaces = "                                ";
        emit(spaces.substr(0, depth_ < spaces.size() ? depth_ : spaces.size()));
    }
    constexpr void emit_newline() noexcept {
        if (!flag(show_compact)) emit("\n");
    }
    constexpr void emit_delim() noexcept {
        if (depth_ == 0) return;
        emit(flag(show_compact) && has_type_ && type_kind_ == kind::union_ ? "|" : ",");
    }
    constexpr void emit_label() noexcept {
        if (depth_check_ != 0 || array_member_) return;
        std::uint32_t id = type_id_;
        std::string_view mname;
        if (has_member_) {
            mname = b_.string(member_.name_off);
            id = member_.type;
        }
        small_text<kernel_label_size> label;
        show_label(b_, id, mname, flag(show_noname), compat_, label);
        emit(label.view());
    }
    // btf_show_type_value(): a value line, left out when zero below the top unless BTF_F_ZERO.
    constexpr void value_line(bool nonzero, bool always, std::string_view value) noexcept {
        if (!(always || nonzero || flag(show_zero) || depth_ == 0)) return;
        if (depth_check_ == 0) {
            emit_indent();
            emit_label();
            emit(value);
            emit_delim();
            emit_newline();
        }
        if (depth_ > depth_to_show_) depth_to_show_ = depth_;
    }
    template <class Put>
    constexpr void value_line(bool nonzero, bool always, Put&& put) noexcept {
        small_text<48> v;
        put(v);
        value_line(nonzero, always, v.view());
    }

    // btf_show_obj_safe(): the bookkeeping of the kernel's safe copy; false where the kernel gives up.
    constexpr bool obj_safe(std::uint32_t type_id, std::int64_t data) noexcept {
        std::uint32_t size = 0;
        if (!kernel_size(b_, type_id, size)) {
            status_failed_ = true;
            return false;
        }
        bool safe = false;
        if (depth_ == 0) {
            obj_size_ = size;
            obj_head_ = data;
        } else {
            const std::int64_t n = size < 16 ? size : 16;
            safe = data >= obj_data_ && data + n < obj_data_ + 32;
        }
        if (!safe) {
            std::int64_t left = obj_head_ + obj_size_ - data;
            if (left > 32) left = 32;
            if (left < 0 || data < 0 || static_cast<std::uint64_t>(data + left) > bytes_.size()) {
                fail(error(errc::out_of_range, "a member lies outside the value").at_type(type_id).got(static_cast<std::uint64_t>(data)).limit(bytes_.size()));
                return false;
            }
            for (std::int64_t i = 0; i < left; ++i) safe_[i] = bytes_[static_cast<std::size_t>(data + i)];
            status_failed_ = false;
            obj_data_ = data;
        }
        return true;
    }
    // n bytes (n <= 16) at `data` as the kernel reads them: from its safe copy in compat mode (stale
    // bytes past the value included), else straight from the value.
    constexpr bool load(std::int64_t data, std::size_t n, unsigned char (&out)[16]) noexcept {
        for (auto& c : out) c = 0;
        if (compat_) {
            const std::int64_t at = data - obj_data_;
            for (std::size_t i = 0; i < n; ++i) {
                const std::int64_t k = at + static_cast<std::int64_t>(i);
                out[i] = k >= 0 && k < 32 ? static_cast<unsigned char>(safe_[k]) : 0;
            }
            return true;
        }
        if (data < 0 || static_cast<std::uint64_t>(data) + n > bytes_.size()) {
            fail(error(errc::out_of_range, "a value's bytes lie past its end").got(static_cast<std::uint64_t>(data) + n).limit(bytes_.size()));
            return false;
        }
        for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<unsigned char>(bytes_[static_cast<std::size_t>(data) + i]);
        return true;
    }
    [[nodiscard]] constexpr std::uint64_t word(const unsigned char (&raw)[16], std::size_t at, std::size_t n) const noexcept {
        std::uint64_t v = 0;
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t k = b_.order() == byte_order::little ? at + n - 1 - i : at + i;
            v = (v << 8) | raw[k];
        }
        return v;
    }

    constexpr bool start_type(const type& t, std::uint32_t type_id, std::int64_t data) noexcept {
        has_type_ = true;
        type_kind_ = t.kind();
        type_id_ = type_id;
        return obj_safe(t.id(), data);
    }
    constexpr void end_type() noexcept {
        has_type_ = false;
        type_id_ = 0;
    }
    constexpr bool start_aggr_type(const type& t, std::uint32_t type_id, std::int64_t data) noexcept {
        if (!start_type(t, type_id, data)) return false;
        emit_indent();
        emit_label();
        emit_newline();
        ++depth_;
        return true;
    }
    constexpr void end_aggr_type(std::string_view suffix) noexcept {
        --depth_;
        emit_indent();
        emit(suffix);
        emit_delim();
        emit_newline();
        end_type();
    }
    constexpr bool step() noexcept {
        if (++steps_ > max_steps_) {
            fail(error(errc::too_deep, "the value has more members and elements than the printer visits").limit(max_steps_));
            return false;
        }
        return !failed_;
    }

    // A zero-test pass that has found a value to show has its answer. The kernel walks on, which moves
    // its safe copy (whose stale bytes kernel_compat reads) and, inside an array element, may clear the
    // array-member bit (the element's label then shows): so only the default stops, and only when that
    // bit is already clear.
    [[nodiscard]] constexpr bool check_answered() const noexcept {
        return !compat_ && depth_check_ != 0 && depth_to_show_ >= depth_check_ && !array_member_;
    }

    constexpr void show(const type& t, std::uint32_t type_id, std::int64_t data, std::uint8_t bits_offset) noexcept {
        if (check_answered() || !step()) return;
        switch (t.kind()) {
        case kind::int_: return int_show(t, type_id, data, bits_offset);
        case kind::ptr: return ptr_show(t, type_id, data);
        case kind::array: return array_show(t, type_id, data, bits_offset);
        case kind::struct_: case kind::union_: return struct_show(t, type_id, data);
        case kind::enum_: case kind::enum64: return enum_show(t, type_id, data);
        case kind::typedef_: case kind::volatile_: case kind::const_: case kind::restrict_: case kind::type_tag: {
            // Kernel BTF has no resolved ids, so the kernel skips the chain and keeps the outer id.
            const std::uint32_t r = skip_chain(b_, t.ref(), true);
            if (r == 0 || r == no_type) return fail(error(errc::unsupported, "typedef/modifier chain ends in void").at_type(t.id()));
            return show(b_[r], type_id, data, bits_offset);
        }
        case kind::var: case kind::datasec:
            return fail(error(errc::unsupported, "VAR and DATASEC values are not printed").at_type(t.id()));
        default: {
            // btf_df_show()
            small_text<32> s;
            s.put("<unsupported kind:");
            s.put_unsigned(static_cast<std::uint8_t>(t.kind()));
            s.put('>');
            emit(s.view());
            return;
        }
        }
    }

    // x86 shifts: the count is taken mod 64, which the kernel's 128-bit shift relies on at 0 and 64.
    [[nodiscard]] constexpr std::uint64_t shl(std::uint64_t v, unsigned n) const noexcept {
        if (compat_) return v << (n & 63);
        return n >= 64 ? 0 : v << n;
    }
    [[nodiscard]] constexpr std::uint64_t shr(std::uint64_t v, unsigned n) const noexcept {
        if (compat_) return v >> (n & 63);
        return n >= 64 ? 0 : v >> n;
    }
    constexpr void int128_line(std::uint64_t hi, std::uint64_t lo) noexcept {
        if (hi == 0) {
            value_line(lo != 0, false, [&](auto& v) { v.put("0x"); v.put_hex(lo); });
        } else {
            value_line(true, true, [&](auto& v) { v.put("0x"); v.put_hex(hi); v.put_hex(lo, 16); });
        }
    }
    // btf_bitfield_show()
    constexpr void bitfield_show(std::int64_t data, std::uint8_t bits_offset, std::uint8_t nr_bits) noexcept {
        const auto nr_copy_bits = static_cast<std::uint8_t>(nr_bits + bits_offset);
        std::size_t nr_copy_bytes = (nr_copy_bits + 7u) / 8u;
        if (nr_copy_bytes > 16) nr_copy_bytes = 16;
        unsigned char raw[16];
        if (!load(data, nr_copy_bytes, raw)) return;
        std::uint64_t hi = 0, lo = 0;
        unsigned left = 0;
        if (b_.order() == byte_order::little) {
            lo = word(raw, 0, 8);
            hi = word(raw, 8, 8);
            left = static_cast<std::uint16_t>(128 - nr_copy_bits);
        } else {
            hi = word(raw, 0, 8);
            lo = word(raw, 8, 8);
            left = bits_offset;
        }
        const unsigned right = static_cast<std::uint16_t>(128 - nr_bits);
        if (left >= 64) {
            hi = shl(lo, left - 64);
            lo = 0;
        } else {
            hi = shl(hi, left) | shr(lo, 64 - left);
            lo = shl(lo, left);
        }
        if (right >= 64) {
            lo = shr(hi, right - 64);
            hi = 0;
        } else {
            lo = shr(lo, right) | shl(hi, 64 - right);
            hi = shr(hi, right);
        }
        int128_line(hi, lo);
    }
    constexpr void int_bits_show(const type& t, std::int64_t data, std::uint8_t bits_offset) noexcept {
        const auto total = static_cast<std::uint8_t>(bits_offset + t.int_offset());
        bitfield_show(data + total / 8, static_cast<std::uint8_t>(total & 7), t.int_bits());
    }

    constexpr void int_show(const type& t, std::uint32_t type_id, std::int64_t data, std::uint8_t bits_offset) noexcept {
        if (!start_type(t, type_id, data)) return;
        const bool sign = (t.int_encoding() & int_signed) != 0;
        const std::uint8_t nr_bits = t.int_bits();
        unsigned char raw[16];
        if (bits_offset != 0 || t.int_offset() != 0 || (nr_bits & 7) != 0) {
            int_bits_show(t, data, bits_offset);
            return end_type();
        }
        switch (nr_bits) {
        case 128:
            if (load(data, 16, raw)) {
                const bool le = b_.order() == byte_order::little;
                int128_line(word(raw, le ? 8 : 0, 8), word(raw, le ? 0 : 8, 8));
            }
            break;
        case 64: case 32: case 16: {
            const std::size_t n = nr_bits / 8u;
            if (!load(data, n, raw)) break;
            const std::uint64_t u = word(raw, 0, n);
            const unsigned shift = 64 - nr_bits;
            const auto s = static_cast<std::int64_t>(u << shift) >> shift;
            if (sign) value_line(u != 0, false, [&](auto& v) { v.put_signed(s); });
            else value_line(u != 0, false, [&](auto& v) { v.put_unsigned(u); });
            break;
        }
        case 8: {
            if (!load(data, 1, raw)) break;
            const unsigned char c = raw[0];
            if (array_encoding_ == int_char_encoding) {
                if (array_terminated_) break;
                if (c == 0) {
                    array_terminated_ = true;
                    break;
                }
                // The kernel's isprint(): Latin-1, printable from 0x20 to 0x7e and from 0xa0 up.
                if ((c >= 0x20 && c < 0x7f) || c >= 0xa0) {
                    value_line(true, false, [&](auto& v) { v.put('\''); v.put(static_cast<char>(c)); v.put('\''); });
                    break;
                }
            }
            if (sign) value_line(c != 0, false, [&](auto& v) { v.put_signed(static_cast<signed char>(c)); });
            else value_line(c != 0, false, [&](auto& v) { v.put_unsigned(c); });
            break;
        }
        default:
            int_bits_show(t, data, bits_offset);
            break;
        }
        end_type();
    }

    constexpr void ptr_show(const type& t, std::uint32_t type_id, std::int64_t data) noexcept {
        if (!start_type(t, type_id, data)) return;
        unsigned char raw[16];
        if (load(data, kernel_ptr_size, raw)) {
            const std::uint64_t p = word(raw, 0, kernel_ptr_size);
            // %p prints NULL and error pointers as they are; others hashed to 32 bits. The kernel's hash
            // key is secret, so btfkit's own mix stands in for it: same shape, different digits.
            const bool raw_mode = flag(show_ptr_raw) || p == 0 || p >= static_cast<std::uint64_t>(-4095);
            const std::uint64_t shown = raw_mode ? p : ((p ^ (p >> 29)) * 0xbf58476d1ce4e5b9ull) >> 32;
            value_line(p != 0, false, [&](auto& v) { v.put("0x"); v.put_hex(shown, 16); });
        }
        end_type();
    }

    constexpr void enum_show(const type& t, std::uint32_t type_id, std::int64_t data) noexcept {
        if (!start_type(t, type_id, data)) return;
        const bool is64 = t.kind() == kind::enum64;
        const bool sign = t.kflag();
        // The kernel reads an int for ENUM and a u64 for ENUM64 whatever the enum's size.
        std::size_t n = compat_ ? (is64 ? 8 : 4) : t.size();
        if (n != 1 && n != 2 && n != 4 && n != 8) n = is64 ? 8 : 4;
        unsigned char raw[16];
        if (!load(data, n, raw)) return end_type();
        std::uint64_t v = word(raw, 0, n);
        const unsigned shift = static_cast<unsigned>(64 - 8 * n);
        if (sign || (compat_ && !is64)) v = static_cast<std::uint64_t>(static_cast<std::int64_t>(v << shift) >> shift);
        const auto es = t.enumerators();
        for (std::uint32_t i = 0; i < es.size(); ++i) {
            const enumerator e = es[i];
            const bool match = compat_ && !is64 ? static_cast<std::uint32_t>(v) == e.lo32 : v == e.value;
            if (!match) continue;
            // The name is a pointer to the kernel's zero test: a matching enumerator always shows.
            std::string_view name = "(anon)";
            if (e.name_off != 0 && !b_.string_at(e.name_off, name)) name = "(invalid-name-offset)";
            value_line(true, true, name);
            return end_type();
        }
        if (compat_ && !is64) {
            const auto v32 = static_cast<std::uint32_t>(v);
            if (sign) value_line(v32 != 0, false, [&](auto& o) { o.put_signed(static_cast<std::int32_t>(v32)); });
            else value_line(v32 != 0, false, [&](auto& o) { o.put_unsigned(v32); });
        } else if (sign) {
            value_line(v != 0, false, [&](auto& o) { o.put_signed(static_cast<std::int64_t>(v)); });
        } else {
            const std::uint64_t u = is64 || n == 8 ? v : v & (shift == 0 ? ~0ull : (~0ull >> shift));
            value_line(u != 0, false, [&](auto& o) { o.put_unsigned(u); });
        }
        end_type();
    }

    constexpr void array_show(const type& t, std::uint32_t type_id, std::int64_t data, std::uint8_t bits_offset) noexcept {
        const bool saved_has = has_member_;
        const member saved = member_;
        if (depth_ > 0 && !flag(show_zero)) {
            if (depth_check_ == 0) {
                depth_check_ = static_cast<std::uint8_t>(depth_ + 1);
                depth_to_show_ = 0;
            }
            array_body(t, type_id, data, bits_offset);
            has_member_ = saved_has;
            member_ = saved;
            if (depth_check_ != depth_ + 1) return;
            depth_check_ = 0;
            if (depth_to_show_ <= depth_) return;
        }
        array_body(t, type_id, data, bits_offset);
    }
    constexpr void array_body(const type& t, std::uint32_t type_id, std::int64_t data, std::uint8_t bits_offset) noexcept {
        const array_info a = t.array();
        const std::uint32_t elem_id = skip_chain(b_, a.type, true);
        if (elem_id == 0 || elem_id == no_type) return fail(error(errc::unsupported, "array elements of type void").at_type(t.id()));
        const type elem = b_[elem_id];
        std::uint32_t elem_size = 0;
        if (compat_) {
            // The kernel takes the element size from types with a size field only: elements that are
            // pointers or arrays get size 0, so every element shows element 0.
            if (kind_has_size(elem.kind())) elem_size = elem.size();
        } else if (!kernel_size(b_, a.type, elem_size)) {
            elem_size = 0;
        }
        std::uint16_t encoding = 0;
        if (elem.kind() == kind::int_) {
            encoding = elem.int_encoding();
            if (elem_size == 1) encoding = int_char_encoding;
        }
        array_encoding_ = encoding;
        array_terminated_ = false;
        if (!start_aggr_type(t, type_id, data)) return;
        for (std::uint32_t i = 0; i < a.nelems && !failed_ && !check_answered(); ++i) {
            array_member_ = true;
            has_member_ = false;
            show(elem, a.type, data, bits_offset);
            data += elem_size;
            array_member_ = false;
            has_member_ = false;
            if (array_terminated_) break;
        }
        array_encoding_ = 0;
        array_terminated_ = false;
        end_aggr_type("]");
    }

    constexpr void struct_show(const type& t, std::uint32_t type_id, std::int64_t data) noexcept {
        const bool saved_has = has_member_;
        const member saved = member_;
        if (depth_ > 0 && !flag(show_zero)) {
            if (depth_check_ == 0) {
                depth_check_ = static_cast<std::uint8_t>(depth_ + 1);
                depth_to_show_ = 0;
            }
            struct_body(t, type_id, data);
            has_member_ = saved_has;
            member_ = saved;
            if (depth_check_ != depth_ + 1) return;
            depth_check_ = 0;
            if (depth_to_show_ <= depth_) return;
        }
        struct_body(t, type_id, data);
    }
    constexpr void struct_body(const type& t, std::uint32_t type_id, std::int64_t data) noexcept {
        if (!start_aggr_type(t, type_id, data)) return;
        const auto ms = t.members();
        for (std::uint32_t i = 0; i < ms.size() && !failed_ && !check_answered(); ++i) {
            const member m = ms[i];
            has_member_ = true;
            member_ = m;
            const type mt = b_[m.type];
            const std::int64_t at = data + m.bit_offset / 8;
            const auto bits8 = static_cast<std::uint8_t>(m.bit_offset & 7);
            if (m.bitfield_size != 0) {
                if (step() && start_type(mt, m.type, at)) bitfield_show(at, bits8, static_cast<std::uint8_t>(m.bitfield_size));
                end_type();
            } else {
                show(mt, m.type, at, bits8);
            }
            has_member_ = false;
        }
        end_aggr_type("}");
    }
};

}  // namespace detail

// Writes the value in `bytes` of type `type_id` to `sink` as bpf_snprintf_btf() does with `flags`
// (show_compact | show_noname | show_ptr_raw | show_zero, the kernel's BTF_F_*), returning the length
// written. show_kernel_compat reproduces the kernel's bugs too (docs/print.md). Refused before any
// output: a bad id, VAR/DATASEC, a chain ending in void, nesting past 64, bytes shorter than the type.
// `max_steps` bounds the members and elements visited (and the type nodes checked first).
template <byte_sink S>
[[nodiscard]] constexpr result<std::size_t> format_value(const btf& b, std::uint32_t type_id, byte_span bytes,
                                                         std::uint32_t flags, S& sink,
                                                         std::uint64_t max_steps = show_default_steps) noexcept {
    if (type_id == 0 || !b.valid_id(type_id))
        return error(errc::bad_type_id, "no such type").at_type(type_id).limit(b.type_count());
    std::uint64_t budget = max_steps;
    BTFKIT_TRY(detail::check_printable(b, type_id, budget));
    std::uint32_t size = 0;
    if (detail::kernel_size(b, type_id, size) && bytes.size() < size)
        return error(errc::truncated, "the value is shorter than its type").at_type(type_id).got(bytes.size()).limit(size);
    detail::value_printer<S> p(b, bytes, flags, sink, max_steps);
    BTFKIT_TRY(p.run(type_id));
    return p.length();
}

}  // namespace btfkit
