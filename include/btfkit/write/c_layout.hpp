// The sizes and alignment of types as libbpf's btf_dump reads them: btf__align_of (cached for
// structs and unions), btf__resolve_size and the pointer size guessed from the target's "long".
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string_view>

#include "../error.hpp"
#include "../format/btf.hpp"
#include "../memory.hpp"
#include "c_names.hpp"

namespace btfkit::detail {

inline constexpr int c_einval = -22;  // libbpf's -EINVAL from btf__align_of

class c_layout {
public:
    explicit c_layout(const btf& b) noexcept : b_(b) {}

    // The first failure (a loop in bad BTF), if any; the results after it are libbpf's error values.
    [[nodiscard]] const std::optional<error>& failure() const noexcept { return error_; }

    // The target's pointer size, as libbpf guesses it from its "long" (once, when first needed).
    [[nodiscard]] int ptr_size() const noexcept {
        if (ptr_sz_ == 0) ptr_sz_ = pointer_size();
        return ptr_sz_;
    }

    // libbpf's btf__align_of; negative on error. Each type's answer is kept once known (a dump asks
    // again for every member of every struct it writes), unless an error was met on the way.
    [[nodiscard]] int align_of(std::uint32_t id, unsigned depth = 0) {
        if (id < align_cache_.size() && align_cache_[id] != align_unknown) return align_cache_[id];
        const int a = align_uncached(id, depth);
        if (!error_ && a >= -127 && a <= 127 && id < b_.type_count()) {
            if (align_cache_.empty()) align_cache_.assign(b_.type_count(), align_unknown);
            align_cache_[id] = static_cast<std::int8_t>(a);
        }
        return a;
    }

    // btf__resolve_size; negative on error.
    [[nodiscard]] std::int64_t resolve_size(std::uint32_t id) const {
        std::uint32_t nelems = 1;
        std::int64_t size = -1;
        for (std::uint32_t i = 0; i < max_resolve_depth && id != 0; ++i) {
            const type t = b_[id];
            bool done = false;
            switch (t.kind()) {
            case kind::int_: case kind::struct_: case kind::union_: case kind::enum_: case kind::enum64:
            case kind::datasec: case kind::float_:
                size = t.size();
                done = true;
                break;
            case kind::ptr:
                size = ptr_size();
                done = true;
                break;
            case kind::typedef_: case kind::volatile_: case kind::const_: case kind::restrict_: case kind::var:
            case kind::decl_tag: case kind::type_tag:
                id = t.ref();
                break;
            case kind::array: {
                const array_info a = t.array();
                if (nelems != 0 && a.nelems > 0xffffffffu / nelems) return -7;
                nelems *= a.nelems;
                id = a.type;
                break;
            }
            default:
                return c_einval;
            }
            if (done) break;
        }
        if (size < 0) return c_einval;
        if (nelems != 0 && size > static_cast<std::int64_t>(0xffffffffu / nelems)) return -7;
        return static_cast<std::int64_t>(nelems) * size;
    }

    [[nodiscard]] bool struct_packed(const type& t) {
        int max_align = 1;
        for (const member m : t.members()) {
            const int a = align_of(m.type);
            // the offset is unsigned in libbpf, so a negative alignment divides as a huge unsigned value
            if (a != 0 && m.bitfield_size == 0 && m.raw_offset % (8u * static_cast<std::uint32_t>(a)) != 0) return true;
            max_align = std::max(a, max_align);
        }
        return t.size() % static_cast<std::uint32_t>(max_align) != 0;
    }

private:
    static constexpr std::int8_t align_unknown = -128;

    [[nodiscard]] int align_uncached(std::uint32_t id, unsigned depth) {
        if (depth > c_max_nesting) {
            if (!error_) error_ = error(errc::type_loop, "type alignment does not resolve").at_type(id).limit(c_max_nesting);
            return c_einval;
        }
        const type t = b_[id];
        switch (t.kind()) {
        case kind::int_: case kind::enum_: case kind::enum64: case kind::float_:
            return static_cast<int>(std::min<std::uint32_t>(static_cast<std::uint32_t>(ptr_size()), t.size()));
        case kind::ptr:
            return ptr_size();
        case kind::typedef_: case kind::volatile_: case kind::const_: case kind::restrict_: case kind::type_tag:
            return align_of(t.ref(), depth + 1);
        case kind::array:
            return align_of(t.array().type, depth + 1);
        case kind::struct_: case kind::union_: {
            int max_align = 1, result = 0;
            bool done = false;
            const auto members = t.members();
            for (std::uint32_t i = 0; i < members.size() && !done; ++i) {
                const member m = members[i];
                const int a = align_of(m.type, depth + 1);
                if (a <= 0) { result = a; done = true; break; }
                max_align = std::max(max_align, a);
                if (m.bitfield_size == 0 && m.raw_offset % (8u * static_cast<std::uint32_t>(a)) != 0) { result = 1; done = true; }
            }
            if (!done) result = t.size() % static_cast<std::uint32_t>(max_align) != 0 ? 1 : max_align;
            return result;
        }
        default:
            return c_einval;
        }
    }


    [[nodiscard]] int pointer_size() const noexcept {
        constexpr std::string_view long_aliases[] = {"long", "long int", "int long", "unsigned long", "long unsigned",
                                                     "unsigned long int", "unsigned int long", "long unsigned int",
                                                     "long int unsigned", "int unsigned long", "int long unsigned"};
        for (std::uint32_t id = 1; id < b_.type_count(); ++id) {
            if (b_.kind_of(id) != kind::int_) continue;
            const type t = b_[id];
            if (t.size() != 4 && t.size() != 8) continue;
            const std::string_view name = b_.string(t.name_off());
            for (const std::string_view a : long_aliases) {
                if (name == a) return static_cast<int>(t.size());
            }
        }
        return 8;
    }

    const btf& b_;
    mutable int ptr_sz_ = 0;  // 0: not known yet (ptr_size)
    big_vector<std::int8_t> align_cache_;  // a type's alignment once known (align_unknown: not yet)
    std::optional<error> error_;
};

}  // namespace btfkit::detail
