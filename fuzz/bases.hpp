// Base BTFs for split-BTF fuzzing: a small one with every kind (and two loops), and a large
// "padding" base shaped like Debian 6.1.0-47-amd64's vmlinux so real module .BTF sections parse.
#pragma once

#include <cstdint>
#include <vector>

#include "blob_builder.hpp"
#include "btfkit/format/btf.hpp"
#include "btfkit/bytes.hpp"

namespace btfkit::testing {

// One type of every kind, a typedef/const loop (21 <-> 22), an array of itself (23) and a struct
// holding an array of itself (24, 25). Split seeds refer to these ids.
constexpr blob_builder synthetic_base(byte_order order) {
    blob_builder b(order);
    const auto i = b.add_int("int", 4, int_signed);                                       // 1
    const auto c = b.add_int("char", 1, int_char);                                        // 2
    const auto p = b.add_ref(kind::ptr, "", i);                                           // 3
    const auto a = b.add_array(i, i, 4);                                                  // 4
    const auto s = b.add_struct("s", 24, true, {{"a", i, 0, 0}, {"b", c, 32, 3}, {"p", p, 64, 0}});  // 5
    b.add_union("u", 8, false, {{"x", i, 0, 0}, {"y", p, 0, 0}});                         // 6
    b.add_enum("e", 4, true, {{"A", 0}, {"B", 0xffffffffu}});                             // 7
    b.add_enum64("e64", 8, false, {{"C", 1ull << 40}});                                   // 8
    b.add_fwd("f", false);                                                                // 9
    const auto td = b.add_ref(kind::typedef_, "t", s);                                    // 10
    const auto v = b.add_ref(kind::volatile_, "", td);                                    // 11
    b.add_ref(kind::const_, "", v);                                                       // 12
    b.add_ref(kind::restrict_, "", p);                                                    // 13
    const auto fp = b.add_func_proto(i, {{"z", i}, {"", 0}});                             // 14
    b.add_ref(kind::func, "fn", fp, 1);                                                   // 15
    const auto var = b.add_var("v", i, 1);                                                // 16
    b.add_datasec(".data", 4, {{var, 0, 4}});                                             // 17
    b.add_float("float", 4);                                                              // 18
    b.add_decl_tag("tag", s, 0);                                                          // 19
    b.add_ref(kind::type_tag, "tt", i);                                                   // 20
    b.add_ref(kind::typedef_, "loop", 22);                                                // 21
    b.add_ref(kind::const_, "", 21);                                                      // 22
    b.add_array(23, i, 2);                                                                // 23
    b.add_struct("self", 8, false, {{"arr", 25, 0, 0}});                                  // 24
    b.add_array(24, i, 1);                                                                // 25
    (void)a;
    return b;
}

inline constexpr std::uint32_t synthetic_base_types = 26;    // incl. void: split ids start here
inline constexpr std::uint32_t synthetic_base_strings = 80;  // split string offsets start here

static_assert([] {
    const blob_builder b = synthetic_base(byte_order::big);
    const auto r = btf::parse(b.span());
    return r && r->type_count() == synthetic_base_types && r->strings_size() == synthetic_base_strings;
}());

// The shape of Debian linux-image-6.1.0-47-amd64's vmlinux BTF, inferred from its 4022 modules:
// their split .BTF numbers own types from 100629 and own strings from 1789996.
inline constexpr std::uint32_t debian_6_1_base_types = 100629;
inline constexpr std::uint32_t debian_6_1_base_strings = 1789996;

// A valid base with `types` ids (incl. void) and `strings` bytes of strings (all empty names),
// cycling INT, PTR, STRUCT, TYPEDEF and CONST so references into it resolve in a few steps.
inline std::vector<char> padding_base(byte_order order, std::uint32_t types, std::uint32_t strings) {
    std::vector<char> out(btf_header_size);
    auto put = [&](std::uint32_t v) {
        char w[4];
        btfkit::detail::store<std::uint32_t>(w, v, order);
        out.insert(out.end(), w, w + 4);
    };
    auto info = [](kind k) { return std::uint32_t{static_cast<std::uint8_t>(k)} << 24; };
    for (std::uint32_t id = 1; id < types; ++id) {
        switch (id % 5) {
        case 1: put(0); put(info(kind::int_)); put(4); put(32u | (std::uint32_t{int_signed} << 24)); break;
        case 2: put(0); put(info(kind::ptr)); put(id - 1); break;
        case 3: put(0); put(info(kind::struct_)); put(8); break;
        case 4: put(0); put(info(kind::typedef_)); put(id - 1); break;
        default: put(0); put(info(kind::const_)); put(id - 1); break;
        }
    }
    const auto type_len = static_cast<std::uint32_t>(out.size() - btf_header_size);
    out.resize(out.size() + (strings == 0 ? 1 : strings), '\0');
    btfkit::detail::store<std::uint16_t>(out.data(), btf_magic, order);
    out[2] = 1;
    btfkit::detail::store<std::uint32_t>(out.data() + 4, btf_header_size, order);
    btfkit::detail::store<std::uint32_t>(out.data() + 8, 0, order);
    btfkit::detail::store<std::uint32_t>(out.data() + 12, type_len, order);
    btfkit::detail::store<std::uint32_t>(out.data() + 16, type_len, order);
    btfkit::detail::store<std::uint32_t>(out.data() + 20, strings == 0 ? 1 : strings, order);
    return out;
}

}  // namespace btfkit::testing
