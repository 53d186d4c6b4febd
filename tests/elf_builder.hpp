// Builds ELF64 files and .BTF.ext blobs in either byte order, for tests and fuzz seeds: sections with
// any contents, a symbol table, REL sections, and header patches for making broken files on purpose.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "btfkit/format/bpf_object.hpp"
#include "btfkit/bytes.hpp"
#include "btfkit/format/elf.hpp"

namespace btfkit::testing {

// Stores `v` at `off` in `out` (growing it if needed), in `order`.
template <class T>
void put(std::vector<char>& out, std::size_t off, T v, byte_order order) {
    if (out.size() < off + sizeof(T)) out.resize(off + sizeof(T));
    detail::store<T>(out.data() + off, v, order);
}

struct symbol_spec {
    std::string_view name;
    std::uint8_t type = elf_const::stt_func;
    std::uint8_t bind = elf_const::stb_global;
    std::uint16_t shndx = 0;
    std::uint64_t value = 0;
    std::uint64_t size = 0;
};

// Fields that replace what the layout computed; for files that are broken on purpose.
struct section_patch {
    std::optional<std::uint32_t> name, type, link, info;
    std::optional<std::uint64_t> flags, offset, size, addralign, entsize;
};
struct elf_header_patch {
    std::optional<std::uint64_t> shoff;
    std::optional<std::uint16_t> shentsize, shnum, shstrndx;
};

class elf_builder {
public:
    // As a section's link: the index of the symbol table, which is laid out after all added sections.
    static constexpr std::uint32_t link_symtab = 0xffffffffu;

    explicit elf_builder(byte_order order = byte_order::little, std::uint16_t machine = elf_const::em_bpf,
                         std::uint16_t file_type = 1 /* ET_REL */)
        : order_(order), machine_(machine), file_type_(file_type) {}

    [[nodiscard]] byte_order order() const noexcept { return order_; }

    // Appends a section and returns its index (0 is the NULL section).
    std::uint32_t add_section(std::string_view name, std::uint32_t type, std::uint64_t flags, byte_span contents,
                              std::uint32_t link = 0, std::uint32_t info = 0, std::uint64_t align = 8,
                              std::uint64_t entsize = 0) {
        sections_.push_back({std::string(name), type, flags, std::vector<char>(contents.begin(), contents.end()), link, info,
                             align == 0 ? 1 : align, entsize, {}});
        return static_cast<std::uint32_t>(sections_.size());
    }
    std::uint32_t add_section(std::string_view name, std::uint32_t type, std::uint64_t flags, std::string_view contents,
                              std::uint32_t link = 0, std::uint32_t info = 0, std::uint64_t align = 8,
                              std::uint64_t entsize = 0) {
        return add_section(name, type, flags, byte_span{contents.data(), contents.size()}, link, info, align, entsize);
    }
    std::uint32_t add_progbits(std::string_view name, byte_span contents, std::uint64_t flags = 0) {
        return add_section(name, elf_const::sht_progbits, flags, contents, 0, 0, 4);
    }
    // An executable section holding `insns`, encoded in this file's byte order.
    std::uint32_t add_program_section(std::string_view name, std::span<const insn> insns) {
        std::vector<char> code(insns.size() * insn_const::insn_size);
        for (std::size_t i = 0; i < insns.size(); ++i) encode_insn(code.data() + i * insn_const::insn_size, insns[i], order_);
        return add_section(name, elf_const::sht_progbits, elf_const::shf_alloc | elf_const::shf_execinstr,
                           byte_span{code.data(), code.size()}, 0, 0, 8);
    }
    // A REL section for `target` against the symbol table.
    std::uint32_t add_rel_section(std::string_view name, std::uint32_t target, std::initializer_list<elf_rel> rels) {
        std::vector<char> data;
        std::size_t off = 0;
        for (const elf_rel& r : rels) {
            put<std::uint64_t>(data, off, r.offset, order_);
            put<std::uint64_t>(data, off + 8, (std::uint64_t{r.sym} << 32) | r.type, order_);
            off += elf_const::rel_size;
        }
        return add_section(name, elf_const::sht_rel, 0, byte_span{data.data(), data.size()}, link_symtab, target, 8,
                           elf_const::rel_size);
    }

    // Appends a symbol; returns its index in .symtab (0 is the null symbol).
    std::uint32_t add_symbol(const symbol_spec& s) {
        symbols_.push_back({std::string(s.name), s.type, s.bind, s.shndx, s.value, s.size});
        return static_cast<std::uint32_t>(symbols_.size());
    }
    // A global FUNC symbol: a BPF program when `shndx` is executable.
    std::uint32_t add_func(std::string_view name, std::uint16_t shndx, std::uint64_t value, std::uint64_t size) {
        return add_symbol({name, elf_const::stt_func, elf_const::stb_global, shndx, value, size});
    }

    // Index .symtab will get (the section after .strtab, both after every added section).
    [[nodiscard]] std::uint32_t symtab_index() const noexcept { return static_cast<std::uint32_t>(sections_.size()) + 2; }
    [[nodiscard]] std::uint32_t section_count() const noexcept {
        return static_cast<std::uint32_t>(sections_.size()) + (symbols_.empty() ? 2 : 4);
    }

    section_patch& patch(std::uint32_t index) { return sections_.at(index - 1).patch; }
    elf_header_patch& patch_header() noexcept { return header_patch_; }

    [[nodiscard]] std::vector<char> build() const {
        std::vector<section> all = sections_;
        std::uint32_t symtab = 0;
        if (!symbols_.empty()) {
            std::vector<char> strtab(1, '\0'), symtab_data(elf_const::sym_size, '\0');
            std::uint32_t first_global = 0;
            for (std::size_t i = 0; i < symbols_.size(); ++i) {
                const symbol& s = symbols_[i];
                const std::size_t o = symtab_data.size();
                put<std::uint32_t>(symtab_data, o, static_cast<std::uint32_t>(strtab.size()), order_);
                strtab.insert(strtab.end(), s.name.begin(), s.name.end());
                strtab.push_back('\0');
                put<std::uint8_t>(symtab_data, o + 4, static_cast<std::uint8_t>((s.bind << 4) | (s.type & 0xf)), order_);
                put<std::uint8_t>(symtab_data, o + 5, 0, order_);
                put<std::uint16_t>(symtab_data, o + 6, s.shndx, order_);
                put<std::uint64_t>(symtab_data, o + 8, s.value, order_);
                put<std::uint64_t>(symtab_data, o + 16, s.size, order_);
                if (first_global == 0 && s.bind != elf_const::stb_local) first_global = static_cast<std::uint32_t>(i + 1);
            }
            const auto strtab_index = static_cast<std::uint32_t>(all.size() + 1);
            all.push_back({".strtab", elf_const::sht_strtab, 0, strtab, 0, 0, 1, 0, {}});
            symtab = static_cast<std::uint32_t>(all.size() + 1);
            all.push_back({".symtab", elf_const::sht_symtab, 0, symtab_data, strtab_index,
                           first_global == 0 ? static_cast<std::uint32_t>(symbols_.size() + 1) : first_global, 8,
                           elf_const::sym_size, {}});
        }
        // .shstrtab: names of every section, itself included.
        std::vector<char> shstrtab(1, '\0');
        std::vector<std::uint32_t> name_offs;
        for (const section& s : all) {
            name_offs.push_back(static_cast<std::uint32_t>(shstrtab.size()));
            shstrtab.insert(shstrtab.end(), s.name.begin(), s.name.end());
            shstrtab.push_back('\0');
        }
        name_offs.push_back(static_cast<std::uint32_t>(shstrtab.size()));
        const std::string_view shstr_name = ".shstrtab";
        shstrtab.insert(shstrtab.end(), shstr_name.begin(), shstr_name.end());
        shstrtab.push_back('\0');
        const auto shstrndx = static_cast<std::uint32_t>(all.size() + 1);
        all.push_back({std::string(shstr_name), elf_const::sht_strtab, 0, shstrtab, 0, 0, 1, 0, {}});

        std::vector<char> out(elf_const::ehdr_size, '\0');
        std::vector<std::uint64_t> offsets;
        for (const section& s : all) {
            out.resize(align_up(out.size(), s.align), '\0');
            offsets.push_back(out.size());
            if (s.type != elf_const::sht_nobits) out.insert(out.end(), s.data.begin(), s.data.end());
        }
        out.resize(align_up(out.size(), 8), '\0');
        const std::uint64_t shoff = out.size();
        out.resize(out.size() + elf_const::shdr_size * (all.size() + 1), '\0');
        for (std::size_t i = 0; i < all.size(); ++i) {
            const section& s = all[i];
            const section_patch& p = s.patch;
            const std::size_t h = shoff + elf_const::shdr_size * (i + 1);
            const std::uint32_t link = s.link == link_symtab ? symtab : s.link;
            put<std::uint32_t>(out, h, p.name.value_or(name_offs[i]), order_);
            put<std::uint32_t>(out, h + 4, p.type.value_or(s.type), order_);
            put<std::uint64_t>(out, h + 8, p.flags.value_or(s.flags), order_);
            put<std::uint64_t>(out, h + 24, p.offset.value_or(offsets[i]), order_);
            put<std::uint64_t>(out, h + 32, p.size.value_or(s.data.size()), order_);
            put<std::uint32_t>(out, h + 40, p.link.value_or(link), order_);
            put<std::uint32_t>(out, h + 44, p.info.value_or(s.info), order_);
            put<std::uint64_t>(out, h + 48, p.addralign.value_or(s.align), order_);
            put<std::uint64_t>(out, h + 56, p.entsize.value_or(s.entsize), order_);
        }
        // ELF header.
        const char ident[16] = {0x7f, 'E', 'L', 'F', 2, order_ == byte_order::little ? char{1} : char{2}, 1, 0};
        for (std::size_t i = 0; i < 16; ++i) out[i] = ident[i];
        put<std::uint16_t>(out, 16, file_type_, order_);
        put<std::uint16_t>(out, 18, machine_, order_);
        put<std::uint32_t>(out, 20, 1, order_);
        put<std::uint64_t>(out, 40, header_patch_.shoff.value_or(shoff), order_);
        put<std::uint16_t>(out, 52, static_cast<std::uint16_t>(elf_const::ehdr_size), order_);
        put<std::uint16_t>(out, 58, header_patch_.shentsize.value_or(static_cast<std::uint16_t>(elf_const::shdr_size)), order_);
        put<std::uint16_t>(out, 60, header_patch_.shnum.value_or(static_cast<std::uint16_t>(all.size() + 1)), order_);
        put<std::uint16_t>(out, 62, header_patch_.shstrndx.value_or(static_cast<std::uint16_t>(shstrndx)), order_);
        return out;
    }

private:
    struct section {
        std::string name;
        std::uint32_t type;
        std::uint64_t flags;
        std::vector<char> data;
        std::uint32_t link, info;
        std::uint64_t align, entsize;
        section_patch patch;
    };
    struct symbol {
        std::string name;
        std::uint8_t type, bind;
        std::uint16_t shndx;
        std::uint64_t value, size;
    };
    static std::size_t align_up(std::size_t v, std::uint64_t a) {
        return static_cast<std::size_t>((v + a - 1) / a * a);
    }

    byte_order order_;
    std::uint16_t machine_, file_type_;
    std::vector<section> sections_;
    std::vector<symbol> symbols_;
    elf_header_patch header_patch_;
};

// A .BTF.ext blob: func_info, line_info and CO-RE relocation blocks, one per ELF section name offset.
class btf_ext_builder {
public:
    explicit btf_ext_builder(byte_order order = byte_order::little) : order_(order) {}

    void add_func_info(std::uint32_t sec_name_off, std::initializer_list<func_info> recs) {
        block& b = start(func_, sec_name_off);
        for (const func_info& r : recs) words(b, {r.insn_off, r.type_id});
    }
    void add_line_info(std::uint32_t sec_name_off, std::initializer_list<line_info> recs) {
        block& b = start(line_, sec_name_off);
        for (const line_info& r : recs) words(b, {r.insn_off, r.file_name_off, r.line_off, r.line_col});
    }
    void add_core_relo(std::uint32_t sec_name_off, std::initializer_list<core_relo> recs) {
        block& b = start(core_, sec_name_off);
        for (const core_relo& r : recs) words(b, {r.insn_off, r.type_id, r.access_str_off, static_cast<std::uint32_t>(r.kind)});
    }

    // `hdr_len` 24 leaves out the core_relo subsection, as in objects from before CO-RE.
    [[nodiscard]] std::vector<char> build(std::uint32_t hdr_len = 32) const {
        std::vector<char> out(hdr_len, '\0');
        put<std::uint16_t>(out, 0, btf_magic, order_);
        out[2] = 1;
        put<std::uint32_t>(out, 4, hdr_len, order_);
        const subsection* subs[] = {&func_, &line_, &core_};
        const std::uint32_t rec_sizes[] = {8, 16, 16};
        for (std::size_t i = 0; i < 3; ++i) {
            if (8 + 8 * i + 8 > hdr_len) break;
            const auto off = static_cast<std::uint32_t>(out.size() - hdr_len);
            std::size_t len = 0;
            if (!subs[i]->empty()) {
                put<std::uint32_t>(out, out.size(), rec_sizes[i], order_);
                for (const block& b : *subs[i]) {
                    put<std::uint32_t>(out, out.size(), b.name_off, order_);
                    put<std::uint32_t>(out, out.size(), static_cast<std::uint32_t>(b.words.size() * 4 / rec_sizes[i]), order_);
                    for (std::uint32_t w : b.words) put<std::uint32_t>(out, out.size(), w, order_);
                }
                len = out.size() - hdr_len - off;
            }
            put<std::uint32_t>(out, 8 + 8 * i, off, order_);
            put<std::uint32_t>(out, 12 + 8 * i, static_cast<std::uint32_t>(len), order_);
        }
        return out;
    }

private:
    struct block {
        std::uint32_t name_off;
        std::vector<std::uint32_t> words;
    };
    using subsection = std::vector<block>;
    static block& start(subsection& s, std::uint32_t name_off) {
        s.push_back({name_off, {}});
        return s.back();
    }
    static void words(block& b, std::initializer_list<std::uint32_t> ws) { b.words.insert(b.words.end(), ws); }

    byte_order order_;
    subsection func_, line_, core_;
};

}  // namespace btfkit::testing
