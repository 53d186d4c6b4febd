// Drivers of the relocation fuzz targets: fuzz_relocate (a fuzzed object relocated against real target
// BTFs and against its own .BTF) and fuzz_access (fuzzed access strings through the engine's four stages).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "btfkit.hpp"
#include "btfkit/core/attach.hpp"
#include "btfkit/core/externs.hpp"
#include "btfkit/core/relocate.hpp"
#include "drivers.hpp"

namespace btfkit::testing {

// The real BTFs in fuzz/targets/ (written by make_relocate_targets.py), read once; `dir` is that directory.
class relocation_env {
public:
    explicit relocation_env(const std::string& dir)
        : t1_(load(dir + "/core_kinds.t1.btf")), t1_be_(load(dir + "/core_kinds.t1.be.btf")),
          vmlinux_(load(dir + "/vmlinux-core.btf")), local_(load(dir + "/core_kinds.btf")),
          synthetic_le_(std::make_unique<split_detail::base_blob>(synthetic_base(byte_order::little).bytes())),
          synthetic_be_(std::make_unique<split_detail::base_blob>(synthetic_base(byte_order::big).bytes())),
          t1_ix_(t1_->parsed), t1_be_ix_(t1_be_->parsed), vmlinux_ix_(vmlinux_->parsed) {}

    [[nodiscard]] const btf& t1() const noexcept { return t1_->parsed; }                // core_kinds.t1 (LE)
    [[nodiscard]] const btf& t1_be() const noexcept { return t1_be_->parsed; }          // core_kinds.t1 (BE)
    [[nodiscard]] const btf& vmlinux() const noexcept { return vmlinux_->parsed; }      // cropped vmlinux
    [[nodiscard]] const btf& core_kinds() const noexcept { return local_->parsed; }     // core_kinds' local .BTF
    [[nodiscard]] const btf& synthetic(byte_order o) const noexcept {
        return (o == byte_order::little ? synthetic_le_ : synthetic_be_)->parsed;
    }
    [[nodiscard]] const indexed_target& t1_target() const noexcept { return t1_ix_; }
    [[nodiscard]] const indexed_target& t1_be_target() const noexcept { return t1_be_ix_; }
    [[nodiscard]] const indexed_target& vmlinux_target() const noexcept { return vmlinux_ix_; }

private:
    static std::unique_ptr<split_detail::base_blob> load(const std::string& path) {
        std::vector<char> bytes;
        if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
            char buf[65536];
            for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) bytes.insert(bytes.end(), buf, buf + n);
            std::fclose(f);
        }
        if (bytes.empty()) {
            std::fprintf(stderr, "cannot read %s (python3 fuzz/make_relocate_targets.py writes it)\n", path.c_str());
            std::abort();
        }
        return std::make_unique<split_detail::base_blob>(std::move(bytes));
    }

    std::unique_ptr<split_detail::base_blob> t1_, t1_be_, vmlinux_, local_, synthetic_le_, synthetic_be_;
    indexed_target t1_ix_, t1_be_ix_, vmlinux_ix_;
};

namespace relocate_detail {

[[nodiscard]] inline bool within(std::string_view s, byte_span in) noexcept {
    if (s.empty()) return true;
    const auto a = reinterpret_cast<std::uintptr_t>(s.data()), lo = reinterpret_cast<std::uintptr_t>(in.data());
    return a >= lo && a - lo <= in.size() && s.size() <= in.size() - (a - lo);
}

// Errors from the engine's stages: a code and a message (the report says where; no place demanded).
template <class W>
void check_stage_error(W& w, const error& e) {
    if (e.code == errc::ok) w.violation("stage error with errc::ok");
    if (e.what == nullptr || *e.what == '\0') w.violation("stage error without a description");
    if (e.message().empty()) w.violation("stage error with an empty message");
}

// What a spec's accessors promise calc_relo, which indexes members and enumerators without checks.
template <class W>
void check_spec(W& w, const core_spec& s, const btf& owner, std::uint32_t root) {
    if (s.owner != &owner) w.violation("spec owned by another BTF");
    if (s.root_type_id != root) w.violation("spec has another root type id");
    if (s.len > core_spec_max_len || s.raw_len > core_spec_max_len || s.len > s.raw_len) w.violation("spec lengths out of range");
    if (!is_type_based(s.kind) && s.len == 0) w.violation("field or enum spec without accessors");
    for (std::uint32_t i = 0; i < s.len && i < core_spec_max_len; ++i) {
        const core_accessor& a = s.spec[i];
        if (!owner.valid_id(a.type_id)) {
            w.violation("accessor type id past the end");
            continue;
        }
        const type t = owner[a.type_id];
        if (a.named) {
            const bool ok = is_enumval_based(s.kind) ? t.is_any_enum() : t.is_composite();
            if (!ok) w.violation("named accessor on a type without members / enumerators");
            else if (a.idx >= t.vlen()) w.violation("named accessor index past vlen");
        }
    }
}

// patch_insn's promises: what it says it wrote is there, with the value; poison is libbpf's call.
template <class W>
void check_patch(W& w, std::span<const char> code, byte_order order, const relo_res& res, const patch_outcome& p) {
    if (code.size() < insn_const::insn_size) {
        w.violation("instruction patched past the end of its section");
        return;
    }
    const insn after = decode_insn(code.data(), order);
    if (!(after == p.after)) w.violation("patched instruction differs from the reported one");
    if (res.poison && !p.poisoned) w.violation("poisoned result left unpoisoned");
    if (p.poisoned) {
        if (after.code != (insn_const::cls_jmp | insn_const::op_call) || after.imm != insn_const::poison_imm) w.violation("poisoned instruction is not libbpf's bad-relo call");
        return;
    }
    const std::uint64_t nv = res.new_val;
    switch (p.before.cls()) {
    case insn_const::cls_alu: case insn_const::cls_alu64:
        if (after.imm != static_cast<std::int32_t>(static_cast<std::uint32_t>(nv))) w.violation("ALU immediate is not the new value");
        break;
    case insn_const::cls_ldx: case insn_const::cls_st: case insn_const::cls_stx:
        if (static_cast<std::uint64_t>(after.off) != nv) w.violation("LDX/ST/STX offset is not the new value");
        break;
    case insn_const::cls_ld:
        if (code.size() >= 2 * insn_const::insn_size) {
            const insn second = decode_insn(code.data() + insn_const::insn_size, order);
            const std::uint64_t v = static_cast<std::uint32_t>(after.imm) | (std::uint64_t{static_cast<std::uint32_t>(second.imm)} << 32);
            if (v != nv) w.violation("LDIMM64 value is not the new value");
        }
        break;
    default:
        w.violation("instruction of a class patch_insn rejects was patched");
    }
}

// One relocation result, to compare two target implementations.
struct digest {
    std::uint32_t index = 0;
    relo_outcome outcome{};
    errc code{};
    relo_res res{};
    bool has_target = false;
    std::uint32_t target_type_id = 0, candidates = 0, matched = 0;
    insn after{};
    [[nodiscard]] bool same(const digest& o) const noexcept {
        return index == o.index && outcome == o.outcome && code == o.code && has_target == o.has_target &&
               target_type_id == o.target_type_id && candidates == o.candidates && matched == o.matched &&
               after == o.after && res.orig_val == o.res.orig_val && res.new_val == o.res.new_val &&
               res.poison == o.res.poison && res.validate == o.res.validate && res.orig_sz == o.res.orig_sz &&
               res.new_sz == o.res.new_sz && res.fail_memsz_adjust == o.res.fail_memsz_adjust;
    }
};

}  // namespace relocate_detail

// Working memory of run_relocate, reused across inputs (as a loader reuses its scratch across objects).
struct relocation_work {
    struct range {
        std::size_t at, end;
    };
    relocation_scratch scratch;
    std::vector<char> image;
    std::vector<range> patched;
    std::vector<relocate_detail::digest> by_index, by_scan;
    std::string text;
};

namespace relocate_detail {

// Relocates a fresh image of `in` against `targets`, checking every report, the summary, and that only the
// reported instructions changed. Appends a digest per report to `out` when given.
template <class W, class Targets>
void relocate_checked(W& w, const bpf_object& o, byte_span in, relocation_work& work, const Targets& targets,
                      const relocate_options& opts, std::vector<digest>* out = nullptr) {
    using range = relocation_work::range;
    auto& image = work.image;
    auto& patched = work.patched;
    auto& text = work.text;
    image.assign(in.begin(), in.end());
    patched.clear();
    text.clear();
    relocation_summary seen;
    auto r = relocate_object(o, std::span<char>(image), targets, work.scratch, opts, [&](const relocation_report& rep) {
        if (!within(rep.section, in) || !within(rep.program, in) || !within(rep.access, in) || !within(rep.local_type_name, in)) {
            w.violation("report view outside the input");
        }
        if (rep.section_index == 0 || rep.section_index >= o.file().section_count()) {
            w.violation("report section index out of range");
            return;
        }
        if (rep.matched > rep.candidates) w.violation("more candidates matched than considered");
        if (!o.btf().valid_id(rep.local_type_id)) w.violation("report local type id past the end");
        if (out != nullptr) {
            out->push_back(digest{rep.index, rep.outcome, rep.err.code, rep.res, rep.has_target, rep.target_type_id,
                                  rep.candidates, rep.matched, rep.patch.after});
        }
        if (rep.outcome == relo_outcome::error) {
            ++seen.errors;
            check_stage_error(w, rep.err);
            // No format_spec here: an error before parse_spec leaves local_spec at an earlier relocation's spec.
            text += rep.err.message();
            return;
        }
        ++(rep.outcome == relo_outcome::ok ? seen.ok : seen.poisoned);
        if (rep.local_spec == nullptr) {
            w.violation("successful report without a local spec");
            return;
        }
        check_spec(w, *rep.local_spec, o.btf(), rep.local_type_id);
        text += format_spec(*rep.local_spec);
        if (rep.has_target != (rep.target_spec != nullptr)) w.violation("has_target disagrees with target_spec");
        if (rep.target_spec != nullptr) {
            const btf* tb = rep.target_spec->owner;
            if (tb == nullptr || !tb->valid_id(rep.target_type_id)) {
                w.violation("target spec without a valid owner or type id");
            } else {
                check_spec(w, *rep.target_spec, *tb, rep.target_type_id);
                text += format_spec(*rep.target_spec);
            }
        }
        if ((rep.outcome == relo_outcome::poisoned) != rep.patch.poisoned) w.violation("outcome disagrees with the patch");
        const elf_section sec = o.file().section(rep.section_index);
        const std::size_t at = static_cast<std::size_t>(sec.offset) + std::size_t{rep.insn} * insn_const::insn_size;
        const std::size_t end = static_cast<std::size_t>(sec.offset + sec.size);
        if (at >= end || end > image.size()) {
            w.violation("patched instruction outside its section");
            return;
        }
        const std::span<const char> code(image.data() + at, end - at);
        check_patch(w, code, o.file().order(), rep.res, rep.patch);
        patched.push_back(range{at, at + std::min<std::size_t>(end - at, rep.patch.ldimm64 ? 16 : 8)});
    });
    if (!r) {
        w.check_error(r.error());
    } else {
        seen.total = seen.ok + seen.poisoned + seen.errors;
        if (r->total != seen.total || r->ok != seen.ok || r->poisoned != seen.poisoned || r->errors != seen.errors) {
            w.violation("summary disagrees with the reports");
        }
    }
    // Nothing but reported instructions changed (an error patches nothing): undo those, compare the rest.
    for (const range& p : patched) std::memcpy(image.data() + p.at, in.data() + p.at, p.end - p.at);
    if (!image.empty() && std::memcmp(image.data(), in.data(), image.size()) != 0) {
        w.violation("relocation changed a byte outside the reported instructions");
    }
    asm volatile("" : : "r"(text.size()));
}

// A kallsyms that knows every name, at an address made of the name: typeless ksyms resolve.
struct any_kallsyms {
    [[nodiscard]] constexpr result<std::optional<std::uint64_t>> address(std::string_view name, libbpf_compat) const noexcept {
        return std::optional<std::uint64_t>(0xffffffff80000000ull | name.size());
    }
};

// The object's kernel externs resolved on a fresh image against `targets`, and each program's load
// attributes: reports stay inside the input, the summary counts them, and only the reported
// instructions change.
template <class W, class Targets>
void externs_checked(W& w, const bpf_object& o, byte_span in, relocation_work& work, Targets& targets, libbpf_compat compat) {
    using range = relocation_work::range;
    auto& image = work.image;
    auto& patched = work.patched;
    image.assign(in.begin(), in.end());
    patched.clear();
    std::vector<std::uint32_t> fd_array;
    extern_summary seen;
    auto r = resolve_externs(o, std::span<char>(image), targets, any_kallsyms{}, extern_options{fd_encoding::btf_id, compat}, fd_array,
                             [&](const extern_report& rep) {
        if (!within(rep.section, in) || !within(rep.program, in) || rep.symbol == nullptr || !within(rep.symbol->name, in)) {
            w.violation("extern report view outside the input");
            return;
        }
        if (rep.section_index == 0 || rep.section_index >= o.file().section_count()) {
            w.violation("extern report section index out of range");
            return;
        }
        switch (rep.outcome) {
        case extern_outcome::resolved: ++seen.resolved; break;
        case extern_outcome::zero: ++seen.zero; break;
        case extern_outcome::poisoned: ++seen.poisoned; break;
        case extern_outcome::left: ++seen.left; break;
        case extern_outcome::error: ++seen.errors; check_stage_error(w, rep.err); break;
        }
        if (rep.binding->fd_slot != 0 && rep.binding->fd_slot >= fd_array.size() + 1) w.violation("fd_array slot past the array");
        const elf_section sec = o.file().section(rep.section_index);
        const std::size_t at = static_cast<std::size_t>(sec.offset) + std::size_t{rep.insn} * insn_const::insn_size;
        const std::size_t end = static_cast<std::size_t>(sec.offset + sec.size);
        const std::size_t len = rep.kind == extern_kind::kfunc_call ? 8 : 16;
        if (at + len > end || end > image.size()) {
            w.violation("extern instruction outside its section");
            return;
        }
        patched.push_back(range{at, at + len});
    });
    if (!r) {
        w.check_error(r.error());
    } else {
        seen.total = seen.resolved + seen.zero + seen.poisoned + seen.left + seen.errors;
        if (r->total != seen.total || r->resolved != seen.resolved || r->errors != seen.errors || r->poisoned != seen.poisoned) {
            w.violation("extern summary disagrees with the reports");
        }
        if (!fd_array.empty() && fd_array[0] != 0) w.violation("fd_array slot 0 used");
    }
    for (const range& p : patched) std::memcpy(image.data() + p.at, in.data() + p.at, p.end - p.at);
    if (!image.empty() && std::memcmp(image.data(), in.data(), image.size()) != 0) {
        w.violation("extern resolution changed a byte outside the reported instructions");
    }
    auto progs = o.for_each_program([&](const program& p) {
        auto l = resolve_program_load(targets, p.section_name, compat);
        if (!l) {
            w.check_error(l.error());
            return;
        }
        if (l->has_target && l->err.code != errc::ok) w.violation("program load with a target and an error");
        if (l->needs_attach_btf && !l->has_target && l->err.code == errc::ok) w.violation("BTF-attached program without target or error");
    });
    if (!progs) w.check_error(progs.error());
}

}  // namespace relocate_detail

// fuzz_relocate: the input as a BPF object, relocated in one of six ways, picked by the input's size so
// that each input always takes the same one: against core_kinds.t1 (LE) or the cropped vmlinux, with
// libbpf's defaults or without the FWD extension and fd encoding, searching all targets; against
// core_kinds.t1 BE; or against its own .BTF, through the index and through the linear scan, which
// must decide every relocation the same way.
template <class W>
void run_relocate(W& w, byte_span in, const relocation_env& env, relocation_work& work) {
    using namespace relocate_detail;
    auto o = bpf_object::parse(in);
    if (!o) {
        w.check_error(o.error());
        return;
    }
    const relocate_options defaults{};
    const relocate_options plain{.search_all_targets = true, .fwd_extension = false, .encoding = fd_encoding::none};
    // Then the object's kernel externs and attach targets, against the same BTF.
    const libbpf_compat compat = (in.size() & 64) != 0 ? libbpf_compat::v1_1 : libbpf_compat::v1_7;
    switch (in.size() % 6) {
    case 0: relocate_checked(w, *o, in, work, env.t1_target(), defaults); externs_checked(w, *o, in, work, env.t1_target(), compat); return;
    case 1: relocate_checked(w, *o, in, work, env.t1_target(), plain); return;
    case 2: relocate_checked(w, *o, in, work, env.t1_be_target(), defaults); externs_checked(w, *o, in, work, env.t1_be_target(), compat); return;
    case 3: relocate_checked(w, *o, in, work, env.vmlinux_target(), defaults); externs_checked(w, *o, in, work, env.vmlinux_target(), compat); return;
    case 4: relocate_checked(w, *o, in, work, env.vmlinux_target(), plain); return;
    default: break;
    }
    if (!o->has_btf()) return;
    const relocate_options self{.fwd_extension = (in.size() & 8) == 0, .skip_non_autoload = (in.size() & 16) == 0,
                                .stop_at_first_error = (in.size() & 32) != 0,
                                .compat = (in.size() & 64) != 0 ? libbpf_compat::v1_1 : libbpf_compat::v1_7};
    work.by_index.clear();
    work.by_scan.clear();
    relocate_checked(w, *o, in, work, indexed_target(o->btf()), self, &work.by_index);
    relocate_checked(w, *o, in, work, single_target(o->btf()), self, &work.by_scan);
    bool same = work.by_index.size() == work.by_scan.size();
    for (std::size_t i = 0; same && i < work.by_index.size(); ++i) same = work.by_index[i].same(work.by_scan[i]);
    if (!same) w.violation("indexed_target and single_target decide a relocation differently");
}

// fuzz_access input:
//   [0..1] root type id, u16 LE, modulo the local type count + 2 (so ids past the end too)
//   [2]    relo_kind (low 4 bits: 13..15 are unknown kinds); bit 4: the FWD extension; bit 5: libbpf 1.1's rules
//   [3]    BTF pair (low 2 bits): 0 synthetic base LE against itself, 1 synthetic LE against the same
//          graph in BE, 2 core_kinds' local .BTF against core_kinds.t1, 3 the same against core_kinds.t1 BE
//   [4]    instruction: low 3 bits the form (ALU64 mov imm, ALU32 add imm, ALU reg, LDX, STX, ST, LDIMM64,
//          call), bits 3-4 the load/store size, bit 5 a wrong old value, bit 6 only 8 bytes of code,
//          bit 7 only 4 bytes
//   rest   the access string
// The local spec is matched against every type of the target BTF, as libbpf would a candidate; each match
// is computed and patched, and so is "no candidate".
template <class W>
void run_access(W& w, byte_span in, const relocation_env& env, core_spec (&specs)[2]) {
    using namespace relocate_detail;
    if (in.size() < 5) return;
    auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(in[i]); };
    const std::uint32_t pair = byte(3) & 3u;
    const btf& local = pair < 2 ? env.synthetic(byte_order::little) : env.core_kinds();
    const btf& target = pair == 0 ? local : pair == 1 ? env.synthetic(byte_order::big) : pair == 2 ? env.t1() : env.t1_be();
    const std::uint32_t root = (byte(0) | std::uint32_t{byte(1)} << 8) % (local.type_count() + 2);
    const auto rk = static_cast<relo_kind>(byte(2) & 0x0f);
    const bool fwd_ext = (byte(2) & 0x10) != 0;
    const core_rules rules = rules_of((byte(2) & 0x20) != 0 ? libbpf_compat::v1_1 : libbpf_compat::v1_7);
    const std::string_view access(in.data() + 5, in.size() - 5);
    core_spec& ls = specs[0];
    core_spec& ts = specs[1];

    auto st = parse_spec(local, root, access, rk, ls);
    if (!st) {
        check_stage_error(w, st.error());
        return;
    }
    check_spec(w, ls, local, root);
    std::string text = format_spec(ls);

    const std::uint8_t form = byte(4);
    auto patch = [&](const relo_res& res) {
        static constexpr std::uint8_t codes[] = {0xb7, 0x04, 0x0f, 0x61, 0x63, 0x62, 0x18, 0x85};
        std::uint8_t code = codes[form & 7];
        if (code == 0x61 || code == 0x63 || code == 0x62) code = static_cast<std::uint8_t>((code & ~0x18) | (form & 0x18));
        const std::uint64_t old = res.orig_val + ((form & 0x20) ? 1 : 0);
        insn first{code, 1, 2, 0, 0}, second{};
        if ((form & 7) == 6) {
            first.src = 0;
            first.imm = static_cast<std::int32_t>(static_cast<std::uint32_t>(old));
            second.imm = static_cast<std::int32_t>(static_cast<std::uint32_t>(old >> 32));
        } else if (code == 0x61 || code == 0x63 || code == 0x62) {
            first.off = static_cast<std::int16_t>(old);
        } else {
            first.imm = static_cast<std::int32_t>(static_cast<std::uint32_t>(old));
        }
        const std::size_t n = (form & 0x80) ? 4 : (form & 0x40) ? 8 : 16;
        std::vector<char> buf(16);
        encode_insn(buf.data(), first, local.order());
        encode_insn(buf.data() + 8, second, local.order());
        buf.resize(n);  // exactly the bytes patch_insn may touch, so ASan sees any write past them
        const std::vector<char> before = buf;
        auto p = patch_insn(std::span<char>(buf), local.order(), res);
        if (!p) {
            check_stage_error(w, p.error());
            if (buf != before) w.violation("patch_insn failed but changed the instruction");
            return;
        }
        check_patch(w, buf, local.order(), res, *p);
        if (!p->ldimm64 && n > 8 && !std::equal(buf.begin() + 8, buf.end(), before.begin() + 8)) w.violation("patch_insn wrote past one instruction");
    };

    relo_res res;
    if (auto c = calc_relo(rk, ls, nullptr, res, fwd_ext, rules)) patch(res);
    else check_stage_error(w, c.error());

    for (std::uint32_t tid = 1; tid < target.type_count(); ++tid) {
        auto m = match_spec(ls, target, tid, ts, match_options{fwd_ext});
        if (!m) {
            check_stage_error(w, m.error());
            continue;
        }
        if (!*m) continue;
        check_spec(w, ts, target, tid);
        text += format_spec(ts);
        if (auto c = calc_relo(rk, ls, &ts, res, fwd_ext, rules)) patch(res);
        else check_stage_error(w, c.error());
    }
    asm volatile("" : : "r"(text.size()));
}

}  // namespace btfkit::testing
