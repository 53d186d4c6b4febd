// Which types and members of the target BTFs the CO-RE relocations of objects need: bpftool's BTFGen
// rules per relocation kind (gen.c), applied to every candidate a relocation matches.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "../core/candidates.hpp"
#include "../core/match.hpp"
#include "../core/relo_rules.hpp"
#include "../core/relocate.hpp"
#include "../core/spec.hpp"
#include "../error.hpp"
#include "../format/bpf_object.hpp"
#include "../format/btf.hpp"

namespace btfkit {

// How a type is kept, as bpftool's btfgen_mark_type / btfgen_mark_type_match keep it. A kept STRUCT or
// UNION keeps its name and size, and only the members marked on their own.
enum class keep : std::uint8_t {
    type = 1,          // the type and what it is made of, not what a pointer points to (field, enum value)
    type_deep = 2,     // ... and what pointers point to (TYPE_ID_TARGET, TYPE_EXISTS, TYPE_SIZE)
    match = 4,         // with every member, recursively, up to pointers (TYPE_MATCHES)
    match_behind = 8,  // reached through a pointer by TYPE_MATCHES: a composite without its members
};

// The marks on one BTF's own types: which types are kept, and which members of kept composites.
class btf_marks {
public:
    constexpr btf_marks() noexcept = default;
    constexpr explicit btf_marks(const btf& b) : btf_(&b) {
        flags_.resize(b.own_count(), 0);
        members_at_.resize(b.own_count(), 0);
    }

    [[nodiscard]] constexpr const btf* source() const noexcept { return btf_; }
    [[nodiscard]] constexpr std::uint32_t marked_count() const noexcept { return marked_; }
    // `id` is an own id of source().
    [[nodiscard]] constexpr bool marked(std::uint32_t id) const noexcept { return flags_[id - btf_->first_id()] != 0; }
    // Whether kept type `id` keeps its index among the BTF's own types (keep_position).
    [[nodiscard]] constexpr bool keeps_position(std::uint32_t id) const noexcept { return (flags_[id - btf_->first_id()] & position_bit) != 0; }
    [[nodiscard]] constexpr bool member_marked(std::uint32_t id, std::uint32_t idx) const noexcept {
        const std::uint32_t at = members_at_[id - btf_->first_id()];
        return at != 0 && member_bits_[at - 1 + idx] != 0;
    }

    // Adds `how` to own type `id`; false if it had it already (nothing new to follow).
    constexpr bool add(std::uint32_t id, keep how) {
        std::uint8_t& f = flags_[id - btf_->first_id()];
        const auto bit = static_cast<std::uint8_t>(how);
        if ((f & bit) != 0) return false;
        if (f == 0) ++marked_;
        f = static_cast<std::uint8_t>(f | bit);
        return true;
    }
    // Kept type `id` keeps its index among the own types (min_btf.hpp pads before it), so that its id
    // compares with other BTFs' ids as in the source: see mark_object.
    constexpr void keep_position(std::uint32_t id) {
        std::uint8_t& f = flags_[id - btf_->first_id()];
        f = static_cast<std::uint8_t>(f | position_bit);
    }
    // Marks member `idx` of own composite `id`.
    constexpr void add_member(std::uint32_t id, std::uint32_t idx) {
        std::uint32_t& at = members_at_[id - btf_->first_id()];
        if (at == 0) {
            at = static_cast<std::uint32_t>(member_bits_.size()) + 1;
            member_bits_.resize(member_bits_.size() + (*btf_)[id].vlen(), 0);
        }
        member_bits_[at - 1 + idx] = 1;
    }

private:
    static constexpr std::uint8_t position_bit = 0x10;
    const btf* btf_ = nullptr;
    std::vector<std::uint8_t> flags_{};          // per own type: the keep bits it was marked with, position_bit
    std::vector<std::uint32_t> members_at_{};    // per own type: 1 + its first member bit, 0 if none
    std::vector<std::uint8_t> member_bits_{};
    std::uint32_t marked_ = 0;
};

// The marks on every target of a target source: target 0 is vmlinux, whose types a module's ids below
// its first id name.
class core_marks {
public:
    // The marks of `target`, whose BTF is `b`; made empty on first use.
    constexpr btf_marks& of(std::uint32_t target, const btf& b) {
        while (marks_.size() <= target) marks_.emplace_back();
        if (marks_[target].source() == nullptr) marks_[target] = btf_marks(b);
        return marks_[target];
    }
    // The marks of `target`, or nullptr if nothing was marked there.
    [[nodiscard]] constexpr const btf_marks* find(std::uint32_t target) const noexcept {
        return target < marks_.size() && marks_[target].source() != nullptr ? &marks_[target] : nullptr;
    }
    [[nodiscard]] constexpr std::uint32_t target_count() const noexcept { return static_cast<std::uint32_t>(marks_.size()); }

    // Keeps type `id` of `b` (target `target`) and what it needs, by bpftool's rules for `how`.
    constexpr status keep_type(std::uint32_t target, const btf& b, std::uint32_t id, keep how);
    // Keeps what a relocation of kind `k` resolved to `targ` (a target spec, in target `target`) needs:
    // fields keep the root type and each member on the access path with its type; type relocations the
    // type, following pointers (TYPE_MATCHES: every member, recursively, up to pointers); enumerator
    // relocations the enum. TYPE_ID_LOCAL needs nothing of the target.
    constexpr status keep_relocation(relo_kind k, const core_spec& targ, std::uint32_t target);
    // Kept type `id` of `b` (target `target`) keeps its index among its BTF's own types.
    constexpr void keep_position(std::uint32_t target, const btf& b, std::uint32_t id) {
        const btf* owner = &b;
        owner_of(target, owner, id).keep_position(id);
    }

private:
    struct item {
        std::uint32_t target = 0;
        const btf* owner = nullptr;
        std::uint32_t id = 0;
        keep how{};
    };
    // The marks that own `id` of `b`: the base's (target 0) for a split BTF's base ids.
    constexpr btf_marks& owner_of(std::uint32_t& target, const btf*& b, std::uint32_t id) {
        while (id < b->first_id() && b->base() != nullptr) {
            b = b->base();
            target = 0;
        }
        return of(target, *b);
    }
    constexpr status keep_field_path(const core_spec& targ, std::uint32_t target);

    std::vector<btf_marks> marks_{};
    std::vector<item> work_{};
};

constexpr status core_marks::keep_type(std::uint32_t target, const btf& b, std::uint32_t id, keep how) {
    work_.clear();
    work_.push_back(item{target, &b, id, how});
    while (!work_.empty()) {
        item w = work_.back();
        work_.pop_back();
        if (w.id == 0) continue;
        if (!w.owner->valid_id(w.id)) return error(errc::bad_type_id, "kept type refers to a type past the end").got(w.id).limit(w.owner->type_count());
        btf_marks& m = owner_of(w.target, w.owner, w.id);
        if (!m.add(w.id, w.how)) continue;
        const type t = (*w.owner)[w.id];
        auto push = [&](std::uint32_t ref, keep h) { work_.push_back(item{w.target, w.owner, ref, h}); };
        const bool matching = w.how == keep::match || w.how == keep::match_behind;
        switch (t.kind()) {
        case kind::ptr:
            // btfgen_mark_type follows pointers only for type relocations; btfgen_mark_type_match always,
            // marking what they point to as behind a pointer.
            if (w.how == keep::type_deep) push(t.ref(), keep::type_deep);
            else if (matching) push(t.ref(), keep::match_behind);
            break;
        case kind::struct_: case kind::union_:
            if (w.how == keep::match) {
                std::uint32_t i = 0;
                for (const member mb : t.members()) {
                    m.add_member(w.id, i++);
                    push(mb.type, keep::match);
                }
            }
            break;
        case kind::array: {
            const array_info a = t.array();
            const keep h = matching ? keep::match : w.how;  // array elements are not behind a pointer
            push(a.type, h);
            push(a.index_type, h);
            break;
        }
        case kind::func_proto: {
            const keep h = matching ? keep::match : w.how;
            push(t.ref(), h);
            for (const param p : t.params()) push(p.type, h);
            break;
        }
        case kind::typedef_: case kind::volatile_: case kind::const_: case kind::restrict_: case kind::type_tag:
        case kind::func: case kind::var: case kind::decl_tag:
            push(t.ref(), w.how);
            break;
        case kind::datasec:
            for (const datasec_var v : t.vars()) push(v.type, w.how);
            break;
        default:  // INT, FLOAT, ENUM, ENUM64, FWD: nothing else
            break;
        }
    }
    return {};
}

// btfgen_record_field_relo: the root, then along the target's raw access path each member and its type.
constexpr status core_marks::keep_field_path(const core_spec& targ, std::uint32_t target) {
    const btf& b = *targ.owner;
    BTFKIT_TRY(keep_type(target, b, targ.root_type_id, keep::type));
    std::uint32_t id = targ.root_type_id;
    for (std::uint32_t i = 1; i < targ.raw_len; ++i) {
        auto tr = b.skip_mods_and_typedefs(id);
        if (!tr) return tr.error();
        const type t = *tr;
        id = t.id();
        if (t.is_composite()) {
            const std::uint32_t idx = targ.raw[i];
            if (idx >= t.vlen()) return error(errc::bad_access, "target access path past a composite's members").at_type(id).got(idx).limit(t.vlen());
            std::uint32_t owner_target = target;
            const btf* owner = &b;
            owner_of(owner_target, owner, id).add_member(id, idx);
            id = t.members()[idx].type;
            BTFKIT_TRY(keep_type(target, b, id, keep::type));
        } else if (t.is(kind::array)) {
            id = t.array().type;
        } else {
            return error(errc::bad_access, "target access path steps into a type that is neither composite nor array").at_type(id);
        }
    }
    return {};
}

constexpr status core_marks::keep_relocation(relo_kind k, const core_spec& targ, std::uint32_t target) {
    switch (class_of(k)) {
    case relo_class::field:
        return keep_field_path(targ, target);
    case relo_class::type:
        if (k == relo_kind::type_id_local) return {};
        return keep_type(target, *targ.owner, targ.root_type_id, k == relo_kind::type_matches ? keep::match : keep::type_deep);
    case relo_class::enumval:
        return keep_type(target, *targ.owner, targ.root_type_id, keep::type);
    case relo_class::unknown:
        break;
    }
    return error(errc::unsupported, "unknown relocation kind").got(static_cast<std::uint32_t>(k));
}

// How mark_object decides.
struct mark_options {
    // Marks for btfkit's FWD extension (a local FWD matching a target STRUCT/UNION) as well as for
    // libbpf's rules; they differ only for relocations of a local FWD.
    bool fwd_extension = true;
};

// Working memory of mark_object, reusable across objects.
struct mark_scratch {
    relocation_scratch relocation{};  // programs, and the candidates by libbpf's rules
    relocation_scratch fwd{};         // the candidates of local FWDs under the FWD extension
    std::vector<candidate> type_id_matches{};  // a TYPE_ID_TARGET record's matches in modules
};

// Marks in `marks` what the CO-RE relocations of `obj` need of `targets` (a target source, as for
// relocate_object). Every record is taken, also of programs a loader would not load by default
// (SEC("?...")), but those of eliminated weak subprograms, which no loader relocates, and those of an
// anonymous type or with a malformed local spec, which fail against any target. Every candidate a record matches keeps what
// the record needs of it (bpftool keeps only the first): then each list a loader prunes to a record's
// matches stays, in the minimised BTF, the list it was, whatever order of records the loader takes.
// A match that fails (a nesting bound) is an error, as in bpftool. The ids of a TYPE_ID_TARGET's
// matches in modules keep comparing as they did (whether its candidates agree depends on it).
//
// Only matches are kept. A list none of whose candidates matched is then empty in the minimised BTF,
// which a loader treats as it treats no match. Nor does an emptied vmlinux list send the search on to
// the modules and find more there: the candidates of a name and kind class come from the modules only
// when vmlinux has none, so no module type of that name and class is ever kept. The FWD extension's
// second round (target FWDs) is reached only when its first round (STRUCT/UNION) is empty, and a
// first-round candidate always matches a local FWD.
template <class Targets>
constexpr status mark_object(const bpf_object& obj, Targets& targets, core_marks& marks, mark_scratch& s,
                             const mark_options& o = {}) {
    if (!obj.has_ext() || obj.ext().core_relo_count() == 0) return {};
    const btf& local = obj.btf();
    relocate_options ropts;
    ropts.fwd_extension = false;
    relocate_options fopts;
    fopts.fwd_extension = true;
    s.relocation.reset(local.type_count());
    s.fwd.reset(local.type_count());
    BTFKIT_TRY(detail::collect_programs(obj, s.relocation));
    core_spec& local_spec = s.relocation.specs[0];
    core_spec& targ_spec = s.relocation.specs[1];
    std::uint32_t index = 0;
    for (const auto block : obj.ext().core_relos()) {
        for (std::uint32_t ri = 0; ri < block.size(); ++ri, ++index) {
            const core_relo rec = block[ri];
            auto where = [&](const error& e) {
                return e.in_section(".BTF.ext core_relo").at_index("relocation", index);
            };
            if (detail::find_program(s.relocation, block.elf_index(), rec.insn_off / 8) == nullptr) continue;
            if (rec.kind == relo_kind::type_id_local) continue;
            const type local_t = local[rec.type_id];
            // A record of an anonymous type (no candidate search) or with a malformed local spec fails
            // against any target: nothing to keep for it.
            if (local_t.name().empty()) continue;
            if (!parse_spec(local, rec.type_id, local.string(rec.access_str_off), rec.kind, local_spec)) continue;
            const bool both = o.fwd_extension && local_t.is(kind::fwd);
            for (int pass = 0; pass < (both ? 2 : 1); ++pass) {
                relocation_scratch& rs = pass == 0 ? s.relocation : s.fwd;
                const relocate_options& opts = pass == 0 ? ropts : fopts;
                auto list = detail::candidates_of(targets, local_t, rec.type_id, opts, rs);
                if (!list) return where(list.error());
                s.type_id_matches.clear();
                for (std::uint32_t i = 0; i < (*list)->len; ++i) {
                    const candidate c = rs.cands[(*list)->begin + i];
                    auto m = match_spec(local_spec, *c.owner, c.id, targ_spec, match_options{opts.fwd_extension});
                    if (!m) return where(m.error());
                    if (!*m) continue;
                    BTFKIT_TRY(marks.keep_relocation(rec.kind, targ_spec, c.target));
                    if (rec.kind == relo_kind::type_id_target && c.id >= c.owner->first_id() && c.owner->base() != nullptr) {
                        s.type_id_matches.push_back(c);
                    }
                }
                // TYPE_ID_TARGET matches in several modules agree only if their ids are equal: equal
                // when their indexes among their modules' own types are, as all continue one base.
                // Those keep their indexes, so that the minimised modules agree exactly where these do.
                if (s.type_id_matches.size() > 1) {
                    for (const candidate& c : s.type_id_matches) marks.keep_position(c.target, *c.owner, c.id);
                }
            }
        }
    }
    return {};
}

}  // namespace btfkit
