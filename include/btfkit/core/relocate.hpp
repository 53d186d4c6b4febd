// The CO-RE object driver: walks .BTF.ext records in libbpf's order, with libbpf's per-type
// candidate cache, and runs each record through the stages (spec, match, calc, patch).
#pragma once

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
    patch_outcome patch{};
    error err{};
    const core_spec* local_spec = nullptr;
    const core_spec* target_spec = nullptr;
};

struct relocation_summary {
    std::uint32_t total = 0, ok = 0, poisoned = 0, errors = 0, skipped = 0;
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
    core_spec& local_spec = scratch.specs[0];
    core_spec& cand_spec = scratch.specs[1];
    core_spec& targ_spec = scratch.specs[2];
    const match_options mopts{opts.fwd_extension};
    std::uint32_t global = 0;

    for (const auto block : obj.ext().core_relos()) {
        const std::uint32_t sec_idx = block.elf_index();
        if (block.section_name().empty() || sec_idx == 0) {
            return error(errc::not_found, "CO-RE records name a section the object does not have").in_section(".BTF.ext core_relo").got(block.section_name_off());
        }
        const elf_section sec = obj.file().section(sec_idx);
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
            const type local_t = local[rec.type_id];
            rep.local_type_name = local_t.name();
            local_spec.reset(&local, rec.type_id, rec.kind);  // a failure before parse_spec reports an empty spec, not the last one
            rep.local_spec = &local_spec;

            auto fail = [&](const error& e) {
                rep.outcome = relo_outcome::error;
                rep.err = e;  // the report itself says section, instruction and relocation index
                ++sum.errors;
                on_report(rep);
            };

            // Candidates: cached per local type id across the whole object, like libbpf.
            relocation_scratch::cand_list* list = nullptr;
            if (rec.kind != relo_kind::type_id_local) {
                list = &scratch.lists[rec.type_id];
                if (!list->searched) {
                    if (rep.local_type_name.empty()) {
                        fail(error(errc::unsupported, "candidate search for an anonymous type").at_type(rec.type_id));
                        if (opts.stop_at_first_error) return sum;
                        continue;
                    }
                    list->begin = static_cast<std::uint32_t>(scratch.cands.size());
                    status st = collect_candidates(targets, local_t, essential_name(rep.local_type_name), opts, scratch.cands);
                    if (!st) {
                        fail(st.error());
                        if (opts.stop_at_first_error) return sum;
                        continue;
                    }
                    list->len = static_cast<std::uint32_t>(scratch.cands.size()) - list->begin;
                    list->searched = true;
                }
            }

            status st = parse_spec(local, rec.type_id, rep.access, rec.kind, local_spec);
            if (!st) {
                fail(st.error());
                if (opts.stop_at_first_error) return sum;
                continue;
            }

            relo_res res{};
            bool have_target = false;
            if (rec.kind == relo_kind::type_id_local) {
                res.validate = false;
                res.orig_val = res.new_val = local_spec.root_type_id;
            } else {
                if (rep.local_type_name.empty()) {
                    fail(error(errc::unsupported, "relocation of an anonymous type").at_type(rec.type_id));
                    if (opts.stop_at_first_error) return sum;
                    continue;
                }
                std::uint32_t j = 0;
                bool failed = false;
                rep.candidates = list->len;
                scratch.matched.clear();
                scratch.matched.resize(list->len, 0);
                for (std::uint32_t i = 0; i < list->len && !failed; ++i) {
                    const candidate c = scratch.cands[list->begin + i];
                    auto m = match_spec(local_spec, *c.owner, c.id, cand_spec, mopts);
                    if (!m) {
                        fail(m.error().at_index("candidate", i));
                        failed = true;
                        break;
                    }
                    if (!*m) continue;
                    relo_res cr{};
                    st = calc_relo(rec.kind, local_spec, &cand_spec, cr, opts.fwd_extension, rules_of(opts.compat));
                    if (!st) {
                        fail(st.error());
                        failed = true;
                        break;
                    }
                    if (j == 0) {
                        res = cr;
                        targ_spec = cand_spec;
                        rep.has_target = true;
                        rep.target = c.target;
                        rep.target_type_id = cand_spec.root_type_id;
                        have_target = true;
                    } else if (cand_spec.bit_offset != targ_spec.bit_offset) {
                        fail(error(errc::ambiguous, "field offset ambiguity between candidates").got(cand_spec.bit_offset).limit(targ_spec.bit_offset));
                        failed = true;
                        break;
                    } else if (cr.poison != res.poison || cr.new_val != res.new_val ||
                               (rec.kind == relo_kind::type_id_target && opts.encoding != fd_encoding::none && c.target != rep.target)) {
                        fail(error(errc::ambiguous, "relocation decision ambiguity between candidates").got(cr.new_val).limit(res.new_val));
                        failed = true;
                        break;
                    }
                    scratch.matched[i] = 1;
                    ++j;
                }
                if (failed) {
                    if (opts.stop_at_first_error) return sum;
                    continue;
                }
                rep.matched = j;
                if (j > 0) {  // keep only the matching candidates for later relocations of this type
                    std::uint32_t k = 0;
                    for (std::uint32_t i = 0; i < list->len; ++i) {
                        if (scratch.matched[i]) scratch.cands[list->begin + k++] = scratch.cands[list->begin + i];
                    }
                    list->len = j;
                } else {
                    st = calc_relo(rec.kind, local_spec, nullptr, res, opts.fwd_extension, rules_of(opts.compat));
                    if (!st) {
                        fail(st.error());
                        if (opts.stop_at_first_error) return sum;
                        continue;
                    }
                }
            }

            // Module BTF marker for TYPE_ID_TARGET (the extension libbpf never merged).
            if (rec.kind == relo_kind::type_id_target && have_target && !res.poison && rep.target != 0 &&
                opts.encoding != fd_encoding::none) {
                auto up = targets.upper_bits(rep.target, opts.encoding);
                if (up) {
                    rep.upper = *up;
                    res.new_val = (res.new_val & 0xffffffffu) | (std::uint64_t{*up} << 32);
                }
                rep.upper_unavailable = !up || *up == 0;
            }
            rep.res = res;
            rep.target_spec = have_target ? &targ_spec : nullptr;

            const std::size_t at = static_cast<std::size_t>(sec.offset) + rec.insn_off;
            const std::size_t end = static_cast<std::size_t>(sec.offset + sec.size);
            if (rec.insn_off >= sec.size) {
                fail(error(errc::out_of_range, "relocated instruction past the end of its section").got(rec.insn_off).limit(sec.size));
                if (opts.stop_at_first_error) return sum;
                continue;
            }
            auto p = patch_insn(image.subspan(at, end - at), obj.file().order(), res);
            if (!p) {
                fail(p.error());
                if (opts.stop_at_first_error) return sum;
                continue;
            }
            rep.patch = *p;
            rep.outcome = p->poisoned ? relo_outcome::poisoned : relo_outcome::ok;
            if (p->poisoned) ++sum.poisoned;
            else ++sum.ok;
            on_report(rep);
        }
    }
    return sum;
}

}  // namespace btfkit
