// Builds small BTF blobs in either byte order, in constant evaluation or at run time (tests, fuzz seeds).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <vector>

#include "btfkit/format/btf.hpp"
#include "btfkit/bytes.hpp"

namespace btfkit::testing {

struct member_spec {
    std::string_view name;
    std::uint32_t type;
    std::uint32_t bit_offset;
    std::uint32_t bitfield_size;
};
struct enumerator_spec {
    std::string_view name;
    std::uint64_t value;
};
struct param_spec {
    std::string_view name;
    std::uint32_t type;
};
struct var_spec {
    std::uint32_t type, offset, size;
};

class blob_builder {
public:
    // For split BTF, ids continue after `base_types` (count incl. void) and strings after `base_strings` bytes.
    constexpr explicit blob_builder(byte_order order, std::uint32_t base_types = 0, std::uint32_t base_strings = 0)
        : order_(order), next_id_(base_types == 0 ? 1 : base_types), str_base_(base_strings) {
        if (base_strings == 0) strings_.push_back('\0');
        rebuild();
    }

    [[nodiscard]] constexpr byte_span span() const noexcept { return {blob_.data(), blob_.size()}; }
    [[nodiscard]] constexpr std::size_t size() const noexcept { return blob_.size(); }
    [[nodiscard]] constexpr const std::vector<char>& bytes() const noexcept { return blob_; }
    [[nodiscard]] constexpr std::uint32_t next_id() const noexcept { return next_id_; }

    constexpr std::uint32_t add_string(std::string_view s) {
        if (s.empty() && str_base_ == 0) return 0;
        const auto off = static_cast<std::uint32_t>(str_base_ + strings_.size());
        for (char c : s) strings_.push_back(c);
        strings_.push_back('\0');
        rebuild();
        return off;
    }

    constexpr std::uint32_t add_int(std::string_view name, std::uint32_t size, std::uint8_t encoding,
                                    std::uint32_t bits = 0, std::uint32_t offset = 0) {
        const std::uint32_t nbits = bits ? bits : size * 8;
        head(name, kind::int_, 0, false, size);
        u32((std::uint32_t{encoding} << 24) | (offset << 16) | nbits);
        return finish();
    }
    // PTR, TYPEDEF, VOLATILE, CONST, RESTRICT, FUNC (vlen = linkage), TYPE_TAG, VAR (+linkage), DECL_TAG (+idx)
    constexpr std::uint32_t add_ref(kind k, std::string_view name, std::uint32_t type, std::uint32_t vlen = 0) {
        head(name, k, vlen, false, type);
        return finish();
    }
    constexpr std::uint32_t add_var(std::string_view name, std::uint32_t type, std::uint32_t linkage) {
        head(name, kind::var, 0, false, type);
        u32(linkage);
        return finish();
    }
    constexpr std::uint32_t add_decl_tag(std::string_view value, std::uint32_t type, std::int32_t component) {
        head(value, kind::decl_tag, 0, false, type);
        u32(static_cast<std::uint32_t>(component));
        return finish();
    }
    constexpr std::uint32_t add_fwd(std::string_view name, bool is_union) {
        head(name, kind::fwd, 0, is_union, 0);
        return finish();
    }
    constexpr std::uint32_t add_float(std::string_view name, std::uint32_t size) {
        head(name, kind::float_, 0, false, size);
        return finish();
    }
    constexpr std::uint32_t add_array(std::uint32_t elem, std::uint32_t index, std::uint32_t nelems) {
        head("", kind::array, 0, false, 0);
        u32(elem);
        u32(index);
        u32(nelems);
        return finish();
    }
    constexpr std::uint32_t add_struct(std::string_view name, std::uint32_t size, bool kflag,
                                       std::initializer_list<member_spec> members, bool is_union = false) {
        head(name, is_union ? kind::union_ : kind::struct_, static_cast<std::uint32_t>(members.size()), kflag, size);
        for (const auto& m : members) {
            u32(add_string(m.name));
            u32(m.type);
            u32(kflag ? ((m.bitfield_size << 24) | m.bit_offset) : m.bit_offset);
        }
        return finish();
    }
    constexpr std::uint32_t add_union(std::string_view name, std::uint32_t size, bool kflag,
                                      std::initializer_list<member_spec> members) {
        return add_struct(name, size, kflag, members, true);
    }
    constexpr std::uint32_t add_enum(std::string_view name, std::uint32_t size, bool is_signed,
                                     std::initializer_list<enumerator_spec> values) {
        head(name, kind::enum_, static_cast<std::uint32_t>(values.size()), is_signed, size);
        for (const auto& v : values) {
            u32(add_string(v.name));
            u32(static_cast<std::uint32_t>(v.value));
        }
        return finish();
    }
    constexpr std::uint32_t add_enum64(std::string_view name, std::uint32_t size, bool is_signed,
                                       std::initializer_list<enumerator_spec> values) {
        head(name, kind::enum64, static_cast<std::uint32_t>(values.size()), is_signed, size);
        for (const auto& v : values) {
            u32(add_string(v.name));
            u32(static_cast<std::uint32_t>(v.value));
            u32(static_cast<std::uint32_t>(v.value >> 32));
        }
        return finish();
    }
    constexpr std::uint32_t add_func_proto(std::uint32_t ret, std::initializer_list<param_spec> params) {
        head("", kind::func_proto, static_cast<std::uint32_t>(params.size()), false, ret);
        for (const auto& p : params) {
            u32(add_string(p.name));
            u32(p.type);
        }
        return finish();
    }
    constexpr std::uint32_t add_datasec(std::string_view name, std::uint32_t size, std::initializer_list<var_spec> vars) {
        head(name, kind::datasec, static_cast<std::uint32_t>(vars.size()), false, size);
        for (const auto& v : vars) {
            u32(v.type);
            u32(v.offset);
            u32(v.size);
        }
        return finish();
    }

    // Raw escape hatch for malformed records: appends words to the type section as one "type".
    constexpr std::uint32_t add_raw(std::initializer_list<std::uint32_t> words) {
        for (auto w : words) u32(w);
        return finish();
    }

private:
    constexpr void head(std::string_view name, kind k, std::uint32_t vlen, bool kflag, std::uint32_t size_or_type) {
        u32(add_string(name));
        u32((kflag ? 0x80000000u : 0u) | (std::uint32_t{static_cast<std::uint8_t>(k)} << 24) | (vlen & 0xffff));
        u32(size_or_type);
    }
    constexpr void u32(std::uint32_t v) {
        char b[4]{};
        detail::store<std::uint32_t>(b, v, order_);
        for (char c : b) types_.push_back(c);
    }
    constexpr std::uint32_t finish() {
        rebuild();
        return next_id_++;
    }
    constexpr void rebuild() {
        blob_.clear();
        char h[24]{};
        detail::store<std::uint16_t>(h, btf_magic, order_);
        h[2] = 1;
        detail::store<std::uint32_t>(h + 4, 24, order_);
        detail::store<std::uint32_t>(h + 8, 0, order_);
        detail::store<std::uint32_t>(h + 12, static_cast<std::uint32_t>(types_.size()), order_);
        detail::store<std::uint32_t>(h + 16, static_cast<std::uint32_t>(types_.size()), order_);
        detail::store<std::uint32_t>(h + 20, static_cast<std::uint32_t>(strings_.size()), order_);
        for (char c : h) blob_.push_back(c);
        for (char c : types_) blob_.push_back(c);
        for (char c : strings_) blob_.push_back(c);
    }

    byte_order order_;
    std::uint32_t next_id_;
    std::uint32_t str_base_;
    std::vector<char> types_{};
    std::vector<char> strings_{};
    std::vector<char> blob_{};
};

}  // namespace btfkit::testing
