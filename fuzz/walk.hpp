// Drives every accessor of a parsed BTF / ELF / BPF object and checks the views stay inside the input;
// shared by the libFuzzer targets and tests/test_regression.cpp so both exercise the same paths.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "btfkit/format/bpf_object.hpp"
#include "btfkit/format/btf.hpp"
#include "btfkit/format/elf.hpp"
#include "btfkit/error.hpp"

namespace btfkit::testing {

// "Every error message names the place": a section, an offset, a type id or a record index.
inline bool names_place(const error& e) {
    const std::string m = e.message();
    for (std::string_view w : {"offset", "type #", "section", "member", "param", "enumerator", "var ", "block",
                               "relocation", "symbol"}) {
        if (m.find(w) != std::string::npos) return true;
    }
    return false;
}

// Errors known to name no place, exempt until fixed (fuzz/README.md, "Findings"). F2's were fixed in
// b207ec9; the list is empty.
inline constexpr std::string_view known_placeless[] = {""};
inline bool place_ok(const error& e) {
    for (std::string_view w : known_placeless) {
        if (!w.empty() && w == e.what) return true;
    }
    return names_place(e);
}

// For fuzz targets: a broken invariant is a finding, so stop with a message libFuzzer records.
struct abort_on_violation {
    [[noreturn]] void operator()(const char* what) const {
        std::fprintf(stderr, "btfkit invariant violated: %s\n", what);
        std::abort();
    }
};

// Walks everything a successful parse hands out. `Fail` (any callable taking a const char*) receives
// each broken invariant, e.g. a view outside the input or an invalid id; fuzz targets abort, tests record.
template <class Fail>
class walker {
public:
    // Every view handed out must lie inside one of `inputs` (the fuzzed bytes, a base BTF's blob, ...).
    walker(Fail fail, std::initializer_list<byte_span> inputs) : fail_(std::move(fail)) {
        for (const byte_span s : inputs) {
            if (n_ranges_ < std::size(ranges_)) ranges_[n_ranges_++] = s;
        }
    }

    // Folds every byte the walk read, so the optimiser cannot drop the reads.
    [[nodiscard]] std::uint64_t sink() const noexcept { return sink_; }
    void keep() const noexcept { asm volatile("" : : "r"(sink_)); }

    // Reports a broken invariant found by a driver.
    void violation(const char* what) { fail_(what); }

    // Keeps every error seen, for callers that inspect the messages (the regression test).
    void collect_errors(std::vector<error>* into) noexcept { errors_ = into; }

    // A failed parse must still explain itself with a code and a non-empty message.
    void check_error(const error& e) {
        if (e.code == errc::ok) fail_("error value with errc::ok");
        if (e.what == nullptr || *e.what == '\0') fail_("error without a description");
        if (e.message().empty()) fail_("empty error message");
        if (!place_ok(e)) fail_("error message names no place");
        if (errors_ != nullptr) errors_->push_back(e);
    }

    void walk(const btf& b, bool with_base = true) {
        if (b.type_count() < b.first_id()) fail_("type_count() below first_id()");
        inside(b.own_strings(), "own_strings() outside the input");
        const std::uint32_t first = with_base ? 0 : b.first_id();
        for (std::uint32_t id = first; id < b.type_count(); ++id) walk_type(b, id);
        for (const type t : b.types()) sink_ += t.id();  // the range and operator[] agree in count
        if (b.type_at(b.type_count()).has_value()) fail_("type_at(type_count()) succeeded");
        if (b.string_checked(b.strings_size()).has_value()) fail_("string_checked(strings_size()) succeeded");
    }

    void walk(const elf& e) {
        inside(e.data(), "elf::data() outside the input");
        std::uint32_t n = 0;
        for (const elf_section s : e.sections()) {
            if (s.index != n++) fail_("section range out of order");
            walk_section(e, s);
        }
        if (n != e.section_count()) fail_("section range size differs from section_count()");
        if (e.section_checked(e.section_count()).has_value()) fail_("section_checked(section_count()) succeeded");
        auto syms = e.symbols();
        if (!syms) {
            check_error(syms.error());
            return;
        }
        for (std::uint32_t i = 0; i < syms->size(); ++i) {
            const elf_symbol s = (*syms)[i];
            name(s.name, "symbol name outside the input");
            sink_ += s.info + s.other + s.shndx + s.value + s.size + s.type() + s.bind();
        }
    }

    void walk(const bpf_object& o) {
        walk(o.file());
        if (o.has_btf()) walk(o.btf());
        if (o.has_ext()) walk_ext(o);
        std::uint32_t programs = 0;
        auto st = o.for_each_program([&](const program& p) {
            ++programs;
            name(p.name, "program name outside the input");
            name(p.section_name, "program section name outside the input");
            if (p.section_index >= o.file().section_count()) {
                fail_("program section index past the end");
                return;
            }
            const elf_section s = o.file().section(p.section_index);
            const std::uint32_t count = o.insn_count(s);
            if (p.first_insn > count || p.insn_count > count - p.first_insn) {
                fail_("program instructions outside their section");
                return;
            }
            for (std::uint32_t i = 0; i < p.insn_count; ++i) {
                const insn in = o.instruction(s, p.first_insn + i);
                sink_ += in.code + in.dst + in.src + static_cast<std::uint16_t>(in.off) + static_cast<std::uint32_t>(in.imm);
            }
        });
        if (!st) check_error(st.error());
        sink_ += programs;
    }

private:
    // The input range holding all of `s`, or nullptr. Compares addresses as integers: the ranges are
    // separate objects, so pointer comparisons across them would be unspecified.
    [[nodiscard]] const byte_span* range_of(const char* p, std::size_t n) const noexcept {
        const auto a = reinterpret_cast<std::uintptr_t>(p);
        for (std::size_t i = 0; i < n_ranges_; ++i) {
            const auto lo = reinterpret_cast<std::uintptr_t>(ranges_[i].data());
            if (a >= lo && a - lo <= ranges_[i].size() && n <= ranges_[i].size() - (a - lo)) return &ranges_[i];
        }
        return nullptr;
    }
    void inside(byte_span s, const char* what) {
        if (s.empty()) return;
        if (range_of(s.data(), s.size()) == nullptr) {
            fail_(what);
            return;
        }
        // Touch both ends, so AddressSanitizer also sees the view.
        sink_ += static_cast<unsigned char>(s.front()) + static_cast<unsigned char>(s.back());
    }
    void name(std::string_view s, const char* what) {
        if (s.empty()) return;
        // A name is followed by its NUL inside the same input.
        if (range_of(s.data(), s.size() + 1) == nullptr) fail_(what);
        else if (s.data()[s.size()] != '\0') fail_("name not followed by NUL");
        else sink_ += static_cast<unsigned char>(s.front());
    }
    void id(const btf& b, std::uint32_t ref, const char* what) {
        if (!b.valid_id(ref)) fail_(what);
    }
    void string(const btf& b, std::uint32_t off, const char* what) {
        std::string_view s;
        if (!b.string_at(off, s)) fail_(what);
        name(s, "BTF string outside the input");
        auto c = b.string_checked(off);
        if (!c || c.value() != s) fail_("string_checked disagrees with string_at");
        // The C-string view of the same offset: inside its table, terminated there, same text.
        const char* p = b.string_ptr(off);
        const char* end = b.string_table_end(off);
        if (p == nullptr || end == nullptr || p >= end || range_of(p, static_cast<std::size_t>(end - p)) == nullptr) {
            fail_("string_ptr / string_table_end outside the input");
            return;
        }
        const void* nul = std::memchr(p, '\0', static_cast<std::size_t>(end - p));
        if (nul == nullptr) fail_("string_ptr not terminated inside its table");
        else if (std::string_view(p, static_cast<std::size_t>(static_cast<const char*>(nul) - p)) != s) fail_("string_ptr disagrees with string_at");
    }

    void walk_type(const btf& b, std::uint32_t tid) {
        const type t = b[tid];
        if (t.id() != tid) fail_("operator[] returned another id");
        auto checked = b.type_at(tid);
        if (!checked || checked->info() != t.info()) fail_("type_at disagrees with operator[]");
        if (b.kind_of(tid) != t.kind() || b.name_off_of(tid) != t.name_off()) fail_("kind_of / name_off_of disagree with operator[]");
        sink_ += t.info() + t.size() + kind_name(t.kind()).size() + kind_str(t.kind()).size();
        sink_ += t.raw_extra_word();
        sink_ += t.is_void() + t.is_composite() + t.is_any_enum() + t.is_modifier() + t.kflag() + t.vlen();
        if (tid != 0) string(b, t.name_off(), "type name offset invalid after a successful parse");
        name(t.name(), "type name outside the input");
        switch (t.kind()) {
        case kind::int_:
            sink_ += t.int_data() + t.int_encoding() + t.int_offset() + t.int_bits();
            break;
        case kind::ptr: case kind::typedef_: case kind::volatile_: case kind::const_: case kind::restrict_:
        case kind::func: case kind::type_tag:
            id(b, t.ref(), "reference past the end after a successful parse");
            sink_ += t.func_linkage();
            break;
        case kind::var: case kind::decl_tag:
            id(b, t.ref(), "reference past the end after a successful parse");
            sink_ += t.var_linkage() + static_cast<std::uint32_t>(t.decl_tag_component());
            break;
        case kind::array: {
            const array_info a = t.array();
            id(b, a.type, "array element type past the end after a successful parse");
            id(b, a.index_type, "array index type past the end after a successful parse");
            sink_ += a.nelems;
            break;
        }
        case kind::struct_: case kind::union_: {
            std::uint32_t n = 0;
            for (const member m : t.members()) {
                ++n;
                string(b, m.name_off, "member name invalid after a successful parse");
                id(b, m.type, "member type past the end after a successful parse");
                sink_ += m.bit_offset + m.bitfield_size + m.raw_offset;
            }
            if (n != t.vlen()) fail_("member range size differs from vlen");
            break;
        }
        case kind::enum_: case kind::enum64: {
            std::uint32_t n = 0;
            for (const enumerator v : t.enumerators()) {
                ++n;
                string(b, v.name_off, "enumerator name invalid after a successful parse");
                sink_ += v.value + v.lo32 + v.hi32;
            }
            if (n != t.vlen()) fail_("enumerator range size differs from vlen");
            break;
        }
        case kind::func_proto: {
            id(b, t.ref(), "return type past the end after a successful parse");
            std::uint32_t n = 0;
            for (const param p : t.params()) {
                ++n;
                string(b, p.name_off, "parameter name invalid after a successful parse");
                id(b, p.type, "parameter type past the end after a successful parse");
            }
            if (n != t.vlen()) fail_("parameter range size differs from vlen");
            break;
        }
        case kind::datasec: {
            std::uint32_t n = 0;
            for (const datasec_var v : t.vars()) {
                ++n;
                id(b, v.type, "datasec variable type past the end after a successful parse");
                sink_ += v.offset + v.size;
            }
            if (n != t.vlen()) fail_("datasec range size differs from vlen");
            break;
        }
        case kind::unknown: case kind::fwd: case kind::float_:
            break;
        }
        // Views for the wrong kind are empty.
        if (!t.is_composite() && !t.members().empty()) fail_("members() of a non-composite");
        if (!t.is(kind::func_proto) && !t.params().empty()) fail_("params() of a non-FUNC_PROTO");

        // Bounded walks: either a value or an error with a code from the documented set.
        auto s = b.skip_mods_and_typedefs(tid);
        if (s) {
            if (s->is_modifier() || s->is(kind::typedef_)) fail_("skip_mods_and_typedefs stopped on a modifier");
            sink_ += s->id();
        } else {
            check_error(s.error());
            if (s.error().code != errc::type_loop && s.error().code != errc::too_deep) fail_("skip_mods_and_typedefs: unexpected error code");
        }
        auto z = b.resolve_size(tid);
        if (z) {
            sink_ += *z;
        } else {
            check_error(z.error());
            const errc c = z.error().code;
            if (c != errc::type_loop && c != errc::too_deep && c != errc::bad_kind && c != errc::out_of_range) fail_("resolve_size: unexpected error code");
        }
    }

    void walk_section(const elf& e, const elf_section& s) {
        name(s.name, "section name outside the input");
        inside(e.section_data(s), "section_data() outside the input");
        sink_ += s.type + s.flags + s.addr + s.offset + s.size + s.link + s.info + s.addralign + s.entsize;
        if (!s.name.empty() && s.index < 64) {  // find_section is linear: bound the quadratic check
            auto f = e.find_section(s.name);
            if (!f || f->index > s.index) fail_("find_section misses a section");
        }
        if (s.type == elf_const::sht_rel || s.type == elf_const::sht_rela) {
            const std::uint32_t n = e.rel_count(s);
            for (std::uint32_t i = 0; i < n; ++i) {
                const elf_rel r = e.rel(s, i);
                sink_ += r.offset + r.sym + r.type + static_cast<std::uint64_t>(r.addend);
            }
        }
    }

    template <class R>
    void walk_ext_info(const bpf_object& o, const ext_info<R>& info, std::size_t ext_size) {
        std::uint32_t blocks = 0;
        for (const ext_section<R> sec : info) {
            name(sec.section_name(), ".BTF.ext block name outside the input");
            if (sec.section_name().empty()) fail_(".BTF.ext block with an empty name after a successful parse");
            if (sec.elf_index() >= o.file().section_count() && sec.elf_index() != 0) fail_(".BTF.ext block maps to a section past the end");
            else if (sec.elf_index() != 0 && o.file().section(sec.elf_index()).name != sec.section_name()) fail_(".BTF.ext block maps to a section of another name");
            if (blocks++ < 64) {  // the first section of that name (after the NULL one), by linear search
                std::uint32_t want = 0;
                for (std::uint32_t i = 1; i < o.file().section_count() && want == 0; ++i) {
                    if (o.file().section(i).name == sec.section_name()) want = i;
                }
                if (want != sec.elf_index()) fail_(".BTF.ext block section index differs from a linear search");
            }
            for (std::uint32_t i = 0; i < sec.size(); ++i) {
                const std::size_t ro = sec.record_offset(i);
                if (ro + info.record_size() > ext_size) fail_(".BTF.ext record past the end of .BTF.ext");
                const R r = sec[i];
                if constexpr (std::is_same_v<R, core_relo>) {
                    id(o.btf(), r.type_id, "CO-RE relocation type id past the end after a successful parse");
                    string(o.btf(), r.access_str_off, "CO-RE access string invalid after a successful parse");
                    sink_ += r.insn_off + relo_kind_name(r.kind).size();
                } else if constexpr (std::is_same_v<R, func_info>) {
                    sink_ += r.insn_off + r.type_id;
                } else {
                    sink_ += r.insn_off + r.file_name_off + r.line_off + r.line_col;
                }
            }
        }
    }

    void walk_ext(const bpf_object& o) {
        auto sec = o.file().find_section(".BTF.ext");
        if (!sec) {
            fail_("has_ext() without a .BTF.ext section");
            return;
        }
        const std::size_t n = o.file().section_data(*sec).size();
        walk_ext_info(o, o.ext().func_infos(), n);
        walk_ext_info(o, o.ext().line_infos(), n);
        walk_ext_info(o, o.ext().core_relos(), n);
        sink_ += o.ext().core_relo_count();
    }

    std::vector<error>* errors_ = nullptr;
    byte_span ranges_[4]{};
    std::size_t n_ranges_ = 0;
    Fail fail_;
    std::uint64_t sink_ = 0;
};

}  // namespace btfkit::testing
