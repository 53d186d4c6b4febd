// A view over a raw BTF blob (base or split): header, strings, and every type kind decoded on access.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <algorithm>
#include <string_view>
#include <vector>

#include "bytes.hpp"
#include "error.hpp"

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
// (candidates.hpp) holds only them, and lookups for other kinds fall back to libbpf's linear scan,
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

class btf;
namespace detail {
// What the header says: where types and strings are, byte order, and where ids/strings continue a base.
struct btf_layout {
    btf_header hdr{};
    byte_order order = byte_order::little;
    std::uint32_t start_id = 1;
    std::uint32_t start_str = 0;
};
constexpr result<btf_layout> parse_layout(byte_span data, const btf* base);
}  // namespace detail

// A base BTF's string table, read from its header alone (no type record is read): what a walk of
// split BTF over it needs (btf::walk_named), so modules can be walked while their base is parsed.
struct base_strings {
    byte_order order = byte_order::little;
    byte_span strings{};  // NUL-terminated; split BTF's own string offsets start at its size

    // For a base that is not split itself; the same checks of header and strings as parsing it.
    [[nodiscard]] static constexpr result<base_strings> of(byte_span base_data);
};

// A parsed BTF blob. Types stay in the blob; only an exact-size id -> offset table is built.
class btf {
public:
    constexpr btf() noexcept = default;

    // Parses and validates `data`. For split BTF, `base` must outlive this object. With `tables`,
    // the id -> offset table is allocated from that arena, which must outlive this object too.
    [[nodiscard]] static constexpr result<btf> parse(byte_span data, const btf* base = nullptr, chunk_arena* tables = nullptr);
    // The same result as parse; a type section of split_min_bytes or more is scanned in two halves at
    // once. `run_both(first, second)` runs both callables, the second on another thread if it can
    // (candidates.hpp: parse_two_threads). The second half starts at a record boundary found by
    // looking (16 well-formed records in a row); it counts only if the first half's records end
    // exactly there, and anything amiss is left to parse, which names the problem.
    // `on_half(half, offsets, named)` runs on each half's thread once that half is scanned well (half 0
    // or 1; its own record offsets into `data` and its named types of indexed kinds, as indexes into
    // those offsets): work on the half's records that can start before the halves are joined (the
    // name hashes of candidates.hpp's parse_two_threads). A half scanned well may still go unused (the
    // other half's scan fails, or does not meet it at the boundary, and parse runs instead): the halves
    // are the result only if on_half ran for both and the result is a btf.
    static constexpr std::size_t split_min_bytes = std::size_t{1} << 20;
    struct no_half_work {
        void operator()(std::size_t, std::span<const std::uint32_t>, std::span<const std::uint32_t>) const noexcept {}
    };
    template <class RunBoth, class OnHalf = no_half_work>
    [[nodiscard]] static result<btf> parse_split(byte_span data, RunBoth&& run_both, const btf* base = nullptr, chunk_arena* tables = nullptr,
                                                 std::size_t min_bytes = split_min_bytes, OnHalf&& on_half = {});

    [[nodiscard]] constexpr const btf_header& header() const noexcept { return hdr_; }
    [[nodiscard]] constexpr byte_order order() const noexcept { return data_.order(); }
    [[nodiscard]] constexpr byte_span data() const noexcept { return data_.data(); }
    [[nodiscard]] constexpr const btf* base() const noexcept { return base_; }
    // Ids [0, type_count()) are valid; own types are [first_id(), type_count()).
    [[nodiscard]] constexpr std::uint32_t type_count() const noexcept { return start_id_ + own_count(); }
    [[nodiscard]] constexpr std::uint32_t first_id() const noexcept { return start_id_; }
    [[nodiscard]] constexpr std::uint32_t own_count() const noexcept { return static_cast<std::uint32_t>(offsets_.size()); }
    // Own indexes (id - first_id()), in order, of the own types of an indexed_kind whose name offset
    // is not 0: gathered by the parse, so that a name index need not walk every type (a tenth of
    // vmlinux's). A name may still be empty.
    [[nodiscard]] constexpr std::span<const std::uint32_t> named_indexed() const noexcept { return {named_.data(), named_.size()}; }
    [[nodiscard]] constexpr std::uint32_t first_string() const noexcept { return start_str_; }
    [[nodiscard]] constexpr std::uint32_t strings_size() const noexcept { return start_str_ + hdr_.str_len; }
    [[nodiscard]] constexpr byte_span own_strings() const noexcept {
        return data_.data().subspan(hdr_.hdr_len + hdr_.str_off, hdr_.str_len);
    }

    [[nodiscard]] constexpr bool valid_id(std::uint32_t id) const noexcept { return id < type_count(); }
    [[nodiscard]] constexpr btfkit::kind kind_of(std::uint32_t id) const noexcept {
        if (id < start_id_) return id == 0 ? kind::unknown : base_->kind_of(id);
        return static_cast<btfkit::kind>((data_.u32(offsets_[id - start_id_] + 4) >> 24) & 0x1f);
    }
    // A type's name offset without decoding the rest (hot in index builds); id must be valid.
    [[nodiscard]] constexpr std::uint32_t name_off_of(std::uint32_t id) const noexcept {
        return id < start_id_ ? (id == 0 ? 0 : base_->name_off_of(id)) : data_.u32(offsets_[id - start_id_]);
    }

    // The type with this id; the id must be valid (see valid_id / type_at).
    [[nodiscard]] constexpr type operator[](std::uint32_t id) const noexcept {
        if (id < start_id_) {
            return id == 0 ? type{this, 0, 0, 0, 0, 0} : (*base_)[id];
        }
        const std::size_t off = offsets_[id - start_id_];
        return type{this, id, off, data_.u32(off), data_.u32(off + 4), data_.u32(off + 8)};
    }
    [[nodiscard]] constexpr result<type> type_at(std::uint32_t id) const noexcept {
        if (!valid_id(id)) return error(errc::bad_type_id, "type id past the end").at_type(id).got(id).limit(type_count());
        return (*this)[id];
    }

    // The string at `off` (in this BTF's or its base's table); empty and false on a bad offset.
    [[nodiscard]] constexpr bool string_at(std::uint32_t off, std::string_view& out) const noexcept {
        if (off < start_str_) return base_->string_at(off, out);
        return c_string_at(own_strings(), off - start_str_, out);
    }
    // The string at `off` as a pointer (the table is NUL-terminated, so it is a C string); null if out of range.
    [[nodiscard]] constexpr const char* string_ptr(std::uint32_t off) const noexcept {
        if (off < start_str_) return base_->string_ptr(off);
        return off - start_str_ < hdr_.str_len ? own_strings().data() + (off - start_str_) : nullptr;
    }
    // One past the end of the string table that holds offset `off` (own or base).
    [[nodiscard]] constexpr const char* string_table_end(std::uint32_t off) const noexcept {
        if (off < start_str_) return base_->string_table_end(off);
        return own_strings().data() + own_strings().size();
    }
    [[nodiscard]] constexpr std::string_view string(std::uint32_t off) const noexcept {
        std::string_view s;
        return string_at(off, s) ? s : std::string_view{};
    }
    [[nodiscard]] constexpr result<std::string_view> string_checked(std::uint32_t off) const noexcept {
        std::string_view s;
        if (!string_at(off, s)) return error(errc::bad_string, "string offset outside the string table").got(off).limit(strings_size());
        return s;
    }

    // Checks the header, the string table and that every record fits, without building a table or
    // checking references, calling f(id, kind, name, end) for each own type with a name (`name` is
    // a NUL-terminated string in a string table ending at `end`, the blob's or its base's). For indexing many modules cheaply; a
    // module that is then used is parsed in full.
    template <class F>
    static constexpr status walk_named(byte_span data, const btf* base, F&& f);
    // The same over a base known by its strings only (the base need not be parsed yet): ids count
    // from 0 (f gets each type's own index), and an error names that index, not the type id.
    template <class F>
    static constexpr status walk_named(byte_span data, const base_strings& base, F&& f);

    // Follows CONST/VOLATILE/RESTRICT/TYPE_TAG and TYPEDEF to the first other type; bounded.
    [[nodiscard]] constexpr result<type> skip_mods_and_typedefs(std::uint32_t id) const noexcept;
    // Byte size of a type, following modifiers, typedefs and arrays (libbpf's btf__resolve_size).
    [[nodiscard]] constexpr result<std::uint64_t> resolve_size(std::uint32_t id) const noexcept;

    // Every type, in id order (own types only for split BTF unless `with_base`).
    class type_iterator;
    struct type_sentinel {};

    // A range of all types with ids in [first, last).
    class type_range {
    public:
        class iterator {
        public:
            using value_type = type;
            using difference_type = std::ptrdiff_t;
            constexpr iterator() noexcept = default;
            constexpr iterator(const btf* b, std::uint32_t id) noexcept : b_(b), id_(id) {}
            constexpr type operator*() const noexcept { return (*b_)[id_]; }
            constexpr iterator& operator++() noexcept { ++id_; return *this; }
            constexpr iterator operator++(int) noexcept { auto t = *this; ++id_; return t; }
            constexpr bool operator==(const iterator& o) const noexcept { return id_ == o.id_; }
        private:
            const btf* b_ = nullptr;
            std::uint32_t id_ = 0;
        };
        constexpr type_range() noexcept = default;
        constexpr type_range(const btf* b, std::uint32_t first, std::uint32_t last) noexcept : b_(b), first_(first), last_(last) {}
        constexpr iterator begin() const noexcept { return {b_, first_}; }
        constexpr iterator end() const noexcept { return {b_, last_}; }
        constexpr std::uint32_t size() const noexcept { return last_ - first_; }
    private:
        const btf* b_ = nullptr;
        std::uint32_t first_ = 0, last_ = 0;
    };
    [[nodiscard]] constexpr type_range types() const noexcept { return {this, start_id_, type_count()}; }

private:
    friend class type;
    byte_reader data_{};
    btf_header hdr_{};
    const btf* base_ = nullptr;
    std::uint32_t start_id_ = 1;
    std::uint32_t start_str_ = 0;
    std::vector<std::uint32_t, arena_allocator<std::uint32_t>> offsets_{};  // own type id - start_id -> record offset in data_
    std::vector<std::uint32_t, arena_allocator<std::uint32_t>> named_{};    // see named_indexed
};

constexpr byte_reader type::reader() const noexcept { return btf_->data_; }
constexpr std::string_view type::name() const noexcept { return btf_ ? btf_->string(name_off_) : std::string_view{}; }

namespace detail {

// The checks one pass makes over a type record: fits, known kind, vlen consistent, strings and ids in range.
struct type_checker {
    byte_reader r;
    std::uint32_t strings_end;  // valid string offsets are < strings_end
    std::uint32_t id;
    std::size_t off;

    [[nodiscard]] constexpr error fail(errc c, const char* what) const noexcept {
        return error(c, what).in_section("BTF types").at_offset(off).at_type(id);
    }
};

}  // namespace detail

namespace detail {

// The fast validating pass over the type section, for byte order O known at compile time.
// What a scan of a run of type records found: where it stopped, the largest string offset and
// referenced id, and whether every record fit and was well formed (see scan_types).
struct type_scan {
    std::size_t end_off = 0;
    std::uint32_t max_str = 0, max_ref = 0;
    bool ok = false;
};

// Scans the records from `start` until `end`: appends each one's offset to `offsets` and the index
// (counted from 0 at `start`) of each named type of an indexed kind to `named`, and folds every string
// offset and referenced id into a maximum. ok is false if a record does not fit before `end`, has an
// unknown kind, or is a bad INT.
template <byte_order O>
constexpr type_scan scan_type_range(const char* p, std::size_t start, std::size_t end,
                                    std::vector<std::uint32_t, arena_allocator<std::uint32_t>>& offsets,
                                    std::vector<std::uint32_t, arena_allocator<std::uint32_t>>& named) {
    auto u32 = [p](std::size_t off) { return load<std::uint32_t>(p + off, O); };
    // named: every type's index is written at position n, which advances only for a named type of an
    // indexed kind (no branch to mispredict); sized from a guess, doubled when full.
    constexpr std::uint32_t indexed_mask = [] {
        std::uint32_t m = 0;
        for (std::uint32_t k = 0; k < 32; ++k) m |= indexed_kind(static_cast<kind>(k)) ? 1u << k : 0u;
        return m;
    }();
    const std::size_t named_before = named.size();
    named.resize(named_before + std::max<std::size_t>(64, (end - start) / 256));
    std::uint32_t* np = named.data();
    std::size_t n = named_before, room = named.size();
    std::uint32_t rel = 0;
    type_scan out;
    std::uint32_t max_str = 0, max_ref = 0;
    bool bad = false;
    std::size_t off = start;
    auto finish = [&](bool ok) {
        named.resize(n);
        out.end_off = off;
        out.max_str = max_str;
        out.max_ref = max_ref;
        out.ok = ok && !bad;
        return out;
    };
    while (off < end) {
        if (end - off < btf_type_header_size) return finish(false);
        const std::uint32_t info = u32(off + 4);
        const auto k = static_cast<kind>((info >> 24) & 0x1f);
        const std::uint32_t vlen = info & 0xffff;
        const std::uint64_t sz = type_record_size(k, vlen);
        if (sz == 0 || sz > end - off) return finish(false);  // unknown kind, or record past the end
        const std::uint32_t name_off = u32(off);
        np[n] = rel++;
        n += (name_off != 0) & ((indexed_mask >> static_cast<std::uint32_t>(k)) & 1u);
        if (n == room) {
            named.resize(2 * n);
            np = named.data();
            room = named.size();
        }
        offsets.push_back(static_cast<std::uint32_t>(off));
        max_str = std::max(max_str, name_off);
        const std::uint32_t st = u32(off + 8);
        const std::size_t rec = off + btf_type_header_size;
        switch (k) {
        case kind::int_: {
            const std::uint32_t d = u32(rec);
            bad |= (d & 0xff) > 128 || (d & 0xff) + ((d >> 16) & 0xff) > 128;
            break;
        }
        case kind::ptr: case kind::typedef_: case kind::volatile_: case kind::const_: case kind::restrict_:
        case kind::func: case kind::var: case kind::type_tag: case kind::decl_tag:
            max_ref = std::max(max_ref, st);
            break;
        case kind::array:
            max_ref = std::max({max_ref, u32(rec), u32(rec + 4)});
            break;
        case kind::struct_: case kind::union_:
            for (std::uint32_t j = 0; j < vlen; ++j) {
                max_str = std::max(max_str, u32(rec + 12u * j));
                max_ref = std::max(max_ref, u32(rec + 12u * j + 4));
            }
            break;
        case kind::enum_:
            for (std::uint32_t j = 0; j < vlen; ++j) max_str = std::max(max_str, u32(rec + 8u * j));
            break;
        case kind::enum64:
            for (std::uint32_t j = 0; j < vlen; ++j) max_str = std::max(max_str, u32(rec + 12u * j));
            break;
        case kind::func_proto:
            max_ref = std::max(max_ref, st);
            for (std::uint32_t j = 0; j < vlen; ++j) {
                max_str = std::max(max_str, u32(rec + 8u * j));
                max_ref = std::max(max_ref, u32(rec + 8u * j + 4));
            }
            break;
        case kind::datasec:
            for (std::uint32_t j = 0; j < vlen; ++j) max_ref = std::max(max_ref, u32(rec + 12u * j));
            break;
        default:
            break;
        }
        off += static_cast<std::size_t>(sz);
    }
    return finish(true);
}

// One pass over the whole type section (see btf::parse); false if anything is wrong.
template <byte_order O>
constexpr bool scan_types(const char* p, std::size_t start, std::size_t end, std::uint32_t strings_end,
                          std::uint32_t start_id, std::vector<std::uint32_t, arena_allocator<std::uint32_t>>& offsets,
                          std::vector<std::uint32_t, arena_allocator<std::uint32_t>>& named) {
    // Room for the most records the section could hold (12 bytes each), reserved once and kept:
    // shrinking to fit would copy the table into fresh memory (0.6 ms for vmlinux, more than the
    // pass itself saves), and counting first costs a second walk over every record.
    offsets.reserve((end - start) / btf_type_header_size + 1);
    const type_scan t = scan_type_range<O>(p, start, end, offsets, named);
    const std::uint64_t end_id = std::uint64_t{start_id} + offsets.size();
    return t.ok && end_id <= 0x7fffffffu && t.max_str < strings_end && t.max_ref < end_id;
}

// Walks the type section again with every check in order and returns the first problem, named.
constexpr error precise_type_error(const byte_reader& r, std::uint32_t start_id, std::uint32_t strings_end,
                                   std::size_t types_start, std::size_t types_end) {
    struct {
        std::uint32_t start_id_;
    } b{start_id};
    std::uint32_t count = 0;
    for (std::size_t off = types_start; off < types_end; ++count) {
        if (types_end - off < btf_type_header_size) {
            return error(errc::truncated, "type record header does not fit").in_section("BTF types").at_offset(off).at_type(b.start_id_ + count);
        }
        const std::uint32_t info = r.u32(off + 4);
        const auto k = static_cast<kind>((info >> 24) & 0x1f);
        if (static_cast<std::uint8_t>(k) == 0 || static_cast<std::uint8_t>(k) > kind_max) {
            return error(errc::bad_kind, "unknown type kind").in_section("BTF types").at_offset(off).at_type(b.start_id_ + count).got(static_cast<std::uint8_t>(k));
        }
        const std::uint64_t sz = type_record_size(k, info & 0xffff);
        if (sz > types_end - off) {
            return error(errc::truncated, "type record does not fit in the type section").in_section("BTF types").at_offset(off).at_type(b.start_id_ + count).got(sz).limit(types_end - off);
        }
        off += sz;
    }
    if (std::uint64_t{b.start_id_} + count > 0x7fffffffu) return error(errc::bad_header, "too many types").in_section("BTF types").got(count);

    // Pass 2: fill the table and check names, referenced ids and kind-specific fields.
    const std::uint32_t type_end_id = b.start_id_ + count;
    std::size_t off = types_start;
    for (std::uint32_t i = 0; i < count; ++i) {
        const std::uint32_t id = b.start_id_ + i;
        const std::uint32_t name_off = r.u32(off);
        const std::uint32_t info = r.u32(off + 4);
        const std::uint32_t st = r.u32(off + 8);
        const auto k = static_cast<kind>((info >> 24) & 0x1f);
        const std::uint32_t vlen = info & 0xffff;
        const detail::type_checker c{r, strings_end, id, off};
        if (name_off >= strings_end) return c.fail(errc::bad_string, "type name offset outside the string table").got(name_off).limit(strings_end);
        auto check_ref = [&](std::uint32_t ref, const char* what) -> error {
            if (ref >= type_end_id) return c.fail(errc::bad_type_id, what).got(ref).limit(type_end_id);
            return {};
        };
        const std::size_t rec = off + btf_type_header_size;
        error e{};
        switch (k) {
        case kind::int_: {
            const std::uint32_t d = r.u32(rec);
            const std::uint32_t bits = d & 0xff, boff = (d >> 16) & 0xff;
            if (bits > 128 || bits + boff > 128) e = c.fail(errc::bad_header, "INT bits/offset exceed 128").got(d);
            break;
        }
        case kind::ptr: case kind::typedef_: case kind::volatile_: case kind::const_: case kind::restrict_:
        case kind::func: case kind::var: case kind::type_tag: case kind::decl_tag:
            e = check_ref(st, "refers to a type past the end");
            break;
        case kind::array: {
            e = check_ref(r.u32(rec), "array element type past the end");
            if (e.code == errc::ok) e = check_ref(r.u32(rec + 4), "array index type past the end");
            break;
        }
        case kind::struct_: case kind::union_:
            for (std::uint32_t j = 0; j < vlen && e.code == errc::ok; ++j) {
                const std::size_t mo = rec + 12u * j;
                if (r.u32(mo) >= strings_end) e = c.fail(errc::bad_string, "member name offset outside the string table").at_index("member", j).got(r.u32(mo)).limit(strings_end);
                else if (r.u32(mo + 4) >= type_end_id) e = c.fail(errc::bad_type_id, "member refers to a type past the end").at_index("member", j).got(r.u32(mo + 4)).limit(type_end_id);
            }
            break;
        case kind::enum_: case kind::enum64: {
            const std::uint32_t step = k == kind::enum_ ? 8 : 12;
            for (std::uint32_t j = 0; j < vlen && e.code == errc::ok; ++j) {
                if (r.u32(rec + step * j) >= strings_end) e = c.fail(errc::bad_string, "enumerator name offset outside the string table").at_index("enumerator", j).got(r.u32(rec + step * j)).limit(strings_end);
            }
            break;
        }
        case kind::func_proto:
            e = check_ref(st, "return type past the end");
            for (std::uint32_t j = 0; j < vlen && e.code == errc::ok; ++j) {
                const std::size_t po = rec + 8u * j;
                if (r.u32(po) >= strings_end) e = c.fail(errc::bad_string, "parameter name offset outside the string table").at_index("param", j).got(r.u32(po)).limit(strings_end);
                else if (r.u32(po + 4) >= type_end_id) e = c.fail(errc::bad_type_id, "parameter refers to a type past the end").at_index("param", j).got(r.u32(po + 4)).limit(type_end_id);
            }
            break;
        case kind::datasec:
            for (std::uint32_t j = 0; j < vlen && e.code == errc::ok; ++j) {
                if (r.u32(rec + 12u * j) >= type_end_id) e = c.fail(errc::bad_type_id, "datasec variable refers to a type past the end").at_index("var", j).got(r.u32(rec + 12u * j)).limit(type_end_id);
            }
            break;
        case kind::fwd: case kind::float_: case kind::unknown:
            break;
        }
        if (e.code != errc::ok) return e;
        off += static_cast<std::size_t>(type_record_size(k, vlen));
    }
    return error(errc::bad_header, "BTF failed validation");
}

}  // namespace detail

namespace detail {
// Where a split BTF continues its base (`split` false: not split).
struct split_origin {
    bool split = false;
    byte_order order = byte_order::little;
    std::uint32_t start_id = 1, start_str = 0;
};
constexpr result<btf_layout> parse_layout(byte_span data, const split_origin& base);
}  // namespace detail

constexpr result<detail::btf_layout> detail::parse_layout(byte_span data, const btf* base) {
    if (base == nullptr) return parse_layout(data, split_origin{});
    return parse_layout(data, split_origin{true, base->order(), base->type_count(), base->strings_size()});
}

constexpr result<detail::btf_layout> detail::parse_layout(byte_span data, const split_origin& base) {
    detail::btf_layout b;
    if (data.size() < btf_header_size) {
        return error(errc::truncated, "BTF header does not fit").in_section("BTF header").at_offset(0).got(data.size()).limit(btf_header_size);
    }
    byte_order order = byte_order::little;
    const auto m_le = detail::load<std::uint16_t>(data.data(), byte_order::little);
    if (m_le == btf_magic) {
        order = byte_order::little;
    } else if (detail::load<std::uint16_t>(data.data(), byte_order::big) == btf_magic) {
        order = byte_order::big;
    } else {
        return error(errc::bad_magic, "not BTF: bad magic").at_offset(0).got(m_le).limit(btf_magic);
    }
    const byte_reader r{data, order};
    btf_header& h = b.hdr;
    h.magic = btf_magic;
    h.version = r.u8(2);
    h.flags = r.u8(3);
    h.hdr_len = r.u32(4);
    if (h.version != 1) return error(errc::unsupported, "unsupported BTF version").at_offset(2).got(h.version).limit(1);
    if (h.hdr_len < btf_header_size) return error(errc::bad_header, "BTF header length too small").at_offset(4).got(h.hdr_len).limit(btf_header_size);
    if (h.hdr_len > data.size()) return error(errc::truncated, "BTF header length past the end of data").at_offset(4).got(h.hdr_len).limit(data.size());
    // Bytes of a longer (newer) header must be zero, as the kernel requires.
    for (std::size_t i = btf_header_size; i < h.hdr_len; ++i) {
        if (data[i] != 0) return error(errc::unsupported, "unknown non-zero BTF header field").at_offset(i);
    }
    h.type_off = r.u32(8);
    h.type_len = r.u32(12);
    h.str_off = r.u32(16);
    h.str_len = r.u32(20);
    const std::uint64_t meta = data.size() - h.hdr_len;
    if (std::uint64_t{h.str_off} + h.str_len > meta) {
        return error(errc::truncated, "BTF string section past the end of data").at_offset(16).got(std::uint64_t{h.str_off} + h.str_len).limit(meta);
    }
    if (std::uint64_t{h.type_off} + h.type_len > meta) {
        return error(errc::truncated, "BTF type section past the end of data").at_offset(8).got(std::uint64_t{h.type_off} + h.type_len).limit(meta);
    }
    if (std::uint64_t{h.type_off} + h.type_len > h.str_off) {
        return error(errc::bad_header, "BTF type section overlaps the string section").at_offset(8).got(std::uint64_t{h.type_off} + h.type_len).limit(h.str_off);
    }
    if (h.type_off % 4 != 0) return error(errc::bad_header, "BTF type section not 4-byte aligned").at_offset(8).got(h.type_off);
    if (h.type_len % 4 != 0) return error(errc::bad_header, "BTF type section length not a multiple of 4").at_offset(12).got(h.type_len);

    // String section: ends with NUL (so every in-range offset is terminated); a base table starts with "".
    const std::size_t str_start = h.hdr_len + h.str_off;
    if (!base.split || h.str_len != 0) {
        if (h.str_len == 0) return error(errc::bad_header, "BTF string section is empty").at_offset(20);
        if (h.str_len - 1 > 0x7fffffffu) return error(errc::bad_header, "BTF string section too large").at_offset(20).got(h.str_len);
        if (data[str_start + h.str_len - 1] != 0) {
            return error(errc::bad_string, "BTF string section not NUL-terminated").in_section("BTF strings").at_offset(str_start + h.str_len - 1);
        }
        if (!base.split && data[str_start] != 0) {
            return error(errc::bad_string, "BTF string section does not start with an empty string").in_section("BTF strings").at_offset(str_start);
        }
    }

    b.order = order;
    if (base.split) {
        if (base.order != order) return error(errc::bad_header, "split BTF and its base differ in byte order").in_section("BTF header").at_offset(0);
        b.start_id = base.start_id;
        b.start_str = base.start_str;
    }
    return b;
}

constexpr result<base_strings> base_strings::of(byte_span base_data) {
    auto layout = detail::parse_layout(base_data, detail::split_origin{});
    if (!layout) return layout.error();
    const btf_header& h = layout->hdr;
    return base_strings{layout->order, base_data.subspan(h.hdr_len + h.str_off, h.str_len)};
}


constexpr result<btf> btf::parse(byte_span data, const btf* base, chunk_arena* tables) {
    auto layout = detail::parse_layout(data, base);
    if (!layout) return layout.error();
    btf b;
    if (tables != nullptr) {
        b.offsets_ = decltype(b.offsets_)(arena_allocator<std::uint32_t>(tables));
        b.named_ = decltype(b.named_)(arena_allocator<std::uint32_t>(tables));
    }
    const btf_header& h = layout->hdr;
    const byte_order order = layout->order;
    const byte_reader r{data, order};
    b.hdr_ = h;
    b.data_ = r;
    b.base_ = base;
    b.start_id_ = layout->start_id;
    b.start_str_ = layout->start_str;
    const std::uint32_t strings_end = b.start_str_ + h.str_len;
    const std::size_t types_start = h.hdr_len + h.type_off;
    const std::size_t types_end = types_start + h.type_len;
    // One pass records offsets and folds every string offset and referenced id into a maximum;
    // only if something is wrong does the precise checker run, to say exactly what and where.
    const bool fast_ok = order == byte_order::little
                             ? detail::scan_types<byte_order::little>(data.data(), types_start, types_end, strings_end, b.start_id_, b.offsets_, b.named_)
                             : detail::scan_types<byte_order::big>(data.data(), types_start, types_end, strings_end, b.start_id_, b.offsets_, b.named_);
    if (!fast_ok) return detail::precise_type_error(r, b.start_id_, strings_end, types_start, types_end);
    return b;
}

namespace detail {
// The first offset from `from` (4-aligned, within 64 KiB) where 16 records in a row look well formed
// (a known kind, unused info bits clear, fitting the section, a name inside the string table), or
// the section's end; only a guess, which btf::parse_split checks.
template <byte_order O>
std::size_t record_boundary_after(const char* p, std::size_t from, std::size_t end, std::uint32_t strings_end) {
    auto u32 = [p](std::size_t off) { return load<std::uint32_t>(p + off, O); };
    for (std::size_t c = from; c < end && c < from + (std::size_t{64} << 10); c += 4) {
        std::size_t x = c;
        int good = 0;
        while (good < 16 && x < end) {
            if (end - x < btf_type_header_size) break;
            const std::uint32_t info = u32(x + 4);
            if ((info & 0x60ff0000u) != 0) break;
            const std::uint64_t sz = type_record_size(static_cast<kind>((info >> 24) & 0x1f), info & 0xffff);
            if (sz == 0 || sz > end - x || u32(x) >= strings_end) break;
            x += static_cast<std::size_t>(sz);
            ++good;
        }
        if (good == 16 || (x == end && good > 0)) return c;
    }
    return end;
}

// parse_split's two scans, into offsets and named; false if they do not make up the one pass's result.
template <byte_order O, class RunBoth, class OnHalf>
bool parse_halves(byte_span data, std::size_t start, std::size_t end, std::uint32_t strings_end, std::uint32_t start_id,
                  std::vector<std::uint32_t, arena_allocator<std::uint32_t>>& offsets,
                  std::vector<std::uint32_t, arena_allocator<std::uint32_t>>& named, RunBoth&& run_both, OnHalf&& on_half) {
    const std::size_t mid = record_boundary_after<O>(data.data(), start + ((end - start) / 2 & ~std::size_t{3}), end, strings_end);
    if (mid == end) return false;  // no boundary found
    std::vector<std::uint32_t, arena_allocator<std::uint32_t>> offsets2, named2;
    type_scan first, second;
    // Both tables are reserved here (address space; their fresh pages are touched on their own
    // threads): a reserve on a thread would wait for the mmap lock while the other thread maps in its
    // half of the data (parse_two_threads with populate_halves).
    // The second table is a huge block whatever its size (see arena_allocator): its memory is then one
    // huge-page fault on the second thread, not ~100 small pages populated here before the threads
    // start (vmlinux's 0.42 MB: 0.17 ms of W1's 1.4 ms).
    offsets.reserve((end - start) / btf_type_header_size + 1);
    offsets2.reserve(std::max((end - mid) / btf_type_header_size + 1, huge_table_bytes / sizeof(std::uint32_t)));
    run_both([&] {
        first = scan_type_range<O>(data.data(), start, mid, offsets, named);
        if (first.ok && first.end_off == mid) on_half(std::size_t{0}, std::span<const std::uint32_t>(offsets), std::span<const std::uint32_t>(named));
    }, [&] {
        second = scan_type_range<O>(data.data(), mid, end, offsets2, named2);
        if (second.ok) on_half(std::size_t{1}, std::span<const std::uint32_t>(offsets2), std::span<const std::uint32_t>(named2));
    });
    if (!first.ok || first.end_off != mid || !second.ok) return false;
    const auto count1 = static_cast<std::uint32_t>(offsets.size());
    offsets.insert(offsets.end(), offsets2.begin(), offsets2.end());
    named.reserve(named.size() + named2.size());
    for (const std::uint32_t i : named2) named.push_back(count1 + i);
    const std::uint64_t end_id = std::uint64_t{start_id} + offsets.size();
    return end_id <= 0x7fffffffu && std::max(first.max_str, second.max_str) < strings_end && std::max(first.max_ref, second.max_ref) < end_id;
}
}  // namespace detail

template <class RunBoth, class OnHalf>
result<btf> btf::parse_split(byte_span data, RunBoth&& run_both, const btf* base, chunk_arena* tables, std::size_t min_bytes, OnHalf&& on_half) {
    auto layout = detail::parse_layout(data, base);
    if (!layout) return layout.error();
    const btf_header& h = layout->hdr;
    if (h.type_len < min_bytes || h.type_len < 2 * btf_type_header_size) return parse(data, base, tables);
    btf b;
    if (tables != nullptr) {
        b.offsets_ = decltype(b.offsets_)(arena_allocator<std::uint32_t>(tables));
        b.named_ = decltype(b.named_)(arena_allocator<std::uint32_t>(tables));
    }
    b.hdr_ = h;
    b.data_ = byte_reader{data, layout->order};
    b.base_ = base;
    b.start_id_ = layout->start_id;
    b.start_str_ = layout->start_str;
    const std::size_t start = h.hdr_len + h.type_off, end = start + h.type_len;
    const std::uint32_t strings_end = b.start_str_ + h.str_len;
    const bool ok = layout->order == byte_order::little
                         ? detail::parse_halves<byte_order::little>(data, start, end, strings_end, b.start_id_, b.offsets_, b.named_, run_both, on_half)
                         : detail::parse_halves<byte_order::big>(data, start, end, strings_end, b.start_id_, b.offsets_, b.named_, run_both, on_half);
    if (!ok) return parse(data, base, tables);  // anything amiss: the one pass, and its precise error
    return b;
}

namespace detail {
// walk_named's loop over a parsed header; base_name(off, name, end) resolves a base string offset.
template <class BaseName, class F>
constexpr status walk_named_records(byte_span data, const result<btf_layout>& layout, BaseName&& base_name, F&& f) {
    if (!layout) return layout.error();
    const btf_header& h = layout->hdr;
    const byte_reader r{data, layout->order};
    const std::size_t start = h.hdr_len + h.type_off, end = start + h.type_len;
    const std::size_t str_start = h.hdr_len + h.str_off;
    std::uint32_t id = layout->start_id;
    for (std::size_t off = start; off < end; ++id) {
        if (end - off < btf_type_header_size) return error(errc::truncated, "type record header does not fit").in_section("BTF types").at_offset(off).at_type(id);
        const std::uint32_t info = r.u32(off + 4);
        const auto k = static_cast<kind>((info >> 24) & 0x1f);
        const std::uint64_t sz = type_record_size(k, info & 0xffff);
        if (sz == 0 || sz > end - off) return error(errc::truncated, "type record does not fit or has an unknown kind").in_section("BTF types").at_offset(off).at_type(id);
        const std::uint32_t name_off = r.u32(off);
        if (name_off != 0) {
            const char* name = nullptr;
            const char* table_end = nullptr;
            if (name_off < layout->start_str) {
                base_name(name_off, name, table_end);
            } else if (name_off - layout->start_str < h.str_len) {
                name = data.data() + str_start + (name_off - layout->start_str);
                table_end = data.data() + str_start + h.str_len;
            } else {
                return error(errc::bad_string, "type name offset outside the string table").in_section("BTF types").at_offset(off).at_type(id).got(name_off);
            }
            if (name != nullptr && *name != 0) f(id, k, name, table_end);
        }
        off += static_cast<std::size_t>(sz);
    }
    return {};
}
}  // namespace detail

template <class F>
constexpr status btf::walk_named(byte_span data, const btf* base, F&& f) {
    return detail::walk_named_records(data, detail::parse_layout(data, base),
        [base](std::uint32_t off, const char*& name, const char*& end) {
            name = base->string_ptr(off);
            end = base->string_table_end(off);
        }, f);
}

template <class F>
constexpr status btf::walk_named(byte_span data, const base_strings& base, F&& f) {
    const auto size = static_cast<std::uint32_t>(base.strings.size());
    return detail::walk_named_records(data, detail::parse_layout(data, detail::split_origin{true, base.order, 0, size}),
        [&base](std::uint32_t off, const char*& name, const char*& end) {  // off < size
            name = base.strings.data() + off;
            end = base.strings.data() + base.strings.size();
        }, f);
}

constexpr result<type> btf::skip_mods_and_typedefs(std::uint32_t id) const noexcept {
    for (std::uint32_t depth = 0; depth <= max_resolve_depth; ++depth) {
        if (!valid_id(id)) return error(errc::bad_type_id, "type id past the end").at_type(id).got(id).limit(type_count());
        const type t = (*this)[id];
        if (!(t.is_modifier() || t.is(kind::typedef_))) return t;
        id = t.ref();
    }
    return error(errc::type_loop, "modifier/typedef chain does not end").at_type(id).limit(max_resolve_depth);
}

constexpr result<std::uint64_t> btf::resolve_size(std::uint32_t id) const noexcept {
    std::uint64_t nelems = 1;
    const std::uint32_t start = id;
    for (std::uint32_t depth = 0; depth < max_resolve_depth; ++depth) {
        if (!valid_id(id)) return error(errc::bad_type_id, "type id past the end").at_type(start).got(id).limit(type_count());
        const type t = (*this)[id];
        switch (t.kind()) {
        case kind::int_: case kind::struct_: case kind::union_: case kind::enum_: case kind::enum64:
        case kind::datasec: case kind::float_:
            if (nelems != 0 && t.size() > 0xffffffffu / nelems) return error(errc::out_of_range, "type size overflows").at_type(start);
            return nelems * t.size();
        case kind::ptr:
            return nelems * 8;  // BPF target pointer size
        case kind::typedef_: case kind::volatile_: case kind::const_: case kind::restrict_: case kind::var:
        case kind::decl_tag: case kind::type_tag:
            id = t.ref();
            break;
        case kind::array: {
            const auto a = t.array();
            if (nelems != 0 && a.nelems > 0xffffffffu / nelems) return error(errc::out_of_range, "array size overflows").at_type(start);
            nelems *= a.nelems;
            id = a.type;
            break;
        }
        default:
            return error(errc::bad_kind, "type has no size").at_type(id).got(static_cast<std::uint8_t>(t.kind()));
        }
    }
    return error(errc::type_loop, "type size does not resolve within the depth bound").at_type(start).limit(max_resolve_depth);
}

}  // namespace btfkit
