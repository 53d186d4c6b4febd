// User-space CO-RE, the 2020 thread's "local BTF without clang": a program describes the kernel structs
// it reads as C++ data; their local BTF and CO-RE records are built at compile time, and at run time
// btfkit's engine relocates the fields against a kernel's BTF, so the program reads raw kernel bytes
// (a struct a BPF program copied out, say) at the kernel's offsets.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "../core/candidates.hpp"
#include "../core/relocate.hpp"
#include "../error.hpp"
#include "../write/btf_builder.hpp"

namespace btfkit {

// One field a program reads: an integer of `size` bytes (1, 2, 4 or 8).
struct user_field {
    std::string_view name;
    std::uint32_t size = 4;
    bool is_signed = false;
};
// A kernel struct, as much of it as the program reads (fields in any order, any subset).
struct user_struct {
    std::string_view name;
    std::span<const user_field> fields;
};

// Where a field is in the target kernel's struct.
struct field_location {
    bool exists = false;
    std::uint32_t offset = 0;  // bytes from the start of the struct
    std::uint32_t size = 0;
    bool is_signed = false;
};

namespace user_core_detail {

// Each field gets four relocations, in this order, each on a `r0 = imm` instruction whose immediate is
// the local value libbpf validates: FIELD_EXISTS, BYTE_OFFSET, BYTE_SIZE, SIGNED.
inline constexpr relo_kind kinds[] = {relo_kind::field_exists, relo_kind::field_byte_offset, relo_kind::field_byte_size, relo_kind::field_signed};
inline constexpr std::uint32_t per_field = 4;
inline constexpr std::string_view section = "usercore";

constexpr void put32(std::vector<char>& out, std::uint32_t v, byte_order o) {
    for (int i = 0; i < 4; ++i) {
        const int shift = o == byte_order::little ? 8 * i : 8 * (3 - i);
        out.push_back(static_cast<char>((v >> shift) & 0xff));
    }
}

}  // namespace user_core_detail

// The local half: .BTF (the structs, their fields as ints at natural alignment), .BTF.ext (one CO-RE
// block of section "usercore") and the instructions the records point at. Built in constant evaluation
// as well as at run time.
struct user_core_image {
    std::vector<char> btf, btf_ext, insns;
    std::uint32_t fields = 0;
};

[[nodiscard]] constexpr result<user_core_image> build_user_core(std::span<const user_struct> structs, byte_order order = native_order) {
    using namespace user_core_detail;
    btf_builder b(order);
    const std::uint32_t section_off = b.add_string(section);
    struct record {
        std::uint32_t type_id, access_off, local_offset, size;
        bool is_signed;
    };
    std::vector<record> records;
    for (const user_struct& s : structs) {
        std::vector<member_spec> members;
        std::uint32_t at = 0;
        for (const user_field& f : s.fields) {
            if (f.size != 1 && f.size != 2 && f.size != 4 && f.size != 8) return error(errc::unsupported, "a field is not 1, 2, 4 or 8 bytes").about(f.name).got(f.size);
            at = (at + f.size - 1) / f.size * f.size;
            const std::uint32_t field_type = b.add_int(f.is_signed ? "int" : "unsigned int", f.size, f.is_signed ? int_signed : 0);
            members.push_back(member_spec{f.name, field_type, at * 8, 0});
            at += f.size;
        }
        const std::uint32_t struct_id = b.type_count();
        std::uint32_t k = 0, offset = 0;
        for (const user_field& f : s.fields) {
            offset = members[k].bit_offset / 8;
            // "0:K", written by hand: std::to_string is not constexpr, nor every std::string operation
            // under clang with libstdc++.
            char access[16] = {'0', ':'};
            std::size_t len = 2;
            char digits[10] = {};
            std::size_t nd = 0;
            for (std::uint32_t v = k; nd == 0 || v != 0; v /= 10) digits[nd++] = static_cast<char>('0' + v % 10);
            while (nd > 0) access[len++] = digits[--nd];
            records.push_back(record{struct_id, b.add_string(std::string_view(access, len)), offset, f.size, f.is_signed});
            ++k;
        }
        b.add_struct(s.name, (at + 7) / 8 * 8, std::span<const member_spec>(members));
    }
    auto btf_bytes = b.encode();
    if (!btf_bytes) return btf_bytes.error();
    user_core_image img;
    img.btf = std::move(*btf_bytes);
    img.fields = static_cast<std::uint32_t>(records.size());
    // The instructions: r0 = the local value, per relocation.
    for (const record& r : records) {
        const std::uint32_t values[per_field] = {1, r.local_offset, r.size, r.is_signed ? 1u : 0u};
        for (const std::uint32_t v : values) {
            std::array<char, insn_const::insn_size> i{};
            encode_insn(i.data(), insn{0xb7, 0, 0, 0, static_cast<std::int32_t>(v)}, order);  // BPF_ALU64 | BPF_MOV | BPF_K
            img.insns.insert(img.insns.end(), i.begin(), i.end());
        }
    }
    // .BTF.ext: a 32-byte header, no func or line info, one CO-RE block.
    const auto n = static_cast<std::uint32_t>(records.size() * per_field);
    auto& x = img.btf_ext;
    x.push_back(static_cast<char>(order == byte_order::little ? 0x9f : 0xeb));
    x.push_back(static_cast<char>(order == byte_order::little ? 0xeb : 0x9f));
    x.push_back(1);  // version
    x.push_back(0);  // flags
    for (const std::uint32_t v : {32u, 0u, 0u, 0u, 0u, 0u, 12u + 16u * n}) put32(x, v, order);
    put32(x, 16, order);  // record size
    put32(x, section_off, order);
    put32(x, n, order);
    for (std::uint32_t i = 0; i < n; ++i) {
        const record& r = records[i / per_field];
        put32(x, i * insn_const::insn_size, order);
        put32(x, r.type_id, order);
        put32(x, r.access_off, order);
        put32(x, static_cast<std::uint32_t>(kinds[i % per_field]), order);
    }
    return img;
}

// The run-time half: every field of `img` relocated against `targets` (the running kernel's, or a
// BTF file's) by the CO-RE engine, as libbpf would relocate a BPF program's field accesses; a field
// the kernel's struct lacks comes back with exists == false. `out` gets one location per field, in
// the order the structs and their fields were given.
template <class Targets>
constexpr status relocate_user_core(const user_core_image& img, Targets&& targets, relocation_scratch& scratch,
                                    std::vector<field_location>& out, const relocate_options& opts = {}) {
    using namespace user_core_detail;
    std::vector<char> insns = img.insns;
    out.assign(img.fields, field_location{});
    error failed{};
    auto sum = relocate_section(section, std::span<char>(insns), byte_span(img.btf.data(), img.btf.size()),
                                byte_span(img.btf_ext.data(), img.btf_ext.size()), targets, scratch, opts,
                                [&](const relocation_report& r) {
        const std::uint32_t field = r.index / per_field, which = r.index % per_field;
        if (field >= out.size()) return;
        field_location& l = out[field];
        if (r.outcome == relo_outcome::error) {
            if (failed.code == errc::ok) failed = r.err;
            return;
        }
        if (r.outcome == relo_outcome::poisoned) return;  // the field is not in the kernel's struct
        const auto v = static_cast<std::uint32_t>(r.res.new_val);
        if (which == 0) l.exists = v != 0;
        else if (which == 1) l.offset = v;
        else if (which == 2) l.size = v;
        else l.is_signed = v != 0;
    });
    if (!sum) return sum.error();
    if (failed.code != errc::ok) return failed;
    return {};
}

// A field's value from the raw bytes of the struct, at the kernel's offset and size (0 for a field the
// kernel lacks or bytes too short), sign-extended where the kernel's field is signed.
[[nodiscard]] constexpr std::int64_t read_field(std::span<const char> bytes, const field_location& l, byte_order order = native_order) noexcept {
    if (!l.exists || l.size == 0 || l.size > 8 || l.offset > bytes.size() || bytes.size() - l.offset < l.size) return 0;
    std::uint64_t v = 0;
    for (std::uint32_t i = 0; i < l.size; ++i) {
        const auto byte = static_cast<std::uint64_t>(static_cast<unsigned char>(bytes[l.offset + i]));
        v |= byte << (8 * (order == byte_order::little ? i : l.size - 1 - i));
    }
    if (l.is_signed && l.size < 8 && (v >> (8 * l.size - 1)) != 0) v |= ~std::uint64_t{0} << (8 * l.size);
    return static_cast<std::int64_t>(v);
}

}  // namespace btfkit
