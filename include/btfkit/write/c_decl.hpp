// C declarations of BTF types as libbpf's btf_dump writes them: the per-type emission state, names
// made unique with ___N, struct/union/enum/typedef definitions, padding, and declarator chains.
#pragma once

#include <algorithm>
#include <atomic>
#include <charconv>
#include <string>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <cstring>
#include <functional>
#include <unordered_map>
#include <vector>

#include "../error.hpp"
#include "../format/btf.hpp"
#include "../format/dump.hpp"
#include "../memory.hpp"
#include "c_layout.hpp"
#include "c_names.hpp"

namespace btfkit {

namespace detail {

using namespace std::string_view_literals;

// A name in a definition rendered ahead of its place in the header (c_prerendered): its text depends
// on which types used the name before (___N), so it is resolved where the definition is copied.
enum class c_name_kind : std::uint8_t { type, ident, enumerator };
struct c_name_ref {
    std::uint32_t at;    // where in the text the name goes
    std::uint32_t what;  // a type id (type, ident), or an enumerator's name offset
    std::uint32_t len;   // the name's length
    std::uint32_t hash;  // and its name_hash: the writer counts the name without reading it first
    c_name_kind kind;
};
// A struct or union definition rendered ahead: its text with the names left out, and where they go
// (c_name_refs one after the other, as bytes: the whole definition lives in one block of its
// renderer's storage). `in_use` counts the definitions of that block not yet copied in: the writer
// counts this one off once it has (c_prerender::copied), and the block is then filled again.
struct c_prerendered {
    std::string_view text;
    std::string_view names;
    std::atomic<std::uint32_t>* in_use = nullptr;
    [[nodiscard]] std::size_t name_count() const noexcept { return names.size() / sizeof(c_name_ref); }
    [[nodiscard]] c_name_ref name(std::size_t i) const noexcept {
        c_name_ref r;
        std::memcpy(&r, names.data() + i * sizeof(c_name_ref), sizeof r);
        return r;
    }
};
// A sink that takes names apart from the text (c_prerender's): a writer on it renders ahead.
template <class S>
concept c_name_recorder = requires(S& s, c_name_ref r, std::size_t buffered) { s.name_ref(r, buffered); };

template <byte_sink S>
class c_decl_writer {
public:
    c_decl_writer(const btf& b, chunk_writer<S>& w, bpftool_compat compat, c_names names = c_names::unique)
        : b_(b), w_(w), compat_(compat), names_(names), n_(b.type_count()), layout_(b) {
        // Declarations only, or rendering ahead: no name tables
        if (names_ == c_names::as_written || records_names) return;
        state_.assign(n_, 0);
        state_[0] = order_done | emit_done;  // void needs nothing
        type_names_.reserve(1024);
        ident_names_.reserve(4096);
        mark_referenced();
    }

    [[nodiscard]] bool failed() const noexcept { return failed_; }
    [[nodiscard]] const error& failure() const noexcept { return error_; }

    // The definition of struct, union or enum `id` as its top-level dump writes it (without the ";").
    void write_def(std::uint32_t id) {
        const type t = b_[id];
        if (t.is_composite()) emit_struct_def(id, t, 0);
        else emit_enum_def(id, t, 0);
    }

protected:
    // type_states bits, as btf_dump's aux state
    static constexpr std::uint8_t order_mask = 3, order_ing = 1, order_done = 2;
    static constexpr std::uint8_t emit_mask = 3 << 2, emit_ing = 1 << 2, emit_done = 2 << 2;
    static constexpr std::uint8_t fwd_emitted = 1 << 4, name_resolved = 1 << 5, referenced = 1 << 6;

    void fail(error e) {
        if (!failed_) error_ = std::move(e);
        failed_ = true;
    }

    [[nodiscard]] std::string_view name_of(std::uint32_t off) const noexcept { return b_.string(off); }

    void put(std::string_view s) { w_.put(s); }
    void put(char c) { w_.put(c); }
    template <std::integral T>
    void put_int(T v) { w_.put(v); }
    // libbpf's pfx(): one tab per level, at most 13.
    void put_pfx(int lvl) {
        constexpr std::string_view tabs = "\t\t\t\t\t\t\t\t\t\t\t\t\t";
        put(tabs.substr(0, lvl >= static_cast<int>(tabs.size()) ? tabs.size() : static_cast<std::size_t>(std::max(lvl, 0))));
    }

    // --- names -------------------------------------------------------------------------------------
    using name_map = c_name_counts;

    // btf_dump_resolve_name: the first use of a name keeps it, later types with it get ___N. The N
    // of type `id` named `orig` (1: none), counted in `m` on its first use; hash() is orig's name_hash
    // (known for a definition rendered ahead, taken here otherwise).
    std::uint32_t resolve_name(std::uint32_t id, const type& t, name_map& m, std::string_view orig) {
        return resolve_name(id, t, m, orig, [orig] { return name_hash(orig); });
    }
    template <class Hash>
    std::uint32_t resolve_name(std::uint32_t id, const type& t, name_map& m, std::string_view orig, Hash&& hash) {
        std::uint8_t& s = state_[id];
        if ((s & name_resolved) == 0) {
            s |= name_resolved;
            if (!(t.is(kind::fwd) || (t.is(kind::enum_) && t.vlen() == 0))) {
                const std::uint32_t dups = m.bump(orig, hash());
                if (dups > 1) dup_of_[id] = dups;
            }
        }
        const auto it = dup_of_.find(id);
        return it != dup_of_.end() ? it->second : 1;
    }
    void put_resolved_name(std::uint32_t id, name_map& m) {
        const type t = b_[id];
        if (t.name_off() == 0) return;
        const std::string_view orig = name_of(t.name_off());
        if (names_ == c_names::as_written) {
            put(orig);
            return;
        }
        put_unique_name(orig, resolve_name(id, t, m, orig));
    }
    void put_unique_name(std::string_view orig, std::uint32_t dups) {
        if (dups > 1) put_dup_name(orig, dups);
        else put(orig);
    }
    // "%s___%zu" into a 256-byte buffer, as libbpf formats it (a longer result is cut at 255).
    void put_dup_name(std::string_view orig, std::uint32_t dups) {
        char buf[256];
        std::size_t n = std::min<std::size_t>(orig.size(), 255);
        std::copy_n(orig.data(), n, buf);
        char num[16];
        const std::size_t nl = static_cast<std::size_t>(std::to_chars(num, num + sizeof num, dups).ptr - num);
        for (const char c : std::string_view{"___"}) if (n < 255) buf[n++] = c;
        for (std::size_t i = 0; i < nl && n < 255; ++i) buf[n++] = num[i];
        put(std::string_view{buf, n});
    }
    static constexpr bool records_names = c_name_recorder<S>;
    void record_name(c_name_kind k, std::uint32_t what) {
        const std::uint32_t off = k == c_name_kind::enumerator ? what : b_.name_off_of(what);
        // An anonymous type's name is empty wherever it lands
        if (k != c_name_kind::enumerator && off == 0) return;
        const char* p = b_.string_ptr(off);
        std::uint32_t hash = name_hash({});
        const std::string_view name = p != nullptr ? hashed_name_at(p, b_.string_table_end(off), hash) : std::string_view{};
        // `at` is the sink's to fill: its text ends `buffered` bytes before the name
        w_.sink().name_ref(c_name_ref{0, what, static_cast<std::uint32_t>(name.size()), hash, k}, w_.buffered());
    }

    void put_type_name(std::uint32_t id) {
        if constexpr (records_names) record_name(c_name_kind::type, id);
        else put_resolved_name(id, type_names_);
    }
    void put_ident_name(std::uint32_t id) {
        if constexpr (records_names) record_name(c_name_kind::ident, id);
        else put_resolved_name(id, ident_names_);
    }
    // An enumerator's name: every definition of its enum counts it again.
    void put_enumerator_name(std::uint32_t off) {
        if constexpr (records_names) {
            record_name(c_name_kind::enumerator, off);
        } else {
            const std::string_view name = name_of(off);
            put_enumerator_name(name, names_ == c_names::as_written ? 1 : ident_names_.bump(name));
        }
    }
    void put_enumerator_name(std::string_view name, std::uint32_t dups) {
        put(name);
        if (dups > 1) { put("___"sv); put_int(dups); }
    }
    // A definition rendered ahead, its names resolved here, in order, as rendering it here would.
    void put_prerendered(const c_prerendered& d) {
        // Enumerators count in the identifiers' table, as typedefs do
        auto table = [this](c_name_kind k) -> name_map& { return k == c_name_kind::type ? type_names_ : ident_names_; };
        // The counts' slots are far apart: fetched together first, not one miss after another
        for (std::size_t i = 0; i < d.name_count(); ++i) {
            const c_name_ref r = d.name(i);
            table(r.kind).prefetch(r.hash);
        }
        std::size_t at = 0;
        for (std::size_t i = 0; i < d.name_count(); ++i) {
            const c_name_ref r = d.name(i);
            put(d.text.substr(at, r.at - at));
            at = r.at;
            if (r.kind == c_name_kind::enumerator) {
                const std::string_view name(b_.string_ptr(r.what), r.len);
                put_enumerator_name(name, ident_names_.bump(name, r.hash));
            } else {
                const type t = b_[r.what];
                const std::string_view name(b_.string_ptr(t.name_off()), r.len);
                put_unique_name(name, resolve_name(r.what, t, table(r.kind), name, [&r] { return r.hash; }));
            }
        }
        put(d.text.substr(at));
    }
    // The resolved name is needed before printing only for the missing-alias check of INTs.
    [[nodiscard]] bool type_name_is(std::uint32_t id, std::string_view want) {
        const type t = b_[id];
        if (t.name_off() == 0) return want.empty();
        if (names_ == c_names::as_written) return name_of(t.name_off()) == want;
        const std::string_view orig = name_of(t.name_off());
        return resolve_name(id, t, type_names_, orig) == 1 && orig == want;
    }

    // --- sizes and alignment (c_layout), its failure the writer's -----------------------------------
    [[nodiscard]] int ptr_size() const { return layout_.ptr_size(); }
    [[nodiscard]] std::int64_t resolve_size(std::uint32_t id) const { return layout_.resolve_size(id); }
    [[nodiscard]] int align_of(std::uint32_t id) { return layout_result(layout_.align_of(id)); }
    [[nodiscard]] bool struct_packed(const type& t) { return layout_result(layout_.struct_packed(t)); }
    template <class T>
    T layout_result(T v) {
        if (const auto& e = layout_.failure()) fail(*e);
        return v;
    }

    // --- definitions -------------------------------------------------------------------------------
    static constexpr std::int64_t round_up(std::int64_t x, std::int64_t y) noexcept { return y == 0 ? x : ((x + (y - 1)) / y) * y; }

    void emit_bit_padding(std::int64_t cur_off, std::int64_t next_off, int next_align, bool in_bitfield, int lvl) {
        struct pad { std::string_view name; std::int64_t bits; };
        const pad pads[] = {{"long", std::int64_t{ptr_size()} * 8}, {"int", 32}, {"short", 16}, {"char", 8}};
        if (cur_off >= next_off) return;
        std::int64_t new_off = 0, pad_bits = 0;
        std::string_view pad_type;
        for (const pad& p : pads) {
            pad_bits = p.bits;
            pad_type = p.name;
            new_off = round_up(cur_off, pad_bits);
            if (new_off <= next_off) break;
        }
        if (new_off > cur_off && new_off <= next_off) {
            const std::int64_t align_bits = std::int64_t{next_align} * 8;
            if (in_bitfield || (new_off == next_off && (align_bits == 0 || round_up(cur_off, align_bits) != new_off)) ||
                (new_off != next_off && next_off - new_off <= new_off - cur_off)) {
                put('\n');
                put_pfx(lvl);
                put(pad_type);
                put(": "sv);
                put_int(in_bitfield ? new_off - cur_off : 0);
                put(';');
            }
            cur_off = new_off;
        }
        while (cur_off != next_off) {
            const std::int64_t bits = std::min(next_off - cur_off, pad_bits);
            if (bits == pad_bits) {
                put('\n'); put_pfx(lvl); put(pad_type); put(": "sv); put_int(pad_bits); put(';');
                cur_off += bits;
                continue;
            }
            for (std::size_t i = std::size(pads); i-- > 0;) {
                pad_type = pads[i].name;
                pad_bits = pads[i].bits;
                if (pad_bits < bits) continue;
                put('\n'); put_pfx(lvl); put(pad_type); put(": "sv); put_int(bits); put(';');
                cur_off += bits;
                break;
            }
        }
    }

    void emit_struct_fwd(std::uint32_t id, const type& t) {
        put(t.is(kind::struct_) ? std::string_view{"struct"} : std::string_view{"union"});
        if (t.name_off() != 0) put(' ');
        put_type_name(id);
    }

    void emit_struct_def(std::uint32_t id, const type& t, int lvl) {
        const bool is_struct = t.is(kind::struct_);
        const int align = align_of(id);
        const bool packed = is_struct && struct_packed(t);
        emit_struct_fwd(id, t);
        put(" {"sv);
        std::int64_t off = 0;
        bool prev_bitfield = false;
        for (const member m : t.members()) {
            if (failed_) return;
            const auto m_off = static_cast<std::int64_t>(static_cast<std::int32_t>(m.bit_offset));
            const int m_align = packed ? 1 : align_of(m.type);
            std::int64_t m_sz = m.bitfield_size;
            emit_bit_padding(off, m_off, m_align, prev_bitfield && m_sz != 0, lvl + 1);
            put('\n');
            put_pfx(lvl + 1);
            emit_type_decl(m.type, name_of(m.name_off), lvl + 1);
            if (m_sz != 0) {
                put(": "sv);
                put_int(m_sz);
                off = m_off + m_sz;
                prev_bitfield = true;
            } else {
                // libbpf keeps the size in an int
                m_sz = static_cast<std::int32_t>(static_cast<std::uint32_t>(std::max<std::int64_t>(0, resolve_size(m.type))));
                off = m_off + static_cast<std::int32_t>(static_cast<std::uint32_t>(m_sz) * 8u);
                prev_bitfield = false;
            }
            put(';');
        }
        if (is_struct) emit_bit_padding(off, static_cast<std::int32_t>(t.size() * 8u), align, false, lvl + 1);
        if (t.vlen() != 0 || t.size() != 0) {
            put('\n');
            put_pfx(lvl);
        }
        put('}');
        if (packed) put(" __attribute__((packed))"sv);
    }

    void emit_missing_aliases(std::uint32_t id) {
        constexpr std::string_view aliases[][2] = {{"__Poly8_t", "unsigned char"},
                                                   {"__Poly16_t", "unsigned short"},
                                                   {"__Poly64_t", "unsigned long long"},
                                                   {"__Poly128_t", "unsigned __int128"}};
        for (const auto& a : aliases) {
            if (type_name_is(id, a[0])) {
                put("typedef "sv); put(a[1]); put(' '); put(a[0]); put(";\n\n"sv);
                return;
            }
        }
    }

    void emit_enum_fwd(std::uint32_t id) {
        put("enum "sv);
        put_type_name(id);
    }

    void emit_enum_def(std::uint32_t id, const type& t, int lvl) {
        put("enum"sv);
        if (t.name_off() != 0) put(' ');
        put_type_name(id);
        const std::uint16_t vlen = t.vlen();
        if (vlen == 0) return;
        put(" {"sv);
        const bool is_signed = t.kflag(), is64 = t.is(kind::enum64);
        bool any_hi = false;
        for (const enumerator e : t.enumerators()) {
            put('\n');
            put_pfx(lvl + 1);
            put_enumerator_name(e.name_off);
            put(" = "sv);
            if (is64) {
                any_hi |= e.hi32 != 0;
                if (is_signed) { put_int(static_cast<std::int64_t>(e.value)); put("LL,"sv); }
                else { put_int(e.value); put("ULL,"sv); }
            } else {
                if (is_signed) put_int(static_cast<std::int32_t>(e.lo32));
                else put_int(e.lo32);
                put(',');
            }
        }
        put('\n');
        put_pfx(lvl);
        put('}');
        // Debian's bpftool 7.1 (Linux 6.1's libbpf) has no mode attributes for odd-sized enums.
        if (compat_ == bpftool_compat::v7_1) return;
        if (t.size() == 1) {
            put(" __attribute__((mode(byte)))"sv);
        } else if (t.size() == 8 && ptr_size() == 8 && (!is64 || !any_hi)) {
            put(" __attribute__((mode(word)))"sv);
        }
    }

    void emit_fwd_def(std::uint32_t id, const type& t) {
        put(t.kflag() ? std::string_view{"union "} : std::string_view{"struct "});
        put_type_name(id);
    }

    [[nodiscard]] bool blacklisted(const type& t) const noexcept {
        return t.name_off() != 0 && name_of(t.name_off()) == "__builtin_va_list";
    }

    void emit_typedef_def(std::uint32_t id, const type& t, int lvl) {
        if (t.ref() == 0 && name_of(t.name_off()) == "__gnuc_va_list") {
            put("typedef __builtin_va_list "sv);
            put_ident_name(id);  // resolves the name as libbpf does before this check
            return;
        }
        put("typedef "sv);
        emit_type_decl(t.ref(), ident_name_view(id), lvl);
    }
    // The unique identifier of a typedef as text (declarators print it after other parts).
    [[nodiscard]] std::string_view ident_name_view(std::uint32_t id) {
        const type t = b_[id];
        if (t.name_off() == 0) return {};
        if (names_ == c_names::as_written) return name_of(t.name_off());
        const std::string_view orig = name_of(t.name_off());
        const std::uint32_t dups = resolve_name(id, t, ident_names_, orig);
        if (dups == 1) return orig;
        auto& owned = owned_names_[id];
        if (owned.empty()) {
            owned.assign(orig.substr(0, 255));
            owned += "___";
            owned += std::to_string(dups);
            if (owned.size() > 255) owned.resize(255);
        }
        return owned;
    }

    // --- declarators (btf_dump_emit_type_decl / emit_type_chain) -------------------------------------
    struct id_stack {
        std::size_t start, cnt;  // a frame of decl_stack_
    };

    void emit_type_decl(std::uint32_t id, std::string_view fname, int lvl) {
        if (++decl_depth_ > c_max_nesting) {
            fail(error(errc::too_deep, "type declarations nest too deep").at_type(id).limit(c_max_nesting));
        }
        if (failed_) { --decl_depth_; return; }
        const std::size_t start = decl_stack_.size();
        for (;;) {
            decl_stack_.push_back(id);
            if (decl_stack_.size() - start > c_max_nesting) {
                fail(error(errc::type_loop, "type declaration chain does not end").at_type(id).limit(c_max_nesting));
                decl_stack_.resize(start);
                --decl_depth_;
                return;
            }
            if (id == 0) break;
            const type t = b_[id];
            bool done = false;
            switch (t.kind()) {
            case kind::ptr: case kind::volatile_: case kind::const_: case kind::restrict_: case kind::func_proto:
            case kind::type_tag:
                id = t.ref();
                break;
            case kind::array:
                id = t.array().type;
                break;
            default:  // int, enum, enum64, fwd, struct, union, typedef, float; anything else ends the chain too
                done = true;
                break;
            }
            if (done) break;
        }
        id_stack s{start, decl_stack_.size() - start};
        emit_type_chain(s, fname, lvl);
        decl_stack_.resize(start);
        --decl_depth_;
    }

    [[nodiscard]] std::uint32_t top(const id_stack& s) const noexcept { return decl_stack_[s.start + s.cnt - 1]; }

    void emit_mods(id_stack& s) {
        while (s.cnt != 0) {
            const std::uint32_t id = top(s);
            switch (b_.kind_of(id)) {
            case kind::volatile_: put("volatile "sv); break;
            case kind::const_: put("const "sv); break;
            case kind::restrict_: put("restrict "sv); break;
            default: return;
            }
            --s.cnt;
        }
    }
    void drop_mods(id_stack& s) {
        while (s.cnt != 0) {
            const kind k = b_.kind_of(top(s));
            if (!(k == kind::volatile_ || k == kind::const_ || k == kind::restrict_ || k == kind::type_tag)) return;
            --s.cnt;
        }
    }
    void emit_name(std::string_view name, bool last_was_ptr) {
        if (!name.empty() && !last_was_ptr) put(' ');
        put(name);
    }

    void emit_type_chain(id_stack& decls, std::string_view fname, int lvl) {
        bool last_was_ptr = true;
        while (decls.cnt != 0) {
            const std::uint32_t id = decl_stack_[decls.start + --decls.cnt];
            if (id == 0) {
                emit_mods(decls);
                put("void"sv);
                last_was_ptr = false;
                continue;
            }
            const type t = b_[id];
            const kind k = t.kind();
            switch (k) {
            case kind::int_: case kind::float_:
                emit_mods(decls);
                put(name_of(t.name_off()));
                break;
            case kind::struct_: case kind::union_:
                emit_mods(decls);
                if (t.name_off() == 0) emit_struct_def(id, t, lvl);
                else emit_struct_fwd(id, t);
                break;
            case kind::enum_: case kind::enum64:
                emit_mods(decls);
                if (t.name_off() == 0) emit_enum_def(id, t, lvl);
                else emit_enum_fwd(id);
                break;
            case kind::fwd:
                emit_mods(decls);
                emit_fwd_def(id, t);
                break;
            case kind::typedef_:
                emit_mods(decls);
                put_ident_name(id);
                break;
            case kind::ptr:
                put(last_was_ptr ? std::string_view{"*"} : std::string_view{" *"});
                break;
            case kind::volatile_: put(" volatile"sv); break;
            case kind::const_: put(" const"sv); break;
            case kind::restrict_: put(" restrict"sv); break;
            case kind::type_tag:
                emit_mods(decls);
                put(" __attribute__((btf_type_tag(\""sv);
                put(name_of(t.name_off()));
                put("\")))"sv);
                break;
            case kind::array: {
                const array_info a = t.array();
                drop_mods(decls);
                if (decls.cnt == 0) {
                    emit_name(fname, last_was_ptr);
                    put('['); put_int(a.nelems); put(']');
                    return;
                }
                const bool multidim = b_.kind_of(top(decls)) == kind::array;
                if (!fname.empty() && !last_was_ptr) put(' ');
                if (!multidim) put('(');
                emit_type_chain(decls, fname, lvl);
                if (!multidim) put(')');
                put('['); put_int(a.nelems); put(']');
                return;
            }
            case kind::func_proto: {
                const auto params = t.params();
                const std::uint32_t vlen = params.size();
                drop_mods(decls);
                if (decls.cnt != 0) {
                    put(" ("sv);
                    emit_type_chain(decls, fname, lvl);
                    put(')');
                } else {
                    emit_name(fname, last_was_ptr);
                }
                put('(');
                if (vlen == 0 || (vlen == 1 && params[0].type == 0)) {
                    put("void)"sv);
                    return;
                }
                for (std::uint32_t i = 0; i < vlen; ++i) {
                    const param p = params[i];
                    if (i > 0) put(", "sv);
                    if (i == vlen - 1 && p.type == 0) {
                        put("..."sv);
                        break;
                    }
                    emit_type_decl(p.type, name_of(p.name_off), lvl);
                }
                put(')');
                return;
            }
            default:
                return;  // libbpf warns and stops this declarator
            }
            last_was_ptr = k == kind::ptr;
        }
        emit_name(fname, last_was_ptr);
    }

    // --- referenced marks (btf_dump_mark_referenced) -------------------------------------------------
    // Also counts the names each table can be asked for (see reserve_names).
    void mark_referenced() {
        for (std::uint32_t id = 1; id < n_; ++id) {
            const type t = b_[id];
            switch (t.kind()) {
            case kind::typedef_:
                ++ident_sites_;
                state_[t.ref()] |= referenced;
                break;
            case kind::volatile_: case kind::const_: case kind::restrict_: case kind::ptr:
            case kind::func: case kind::var: case kind::decl_tag: case kind::type_tag:
                state_[t.ref()] |= referenced;
                break;
            case kind::enum_: case kind::enum64:
                ++type_sites_;
                ident_sites_ += t.vlen();
                break;
            case kind::int_: case kind::float_: case kind::fwd:
                ++type_sites_;
                break;
            case kind::array: {
                const array_info a = t.array();
                state_[a.index_type] |= referenced;
                state_[a.type] |= referenced;
                break;
            }
            case kind::struct_: case kind::union_:
                ++type_sites_;
                for (const member m : t.members()) state_[m.type] |= referenced;
                break;
            case kind::func_proto:
                for (const param p : t.params()) state_[p.type] |= referenced;
                break;
            case kind::datasec:
                for (const datasec_var v : t.vars()) state_[v.type] |= referenced;
                break;
            default:
                break;
            }
        }
    }


    // Sizes both name tables for a dump of every type: each grows to that size anyway, and growing
    // rehashes (and touches the memory of) every smaller table on the way.
    void reserve_names() {
        type_names_.reserve(type_sites_);
        ident_names_.reserve(ident_sites_);
    }

    const btf& b_;
    chunk_writer<S>& w_;
    bpftool_compat compat_;
    c_names names_;
    std::uint32_t n_;
    big_vector<std::uint8_t> state_;
    c_layout layout_;
    std::unordered_map<std::uint32_t, std::uint32_t> dup_of_;  // type id -> its ___N (only for N > 1)
    std::unordered_map<std::uint32_t, std::string> owned_names_;
    name_map type_names_, ident_names_;
    std::size_t type_sites_ = 0, ident_sites_ = 0;  // at most this many names in each (mark_referenced)
    std::vector<std::uint32_t> decl_stack_;
    unsigned decl_depth_ = 0;
    bool failed_ = false;
    error error_{};
};

}  // namespace detail
}  // namespace btfkit
