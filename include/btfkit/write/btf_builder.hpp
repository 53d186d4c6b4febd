// Builds BTF type by type and encodes it, base or split, in either byte order; usable in constant
// evaluation, so a static_assert can build a BTF and read it back with btf::parse.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

#include "../bytes.hpp"
#include "../error.hpp"
#include "../format/btf.hpp"
#include "../format/btf_types.hpp"
#include "string_table.hpp"

namespace btfkit {

// What a builder takes for a type's trailing records.
struct member_spec {
    std::string_view name;
    std::uint32_t type = 0;
    std::uint32_t bit_offset = 0;
    std::uint32_t bitfield_size = 0;  // non-zero only in a composite with kflag
};
struct enumerator_spec {
    std::string_view name;
    std::uint64_t value = 0;  // ENUM: a 32-bit value, unsigned or sign-extended
};
struct param_spec {
    std::string_view name;
    std::uint32_t type = 0;
};
struct var_spec {
    std::uint32_t type = 0, offset = 0, size = 0;
};

namespace detail {
template <class T>
constexpr std::span<const T> list(std::initializer_list<T> l) noexcept { return {l.begin(), l.size()}; }
constexpr bool any_bitfield(std::span<const member_spec> members) noexcept {
    for (const member_spec& m : members) {
        if (m.bitfield_size != 0) return true;
    }
    return false;
}
}  // namespace detail

// Split BTF over a base known only by its counts (no base strings are reused).
struct split_base {
    std::uint32_t type_count = 1;    // ids of the base, void included: own ids start here
    std::uint32_t strings_size = 0;  // bytes of the base's strings: own string offsets start here
};

// Adds types with ids from first_id() on and returns each id. A type may refer to any id, also one
// added later; encode() checks that every reference ends up below type_count(). The first error (a
// value that does not fit its field, a bad string, a reference past the end) is kept, named by its
// type id and record index, and returned by encode(); adding goes on regardless, so that ids stay
// what the caller counted on.
class btf_builder {
public:
    using member_list = std::span<const member_spec>;
    using enumerator_list = std::span<const enumerator_spec>;
    using param_list = std::span<const param_spec>;
    using var_list = std::span<const var_spec>;

    // Base BTF; encode() writes `order` unless told otherwise.
    constexpr explicit btf_builder(byte_order order = native_order) : order_(order) {}
    // Split BTF over a parsed base (which must outlive the builder): ids and string offsets continue
    // the base's, and a string the base has is not stored again. `base_strings`, if given, is an
    // index of the base's strings (string_index::of(base), shared by builders over one base);
    // otherwise the builder indexes them on its first string.
    constexpr explicit btf_builder(const btf& base, const string_index* base_strings = nullptr)
        : strings_(base.strings_size()), base_(&base), base_index_(base_strings), order_(base.order()),
          first_id_(base.type_count()) {}
    constexpr btf_builder(byte_order order, split_base base)
        : strings_(base.strings_size), order_(order), first_id_(base.type_count == 0 ? 1 : base.type_count) {}

    [[nodiscard]] constexpr std::uint32_t first_id() const noexcept { return first_id_; }
    [[nodiscard]] constexpr std::uint32_t own_count() const noexcept { return static_cast<std::uint32_t>(starts_.size()); }
    // Ids [0, type_count()) are valid references once encoded; the next type added gets type_count().
    [[nodiscard]] constexpr std::uint32_t type_count() const noexcept { return first_id_ + own_count(); }
    [[nodiscard]] constexpr bool is_split() const noexcept { return strings_.first_offset() != 0 || first_id_ > 1; }
    [[nodiscard]] constexpr byte_order order() const noexcept { return order_; }
    [[nodiscard]] constexpr const string_table& strings() const noexcept { return strings_; }
    [[nodiscard]] constexpr bool ok() const noexcept { return error_.code == errc::ok; }
    [[nodiscard]] constexpr const btfkit::error& first_error() const noexcept { return error_; }

    // The offset of `s` in the BTF being written (the base's, for a split builder over a parsed
    // base that has it). 0 and the first error kept if `s` cannot be stored.
    constexpr std::uint32_t add_string(std::string_view s) {
        if (s.empty()) return 0;
        if (base_ != nullptr) {
            if (base_index_ == nullptr && own_base_index_.indexed() == nullptr) own_base_index_ = string_index::of(*base_);
            if (auto off = (base_index_ != nullptr ? *base_index_ : own_base_index_).find(s)) return *off;
        }
        auto r = strings_.add(s);
        if (!r) {
            fail(in_type_ != 0 ? r.error().at_type(in_type_) : r.error());
            return 0;
        }
        return *r;
    }

    // Adds each string of a NUL-terminated table, in its order: a source's own table, so that offsets
    // that other sections hold (.BTF.ext line info) stay where they were when it holds each string once.
    constexpr void add_strings(byte_span table) {
        for (std::size_t i = 0; i < table.size();) {
            std::size_t e = i;
            while (e < table.size() && table[e] != '\0') ++e;
            add_string(std::string_view(table.data() + i, e - i));
            i = e + 1;
        }
    }

    // INT: encoding is int_signed / int_char / int_bool; bits 0 means size * 8.
    constexpr std::uint32_t add_int(std::string_view name, std::uint32_t size, std::uint8_t encoding,
                                    std::uint32_t bits = 0, std::uint32_t offset = 0) {
        if (bits == 0) bits = size * 8;
        head(name, kind::int_, 0, false, size);
        if (encoding > 0xf) fail(bad_value("INT encoding does not fit in 4 bits", encoding, 0xf));
        if (bits > 128 || offset > 128 || bits + offset > 128) fail(bad_value("INT bits and offset past 128", std::uint64_t{bits} + offset, 128));
        words_.push_back((std::uint32_t{encoding} << 24) | ((offset & 0xff) << 16) | (bits & 0xff));
        return finish();
    }
    constexpr std::uint32_t add_ptr(std::uint32_t type) { return add_ref(kind::ptr, 0, type); }
    constexpr std::uint32_t add_array(std::uint32_t elem, std::uint32_t index, std::uint32_t nelems) {
        head(0, kind::array, 0, false, 0);
        words_.insert(words_.end(), {elem, index, nelems});
        return finish();
    }
    // STRUCT / UNION; kflag (members carry bitfield sizes) is set when some member has one.
    constexpr std::uint32_t add_struct(std::string_view name, std::uint32_t size, member_list members) {
        return add_composite(kind::struct_, name, size, members, detail::any_bitfield(members));
    }
    constexpr std::uint32_t add_struct(std::string_view name, std::uint32_t size, member_list members, bool kflag) {
        return add_composite(kind::struct_, name, size, members, kflag);
    }
    constexpr std::uint32_t add_union(std::string_view name, std::uint32_t size, member_list members) {
        return add_composite(kind::union_, name, size, members, detail::any_bitfield(members));
    }
    constexpr std::uint32_t add_union(std::string_view name, std::uint32_t size, member_list members, bool kflag) {
        return add_composite(kind::union_, name, size, members, kflag);
    }
    constexpr std::uint32_t add_struct(std::string_view name, std::uint32_t size, std::initializer_list<member_spec> members) {
        return add_struct(name, size, detail::list(members));
    }
    constexpr std::uint32_t add_struct(std::string_view name, std::uint32_t size, std::initializer_list<member_spec> members, bool kflag) {
        return add_struct(name, size, detail::list(members), kflag);
    }
    constexpr std::uint32_t add_union(std::string_view name, std::uint32_t size, std::initializer_list<member_spec> members) {
        return add_union(name, size, detail::list(members));
    }
    constexpr std::uint32_t add_union(std::string_view name, std::uint32_t size, std::initializer_list<member_spec> members, bool kflag) {
        return add_union(name, size, detail::list(members), kflag);
    }
    // ENUM (kflag: signed); each value must fit 32 bits, unsigned or sign-extended.
    constexpr std::uint32_t add_enum(std::string_view name, std::uint32_t size, bool is_signed, enumerator_list values) {
        head(name, kind::enum_, values.size(), is_signed, size);
        for (std::uint32_t i = 0; i < values.size(); ++i) {
            const std::uint64_t v = values[i].value;
            if (v > 0xffffffffu && v < 0xffffffff80000000u) fail(bad_value("ENUM value does not fit 32 bits", v, 0xffffffffu).at_index("enumerator", i));
            words_.push_back(add_string(values[i].name));
            words_.push_back(static_cast<std::uint32_t>(v));
        }
        return finish();
    }
    constexpr std::uint32_t add_enum64(std::string_view name, std::uint32_t size, bool is_signed, enumerator_list values) {
        head(name, kind::enum64, values.size(), is_signed, size);
        for (const enumerator_spec& e : values) {
            words_.push_back(add_string(e.name));
            words_.push_back(static_cast<std::uint32_t>(e.value));
            words_.push_back(static_cast<std::uint32_t>(e.value >> 32));
        }
        return finish();
    }
    constexpr std::uint32_t add_enum(std::string_view name, std::uint32_t size, bool is_signed, std::initializer_list<enumerator_spec> values) {
        return add_enum(name, size, is_signed, detail::list(values));
    }
    constexpr std::uint32_t add_enum64(std::string_view name, std::uint32_t size, bool is_signed, std::initializer_list<enumerator_spec> values) {
        return add_enum64(name, size, is_signed, detail::list(values));
    }
    constexpr std::uint32_t add_fwd(std::string_view name, bool is_union) {
        head(name, kind::fwd, 0, is_union, 0);
        return finish();
    }
    constexpr std::uint32_t add_typedef(std::string_view name, std::uint32_t type) {
        head(name, kind::typedef_, 0, false, type);
        return finish();
    }
    constexpr std::uint32_t add_volatile(std::uint32_t type) { return add_ref(kind::volatile_, 0, type); }
    constexpr std::uint32_t add_const(std::uint32_t type) { return add_ref(kind::const_, 0, type); }
    constexpr std::uint32_t add_restrict(std::uint32_t type) { return add_ref(kind::restrict_, 0, type); }
    // FUNC: `proto` is a FUNC_PROTO; the linkage is stored in vlen.
    constexpr std::uint32_t add_func(std::string_view name, std::uint32_t proto, std::uint32_t linkage = linkage_global) {
        head(name, kind::func, linkage & 0xffff, false, proto);
        if (linkage > 0xffff) fail(bad_value("FUNC linkage does not fit vlen", linkage, 0xffff));
        return finish();
    }
    // FUNC_PROTO: a last parameter of type 0 with no name is "...".
    constexpr std::uint32_t add_func_proto(std::uint32_t ret, param_list params) {
        head(0, kind::func_proto, params.size(), false, ret);
        for (const param_spec& p : params) {
            words_.push_back(add_string(p.name));
            words_.push_back(p.type);
        }
        return finish();
    }
    constexpr std::uint32_t add_func_proto(std::uint32_t ret, std::initializer_list<param_spec> params) {
        return add_func_proto(ret, detail::list(params));
    }
    constexpr std::uint32_t add_var(std::string_view name, std::uint32_t type, std::uint32_t linkage = linkage_global) {
        head(name, kind::var, 0, false, type);
        words_.push_back(linkage);
        return finish();
    }
    constexpr std::uint32_t add_datasec(std::string_view name, std::uint32_t size, var_list vars) {
        head(name, kind::datasec, vars.size(), false, size);
        for (const var_spec& v : vars) words_.insert(words_.end(), {v.type, v.offset, v.size});
        return finish();
    }
    constexpr std::uint32_t add_datasec(std::string_view name, std::uint32_t size, std::initializer_list<var_spec> vars) {
        return add_datasec(name, size, detail::list(vars));
    }
    constexpr std::uint32_t add_float(std::string_view name, std::uint32_t size) {
        head(name, kind::float_, 0, false, size);
        return finish();
    }
    // DECL_TAG on `type` itself (component -1) or on its member / parameter `component`; kflag
    // (`attribute`) marks a tag that is a plain __attribute__.
    constexpr std::uint32_t add_decl_tag(std::string_view value, std::uint32_t type, std::int32_t component = -1, bool attribute = false) {
        head(value, kind::decl_tag, 0, attribute, type);
        if (component < -1) fail(bad_value("DECL_TAG component index below -1", static_cast<std::uint32_t>(component), 0));
        words_.push_back(static_cast<std::uint32_t>(component));
        return finish();
    }
    constexpr std::uint32_t add_type_tag(std::string_view value, std::uint32_t type, bool attribute = false) {
        head(value, kind::type_tag, 0, attribute, type);
        return finish();
    }

    // Appends a copy of type `t` of some parsed btf, record for record: every referenced id other
    // than void goes through map_id(id) and every string offset other than 0 through
    // map_string(off), each returning the new value as std::uint32_t or result<std::uint32_t> (an
    // error is kept as the builder's first error). Kind, flags, vlen, sizes, offsets, encodings and
    // values are kept as they are.
    template <class MapId, class MapString>
    constexpr std::uint32_t copy_type(const type& t, MapId&& map_id, MapString&& map_string);
    // The same with every string copied by content (add_string of the source's string).
    template <class MapId>
    constexpr std::uint32_t copy_type(const type& t, MapId&& map_id) {
        const btf* src = t.owner();
        return copy_type(t, map_id, [this, src](std::uint32_t off) { return add_string(src->string(off)); });
    }

    // The BTF in the builder's byte order, or the first error: a kept one, or a reference to an id
    // past the end.
    [[nodiscard]] constexpr result<std::vector<char>> encode() const { return encode(order_); }
    // In `order`; split BTF over a parsed base must be in the base's order.
    [[nodiscard]] constexpr result<std::vector<char>> encode(byte_order order) const {
        if (!ok()) return error_;
        if (base_ != nullptr && order != base_->order()) {
            return error(errc::bad_header, "split BTF must be in its base's byte order").in_section("BTF builder");
        }
        BTFKIT_TRY(check_references());
        return encode_unchecked(order);
    }
    // What was added, as it is, errors or not: for input that is malformed on purpose (tests).
    [[nodiscard]] constexpr std::vector<char> encode_unchecked(byte_order order) const {
        const auto type_len = static_cast<std::uint32_t>(4 * words_.size());
        const byte_span str = strings_.bytes();
        std::vector<char> out;  // grown by push_back: a sized vector is not constant-evaluable with every library
        out.reserve(btf_header_size + std::size_t{type_len} + str.size());
        auto put = [&out, order](auto v) {
            char b[sizeof(v)]{};
            detail::store(b, v, order);
            for (char c : b) out.push_back(c);
        };
        put(btf_magic);
        out.push_back(1);  // version
        out.push_back(0);  // flags
        for (std::uint32_t v : {btf_header_size, 0u, type_len, type_len, static_cast<std::uint32_t>(str.size())}) put(v);
        for (std::uint32_t w : words_) put(w);
        for (char c : str) out.push_back(c);
        return out;
    }

private:

    [[nodiscard]] constexpr error bad_value(const char* what, std::uint64_t got, std::uint64_t limit) const {
        return error(errc::out_of_range, what).in_section("BTF builder").at_type(type_count() - 1).got(got).limit(limit);
    }
    constexpr void fail(const error& e) {
        if (ok()) error_ = e;
    }
    // Starts the record of the next type; errors found from here on name it.
    constexpr void head(std::string_view name, kind k, std::size_t vlen, bool kflag, std::uint32_t size_or_type) {
        head(0, k, vlen, kflag, size_or_type);
        words_[starts_.back()] = add_string(name);
    }
    constexpr void head(std::uint32_t name_off, kind k, std::size_t vlen, bool kflag, std::uint32_t size_or_type) {
        in_type_ = type_count();
        starts_.push_back(static_cast<std::uint32_t>(words_.size()));
        words_.insert(words_.end(), {name_off, (kflag ? 0x80000000u : 0u) | (std::uint32_t{static_cast<std::uint8_t>(k)} << 24) |
                                                   static_cast<std::uint32_t>(vlen & 0xffff), size_or_type});
        if (vlen > 0xffff) fail(bad_value("too many records for vlen", vlen, 0xffff));
        if (4 * words_.size() > 0xffffffffu - btf_header_size) fail(bad_value("type section too large", 4 * words_.size(), 0xffffffffu));
    }
    constexpr std::uint32_t finish() noexcept {
        in_type_ = 0;
        return type_count() - 1;
    }
    constexpr std::uint32_t add_ref(kind k, std::uint32_t name_off, std::uint32_t type) {
        head(name_off, k, 0, false, type);
        return finish();
    }
    constexpr std::uint32_t add_composite(kind k, std::string_view name, std::uint32_t size, member_list members, bool kflag) {
        head(name, k, members.size(), kflag, size);
        for (std::uint32_t i = 0; i < members.size(); ++i) {
            const member_spec& m = members[i];
            std::uint32_t off = m.bit_offset;
            if (kflag) {
                if (m.bit_offset > 0xffffff) fail(bad_value("member bit offset does not fit 24 bits", m.bit_offset, 0xffffff).at_index("member", i));
                if (m.bitfield_size > 0xff) fail(bad_value("member bitfield size does not fit 8 bits", m.bitfield_size, 0xff).at_index("member", i));
                off = (m.bitfield_size << 24) | (m.bit_offset & 0xffffff);
            } else if (m.bitfield_size != 0) {
                fail(bad_value("bitfield member in a composite without kflag", m.bitfield_size, 0).at_index("member", i));
            }
            words_.insert(words_.end(), {add_string(m.name), m.type, off});
        }
        return finish();
    }

    template <class F>
    constexpr std::uint32_t mapped(F&& f, std::uint32_t v) {
        if constexpr (std::is_same_v<std::remove_cvref_t<decltype(f(v))>, std::uint32_t>) {
            return f(v);
        } else {
            auto r = f(v);
            if (!r) {
                fail(r.error());
                return 0;
            }
            return *r;
        }
    }

    // Calls f(word index, record label, record index) for each word of own type `i` that is a type id.
    template <class F>
    constexpr void for_each_ref_word(std::uint32_t i, F&& f) const {
        const std::size_t s = starts_[i];
        const std::uint32_t info = words_[s + 1];
        const std::uint32_t vlen = info & 0xffff;
        switch (static_cast<kind>((info >> 24) & 0x1f)) {
        case kind::ptr: case kind::typedef_: case kind::volatile_: case kind::const_: case kind::restrict_:
        case kind::func: case kind::var: case kind::type_tag: case kind::decl_tag:
            f(s + 2, nullptr, 0);
            break;
        case kind::array:
            f(s + 3, "array element", 0);
            f(s + 4, "array index", 0);
            break;
        case kind::struct_: case kind::union_:
            for (std::uint32_t j = 0; j < vlen; ++j) f(s + 3 + 3 * j + 1, "member", j);
            break;
        case kind::func_proto:
            f(s + 2, "return", 0);
            for (std::uint32_t j = 0; j < vlen; ++j) f(s + 3 + 2 * j + 1, "parameter", j);
            break;
        case kind::datasec:
            for (std::uint32_t j = 0; j < vlen; ++j) f(s + 3 + 3 * j, "variable", j);
            break;
        default:
            break;
        }
    }

    [[nodiscard]] constexpr status check_references() const {
        const std::uint32_t count = type_count();
        for (std::uint32_t i = 0; i < own_count(); ++i) {
            status st;
            for_each_ref_word(i, [&](std::size_t w, const char* label, std::uint32_t j) {
                if (st && words_[w] >= count) {
                    error e = error(errc::bad_type_id, "refers to a type past the end").in_section("BTF builder").at_type(first_id_ + i).got(words_[w]).limit(count);
                    st = label != nullptr ? e.at_index(label, j) : e;
                }
            });
            BTFKIT_TRY(st);
        }
        return {};
    }

    string_table strings_{};
    const btf* base_ = nullptr;
    const string_index* base_index_ = nullptr;
    string_index own_base_index_{};  // built on the first string when base_index_ is not given
    std::vector<std::uint32_t> words_{};   // the type section, one host-order word each
    std::vector<std::uint32_t> starts_{};  // own type (id - first_id) -> its first word
    btfkit::error error_{};
    byte_order order_ = native_order;
    std::uint32_t first_id_ = 1;
    std::uint32_t in_type_ = 0;  // the type whose record is being added, 0 between adds
};

template <class MapId, class MapString>
constexpr std::uint32_t btf_builder::copy_type(const type& t, MapId&& map_id, MapString&& map_string) {
    auto id = [&](std::uint32_t v) { return v == 0 ? 0u : mapped(map_id, v); };
    auto str = [&](std::uint32_t v) { return v == 0 ? 0u : mapped(map_string, v); };
    const kind k = t.kind();
    const std::uint32_t name = str(t.name_off());
    std::uint32_t st = t.size();
    switch (k) {
    case kind::ptr: case kind::typedef_: case kind::volatile_: case kind::const_: case kind::restrict_:
    case kind::func: case kind::var: case kind::type_tag: case kind::decl_tag: case kind::func_proto:
        st = id(st);
        break;
    default:
        break;
    }
    in_type_ = type_count();
    starts_.push_back(static_cast<std::uint32_t>(words_.size()));
    words_.insert(words_.end(), {name, t.info(), st});
    switch (k) {
    case kind::int_: words_.push_back(t.int_data()); break;
    case kind::var: words_.push_back(t.var_linkage()); break;
    case kind::decl_tag: words_.push_back(static_cast<std::uint32_t>(t.decl_tag_component())); break;
    case kind::array: {
        const array_info a = t.array();
        words_.insert(words_.end(), {id(a.type), id(a.index_type), a.nelems});
        break;
    }
    case kind::struct_: case kind::union_:
        for (const member m : t.members()) words_.insert(words_.end(), {str(m.name_off), id(m.type), m.raw_offset});
        break;
    case kind::enum_:
        for (const enumerator e : t.enumerators()) words_.insert(words_.end(), {str(e.name_off), e.lo32});
        break;
    case kind::enum64:
        for (const enumerator e : t.enumerators()) words_.insert(words_.end(), {str(e.name_off), e.lo32, e.hi32});
        break;
    case kind::func_proto:
        for (const param p : t.params()) words_.insert(words_.end(), {str(p.name_off), id(p.type)});
        break;
    case kind::datasec:
        for (const datasec_var v : t.vars()) words_.insert(words_.end(), {id(v.type), v.offset, v.size});
        break;
    case kind::unknown:
        fail(error(errc::bad_kind, "cannot copy a type of unknown kind").in_section("BTF builder").at_type(t.id()));
        break;
    default:
        break;
    }
    return finish();
}

}  // namespace btfkit
