// `btfkit dump FILE... [--base BASE]`: bpftool's raw BTF dump (`bpftool btf dump file FILE [-B BASE]`).
#include <optional>

#include "btfkit/format/dump.hpp"
#include "cli.hpp"

namespace btfkit::cli {
namespace {

int run_dump(file_args& a) {
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

constexpr command_spec<file_args> spec{
    .name = "dump",
    .summary = "print BTF types as `bpftool btf dump file FILE` does (raw format); FILE is raw BTF or ELF",
    .operand = "FILE",
    .operands = &file_args::files,
    .options = file_options,
    .run = run_dump,
};

}  // namespace

extern constinit const command dump_command = make_command<spec>();

}  // namespace btfkit::cli
