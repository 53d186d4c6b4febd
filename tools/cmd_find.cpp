// `btfkit find NAME...`: every type with that essential name, in vmlinux and in every module (modules
// are always searched, unlike libbpf's candidate search); with --kind func or var, the FUNCs or VARs of
// that whole name (the symbols name space). Exit status 1 when a NAME has none, as grep.
#include <cctype>
#include <cstdio>
#include <string>
#include <vector>

#include "targets.hpp"

namespace btfkit::cli {
namespace {

[[nodiscard]] bool kind_matches(kind k, std::string_view want) {
    if (want.empty()) return true;
    const std::string_view n = kind_name(k);
    if (n.size() != want.size()) return false;
    for (std::size_t i = 0; i < n.size(); ++i) {
        if (std::toupper(static_cast<unsigned char>(want[i])) != n[i]) return false;
    }
    return true;
}

struct find_args {
    target_args targets;
    std::vector<std::string_view> names;
    std::string_view kind;  // "" = every kind
    bool json = false;
};

int run_find(find_args& a) {
    const std::vector<std::string_view>& names = a.names;
    const std::string_view want_kind = a.kind;
    const bool json = a.json;
    // FUNC and VAR are symbols, looked up by whole name; other kinds are types, by essential name.
    const bool symbols = !want_kind.empty() && (kind_matches(kind::func, want_kind) || kind_matches(kind::var, want_kind));
    const name_space space = symbols ? name_space::symbols : name_space::types;
    std::vector<std::string_view> keys;
    for (const std::string_view name : names) keys.push_back(space == name_space::types ? essential_name(name) : name);
    // The names are looked for while the targets open
    auto targets = open_targets(a.targets, keys, space);
    if (!targets) return report(targets.error());
    target_set& set = (*targets)->targets();
    std::string out, missing;
    std::vector<candidate> found;
    for (std::size_t i = 0; i < names.size(); ++i) {
        const std::string_view name = names[i];
        found.clear();
        if (auto st = set.find(keys[i], found, space); !st) return report(st.error());
        if (json) {
            out += "{\"name\": ";
            append_json_string(out, name);
            out += ", \"candidates\": [";
        }
        bool first = true;
        for (const candidate& c : found) {
            const type ty = (*c.owner)[c.id];
            if (!kind_matches(ty.kind(), want_kind)) continue;
            if (json) {
                if (!first) out += ", ";
                out += "{\"btf\": ";
                append_json_string(out, set.target_name(c.target));
                out += ", \"type_id\": " + std::to_string(c.id) + ", \"kind\": ";
                append_json_string(out, kind_name(ty.kind()));
                out += ", \"name\": ";
                append_json_string(out, ty.name());
                out += '}';
            } else {
                out.append(name);
                out += ' ';
                out.append(set.target_name(c.target));
                out += ' ' + std::to_string(c.id) + ' ';
                out.append(kind_name(ty.kind()));
                out += ' ';
                out.append(ty.name());
                out += '\n';
            }
            first = false;
        }
        if (json) out += "]}\n";
        if (first) {  // nothing printed for this name: say so, as grep's status does
            missing += "btfkit find: " + std::string(name) + ": not found";
            if (!want_kind.empty()) missing += " as " + std::string(want_kind);
            missing += '\n';
        }
    }
    for (const auto& w : set.warnings()) std::fprintf(stderr, "btfkit: warning: %s\n", w.c_str());
    stdout_sink sink;
    sink.append(out.data(), out.size());
    keep_until_exit(std::move(*targets));
    const int s = sink.finish();
    std::fwrite(missing.data(), 1, missing.size(), stderr);
    return s != 0 ? s : missing.empty() ? 0 : exit_error;
}

constexpr option<find_args> options[] = {
    {.name = "--kind", .arg = "K", .help = "only types of kind K (bpftool's names, any case: struct, union, enum, typedef, ...; func, var: by whole name)",
     .apply = [](find_args& a, std::string_view v) {
         for (std::uint8_t k = 1; k <= kind_max; ++k) {
             if (kind_matches(static_cast<kind>(k), v)) { a.kind = v; return ok; }
         }
         return problem("unknown kind (bpftool kind names: struct, union, enum, typedef, ...)");
     }},
    {.name = "--json", .help = "one JSON document per NAME: {\"name\", \"candidates\": [{\"btf\", \"type_id\", \"kind\", \"name\"}]}",
     .apply = [](find_args& a, std::string_view) { a.json = true; return ok; }},
};

constexpr command_spec<find_args> spec{
    .name = "find",
    .summary = "list every type with that essential name in vmlinux and all modules: NAME BTF TYPE_ID KIND FULL_NAME",
    .details = "Without --kind, the kinds a CO-RE relocation looks up (struct, union, enum, enum64, fwd, typedef, int, float).\n"
               "--kind func or var lists the FUNCs or VARs of that whole name (no ___flavor stripping), as libbpf's\n"
               "ksym, kfunc and attach lookups compare them.\n"
               "A NAME with no type (of kind K) is reported on stderr, and the exit status is then 1, as grep's.",
    .operand = "NAME",
    .operands = &find_args::names,
    .options = options,
    .shared = target_group<find_args>,
    .run = run_find,
};

}  // namespace

extern constinit const command find_command = make_command<spec>();

}  // namespace btfkit::cli
