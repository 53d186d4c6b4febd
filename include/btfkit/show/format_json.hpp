// format_json(): a value's bytes as bpftool prints a BTF-typed map value in `bpftool map dump -j` (the
// value inside "formatted"), byte for byte, into any sink; allocation-free, usable in constant evaluation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "../error.hpp"
#include "../format/btf.hpp"
#include "show_label.hpp"

namespace btfkit {

namespace detail {

// The kinds bpftool's dumper prints without failing, reached by value from `id`; bpftool fails
// mid-value on FWD, FLOAT, FUNC_PROTO and the like, so those are refused before any output.
[[nodiscard]] constexpr status check_json_printable(const btf& b, std::uint32_t id, std::uint64_t& budget, std::uint32_t depth = 0) noexcept {
    if (budget == 0) return error(errc::too_deep, "the type has more members and elements than the printer visits").at_type(id);
    --budget;
    if (depth > 64) return error(errc::too_deep, "types nest deeper than the printer allows").at_type(id).limit(64);
    for (std::uint32_t i = 0;; ++i) {
        if (!b.valid_id(id)) return error(errc::bad_type_id, "value type id past the end").at_type(id).limit(b.type_count());
        if (id == 0) return error(errc::unsupported, "value of type void (a typedef or modifier chain ends in void)");
        const kind k = b.kind_of(id);
        if (k != kind::typedef_ && k != kind::volatile_ && k != kind::const_ && k != kind::restrict_) break;
        if (i == kernel_max_resolve_depth) return error(errc::type_loop, "typedef/modifier chain too long").at_type(id);
        id = b[id].ref();
    }
    const type t = b[id];
    switch (t.kind()) {
    case kind::int_:
        if (t.int_encoding() > int_bool || t.int_encoding() == 3) return error(errc::unsupported, "INT encoding bpftool does not print").at_type(id);
        return {};
    case kind::ptr: return {};
    case kind::enum_:
        if (t.size() != 1 && t.size() != 2 && t.size() != 4 && t.size() != 8) return error(errc::unsupported, "ENUM size bpftool does not print").at_type(id).got(t.size());
        return {};
    case kind::enum64: return {};
    case kind::struct_: case kind::union_: {
        const auto ms = t.members();
        for (std::uint32_t j = 0; j < ms.size(); ++j) {
            const member m = ms[j];
            if (m.bitfield_size != 0) continue;  // printed from the bits alone
            const status s = check_json_printable(b, m.type, budget, depth + 1);
            if (!s) return error(s.error()).at_index("member", j);
        }
        return {};
    }
    case kind::array: {
        std::uint64_t size = 0;
        if (auto r = b.resolve_size(t.array().type); r) size = *r;
        else return error(r.error()).at_type(id);
        (void)size;
        return check_json_printable(b, t.array().type, budget, depth + 1);
    }
    default:
        return error(errc::unsupported, "kind bpftool's dumper does not print").at_type(id).got(static_cast<std::uint8_t>(t.kind()));
    }
}

// What format_json refuses before any output: a bad id, and a type bpftool's dumper fails on.
[[nodiscard]] constexpr status check_json_type(const btf& b, std::uint32_t type_id, std::uint64_t max_steps) noexcept {
    if (type_id == 0 || !b.valid_id(type_id))
        return error(errc::bad_type_id, "no such type").at_type(type_id).limit(b.type_count());
    std::uint64_t budget = max_steps;
    return check_json_printable(b, type_id, budget);
}
// The type's size, if it has one.
[[nodiscard]] constexpr std::optional<std::uint64_t> json_size(const btf& b, std::uint32_t type_id) noexcept {
    if (auto size = b.resolve_size(type_id)) return *size;
    return std::nullopt;
}
// ... and a value shorter than its type.
[[nodiscard]] constexpr status check_json_value(std::optional<std::uint64_t> size, std::uint32_t type_id, byte_span bytes) noexcept {
    if (size && bytes.size() < *size)
        return error(errc::truncated, "the value is shorter than its type").at_type(type_id).got(bytes.size()).limit(*size);
    return {};
}

// btf__resolve_type(): past typedefs and modifiers, at most 33 of them.
[[nodiscard]] constexpr std::uint32_t json_resolved(const btf& b, std::uint32_t id) noexcept {
    for (int i = 0; i < 33; ++i) {
        const kind k = b.kind_of(id);
        if (k != kind::typedef_ && k != kind::volatile_ && k != kind::const_ && k != kind::restrict_ && k != kind::type_tag) break;
        id = b[id].ref();
    }
    return id;
}

// The value an enumerator matches: an ENUM64's two halves; an ENUM's as a signed 32-bit value
// (bpftool's comparison), sign-extended as the value read is.
[[nodiscard]] constexpr std::uint64_t json_enum_key(bool is64, const enumerator& e) noexcept {
    return is64 ? (std::uint64_t{e.hi32} << 32) | e.lo32 : static_cast<std::uint64_t>(std::int64_t{static_cast<std::int32_t>(e.lo32)});
}

// jsonw_puts(): `s` quoted, with these escapes only (a backslash as bpftool writes it); every other
// byte as it is. put(string_view) takes the pieces.
template <class Put>
constexpr void json_quote(std::string_view s, Put&& put) {
    put(std::string_view("\""));
    std::size_t from = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        std::string_view esc;
        switch (s[i]) {
        case '\t': esc = "\\t"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\f': esc = "\\f"; break;
        case '\b': esc = "\\b"; break;
        case '\\': esc = "\\n"; break;  // sic: bpftool's json_writer writes a backslash as \n
        case '"': esc = "\\\""; break;
        default: continue;
        }
        put(s.substr(from, i - from));
        put(esc);
        from = i + 1;
    }
    put(s.substr(from));
    put(std::string_view("\""));
}

// One node of a json_plan, in preorder: a struct or array node's subtree ends at `end`.
struct json_op {
    enum class op : std::uint8_t { int_, ptr, enum_, array, composite, name, bitfield };
    op code = op::int_;
    std::uint8_t enc = 0;        // int_: the INT encoding
    bool is64 = false;           // enum_: an ENUM64
    bool chars = false;          // array: of 1-byte chars (a string if the bytes say so)
    std::uint32_t bit = 0;       // int_, bitfield: the bit offset below `off`'s byte
    std::uint32_t nr_bits = 0;   // int_, bitfield
    std::uint32_t int_offset = 0;
    std::uint32_t n = 0;         // enum_: bytes read
    std::uint32_t first = 0;     // enum_: first table entry; name: where its literal starts in the plan's text
    std::uint32_t count = 0;     // enum_: table entries; array: elements; name: the literal's length
    std::uint32_t end = 0;       // array, composite: the index past the subtree
    std::uint64_t off = 0;       // bytes from the enclosing node's start (a struct's, an element's)
    std::uint64_t stride = 0;    // array: the element's size
};
struct json_enum_entry {
    std::uint64_t key = 0;
    std::uint32_t at = 0, length = 0;  // the quoted name, in the plan's text
};

// Whether bpftool may print an array of `a` as a string: its element (past qualifiers) a 1-byte INT,
// char-encoded or named "char". Whether it does depends on the bytes (json_printer::string_at).
[[nodiscard]] constexpr bool json_char_elements(const btf& b, const array_info& a) noexcept {
    if (a.nelems == 0) return false;
    std::uint32_t e = a.type;
    for (int i = 0; i < 33 && b.valid_id(e); ++i) {
        const kind k = b.kind_of(e);
        if (k != kind::volatile_ && k != kind::const_ && k != kind::restrict_ && k != kind::type_tag) break;
        e = b[e].ref();
    }
    if (!b.valid_id(e)) return false;
    const type et = b[e];
    if (et.kind() != kind::int_ || et.size() != 1) return false;
    return et.int_encoding() == int_char || et.name() == "char";
}

// bpftool's json_writer in its compact form: a separator owed before the next item.
template <byte_sink S>
class json_printer {
public:
    constexpr json_printer(const btf& b, byte_span bytes, S& sink, std::uint64_t max_steps) noexcept
        : b_(b), bytes_(bytes), sink_(sink), max_steps_(max_steps) {}

    constexpr status run(std::uint32_t id) noexcept {
        value(id, 0, 0);
        if (failed_) return fatal_;
        return {};
    }
    [[nodiscard]] constexpr std::size_t length() const noexcept { return length_; }

    // Prints as value() does, from a plan of the type (json_plan) instead of the type itself.
    constexpr status run_plan(std::span<const json_op> ops, std::string_view text, std::span<const json_enum_entry> enums) noexcept {
        if (!ops.empty()) node(ops, text, enums, 0, 0);
        if (failed_) return fatal_;
        return {};
    }

private:
    const btf& b_;
    byte_span bytes_;
    S& sink_;
    std::uint64_t max_steps_;
    std::size_t length_ = 0;
    bool comma_ = false;
    bool failed_ = false;
    error fatal_{};
    std::uint64_t steps_ = 0;

    constexpr void put(std::string_view s) noexcept {
        sink_.append(s.data(), s.size());
        length_ += s.size();
    }
    constexpr void item() noexcept {
        if (comma_) put(",");
        comma_ = true;
    }
    constexpr void begin(char c) noexcept {
        item();
        const char s[1] = {c};
        put({s, 1});
        comma_ = false;
    }
    constexpr void end(char c) noexcept {
        const char s[1] = {c};
        put({s, 1});
        comma_ = true;
    }
    constexpr void quoted(std::string_view s) noexcept {
        json_quote(s, [this](std::string_view piece) { put(piece); });
    }
    constexpr void name(std::string_view n) noexcept {
        item();
        comma_ = false;
        quoted(n);
        put(":");
    }
    template <std::size_t N>
    constexpr void raw(const small_text<N>& t) noexcept {
        item();
        put(t.view());
    }
    constexpr void fail(const error& e) noexcept {
        if (!failed_) { failed_ = true; fatal_ = e; }
    }
    constexpr bool load(std::uint64_t at, std::size_t n, std::uint64_t& v) noexcept {
        v = 0;
        if (at > bytes_.size() || n > bytes_.size() - at) {
            fail(error(errc::out_of_range, "a value's bytes lie past its end").got(at + n).limit(bytes_.size()));
            return false;
        }
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t k = b_.order() == byte_order::little ? at + n - 1 - i : at + i;
            v = (v << 8) | static_cast<unsigned char>(bytes_[k]);
        }
        return true;
    }

    // btf_dumper_bitfield(): quoted hex of nr_bits bits at bit_offset (< 8) from `at`.
    constexpr void bitfield(std::uint32_t nr_bits, std::uint32_t bit_offset, std::uint64_t at) noexcept {
        const std::uint32_t bits = bit_offset + nr_bits;
        std::size_t nbytes = (bits + 7) / 8;
        if (nbytes > 16) nbytes = 16;
        unsigned char raw16[16] = {};
        if (at > bytes_.size() || nbytes > bytes_.size() - at) {
            return fail(error(errc::out_of_range, "a bitfield lies past the value's end").got(at + nbytes).limit(bytes_.size()));
        }
        for (std::size_t i = 0; i < nbytes; ++i) raw16[i] = static_cast<unsigned char>(bytes_[at + i]);
        std::uint64_t hi = 0, lo = 0;
        const bool le = b_.order() == byte_order::little;
        for (int i = 7; i >= 0; --i) {
            lo = (lo << 8) | raw16[le ? i : 15 - i];
            hi = (hi << 8) | raw16[le ? 8 + i : 7 - i];
        }
        // As a 128-bit number: drop the bits above the field, then those below it.
        const unsigned left = le ? 128 - (bits > 128 ? 128 : bits) : bit_offset;
        const unsigned right = 128 - (nr_bits > 128 ? 128 : nr_bits);
        auto shl = [](std::uint64_t v, unsigned n) { return n >= 64 ? 0 : v << n; };
        auto shr = [](std::uint64_t v, unsigned n) { return n >= 64 ? 0 : v >> n; };
        if (left >= 64) { hi = shl(lo, left - 64); lo = 0; }
        else { hi = shl(hi, left) | shr(lo, 64 - left); lo = shl(lo, left); }
        if (right >= 64) { lo = shr(hi, right - 64); hi = 0; }
        else { lo = shr(lo, right) | shl(hi, 64 - right); hi = shr(hi, right); }
        int128(hi, lo);
    }
    constexpr void int128(std::uint64_t hi, std::uint64_t lo) noexcept {
        small_text<40> t;
        t.put("\"0x");
        if (hi != 0) { t.put_hex(hi); t.put_hex(lo, 16); }
        else t.put_hex(lo);
        t.put('"');
        raw(t);
    }

    constexpr void int_value(std::uint32_t nr_bits, std::uint32_t int_offset, std::uint8_t enc, std::uint32_t bit_offset, std::uint64_t at) noexcept {
        if (bit_offset != 0 || int_offset != 0 || (nr_bits & 7) != 0) {
            const std::uint32_t total = bit_offset + int_offset;
            return bitfield(nr_bits, total & 7, at + total / 8);
        }
        std::uint64_t v = 0;
        if (nr_bits == 128) {
            std::uint64_t a = 0, c = 0;
            if (!load(at, 8, a) || !load(at + 8, 8, c)) return;
            return b_.order() == byte_order::little ? int128(c, a) : int128(a, c);
        }
        small_text<40> out;
        if (enc == int_bool) {
            // bpftool reads one byte whatever the bool's size
            if (!load(at, 1, v)) return;
            item();
            return put(v != 0 ? "true" : "false");
        }
        if (nr_bits != 8 && nr_bits != 16 && nr_bits != 32 && nr_bits != 64) return bitfield(nr_bits, 0, at);
        if (!load(at, nr_bits / 8, v)) return;
        if (enc == int_char) {
            const auto c = static_cast<unsigned char>(v);
            if (c >= 0x20 && c < 0x7f) {
                out.put('"');
                out.put(static_cast<char>(c));
                out.put('"');
            } else {
                out.put("\"\\u00");
                out.put_hex(c, 2);
                out.put('"');
            }
        } else if (enc == int_signed) {
            const unsigned shift = 64 - nr_bits;
            out.put_signed(static_cast<std::int64_t>(v << shift) >> shift);
        } else {
            out.put_unsigned(v);
        }
        raw(out);
    }

    // A NUL-terminated run of printable bytes within the array's `nelems` from `at`.
    constexpr bool string_at(std::uint64_t at, std::uint64_t nelems) const noexcept {
        for (std::uint64_t i = 0; i < nelems; ++i) {
            if (at + i >= bytes_.size()) return false;
            const auto c = static_cast<signed char>(bytes_[at + i]);
            if (c == 0) return true;
            if (c <= 0x1f || c >= 0x7f) return false;
        }
        return false;
    }
    constexpr void string_value(std::uint64_t at) noexcept {
        std::size_t len = 0;
        while (bytes_[at + len] != 0) ++len;
        item();
        quoted(std::string_view(bytes_.data() + at, len));
    }
    constexpr bool step() noexcept {
        if (failed_) return false;
        if (++steps_ > max_steps_) {
            fail(error(errc::too_deep, "the value has more members and elements than the printer visits").limit(max_steps_));
            return false;
        }
        return true;
    }
    constexpr void ptr_value(std::uint64_t at) noexcept {
        std::uint64_t p = 0;
        if (!load(at, kernel_ptr_size, p)) return;
        small_text<24> out;
        out.put_unsigned(p);
        raw(out);
    }
    // An ENUM's (n bytes, sign-extended) or ENUM64's value, as the quoted name of the first enumerator
    // `match` finds (bpftool compares with an ENUM's enumerators as signed 32-bit values), else the number.
    template <class Match>
    constexpr void enum_value(bool is64, std::size_t n, std::uint64_t at, Match&& match) noexcept {
        std::uint64_t v = 0;
        if (!load(at, n, v)) return;
        const unsigned shift = static_cast<unsigned>(64 - 8 * n);
        if (!is64) v = static_cast<std::uint64_t>(static_cast<std::int64_t>(v << shift) >> shift);
        if (match(v)) return;
        small_text<24> out;
        out.put_signed(static_cast<std::int64_t>(v));
        raw(out);
    }

    // Prints the plan's node `i` at `base` + its offset; returns the index past its subtree.
    constexpr std::size_t node(std::span<const json_op> ops, std::string_view text, std::span<const json_enum_entry> enums,
                               std::size_t i, std::uint64_t base) noexcept {
        const json_op& o = ops[i];
        const std::uint64_t at = base + o.off;
        const std::size_t next = o.code == json_op::op::array || o.code == json_op::op::composite ? o.end : i + 1;
        if (!step()) return next;
        switch (o.code) {
        case json_op::op::int_: int_value(o.nr_bits, o.int_offset, o.enc, o.bit, at); break;
        case json_op::op::ptr: ptr_value(at); break;
        case json_op::op::enum_:
            enum_value(o.is64, o.n, at, [&](std::uint64_t v) {
                for (const json_enum_entry& e : enums.subspan(o.first, o.count)) {
                    if (v == e.key) {
                        item();
                        put(text.substr(e.at, e.length));
                        return true;
                    }
                }
                return false;
            });
            break;
        case json_op::op::array:
            if (o.chars && string_at(at, o.count)) {
                string_value(at);
                break;
            }
            begin('[');
            for (std::uint32_t k = 0; k < o.count && !failed_; ++k) node(ops, text, enums, i + 1, at + k * o.stride);
            end(']');
            break;
        case json_op::op::composite:
            begin('{');
            for (std::size_t j = i + 1; j < o.end;) {
                if (failed_) break;
                item();  // name(): the member's quoted name and ':' in one literal
                comma_ = false;
                put(text.substr(ops[j].first, ops[j].count));
                const json_op& m = ops[j + 1];
                if (m.code == json_op::op::bitfield) {
                    bitfield(m.nr_bits, m.bit, at + m.off);
                    j += 2;
                } else {
                    j = node(ops, text, enums, j + 1, at);
                }
            }
            end('}');
            break;
        case json_op::op::name: case json_op::op::bitfield: break;  // inside a composite only
        }
        return next;
    }

    constexpr void value(std::uint32_t id, std::uint32_t bit_offset, std::uint64_t at) noexcept {
        if (!step()) return;
        id = json_resolved(b_, id);
        const type t = b_[id];
        switch (t.kind()) {
        case kind::int_: return int_value(t.int_bits(), t.int_offset(), t.int_encoding(), bit_offset, at);
        case kind::ptr: return ptr_value(at);
        case kind::enum_: case kind::enum64: {
            const bool is64 = t.kind() == kind::enum64;
            return enum_value(is64, is64 ? 8 : t.size(), at, [&](std::uint64_t v) {
                for (const enumerator e : t.enumerators()) {
                    if (v == json_enum_key(is64, e)) {
                        item();
                        quoted(b_.string(e.name_off));
                        return true;
                    }
                }
                return false;
            });
        }
        case kind::array: {
            const array_info a = t.array();
            if (json_char_elements(b_, a) && string_at(at, a.nelems)) return string_value(at);
            auto es = b_.resolve_size(a.type);
            if (!es) return fail(error(es.error()).at_type(id));
            begin('[');
            for (std::uint32_t i = 0; i < a.nelems && !failed_; ++i) value(a.type, 0, at + i * *es);
            return end(']');
        }
        case kind::struct_: case kind::union_: {
            begin('{');
            for (const member m : t.members()) {
                if (failed_) break;
                name(b_.string(m.name_off));
                const std::uint64_t mat = at + m.bit_offset / 8;
                if (m.bitfield_size != 0) bitfield(m.bitfield_size, m.bit_offset & 7, mat);
                else value(m.type, m.bit_offset & 7, mat);
            }
            return end('}');
        }
        default:
            return fail(error(errc::unsupported, "kind bpftool's dumper does not print").at_type(id));
        }
    }
};

}  // namespace detail

// Writes the value in `bytes` of type `type_id` to `sink` as bpftool's BTF dumper writes it into
// `bpftool map dump -j` ("formatted" → "value"), returning the length written. Refused before any output:
// a bad id, a void chain, and kinds bpftool's dumper fails on (FWD, FLOAT, FUNC_PROTO, VAR, DATASEC...).
// `max_steps` bounds the members and elements visited (and the type nodes checked first).
template <byte_sink S>
[[nodiscard]] constexpr result<std::size_t> format_json(const btf& b, std::uint32_t type_id, byte_span bytes, S& sink,
                                                        std::uint64_t max_steps = show_default_steps) noexcept {
    BTFKIT_TRY(detail::check_json_type(b, type_id, max_steps));
    BTFKIT_TRY(detail::check_json_value(detail::json_size(b, type_id), type_id, bytes));
    detail::json_printer<S> p(b, bytes, sink, max_steps);
    BTFKIT_TRY(p.run(type_id));
    return p.length();
}

// format_json() for many values of one type: the type is checked and walked once, into a flat plan
// of what to read where and the names already quoted, and each value is then printed from the plan
// alone: the same bytes as format_json(b, type_id, bytes, sink, max_steps), the same errors. Borrows
// `b`, which must outlive the plan. The plan holds a node per member and array type the check visits
// (hundreds for a kernel struct; at most max_steps, so a smaller budget bounds it on hostile BTF).
class json_plan {
public:
    [[nodiscard]] static constexpr result<json_plan> compile(const btf& b, std::uint32_t type_id, std::uint64_t max_steps = show_default_steps) {
        BTFKIT_TRY(detail::check_json_type(b, type_id, max_steps));
        json_plan p;
        p.b_ = &b;
        p.type_id_ = type_id;
        p.max_steps_ = max_steps;
        p.size_ = detail::json_size(b, type_id);
        BTFKIT_TRY(p.add(type_id, 0, 0, 0));
        if (p.text_.size() > 0xffffffffu)  // its offsets are 32-bit (only hostile BTF comes near)
            return error(errc::too_deep, "the type's names take more than 4 GiB quoted").at_type(type_id);
        return p;
    }

    template <byte_sink S>
    [[nodiscard]] constexpr result<std::size_t> format(byte_span bytes, S& sink) const noexcept {
        BTFKIT_TRY(detail::check_json_value(size_, type_id_, bytes));
        detail::json_printer<S> p(*b_, bytes, sink, max_steps_);
        BTFKIT_TRY(p.run_plan(ops_, std::string_view(text_.data(), text_.size()), enums_));
        return p.length();
    }

    [[nodiscard]] constexpr std::uint32_t type_id() const noexcept { return type_id_; }
    [[nodiscard]] constexpr std::size_t node_count() const noexcept { return ops_.size(); }

private:
    using op = detail::json_op::op;

    // Appends `s` quoted (and `then`) to the plan's text; returns where it starts.
    constexpr std::uint32_t quoted(std::string_view s, std::string_view then = {}) {
        const auto at = static_cast<std::uint32_t>(text_.size());
        auto put = [this](std::string_view piece) { text_.insert(text_.end(), piece.begin(), piece.end()); };
        detail::json_quote(s, put);
        put(then);
        return at;
    }
    [[nodiscard]] constexpr std::uint32_t since(std::uint32_t at) const noexcept { return static_cast<std::uint32_t>(text_.size()) - at; }
    // The node of a value of type `id` at `off` bytes (and `bit` bits) into its holder, as
    // json_printer::value() prints it; check_json_printable has passed, so depth and size are bounded.
    constexpr status add(std::uint32_t id, std::uint32_t bit, std::uint64_t off, std::uint32_t depth) {
        if (depth > 64) return error(errc::too_deep, "types nest deeper than the printer allows").at_type(id).limit(64);
        id = detail::json_resolved(*b_, id);
        const type t = (*b_)[id];
        detail::json_op o;
        o.off = off;
        o.bit = bit;
        switch (t.kind()) {
        case kind::int_:
            o.code = op::int_;
            o.nr_bits = t.int_bits();
            o.int_offset = t.int_offset();
            o.enc = t.int_encoding();
            ops_.push_back(o);
            return {};
        case kind::ptr:
            o.code = op::ptr;
            ops_.push_back(o);
            return {};
        case kind::enum_: case kind::enum64:
            o.code = op::enum_;
            o.is64 = t.kind() == kind::enum64;
            o.n = o.is64 ? 8 : t.size();
            o.first = static_cast<std::uint32_t>(enums_.size());
            for (const enumerator e : t.enumerators()) {
                const std::uint32_t at = quoted(b_->string(e.name_off));
                enums_.push_back({detail::json_enum_key(o.is64, e), at, since(at)});
            }
            o.count = static_cast<std::uint32_t>(enums_.size()) - o.first;
            ops_.push_back(o);
            return {};
        case kind::array: {
            const array_info a = t.array();
            auto es = b_->resolve_size(a.type);
            if (!es) return error(es.error()).at_type(id);
            o.code = op::array;
            o.chars = detail::json_char_elements(*b_, a);
            o.count = a.nelems;
            o.stride = *es;
            const std::size_t at = ops_.size();
            ops_.push_back(o);
            BTFKIT_TRY(add(a.type, 0, 0, depth + 1));
            ops_[at].end = static_cast<std::uint32_t>(ops_.size());
            return {};
        }
        case kind::struct_: case kind::union_: {
            o.code = op::composite;
            const std::size_t at = ops_.size();
            ops_.push_back(o);
            for (const member m : t.members()) {
                detail::json_op name;
                name.code = op::name;
                name.first = quoted(b_->string(m.name_off), ":");
                name.count = since(name.first);
                ops_.push_back(name);
                if (m.bitfield_size != 0) {
                    detail::json_op f;
                    f.code = op::bitfield;
                    f.off = m.bit_offset / 8;
                    f.bit = m.bit_offset & 7;
                    f.nr_bits = m.bitfield_size;
                    ops_.push_back(f);
                } else {
                    BTFKIT_TRY(add(m.type, m.bit_offset & 7, m.bit_offset / 8, depth + 1));
                }
            }
            ops_[at].end = static_cast<std::uint32_t>(ops_.size());
            return {};
        }
        default:
            return error(errc::unsupported, "kind bpftool's dumper does not print").at_type(id);
        }
    }

    const btf* b_ = nullptr;
    std::uint32_t type_id_ = 0;
    std::uint64_t max_steps_ = 0;
    std::optional<std::uint64_t> size_{};
    std::vector<detail::json_op> ops_{};
    std::vector<char> text_{};  // the quoted names, each member's with its ':'
    std::vector<detail::json_enum_entry> enums_{};
};

}  // namespace btfkit
