// A view over a raw BTF blob (base or split): header, strings, and every type kind decoded on access.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "../bytes.hpp"
#include "../error.hpp"
#include "../memory.hpp"
#include "btf_scan.hpp"
#include "btf_types.hpp"

namespace btfkit {

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
    // The same as parse, into this object: its tables keep their memory, so parsing a blob no larger
    // than one parsed here before allocates nothing. On an error this object is left empty.
    constexpr status assign(byte_span data, const btf* base = nullptr);
    // The same result as parse; a type section of split_min_bytes or more is scanned in two halves at
    // once. `run_both(first, second)` runs both callables, the second on another thread if it can
    // (runtime/parallel_parse.hpp: parse_two_threads). The second half starts at a record boundary found by
    // looking (16 well-formed records in a row); it counts only if the first half's records end
    // exactly there, and anything amiss is left to parse, which names the problem.
    // `on_half(half, offsets, named)` runs on each half's thread once that half is scanned well (half 0
    // or 1; its own record offsets into `data` and its named types of indexed kinds, as indexes into
    // those offsets): work on the half's records that can start before the halves are joined (the
    // name hashes of parse_two_threads). A half scanned well may still go unused (the
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
    [[nodiscard, gnu::always_inline]] constexpr type operator[](std::uint32_t id) const noexcept {
        if (id < start_id_) return base_type(id);
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
    // Void or a base type: apart from operator[] and never inlined into it, so that its own-type path
    // is small enough to inline (inlined, the base's lookup made operator[] recursive, and GCC kept
    // it out of line everywhere).
    [[nodiscard, gnu::noinline]] constexpr type base_type(std::uint32_t id) const noexcept {
        return id == 0 ? type{this, 0, 0, 0, 0, 0} : (*base_)[id];
    }

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
    btf b;
    if (tables != nullptr) {
        b.offsets_ = decltype(b.offsets_)(arena_allocator<std::uint32_t>(tables));
        b.named_ = decltype(b.named_)(arena_allocator<std::uint32_t>(tables));
    }
    BTFKIT_TRY(b.assign(data, base));
    return b;
}

constexpr status btf::assign(byte_span data, const btf* base) {
    offsets_.clear();
    named_.clear();
    data_ = {};
    hdr_ = {};
    base_ = nullptr;
    start_id_ = 1;
    start_str_ = 0;
    auto layout = detail::parse_layout(data, base);
    if (!layout) return layout.error();
    const btf_header& h = layout->hdr;
    const byte_order order = layout->order;
    const byte_reader r{data, order};
    const std::uint32_t start_id = layout->start_id;
    const std::uint32_t strings_end = layout->start_str + h.str_len;
    const std::size_t types_start = h.hdr_len + h.type_off;
    const std::size_t types_end = types_start + h.type_len;
    // One pass records offsets and folds every string offset and referenced id into a maximum;
    // only if something is wrong does the precise checker run, to say exactly what and where.
    const bool fast_ok = order == byte_order::little
                             ? detail::scan_types<byte_order::little>(data.data(), types_start, types_end, strings_end, start_id, offsets_, named_)
                             : detail::scan_types<byte_order::big>(data.data(), types_start, types_end, strings_end, start_id, offsets_, named_);
    if (!fast_ok) {
        offsets_.clear();
        named_.clear();
        return detail::precise_type_error(r, start_id, strings_end, types_start, types_end);
    }
    hdr_ = h;
    data_ = r;
    base_ = base;
    start_id_ = start_id;
    start_str_ = layout->start_str;
    return {};
}

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
