// The CO-RE drivers: one ELF section's instructions from the object's .BTF and .BTF.ext alone
// (relocate_section, what a loader holding its own buffers calls), and a whole object on top of it
// (relocate_object). Records go in libbpf's order, with libbpf's per-type candidate cache, each
// through the stages (spec, match, calc, patch).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
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

    constexpr relocation_summary& operator+=(const relocation_summary& o) noexcept {
        total += o.total;
        ok += o.ok;
        poisoned += o.poisoned;
        errors += o.errors;
        skipped += o.skipped;
        warnings += o.warnings;
        return *this;
    }
};

// Per-object working memory, reusable across objects: after the first object of a given size,
// relocating does not allocate. It holds libbpf's per-object candidate cache: begin() starts an
// object (relocate_object does; relocate_section does when handed another object_btf than the last).
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
        object_ = nullptr;
    }
    // Starts relocating the object whose .BTF and .BTF.ext `local` holds: an empty candidate cache.
    constexpr void begin(const object_btf& local) {
        reset(local.btf().type_count());
        object_ = &local;
    }
    [[nodiscard]] constexpr bool begun_for(const object_btf& local) const noexcept {
        return object_ == &local && lists.size() == local.btf().type_count();
    }

    // The raw-bytes relocate_section's copy of an object's .BTF and .BTF.ext, parsed: the same bytes
    // again are the same object (its candidate cache goes on), other bytes start another.
    [[nodiscard]] constexpr result<const object_btf*> hold(byte_span btf_bytes, byte_span ext_bytes) {
        const bool same = held_ok_ && held_btf_ == btf_bytes.size() && held_.size() == btf_bytes.size() + ext_bytes.size() &&
                          std::equal(btf_bytes.begin(), btf_bytes.end(), held_.begin()) &&
                          std::equal(ext_bytes.begin(), ext_bytes.end(), held_.begin() + static_cast<std::ptrdiff_t>(btf_bytes.size()));
        if (same && begun_for(held_local_)) return &held_local_;
        held_ok_ = false;
        held_.assign(btf_bytes.begin(), btf_bytes.end());
        held_.insert(held_.end(), ext_bytes.begin(), ext_bytes.end());
        held_btf_ = btf_bytes.size();
        const byte_span all(held_.data(), held_.size());
        std::optional<byte_span> b, x;
        if (!btf_bytes.empty()) b = all.subspan(0, held_btf_);
        if (!ext_bytes.empty()) x = all.subspan(held_btf_);
        BTFKIT_TRY(held_local_.assign(b, x));
        held_ok_ = true;
        begin(held_local_);
        return &held_local_;
    }

private:
    const object_btf* object_ = nullptr;  // whose candidates `lists` caches
    std::vector<char> held_{};
    std::size_t held_btf_ = 0;
    bool held_ok_ = false;
    object_btf held_local_{};
};

// One ELF section's instructions, as a loader holds them, for relocate_section.
struct section_code {
    std::string_view name{};  // as .BTF.ext names it
    std::span<char> insns{};  // the whole section, patched in place
    byte_order order = byte_order::little;
    // The programs (FUNC symbols) in the section, by first instruction: a record in none of them is
    // skipped, as libbpf skips eliminated weak subprograms. None given: the section is one program,
    // named after it.
    std::optional<std::span<const relocation_scratch::prog_range>> programs{};
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

// The programs of section `sec` in s.progs (sorted by section, then offset).
[[nodiscard]] constexpr std::span<const relocation_scratch::prog_range> programs_of(const relocation_scratch& s, std::uint32_t sec) noexcept {
    const auto first = std::lower_bound(s.progs.begin(), s.progs.end(), sec, [](const auto& p, std::uint32_t v) { return p.section < v; });
    const auto last = std::upper_bound(first, s.progs.end(), sec, [](std::uint32_t v, const auto& p) { return v < p.section; });
    return {s.progs.data() + (first - s.progs.begin()), static_cast<std::size_t>(last - first)};
}

// libbpf's find_prog_by_sec_insn, within one section's programs (sorted by offset).
[[nodiscard]] constexpr const relocation_scratch::prog_range* find_program(std::span<const relocation_scratch::prog_range> progs,
                                                                           std::uint32_t insn) noexcept {
    const auto it = std::upper_bound(progs.begin(), progs.end(), insn, [](std::uint32_t v, const auto& p) { return v < p.first; });
    if (it == progs.begin()) return nullptr;
    const auto& p = *(it - 1);
    return insn < p.first + p.count ? &p : nullptr;
}
[[nodiscard]] constexpr const relocation_scratch::prog_range* find_program(const relocation_scratch& s, std::uint32_t sec,
                                                                           std::uint32_t insn) noexcept {
    return find_program(programs_of(s, sec), insn);
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

namespace detail {

// relocate_section's records of one .BTF.ext block.
template <class Targets, class OnReport>
constexpr bool relocate_block(const btf& local, const ext_section<core_relo>& block, std::uint32_t first_index, const section_code& code,
                              const relocation_scratch::prog_range& whole, Targets& targets, relocation_scratch& scratch,
                              const relocate_options& opts, relocation_summary& sum, OnReport& on_report) {
    for (std::uint32_t ri = 0; ri < block.size(); ++ri) {
        const core_relo rec = block[ri];
        relocation_report rep;
        rep.index = first_index + ri;
        rep.relo_index = ri;
        rep.section = block.section_name();
        rep.section_index = block.elf_index();
        rep.insn = rec.insn_off / 8;
        rep.kind = rec.kind;
        rep.local_type_id = rec.type_id;
        rep.access = local.string(rec.access_str_off);
        const auto* prog = code.programs ? find_program(*code.programs, rep.insn) : &whole;
        if (prog == nullptr || (opts.skip_non_autoload && !prog->section_name.empty() && prog->section_name[0] == '?')) {
            ++sum.skipped;  // eliminated weak subprogram, or a program libbpf would not load
            continue;
        }
        ++sum.total;
        rep.program = prog->name;
        rep.local_type_name = local[rec.type_id].name();
        scratch.specs[0].reset(&local, rec.type_id, rec.kind);  // a failure before parse_spec reports an empty spec
        rep.local_spec = &scratch.specs[0];
        if (const status st = relocate_record(local, rec, code.insns, code.order, targets, scratch, opts, rep); !st) {
            rep.outcome = relo_outcome::error;
            rep.err = st.error();  // the report itself says section, instruction and relocation index
            ++sum.errors;
            on_report(rep);
            if (opts.stop_at_first_error) return false;
            continue;
        }
        rep.outcome = rep.patch.poisoned ? relo_outcome::poisoned : relo_outcome::ok;
        ++(rep.patch.poisoned ? sum.poisoned : sum.ok);
        if (!warning_of(rep).empty()) ++sum.warnings;
        on_report(rep);
    }
    return true;
}

}  // namespace detail

// Relocates the CO-RE sites of one ELF section: the records .BTF.ext holds for `code.name` (every
// block of that name, in order), against `targets`, patching `code.insns` in place. Calls
// `on_report(const relocation_report&)` per relocation; reports carry the ELF section index only if
// `local` was given the object's section names. The candidate cache is the object's: sections of one
// object share it as long as they come with the same `local` (scratch.begin starts another object).
// A section without records is left as it is.
template <class Targets, class OnReport>
    requires candidate_source<std::remove_reference_t<Targets>>
constexpr result<relocation_summary> relocate_section(const object_btf& local, const section_code& code, Targets&& targets,
                                                      relocation_scratch& scratch, const relocate_options& opts, OnReport&& on_report) {
    relocation_summary sum;
    if (!local.has_ext() || local.ext().core_relo_count() == 0) return sum;
    if (!scratch.begun_for(local)) scratch.begin(local);
    const relocation_scratch::prog_range whole{0, 0, static_cast<std::uint32_t>(code.insns.size() / insn_const::insn_size), code.name, code.name};
    std::uint32_t index = 0;
    for (const auto block : local.ext().core_relos()) {
        if (block.section_name() == code.name &&
            !detail::relocate_block(local.btf(), block, index, code, whole, targets, scratch, opts, sum, on_report)) {
            return sum;
        }
        index += block.size();
    }
    return sum;
}

// The same from the raw bytes of the object's .BTF and .BTF.ext (either may be empty: none), as a
// loader that parsed the ELF itself holds them; the instructions are in .BTF's byte order, and the
// section is one program. The bytes are copied into `scratch` and parsed with bpf_object's checks and
// errors; calls with the same bytes continue one object (libbpf's candidate cache), other bytes
// start another. Allocates nothing once `scratch` has held an object as large.
template <class Targets, class OnReport>
    requires candidate_source<std::remove_reference_t<Targets>>
constexpr result<relocation_summary> relocate_section(std::string_view section, std::span<char> insns, byte_span btf_bytes,
                                                      byte_span ext_bytes, Targets&& targets, relocation_scratch& scratch,
                                                      const relocate_options& opts, OnReport&& on_report) {
    auto local = scratch.hold(btf_bytes, ext_bytes);
    if (!local) return local.error();
    return relocate_section(**local, section_code{section, insns, (*local)->order()}, targets, scratch, opts, on_report);
}

// Relocates every CO-RE site of `obj` against `targets`, patching `image` (a writable copy of the
// object's bytes): relocate_section for each section .BTF.ext names, in order, with the programs of
// the object's symbol table. Calls `on_report(const relocation_report&)` per relocation.
template <class Targets, class OnReport>
    requires candidate_source<std::remove_reference_t<Targets>>
constexpr result<relocation_summary> relocate_object(const bpf_object& obj, std::span<char> image, Targets&& targets,
                                                     relocation_scratch& scratch, const relocate_options& opts,
                                                     OnReport&& on_report) {
    relocation_summary sum;
    if (image.size() != obj.file().data().size()) return error(errc::out_of_range, "image size differs from the object").got(image.size()).limit(obj.file().data().size());
    if (!obj.has_ext() || obj.ext().core_relo_count() == 0) return sum;
    scratch.begin(obj.local());
    BTFKIT_TRY(detail::collect_programs(obj, scratch));
    const auto& blocks = obj.ext().core_relos();
    for (auto it = blocks.begin(); it != blocks.end(); ++it) {
        const auto block = *it;
        const std::uint32_t sec_idx = block.elf_index();
        if (block.section_name().empty() || sec_idx == 0) {
            return error(errc::not_found, "CO-RE records name a section the object does not have").in_section(".BTF.ext core_relo").got(block.section_name_off());
        }
        bool done = false;  // relocate_section took every block of this name at its first
        for (auto e = blocks.begin(); e != it && !done; ++e) done = (*e).section_name() == block.section_name();
        if (done) continue;
        const elf_section sec = obj.file().section(sec_idx);
        const std::size_t at = std::min<std::size_t>(static_cast<std::size_t>(sec.offset), image.size());
        const section_code code{block.section_name(), image.subspan(at, std::min<std::size_t>(static_cast<std::size_t>(sec.size), image.size() - at)),
                                obj.file().order(), detail::programs_of(scratch, sec_idx)};
        auto part = relocate_section(obj.local(), code, targets, scratch, opts, on_report);
        if (!part) return part.error();
        sum += *part;
        if (opts.stop_at_first_error && part->errors != 0) return sum;
    }
    return sum;
}

}  // namespace btfkit
