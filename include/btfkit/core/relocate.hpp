// The CO-RE object driver: walks .BTF.ext records in libbpf's order, with libbpf's per-type
// candidate cache, and runs each record through the stages (spec, match, calc, patch).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "../error.hpp"
#include "../format/bpf_object.hpp"
#include "../format/btf.hpp"
#include "relo_rules.hpp"
#include "calc.hpp"
#include "candidates.hpp"
#include "match.hpp"
#include "spec.hpp"

namespace btfkit {

enum class relo_outcome : std::uint8_t { ok, poisoned, error };

[[nodiscard]] constexpr std::string_view to_string(relo_outcome o) noexcept {
    return o == relo_outcome::ok ? "ok" : o == relo_outcome::poisoned ? "poisoned" : "error";
}

// What was decided for one relocation; pointers and views are valid during the report callback.
struct relocation_report {
    std::uint32_t index = 0;        // over the whole object, in .BTF.ext order
    std::uint32_t relo_index = 0;   // within its section block (libbpf's "relo #N")
    std::string_view section{};
    std::uint32_t section_index = 0;
    std::uint32_t insn = 0;         // instruction index within the section
    std::string_view program{};
    relo_kind kind{};
    std::uint32_t local_type_id = 0;
    std::string_view local_type_name{};
    std::string_view access{};
    relo_outcome outcome = relo_outcome::ok;
    relo_res res{};
    bool has_target = false;
    std::uint32_t target = 0;       // index in the target set of the chosen candidate
    std::uint32_t target_type_id = 0;
    std::uint32_t candidates = 0;   // candidates considered
    std::uint32_t matched = 0;      // of which matched
    std::uint32_t upper = 0;        // upper 32 bits written for a module TYPE_ID_TARGET
    bool upper_unavailable = false; // module type, but no fd/id known: upper left 0
    // Module type, but the instruction is not an ldimm64: it has no upper 32 bits for the module's
    // BTF fd/id. With an fd encoding the record is an error; with none, a warning: the type id alone
    // is written, as libbpf writes it.
    bool no_upper_half = false;
    patch_outcome patch{};
    error err{};
    const core_spec* local_spec = nullptr;
    const core_spec* target_spec = nullptr;
};

// The warning a report carries ("" for none); at most one applies to a relocation.
[[nodiscard]] constexpr std::string_view warning_of(const relocation_report& r) noexcept {
    if (r.outcome == relo_outcome::error) return {};
    if (r.no_upper_half) return "module type in an instruction other than ldimm64: no upper 32 bits for the module's BTF fd/id, type id alone written";
    if (r.upper_unavailable) return "module type, but no kernel BTF fd/id: upper 32 bits left 0";
    return {};
}

struct relocation_summary {
    std::uint32_t total = 0, ok = 0, poisoned = 0, errors = 0, skipped = 0;
    std::uint32_t warnings = 0;  // ok or poisoned relocations with a warning (warning_of)
};

// Per-object working memory, reusable across objects: after the first object of a given size,
// relocating does not allocate.
class relocation_scratch {
public:
    struct prog_range {
        std::uint32_t section = 0, first = 0, count = 0;
        std::string_view name{}, section_name{};
    };
    struct cand_list {
        std::uint32_t begin = 0, len = 0;
        bool searched = false;
    };

    std::vector<candidate> cands{};
    std::vector<cand_list> lists{};  // by local type id
    std::vector<prog_range> progs{};
    std::vector<std::uint8_t> matched{};  // per candidate of the relocation in progress
    std::array<core_spec, 3> specs{};  // local, candidate, chosen target

    constexpr void reset(std::uint32_t local_types) {
        cands.clear();
        lists.clear();
        for (std::uint32_t i = 0; i < local_types; ++i) lists.push_back(cand_list{});
        progs.clear();
    }
};

namespace detail {

constexpr status collect_programs(const bpf_object& obj, relocation_scratch& s) {
    status st = obj.for_each_program([&](const program& p) {
        s.progs.push_back(relocation_scratch::prog_range{p.section_index, p.first_insn, p.insn_count, p.name, p.section_name});
    });
    if (!st) return st;
    // libbpf's order: by section, then by offset (insertion sort: objects have few programs).
    for (std::size_t i = 1; i < s.progs.size(); ++i) {
        for (std::size_t j = i; j > 0; --j) {
            auto& a = s.progs[j - 1];
            auto& b = s.progs[j];
            if (a.section < b.section || (a.section == b.section && a.first <= b.first)) break;
            const auto t = a;
            a = b;
            b = t;
        }
    }
    return {};
}

// libbpf's find_prog_by_sec_insn.
[[nodiscard]] constexpr const relocation_scratch::prog_range* find_program(const relocation_scratch& s, std::uint32_t sec,
                                                                           std::uint32_t insn) noexcept {
    if (s.progs.empty()) return nullptr;
    std::size_t l = 0, r = s.progs.size() - 1;
    while (l < r) {
        const std::size_t m = l + (r - l + 1) / 2;
        const auto& p = s.progs[m];
        if (p.section < sec || (p.section == sec && p.first <= insn)) l = m;
        else r = m - 1;
    }
    const auto& p = s.progs[l];
    return p.section == sec && insn >= p.first && insn < p.first + p.count ? &p : nullptr;
}

}  // namespace detail

namespace detail {

// The candidates of the record's local type, searched once per object and shared by all its
// relocations (libbpf's candidate cache).
template <class Targets>
constexpr result<relocation_scratch::cand_list*> candidates_of(Targets& targets, const type& local_t, std::uint32_t type_id,
                                                               const relocate_options& opts, relocation_scratch& s) {
    relocation_scratch::cand_list& list = s.lists[type_id];
    if (list.searched) return &list;
    if (local_t.name().empty()) return error(errc::unsupported, "candidate search for an anonymous type").at_type(type_id);
    list.begin = static_cast<std::uint32_t>(s.cands.size());
    BTFKIT_TRY(collect_candidates(targets, local_t, essential_name(local_t.name()), opts, s.cands));
    list.len = static_cast<std::uint32_t>(s.cands.size()) - list.begin;
    list.searched = true;
    return &list;
}

// Stages 2 and 3 over the candidate list: the first match decides, later matches must agree
// (libbpf's bpf_core_calc_relo_insn); the list keeps only the matches for later relocations of the
// type. No match: the values of "no target" (poisoned, or 0 for existence checks).
constexpr status decide(const core_relo& rec, relocation_scratch::cand_list& list, const relocate_options& opts,
                        relocation_scratch& s, relocation_report& rep, relo_res& res) {
    const core_spec& local_spec = s.specs[0];
    core_spec& cand_spec = s.specs[1];
    core_spec& targ_spec = s.specs[2];
    const match_options mopts{opts.fwd_extension};
    std::uint32_t matched = 0;
    rep.candidates = list.len;
    s.matched.clear();
    s.matched.resize(list.len, 0);
    for (std::uint32_t i = 0; i < list.len; ++i) {
        const candidate c = s.cands[list.begin + i];
        auto m = match_spec(local_spec, *c.owner, c.id, cand_spec, mopts);
        if (!m) return m.error().at_index("candidate", i);
        if (!*m) continue;
        relo_res cr{};
        BTFKIT_TRY(calc_relo(rec.kind, local_spec, &cand_spec, cr, opts.fwd_extension, rules_of(opts.compat)));
        if (matched == 0) {
            res = cr;
            targ_spec = cand_spec;
            rep.has_target = true;
            rep.target = c.target;
            rep.target_type_id = cand_spec.root_type_id;
        } else if (cand_spec.bit_offset != targ_spec.bit_offset) {
            return error(errc::ambiguous, "field offset ambiguity between candidates").got(cand_spec.bit_offset).limit(targ_spec.bit_offset);
        } else if (cr.poison != res.poison || cr.new_val != res.new_val ||
                   (rec.kind == relo_kind::type_id_target && opts.encoding != fd_encoding::none && c.target != rep.target)) {
            return error(errc::ambiguous, "relocation decision ambiguity between candidates").got(cr.new_val).limit(res.new_val);
        }
        s.matched[i] = 1;
        ++matched;
    }
    rep.matched = matched;
    if (matched == 0) return calc_relo(rec.kind, local_spec, nullptr, res, opts.fwd_extension, rules_of(opts.compat));
    std::uint32_t k = 0;
    for (std::uint32_t i = 0; i < list.len; ++i) {
        if (s.matched[i]) s.cands[list.begin + k++] = s.cands[list.begin + i];
    }
    list.len = matched;
    return {};
}

// One CO-RE record through every stage: candidates, local spec, match and values, the module marker
// of TYPE_ID_TARGET, and the patch of `code` (the instructions of the record's section, in `order`).
// Fills `rep` as it goes; an error is the record's outcome (the report says where).
template <class Targets>
constexpr status relocate_record(const btf& local, const core_relo& rec, std::span<char> code, byte_order order, Targets& targets,
                                 relocation_scratch& s, const relocate_options& opts, relocation_report& rep) {
    const type local_t = local[rec.type_id];
    relocation_scratch::cand_list* list = nullptr;
    if (rec.kind != relo_kind::type_id_local) {
        auto l = candidates_of(targets, local_t, rec.type_id, opts, s);
        if (!l) return l.error();
        list = *l;
    }
    BTFKIT_TRY(parse_spec(local, rec.type_id, rep.access, rec.kind, s.specs[0]));
    relo_res res{};
    if (rec.kind == relo_kind::type_id_local) {
        res.validate = false;
        res.orig_val = res.new_val = s.specs[0].root_type_id;
    } else {
        BTFKIT_TRY(decide(rec, *list, opts, s, rep, res));
    }
    rep.res = res;
    rep.target_spec = rep.has_target ? &s.specs[2] : nullptr;
    if (rec.insn_off >= code.size()) {
        return error(errc::out_of_range, "relocated instruction past the end of its section").got(rec.insn_off).limit(code.size());
    }
    const std::span<char> at = code.subspan(rec.insn_off);
    // Module BTF marker for TYPE_ID_TARGET (the extension libbpf never merged): only an ldimm64 has
    // upper 32 bits to hold it. Asked before any fd is opened for it.
    if (rec.kind == relo_kind::type_id_target && rep.has_target && !res.poison && rep.target != 0) {
        if (at.size() >= insn_const::insn_size && !decode_insn(at.data(), order).is_ldimm64()) {
            rep.no_upper_half = true;
            if (opts.encoding != fd_encoding::none) {
                return error(errc::bad_instruction, "module type needs an ldimm64 for its BTF fd/id; this instruction has no upper 32 bits");
            }
        } else if (opts.encoding != fd_encoding::none) {
            auto up = targets.upper_bits(rep.target, opts.encoding);
            // No fd or id known (file targets) leaves the upper half 0, as a warning; an fd or id that
            // cannot be had (the module's BTF object is gone, bpf() failed) fails the relocation.
            if (!up && up.error().code != errc::not_found) return up.error();
            if (up) {
                rep.upper = *up;
                res.new_val = (res.new_val & 0xffffffffu) | (std::uint64_t{*up} << 32);
                rep.res = res;
            }
            rep.upper_unavailable = !up || *up == 0;
        }
    }
    auto p = patch_insn(at, order, res);
    if (!p) return p.error();
    rep.patch = *p;
    return {};
}

}  // namespace detail

// Relocates every CO-RE site of `obj` against `targets`, patching `image` (a writable copy of the
// object's bytes). Calls `on_report(const relocation_report&)` per relocation.
template <class Targets, class OnReport>
constexpr result<relocation_summary> relocate_object(const bpf_object& obj, std::span<char> image, Targets&& targets,
                                                     relocation_scratch& scratch, const relocate_options& opts,
                                                     OnReport&& on_report) {
    relocation_summary sum;
    if (image.size() != obj.file().data().size()) return error(errc::out_of_range, "image size differs from the object").got(image.size()).limit(obj.file().data().size());
    if (!obj.has_ext() || obj.ext().core_relo_count() == 0) return sum;
    const btf& local = obj.btf();
    scratch.reset(local.type_count());
    BTFKIT_TRY(detail::collect_programs(obj, scratch));
    std::uint32_t global = 0;
    for (const auto block : obj.ext().core_relos()) {
        const std::uint32_t sec_idx = block.elf_index();
        if (block.section_name().empty() || sec_idx == 0) {
            return error(errc::not_found, "CO-RE records name a section the object does not have").in_section(".BTF.ext core_relo").got(block.section_name_off());
        }
        const elf_section sec = obj.file().section(sec_idx);
        const std::size_t at = std::min<std::size_t>(static_cast<std::size_t>(sec.offset), image.size());
        const std::span<char> code = image.subspan(at, std::min<std::size_t>(static_cast<std::size_t>(sec.size), image.size() - at));
        for (std::uint32_t ri = 0; ri < block.size(); ++ri, ++global) {
            const core_relo rec = block[ri];
            relocation_report rep;
            rep.index = global;
            rep.relo_index = ri;
            rep.section = block.section_name();
            rep.section_index = sec_idx;
            rep.insn = rec.insn_off / 8;
            rep.kind = rec.kind;
            rep.local_type_id = rec.type_id;
            rep.access = local.string(rec.access_str_off);
            const auto* prog = detail::find_program(scratch, sec_idx, rep.insn);
            if (prog == nullptr || (opts.skip_non_autoload && !prog->section_name.empty() && prog->section_name[0] == '?')) {
                ++sum.skipped;  // eliminated weak subprogram, or a program libbpf would not load
                continue;
            }
            ++sum.total;
            rep.program = prog->name;
            rep.local_type_name = local[rec.type_id].name();
            scratch.specs[0].reset(&local, rec.type_id, rec.kind);  // a failure before parse_spec reports an empty spec
            rep.local_spec = &scratch.specs[0];
            if (const status st = detail::relocate_record(local, rec, code, obj.file().order(), targets, scratch, opts, rep); !st) {
                rep.outcome = relo_outcome::error;
                rep.err = st.error();  // the report itself says section, instruction and relocation index
                ++sum.errors;
                on_report(rep);
                if (opts.stop_at_first_error) return sum;
                continue;
            }
            rep.outcome = rep.patch.poisoned ? relo_outcome::poisoned : relo_outcome::ok;
            ++(rep.patch.poisoned ? sum.poisoned : sum.ok);
            if (!warning_of(rep).empty()) ++sum.warnings;
            on_report(rep);
        }
    }
    return sum;
}

}  // namespace btfkit
