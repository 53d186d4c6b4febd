// `btfkit dump FILE... [--base BASE] [format raw|c] [--bpftool-compat 7.1|7.5] [--types NAME]...`:
// bpftool's BTF dumps (`bpftool btf dump file FILE [-B BASE] [format raw|c]`).
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "btfkit/format/dump.hpp"
#include "btfkit/runtime/threads.hpp"
#include "btfkit/write/c_header.hpp"
#include "cli.hpp"

namespace btfkit::cli {
namespace {

struct dump_args : file_args {
    bpftool_compat compat = bpftool_compat::v7_5;
    std::vector<std::string_view> types;
};

constexpr option<dump_args> dump_options[] = {
    {.name = "--base", .alias = "-B", .arg = "BASE",
     .help = "parse FILE as split BTF over BASE (default for /sys/kernel/btf/MODULE: /sys/kernel/btf/vmlinux)",
     .apply = [](dump_args& a, std::string_view v) { a.base = v; return ok; }},
    {.name = "--bpftool-compat", .arg = "7.1|7.5", .help = "format c as that bpftool writes it (default 7.5: types sorted, __ksym/__weak)",
     .apply = [](dump_args& a, std::string_view v) -> problem {
         if (v == "7.1") a.compat = bpftool_compat::v7_1;
         else if (v == "7.5") a.compat = bpftool_compat::v7_5;
         else return "--bpftool-compat must be 7.1 or 7.5";
         return ok;
     }},
    {.name = "--types", .arg = "NAME", .repeatable = true,
     .help = "format c: only these types (comma-separated or repeated) and what they need",
     .apply = [](dump_args& a, std::string_view v) {
         for (std::size_t at = 0; at <= v.size();) {
             const std::size_t comma = std::min(v.find(',', at), v.size());
             if (comma > at) a.types.push_back(v.substr(at, comma - at));
             at = comma + 1;
         }
         return ok;
     }},
};

// bpftool's `format raw|c` words among the operands: where "format" is, or npos.
std::size_t format_at(const dump_args& a) {
    const auto it = std::find(a.files.begin(), a.files.end(), std::string_view{"format"});
    return it == a.files.end() ? std::string_view::npos : static_cast<std::size_t>(it - a.files.begin());
}

problem check_dump(const dump_args& a) {
    const std::size_t f = format_at(a);
    if (f != std::string_view::npos && (f + 1 >= a.files.size() || (a.files[f + 1] != "raw" && a.files[f + 1] != "c"))) return "format must be raw or c";
    const bool c = f != std::string_view::npos && a.files[f + 1] == "c";
    if (!c && !a.types.empty()) return "--types needs format c";
    if (f == 0 && a.files.size() == 2) return "missing FILE";
    return ok;
}

// The C header of one file: every type, or --types and what they need.
int dump_c(const btf& b, const dump_args& a, stdout_sink& out) {
    c_header_options opts{.compat = a.compat};
    std::vector<std::uint32_t> roots;
    if (!a.types.empty()) {
        auto r = c_header_roots(b, a.types, a.compat);
        if (!r) return report(r.error());
        roots = std::move(*r);
        opts.roots = roots;
    }
    // A helper thread: bpftool 7.5's sort beside the dump, or 7.1's definitions rendered ahead
    auto two_threads = [](auto&& first, auto&& second) { detail::run_both(first, second); };
    if (auto s = write_c_header(b, out, opts, two_threads); !s) {
        (void)out.finish();
        return report(s.error());
    }
    return 0;
}

int run_dump(dump_args& a) {
    bool c = false;
    if (const std::size_t f = format_at(a); f != std::string_view::npos) {
        c = a.files[f + 1] == "c";
        a.files.erase(a.files.begin() + static_cast<std::ptrdiff_t>(f), a.files.begin() + static_cast<std::ptrdiff_t>(f) + 2);
    }
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
        if (!c) {
            dump_raw(f->types, out);
        } else if (const int rc = dump_c(f->types, a, out); rc != 0) {
            return rc;
        }
    }
    return out.finish();
}

constexpr command_spec<dump_args> spec{
    .name = "dump",
    .summary = "print BTF types as `bpftool btf dump file FILE [format raw|c]` does; FILE is raw BTF or ELF",
    .details = "FILE... may end in bpftool's words `format raw` (the default) or `format c` (a C header, vmlinux.h).",
    .operand = "FILE",
    .operands = &dump_args::files,
    .options = dump_options,
    .check = check_dump,
    .run = run_dump,
};

}  // namespace

extern constinit const command dump_command = make_command<spec>();

}  // namespace btfkit::cli
