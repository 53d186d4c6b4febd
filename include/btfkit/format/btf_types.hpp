// BTF vocabulary: kinds, record layouts, and the views of one type and of its member, parameter,
// enumerator and variable records (decoded on access from the blob a btf owns).
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string_view>

#include "../bytes.hpp"
#include "../error.hpp"

namespace btfkit {

enum class kind : std::uint8_t {
    unknown = 0, int_ = 1, ptr = 2, array = 3, struct_ = 4, union_ = 5, enum_ = 6, fwd = 7, typedef_ = 8,
    volatile_ = 9, const_ = 10, restrict_ = 11, func = 12, func_proto = 13, var = 14, datasec = 15,
    float_ = 16, decl_tag = 17, type_tag = 18, enum64 = 19,
};
inline constexpr std::uint8_t kind_max = 19;

// bpftool's spelling of each kind.
[[nodiscard]] constexpr std::string_view kind_name(kind k) noexcept {
    constexpr std::string_view names[] = {"UNKNOWN", "INT", "PTR", "ARRAY", "STRUCT", "UNION", "ENUM",
                                          "FWD", "TYPEDEF", "VOLATILE", "CONST", "RESTRICT", "FUNC",
                                          "FUNC_PROTO", "VAR", "DATASEC", "FLOAT", "DECL_TAG", "TYPE_TAG",
                                          "ENUM64"};
    const auto i = static_cast<std::size_t>(k);
    return i < std::size(names) ? names[i] : "UNKNOWN";
}

// The libbpf/kernel spelling ("struct", "typedef", ...), as used in CO-RE log lines.
[[nodiscard]] constexpr std::string_view kind_str(kind k) noexcept {
    constexpr std::string_view names[] = {"void", "int", "ptr", "array", "struct", "union", "enum", "fwd",
                                          "typedef", "volatile", "const", "restrict", "func", "func_proto",
                                          "var", "datasec", "float", "decl_tag", "type_tag", "enum64"};
    const auto i = static_cast<std::size_t>(k);
    return i < std::size(names) ? names[i] : "unknown";
}

inline constexpr std::uint16_t btf_magic = 0xeB9F;
inline constexpr std::uint32_t btf_header_size = 24;
inline constexpr std::uint32_t btf_type_header_size = 12;
inline constexpr std::uint32_t max_resolve_depth = 32;  // libbpf's bound for size / modifier resolution

// INT encoding bits
inline constexpr std::uint8_t int_signed = 1, int_char = 2, int_bool = 4;

// Size in bytes of a type record of kind `k` with `vlen` entries, 0 for an unknown kind.
[[nodiscard]] constexpr std::uint64_t type_record_size(kind k, std::uint32_t vlen) noexcept {
    switch (k) {
    case kind::int_: case kind::var: case kind::decl_tag: return btf_type_header_size + 4;
    case kind::ptr: case kind::fwd: case kind::typedef_: case kind::volatile_: case kind::const_:
    case kind::restrict_: case kind::func: case kind::float_: case kind::type_tag:
        return btf_type_header_size;
    case kind::array: return btf_type_header_size + 12;
    case kind::struct_: case kind::union_: case kind::datasec: case kind::enum64:
        return btf_type_header_size + 12ull * vlen;
    case kind::enum_: case kind::func_proto: return btf_type_header_size + 8ull * vlen;
    case kind::unknown: return 0;
    }
    return 0;
}

// Kinds a CO-RE relocation's root type has in practice (clang emits only these). A name index
// (index/name_index.hpp) holds only them, and lookups for other kinds fall back to libbpf's linear scan,
// so answers stay exact. Parsing lists a BTF's named types of these kinds (btf::named_indexed).
[[nodiscard]] constexpr bool indexed_kind(kind k) noexcept {
    switch (k) {
    case kind::struct_: case kind::union_: case kind::enum_: case kind::enum64: case kind::fwd:
    case kind::typedef_: case kind::int_: case kind::float_:
        return true;
    default:
        return false;
    }
}

// What a lookup searches: a set of kinds, and how names compare.
//   types    the CO-RE root kinds (indexed_kind) by essential name; the parse lists them (btf::named_indexed)
//   symbols  FUNC and VAR (kfuncs, ksyms, attach targets) by whole name, as libbpf's lookups compare them
//   any_kind every kind by essential name, scanned (libbpf's linear scan, for kinds no index holds)
// types and symbols each have their own indexes (index/name_index.hpp, index/module_index.hpp), built
// when first needed, so a lookup in one never pays for the other.
enum class name_space : std::uint8_t { types, symbols, any_kind };
inline constexpr std::size_t indexed_name_spaces = 2;  // types and symbols: the spaces with an index

[[nodiscard]] constexpr bool in_name_space(kind k, name_space s) noexcept {
    switch (s) {
    case name_space::types: return indexed_kind(k);
    case name_space::symbols: return k == kind::func || k == kind::var;
    case name_space::any_kind: return true;
    }
    return false;
}
// The kinds of `s` as a mask (bit k for kind k): a branch-free test in a scan's loop.
[[nodiscard]] constexpr std::uint32_t name_space_kinds(name_space s) noexcept {
    std::uint32_t m = 0;
    for (std::uint32_t k = 0; k < 32; ++k) m |= in_name_space(static_cast<kind>(k), s) ? 1u << k : 0u;
    return m;
}
// Whether names compare by their essential name (without a "___flavor" suffix) or whole.
[[nodiscard]] constexpr bool compares_essential(name_space s) noexcept { return s != name_space::symbols; }

inline constexpr std::uint32_t linkage_static = 0, linkage_global = 1, linkage_extern = 2;

// A FUNC's or VAR's linkage as a word (BTF_FUNC_STATIC / GLOBAL / EXTERN and BTF_VAR_STATIC /
// GLOBAL_ALLOCATED / GLOBAL_EXTERN are the same three values).
[[nodiscard]] constexpr std::string_view linkage_name(std::uint32_t l) noexcept {
    switch (l) {
    case 0: return "static";
    case 1: return "global";
    case 2: return "extern";
    default: return "unknown";
    }
}

class btf;

// One member of a STRUCT or UNION.
struct member {
    std::uint32_t name_off = 0;
    std::uint32_t type = 0;
    std::uint32_t bit_offset = 0;     // offset in bits from the start of the composite
    std::uint32_t bitfield_size = 0;  // 0 unless the composite has kflag and this is a bitfield
    std::uint32_t raw_offset = 0;     // the member's offset word as stored
};
struct param {
    std::uint32_t name_off = 0;
    std::uint32_t type = 0;
};
// One enumerator of an ENUM or ENUM64; `value` holds the raw bits (sign-extended for signed ENUM).
struct enumerator {
    std::uint32_t name_off = 0;
    std::uint64_t value = 0;
    std::uint32_t lo32 = 0, hi32 = 0;  // as stored (ENUM: lo32 only)
};
struct datasec_var {
    std::uint32_t type = 0;
    std::uint32_t offset = 0;
    std::uint32_t size = 0;
};
struct array_info {
    std::uint32_t type = 0;
    std::uint32_t index_type = 0;
    std::uint32_t nelems = 0;
};

namespace detail {
// Decodes the i-th trailing record of a type; one specialisation per record shape.
template <class R> struct record_decoder;
}  // namespace detail

// A lazy, borrowed range over a type's trailing records (members, params, enumerators, vars).
template <class R>
class record_range {
public:
    class iterator {
    public:
        using value_type = R;
        using difference_type = std::ptrdiff_t;
        constexpr iterator() noexcept = default;
        constexpr iterator(const record_range* r, std::uint32_t i) noexcept : r_(r), i_(i) {}
        constexpr R operator*() const noexcept { return r_->at(i_); }
        constexpr iterator& operator++() noexcept { ++i_; return *this; }
        constexpr iterator operator++(int) noexcept { auto t = *this; ++i_; return t; }
        constexpr bool operator==(const iterator& o) const noexcept { return i_ == o.i_; }
        constexpr std::uint32_t index() const noexcept { return i_; }
    private:
        const record_range* r_ = nullptr;
        std::uint32_t i_ = 0;
    };

    constexpr record_range() noexcept = default;
    constexpr record_range(byte_reader data, std::size_t first, std::uint32_t count, bool kflag, bool is_signed = false) noexcept
        : data_(data), first_(first), count_(count), kflag_(kflag), signed_(is_signed) {}

    constexpr iterator begin() const noexcept { return {this, 0}; }
    constexpr iterator end() const noexcept { return {this, count_}; }
    constexpr std::uint32_t size() const noexcept { return count_; }
    constexpr bool empty() const noexcept { return count_ == 0; }
    // Unchecked: i < size().
    constexpr R at(std::uint32_t i) const noexcept { return detail::record_decoder<R>::decode(*this, i); }
    constexpr R operator[](std::uint32_t i) const noexcept { return at(i); }

    byte_reader data_{};
    std::size_t first_ = 0;
    std::uint32_t count_ = 0;
    bool kflag_ = false;
    bool signed_ = false;
};

namespace detail {
template <> struct record_decoder<member> {
    static constexpr member decode(const record_range<member>& r, std::uint32_t i) noexcept {
        const std::size_t o = r.first_ + 12u * i;
        member m{r.data_.u32(o), r.data_.u32(o + 4), 0, 0, r.data_.u32(o + 8)};
        if (r.kflag_) {
            m.bit_offset = m.raw_offset & 0xffffffu;
            m.bitfield_size = m.raw_offset >> 24;
        } else {
            m.bit_offset = m.raw_offset;
        }
        return m;
    }
};
template <> struct record_decoder<param> {
    static constexpr param decode(const record_range<param>& r, std::uint32_t i) noexcept {
        const std::size_t o = r.first_ + 8u * i;
        return {r.data_.u32(o), r.data_.u32(o + 4)};
    }
};
template <> struct record_decoder<datasec_var> {
    static constexpr datasec_var decode(const record_range<datasec_var>& r, std::uint32_t i) noexcept {
        const std::size_t o = r.first_ + 12u * i;
        return {r.data_.u32(o), r.data_.u32(o + 4), r.data_.u32(o + 8)};
    }
};
}  // namespace detail

// Enumerators of ENUM (8-byte records) and ENUM64 (12-byte records) through one range type.
struct enumerator_range : record_range<enumerator> {
    using record_range<enumerator>::record_range;
};
namespace detail {
template <> struct record_decoder<enumerator> {
    // kflag_ is reused: true for ENUM64 records
    static constexpr enumerator decode(const record_range<enumerator>& r, std::uint32_t i) noexcept {
        if (r.kflag_) {
            const std::size_t o = r.first_ + 12u * i;
            const std::uint32_t lo = r.data_.u32(o + 4), hi = r.data_.u32(o + 8);
            return {r.data_.u32(o), (static_cast<std::uint64_t>(hi) << 32) | lo, lo, hi};
        }
        const std::size_t o = r.first_ + 8u * i;
        const std::uint32_t lo = r.data_.u32(o + 4);
        const std::uint64_t v = r.signed_ ? static_cast<std::uint64_t>(static_cast<std::int64_t>(static_cast<std::int32_t>(lo)))
                                          : static_cast<std::uint64_t>(lo);
        return {r.data_.u32(o), v, lo, 0};
    }
};
}  // namespace detail

// A decoded type: its id, kind, common header fields and its place in the blob.
class type {
public:
    constexpr type() noexcept = default;

    [[nodiscard]] constexpr std::uint32_t id() const noexcept { return id_; }
    [[nodiscard]] constexpr btfkit::kind kind() const noexcept { return static_cast<btfkit::kind>((info_ >> 24) & 0x1f); }
    [[nodiscard]] constexpr std::uint16_t vlen() const noexcept { return static_cast<std::uint16_t>(info_ & 0xffff); }
    [[nodiscard]] constexpr bool kflag() const noexcept { return (info_ >> 31) != 0; }
    [[nodiscard]] constexpr std::uint32_t info() const noexcept { return info_; }
    [[nodiscard]] constexpr std::uint32_t name_off() const noexcept { return name_off_; }
    // `size` for INT, ENUM, STRUCT, UNION, DATASEC, FLOAT, ENUM64; `type` for the reference kinds.
    [[nodiscard]] constexpr std::uint32_t size() const noexcept { return size_or_type_; }
    [[nodiscard]] constexpr std::uint32_t ref() const noexcept { return size_or_type_; }
    [[nodiscard]] constexpr const btfkit::btf* owner() const noexcept { return btf_; }
    [[nodiscard]] constexpr std::size_t offset() const noexcept { return off_; }  // of the record in the blob
    [[nodiscard]] constexpr std::string_view name() const noexcept;

    [[nodiscard]] constexpr bool is(btfkit::kind k) const noexcept { return kind() == k; }
    [[nodiscard]] constexpr bool is_void() const noexcept { return id_ == 0 && btf_ != nullptr && info_ == 0; }
    [[nodiscard]] constexpr bool is_composite() const noexcept { return is(kind::struct_) || is(kind::union_); }
    [[nodiscard]] constexpr bool is_any_enum() const noexcept { return is(kind::enum_) || is(kind::enum64); }
    [[nodiscard]] constexpr bool is_modifier() const noexcept {
        return is(kind::volatile_) || is(kind::const_) || is(kind::restrict_) || is(kind::type_tag);
    }

    // The 4 bytes after the common header, whatever the kind (0 past the blob): libbpf reads INT
    // encodings this way even for non-INT types, and CO-RE results depend on it.
    [[nodiscard]] constexpr std::uint32_t raw_extra_word() const noexcept {
        const byte_reader r = reader();
        return r.fits(off_ + btf_type_header_size, 4) ? r.u32(off_ + btf_type_header_size) : 0;
    }
    // INT
    [[nodiscard]] constexpr std::uint32_t int_data() const noexcept { return extra_u32(0); }
    [[nodiscard]] constexpr std::uint8_t int_encoding() const noexcept { return static_cast<std::uint8_t>((int_data() >> 24) & 0x0f); }
    [[nodiscard]] constexpr std::uint8_t int_offset() const noexcept { return static_cast<std::uint8_t>((int_data() >> 16) & 0xff); }
    [[nodiscard]] constexpr std::uint8_t int_bits() const noexcept { return static_cast<std::uint8_t>(int_data() & 0xff); }
    // ARRAY
    [[nodiscard]] constexpr array_info array() const noexcept { return {extra_u32(0), extra_u32(4), extra_u32(8)}; }
    // STRUCT / UNION
    [[nodiscard]] constexpr record_range<member> members() const noexcept {
        return is_composite() ? record_range<member>{reader(), off_ + btf_type_header_size, vlen(), kflag()} : record_range<member>{};
    }
    // FUNC_PROTO
    [[nodiscard]] constexpr record_range<param> params() const noexcept {
        return is(kind::func_proto) ? record_range<param>{reader(), off_ + btf_type_header_size, vlen(), false} : record_range<param>{};
    }
    // ENUM / ENUM64 (kflag: signed)
    [[nodiscard]] constexpr enumerator_range enumerators() const noexcept {
        if (!is_any_enum()) return {};
        return enumerator_range{reader(), off_ + btf_type_header_size, vlen(), is(kind::enum64), kflag()};
    }
    // DATASEC
    [[nodiscard]] constexpr record_range<datasec_var> vars() const noexcept {
        return is(kind::datasec) ? record_range<datasec_var>{reader(), off_ + btf_type_header_size, vlen(), false} : record_range<datasec_var>{};
    }
    // VAR: linkage; DECL_TAG: component_idx
    [[nodiscard]] constexpr std::uint32_t var_linkage() const noexcept { return extra_u32(0); }
    [[nodiscard]] constexpr std::int32_t decl_tag_component() const noexcept { return static_cast<std::int32_t>(extra_u32(0)); }
    // FUNC: linkage lives in vlen
    [[nodiscard]] constexpr std::uint16_t func_linkage() const noexcept { return vlen(); }

    constexpr type(const btfkit::btf* b, std::uint32_t id, std::size_t off, std::uint32_t name_off, std::uint32_t info,
                   std::uint32_t st) noexcept
        : btf_(b), off_(off), id_(id), name_off_(name_off), info_(info), size_or_type_(st) {}

private:
    [[nodiscard]] constexpr byte_reader reader() const noexcept;
    [[nodiscard]] constexpr std::uint32_t extra_u32(std::size_t at) const noexcept { return reader().u32(off_ + btf_type_header_size + at); }

    const btfkit::btf* btf_ = nullptr;
    std::size_t off_ = 0;
    std::uint32_t id_ = 0;
    std::uint32_t name_off_ = 0;
    std::uint32_t info_ = 0;
    std::uint32_t size_or_type_ = 0;
};

// A view per kind, for code that wants to say what it expects; all share `type`'s accessors.
template <kind K>
struct kind_view : type {
    static constexpr btfkit::kind view_kind = K;
    constexpr kind_view() noexcept = default;
    constexpr explicit kind_view(const type& t) noexcept : type(t) {}
};
using int_type = kind_view<kind::int_>;
using ptr_type = kind_view<kind::ptr>;
using array_type = kind_view<kind::array>;
using struct_type = kind_view<kind::struct_>;
using union_type = kind_view<kind::union_>;
using enum_type = kind_view<kind::enum_>;
using fwd_type = kind_view<kind::fwd>;
using typedef_type = kind_view<kind::typedef_>;
using volatile_type = kind_view<kind::volatile_>;
using const_type = kind_view<kind::const_>;
using restrict_type = kind_view<kind::restrict_>;
using func_type = kind_view<kind::func>;
using func_proto_type = kind_view<kind::func_proto>;
using var_type = kind_view<kind::var>;
using datasec_type = kind_view<kind::datasec>;
using float_type = kind_view<kind::float_>;
using decl_tag_type = kind_view<kind::decl_tag>;
using type_tag_type = kind_view<kind::type_tag>;
using enum64_type = kind_view<kind::enum64>;

struct btf_header {
    std::uint16_t magic = 0;
    std::uint8_t version = 0;
    std::uint8_t flags = 0;
    std::uint32_t hdr_len = 0, type_off = 0, type_len = 0, str_off = 0, str_len = 0;
};

}  // namespace btfkit
