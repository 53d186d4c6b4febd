// A BPF object's kernel externs as libbpf resolves them: typed and typeless `__ksym` variables, kfunc
// calls and kfunc addresses, found in vmlinux and then the modules, written into the instructions in
// libbpf's encoding (BPF_PSEUDO_BTF_ID, BPF_PSEUDO_KFUNC_CALL with an fd_array slot, poison calls).
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "../error.hpp"
#include "../format/bpf_object.hpp"
#include "../format/btf.hpp"
#include "candidates.hpp"
#include "match.hpp"
#include "relo_rules.hpp"

namespace btfkit {

namespace insn_const {
inline constexpr std::uint8_t pseudo_kfunc_call = 2, pseudo_btf_id = 3;
inline constexpr std::uint8_t call = 0x85;                     // BPF_JMP | BPF_CALL
inline constexpr std::int32_t poison_kfunc_base = 2002000000;  // libbpf's unresolved weak kfunc call
}  // namespace insn_const

// What an extern's instruction is: a `__ksym` variable with a type or without (void), a call of a
// kfunc, or the address of one (an ldimm64); or a `__kconfig` value, which a loader puts in a map.
enum class extern_kind : std::uint8_t { ksym_var, ksym_typeless, kfunc_call, kfunc_addr, kconfig };

[[nodiscard]] constexpr std::string_view to_string(extern_kind k) noexcept {
    constexpr std::string_view names[] = {"ksym_var", "ksym_typeless", "kfunc_call", "kfunc_addr", "kconfig"};
    return names[static_cast<std::uint8_t>(k)];
}

// resolved: written with its target; zero: weak and not found, its value 0; poisoned: weak kfunc not
// found, the call made an invalid helper call (libbpf 1.2+); left: a kconfig value, for the loader's
// map; error: a strong extern not found, or a type that does not match the kernel's.
enum class extern_outcome : std::uint8_t { resolved, zero, poisoned, left, error };

[[nodiscard]] constexpr std::string_view to_string(extern_outcome o) noexcept {
    constexpr std::string_view names[] = {"resolved", "zero", "poisoned", "left", "error"};
    return names[static_cast<std::uint8_t>(o)];
}

// One extern symbol of the object (libbpf's extern_desc), in libbpf's order: kconfig externs first,
// then ksyms, by name. Its index in that order is what a poisoned kfunc call carries.
struct extern_symbol {
    std::string_view name{};
    std::uint32_t elf_symbol = 0;
    std::uint32_t btf_id = 0;   // the local VAR or FUNC
    std::uint32_t type_id = 0;  // its type past modifiers and typedefs: 0 for a typeless ksym; a FUNC's prototype
    bool weak = false;
    bool func = false;
    bool kconfig = false;
};

// Where an extern is resolved to: a target (0 = vmlinux) and a type id there, or a kallsyms address.
struct extern_binding {
    bool set = false;
    bool has_target = false;
    std::uint32_t target = 0;
    std::uint32_t type_id = 0;
    std::uint64_t address = 0;
    std::uint32_t fd_slot = 0;  // kfunc in a module: its BTF's fd_array index
    std::uint32_t upper = 0;    // in a module: its BTF's fd or id, per the encoding
    bool upper_unavailable = false;  // in a module, but no fd/id known (file targets): 0 written for it
    error err{};
};

// What was done at one instruction that refers to an extern; valid during the report callback.
struct extern_report {
    std::string_view section{};
    std::uint32_t section_index = 0;
    std::uint32_t insn = 0;
    std::string_view program{};
    const extern_symbol* symbol = nullptr;
    std::uint32_t extern_index = 0;
    extern_kind kind{};
    extern_outcome outcome{};
    const extern_binding* binding = nullptr;
    std::uint32_t upper = 0;  // insn[1].imm written for a typed ksym or kfunc address in a module
    bool upper_unavailable = false;  // ... where no fd/id was known: 0 written
    error err{};
};

struct extern_summary {
    std::uint32_t total = 0, resolved = 0, zero = 0, poisoned = 0, left = 0, errors = 0;
};

struct extern_options {
    fd_encoding encoding = fd_encoding::btf_fd;  // what a module BTF is written as (insn[1].imm, fd_array)
    libbpf_compat compat = libbpf_compat_latest;
};

// The object's extern symbols, in libbpf's order. An extern must have a VAR or FUNC of its name in .BTF
// inside a .ksyms or .kconfig DATASEC.
[[nodiscard]] constexpr status collect_externs(const bpf_object& obj, std::vector<extern_symbol>& out) {
    out.clear();
    auto syms = obj.file().symbols();
    if (!syms) return syms.error();
    const btf& b = obj.btf();
    for (std::uint32_t i = 0; i < syms->size(); ++i) {
        const elf_symbol s = (*syms)[i];
        if (s.shndx != elf_const::shn_undef || (s.bind() != elf_const::stb_global && s.bind() != elf_const::stb_weak) ||
            s.type() != elf_const::stt_notype || s.name.empty()) {
            continue;
        }
        if (!obj.has_btf()) return error(errc::not_found, "extern symbol but no .BTF").in_section(".symtab").at_index("symbol", i).about(s.name);
        extern_symbol x{s.name, i, 0, 0, s.bind() == elf_const::stb_weak, false, false};
        std::uint32_t sec_id = 0;
        for (std::uint32_t id = b.first_id(); id < b.type_count() && x.btf_id == 0; ++id) {
            const type t = b[id];
            if ((t.kind() == kind::var && t.var_linkage() == linkage_extern) ||
                (t.kind() == kind::func && t.func_linkage() == linkage_extern)) {
                if (t.name() == s.name) x.btf_id = id;
            }
        }
        if (x.btf_id == 0) return error(errc::not_found, "extern has no VAR or FUNC in .BTF").in_section(".symtab").at_index("symbol", i).about(s.name);
        for (std::uint32_t id = b.first_id(); id < b.type_count() && sec_id == 0; ++id) {
            const type t = b[id];
            if (t.kind() != kind::datasec) continue;
            for (const auto& v : t.vars()) {
                if (v.type == x.btf_id) sec_id = id;
            }
        }
        if (sec_id == 0) return error(errc::not_found, "extern is in no DATASEC").at_type(x.btf_id).about(s.name);
        const std::string_view sec = b[sec_id].name();
        const type t = b[x.btf_id];
        x.func = t.kind() == kind::func;
        if (sec == ".kconfig") {
            if (x.func) return error(errc::unsupported, "extern function in .kconfig").at_type(x.btf_id).about(s.name);
            x.kconfig = true;
        } else if (sec != ".ksyms") {
            return error(errc::unsupported, "extern in a section other than .ksyms and .kconfig").at_type(sec_id).about(sec);
        }
        if (t.ref() != 0) {
            auto r = b.skip_mods_and_typedefs(t.ref());
            if (!r) return r.error();
            x.type_id = r->id();
        }
        out.push_back(x);
    }
    std::sort(out.begin(), out.end(), [](const extern_symbol& a, const extern_symbol& c) {
        return a.kconfig != c.kconfig ? a.kconfig : a.name < c.name;
    });
    return {};
}

// A kallsyms source that has no symbols: typeless ksyms stay unresolved (for file targets).
struct no_kallsyms {
    [[nodiscard]] constexpr result<std::optional<std::uint64_t>> address(std::string_view, libbpf_compat) const noexcept {
        return std::optional<std::uint64_t>{};
    }
};

// Resolves every extern of `obj` against `targets` (vmlinux, then modules) and `kallsyms` (typeless
// ksyms), and rewrites the instructions that refer to them in `image` (the whole ELF file, as given to
// relocate_object). `fd_array` gets libbpf's array for BPF_PROG_LOAD: slot 0 unused, then one slot per
// module whose kfunc is called, holding the module's upper bits (fd or id, per the encoding). Each site
// is reported; a strong extern that cannot be resolved, or whose type does not match, is a reported
// error the summary counts. Only a malformed object or a failing target source ends the walk.
template <class Targets, class Kallsyms, class Report>
constexpr result<extern_summary> resolve_externs(const bpf_object& obj, std::span<char> image, Targets& targets,
                                                 Kallsyms&& kallsyms, const extern_options& opts,
                                                 std::vector<std::uint32_t>& fd_array, Report&& report) {
    std::vector<extern_symbol> syms;
    BTFKIT_TRY(collect_externs(obj, syms));
    fd_array.clear();
    extern_summary sum;
    if (syms.empty()) return sum;
    const btf& lb = obj.btf();
    const bool newer = opts.compat != libbpf_compat::v1_1;

    // Resolve in libbpf's order: kallsyms first (it fills every ksym VAR it names when any typeless
    // ksym needs it), then BTF, which assigns fd_array slots as kfuncs from new modules appear.
    std::vector<extern_binding> bind(syms.size());
    const bool need_kallsyms = std::any_of(syms.begin(), syms.end(), [](const extern_symbol& x) { return !x.kconfig && x.type_id == 0; });
    for (std::size_t i = 0; need_kallsyms && i < syms.size(); ++i) {
        if (syms[i].kconfig || syms[i].func) continue;
        auto a = kallsyms.address(syms[i].name, opts.compat);
        if (!a) bind[i].err = a.error();
        else if (*a) bind[i] = extern_binding{.set = true, .address = **a};
    }
    std::vector<std::uint32_t> slot_of_target;
    for (std::size_t i = 0; i < syms.size(); ++i) {
        const extern_symbol& x = syms[i];
        extern_binding& out = bind[i];
        if (x.kconfig || x.type_id == 0 || out.err.code != errc::ok) continue;
        const std::string_view key = x.func && newer ? essential_name(x.name) : x.name;
        const kind want = x.func ? kind::func : kind::var;
        auto found = first_named(targets, key, name_space::symbols, [want](const btf& b, std::uint32_t id, std::uint32_t) { return b.kind_of(id) == want; });
        if (!found) return found.error();
        if (!*found) {
            if (!x.weak) out.err = error(errc::not_found, x.func ? "kfunc not found in kernel or module BTFs" : "ksym not found in kernel BTF").about(x.name);
            continue;
        }
        const candidate c = **found;
        auto target_type = c.owner->skip_mods_and_typedefs((*c.owner)[c.id].ref());
        if (!target_type) return target_type.error();
        auto compat = detail::types_are_compat(lb, x.type_id, *c.owner, target_type->id(), compat_max_level, false);
        if (!compat) return compat.error();
        if (!*compat) {
            if (!(x.func && x.weak && newer)) {
                out.err = error(errc::not_found, x.func ? "kfunc prototype does not match the kernel's" : "ksym type does not match the kernel's")
                              .about(x.name).at_type(x.type_id).got(target_type->id());
            }
            continue;
        }
        out = extern_binding{.set = true, .has_target = true, .target = c.target, .type_id = c.id};
        if (c.target == 0) continue;
        // The module's BTF as an fd or id (per the encoding), as for TYPE_ID_TARGET: with none known
        // (file targets) 0, and the binding says so; one that cannot be had (the module is gone) ends
        // the walk.
        auto up = targets.upper_bits(c.target, opts.encoding);
        if (!up && up.error().code != errc::not_found) return up.error();
        out.upper = up ? *up : 0u;
        out.upper_unavailable = opts.encoding != fd_encoding::none && out.upper == 0;
        if (x.func) {
            if (slot_of_target.size() <= c.target) slot_of_target.resize(c.target + 1, 0);
            if (slot_of_target[c.target] == 0) {
                if (fd_array.empty()) fd_array.push_back(0);
                if (fd_array.size() >= 0x7fff) return error(errc::out_of_range, "too many module BTFs for fd_array").about(x.name);
                slot_of_target[c.target] = static_cast<std::uint32_t>(fd_array.size());
                fd_array.push_back(out.upper);
            }
            out.fd_slot = slot_of_target[c.target];
        }
    }

    // The sites: relocations against extern symbols in the executable sections.
    const elf& e = obj.file();
    std::vector<program> progs;
    BTFKIT_TRY(obj.for_each_program([&](const program& p) { progs.push_back(p); }));
    for (std::uint32_t si = 0; si < e.section_count(); ++si) {
        const elf_section rs = e.section(si);
        if (rs.type != elf_const::sht_rel && rs.type != elf_const::sht_rela) continue;
        if (rs.info >= e.section_count()) continue;
        const elf_section code = e.section(rs.info);
        if (code.type != elf_const::sht_progbits || (code.flags & elf_const::shf_execinstr) == 0) continue;
        for (std::uint32_t k = 0; k < e.rel_count(rs); ++k) {
            const elf_rel rel = e.rel(rs, k);
            const auto at = std::find_if(syms.begin(), syms.end(), [&](const extern_symbol& x) { return x.elf_symbol == rel.sym; });
            if (at == syms.end()) continue;
            const auto xi = static_cast<std::uint32_t>(at - syms.begin());
            const extern_symbol& x = *at;
            const extern_binding& bd = bind[xi];
            extern_report rep;
            rep.section = code.name;
            rep.section_index = rs.info;
            rep.insn = static_cast<std::uint32_t>(rel.offset / insn_const::insn_size);
            rep.symbol = &x;
            rep.extern_index = xi;
            rep.binding = &bd;
            for (const program& p : progs) {
                if (p.section_index == rs.info && rep.insn >= p.first_insn && rep.insn - p.first_insn < p.insn_count) rep.program = p.name;
            }
            const std::size_t off = static_cast<std::size_t>(code.offset + rel.offset);
            if (rel.offset % insn_const::insn_size != 0 || rel.offset >= code.size || off + insn_const::insn_size > image.size()) {
                return error(errc::out_of_range, "extern relocation outside its section").about(rs.name).at_index("relocation", k).got(rel.offset).limit(code.size);
            }
            insn i0 = decode_insn(image.data() + off, e.order());
            const bool call = i0.code == insn_const::call;
            if (!call && i0.code != insn_const::ld_imm64) {
                return error(errc::bad_instruction, "extern relocation against an instruction that is neither a call nor ldimm64")
                    .about(x.name).at_index("insn", rep.insn).got(i0.code);
            }
            if (!call && (rel.offset + 2 * insn_const::insn_size > code.size)) {
                return error(errc::truncated, "ldimm64 at the end of its section").about(x.name).at_index("insn", rep.insn);
            }
            rep.kind = x.kconfig ? extern_kind::kconfig : call ? extern_kind::kfunc_call : x.func ? extern_kind::kfunc_addr
                     : x.type_id == 0 ? extern_kind::ksym_typeless : extern_kind::ksym_var;
            ++sum.total;
            if (x.kconfig) {
                rep.outcome = extern_outcome::left;
                ++sum.left;
                report(static_cast<const extern_report&>(rep));
                continue;
            }
            if (bd.err.code != errc::ok || (!bd.set && !x.weak)) {
                rep.outcome = extern_outcome::error;
                rep.err = bd.err.code == errc::ok ? error(errc::not_found, "ksym not found in kallsyms").about(x.name) : bd.err;
                ++sum.errors;
                report(static_cast<const extern_report&>(rep));
                continue;
            }
            if (call) {
                i0.src = insn_const::pseudo_kfunc_call;
                if (bd.set) {
                    i0.imm = static_cast<std::int32_t>(bd.type_id);
                    i0.off = static_cast<std::int16_t>(bd.fd_slot);
                    rep.outcome = extern_outcome::resolved;
                } else if (newer) {
                    i0 = insn{insn_const::call, 0, 0, 0, insn_const::poison_kfunc_base + static_cast<std::int32_t>(xi)};
                    rep.outcome = extern_outcome::poisoned;
                } else {
                    i0.imm = 0;
                    i0.off = 0;
                    rep.outcome = extern_outcome::zero;
                }
                encode_insn(image.data() + off, i0, e.order());
            } else {
                insn i1 = decode_insn(image.data() + off + insn_const::insn_size, e.order());
                if (x.type_id != 0 && bd.set && bd.has_target) {
                    i0.src = insn_const::pseudo_btf_id;
                    i0.imm = static_cast<std::int32_t>(bd.type_id);
                    // 1.1 writes no module BTF for a kfunc's address.
                    if (!x.func || newer) {
                        rep.upper = bd.upper;
                        rep.upper_unavailable = bd.upper_unavailable;
                    }
                    i1.imm = static_cast<std::int32_t>(rep.upper);
                } else {
                    i0.imm = static_cast<std::int32_t>(static_cast<std::uint32_t>(bd.address));
                    i1.imm = static_cast<std::int32_t>(static_cast<std::uint32_t>(bd.address >> 32));
                }
                rep.outcome = bd.set ? extern_outcome::resolved : extern_outcome::zero;
                encode_insn(image.data() + off, i0, e.order());
                encode_insn(image.data() + off + insn_const::insn_size, i1, e.order());
            }
            ++(rep.outcome == extern_outcome::resolved ? sum.resolved : rep.outcome == extern_outcome::poisoned ? sum.poisoned : sum.zero);
            report(static_cast<const extern_report&>(rep));
        }
    }
    return sum;
}

}  // namespace btfkit
