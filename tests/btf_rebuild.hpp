// Rebuilds a parsed BTF type by type through btf_builder (the typed adds, or copy_type), and compares
// two parsed BTFs record for record: the round trip of tests/unit/write/btf_builder.cpp, the oracles
// of tests/test_btf_write.cpp and fuzz_btf_write.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "btfkit/format/btf.hpp"
#include "btfkit/write/btf_builder.hpp"

namespace btfkit::testing {

// Whether the typed adds can write `t` exactly: fields a kind does not define are zero, and INT has
// a bit count and no bits outside its encoding, offset and bit count.
[[nodiscard]] constexpr bool typed_expressible(const type& t) noexcept {
    const kind k = t.kind();
    const bool takes_kflag = k == kind::struct_ || k == kind::union_ || k == kind::enum_ || k == kind::enum64 ||
                             k == kind::fwd || k == kind::decl_tag || k == kind::type_tag;
    const bool takes_vlen = k == kind::struct_ || k == kind::union_ || k == kind::enum_ || k == kind::enum64 ||
                            k == kind::func_proto || k == kind::datasec || k == kind::func;
    if ((t.info() & 0x60ff0000u) != 0) return false;  // bits no kind defines
    if (t.kflag() && !takes_kflag) return false;
    if (t.vlen() != 0 && !takes_vlen) return false;
    switch (k) {
    case kind::ptr: case kind::volatile_: case kind::const_: case kind::restrict_: case kind::func_proto:
        return t.name_off() == 0;
    case kind::array: return t.name_off() == 0 && t.size() == 0;
    case kind::fwd: return t.size() == 0;
    case kind::int_: return (t.int_data() & 0xf000ff00u) == 0 && t.int_bits() != 0;  // bits 8-15 and 28-31: unused
    case kind::decl_tag: return t.decl_tag_component() >= -1;
    default: return k != kind::unknown;
    }
}

// Adds `t` to `b` through the typed add for its kind (same ids: the builder continues where the
// source's numbering is). Returns the new id.
inline std::uint32_t add_typed(btf_builder& b, const type& t) {
    const btf& src = *t.owner();
    switch (t.kind()) {
    case kind::int_: return b.add_int(t.name(), t.size(), t.int_encoding(), t.int_bits(), t.int_offset());
    case kind::ptr: return b.add_ptr(t.ref());
    case kind::array: return b.add_array(t.array().type, t.array().index_type, t.array().nelems);
    case kind::struct_: case kind::union_: {
        std::vector<member_spec> ms;
        for (const member m : t.members()) ms.push_back({src.string(m.name_off), m.type, m.bit_offset, m.bitfield_size});
        return t.is(kind::struct_) ? b.add_struct(t.name(), t.size(), ms, t.kflag()) : b.add_union(t.name(), t.size(), ms, t.kflag());
    }
    case kind::enum_: case kind::enum64: {
        std::vector<enumerator_spec> es;
        for (const enumerator e : t.enumerators()) es.push_back({src.string(e.name_off), e.value});
        return t.is(kind::enum_) ? b.add_enum(t.name(), t.size(), t.kflag(), es) : b.add_enum64(t.name(), t.size(), t.kflag(), es);
    }
    case kind::fwd: return b.add_fwd(t.name(), t.kflag());
    case kind::typedef_: return b.add_typedef(t.name(), t.ref());
    case kind::volatile_: return b.add_volatile(t.ref());
    case kind::const_: return b.add_const(t.ref());
    case kind::restrict_: return b.add_restrict(t.ref());
    case kind::func: return b.add_func(t.name(), t.ref(), t.func_linkage());
    case kind::func_proto: {
        std::vector<param_spec> ps;
        for (const param p : t.params()) ps.push_back({src.string(p.name_off), p.type});
        return b.add_func_proto(t.ref(), ps);
    }
    case kind::var: return b.add_var(t.name(), t.ref(), t.var_linkage());
    case kind::datasec: {
        std::vector<var_spec> vs;
        for (const datasec_var v : t.vars()) vs.push_back({v.type, v.offset, v.size});
        return b.add_datasec(t.name(), t.size(), vs);
    }
    case kind::float_: return b.add_float(t.name(), t.size());
    case kind::decl_tag: return b.add_decl_tag(t.name(), t.ref(), t.decl_tag_component(), t.kflag());
    case kind::type_tag: return b.add_type_tag(t.name(), t.ref(), t.kflag());
    case kind::unknown: break;
    }
    return b.copy_type(t, [](std::uint32_t id) { return id; });  // records the unknown kind as the error
}

struct rebuild_counts {
    std::uint32_t typed = 0, copied = 0;  // types written through the typed adds / copy_type
};

// Every own type of `src` into `b` (which must continue src's numbering): typed where expressible,
// else copied; `copy_all` copies every type. Strings go by content either way (a base string too).
// `keep_strings` first adds src's own string table as it is.
inline rebuild_counts rebuild(const btf& src, btf_builder& b, bool copy_all = false, bool keep_strings = false) {
    rebuild_counts n;
    if (keep_strings) b.add_strings(src.own_strings());
    for (const type t : src.types()) {
        if (!copy_all && typed_expressible(t)) {
            add_typed(b, t);
            ++n.typed;
        } else {
            b.copy_type(t, [](std::uint32_t id) { return id; });
            ++n.copied;
        }
    }
    return n;
}

// Where two BTFs differ: a type id and what differs there (none: `what` is null).
struct difference {
    std::uint32_t type_id = 0;
    const char* what = nullptr;
    [[nodiscard]] constexpr bool empty() const noexcept { return what == nullptr; }
    [[nodiscard]] std::string message() const {
        return empty() ? std::string{} : "type #" + std::to_string(type_id) + ": " + what + " differs";
    }
};

// The first difference between the own types of two parsed BTFs: id ranges, then per type its
// header words, kind fields and records, with strings compared by content.
constexpr difference first_difference(const btf& a, const btf& b) {
    if (a.first_id() != b.first_id() || a.type_count() != b.type_count()) return {a.type_count(), "the id range"};
    for (std::uint32_t id = a.first_id(); id < a.type_count(); ++id) {
        const type x = a[id], y = b[id];
        auto diff = [id](const char* what) { return difference{id, what}; };
        if (x.info() != y.info()) return diff("info (kind, kflag, vlen)");
        if (x.name() != y.name()) return diff("name");
        if (x.size() != y.size()) return diff("size or type");
        switch (x.kind()) {
        case kind::int_: case kind::var: case kind::decl_tag:
            if (x.raw_extra_word() != y.raw_extra_word()) return diff("INT data, VAR linkage or DECL_TAG component");
            break;
        case kind::array:
            if (x.array().type != y.array().type || x.array().index_type != y.array().index_type || x.array().nelems != y.array().nelems) return diff("array");
            break;
        case kind::struct_: case kind::union_:
            for (std::uint32_t i = 0; i < x.vlen(); ++i) {
                const member m = x.members()[i], n = y.members()[i];
                if (a.string(m.name_off) != b.string(n.name_off) || m.type != n.type || m.raw_offset != n.raw_offset) return diff("member");
            }
            break;
        case kind::enum_: case kind::enum64:
            for (std::uint32_t i = 0; i < x.vlen(); ++i) {
                const enumerator m = x.enumerators()[i], n = y.enumerators()[i];
                if (a.string(m.name_off) != b.string(n.name_off) || m.lo32 != n.lo32 || m.hi32 != n.hi32) return diff("enumerator");
            }
            break;
        case kind::func_proto:
            for (std::uint32_t i = 0; i < x.vlen(); ++i) {
                const param m = x.params()[i], n = y.params()[i];
                if (a.string(m.name_off) != b.string(n.name_off) || m.type != n.type) return diff("parameter");
            }
            break;
        case kind::datasec:
            for (std::uint32_t i = 0; i < x.vlen(); ++i) {
                const datasec_var m = x.vars()[i], n = y.vars()[i];
                if (m.type != n.type || m.offset != n.offset || m.size != n.size) return diff("datasec variable");
            }
            break;
        default:
            break;
        }
    }
    return {};
}

// Whether `data` is laid out as btf_builder writes it: a 24-byte header, types right after it,
// strings right after the types, nothing after the strings.
[[nodiscard]] constexpr bool canonical_layout(const btf& b) noexcept {
    const btf_header& h = b.header();
    return h.hdr_len == btf_header_size && h.flags == 0 && h.type_off == 0 && h.str_off == h.type_len &&
           b.data().size() == std::size_t{h.hdr_len} + h.str_off + h.str_len;
}

}  // namespace btfkit::testing
