// ksnoop's trace expressions ("ip_send_skb(skb->sk, net)") parsed, and one argument's member path
// resolved against a function's BTF prototype by C's rules: the offset of each step, whether it goes
// through a pointer, and the type it ends at.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "../core/spec.hpp"  // detail::is_space
#include "../error.hpp"
#include "../format/btf.hpp"

namespace btfkit {

inline constexpr std::size_t max_trace_args = 8;   // arguments in one expression
inline constexpr std::size_t max_path_steps = 16;  // member and index steps in one argument
inline constexpr std::uint32_t max_anon_depth = 32;  // anonymous members searched through, nested
inline constexpr std::uint32_t max_anon_visits = 1 << 10;  // composites searched for one member, in all

// "func" or "func(arg, arg...)": views into the text, each trimmed.
struct trace_expr {
    std::string_view function;
    std::array<std::string_view, max_trace_args> args{};
    std::size_t arg_count = 0;
};

namespace detail {
[[nodiscard]] constexpr bool is_ident_start(char c) noexcept { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
[[nodiscard]] constexpr bool is_ident_char(char c) noexcept { return is_ident_start(c) || (c >= '0' && c <= '9'); }
[[nodiscard]] constexpr std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}
[[nodiscard]] constexpr bool is_ident(std::string_view s) noexcept {
    if (s.empty() || !is_ident_start(s[0])) return false;
    for (const char c : s) {
        if (!is_ident_char(c)) return false;
    }
    return true;
}
}  // namespace detail

// Splits "func(a, b->c)" into the function's name and its arguments (not yet resolved). Errors give
// the byte offset in the text.
[[nodiscard]] constexpr result<trace_expr> parse_trace_expr(std::string_view text) {
    trace_expr e;
    const std::string_view t = detail::trim(text);
    const std::size_t open = t.find('(');
    e.function = detail::trim(t.substr(0, open));
    if (!detail::is_ident(e.function)) return error(errc::bad_access, "expected a function name").at_offset(0);
    if (open == std::string_view::npos) return e;
    if (t.back() != ')') return error(errc::bad_access, "expected ')' at the end").at_offset(t.size());
    std::string_view inside = t.substr(open + 1, t.size() - open - 2);
    if (detail::trim(inside).empty()) return e;
    std::size_t at = open + 1;
    for (;;) {
        const std::size_t comma = inside.find(',');
        const std::string_view arg = detail::trim(inside.substr(0, comma));
        if (arg.empty()) return error(errc::bad_access, "empty argument").at_offset(at);
        if (e.arg_count == max_trace_args) return error(errc::out_of_range, "too many arguments").at_offset(at).limit(max_trace_args);
        e.args[e.arg_count++] = arg;
        if (comma == std::string_view::npos) break;
        inside.remove_prefix(comma + 1);
        at += comma + 1;
    }
    return e;
}

// One step of a path: a member (through any anonymous structs and unions between) or an index.
struct path_step {
    bool is_index = false;
    std::string_view member{};     // the member's name (a view into the BTF's strings)
    std::uint64_t index = 0;       // for an index step
    std::uint64_t byte_offset = 0; // from the start of the object this step reads from
    std::uint32_t bit_offset = 0;  // within that byte, for a bitfield
    std::uint32_t bitfield_size = 0;
    bool deref = false;            // the object is behind a pointer: the BPF side must probe-read it
    std::uint32_t type_id = 0;     // the step's type as declared (typedefs and modifiers kept)
};

// One resolved argument: the parameter (or the return value) and the steps from it.
struct arg_path {
    std::string_view param{};      // the parameter's name, or "return"
    std::uint32_t param_index = 0; // its position; the parameter count for "return"
    bool is_return = false;
    std::array<path_step, max_path_steps> steps{};
    std::size_t step_count = 0;
    std::uint32_t type_id = 0;     // the final type as declared
    std::uint64_t size = 0;        // its size in bytes
    kind final_kind = kind::unknown;  // its kind once typedefs and modifiers are skipped
};

// What went wrong in a user's path, for a message that offers the alternatives (explain_path).
enum class path_problem : std::uint8_t {
    none,
    syntax,             // not a path: `at` is the byte offset in the argument
    not_a_function,     // the id is no FUNC with a FUNC_PROTO
    no_parameter,       // `name` is no parameter of the function
    void_return,        // "return" of a function returning void
    no_member,          // `name` is no member of `type_id`
    arrow_needs_pointer,// '->' applied to `type_id`, which is no pointer
    dot_on_pointer,     // '.' applied to the pointer `type_id`
    not_composite,      // a member of `type_id`, which is no struct or union
    incomplete,         // a member of the forward declaration `type_id`
    not_indexable,      // '[' applied to `type_id`, neither array nor pointer
    index_out_of_range, // `index` past `limit` elements of the array `type_id`
    unsized,            // indexing through a pointer to `type_id`, which has no size
    too_many_steps,
    bad_btf,            // the BTF itself is malformed (the error says where)
};
struct path_failure {
    path_problem problem = path_problem::none;
    std::size_t step = 0;          // which step failed (0: the parameter itself)
    std::size_t at = 0;            // byte offset in the argument text
    std::string_view name{};       // the name that was not found (bad_btf: the member of type void)
    std::uint32_t type_id = 0;     // the type the step was applied to
    std::uint64_t index = 0, limit = 0;
};

namespace detail {

// Calls f(name, member, bits) for each member of the composite `id` and, depth first, for those of its
// anonymous composite members (C's rule for finding a member by name), `bits` the member's offset from
// the start of `id`, until f returns true; returns whether it did. `visits` bounds the walk where
// composites hold each other anonymously more than once (only malformed BTF): without it the walk
// branches at every level.
template <class F>
constexpr bool walk_members(const btf& b, std::uint32_t id, std::uint32_t depth, std::uint64_t base, std::uint32_t& visits, F&& f) {
    if (depth > max_anon_depth || !b.valid_id(id) || visits == max_anon_visits) return false;
    ++visits;
    for (const member m : b[id].members()) {
        const std::string_view n = b.string(m.name_off);
        if (f(n, m, base + m.bit_offset)) return true;
        if (!n.empty()) continue;
        auto inner = b.skip_mods_and_typedefs(m.type);
        if (inner && inner->is_composite() && walk_members(b, inner->id(), depth + 1, base + m.bit_offset, visits, f)) return true;
    }
    return false;
}

// A member named `name` in the composite `id`, through anonymous members; `bits` gets its offset from
// the start of `id`.
constexpr bool find_member(const btf& b, std::uint32_t id, std::string_view name, std::uint64_t& bits, member& found, std::uint32_t& visits) {
    return walk_members(b, id, 0, 0, visits, [&](std::string_view n, const member& m, std::uint64_t at) {
        if (n != name) return false;
        bits = at;
        found = m;
        return true;
    });
}

// Where an argument's text is in its parse.
class path_lexer {
public:
    constexpr explicit path_lexer(std::string_view s) noexcept : s_(s) {}
    constexpr void skip_space() noexcept {
        while (i_ < s_.size() && is_space(s_[i_])) ++i_;
    }
    [[nodiscard]] constexpr bool done() noexcept { skip_space(); return i_ == s_.size(); }
    [[nodiscard]] constexpr std::size_t at() const noexcept { return i_; }
    [[nodiscard]] constexpr bool take(std::string_view tok) noexcept {
        skip_space();
        if (s_.substr(i_, tok.size()) != tok) return false;
        i_ += tok.size();
        return true;
    }
    [[nodiscard]] constexpr std::string_view ident() noexcept {
        skip_space();
        const std::size_t start = i_;
        if (i_ < s_.size() && is_ident_start(s_[i_])) {
            while (i_ < s_.size() && is_ident_char(s_[i_])) ++i_;
        }
        return s_.substr(start, i_ - start);
    }
    [[nodiscard]] constexpr bool number(std::uint64_t& v) noexcept {
        skip_space();
        const std::size_t start = i_;
        v = 0;
        while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') {
            const std::uint64_t d = static_cast<std::uint64_t>(s_[i_] - '0');
            if (v > (~std::uint64_t{0} - d) / 10) return false;
            v = v * 10 + d;
            ++i_;
        }
        return i_ != start;
    }

private:
    std::string_view s_;
    std::size_t i_ = 0;
};

}  // namespace detail

// Resolves one argument ("skb", "skb->sk->sk_rcvbuf", "req.addr[2]", "return") of the FUNC `func_id`
// in `b`. On failure the error says what is wrong in general, and `why` (if given) says exactly where,
// for explain_path().
[[nodiscard]] constexpr result<arg_path> resolve_arg(const btf& b, std::uint32_t func_id, std::string_view text,
                                                     path_failure* why = nullptr) {
    path_failure f;
    auto fail = [&](path_problem p, const char* what, errc code = errc::not_found) {
        f.problem = p;
        if (why != nullptr) *why = f;
        return error(code, what).at_offset(f.at);
    };
    if (!b.valid_id(func_id) || !b[func_id].is(kind::func) || !b.valid_id(b[func_id].ref()) || !b[b[func_id].ref()].is(kind::func_proto)) {
        f.type_id = func_id;
        return fail(path_problem::not_a_function, "not a function with a prototype", errc::bad_kind);
    }
    const type proto = b[b[func_id].ref()];
    arg_path p;
    detail::path_lexer lx(text);
    p.param = lx.ident();
    if (p.param.empty()) return fail(path_problem::syntax, "expected a parameter name or 'return'", errc::bad_access);
    std::uint32_t cur = 0;
    if (p.param == "return") {
        p.is_return = true;
        p.param_index = proto.vlen();
        cur = proto.ref();
        if (cur == 0) return fail(path_problem::void_return, "the function returns void");
    } else {
        bool found = false;
        for (const param q : proto.params()) {
            if (b.string(q.name_off) == p.param) {
                cur = q.type;
                found = true;
                break;
            }
            ++p.param_index;
        }
        if (!found) {
            f.name = p.param;
            return fail(path_problem::no_parameter, "no such parameter");
        }
    }
    while (!lx.done()) {
        f.step = p.step_count + 1;
        f.at = lx.at();
        if (p.step_count == max_path_steps) return fail(path_problem::too_many_steps, "too many steps", errc::too_deep);
        path_step s;
        auto here = b.skip_mods_and_typedefs(cur);
        if (!here) return fail(path_problem::bad_btf, "malformed BTF on the path", here.error().code);
        f.type_id = cur;
        if (lx.take("[")) {
            s.is_index = true;
            if (!lx.number(s.index) || !lx.take("]")) {
                f.at = lx.at();
                return fail(path_problem::syntax, "expected a number and ']'", errc::bad_access);
            }
            std::uint32_t elem = 0;
            if (here->is(kind::array)) {
                const auto a = here->array();
                f.index = s.index;
                f.limit = a.nelems;
                if (a.nelems != 0 && s.index >= a.nelems) return fail(path_problem::index_out_of_range, "index out of range", errc::out_of_range);
                elem = a.type;
            } else if (here->is(kind::ptr)) {
                s.deref = true;
                elem = here->ref();
            } else {
                return fail(path_problem::not_indexable, "'[' applied to a type that is neither array nor pointer", errc::bad_kind);
            }
            auto size = b.resolve_size(elem);
            if (!size || *size == 0) {
                f.type_id = elem;
                return fail(path_problem::unsized, "indexing a type without a size", errc::bad_kind);
            }
            if (s.index != 0 && *size > ~std::uint64_t{0} / s.index) return fail(path_problem::index_out_of_range, "index out of range", errc::out_of_range);
            s.byte_offset = s.index * *size;
            s.type_id = elem;
        } else {
            const bool arrow = lx.take("->");
            if (!arrow && !lx.take(".")) return fail(path_problem::syntax, "expected '->', '.' or '['", errc::bad_access);
            std::uint32_t holder = here->id();
            if (arrow) {
                if (!here->is(kind::ptr)) return fail(path_problem::arrow_needs_pointer, "'->' applied to a type that is no pointer", errc::bad_kind);
                auto pointee = b.skip_mods_and_typedefs(here->ref());
                if (!pointee) return fail(path_problem::bad_btf, "malformed BTF on the path", pointee.error().code);
                holder = pointee->id();
                f.type_id = here->ref();
                s.deref = true;
            } else if (here->is(kind::ptr)) {
                return fail(path_problem::dot_on_pointer, "'.' applied to a pointer", errc::bad_kind);
            }
            s.member = lx.ident();
            if (s.member.empty()) {
                f.at = lx.at();
                return fail(path_problem::syntax, "expected a member name", errc::bad_access);
            }
            const type h = b[holder];
            if (h.is(kind::fwd)) return fail(path_problem::incomplete, "a member of an incomplete type", errc::bad_kind);
            if (!h.is_composite()) return fail(path_problem::not_composite, "a member of a type that is no struct or union", errc::bad_kind);
            std::uint64_t bits = 0;
            member m{};
            std::uint32_t visits = 0;
            if (!detail::find_member(b, holder, s.member, bits, m, visits)) {
                f.name = s.member;
                f.type_id = holder;
                return fail(path_problem::no_member, "no such member");
            }
            if (m.type == 0) {  // a member of type void: the kernel's BTF check rejects it
                f.type_id = holder;
                f.name = s.member;
                return fail(path_problem::bad_btf, "malformed BTF on the path: a member of type void", errc::bad_type_id);
            }
            s.byte_offset = bits / 8;
            s.bit_offset = static_cast<std::uint32_t>(bits % 8);
            s.bitfield_size = m.bitfield_size;
            s.type_id = m.type;
        }
        p.steps[p.step_count++] = s;
        cur = s.type_id;
    }
    p.type_id = cur;
    auto last = b.skip_mods_and_typedefs(cur);
    if (!last) return fail(path_problem::bad_btf, "malformed BTF on the path", last.error().code);
    p.final_kind = cur == 0 ? kind::unknown : last->kind();
    if (auto size = b.resolve_size(cur)) p.size = *size;  // 0 for what has none (void, a function)
    return p;
}

}  // namespace btfkit
