// `btfkit dump FILE... [--base BASE] [format raw|c] [--bpftool-compat 7.1] [--types NAME...]`:
// bpftool's BTF dumps (`bpftool btf dump file FILE [-B BASE] [format c]`).
#include <optional>
#include <string>
#include <vector>

#include "btfkit/format/dump.hpp"
#include "btfkit/write/c_header.hpp"
#include "cli.hpp"

namespace btfkit::cli {
namespace {

struct dump_options {
    bool c = false;
    bpftool_compat compat = bpftool_compat::v7_5;
    std::vector<std::string_view> types;
};

// Takes the dump-only words out of argv (`format raw|c`, `--bpftool-compat V`, `--types NAME...`,
// the names running to the next option), leaving FILE and --base for parse_file_args.
std::string_view take_dump_options(int argc, char** argv, dump_options& o, std::vector<char*>& rest) {
    rest.push_back(argv[0]);
    for (int i = 1; i < argc; ++i) {
        const std::string_view s = argv[i];
        if (s == "format") {
            if (i + 1 >= argc) return "missing argument to format";
            const std::string_view f = argv[++i];
            if (f == "c") o.c = true;
            else if (f == "raw") o.c = false;
            else return "format must be raw or c";
        } else if (s == "--bpftool-compat" || s.starts_with("--bpftool-compat=")) {
            std::string_view v;
            if (s.size() > 16) v = s.substr(17);
            else if (i + 1 < argc) v = argv[++i];
            else return "missing argument to --bpftool-compat";
            if (v == "7.1") o.compat = bpftool_compat::v7_1;
            else if (v == "7.5") o.compat = bpftool_compat::v7_5;
            else return "--bpftool-compat must be 7.1 or 7.5";
        } else if (s == "--types") {
            while (i + 1 < argc && argv[i + 1][0] != '-' && std::string_view{argv[i + 1]} != "format") o.types.push_back(argv[++i]);
            if (o.types.empty()) return "missing NAME after --types";
        } else {
            rest.push_back(argv[i]);
        }
    }
    return {};
}

// The C header of one file: every type, or --types and what they need.
int dump_c(const btf& b, const dump_options& o, stdout_sink& out) {
    c_header_options opts{.compat = o.compat};
    std::vector<std::uint32_t> roots;
    if (!o.types.empty()) {
        auto r = c_header_roots(b, o.types, o.compat);
        if (!r) return report(r.error());
        roots = std::move(*r);
        opts.roots = roots;
    }
    // bpftool 7.5's sort runs in two halves, the second on a helper thread placed on another CPU
    auto two_threads = [](auto&& first, auto&& second) { detail::run_both(first, second); };
    if (auto s = write_c_header(b, out, opts, two_threads); !s) {
        (void)out.finish();
        return report(s.error());
    }
    return 0;
}

int run_dump(int argc, char** argv) {
    dump_options o;
    std::vector<char*> rest;
    if (const std::string_view p = take_dump_options(argc, argv, o, rest); !p.empty()) return usage_error(dump_command, p);
    if (!o.c && !o.types.empty()) return usage_error(dump_command, "--types needs format c");
    const file_args a = parse_file_args(static_cast<int>(rest.size()), rest.data());
    if (!a.problem.empty()) return usage_error(dump_command, a.problem);
    std::optional<btf_file> base;
    if (auto s = load_base(a, base); !s) return report(s.error());
    stdout_sink out;
    // Several files over one base: their dumps in order, as a bpftool batch would print them.
    for (const std::string_view path : a.files) {
        auto f = open_btf(path, base ? &base->types : nullptr);
        if (!f) {
            (void)out.finish();
            return report(f.error());
        }
        if (o.c) {
            if (const int rc = dump_c(f->types, o, out); rc != 0) return rc;
        } else {
            dump_raw(f->types, out);
        }
    }
    return out.finish();
}

}  // namespace

extern const command dump_command{
    "dump", run_dump, "FILE... [--base BASE | -B BASE] [format raw|c] [--bpftool-compat 7.1] [--types NAME...]",
    "print BTF types as `bpftool btf dump file FILE [format c]` does; FILE is raw BTF or ELF"};

}  // namespace btfkit::cli
