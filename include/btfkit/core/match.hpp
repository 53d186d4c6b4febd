// Stage 2 of CO-RE: whether a candidate target type matches a local spec, and the target spec it
// gives (libbpf's bpf_core_spec_match, its type and field compatibility checks, TYPE_MATCHES).
#pragma once

#include <cstdint>
#include <string_view>

#include "../error.hpp"
#include "../format/btf.hpp"
#include "relo_rules.hpp"
#include "spec.hpp"

namespace btfkit {

namespace detail {

[[nodiscard]] constexpr error relo_error(errc c, const char* what, std::uint32_t type_id) noexcept {
    return error(c, what).at_type(type_id);
}

// The number of high-level accessors a composite nesting can add is bounded by core_spec_max_len.
constexpr result<bool> types_are_compat(const btf& lb, std::uint32_t lid, const btf& tb, std::uint32_t tid, int level,
                                        bool fwd_ext) noexcept {
    {
        const type lt = lb[lid], tt = tb[tid];
        if (!kinds_core_compat(lt.kind(), tt.kind()) && !(fwd_ext && fwd_resolves_to(lt.kind(), lt.kflag(), tt.kind()))) return false;
    }
    bool at_root = true;  // the FWD extension applies to the relocated type itself, not to what it points to
    for (int depth = 32; depth-- > 0;) {
        auto l = lb.skip_mods_and_typedefs(lid);
        if (!l) return l.error();
        auto t = tb.skip_mods_and_typedefs(tid);
        if (!t) return t.error();
        lid = l->id();
        tid = t->id();
        if (!kinds_core_compat(l->kind(), t->kind())) {
            return at_root && fwd_ext && fwd_resolves_to(l->kind(), l->kflag(), t->kind());
        }
        at_root = false;
        switch (l->kind()) {
        case kind::unknown: case kind::struct_: case kind::union_: case kind::enum_: case kind::fwd: case kind::enum64:
            return true;
        case kind::int_:
            return l->int_offset() == 0 && t->int_offset() == 0;
        case kind::ptr:
            lid = l->ref();
            tid = t->ref();
            continue;
        case kind::array:
            lid = l->array().type;
            tid = t->array().type;
            continue;
        case kind::func_proto: {
            if (l->vlen() != t->vlen()) return false;
            const auto lp = l->params(), tp = t->params();
            for (std::uint32_t i = 0; i < lp.size(); ++i) {
                if (level <= 0) return error(errc::too_deep, "function prototype nesting too deep").at_type(lid);
                auto a = lb.skip_mods_and_typedefs(lp[i].type);
                if (!a) return a.error();
                auto b = tb.skip_mods_and_typedefs(tp[i].type);
                if (!b) return b.error();
                auto r = types_are_compat(lb, a->id(), tb, b->id(), level - 1, fwd_ext);
                if (!r || !*r) return r;
            }
            auto a = lb.skip_mods_and_typedefs(l->ref());
            if (!a) return a.error();
            auto b = tb.skip_mods_and_typedefs(t->ref());
            if (!b) return b.error();
            lid = a->id();
            tid = b->id();
            continue;
        }
        default:
            return false;
        }
    }
    return error(errc::too_deep, "type compatibility check too deep").at_type(lid);
}

// Field compatibility (libbpf's bpf_core_fields_are_compat).
constexpr result<bool> fields_are_compat(const btf& lb, std::uint32_t lid, const btf& tb, std::uint32_t tid) noexcept {
    for (std::uint32_t depth = 0; depth < core_spec_max_len; ++depth) {
        auto l = lb.skip_mods_and_typedefs(lid);
        if (!l) return l.error();
        auto t = tb.skip_mods_and_typedefs(tid);
        if (!t) return t.error();
        if (l->is_composite() && t->is_composite()) return true;
        if (!kinds_core_compat(l->kind(), t->kind())) return false;
        switch (l->kind()) {
        case kind::ptr: case kind::float_:
            return true;
        case kind::fwd: case kind::enum_: case kind::enum64: {
            const std::string_view ln = l->name(), tn = t->name();
            const std::size_t ll = essential_name_len(ln), tl = essential_name_len(tn);
            return ll == 0 || tl == 0 || (ll == tl && ln.substr(0, ll) == tn.substr(0, tl));
        }
        case kind::int_:
            return l->int_offset() == 0 && t->int_offset() == 0;
        case kind::array:
            lid = l->array().type;
            tid = t->array().type;
            continue;
        default:
            return false;
        }
    }
    return error(errc::too_deep, "array nesting too deep in field compatibility").at_type(lid);
}

[[nodiscard]] constexpr bool names_match(std::string_view local, std::string_view target) noexcept {
    if (target.empty()) return local.empty();
    const std::size_t tl = essential_name_len(target), ll = essential_name_len(local);
    return tl == ll && local.substr(0, ll) == target.substr(0, tl);
}

constexpr result<bool> types_match(const btf& lb, std::uint32_t lid, const btf& tb, std::uint32_t tid, bool behind_ptr,
                                   int level, bool fwd_ext, bool root);

constexpr result<bool> composites_match(const btf& lb, const type& lt, const btf& tb, const type& tt, bool behind_ptr,
                                        int level, bool fwd_ext) {
    if (lt.vlen() > tt.vlen()) return false;
    const auto lm = lt.members(), tm = tt.members();
    for (std::uint32_t i = 0; i < lm.size(); ++i) {
        const member l = lm[i];
        bool matched = false;
        for (std::uint32_t j = 0; j < tm.size() && !matched; ++j) {
            const member t = tm[j];
            if (!names_match(lb.string(l.name_off), tb.string(t.name_off))) continue;
            auto r = types_match(lb, l.type, tb, t.type, behind_ptr, level - 1, fwd_ext, false);
            if (!r) return r;
            matched = *r;
        }
        if (!matched) return false;
    }
    return true;
}

[[nodiscard]] constexpr bool enums_match(const btf& lb, const type& lt, const btf& tb, const type& tt) noexcept {
    if (lt.size() != tt.size() || lt.vlen() > tt.vlen()) return false;
    const auto le = lt.enumerators(), te = tt.enumerators();
    for (std::uint32_t i = 0; i < le.size(); ++i) {
        bool matched = false;
        for (std::uint32_t j = 0; j < te.size() && !matched; ++j) {
            matched = names_match(lb.string(le[i].name_off), tb.string(te[j].name_off));
        }
        if (!matched) return false;
    }
    return true;
}

// TYPE_MATCHES (libbpf's __bpf_core_types_match). `root` enables the FWD extension at the top level only.
constexpr result<bool> types_match(const btf& lb, std::uint32_t lid, const btf& tb, std::uint32_t tid, bool behind_ptr,
                                   int level, bool fwd_ext, bool root) {
    if (level <= 0) return error(errc::too_deep, "type match nesting too deep").at_type(lid);
    for (int depth = 32; depth-- > 0;) {
        auto lr = lb.skip_mods_and_typedefs(lid);
        if (!lr) return lr.error();
        auto tr = tb.skip_mods_and_typedefs(tid);
        if (!tr) return tr.error();
        const type l = *lr, t = *tr;
        lid = l.id();
        tid = t.id();
        if (!names_match(l.name(), t.name())) return false;
        const kind lk = l.kind(), tk = t.kind();
        switch (lk) {
        case kind::unknown:
            return lk == tk;
        case kind::fwd:
            if (behind_ptr) {
                if (lk == tk) return l.kflag() == t.kflag();
                return (tk == kind::struct_ && !l.kflag()) || (tk == kind::union_ && l.kflag());
            }
            if (root && fwd_ext && fwd_resolves_to(lk, l.kflag(), tk)) return true;
            if (lk != tk) return false;
            return l.kflag() == t.kflag();
        case kind::enum_: case kind::enum64:
            if (!t.is_any_enum()) return false;
            return enums_match(lb, l, tb, t);
        case kind::struct_: case kind::union_:
            if (behind_ptr) {
                if (lk == tk) return true;
                if (tk != kind::fwd) return false;
                return (lk == kind::union_) == t.kflag();
            }
            if (lk != tk) return false;
            return composites_match(lb, l, tb, t, behind_ptr, level, fwd_ext);
        case kind::int_:
            if (lk != tk) return false;
            return l.size() == t.size() && (l.int_encoding() & int_signed) == (t.int_encoding() & int_signed);
        case kind::ptr:
            if (lk != tk) return false;
            behind_ptr = true;
            lid = l.ref();
            tid = t.ref();
            root = false;
            continue;
        case kind::array: {
            if (lk != tk) return false;
            const auto la = l.array(), ta = t.array();
            if (la.nelems != ta.nelems) return false;
            lid = la.type;
            tid = ta.type;
            root = false;
            continue;
        }
        case kind::func_proto: {
            if (lk != tk || l.vlen() != t.vlen()) return false;
            const auto lp = l.params(), tp = t.params();
            for (std::uint32_t i = 0; i < lp.size(); ++i) {
                auto r = types_match(lb, lp[i].type, tb, tp[i].type, behind_ptr, level - 1, fwd_ext, false);
                if (!r || !*r) return r;
            }
            lid = l.ref();
            tid = t.ref();
            root = false;
            continue;
        }
        default:
            return false;
        }
    }
    return error(errc::too_deep, "type match chain too deep").at_type(lid);
}


}  // namespace detail

namespace detail {

// Finds a local named field inside a target composite, descending into anonymous members.
constexpr result<bool> match_member(const btf& lb, const core_accessor& lacc, const btf& tb, std::uint32_t tid,
                                    core_spec& spec, std::uint32_t& next_tid) noexcept {
    auto tr = tb.skip_mods_and_typedefs(tid);
    if (!tr) return tr.error();
    const type t = *tr;
    tid = t.id();
    if (!t.is_composite()) return false;
    const member lm = lb[lacc.type_id].members()[lacc.idx];
    const std::string_view lname = lb.string(lm.name_off);
    const auto members = t.members();
    for (std::uint32_t i = 0; i < members.size(); ++i) {
        const member m = members[i];
        if (spec.raw_len == core_spec_max_len) return error(errc::too_deep, "struct/union/array nesting too deep").at_type(tid);
        spec.bit_offset += m.bit_offset;
        spec.raw[spec.raw_len++] = i;
        const std::string_view tname = tb.string(m.name_off);
        if (tname.empty()) {
            auto found = match_member(lb, lacc, tb, m.type, spec, next_tid);
            if (!found || *found) return found;
        } else if (lname == tname) {
            spec.spec[spec.len++] = core_accessor{tid, i, tname, true};
            next_tid = m.type;
            auto ok = fields_are_compat(lb, lm.type, tb, m.type);
            if (ok && !*ok) --spec.len;
            return ok;
        }
        spec.bit_offset -= m.bit_offset;
        --spec.raw_len;
    }
    return false;
}

}  // namespace detail

struct match_options {
    bool fwd_extension = true;
};

// Stage 2: match a local spec against one candidate, producing the target spec (libbpf's bpf_core_spec_match).
constexpr result<bool> match_spec(const core_spec& local, const btf& tb, std::uint32_t tid, core_spec& targ,
                                  match_options opts = {}) noexcept {
    targ.reset(&tb, tid, local.kind);
    const btf& lb = *local.owner;
    if (is_type_based(local.kind)) {
        if (local.kind == relo_kind::type_matches) {
            return detail::types_match(lb, local.root_type_id, tb, tid, false, compat_max_level, opts.fwd_extension, true);
        }
        return detail::types_are_compat(lb, local.root_type_id, tb, tid, compat_max_level, opts.fwd_extension);
    }
    if (is_enumval_based(local.kind)) {
        auto tr = tb.skip_mods_and_typedefs(tid);
        if (!tr) return tr.error();
        const type t = *tr;
        if (!t.is_any_enum()) return false;
        const std::string_view lname = local.spec[0].name;
        const std::size_t ll = essential_name_len(lname);
        const auto en = t.enumerators();
        for (std::uint32_t i = 0; i < en.size(); ++i) {
            const std::string_view tn = tb.string(en[i].name_off);
            if (essential_name_len(tn) != ll || tn.substr(0, ll) != lname.substr(0, ll)) continue;
            targ.spec[0] = core_accessor{t.id(), i, tn, true};
            targ.len = 1;
            targ.raw[0] = i;
            targ.raw_len = 1;
            return true;
        }
        return false;
    }
    if (!is_field_based(local.kind)) return error(errc::unsupported, "unknown relocation kind").got(static_cast<std::uint32_t>(local.kind));

    for (std::uint32_t i = 0; i < local.len; ++i) {
        auto tr = tb.skip_mods_and_typedefs(tid);
        if (!tr) return tr.error();
        tid = tr->id();
        const core_accessor& lacc = local.spec[i];
        if (lacc.named) {
            auto m = detail::match_member(lb, lacc, tb, tid, targ, tid);
            if (!m || !*m) return m;
        } else {
            if (i > 0) {
                const type t = *tr;
                if (!t.is(kind::array)) return false;
                const array_info a = t.array();
                const bool flex = detail::is_flex_arr(tb, targ.spec[targ.len - 1], a);
                if (!flex && lacc.idx >= a.nelems) return false;
                auto elem = tb.skip_mods_and_typedefs(a.type);
                if (!elem) return elem.error();
                tid = elem->id();
            }
            if (targ.raw_len == core_spec_max_len) return error(errc::too_deep, "struct/union/array nesting too deep").at_type(tid);
            targ.spec[targ.len++] = core_accessor{tid, lacc.idx, {}, false};
            targ.raw[targ.raw_len++] = lacc.idx;
            auto sz = tb.resolve_size(tid);
            if (!sz) return sz.error();
            targ.bit_offset = static_cast<std::uint32_t>(targ.bit_offset + std::uint64_t{lacc.idx} * *sz * 8);
        }
    }
    return true;
}

}  // namespace btfkit
