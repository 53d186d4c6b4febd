// Writes the marked part of a BTF (core_marks.hpp) as a BTF of its own, as bpftool's btfgen_get_btf
// does: base BTF, or split BTF over a minimised base, with where each kept type went.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "../error.hpp"
#include "../format/btf.hpp"
#include "../write/btf_builder.hpp"
#include "../write/string_table.hpp"
#include "core_marks.hpp"

namespace btfkit {

// A minimised BTF: its bytes, and the new id of each type of its source.
struct min_btf {
    std::vector<char> bytes{};
    std::uint32_t source_first_id = 1;
    std::vector<std::uint32_t> ids{};  // by source own id - source_first_id: the new id, 0 if dropped
    std::uint32_t type_count = 0;      // types written

    // The new id of own source type `id` (0 for void and for a dropped type).
    [[nodiscard]] constexpr std::uint32_t new_id(std::uint32_t id) const noexcept {
        return id < source_first_id || id - source_first_id >= ids.size() ? 0 : ids[id - source_first_id];
    }
};

namespace detail {

// The kept types of `marks` in id order: a kept composite with its marked members only (kflag set
// when one of them is a bitfield, as libbpf's btf__add_field sets it), any other kind as it is; a
// reference to a type that is not kept becomes void. Ids below the source's first id map through
// `base` (a split source's base). A type that keeps its position has as many anonymous `void *`
// before it as make its index among the own types its source index.
constexpr result<min_btf> write_marked(const btf_marks& marks, btf_builder& out, const min_btf* base) {
    const btf& src = *marks.source();
    min_btf r;
    r.source_first_id = src.first_id();
    r.ids.resize(src.own_count(), 0);
    std::uint32_t next = out.first_id();
    for (std::uint32_t i = 0; i < src.own_count(); ++i) {
        if (!marks.marked(src.first_id() + i)) continue;
        if (marks.keeps_position(src.first_id() + i)) next = out.first_id() + i;  // kept types before it are fewer
        r.ids[i] = next++;
    }
    auto map = [&](std::uint32_t id) -> std::uint32_t {
        return id < src.first_id() ? (base != nullptr ? base->new_id(id) : 0) : r.new_id(id);
    };
    std::vector<member_spec> members;
    for (std::uint32_t i = 0; i < src.own_count(); ++i) {
        const std::uint32_t id = src.first_id() + i;
        if (r.ids[i] == 0) continue;
        while (out.type_count() < r.ids[i]) out.add_ptr(0);
        const type t = src[id];
        if (t.is_composite()) {
            members.clear();
            bool kflag = false;
            std::uint32_t j = 0;
            for (const member m : t.members()) {
                if (marks.member_marked(id, j++)) {
                    members.push_back(member_spec{src.string(m.name_off), map(m.type), m.bit_offset, m.bitfield_size});
                    kflag = kflag || m.bitfield_size != 0 || m.bit_offset % 8 != 0;
                }
            }
            const std::span<const member_spec> ms(members.data(), members.size());
            if (t.is(kind::struct_)) out.add_struct(t.name(), t.size(), ms, kflag);
            else out.add_union(t.name(), t.size(), ms, kflag);
        } else {
            out.copy_type(t, map);
        }
    }
    auto bytes = out.encode();
    if (!bytes) return bytes.error();
    r.bytes = std::move(*bytes);
    r.type_count = next - out.first_id();
    return r;
}

}  // namespace detail

// The kept types of base BTF `marks.source()` as a base BTF in its byte order.
[[nodiscard]] constexpr result<min_btf> write_min_btf(const btf_marks& marks) {
    btf_builder out(marks.source()->order());
    return detail::write_marked(marks, out, nullptr);
}

// The kept own types of split BTF `marks.source()` as split BTF over `new_base`, the parsed bytes of
// `base` (the minimised base); `base_strings` (string_index::of(new_base), optional) is shared by the
// modules written over one base.
[[nodiscard]] constexpr result<min_btf> write_min_btf_split(const btf_marks& marks, const btf& new_base, const min_btf& base,
                                                          const string_index* base_strings = nullptr) {
    btf_builder out(new_base, base_strings);
    return detail::write_marked(marks, out, &base);
}

}  // namespace btfkit
