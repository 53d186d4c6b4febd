// Messages for a path that did not resolve: the bad step, in the user's expression, with the
// alternatives (parameters, or the members closest to the name asked for).
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../format/btf.hpp"
#include "arg_path.hpp"

namespace btfkit {

// Types c_type_name visits in all, nested prototypes included: each visit adds at most a name and a few
// tokens, and prototypes that take themselves would otherwise branch at every level.
inline constexpr std::uint32_t max_c_type_visits = 1 << 10;

namespace detail {

[[nodiscard]] inline std::string c_type_name(const btf& b, std::uint32_t id, std::uint32_t depth, std::uint32_t& visits) {
    std::string decl, quals;  // the abstract declarator so far (outermost last), the base's qualifiers
    bool after_ptr = false;
    auto qualifier_applies_to_ptr = [&](std::uint32_t next) {
        for (std::uint32_t d = 0; d <= max_resolve_depth && b.valid_id(next) && next != 0; ++d) {
            const type n = b[next];
            if (!n.is_modifier()) return n.is(kind::ptr);
            next = n.ref();
        }
        return false;
    };
    auto join = [&](std::string base) { return quals + base + (decl.empty() ? "" : " " + decl); };
    for (std::uint32_t steps = 0; steps <= max_resolve_depth && depth <= max_resolve_depth; ++steps) {
        if (visits == max_c_type_visits) return join("...");
        ++visits;
        if (id == 0) return join("void");
        if (!b.valid_id(id)) return join("<bad type #" + std::to_string(id) + ">");
        const type t = b[id];
        const std::string name(t.name());
        switch (t.kind()) {
        case kind::ptr: decl = "*" + decl; after_ptr = true; id = t.ref(); continue;
        case kind::const_: case kind::volatile_: case kind::restrict_: {
            const std::string q(kind_str(t.kind()));
            if (qualifier_applies_to_ptr(t.ref())) decl = " " + q + (decl.empty() ? "" : " " + decl);
            else quals += q + " ";
            id = t.ref();
            continue;
        }
        case kind::type_tag: id = t.ref(); continue;
        case kind::array:
            if (after_ptr) decl = "(" + decl + ")";
            decl += "[" + std::to_string(t.array().nelems) + "]";
            after_ptr = false;
            id = t.array().type;
            continue;
        case kind::struct_: return join(name.empty() ? "struct {...}" : "struct " + name);
        case kind::union_: return join(name.empty() ? "union {...}" : "union " + name);
        case kind::enum_: case kind::enum64: return join(name.empty() ? "enum {...}" : "enum " + name);
        case kind::fwd: return join((t.kflag() ? "union " : "struct ") + name);
        case kind::func_proto: {
            std::string params;
            for (const param q : t.params()) {
                if (!params.empty()) params += ", ";
                params += q.type == 0 ? "..." : c_type_name(b, q.type, depth + 1, visits);
            }
            decl = "(" + decl + ")(" + (params.empty() ? "void" : params) + ")";
            const std::string ret = c_type_name(b, t.ref(), depth + 1, visits);
            return quals + ret + " " + decl;
        }
        default: return join(name.empty() ? std::string(kind_str(t.kind())) : name);
        }
    }
    return "<type chain too deep>";
}

}  // namespace detail

// A type as C spells it with no name (a cast's): "struct sock *", "const char *", "char * const",
// "u8 [16]", "int (*)(void *)", "void". At most max_c_type_visits types: "..." past them.
[[nodiscard]] inline std::string c_type_name(const btf& b, std::uint32_t id, std::uint32_t depth = 0) {
    std::uint32_t visits = 0;
    return detail::c_type_name(b, id, depth, visits);
}

namespace detail {

// Levenshtein distance, for ranking alternatives (names are short).
[[nodiscard]] inline std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diag = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diag = up;
        }
    }
    return row[b.size()];
}

// The names reachable as members of composite `id` (through anonymous members, as find_member finds
// them, with its budget of composites).
inline void member_names(const btf& b, std::uint32_t id, std::vector<std::string_view>& out) {
    std::uint32_t visits = 0;
    walk_members(b, id, 0, 0, visits, [&](std::string_view n, const member&, std::uint64_t) {
        if (!n.empty()) out.push_back(n);
        return false;
    });
}

// All of `names` when there are few, else the closest few to `want`.
inline constexpr std::size_t all_alternatives_up_to = 12;
[[nodiscard]] inline std::string alternatives(std::vector<std::string_view> names, std::string_view want) {
    constexpr std::size_t closest = 5;
    if (names.size() > all_alternatives_up_to) {
        // By distance, then in member order.
        std::vector<std::pair<std::size_t, std::size_t>> ranked;
        for (std::size_t i = 0; i < names.size(); ++i) ranked.emplace_back(edit_distance(names[i], want), i);
        std::sort(ranked.begin(), ranked.end());
        std::vector<std::string_view> best;
        for (std::size_t i = 0; i < closest; ++i) best.push_back(names[ranked[i].second]);
        names = std::move(best);
    }
    std::string out;
    for (const auto n : names) {
        if (!out.empty()) out += ", ";
        out += n;
    }
    return out;
}

}  // namespace detail

// "ip_send_skb(skb->sk->foo): struct sock has no member 'foo' (closest: ...)" for a failure of
// resolve_arg(b, func_id, arg, &why) on the function named `function`.
[[nodiscard]] inline std::string explain_path(const btf& b, std::uint32_t func_id, std::string_view function, std::string_view arg,
                                              const path_failure& why) {
    const std::string where = std::string(function) + "(" + std::string(arg) + ")";
    const std::string type = why.type_id != 0 || why.problem == path_problem::no_member ? c_type_name(b, why.type_id) : "void";
    const std::string step = " at offset " + std::to_string(why.at) + " of '" + std::string(arg) + "'";
    switch (why.problem) {
    case path_problem::none: return where + ": resolved";
    case path_problem::syntax: return where + ": not a path" + step + " (expected NAME, '->' NAME, '.' NAME or '[' N ']')";
    case path_problem::not_a_function: return std::string(function) + ": not a function with a prototype";
    case path_problem::no_parameter: {
        std::vector<std::string_view> params;
        if (b.valid_id(func_id) && b.valid_id(b[func_id].ref())) {
            for (const param q : b[b[func_id].ref()].params()) params.push_back(b.string(q.name_off));
        }
        return std::string(function) + ": no parameter '" + std::string(why.name) + "' (parameters: " +
               (params.empty() ? std::string("none") : detail::alternatives(std::move(params), why.name)) + ")";
    }
    case path_problem::void_return: return where + ": the function returns void";
    case path_problem::no_member: {
        std::vector<std::string_view> names;
        detail::member_names(b, why.type_id, names);
        std::string msg = where + ": " + type + " has no member '" + std::string(why.name) + "'";
        if (names.empty()) return msg;
        msg += names.size() > detail::all_alternatives_up_to ? " (closest: " : " (members: ";
        return msg + detail::alternatives(std::move(names), why.name) + ")";
    }
    case path_problem::arrow_needs_pointer: return where + ": '->' applied to " + type + ", which is no pointer" + step + " (use '.')";
    case path_problem::dot_on_pointer: return where + ": '.' applied to a pointer (" + type + ")" + step + " (use '->')";
    case path_problem::not_composite: return where + ": " + type + " has no members (not a struct or union)" + step;
    case path_problem::incomplete: return where + ": " + type + " is incomplete (only declared) here" + step;
    case path_problem::not_indexable: return where + ": '[' applied to " + type + ", neither array nor pointer" + step;
    case path_problem::index_out_of_range:
        return where + ": index " + std::to_string(why.index) + " out of range for " + type + " (" + std::to_string(why.limit) + " elements)";
    case path_problem::unsized: return where + ": cannot index through " + type + ", which has no size" + step;
    case path_problem::too_many_steps: return where + ": more than " + std::to_string(max_path_steps) + " steps";
    case path_problem::bad_btf:
        if (!why.name.empty()) return where + ": the BTF on this path is malformed: member '" + std::string(why.name) + "' of " + type + " has type void";
        return where + ": the BTF on this path is malformed" + step;
    }
    return where;
}

}  // namespace btfkit
