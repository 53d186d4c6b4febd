// bpftool's raw text dump of BTF (`bpftool btf dump file F [-B BASE]`), byte for byte, into any sink.
#pragma once

#include <charconv>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "btf.hpp"

namespace btfkit {

// Anything bytes can be appended to: std::string, std::vector<char> wrappers, a FILE* adapter.
template <class S>
concept byte_sink = requires(S& s, const char* p, std::size_t n) { s.append(p, n); };

namespace detail {

// Formats into a fixed chunk and hands full chunks to the sink: one append per chunk, none per line.
template <byte_sink S>
class chunk_writer {
public:
    static constexpr std::size_t chunk_size = std::size_t{1} << 16;

    explicit chunk_writer(S& sink) noexcept : sink_(sink) {}
    chunk_writer(const chunk_writer&) = delete;
    chunk_writer& operator=(const chunk_writer&) = delete;
    ~chunk_writer() { flush(); }

    void flush() {
        if (n_ != 0) sink_.append(buf_, n_);
        n_ = 0;
    }
    // The sink, with everything put so far handed to it.
    S& flushed_sink() {
        flush();
        return sink_;
    }
    // The sink, and how much is put but not yet handed to it.
    S& sink() noexcept { return sink_; }
    [[nodiscard]] std::size_t buffered() const noexcept { return n_; }
    void put(char c) {
        if (n_ == chunk_size) flush();
        buf_[n_++] = c;
    }
    void put(std::string_view s) {
        if (s.size() > chunk_size - n_) {
            flush();
            if (s.size() > chunk_size) {
                sink_.append(s.data(), s.size());
                return;
            }
        }
        copy(buf_ + n_, s.data(), s.size());
        n_ += s.size();
    }
    template <std::integral T>
    void put(T v) {
        if (chunk_size - n_ < 24) flush();
        n_ = static_cast<std::size_t>(std::to_chars(buf_ + n_, buf_ + chunk_size, v).ptr - buf_);
    }
    // A quoted name: bpftool prints '(anon)' for offset 0 and '(invalid)' for a bad offset.
    void put_name(const btf& b, std::uint32_t off) {
        put('\'');
        std::string_view s;
        if (off == 0) put(std::string_view{"(anon)"});
        else if (b.string_at(off, s)) put(s);
        else put(std::string_view{"(invalid)"});
        put('\'');
    }

private:
    // Most pieces are a name or a keyword: two overlapping loads and stores of 8 (or 4) bytes copy
    // them without a call to memcpy, reading and writing only the n bytes.
    static void copy(char* d, const char* p, std::size_t n) noexcept {
        if (n > 16) {
            std::memcpy(d, p, n);
        } else if (n >= 8) {
            copy_ends<std::uint64_t>(d, p, n);
        } else if (n >= 4) {
            copy_ends<std::uint32_t>(d, p, n);
        } else if (n != 0) {
            d[0] = p[0];
            d[n / 2] = p[n / 2];
            d[n - 1] = p[n - 1];
        }
    }

    // n bytes, sizeof(Word) <= n <= 2 * sizeof(Word): the first and the last word, overlapping.
    template <class Word>
    static void copy_ends(char* d, const char* p, std::size_t n) noexcept {
        Word first, last;
        std::memcpy(&first, p, sizeof first);
        std::memcpy(&last, p + n - sizeof last, sizeof last);
        std::memcpy(d, &first, sizeof first);
        std::memcpy(d + n - sizeof last, &last, sizeof last);
    }

    S& sink_;
    std::size_t n_ = 0;
    char buf_[chunk_size];
};

[[nodiscard]] constexpr std::string_view int_encoding_name(std::uint8_t enc) noexcept {
    switch (enc) {
    case 0: return "(none)";
    case int_signed: return "SIGNED";
    case int_char: return "CHAR";
    case int_bool: return "BOOL";
    default: return "UNKN";
    }
}

// FUNC linkage (its vlen) and VAR linkage, spelled alike by bpftool.
[[nodiscard]] constexpr std::string_view linkage_name(std::uint32_t l) noexcept {
    switch (l) {
    case 0: return "static";
    case 1: return "global";
    case 2: return "extern";
    default: return "(unknown)";
    }
}

template <byte_sink S>
void dump_raw_type(const btf& b, const type& t, chunk_writer<S>& w) {
    using namespace std::string_view_literals;
    const kind k = t.kind();
    w.put('[');
    w.put(t.id());
    w.put("] "sv);
    w.put(kind_name(k));
    w.put(' ');
    w.put_name(b, t.name_off());
    switch (k) {
    case kind::int_:
        w.put(" size="sv);
        w.put(t.size());
        w.put(" bits_offset="sv);
        w.put(std::uint32_t{t.int_offset()});
        w.put(" nr_bits="sv);
        w.put(std::uint32_t{t.int_bits()});
        w.put(" encoding="sv);
        w.put(int_encoding_name(t.int_encoding()));
        break;
    case kind::ptr: case kind::const_: case kind::volatile_: case kind::restrict_: case kind::typedef_:
    case kind::type_tag:
        w.put(" type_id="sv);
        w.put(t.ref());
        break;
    case kind::array: {
        const array_info a = t.array();
        w.put(" type_id="sv);
        w.put(a.type);
        w.put(" index_type_id="sv);
        w.put(a.index_type);
        w.put(" nr_elems="sv);
        w.put(a.nelems);
        break;
    }
    case kind::struct_: case kind::union_:
        w.put(" size="sv);
        w.put(t.size());
        w.put(" vlen="sv);
        w.put(std::uint32_t{t.vlen()});
        for (const member m : t.members()) {
            w.put("\n\t"sv);
            w.put_name(b, m.name_off);
            w.put(" type_id="sv);
            w.put(m.type);
            w.put(" bits_offset="sv);
            w.put(m.bit_offset);
            if (m.bitfield_size != 0) {
                w.put(" bitfield_size="sv);
                w.put(m.bitfield_size);
            }
        }
        break;
    case kind::enum_: case kind::enum64: {
        const bool is_signed = t.kflag();
        w.put(is_signed ? " encoding=SIGNED size="sv : " encoding=UNSIGNED size="sv);
        w.put(t.size());
        w.put(" vlen="sv);
        w.put(std::uint32_t{t.vlen()});
        for (const enumerator e : t.enumerators()) {
            w.put("\n\t"sv);
            w.put_name(b, e.name_off);
            w.put(" val="sv);
            if (k == kind::enum_) {
                if (is_signed) w.put(static_cast<std::int32_t>(e.lo32));
                else w.put(e.lo32);
            } else if (is_signed) {
                w.put(static_cast<std::int64_t>(e.value));
                w.put("LL"sv);
            } else {
                w.put(e.value);
                w.put("ULL"sv);
            }
        }
        break;
    }
    case kind::fwd:
        w.put(t.kflag() ? " fwd_kind=union"sv : " fwd_kind=struct"sv);
        break;
    case kind::func:
        w.put(" type_id="sv);
        w.put(t.ref());
        w.put(" linkage="sv);
        w.put(linkage_name(t.func_linkage()));
        break;
    case kind::func_proto:
        w.put(" ret_type_id="sv);
        w.put(t.ref());
        w.put(" vlen="sv);
        w.put(std::uint32_t{t.vlen()});
        for (const param p : t.params()) {
            w.put("\n\t"sv);
            w.put_name(b, p.name_off);
            w.put(" type_id="sv);
            w.put(p.type);
        }
        break;
    case kind::var:
        w.put(" type_id="sv);
        w.put(t.ref());
        w.put(", linkage="sv);
        w.put(linkage_name(t.var_linkage()));
        break;
    case kind::datasec:
        w.put(" size="sv);
        w.put(t.size());
        w.put(" vlen="sv);
        w.put(std::uint32_t{t.vlen()});
        for (const datasec_var v : t.vars()) {
            w.put("\n\ttype_id="sv);
            w.put(v.type);
            w.put(" offset="sv);
            w.put(v.offset);
            w.put(" size="sv);
            w.put(v.size);
            if (b.valid_id(v.type)) {
                const type vt = b[v.type];
                w.put(" ("sv);
                w.put(kind_name(vt.kind()));
                w.put(' ');
                w.put_name(b, vt.name_off());
                w.put(')');
            }
        }
        break;
    case kind::float_:
        w.put(" size="sv);
        w.put(t.size());
        break;
    case kind::decl_tag:
        w.put(" type_id="sv);
        w.put(t.ref());
        w.put(" component_idx="sv);
        w.put(t.decl_tag_component());
        break;
    case kind::unknown:
        break;
    }
    w.put('\n');
}

}  // namespace detail

// Appends bpftool's raw dump of `b`'s own types (for split BTF, not its base's) to `out`.
template <byte_sink S>
void dump_raw(const btf& b, S& out) {
    detail::chunk_writer<S> w(out);
    for (const type t : b.types()) detail::dump_raw_type(b, t, w);
}

// Appends the raw dump line(s) of one type; `id` must be valid.
template <byte_sink S>
void dump_raw_type(const btf& b, std::uint32_t id, S& out) {
    detail::chunk_writer<S> w(out);
    detail::dump_raw_type(b, b[id], w);
}

}  // namespace btfkit
