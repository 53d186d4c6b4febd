// `btfkit gen min_core_btf INPUT OUTPUT OBJECT...`: bpftool's BTFGen, the part of INPUT that the
// objects' CO-RE relocations need; with modules, a minimised split BTF per module over it.
#include <sys/stat.h>

#include <cerrno>
#include <string>
#include <vector>

#include "btfkit/gen/core_marks.hpp"
#include "btfkit/gen/min_btf.hpp"
#include "targets.hpp"

namespace btfkit::cli {
namespace {

struct gen_args {
    std::vector<std::string_view> operands;  // min_core_btf INPUT OUTPUT OBJECT...
    target_args targets;
};

constexpr option<gen_args> gen_options[] = {
    {.name = "--module", .arg = "FILE", .repeatable = true,
     .help = "a module's BTF (raw split BTF or .ko), before those of --modules-dir; OUTPUT becomes a directory",
     .apply = [](gen_args& a, std::string_view v) { a.targets.modules.emplace_back(v); return ok; }},
    {.name = "--modules-dir", .arg = "DIR", .repeatable = true,
     .help = "every file in DIR but vmlinux is a module, in name order; OUTPUT becomes a directory",
     .apply = [](gen_args& a, std::string_view v) { a.targets.module_dirs.emplace_back(v); return ok; }},
    {.name = "--index-cache", .arg = "FILE|DIR/|off",
     .help = "where the name indexes are kept between runs (default: $XDG_CACHE_HOME/btfkit/)",
     .apply = [](gen_args& a, std::string_view v) { a.targets.index_cache = v; return ok; }},
};

problem check_gen(const gen_args& a) {
    if (a.operands.front() != "min_core_btf") return "the only generator is min_core_btf";
    if (a.operands.size() < 4) return "min_core_btf takes INPUT OUTPUT OBJECT...";
    return ok;
}

// OUTPUT as a directory for the minimised vmlinux and modules: made if missing, else it must be
// empty, so that no module file of an earlier run is taken for one of this run.
status make_output_dir(const std::string& dir) {
    if (::mkdir(dir.c_str(), 0755) == 0) return {};
    if (errno != EEXIST) return error(errc::io, "cannot create directory").got(static_cast<std::uint64_t>(errno)).about(dir);
    auto files = list_directory(dir);
    if (!files) return files.error().about(dir);
    if (!files->empty()) return error(errc::io, "output directory is not empty").about(dir);
    return {};
}

int run_gen(gen_args& a) {
    a.targets.btf = a.operands[1];
    const std::string output(a.operands[2]);
    const bool with_modules = !a.targets.modules.empty() || !a.targets.module_dirs.empty();
    auto targets = open_targets(a.targets);
    if (!targets) return report(targets.error());
    target_set& set = (*targets)->targets();
    core_marks marks;
    mark_scratch scratch;
    byte_buffer file;  // reused: the marks keep nothing of an object
    for (std::size_t i = 3; i < a.operands.size(); ++i) {
        const std::string_view path = a.operands[i];
        if (auto st = read_file_into(std::string(path), file); !st) return report(st.error().about(path));
        auto obj = bpf_object::parse(byte_span(file.data(), file.size()));
        if (!obj) return report(obj.error().about(path));
        if (auto st = mark_object(*obj, set, marks, scratch); !st) return report(st.error().about(path));
    }
    const btf& vmlinux = set.vmlinux();
    const btf_marks none(vmlinux);
    const btf_marks* vm = marks.find(0);
    auto base = write_min_btf(vm != nullptr ? *vm : none);
    if (!base) return report(base.error().about(output));
    const byte_span base_bytes(base->bytes.data(), base->bytes.size());
    if (!with_modules) {
        if (auto st = write_file_atomic(output, base_bytes); !st) return report(st.error());
    } else {
        if (auto st = make_output_dir(output); !st) return report(st.error());
        if (auto st = write_file_atomic(output + "/vmlinux", base_bytes); !st) return report(st.error());
        auto new_base = btf::parse(base_bytes);
        if (!new_base) return report(new_base.error().about(output + "/vmlinux"));
        const string_index strings = string_index::of(*new_base);
        for (std::uint32_t t = 1; t < marks.target_count(); ++t) {
            const btf_marks* m = marks.find(t);
            if (m == nullptr || m->marked_count() == 0) continue;
            const std::string path = output + "/" + std::string(set.target_name(t));
            auto mod = write_min_btf_split(*m, *new_base, *base, &strings);
            if (!mod) return report(mod.error().about(path));
            if (auto st = write_file_atomic(path, byte_span(mod->bytes.data(), mod->bytes.size())); !st) return report(st.error());
        }
    }
    for (const auto& w : set.warnings()) std::fprintf(stderr, "btfkit: warning: %s\n", w.c_str());
    keep_until_exit(std::move(*targets));
    return 0;
}

constexpr command_spec<gen_args> spec{
    .name = "gen",
    .summary = "generate BTF as `bpftool gen min_core_btf` does: only what the objects' CO-RE relocations need",
    .details = "INPUT is raw BTF or ELF; OUTPUT is a raw BTF file, or with --module/--modules-dir a directory of\n"
               "`vmlinux` (the minimised base) and one minimised split BTF per module the objects need, named as the module.",
    .operand = "min_core_btf INPUT OUTPUT OBJECT",
    .operands = &gen_args::operands,
    .options = gen_options,
    .check = check_gen,
    .run = run_gen,
};

}  // namespace

extern constinit const command gen_command = make_command<spec>();

}  // namespace btfkit::cli
