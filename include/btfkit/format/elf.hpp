// A view over an ELF64 file in either byte order: header, sections, symbols and relocations.
#pragma once

#include <cstdint>
#include <string_view>

#include "../bytes.hpp"
#include "../error.hpp"

namespace btfkit {

namespace elf_const {
inline constexpr std::uint16_t em_bpf = 247;
inline constexpr std::uint32_t sht_null = 0, sht_progbits = 1, sht_symtab = 2, sht_strtab = 3, sht_rela = 4,
                               sht_nobits = 8, sht_rel = 9;
inline constexpr std::uint64_t shf_alloc = 0x2, shf_execinstr = 0x4;
inline constexpr std::uint8_t stt_notype = 0, stt_object = 1, stt_func = 2, stt_section = 3;
inline constexpr std::uint8_t stb_local = 0, stb_global = 1, stb_weak = 2;
inline constexpr std::uint16_t shn_undef = 0, shn_loreserve = 0xff00, shn_abs = 0xfff1, shn_xindex = 0xffff;
inline constexpr std::size_t ehdr_size = 64, shdr_size = 64, sym_size = 24, rel_size = 16, rela_size = 24;
}  // namespace elf_const

struct elf_section {
    std::uint32_t index = 0;
    std::string_view name{};
    std::uint32_t type = 0;
    std::uint64_t flags = 0;
    std::uint64_t addr = 0;
    std::uint64_t offset = 0;
    std::uint64_t size = 0;
    std::uint32_t link = 0;
    std::uint32_t info = 0;
    std::uint64_t addralign = 0;
    std::uint64_t entsize = 0;
};

struct elf_symbol {
    std::uint32_t index = 0;
    std::string_view name{};
    std::uint8_t info = 0;
    std::uint8_t other = 0;
    std::uint16_t shndx = 0;
    std::uint64_t value = 0;
    std::uint64_t size = 0;
    [[nodiscard]] constexpr std::uint8_t type() const noexcept { return info & 0xf; }
    [[nodiscard]] constexpr std::uint8_t bind() const noexcept { return info >> 4; }
};

struct elf_rel {
    std::uint64_t offset = 0;
    std::uint32_t sym = 0;
    std::uint32_t type = 0;
    std::int64_t addend = 0;
};

// A parsed ELF64 file. Section headers are bounds-checked once at parse; data is decoded on access.
class elf {
public:
    constexpr elf() noexcept = default;

    [[nodiscard]] static constexpr bool is_elf(byte_span data) noexcept {
        return data.size() >= 4 && data[0] == 0x7f && data[1] == 'E' && data[2] == 'L' && data[3] == 'F';
    }

    [[nodiscard]] static constexpr result<elf> parse(byte_span data) noexcept;

    [[nodiscard]] constexpr byte_order order() const noexcept { return r_.order(); }
    [[nodiscard]] constexpr byte_span data() const noexcept { return r_.data(); }
    [[nodiscard]] constexpr std::uint16_t machine() const noexcept { return machine_; }
    [[nodiscard]] constexpr std::uint16_t file_type() const noexcept { return type_; }
    [[nodiscard]] constexpr std::uint32_t section_count() const noexcept { return shnum_; }

    // Section by index; index must be < section_count().
    [[nodiscard]] constexpr elf_section section(std::uint32_t index) const noexcept {
        const std::size_t o = shoff_ + elf_const::shdr_size * index;
        elf_section s;
        s.index = index;
        const std::uint32_t name_off = r_.u32(o);
        s.type = r_.u32(o + 4);
        s.flags = r_.u64(o + 8);
        s.addr = r_.u64(o + 16);
        s.offset = r_.u64(o + 24);
        s.size = r_.u64(o + 32);
        s.link = r_.u32(o + 40);
        s.info = r_.u32(o + 44);
        s.addralign = r_.u64(o + 48);
        s.entsize = r_.u64(o + 56);
        std::string_view n;
        if (c_string_at(shstr_, name_off, n)) s.name = n;
        return s;
    }

    [[nodiscard]] constexpr result<elf_section> section_checked(std::uint32_t index) const noexcept {
        if (index >= shnum_) return error(errc::out_of_range, "section index past the end").got(index).limit(shnum_);
        return section(index);
    }

    // Contents of a section (empty for NOBITS); bounds were checked at parse.
    [[nodiscard]] constexpr byte_span section_data(const elf_section& s) const noexcept {
        // Section 0 is never a range (its fields carry extended counts) and is not checked at parse.
        if (s.index == 0 || s.type == elf_const::sht_nobits || s.type == elf_const::sht_null) return {};
        return r_.data().subspan(static_cast<std::size_t>(s.offset), static_cast<std::size_t>(s.size));
    }

    // First section with this name.
    [[nodiscard]] constexpr result<elf_section> find_section(std::string_view name) const noexcept {
        for (std::uint32_t i = 0; i < shnum_; ++i) {
            const elf_section s = section(i);
            if (s.name == name) return s;
        }
        return error(errc::not_found, "no such section");
    }

    // A lazy range over all sections.
    class section_range {
    public:
        class iterator {
        public:
            using value_type = elf_section;
            using difference_type = std::ptrdiff_t;
            constexpr iterator() noexcept = default;
            constexpr iterator(const elf* e, std::uint32_t i) noexcept : e_(e), i_(i) {}
            constexpr elf_section operator*() const noexcept { return e_->section(i_); }
            constexpr iterator& operator++() noexcept { ++i_; return *this; }
            constexpr iterator operator++(int) noexcept { auto t = *this; ++i_; return t; }
            constexpr bool operator==(const iterator& o) const noexcept { return i_ == o.i_; }
        private:
            const elf* e_ = nullptr;
            std::uint32_t i_ = 0;
        };
        constexpr section_range() noexcept = default;
        constexpr explicit section_range(const elf* e) noexcept : e_(e) {}
        constexpr iterator begin() const noexcept { return {e_, 0}; }
        constexpr iterator end() const noexcept { return {e_, e_ ? e_->shnum_ : 0}; }
    private:
        const elf* e_ = nullptr;
    };
    [[nodiscard]] constexpr section_range sections() const noexcept { return section_range{this}; }

    // The symbol table (first SHT_SYMTAB), if any.
    class symbol_table {
    public:
        constexpr symbol_table() noexcept = default;
        constexpr symbol_table(byte_reader syms, byte_span strs) noexcept : syms_(syms), strs_(strs) {}
        [[nodiscard]] constexpr std::uint32_t size() const noexcept {
            return static_cast<std::uint32_t>(syms_.size() / elf_const::sym_size);
        }
        [[nodiscard]] constexpr elf_symbol operator[](std::uint32_t i) const noexcept {
            const std::size_t o = elf_const::sym_size * i;
            elf_symbol s;
            s.index = i;
            std::string_view n;
            if (c_string_at(strs_, syms_.u32(o), n)) s.name = n;
            s.info = syms_.u8(o + 4);
            s.other = syms_.u8(o + 5);
            s.shndx = syms_.u16(o + 6);
            s.value = syms_.u64(o + 8);
            s.size = syms_.u64(o + 16);
            return s;
        }
    private:
        byte_reader syms_{};
        byte_span strs_{};
    };
    [[nodiscard]] constexpr result<symbol_table> symbols() const noexcept {
        for (std::uint32_t i = 1; i < shnum_; ++i) {  // section 0 is never a table
            const elf_section s = section(i);
            if (s.type != elf_const::sht_symtab) continue;
            if (s.link >= shnum_) return error(errc::out_of_range, "symbol table links to a section past the end").in_section(".symtab").got(s.link).limit(shnum_);
            const elf_section str = section(s.link);
            return symbol_table{r_.sub(static_cast<std::size_t>(s.offset), static_cast<std::size_t>(s.size)), section_data(str)};
        }
        return symbol_table{};
    }

    // Entries of a REL or RELA section.
    [[nodiscard]] constexpr std::uint32_t rel_count(const elf_section& s) const noexcept {
        if (s.index == 0 || (s.type != elf_const::sht_rel && s.type != elf_const::sht_rela)) return 0;
        return static_cast<std::uint32_t>(s.size / (s.type == elf_const::sht_rela ? elf_const::rela_size : elf_const::rel_size));
    }
    [[nodiscard]] constexpr elf_rel rel(const elf_section& s, std::uint32_t i) const noexcept {
        const bool a = s.type == elf_const::sht_rela;
        const std::size_t o = static_cast<std::size_t>(s.offset) + (a ? elf_const::rela_size : elf_const::rel_size) * i;
        const std::uint64_t info = r_.u64(o + 8);
        return {r_.u64(o), static_cast<std::uint32_t>(info >> 32), static_cast<std::uint32_t>(info & 0xffffffffu),
                a ? static_cast<std::int64_t>(r_.u64(o + 16)) : 0};
    }

private:
    byte_reader r_{};
    std::size_t shoff_ = 0;
    std::uint32_t shnum_ = 0;
    std::uint16_t machine_ = 0;
    std::uint16_t type_ = 0;
    byte_span shstr_{};
};

constexpr result<elf> elf::parse(byte_span data) noexcept {
    using namespace elf_const;
    if (!is_elf(data)) return error(errc::bad_magic, "not an ELF file").at_offset(0);
    if (data.size() < ehdr_size) return error(errc::truncated, "ELF header does not fit").at_offset(0).got(data.size()).limit(ehdr_size);
    if (data[4] != 2) return error(errc::unsupported, "only ELF64 is supported").at_offset(4).got(static_cast<unsigned char>(data[4]));
    byte_order order;
    if (data[5] == 1) order = byte_order::little;
    else if (data[5] == 2) order = byte_order::big;
    else return error(errc::bad_header, "bad ELF data encoding").at_offset(5).got(static_cast<unsigned char>(data[5]));
    elf e;
    e.r_ = byte_reader{data, order};
    const byte_reader& r = e.r_;
    e.type_ = r.u16(16);
    e.machine_ = r.u16(18);
    const std::uint64_t shoff = r.u64(40);
    const std::uint16_t shentsize = r.u16(58);
    std::uint64_t shnum = r.u16(60);
    std::uint32_t shstrndx = r.u16(62);
    if (shoff == 0) return e;  // no section headers: nothing to view
    if (shentsize != shdr_size) return error(errc::bad_header, "unexpected section header size").at_offset(58).got(shentsize).limit(shdr_size);
    if (!r.fits(shoff, shdr_size)) return error(errc::truncated, "section header table past the end").at_offset(40).got(shoff).limit(data.size());
    if (shnum == 0) shnum = r.u64(shoff + 32);  // extended numbering: count in section 0's sh_size
    if (shstrndx == shn_xindex) shstrndx = r.u32(shoff + 40);
    if (shnum > (data.size() - shoff) / shdr_size) {
        return error(errc::truncated, "section header table past the end").at_offset(shoff).got(shnum).limit((data.size() - shoff) / shdr_size);
    }
    e.shoff_ = static_cast<std::size_t>(shoff);
    e.shnum_ = static_cast<std::uint32_t>(shnum);
    for (std::uint32_t i = 0; i < e.shnum_; ++i) {
        const std::size_t o = e.shoff_ + shdr_size * i;
        const std::uint32_t type = r.u32(o + 4);
        const std::uint64_t off = r.u64(o + 24), size = r.u64(o + 32);
        // Section 0's size and link carry the extended count and name-table index, not a range.
        if (i != 0 && type != sht_nobits && !r.fits(off, size)) {
            return error(errc::truncated, "section contents past the end of the file").at_index("section", i).at_offset(off).got(size).limit(data.size());
        }
        if ((type == sht_symtab && size % sym_size != 0) || (type == sht_rel && size % rel_size != 0) ||
            (type == sht_rela && size % rela_size != 0)) {
            return error(errc::bad_header, "table section size is not a multiple of its entry size").at_index("section", i).got(size);
        }
    }
    if (shstrndx != 0) {
        if (shstrndx >= e.shnum_) return error(errc::out_of_range, "section name table index past the end").at_offset(62).got(shstrndx).limit(e.shnum_);
        const std::size_t o = e.shoff_ + shdr_size * shstrndx;
        if (const std::uint32_t t = r.u32(o + 4); t != sht_nobits && t != sht_null) {
            e.shstr_ = data.subspan(static_cast<std::size_t>(r.u64(o + 24)), static_cast<std::size_t>(r.u64(o + 32)));
        }
    }
    return e;
}

}  // namespace btfkit
