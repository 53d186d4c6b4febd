// `btfkit resolve EXPR...`: ksnoop's user-space half. Each EXPR ("ip_send_skb(skb->sk, net)") names a
// function, found in vmlinux and then in the modules, and arguments whose member paths are resolved
// by C's rules (trace/arg_path.hpp): per step the offset, whether it goes through a pointer, and the
// type; errors name the bad step and offer the alternatives.
#include <cstdio>
#include <string>
#include <vector>

#include "btfkit/trace/arg_path.hpp"
#include "btfkit/trace/explain.hpp"
#include "btfkit/write/c_prototype.hpp"
#include "targets.hpp"

namespace btfkit::cli {
namespace {

struct resolve_args {
    target_args targets;
    std::vector<std::string_view> exprs;
    bool json = false;
};

struct found_function {
    const btf* owner = nullptr;
    std::uint32_t id = 0;
    std::uint32_t target = 0;
};

// The FUNC named `name`: vmlinux first, then the modules in order, as ksnoop looks it up (by whole
// name: the symbols name space's indexes, no module opened but the one that has it).
result<found_function> find_function(target_set& set, std::string_view name) {
    found_function f;
    auto take = [&](const btf& b, std::uint32_t id, std::uint32_t t) {
        if (f.owner == nullptr && b[id].is(kind::func)) f = {&b, id, t};
    };
    BTFKIT_TRY(set.for_each_named(target_group::vmlinux, name, name_space::symbols, take));
    if (f.owner == nullptr) BTFKIT_TRY(set.for_each_named(target_group::modules, name, name_space::symbols, take));
    if (f.owner == nullptr) return error(errc::not_found, "no such function in vmlinux or any module").about(name);
    return f;
}

// "int ip_send_skb(struct net *net, struct sk_buff *skb);", as btf_dump declares it.
std::string prototype(const btf& b, std::uint32_t func_id) {
    auto p = c_prototype(b, func_id);
    return p ? *p : "/* " + p.error().message() + " */";
}

void path_json(std::string& out, const btf& b, const arg_path& p) {
    out += "{\"param\": ";
    append_json_string(out, p.param);
    out += ", \"index\": " + std::to_string(p.param_index) + ", \"steps\": [";
    for (std::size_t i = 0; i < p.step_count; ++i) {
        const path_step& s = p.steps[i];
        if (i != 0) out += ", ";
        if (s.is_index) {
            out += "{\"index\": " + std::to_string(s.index);
        } else {
            out += "{\"member\": ";
            append_json_string(out, s.member);
        }
        out += ", \"byte_offset\": " + std::to_string(s.byte_offset) + ", \"bit_offset\": " + std::to_string(s.bit_offset) +
               ", \"bitfield_size\": " + std::to_string(s.bitfield_size) + ", \"deref\": " + (s.deref ? "true" : "false") +
               ", \"type_id\": " + std::to_string(s.type_id) + ", \"c_type\": ";
        append_json_string(out, c_type_name(b, s.type_id));
        out += '}';
    }
    out += "], \"type_id\": " + std::to_string(p.type_id) + ", \"c_type\": ";
    append_json_string(out, c_type_name(b, p.type_id));
    out += ", \"size\": " + std::to_string(p.size) + ", \"kind\": ";
    append_json_string(out, p.type_id == 0 ? std::string_view("VOID") : kind_name(p.final_kind));
    out += '}';
}

void path_text(std::string& out, const btf& b, std::string_view text, const arg_path& p) {
    out += "  ";
    out.append(text);
    out += ": " + c_type_name(b, p.type_id) + ", " + std::to_string(p.size) + " bytes, type #" + std::to_string(p.type_id);
    out += p.is_return ? " (the return value)\n" : " (parameter " + std::to_string(p.param_index) + ")\n";
    for (std::size_t i = 0; i < p.step_count; ++i) {
        const path_step& s = p.steps[i];
        out += "    ";
        out += s.is_index ? "[" + std::to_string(s.index) + "]" : std::string(s.deref ? "->" : ".") + std::string(s.member);
        out += "  +" + std::to_string(s.byte_offset);
        if (s.bitfield_size != 0 || s.bit_offset != 0) out += " bit " + std::to_string(s.bit_offset) + " size " + std::to_string(s.bitfield_size);
        if (s.deref) out += " (through a pointer)";
        out += "  " + c_type_name(b, s.type_id) + " #" + std::to_string(s.type_id) + '\n';
    }
}

int run_resolve(resolve_args& a) {
    std::vector<result<trace_expr>> exprs;
    std::vector<std::string_view> names;
    for (const std::string_view text : a.exprs) {
        exprs.push_back(parse_trace_expr(text));
        if (exprs.back()) names.push_back(exprs.back()->function);
    }
    // The functions' names at open: the modules are walked for them while vmlinux is read
    auto targets = open_targets(a.targets, names, name_space::symbols);
    if (!targets) return report(targets.error());
    target_set& set = (*targets)->targets();
    std::string out;
    int status = 0;
    for (std::size_t i = 0; i < exprs.size(); ++i) {
        if (!exprs[i]) {
            std::fprintf(stderr, "btfkit resolve: %.*s: %s\n", static_cast<int>(a.exprs[i].size()), a.exprs[i].data(),
                         exprs[i].error().message().c_str());
            status = exit_error;
            continue;
        }
        const trace_expr& e = *exprs[i];
        auto f = find_function(set, e.function);
        if (!f) {
            report(f.error());
            status = exit_error;
            continue;
        }
        const btf& b = *f->owner;
        std::vector<arg_path> paths;
        std::vector<std::string_view> texts;
        std::string failed;
        auto add = [&](std::string_view arg) {
            path_failure why;
            auto p = resolve_arg(b, f->id, arg, &why);
            if (p) {
                paths.push_back(*p);
                texts.push_back(arg);
            }
            else if (failed.empty()) failed = explain_path(b, f->id, e.function, arg, why);
        };
        if (e.arg_count == 0) {  // ksnoop's "func": every parameter, and the return value if any
            const type proto = b[b[f->id].ref()];
            for (const param q : proto.params()) {
                if (q.type != 0) add(b.string(q.name_off));
            }
            if (proto.ref() != 0) add("return");
        }
        for (std::size_t k = 0; k < e.arg_count; ++k) add(e.args[k]);
        if (!failed.empty()) {
            std::fprintf(stderr, "btfkit resolve: %s\n", failed.c_str());
            status = exit_error;
            continue;
        }
        const std::string_view btf_name = set.target_name(f->target);
        const auto obj = (*targets)->kernel_object_id(f->target);
        if (a.json) {
            out += "{\"expr\": ";
            append_json_string(out, a.exprs[i]);
            out += ", \"function\": {\"name\": ";
            append_json_string(out, e.function);
            out += ", \"btf\": ";
            append_json_string(out, btf_name);
            out += ", \"btf_obj_id\": " + (obj ? std::to_string(*obj) : std::string("null")) + ", \"type_id\": " + std::to_string(f->id) +
                   ", \"prototype\": ";
            append_json_string(out, prototype(b, f->id));
            out += "}, \"paths\": [";
            for (std::size_t k = 0; k < paths.size(); ++k) {
                if (k != 0) out += ", ";
                path_json(out, b, paths[k]);
            }
            out += "]}\n";
        } else {
            out += prototype(b, f->id) + "  [" + std::string(btf_name) + " #" + std::to_string(f->id) +
                   (obj ? ", BTF object " + std::to_string(*obj) : std::string()) + "]\n";
            for (std::size_t k = 0; k < paths.size(); ++k) path_text(out, b, texts[k], paths[k]);
        }
    }
    for (const auto& w : set.warnings()) std::fprintf(stderr, "btfkit: warning: %s\n", w.c_str());
    stdout_sink sink;
    sink.append(out.data(), out.size());
    keep_until_exit(std::move(*targets));
    const int s = sink.finish();
    return s != 0 ? s : status;
}

constexpr option<resolve_args> options[] = {
    {.name = "--json", .help = "one JSON document per EXPR: {\"expr\", \"function\": {...}, \"paths\": [...]} (docs/cli.md)",
     .apply = [](resolve_args& a, std::string_view) { a.json = true; return ok; }},
};

constexpr command_spec<resolve_args> spec{
    .name = "resolve",
    .summary = "resolve ksnoop expressions such as 'ip_send_skb(skb->sk, net)': the function, and per argument each step's offset and type",
    .details = "EXPR is FUNC, FUNC(ARG, ...), where ARG is a parameter or 'return' followed by ->MEMBER, .MEMBER and [N] steps. "
               "FUNC alone resolves every parameter and the return value. An EXPR that does not resolve is explained on stderr "
               "(exit status 1); the others are still printed.",
    .operand = "EXPR",
    .operands = &resolve_args::exprs,
    .options = options,
    .shared = target_group<resolve_args>,
    .run = run_resolve,
};

}  // namespace

extern constinit const command resolve_command = make_command<spec>();

}  // namespace btfkit::cli
