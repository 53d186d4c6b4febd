// `btfkit find NAME... [--kind K] [targets] [--json]`: every type with that essential name, in vmlinux
// and in every module (modules are always searched, unlike libbpf's candidate search).
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

int run_find(int argc, char** argv) {
    target_args t;
    std::vector<std::string_view> names;
    std::string_view want_kind, problem;
    bool json = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view s = argv[i];
        if (take_target_option(argc, argv, i, t, problem)) {
            if (!problem.empty()) return usage_error(find_command, problem);
        } else if (s == "--kind") {
            if (i + 1 >= argc) return usage_error(find_command, "--kind needs an argument");
            want_kind = argv[++i];
        } else if (s == "--json") {
            json = true;
        } else if (s.size() > 1 && s[0] == '-') {
            return usage_error(find_command, "unknown option");
        } else {
            names.push_back(s);
        }
    }
    if (names.empty()) return usage_error(find_command, "missing NAME");
    if (!want_kind.empty()) {
        bool known = false;
        for (std::uint8_t k = 1; k <= kind_max; ++k) known |= kind_matches(static_cast<kind>(k), want_kind);
        if (!known) return usage_error(find_command, "unknown kind (use a bpftool kind name: struct, union, enum, typedef, ...)");
    }
    std::vector<std::string_view> essentials;
    for (const std::string_view name : names) essentials.push_back(essential_name(name));
    auto targets = open_targets(t, essentials);  // the names are looked for while the targets open
    if (!targets) return report(targets.error());
    target_set& set = (*targets)->targets();
    std::string out;
    std::vector<candidate> found;
    for (std::size_t i = 0; i < names.size(); ++i) {
        const std::string_view name = names[i];
        found.clear();
        if (auto st = set.find(essentials[i], found); !st) return report(st.error());
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
    }
    for (const auto& w : set.warnings()) std::fprintf(stderr, "btfkit: warning: %s\n", w.c_str());
    stdout_sink sink;
    sink.append(out.data(), out.size());
    keep_until_exit(std::move(*targets));
    return sink.finish();
}

}  // namespace

const command find_command{
    "find", run_find,
    "NAME... [--kind K] [--btf FILE] [--module FILE]... [--modules-dir DIR] [--index-cache FILE|DIR/|off] [--json]",
    "list every type with that essential name in vmlinux and all modules: NAME BTF TYPE_ID KIND FULL_NAME"};

}  // namespace btfkit::cli
