// Small BTF blobs for tests and fuzz seeds, in either byte order and in constant evaluation: the
// library's btf_builder, encoded after every add, with the shorthands the tests use. Blobs that are
// malformed on purpose still come out (encode_unchecked), and add_raw appends raw records.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <vector>

#include "btfkit/bytes.hpp"
#include "btfkit/format/btf.hpp"
#include "btfkit/write/btf_builder.hpp"

namespace btfkit::testing {

using btfkit::enumerator_spec;
using btfkit::member_spec;
using btfkit::param_spec;
using btfkit::var_spec;

class blob_builder {
public:
    // For split BTF, ids continue after `base_types` (count incl. void) and strings after `base_strings` bytes.
    constexpr explicit blob_builder(byte_order order, std::uint32_t base_types = 0, std::uint32_t base_strings = 0)
        : order_(order), b_(order, split_base{base_types == 0 ? 1 : base_types, base_strings}) {
        rebuild();
    }

    [[nodiscard]] constexpr byte_span span() const noexcept { return {blob_.data(), blob_.size()}; }
    [[nodiscard]] constexpr std::size_t size() const noexcept { return blob_.size(); }
    [[nodiscard]] constexpr const std::vector<char>& bytes() const noexcept { return blob_; }
    [[nodiscard]] constexpr std::uint32_t next_id() const noexcept { return b_.type_count() + raw_types_; }
    // The library builder underneath; after adding through it directly, call rebuild().
    [[nodiscard]] constexpr btf_builder& builder() noexcept { return b_; }

    constexpr std::uint32_t add_string(std::string_view s) { return done(b_.add_string(s)); }

    constexpr std::uint32_t add_int(std::string_view name, std::uint32_t size, std::uint8_t encoding,
                                    std::uint32_t bits = 0, std::uint32_t offset = 0) {
        return done(b_.add_int(name, size, encoding, bits, offset));
    }
    // PTR, TYPEDEF, VOLATILE, CONST, RESTRICT (no name), FUNC (vlen = linkage), TYPE_TAG
    constexpr std::uint32_t add_ref(kind k, std::string_view name, std::uint32_t type, std::uint32_t vlen = 0) {
        switch (k) {
        case kind::ptr: return done(b_.add_ptr(type));
        case kind::typedef_: return done(b_.add_typedef(name, type));
        case kind::volatile_: return done(b_.add_volatile(type));
        case kind::const_: return done(b_.add_const(type));
        case kind::restrict_: return done(b_.add_restrict(type));
        case kind::func: return done(b_.add_func(name, type, vlen));
        case kind::type_tag: return done(b_.add_type_tag(name, type));
        default: throw "blob_builder::add_ref: not a reference kind";
        }
    }
    constexpr std::uint32_t add_var(std::string_view name, std::uint32_t type, std::uint32_t linkage) {
        return done(b_.add_var(name, type, linkage));
    }
    constexpr std::uint32_t add_decl_tag(std::string_view value, std::uint32_t type, std::int32_t component) {
        return done(b_.add_decl_tag(value, type, component));
    }
    constexpr std::uint32_t add_fwd(std::string_view name, bool is_union) { return done(b_.add_fwd(name, is_union)); }
    constexpr std::uint32_t add_float(std::string_view name, std::uint32_t size) { return done(b_.add_float(name, size)); }
    constexpr std::uint32_t add_array(std::uint32_t elem, std::uint32_t index, std::uint32_t nelems) {
        return done(b_.add_array(elem, index, nelems));
    }
    constexpr std::uint32_t add_struct(std::string_view name, std::uint32_t size, bool kflag,
                                       std::initializer_list<member_spec> members, bool is_union = false) {
        return done(is_union ? b_.add_union(name, size, members, kflag) : b_.add_struct(name, size, members, kflag));
    }
    constexpr std::uint32_t add_union(std::string_view name, std::uint32_t size, bool kflag,
                                      std::initializer_list<member_spec> members) {
        return add_struct(name, size, kflag, members, true);
    }
    constexpr std::uint32_t add_enum(std::string_view name, std::uint32_t size, bool is_signed,
                                     std::initializer_list<enumerator_spec> values) {
        return done(b_.add_enum(name, size, is_signed, values));
    }
    constexpr std::uint32_t add_enum64(std::string_view name, std::uint32_t size, bool is_signed,
                                       std::initializer_list<enumerator_spec> values) {
        return done(b_.add_enum64(name, size, is_signed, values));
    }
    constexpr std::uint32_t add_func_proto(std::uint32_t ret, std::initializer_list<param_spec> params) {
        return done(b_.add_func_proto(ret, params));
    }
    constexpr std::uint32_t add_datasec(std::string_view name, std::uint32_t size, std::initializer_list<var_spec> vars) {
        return done(b_.add_datasec(name, size, vars));
    }

    // Raw records for blobs the builder will not write (a vlen past the data, a name offset past the
    // strings): the words go after the builder's records, as one "type"; nothing is added after them.
    constexpr std::uint32_t add_raw(std::initializer_list<std::uint32_t> words) {
        raw_.insert(raw_.end(), words.begin(), words.end());
        ++raw_types_;
        rebuild();
        return next_id() - 1;
    }

    constexpr void rebuild() {
        blob_ = b_.encode_unchecked(order_);
        if (raw_.empty()) return;
        const std::size_t types_end = btf_header_size + detail::load<std::uint32_t>(blob_.data() + 12, order_);
        std::vector<char> words;
        for (std::uint32_t w : raw_) {
            char b[4]{};
            detail::store<std::uint32_t>(b, w, order_);
            for (char c : b) words.push_back(c);
        }
        blob_.insert(blob_.begin() + static_cast<std::ptrdiff_t>(types_end), words.begin(), words.end());
        const auto type_len = static_cast<std::uint32_t>(types_end - btf_header_size + words.size());
        detail::store<std::uint32_t>(blob_.data() + 12, type_len, order_);
        detail::store<std::uint32_t>(blob_.data() + 16, type_len, order_);
    }

private:
    constexpr std::uint32_t done(std::uint32_t v) {
        if (raw_types_ != 0) throw "blob_builder: raw records must come last";
        rebuild();
        return v;
    }

    byte_order order_;
    btf_builder b_;
    std::vector<std::uint32_t> raw_{};
    std::uint32_t raw_types_ = 0;
    std::vector<char> blob_{};
};

}  // namespace btfkit::testing
