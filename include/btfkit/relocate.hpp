// The CO-RE engine in libbpf's stages: parse the access spec, match it against each candidate,
// compute the values, patch the instruction. Every stage is constexpr and allocation-free.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bpf_object.hpp"
#include "btf.hpp"
#include "error.hpp"
#include "relo_rules.hpp"

namespace btfkit {

inline constexpr std::uint32_t core_spec_max_len = 64;  // libbpf's BPF_CORE_SPEC_MAX_LEN
inline constexpr int compat_max_level = 32;             // recursion budget of libbpf's compat/match checks

// One high-level step of an access spec: a named field, or an array index (name empty, named false).
struct core_accessor {
    std::uint32_t type_id = 0;
    std::uint32_t idx = 0;
    std::string_view name{};
    bool named = false;
};

// A parsed access spec for one BTF: raw indices, high-level accessors and the resulting bit offset.
struct core_spec {
    const btf* owner = nullptr;
    std::uint32_t root_type_id = 0;
    relo_kind kind{};
    std::uint32_t len = 0;      // high-level accessors
    std::uint32_t raw_len = 0;  // raw indices
    std::uint32_t bit_offset = 0;
    std::array<core_accessor, core_spec_max_len> spec{};
    std::array<std::uint32_t, core_spec_max_len> raw{};

    constexpr void reset(const btf* b, std::uint32_t root, relo_kind k) noexcept {
        owner = b;
        root_type_id = root;
        kind = k;
        len = raw_len = bit_offset = 0;
    }
};

// What one relocation computes (libbpf's bpf_core_relo_res).
struct relo_res {
    std::uint64_t orig_val = 0;
    std::uint64_t new_val = 0;
    bool poison = false;
    bool validate = true;
    bool fail_memsz_adjust = false;
    std::uint32_t orig_sz = 0, new_sz = 0;
    std::uint32_t orig_type_id = 0, new_type_id = 0;
};

// A candidate target type: which BTF, which id, and which target (0 = vmlinux / the main target).
struct candidate {
    const btf* owner = nullptr;
    std::uint32_t id = 0;
    std::uint32_t target = 0;
};

namespace detail {

[[nodiscard]] constexpr bool is_space(char c) noexcept { return c == ' ' || (c >= '\t' && c <= '\r'); }

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

[[nodiscard]] constexpr bool is_flex_arr(const btf& b, const core_accessor& acc, const array_info& arr) noexcept {
    if (!acc.named || arr.nelems > 0) return false;
    const type t = b[acc.type_id];
    return acc.idx + 1u == t.vlen();
}

// Parses "0:1:2" into indices, libbpf's way (sscanf %d: optional blanks and sign). Negative or huge
// indices, which libbpf would read out of bounds with, are errors here.
constexpr status parse_access_string(std::string_view s, core_spec& spec) noexcept {
    if (s.empty() || s[0] == ':') return error(errc::bad_access, "access string is empty or starts with ':'");
    std::size_t i = 0;
    while (i < s.size()) {
        if (s[i] == ':') ++i;
        while (i < s.size() && is_space(s[i])) ++i;
        bool neg = false;
        if (i < s.size() && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
        const std::size_t start = i;
        std::uint64_t v = 0;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
            v = v * 10 + static_cast<std::uint64_t>(s[i] - '0');
            if (v > 0x7fffffff) return error(errc::bad_access, "access index too large").at_offset(start);
            ++i;
        }
        if (i == start) return error(errc::bad_access, "access string has a non-number").at_offset(i);
        if (neg && v != 0) return error(errc::bad_access, "negative access index").at_offset(start);
        if (spec.raw_len == core_spec_max_len) return error(errc::too_deep, "access string too long").limit(core_spec_max_len);
        spec.raw[spec.raw_len++] = static_cast<std::uint32_t>(v);
    }
    if (spec.raw_len == 0) return error(errc::bad_access, "access string has no index");
    return {};
}

}  // namespace detail

// Stage 1: the local spec of a relocation (libbpf's bpf_core_parse_spec).
constexpr status parse_spec(const btf& b, std::uint32_t root_id, std::string_view access, relo_kind rk, core_spec& spec) noexcept {
    spec.reset(&b, root_id, rk);
    if (!b.valid_id(root_id)) return error(errc::bad_type_id, "relocation type id past the end").got(root_id).limit(b.type_count());
    if (access.empty() || access[0] == ':') return error(errc::bad_access, "access string is empty or starts with ':'").at_type(root_id);
    if (is_type_based(rk)) {
        if (access != "0") return error(errc::bad_access, "type-based relocation needs access string \"0\"").at_type(root_id);
        return {};
    }
    BTFKIT_TRY(detail::parse_access_string(access, spec));
    auto tr = b.skip_mods_and_typedefs(root_id);
    if (!tr) return tr.error();
    std::uint32_t id = tr->id();
    std::uint32_t idx = spec.raw[0];
    spec.spec[0] = core_accessor{id, idx, {}, false};
    spec.len = 1;

    if (is_enumval_based(rk)) {
        const type t = *tr;
        if (!t.is_any_enum() || spec.raw_len > 1 || idx >= t.vlen()) {
            return error(errc::bad_access, "enum value relocation needs one enumerator index of an enum").at_type(root_id).got(idx).limit(t.vlen());
        }
        spec.spec[0].name = b.string(t.enumerators()[idx].name_off);
        spec.spec[0].named = true;
        return {};
    }
    if (!is_field_based(rk)) return error(errc::unsupported, "unknown relocation kind").at_type(root_id).got(static_cast<std::uint32_t>(rk));

    auto sz = b.resolve_size(id);
    if (!sz) return sz.error();
    {
        const std::uint64_t bits = std::uint64_t{idx} * *sz * 8;
        if (bits > 0xffffffffu) return error(errc::out_of_range, "access offset overflows").at_type(root_id).got(idx);
        spec.bit_offset = static_cast<std::uint32_t>(bits);
    }
    for (std::uint32_t i = 1; i < spec.raw_len; ++i) {
        auto cur = b.skip_mods_and_typedefs(id);
        if (!cur) return cur.error();
        const type t = *cur;
        id = t.id();
        idx = spec.raw[i];
        if (t.is_composite()) {
            if (idx >= t.vlen()) return error(errc::bad_access, "member index past the end").at_type(id).at_index("access", i).got(idx).limit(t.vlen());
            const member m = t.members()[idx];
            spec.bit_offset += m.bit_offset;
            if (m.name_off != 0) {
                const std::string_view name = b.string(m.name_off);
                if (name.empty()) return error(errc::bad_string, "member has an empty name").at_type(id).at_index("member", idx);
                spec.spec[spec.len++] = core_accessor{id, idx, name, true};
            }
            id = m.type;
        } else if (t.is(kind::array)) {
            const array_info a = t.array();
            auto elem = b.skip_mods_and_typedefs(a.type);
            if (!elem) return elem.error();
            id = elem->id();
            const bool flex = detail::is_flex_arr(b, spec.spec[spec.len - 1], a);
            if (!flex && idx >= a.nelems) return error(errc::bad_access, "array index past the end").at_type(t.id()).at_index("access", i).got(idx).limit(a.nelems);
            spec.spec[spec.len++] = core_accessor{id, idx, {}, false};
            auto esz = b.resolve_size(id);
            if (!esz) return esz.error();
            const std::uint64_t bits = spec.bit_offset + std::uint64_t{idx} * *esz * 8;
            if (bits > 0xffffffffu) return error(errc::out_of_range, "access offset overflows").at_type(t.id()).got(idx);
            spec.bit_offset = static_cast<std::uint32_t>(bits);
        } else {
            return error(errc::bad_access, "access step into a type that is neither composite nor array").at_type(id).at_index("access", i).got(static_cast<std::uint8_t>(t.kind()));
        }
    }
    return {};
}

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

namespace detail {

// Signals libbpf's -EUCLEAN: not an error, the instruction is poisoned.
struct calc_out {
    bool poison = false;
};

constexpr status calc_field(relo_kind rk, const core_spec* spec, std::uint64_t& val, std::uint32_t& field_sz,
                            std::uint32_t& type_id, bool* validate, calc_out& out) noexcept {
    field_sz = 0;
    if (rk == relo_kind::field_exists) {
        val = spec ? 1 : 0;
        return {};
    }
    if (!spec) {
        out.poison = true;
        return {};
    }
    const btf& b = *spec->owner;
    const core_accessor& acc = spec->spec[spec->len - 1];
    if (!acc.named) {
        if (rk == relo_kind::field_byte_offset) {
            val = spec->bit_offset / 8;
            auto sz = b.resolve_size(acc.type_id);
            if (!sz) return sz.error();
            field_sz = static_cast<std::uint32_t>(*sz);
            type_id = acc.type_id;
        } else if (rk == relo_kind::field_byte_size) {
            auto sz = b.resolve_size(acc.type_id);
            if (!sz) return sz.error();
            val = *sz;
        } else {
            return error(errc::bad_access, "relocation kind cannot apply to an array element").got(static_cast<std::uint32_t>(rk));
        }
        if (validate) *validate = true;
        return {};
    }
    const type t = b[acc.type_id];
    const member m = t.members()[acc.idx];
    auto mtr = b.skip_mods_and_typedefs(m.type);
    if (!mtr) return mtr.error();
    const type mt = *mtr;
    const std::uint32_t field_type_id = mt.id();
    const std::uint32_t bit_off = spec->bit_offset;
    std::uint32_t bit_sz = m.bitfield_size;
    std::uint32_t byte_sz = 0, byte_off = 0;
    const bool bitfield = bit_sz > 0;
    if (bitfield) {
        byte_sz = mt.size();
        if (byte_sz == 0) return error(errc::bad_header, "bitfield of a zero-sized type").at_type(field_type_id);
        byte_off = bit_off / 8 / byte_sz * byte_sz;
        while (std::uint64_t{bit_off} + bit_sz - std::uint64_t{byte_off} * 8 > std::uint64_t{byte_sz} * 8) {
            if (byte_sz >= 8) return error(errc::out_of_range, "bitfield cannot be read with a 64-bit load").at_type(acc.type_id).at_index("member", acc.idx);
            byte_sz *= 2;
            byte_off = bit_off / 8 / byte_sz * byte_sz;
        }
    } else {
        auto sz = b.resolve_size(field_type_id);
        if (!sz) return sz.error();
        byte_sz = static_cast<std::uint32_t>(*sz);
        byte_off = spec->bit_offset / 8;
        bit_sz = byte_sz * 8;
    }
    if (validate) *validate = !bitfield;
    switch (rk) {
    case relo_kind::field_byte_offset:
        val = byte_off;
        if (!bitfield) {
            field_sz = byte_sz;
            type_id = field_type_id;
        }
        break;
    case relo_kind::field_byte_size:
        val = byte_sz;
        break;
    case relo_kind::field_signed:
        // libbpf reads the INT encoding word of whatever type this is; do the same for identical results.
        val = (mt.is_any_enum() && mt.kflag()) || (((mt.raw_extra_word() >> 24) & 0x0f) & int_signed) ? 1 : 0;
        if (validate) *validate = true;
        break;
    case relo_kind::field_lshift_u64:
        // The shift depends on the byte order of the machine the program runs on: the BTF's.
        if (b.order() == byte_order::little) {
            val = 64 - (std::uint64_t{bit_off} + bit_sz - std::uint64_t{byte_off} * 8);
        } else {
            val = (8 - std::uint64_t{byte_sz}) * 8 + (bit_off - std::uint64_t{byte_off} * 8);
        }
        break;
    case relo_kind::field_rshift_u64:
        val = 64 - bit_sz;
        if (validate) *validate = true;
        break;
    default:
        return error(errc::unsupported, "unrecognized field relocation").got(static_cast<std::uint32_t>(rk));
    }
    return {};
}

constexpr status calc_type(relo_kind rk, const core_spec* spec, std::uint64_t& val, bool* validate, bool fwd_ext = false) noexcept {
    if (validate) *validate = true;
    if (!spec) {
        val = 0;
        return {};
    }
    if (rk == relo_kind::type_size && fwd_ext && validate != nullptr) {
        // A local FWD has no size to check the instruction against: take the target's.
        auto t = spec->owner->skip_mods_and_typedefs(spec->root_type_id);
        if (t && t->is(kind::fwd)) {
            val = 0;
            *validate = false;
            return {};
        }
    }
    switch (rk) {
    case relo_kind::type_id_target:
        val = spec->root_type_id;
        if (validate) *validate = false;
        break;
    case relo_kind::type_exists: case relo_kind::type_matches:
        val = 1;
        break;
    case relo_kind::type_size: {
        auto sz = spec->owner->resolve_size(spec->root_type_id);
        if (!sz) return sz.error();
        val = *sz;
        break;
    }
    default:
        return error(errc::unsupported, "unrecognized type relocation").got(static_cast<std::uint32_t>(rk));
    }
    return {};
}

constexpr status calc_enumval(relo_kind rk, const core_spec* spec, std::uint64_t& val, calc_out& out) noexcept {
    switch (rk) {
    case relo_kind::enumval_exists:
        val = spec ? 1 : 0;
        return {};
    case relo_kind::enumval_value: {
        if (!spec) {
            out.poison = true;
            return {};
        }
        const type t = (*spec->owner)[spec->spec[0].type_id];
        const enumerator e = t.enumerators()[spec->spec[0].idx];
        // ENUM values are s32 in BTF and sign-extend, whatever the enum's signedness (as in libbpf).
        val = t.is(kind::enum_) ? static_cast<std::uint64_t>(static_cast<std::int64_t>(static_cast<std::int32_t>(e.lo32))) : e.value;
        return {};
    }
    default:
        return error(errc::unsupported, "unrecognized enum relocation").got(static_cast<std::uint32_t>(rk));
    }
}

}  // namespace detail

// Stage 3: values for one (local, target) pair; target null means "no match" (libbpf's bpf_core_calc_relo).
// `fwd_ext`: a local FWD's TYPE_SIZE takes the target's size without checking the instruction.
constexpr status calc_relo(relo_kind rk, const core_spec& local, const core_spec* targ, relo_res& res, bool fwd_ext = false) noexcept {
    res = relo_res{};
    detail::calc_out out;
    status st;
    if (is_field_based(rk)) {
        st = detail::calc_field(rk, &local, res.orig_val, res.orig_sz, res.orig_type_id, &res.validate, out);
        if (st && !out.poison) st = detail::calc_field(rk, targ, res.new_val, res.new_sz, res.new_type_id, nullptr, out);
        if (st && !out.poison && res.orig_sz != res.new_sz) {
            const type ot = (*local.owner)[res.orig_type_id];
            const type nt = (*targ->owner)[res.new_type_id];
            const bool both_ptr = ot.is(kind::ptr) && nt.is(kind::ptr);
            const bool both_unsigned = ot.is(kind::int_) && nt.is(kind::int_) && ot.int_encoding() != int_signed &&
                                       nt.int_encoding() != int_signed;
            res.fail_memsz_adjust = !(both_ptr || both_unsigned);
        }
    } else if (is_type_based(rk)) {
        st = detail::calc_type(rk, &local, res.orig_val, &res.validate, fwd_ext);
        if (st) st = detail::calc_type(rk, targ, res.new_val, nullptr);
    } else if (is_enumval_based(rk)) {
        st = detail::calc_enumval(rk, &local, res.orig_val, out);
        if (st && !out.poison) st = detail::calc_enumval(rk, targ, res.new_val, out);
    } else {
        return error(errc::unsupported, "unrecognized CO-RE relocation kind").got(static_cast<std::uint32_t>(rk));
    }
    if (!st) return st;
    if (out.poison) res.poison = true;
    return {};
}

// Stage 4: patch the instruction(s) at `at` (2 slots for ldimm64) in place (libbpf's bpf_core_patch_insn).
// `upper` replaces the upper 32 bits of a TYPE_ID_TARGET ldimm64 (module BTF fd or id), when set.
struct patch_outcome {
    bool poisoned = false;
    insn before{};
    insn after{};
    bool ldimm64 = false;
    std::uint64_t old_value = 0;  // what the instruction held
};

namespace detail {
[[nodiscard]] constexpr int insn_size_bytes(std::uint8_t code) noexcept {
    switch (code & 0x18) {
    case insn_const::size_dw: return 8;
    case insn_const::size_w: return 4;
    case insn_const::size_h: return 2;
    case insn_const::size_b: return 1;
    }
    return -1;
}
[[nodiscard]] constexpr int bytes_to_size_code(std::uint32_t sz) noexcept {
    switch (sz) {
    case 8: return insn_const::size_dw;
    case 4: return insn_const::size_w;
    case 2: return insn_const::size_h;
    case 1: return insn_const::size_b;
    }
    return -1;
}
constexpr void poison_insn(insn& i) noexcept {
    i = insn{static_cast<std::uint8_t>(insn_const::cls_jmp | insn_const::op_call), 0, 0, 0, insn_const::poison_imm};
}
}  // namespace detail

// `code` is the section's bytes from the instruction on (at least 8, 16 for ldimm64 available).
constexpr result<patch_outcome> patch_insn(std::span<char> code, byte_order order, const relo_res& res) noexcept {
    using namespace insn_const;
    if (code.size() < insn_size) return error(errc::out_of_range, "instruction past the end of its section");
    patch_outcome out;
    insn i = decode_insn(code.data(), order);
    out.before = i;
    out.ldimm64 = i.is_ldimm64();
    const bool have_second = code.size() >= 2 * insn_size;
    insn second = have_second ? decode_insn(code.data() + insn_size, order) : insn{};
    auto write = [&] {
        encode_insn(code.data(), i, order);
        if (out.ldimm64 && have_second) encode_insn(code.data() + insn_size, second, order);
        out.after = i;
    };
    auto poison = [&] {
        if (i.is_ldimm64() && have_second) detail::poison_insn(second);
        detail::poison_insn(i);
        out.poisoned = true;
        write();
        return out;
    };
    if (res.poison) return poison();
    const std::uint64_t orig = res.orig_val, nv = res.new_val;
    switch (i.cls()) {
    case cls_alu: case cls_alu64:
        if ((i.code & src_x) != src_k) return error(errc::bad_instruction, "ALU instruction does not use an immediate");
        out.old_value = static_cast<std::uint32_t>(i.imm);
        if (res.validate && static_cast<std::uint64_t>(static_cast<std::int64_t>(i.imm)) != orig) {
            return error(errc::bad_instruction, "unexpected ALU/ALU64 immediate").got(static_cast<std::uint32_t>(i.imm)).limit(orig);
        }
        i.imm = static_cast<std::int32_t>(static_cast<std::uint32_t>(nv));
        break;
    case cls_ldx: case cls_st: case cls_stx:
        out.old_value = static_cast<std::uint16_t>(i.off);
        if (res.validate && static_cast<std::uint64_t>(static_cast<std::int64_t>(i.off)) != orig) {
            return error(errc::bad_instruction, "unexpected LDX/ST/STX offset").got(static_cast<std::uint16_t>(i.off)).limit(orig);
        }
        if (nv > 0x7fff) return error(errc::out_of_range, "LDX/ST/STX offset too big").got(nv).limit(0x7fff);
        if (res.fail_memsz_adjust) return poison();
        i.off = static_cast<std::int16_t>(nv);
        if (res.new_sz != res.orig_sz) {
            const int have = detail::insn_size_bytes(i.code);
            if (have < 0 || static_cast<std::uint32_t>(have) != res.orig_sz) {
                return error(errc::bad_instruction, "LDX/ST/STX has an unexpected memory size").got(static_cast<std::uint64_t>(have)).limit(res.orig_sz);
            }
            const int code_sz = detail::bytes_to_size_code(res.new_sz);
            if (code_sz < 0) return error(errc::bad_instruction, "invalid new memory size").got(res.new_sz);
            i.code = static_cast<std::uint8_t>((i.code & 0xe0) | code_sz | i.cls());
        }
        break;
    case cls_ld: {
        if (!i.is_ldimm64() || !have_second || i.src != 0 || i.off != 0 || second.code != 0 || second.dst != 0 ||
            second.src != 0 || second.off != 0) {
            return error(errc::bad_instruction, "LDIMM64 has an unexpected form");
        }
        const std::uint64_t imm = static_cast<std::uint32_t>(i.imm) | (std::uint64_t{static_cast<std::uint32_t>(second.imm)} << 32);
        out.old_value = imm;
        if (res.validate && imm != orig) return error(errc::bad_instruction, "unexpected LDIMM64 value").got(imm).limit(orig);
        i.imm = static_cast<std::int32_t>(static_cast<std::uint32_t>(nv));
        second.imm = static_cast<std::int32_t>(static_cast<std::uint32_t>(nv >> 32));
        break;
    }
    default:
        return error(errc::bad_instruction, "instruction class cannot be relocated").got(i.code);
    }
    write();
    return out;
}

// ---------------------------------------------------------------------------------------------
// Object-level driver: walks .BTF.ext CO-RE records in libbpf's order, with libbpf's per-type
// candidate cache (pruned as relocations succeed), and patches a writable image of the object.

// How TYPE_ID_TARGET marks a type that lives in a module BTF: in the ldimm64's upper 32 bits.
enum class fd_encoding : std::uint8_t { none, btf_fd, btf_id };

struct relocate_options {
    bool search_all_targets = false;  // libbpf: modules only when vmlinux has no candidate
    bool fwd_extension = true;        // local FWD may match a target STRUCT/UNION
    fd_encoding encoding = fd_encoding::btf_fd;
    bool skip_non_autoload = true;    // libbpf skips programs in SEC("?...")
    bool stop_at_first_error = false; // libbpf stops; a tool wants to see every relocation
};

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

// Appends candidates for a local type to `out`, for one BTF, in id order (libbpf's bpf_core_add_cands),
// by a linear scan. The candidate index (candidates.hpp) gives the same answers faster.
constexpr void scan_candidates(const btf& target_btf, std::uint32_t target, std::uint32_t first_id, const type& local_t,
                               std::string_view essential, bool fwd_ext, std::vector<candidate>& out) {
    const kind lk = local_t.kind();
    const bool want_composite = fwd_ext && lk == kind::fwd;
    const std::size_t before = out.size();
    for (int pass = want_composite ? 0 : 1; pass < 2; ++pass) {
        for (std::uint32_t id = first_id; id < target_btf.type_count(); ++id) {
            const type t = target_btf[id];
            const bool kind_ok = pass == 0 ? fwd_resolves_to(lk, local_t.kflag(), t.kind()) : kinds_core_compat(t.kind(), lk);
            if (!kind_ok) continue;
            const std::string_view n = t.name();
            if (n.empty() || essential_name_len(n) != essential.size() || n.substr(0, essential.size()) != essential) continue;
            out.push_back(candidate{&target_btf, id, target});
        }
        if (out.size() != before) break;  // a local FWD prefers complete types
    }
}

// The simplest target: one BTF (vmlinux, or a custom target), scanned linearly. Works in constant evaluation.
class single_target {
public:
    constexpr explicit single_target(const btf& b) noexcept : btf_(&b) {}
    [[nodiscard]] constexpr std::uint32_t target_count() const noexcept { return 1; }
    [[nodiscard]] constexpr std::string_view target_name(std::uint32_t) const noexcept { return "vmlinux"; }
    constexpr status collect(const type& local_t, std::string_view essential, const relocate_options& o,
                             std::vector<candidate>& out) const {
        scan_candidates(*btf_, 0, 1, local_t, essential, o.fwd_extension, out);
        return {};
    }
    // Upper half of a TYPE_ID_TARGET for a type in `target`; 0 for vmlinux.
    [[nodiscard]] constexpr result<std::uint32_t> upper_bits(std::uint32_t, fd_encoding) const noexcept { return std::uint32_t{0}; }

private:
    const btf* btf_;
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
constexpr result<relocation_summary> relocate_object(const bpf_object& obj, std::span<char> image, const Targets& targets,
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
                    status st = targets.collect(local_t, essential_name(rep.local_type_name), opts, scratch.cands);
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
                    st = calc_relo(rec.kind, local_spec, &cand_spec, cr, opts.fwd_extension);
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
                    st = calc_relo(rec.kind, local_spec, nullptr, res, opts.fwd_extension);
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

// libbpf's spec notation for logs: "<byte_off> [7] struct task_struct.pid (0:18 @ offset 2392)".
inline std::string format_spec(const core_spec& spec) {
    std::string out;
    const btf& b = *spec.owner;
    const type t = b[spec.root_type_id];
    const std::string_view n = t.name();
    out += '<';
    out += relo_kind_name(spec.kind);
    out += "> [";
    out += std::to_string(spec.root_type_id);
    out += "] ";
    out += kind_str(t.kind());
    out += ' ';
    out += n.empty() ? std::string_view{"<anon>"} : n;
    if (is_type_based(spec.kind) || spec.len == 0) return out;
    if (is_enumval_based(spec.kind)) {
        auto e = b.skip_mods_and_typedefs(spec.root_type_id);
        if (e && e->is_any_enum() && spec.raw_len > 0 && spec.raw[0] < e->vlen()) {
            const enumerator en = e->enumerators()[spec.raw[0]];
            out += "::";
            out += b.string(en.name_off);
            out += " = ";
            const bool is_signed = e->kflag();
            if (e->is(kind::enum_)) {
                out += is_signed ? std::to_string(static_cast<std::int32_t>(en.lo32)) : std::to_string(en.lo32);
            } else {
                out += is_signed ? std::to_string(static_cast<std::int64_t>(en.value)) : std::to_string(en.value);
            }
        }
        return out;
    }
    for (std::uint32_t i = 0; i < spec.len; ++i) {
        if (spec.spec[i].named) {
            out += '.';
            out += spec.spec[i].name;
        } else if (i > 0 || spec.spec[i].idx > 0) {
            out += '[';
            out += std::to_string(spec.spec[i].idx);
            out += ']';
        }
    }
    out += " (";
    for (std::uint32_t i = 0; i < spec.raw_len; ++i) {
        if (i) out += ':';
        out += std::to_string(spec.raw[i]);
    }
    out += " @ offset ";
    out += std::to_string(spec.bit_offset / 8);
    if (spec.bit_offset % 8) {
        out += '.';
        out += std::to_string(spec.bit_offset % 8);
    }
    out += ')';
    return out;
}

}  // namespace btfkit
