// `btfkit dump FILE... [--base BASE]`: bpftool's raw BTF dump (`bpftool btf dump file FILE [-B BASE]`).
#include <optional>

#include "btfkit/format/dump.hpp"
#include "cli.hpp"

namespace btfkit::cli {
namespace {

int run_dump(int argc, char** argv) {
    const file_args a = parse_file_args(argc, argv);
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
        dump_raw(f->types, out);
    }
    return out.finish();
}

}  // namespace

extern const command dump_command{
    "dump", run_dump, "FILE... [--base BASE | -B BASE]",
    "print BTF types as `bpftool btf dump file FILE` does (raw format); FILE is raw BTF or ELF"};

}  // namespace btfkit::cli
