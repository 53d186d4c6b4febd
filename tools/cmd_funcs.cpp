// `btfkit funcs GLOB...`: every FUNC whose name matches a shell pattern, in vmlinux and every module,
// with its BTF object id on the running kernel, its linkage and its C prototype; exit status 1 when
// a GLOB matches nothing, as grep.
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "btfkit/os/filter_functions.hpp"
#include "btfkit/targets/symbol_matches.hpp"
#include "btfkit/write/c_prototype.hpp"
#include "targets.hpp"

namespace btfkit::cli {
namespace {

struct funcs_args {
    target_args targets;
    std::vector<std::string_view> globs;
    bool json = false;
    bool attachable = false;         // --attachable
    std::string filter_functions;    // --filter-functions FILE ("" = tracefs's)
};

// "MODULE:GLOB" (libbpf's fentry/module:func) searches the BTFs MODULE matches only ("vmlinux", "nf_*").
struct glob_operand {
    std::string_view module = "*", names;
};
[[nodiscard]] glob_operand split_operand(std::string_view s) {
    const std::size_t colon = s.find(':');
    if (colon == std::string_view::npos) return {"*", s};
    return {s.substr(0, colon), s.substr(colon + 1)};
}

int run_funcs(funcs_args& a) {
    // The index cache holds name hashes: it answers plain names only, and costs a stat of every target
    // file to check, so patterns alone open the targets without it.
    bool any_plain = false;
    for (const std::string_view g : a.globs) any_plain = any_plain || name_glob(split_operand(g).names).is_literal();
    if (!any_plain) a.targets.index_cache = "off";
    auto targets = open_targets(a.targets);
    if (!targets) return report(targets.error());
    target_set& set = (*targets)->targets();
    // Plain names are looked up in the symbols indexes: prepared in one go (plan_prefetch says how).
    std::vector<std::string_view> plain;
    for (const std::string_view g : a.globs) {
        const glob_operand o = split_operand(g);
        if (name_glob(o.names).is_literal()) plain.push_back(o.names);
    }
    if (auto st = set.prefetch(plain, name_space::symbols); !st) return report(st.error());

    std::optional<filter_functions> ftrace;
    if (a.attachable) {
        auto f = filter_functions::read(a.filter_functions);
        if (!f) return report(f.error().code == errc::io && a.filter_functions.empty()
                                  ? f.error().about("available_filter_functions (is tracefs mounted and readable?)")
                                  : f.error());
        ftrace = std::move(*f);
    }
    std::string out, missing;
    for (const std::string_view g : a.globs) {
        const glob_operand o = split_operand(g);
        auto found = symbol_matches::find(set, name_glob(o.names), kind::func, name_glob(o.module));
        if (!found) return report(found.error());
        if (a.json) {
            out += "{\"glob\": ";
            append_json_string(out, g);
            out += ", \"functions\": [";
        }
        bool first = true;
        for (const candidate c : *found) {
            const std::string_view btf_name = set.target_name(c.target);
            const type f = (*c.owner)[c.id];
            if (ftrace && !ftrace->contains(f.name(), btf_name)) continue;
            std::string proto;
            if (auto st = write_c_prototype(*c.owner, c.id, proto); !st) {
                std::fprintf(stderr, "btfkit: warning: %s: %s\n", std::string(f.name()).c_str(), st.error().message().c_str());
                proto.clear();
            }
            const std::optional<std::uint32_t> obj = (*targets)->kernel_object_id(c.target);
            if (a.json) {
                out += first ? "{\"name\": " : ", {\"name\": ";
                append_json_string(out, f.name());
                out += ", \"btf\": ";
                append_json_string(out, btf_name);
                out += ", \"type_id\": " + std::to_string(c.id) + ", \"btf_obj_id\": " + (obj ? std::to_string(*obj) : "null");
                out += ", \"linkage\": ";
                append_json_string(out, linkage_name(f.func_linkage()));
                out += ", \"prototype\": ";
                if (proto.empty()) out += "null";
                else append_json_string(out, proto);
                out += '}';
            } else {
                out.append(f.name());
                out += ' ';
                out.append(btf_name);
                out += ' ' + std::to_string(c.id) + ' ' + (obj ? std::to_string(*obj) : "-") + ' ';
                out.append(linkage_name(f.func_linkage()));
                out += ' ';
                out += proto;
                out += '\n';
            }
            first = false;
        }
        if (a.json) out += "]}\n";
        if (first) missing += "btfkit funcs: " + std::string(g) + ": no function matches\n";
    }
    for (const auto& w : set.warnings()) std::fprintf(stderr, "btfkit: warning: %s\n", w.c_str());
    stdout_sink sink;
    sink.append(out.data(), out.size());
    keep_until_exit(std::move(*targets));
    const int s = sink.finish();
    std::fwrite(missing.data(), 1, missing.size(), stderr);
    return s != 0 ? s : missing.empty() ? 0 : exit_error;
}

constexpr option<funcs_args> options[] = {
    {.name = "--json", .help = "one JSON document per GLOB: {\"glob\", \"functions\": [{\"name\", \"btf\", \"type_id\", \"btf_obj_id\", \"linkage\", \"prototype\"}]}",
     .apply = [](funcs_args& a, std::string_view) { a.json = true; return ok; }},
    {.name = "--attachable", .help = "only the functions ftrace can attach to (tracefs's available_filter_functions)",
     .apply = [](funcs_args& a, std::string_view) { a.attachable = true; return ok; }},
    {.name = "--filter-functions", .arg = "FILE", .help = "with --attachable: read this copy of available_filter_functions instead",
     .apply = [](funcs_args& a, std::string_view v) { a.filter_functions = v; return ok; }},
};

constexpr command_spec<funcs_args> spec{
    .name = "funcs",
    .summary = "list the functions whose names match a shell pattern: NAME BTF TYPE_ID BTF_OBJ_ID LINKAGE PROTOTYPE",
    .details = "GLOB is an fnmatch(3) pattern without flags (*, ?, [...], \\c); a GLOB without wildcards is one name, looked up\n"
               "in the symbols index. MODULE:GLOB (libbpf's fentry/module:func) searches the BTFs MODULE matches only\n"
               "(vmlinux:GLOB, nf_*:GLOB); --only-module keeps vmlinux and the modules named as targets.\n"
               "BTF_OBJ_ID is the running kernel's BTF object id (\"-\" for files); the prototype is C, as `ksnoop info` prints it.\n"
               "A GLOB that matches nothing is reported on stderr, and the exit status is then 1, as grep's.",
    .operand = "GLOB",
    .operands = &funcs_args::globs,
    .options = options,
    .shared = target_group<funcs_args>,
    .run = run_funcs,
};

}  // namespace

extern constinit const command funcs_command = make_command<spec>();

}  // namespace btfkit::cli
