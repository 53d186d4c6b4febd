// A view over a BPF ELF object: programs, instructions, .BTF and .BTF.ext (func/line info, CO-RE records).
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "btf.hpp"
#include "../core/relo_rules.hpp"
#include "../bytes.hpp"
#include "elf.hpp"
#include "../error.hpp"

namespace btfkit {

// BPF instruction fields and opcodes used by relocation.
namespace insn_const {
inline constexpr std::uint8_t cls_ld = 0x00, cls_ldx = 0x01, cls_st = 0x02, cls_stx = 0x03, cls_alu = 0x04,
                              cls_jmp = 0x05, cls_jmp32 = 0x06, cls_alu64 = 0x07;
inline constexpr std::uint8_t size_w = 0x00, size_h = 0x08, size_b = 0x10, size_dw = 0x18;
inline constexpr std::uint8_t mode_imm = 0x00, src_k = 0x00, src_x = 0x08;
inline constexpr std::uint8_t op_call = 0x80;
inline constexpr std::uint8_t ld_imm64 = cls_ld | mode_imm | size_dw;  // 0x18
inline constexpr std::int32_t poison_imm = 195896080;                   // 0xbad2310, libbpf's "bad relo"
inline constexpr std::size_t insn_size = 8;
}  // namespace insn_const

struct insn {
    std::uint8_t code = 0;
    std::uint8_t dst = 0;
    std::uint8_t src = 0;
    std::int16_t off = 0;
    std::int32_t imm = 0;

    [[nodiscard]] constexpr std::uint8_t cls() const noexcept { return code & 0x07; }
    [[nodiscard]] constexpr bool is_ldimm64() const noexcept { return code == insn_const::ld_imm64; }
    friend constexpr bool operator==(const insn&, const insn&) = default;
};

// Instruction encoding: the register byte's nibbles swap with byte order.
[[nodiscard]] constexpr insn decode_insn(const char* p, byte_order order) noexcept {
    const auto regs = static_cast<std::uint8_t>(p[1]);
    insn i;
    i.code = static_cast<std::uint8_t>(p[0]);
    i.dst = order == byte_order::little ? (regs & 0xf) : (regs >> 4);
    i.src = order == byte_order::little ? (regs >> 4) : (regs & 0xf);
    i.off = static_cast<std::int16_t>(detail::load<std::uint16_t>(p + 2, order));
    i.imm = static_cast<std::int32_t>(detail::load<std::uint32_t>(p + 4, order));
    return i;
}
constexpr void encode_insn(char* p, const insn& i, byte_order order) noexcept {
    p[0] = static_cast<char>(i.code);
    const std::uint8_t regs = order == byte_order::little ? static_cast<std::uint8_t>((i.src << 4) | (i.dst & 0xf))
                                                          : static_cast<std::uint8_t>((i.dst << 4) | (i.src & 0xf));
    p[1] = static_cast<char>(regs);
    detail::store<std::uint16_t>(p + 2, static_cast<std::uint16_t>(i.off), order);
    detail::store<std::uint32_t>(p + 4, static_cast<std::uint32_t>(i.imm), order);
}

// One CO-RE relocation record of .BTF.ext.
struct core_relo {
    std::uint32_t insn_off = 0;        // byte offset of the instruction in its section
    std::uint32_t type_id = 0;         // local root type
    std::uint32_t access_str_off = 0;  // in the object's .BTF strings
    relo_kind kind{};
};
struct func_info {
    std::uint32_t insn_off = 0;
    std::uint32_t type_id = 0;
};
struct line_info {
    std::uint32_t insn_off = 0;
    std::uint32_t file_name_off = 0;
    std::uint32_t line_off = 0;
    std::uint32_t line_col = 0;
};

// ELF section indices by name: a table sorted by name hash, so that resolving every .BTF.ext block's
// section stays linear in the object's size (a linear find per block would be quadratic).
class section_names {
public:
    constexpr section_names() noexcept = default;
    constexpr explicit section_names(const elf* file) : file_(file) {
        if (file == nullptr) return;
        for (std::uint32_t i = 1; i < file->section_count(); ++i) entries_.push_back({hash(file->section(i).name), i});
        std::sort(entries_.begin(), entries_.end());
    }
    // Index of the first section named `name`, 0 if none.
    [[nodiscard]] constexpr std::uint32_t find(std::string_view name) const noexcept {
        if (file_ == nullptr) return 0;
        const std::uint32_t h = hash(name);
        auto it = std::lower_bound(entries_.begin(), entries_.end(), std::pair<std::uint32_t, std::uint32_t>{h, 0});
        for (; it != entries_.end() && it->first == h; ++it) {
            if (file_->section(it->second).name == name) return it->second;
        }
        return 0;
    }

private:
    [[nodiscard]] static constexpr std::uint32_t hash(std::string_view s) noexcept {
        std::uint32_t h = 2166136261u;
        for (const char c : s) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
        return h;
    }
    const elf* file_ = nullptr;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> entries_{};  // (name hash, index), sorted
};

// One ELF section's block of .BTF.ext records of type R.
template <class R>
class ext_section {
public:
    constexpr ext_section() noexcept = default;
    constexpr ext_section(byte_reader r, std::size_t first, std::uint32_t count, std::uint32_t rec_size,
                          std::uint32_t name_off, std::string_view name, std::uint32_t elf_index) noexcept
        : r_(r), first_(first), count_(count), rec_size_(rec_size), name_off_(name_off), name_(name), elf_index_(elf_index) {}

    [[nodiscard]] constexpr std::string_view section_name() const noexcept { return name_; }
    [[nodiscard]] constexpr std::uint32_t section_name_off() const noexcept { return name_off_; }
    [[nodiscard]] constexpr std::uint32_t elf_index() const noexcept { return elf_index_; }  // 0 if no such section
    [[nodiscard]] constexpr std::uint32_t size() const noexcept { return count_; }
    [[nodiscard]] constexpr std::size_t record_offset(std::uint32_t i) const noexcept { return first_ + std::size_t{rec_size_} * i; }
    [[nodiscard]] constexpr R operator[](std::uint32_t i) const noexcept {
        const std::size_t o = record_offset(i);
        if constexpr (std::is_same_v<R, core_relo>) {
            return {r_.u32(o), r_.u32(o + 4), r_.u32(o + 8), static_cast<relo_kind>(r_.u32(o + 12))};
        } else if constexpr (std::is_same_v<R, func_info>) {
            return {r_.u32(o), r_.u32(o + 4)};
        } else {
            return {r_.u32(o), r_.u32(o + 4), r_.u32(o + 8), r_.u32(o + 12)};
        }
    }

private:
    byte_reader r_{};
    std::size_t first_ = 0;
    std::uint32_t count_ = 0;
    std::uint32_t rec_size_ = 0;
    std::uint32_t name_off_ = 0;
    std::string_view name_{};
    std::uint32_t elf_index_ = 0;
};

// All blocks of one .BTF.ext subsection (func_info, line_info or core_relo), as a lazy range.
template <class R>
class ext_info {
public:
    class iterator {
    public:
        using value_type = ext_section<R>;
        using difference_type = std::ptrdiff_t;
        constexpr iterator() noexcept = default;
        constexpr iterator(const ext_info* e, std::size_t off) noexcept : e_(e), off_(off) {}
        constexpr ext_section<R> operator*() const noexcept { return e_->block_at(off_); }
        constexpr iterator& operator++() noexcept { off_ += e_->block_size(off_); return *this; }
        constexpr iterator operator++(int) noexcept { auto t = *this; ++*this; return t; }
        constexpr bool operator==(const iterator& o) const noexcept { return off_ == o.off_; }
    private:
        const ext_info* e_ = nullptr;
        std::size_t off_ = 0;
    };

    constexpr ext_info() noexcept = default;
    constexpr ext_info(byte_reader r, std::size_t begin, std::size_t end, std::uint32_t rec_size, const btf* strings,
                       const section_names* names) noexcept
        : r_(r), begin_(begin), end_(end), rec_size_(rec_size), btf_(strings), names_(names) {}

    [[nodiscard]] constexpr iterator begin() const noexcept { return {this, begin_}; }
    [[nodiscard]] constexpr iterator end() const noexcept { return {this, end_}; }
    [[nodiscard]] constexpr bool empty() const noexcept { return begin_ == end_; }
    [[nodiscard]] constexpr std::uint32_t record_size() const noexcept { return rec_size_; }

    [[nodiscard]] constexpr std::size_t block_size(std::size_t off) const noexcept { return 8 + std::size_t{r_.u32(off + 4)} * rec_size_; }
    [[nodiscard]] constexpr ext_section<R> block_at(std::size_t off) const noexcept {
        const std::uint32_t name_off = r_.u32(off);
        const std::string_view name = btf_->string(name_off);
        const std::uint32_t idx = names_ != nullptr ? names_->find(name) : 0;
        return {r_, off + 8, r_.u32(off + 4), rec_size_, name_off, name, idx};
    }

private:
    byte_reader r_{};
    std::size_t begin_ = 0, end_ = 0;  // 8 bytes after the record-size word, to the subsection's end
    std::uint32_t rec_size_ = 0;
    const btf* btf_ = nullptr;
    const section_names* names_ = nullptr;
};

// A BPF program: a FUNC symbol inside an executable section.
struct program {
    std::string_view name{};
    std::string_view section_name{};
    std::uint32_t section_index = 0;
    std::uint32_t first_insn = 0;  // index within the section
    std::uint32_t insn_count = 0;
    bool is_subprog = false;  // lives in .text
};

// The .BTF.ext header and its three subsections, validated against the object's .BTF.
class btf_ext {
public:
    constexpr btf_ext() noexcept = default;

    // `strings` is the object's .BTF; `file` (optional) maps section names to ELF indices.
    // `names` (optional) resolves block section names to ELF section indices; it must outlive the view.
    [[nodiscard]] static constexpr result<btf_ext> parse(byte_span data, const btf& strings, const section_names* names = nullptr) noexcept;

    [[nodiscard]] constexpr const ext_info<func_info>& func_infos() const noexcept { return func_; }
    [[nodiscard]] constexpr const ext_info<line_info>& line_infos() const noexcept { return line_; }
    [[nodiscard]] constexpr const ext_info<core_relo>& core_relos() const noexcept { return core_; }
    [[nodiscard]] constexpr std::uint32_t core_relo_count() const noexcept { return core_count_; }

private:
    ext_info<func_info> func_{};
    ext_info<line_info> line_{};
    ext_info<core_relo> core_{};
    std::uint32_t core_count_ = 0;
};

namespace detail {

// Checks one subsection and returns its view; records must fit and names resolve.
template <class R>
constexpr result<ext_info<R>> parse_ext_info(const byte_reader& r, std::size_t off, std::size_t len, std::uint32_t min_rec,
                                             const char* what, const btf& strings, const section_names* file,
                                             std::uint32_t* total) noexcept {
    if (len == 0) return ext_info<R>{r, off, off, min_rec, &strings, file};
    if (len < 4) return error(errc::truncated, "subsection too short for its record size").in_section(what).at_offset(off).got(len);
    const std::uint32_t rec = r.u32(off);
    if (rec < min_rec || rec % 4 != 0) return error(errc::bad_header, "bad record size").in_section(what).at_offset(off).got(rec).limit(min_rec);
    const std::size_t end = off + len;
    std::size_t p = off + 4;
    if (p == end) return error(errc::bad_header, "subsection has no blocks").in_section(what).at_offset(off);
    for (std::uint32_t block = 0; p < end; ++block) {
        if (end - p < 8) return error(errc::truncated, "block header does not fit").in_section(what).at_offset(p).at_index("block", block);
        const std::uint32_t name_off = r.u32(p);
        const std::uint32_t n = r.u32(p + 4);
        std::string_view name;
        if (!strings.string_at(name_off, name) || name.empty()) {
            return error(errc::bad_string, "block section name is not a valid .BTF string").in_section(what).at_offset(p).at_index("block", block).got(name_off);
        }
        if (n == 0) return error(errc::bad_header, "block has no records").in_section(what).at_offset(p).at_index("block", block);
        if (std::uint64_t{n} * rec > end - p - 8) {
            return error(errc::truncated, "block records past the end of the subsection").in_section(what).at_offset(p).at_index("block", block).got(std::uint64_t{n} * rec).limit(end - p - 8);
        }
        if constexpr (std::is_same_v<R, core_relo>) {
            for (std::uint32_t i = 0; i < n; ++i) {
                const std::size_t ro = p + 8 + std::size_t{rec} * i;
                std::string_view acc;
                if (r.u32(ro) % insn_const::insn_size != 0) return error(errc::bad_header, "relocation instruction offset not a multiple of 8").in_section(what).at_offset(ro).at_index("relocation", i).got(r.u32(ro));
                if (!strings.valid_id(r.u32(ro + 4))) return error(errc::bad_type_id, "relocation type id past the end").in_section(what).at_offset(ro).at_index("relocation", i).got(r.u32(ro + 4)).limit(strings.type_count());
                if (!strings.string_at(r.u32(ro + 8), acc)) return error(errc::bad_string, "relocation access string outside the string table").in_section(what).at_offset(ro).at_index("relocation", i).got(r.u32(ro + 8));
            }
        }
        if (total) *total += n;
        p += 8 + std::size_t{n} * rec;
    }
    return ext_info<R>{r, off + 4, end, rec, &strings, file};
}

}  // namespace detail

constexpr result<btf_ext> btf_ext::parse(byte_span data, const btf& strings, const section_names* file) noexcept {
    if (data.size() < 8) return error(errc::truncated, ".BTF.ext header does not fit").in_section(".BTF.ext").got(data.size()).limit(8);
    byte_order order;
    if (detail::load<std::uint16_t>(data.data(), byte_order::little) == btf_magic) order = byte_order::little;
    else if (detail::load<std::uint16_t>(data.data(), byte_order::big) == btf_magic) order = byte_order::big;
    else return error(errc::bad_magic, "bad .BTF.ext magic").in_section(".BTF.ext").at_offset(0);
    const byte_reader r{data, order};
    if (r.u8(2) != 1) return error(errc::unsupported, "unsupported .BTF.ext version").in_section(".BTF.ext").at_offset(2).got(r.u8(2));
    const std::uint32_t hdr_len = r.u32(4);
    if (hdr_len < 24 || hdr_len > data.size()) return error(errc::bad_header, "bad .BTF.ext header length").in_section(".BTF.ext").at_offset(4).got(hdr_len).limit(data.size());
    btf_ext x;
    struct sub { std::uint32_t off, len; };
    auto get = [&](std::size_t at) -> result<sub> {
        const std::uint64_t o = r.u32(at), l = r.u32(at + 4);
        if (hdr_len + o + l > data.size()) {
            return error(errc::truncated, "subsection past the end").in_section(".BTF.ext").at_offset(at).got(hdr_len + o + l).limit(data.size());
        }
        if (o % 4 != 0) return error(errc::bad_header, "subsection not 4-byte aligned").in_section(".BTF.ext").at_offset(at).got(o);
        return sub{static_cast<std::uint32_t>(hdr_len + o), static_cast<std::uint32_t>(l)};
    };
    auto fi = get(8);
    if (!fi) return fi.error();
    auto li = get(16);
    if (!li) return li.error();
    auto f = detail::parse_ext_info<func_info>(r, fi->off, fi->len, 8, ".BTF.ext func_info", strings, file, nullptr);
    if (!f) return f.error();
    auto l = detail::parse_ext_info<line_info>(r, li->off, li->len, 16, ".BTF.ext line_info", strings, file, nullptr);
    if (!l) return l.error();
    x.func_ = *f;
    x.line_ = *l;
    if (hdr_len >= 32) {
        auto ci = get(24);
        if (!ci) return ci.error();
        auto c = detail::parse_ext_info<core_relo>(r, ci->off, ci->len, 16, ".BTF.ext core_relo", strings, file, &x.core_count_);
        if (!c) return c.error();
        x.core_ = *c;
    } else {
        x.core_ = ext_info<core_relo>{r, 0, 0, 16, &strings, file};
    }
    return x;
}

// An object's .BTF and .BTF.ext as a loader holds them, parsed from their raw bytes alone (no ELF),
// with the checks and errors of bpf_object::parse. Views into the bytes, which must outlive it.
class object_btf {
public:
    constexpr object_btf() noexcept = default;
    object_btf(const object_btf&) = delete;  // the .BTF.ext view points into this object
    object_btf& operator=(const object_btf&) = delete;
    constexpr object_btf(object_btf&& o) { *this = std::move(o); }
    constexpr object_btf& operator=(object_btf&& o) {
        btf_ = std::move(o.btf_);
        has_btf_ = o.has_btf_;
        ext_data_ = o.ext_data_;
        rebind(o.names_);
        return *this;
    }

    // Either may be absent (nullopt), but not .BTF alone; `names` (optional, outliving this object)
    // gives the .BTF.ext blocks their ELF section indices.
    [[nodiscard]] static constexpr result<object_btf> parse(std::optional<byte_span> btf_bytes, std::optional<byte_span> ext_bytes,
                                                           const section_names* names = nullptr) {
        object_btf o;
        BTFKIT_TRY(o.assign(btf_bytes, ext_bytes, names));
        return o;
    }
    // The same into this object, whose id table keeps its memory (btf::assign). On an error this
    // object is left without .BTF and .BTF.ext.
    constexpr status assign(std::optional<byte_span> btf_bytes, std::optional<byte_span> ext_bytes, const section_names* names = nullptr) {
        has_btf_ = false;
        ext_data_ = {};
        ext_ = {};
        names_ = names;
        if (btf_bytes) {
            if (const status st = btf_.assign(*btf_bytes); !st) return st.error().in_section(".BTF");
            has_btf_ = true;
        }
        if (!ext_bytes) return {};
        if (!has_btf_) return error(errc::not_found, ".BTF.ext without .BTF").in_section(".BTF.ext");
        auto x = btf_ext::parse(*ext_bytes, btf_, names);
        if (!x) return x.error();
        ext_data_ = *ext_bytes;
        ext_ = *x;
        return {};
    }
    // Points the .BTF.ext view at another section-name table (the owner of this object moved).
    constexpr void rebind(const section_names* names) {
        names_ = names;
        ext_ = {};
        if (!ext_data_.empty()) {
            if (auto x = btf_ext::parse(ext_data_, btf_, names_)) ext_ = *x;
        }
    }

    [[nodiscard]] constexpr bool has_btf() const noexcept { return has_btf_; }
    [[nodiscard]] constexpr const btfkit::btf& btf() const noexcept { return btf_; }
    [[nodiscard]] constexpr bool has_ext() const noexcept { return !ext_data_.empty(); }
    [[nodiscard]] constexpr const btfkit::btf_ext& ext() const noexcept { return ext_; }
    // The byte order of the instructions too: clang writes .BTF in the object's.
    [[nodiscard]] constexpr byte_order order() const noexcept { return btf_.order(); }

private:
    btfkit::btf btf_{};
    bool has_btf_ = false;
    byte_span ext_data_{};
    const section_names* names_ = nullptr;
    btfkit::btf_ext ext_{};
};

// The BTF inside a file: the file itself if it is raw BTF, else the `.BTF` section of an ELF file
// (vmlinux image, kernel module, BPF object).
[[nodiscard]] constexpr result<byte_span> find_btf(byte_span file) noexcept {
    if (file.size() >= 2 && (detail::load<std::uint16_t>(file.data(), byte_order::little) == btf_magic ||
                             detail::load<std::uint16_t>(file.data(), byte_order::big) == btf_magic)) {
        return file;
    }
    if (!elf::is_elf(file)) return error(errc::bad_magic, "neither raw BTF nor ELF").at_offset(0);
    auto e = elf::parse(file);
    if (!e) return e.error();
    auto s = e->find_section(".BTF");
    if (!s) return error(errc::not_found, "ELF file has no .BTF section");
    return e->section_data(*s);
}

// A BPF ELF object: the ELF view, its .BTF (owned table) and .BTF.ext.
class bpf_object {
public:
    bpf_object() = default;
    bpf_object(const bpf_object&) = delete;  // btf_ext and views point into this object
    bpf_object& operator=(const bpf_object&) = delete;
    // Not noexcept: re-binding the .BTF.ext view rebuilds the section-name table (an allocation).
    constexpr bpf_object(bpf_object&& o) { *this = std::move(o); }
    constexpr bpf_object& operator=(bpf_object&& o) {
        elf_ = o.elf_;
        local_ = std::move(o.local_);
        names_ = section_names(&elf_);
        local_.rebind(&names_);
        return *this;
    }

    [[nodiscard]] static constexpr result<bpf_object> parse(byte_span data);

    [[nodiscard]] constexpr const elf& file() const noexcept { return elf_; }
    [[nodiscard]] constexpr bool has_btf() const noexcept { return local_.has_btf(); }
    [[nodiscard]] constexpr const btfkit::btf& btf() const noexcept { return local_.btf(); }
    [[nodiscard]] constexpr const btfkit::btf_ext& ext() const noexcept { return local_.ext(); }
    [[nodiscard]] constexpr bool has_ext() const noexcept { return local_.has_ext(); }
    // Its .BTF and .BTF.ext, as relocate_section takes them.
    [[nodiscard]] constexpr const object_btf& local() const noexcept { return local_; }

    // Instruction `index` of ELF section `section`; caller checks index < insn_count(section).
    [[nodiscard]] constexpr std::uint32_t insn_count(const elf_section& s) const noexcept {
        return static_cast<std::uint32_t>(s.size / insn_const::insn_size);
    }
    [[nodiscard]] constexpr insn instruction(const elf_section& s, std::uint32_t index) const noexcept {
        return decode_insn(elf_.data().data() + s.offset + std::size_t{index} * insn_const::insn_size, elf_.order());
    }

    // Programs in ELF symbol order, as libbpf discovers them (FUNC symbols in executable sections).
    template <class F>
    constexpr status for_each_program(F&& f) const {
        auto syms = elf_.symbols();
        if (!syms) return syms.error();
        for (std::uint32_t i = 0; i < syms->size(); ++i) {
            const elf_symbol s = (*syms)[i];
            if (s.type() != elf_const::stt_func || s.shndx == elf_const::shn_undef || s.shndx >= elf_const::shn_loreserve) continue;
            if (s.shndx >= elf_.section_count()) return error(errc::out_of_range, "symbol refers to a section past the end").in_section(".symtab").at_index("symbol", i).got(s.shndx);
            const elf_section sec = elf_.section(s.shndx);
            if (sec.type != elf_const::sht_progbits || (sec.flags & elf_const::shf_execinstr) == 0) continue;
            if (s.value % insn_const::insn_size != 0 || s.size % insn_const::insn_size != 0 || s.value > sec.size || s.size > sec.size - s.value) {
                return error(errc::out_of_range, "program symbol outside its section").in_section(".symtab").at_index("symbol", i).got(s.value).limit(sec.size);
            }
            program p{s.name, sec.name, s.shndx, static_cast<std::uint32_t>(s.value / 8), static_cast<std::uint32_t>(s.size / 8), sec.name == ".text"};
            f(p);
        }
        return {};
    }

private:
    elf elf_{};
    section_names names_{};
    object_btf local_{};
};

constexpr result<bpf_object> bpf_object::parse(byte_span data) {
    auto e = elf::parse(data);
    if (!e) return e.error();
    bpf_object o;
    o.elf_ = *e;
    std::optional<byte_span> btf_bytes, ext_bytes;
    if (auto s = o.elf_.find_section(".BTF")) btf_bytes = o.elf_.section_data(*s);
    if (auto s = o.elf_.find_section(".BTF.ext")) {
        ext_bytes = o.elf_.section_data(*s);
        o.names_ = section_names(&o.elf_);
    }
    BTFKIT_TRY(o.local_.assign(btf_bytes, ext_bytes, &o.names_));
    return o;
}

}  // namespace btfkit
