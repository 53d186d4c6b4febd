// A relocated object made final: its CO-RE records dropped from .BTF.ext (func and line info kept), so
// that a loader takes its instructions as they are instead of relocating them again.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>

#include "../bytes.hpp"
#include "../error.hpp"
#include "../format/bpf_object.hpp"
#include "../format/elf.hpp"

namespace btfkit {

// What drop_core_records removed.
struct dropped_core_records {
    std::uint32_t records = 0;         // CO-RE records
    std::uint64_t bytes = 0;           // bytes of the core_relo subsection
    std::uint32_t rel_entries = 0;     // entries of .rel.BTF.ext that pointed into it
    bool section_shrunk = false;       // .BTF.ext ends where func and line info end
};

namespace detail {

// The file offset of section header `index` (the ELF header's e_shoff, checked by elf::parse).
[[nodiscard]] constexpr std::size_t section_header_at(const elf& e, std::uint32_t index) noexcept {
    return static_cast<std::size_t>(load<std::uint64_t>(e.data().data() + 40, e.order())) + elf_const::shdr_size * index;
}

constexpr void zero(std::span<char> image, std::size_t from, std::size_t to) noexcept {
    for (std::size_t i = from; i < to && i < image.size(); ++i) image[i] = 0;
}

}  // namespace detail

// Drops the CO-RE records of `obj` from `image`, a copy of the object's bytes (relocated or not): the
// core_relo subsection of .BTF.ext is zeroed and its length set to 0 (its offset to the end of func
// and line info, as clang writes an object without records); when it was the section's tail, the
// section ends where func and line info end. Entries of .BTF.ext's relocation sections that pointed
// into it (clang's, for the records' instruction offsets) are dropped too. No other byte moves: the
// layout of every section stays as it was. An object without records is left as it is.
constexpr result<dropped_core_records> drop_core_records(const bpf_object& obj, std::span<char> image) {
    dropped_core_records out;
    if (image.size() != obj.file().data().size()) {
        return error(errc::out_of_range, "image size differs from the object").got(image.size()).limit(obj.file().data().size());
    }
    if (!obj.has_ext() || obj.ext().core_relo_count() == 0) return out;
    const elf& e = obj.file();
    const byte_order order = e.order();
    auto s = e.find_section(".BTF.ext");
    if (!s) return s.error().in_section(".BTF.ext");
    const elf_section ext = *s;
    const auto at = static_cast<std::size_t>(ext.offset);
    const byte_reader r{e.section_data(ext), order};
    const std::uint32_t hdr_len = r.u32(4);
    // btf_ext::parse checked the header and that each subsection lies inside the section.
    const std::uint64_t func_begin = std::uint64_t{hdr_len} + r.u32(8), func_end = func_begin + r.u32(12);
    const std::uint64_t line_begin = std::uint64_t{hdr_len} + r.u32(16), line_end = line_begin + r.u32(20);
    const std::uint64_t core_begin = std::uint64_t{hdr_len} + r.u32(24), core_end = core_begin + r.u32(28);
    auto overlaps = [&](std::uint64_t b, std::uint64_t end) { return b < end && b < core_end && core_begin < end; };
    if (overlaps(func_begin, func_end) || overlaps(line_begin, line_end)) {
        return error(errc::bad_header, "CO-RE records overlap func or line info").in_section(".BTF.ext").got(core_begin);
    }
    const std::uint64_t rest_end = std::max({std::uint64_t{hdr_len}, func_begin < func_end ? func_end : 0, line_begin < line_end ? line_end : 0});
    out.records = obj.ext().core_relo_count();
    out.bytes = core_end - core_begin;
    detail::zero(image, at + static_cast<std::size_t>(core_begin), at + static_cast<std::size_t>(core_end));
    detail::store<std::uint32_t>(image.data() + at + 24, static_cast<std::uint32_t>(rest_end - hdr_len), order);
    detail::store<std::uint32_t>(image.data() + at + 28, 0, order);
    if (core_end == ext.size && core_begin >= rest_end) {
        const std::size_t sh = detail::section_header_at(e, ext.index);
        detail::store<std::uint64_t>(image.data() + sh + 32, rest_end, order);
        detail::zero(image, at + static_cast<std::size_t>(rest_end), at + static_cast<std::size_t>(core_begin));
        out.section_shrunk = true;
    }
    // Relocations of .BTF.ext (sh_info names it) into the dropped records: kept ones move up.
    for (std::uint32_t i = 1; i < e.section_count(); ++i) {
        const elf_section rs = e.section(i);
        if ((rs.type != elf_const::sht_rel && rs.type != elf_const::sht_rela) || rs.info != ext.index) continue;
        const std::size_t entry = rs.type == elf_const::sht_rela ? elf_const::rela_size : elf_const::rel_size;
        const auto base = static_cast<std::size_t>(rs.offset);
        std::size_t kept = 0;
        for (std::uint32_t k = 0; k < e.rel_count(rs); ++k) {
            const elf_rel rel = e.rel(rs, k);
            if (rel.offset >= core_begin && rel.offset < core_end) {
                ++out.rel_entries;
                continue;
            }
            if (kept != k) {
                for (std::size_t b = 0; b < entry; ++b) image[base + kept * entry + b] = image[base + k * entry + b];
            }
            ++kept;
        }
        if (kept != e.rel_count(rs)) {
            detail::zero(image, base + kept * entry, base + static_cast<std::size_t>(rs.size));
            detail::store<std::uint64_t>(image.data() + detail::section_header_at(e, i) + 32, kept * entry, order);
        }
    }
    return out;
}

}  // namespace btfkit
