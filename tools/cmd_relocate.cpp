// `btfkit relocate OBJECT...`: applies CO-RE relocations against one opened target, printing a
// libbpf-like log or JSON lines, and writes the patched objects.
#include <cinttypes>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "btfkit/core/attach.hpp"
#include "btfkit/core/externs.hpp"
#include "btfkit/core/relocate.hpp"
#include "btfkit/os/kallsyms.hpp"
#include "btfkit/write/final_object.hpp"
#include "targets.hpp"

namespace btfkit::cli {
namespace {

struct relocate_args {
    target_args targets;
    std::vector<std::string_view> objects;
    relocate_options options;
    bool encoding_chosen = false;  // --fd-encoding or --libbpf given
    std::string out, out_dir;
    bool keep_core_records = false;  // written objects keep their CO-RE records (--keep-core-records)
    std::string kallsyms_path;  // --kallsyms FILE; "" = /proc/kallsyms on the running kernel, else none
    bool json = false;
    bool quiet = false;
};

[[nodiscard]] const char* insn_class_name(const insn& i) {
    switch (i.cls()) {
    case insn_const::cls_alu: case insn_const::cls_alu64: return "ALU/ALU64";
    case insn_const::cls_ldx: case insn_const::cls_st: case insn_const::cls_stx: return "LDX/ST/STX";
    case insn_const::cls_ld: return "LDIMM64";
    default: return "insn";
    }
}

// The plain log: libbpf's debug lines for the same decisions.
void append_log(std::string& out, const relocation_report& r, const target_set& set) {
    const std::string head = "prog '" + std::string(r.program) + "': relo #" + std::to_string(r.relo_index) + ": ";
    if (r.outcome == relo_outcome::error && r.local_spec == nullptr) {
        out += head + "error: " + r.err.message() + "\n";
        return;
    }
    if (r.local_spec != nullptr && r.local_spec->owner != nullptr && r.outcome != relo_outcome::error) {
        out += head + format_spec(*r.local_spec) + '\n';
    }
    if (r.kind != relo_kind::type_id_local && r.outcome != relo_outcome::error) {
        out += head + std::to_string(r.candidates) + " candidate(s), " + std::to_string(r.matched) + " matching";
        if (r.target_spec != nullptr) {
            out += ": [";
            out.append(set.target_name(r.target));
            out += "] " + format_spec(*r.target_spec);
        }
        out += '\n';
    }
    switch (r.outcome) {
    case relo_outcome::ok: {
        const char* what = r.patch.ldimm64 ? "imm64" : (r.patch.before.cls() == insn_const::cls_alu || r.patch.before.cls() == insn_const::cls_alu64) ? "imm" : "off";
        out += head + "patched insn #" + std::to_string(r.insn) + " (" + insn_class_name(r.patch.before) + ") " + what + ' ' +
               std::to_string(r.patch.old_value) + " -> " + std::to_string(r.res.new_val);
        if (r.patch.before.code != r.patch.after.code) out += " (memory size adjusted)";
        out += '\n';
        break;
    }
    case relo_outcome::poisoned:
        out += head + "substituting insn #" + std::to_string(r.insn) + " w/ invalid insn\n";
        break;
    case relo_outcome::error:
        out += head + "error at insn #" + std::to_string(r.insn) + " of " + std::string(r.section) + ": " + r.err.message();
        if (r.has_target) {
            out += " (target [";
            out.append(set.target_name(r.target));
            out += "] type #" + std::to_string(r.target_type_id) + ")";
        }
        out += '\n';
        break;
    }
    if (const std::string_view w = warning_of(r); !w.empty()) {
        out += head + "warning: [";
        out.append(set.target_name(r.target));
        out += "] ";
        out.append(w);
        out += '\n';
    }
}

[[nodiscard]] constexpr std::string_view encoding_name(fd_encoding e) noexcept {
    return e == fd_encoding::btf_fd ? "fd" : e == fd_encoding::btf_id ? "id" : "none";
}

// A target as JSON, left open for more members: {"btf": NAME, "type_id": ID
void append_target(std::string& out, const target_set& set, std::uint32_t target, std::uint32_t type_id) {
    out += "{\"btf\": ";
    append_json_string(out, set.target_name(target));
    out += ", \"type_id\": " + std::to_string(type_id);
}

void append_json(std::string& out, const relocation_report& r, const target_set& set, std::span<const char> image,
                 const bpf_object& obj, bool first) {
    if (!first) out += ", ";
    out += "{\"section\": ";
    append_json_string(out, r.section);
    out += ", \"insn\": " + std::to_string(r.insn) + ", \"kind\": ";
    append_json_string(out, relo_kind_name(r.kind));
    out += ", \"type_id\": " + std::to_string(r.local_type_id) + ", \"type_name\": ";
    append_json_string(out, r.local_type_name);
    out += ", \"access\": ";
    append_json_string(out, r.access);
    out += ", \"result\": ";
    append_json_string(out, to_string(r.outcome));
    out += ", \"target\": ";
    if (r.has_target) {
        append_target(out, set, r.target, r.target_type_id);
        out += '}';
    } else {
        out += "null";
    }
    out += ", \"old\": " + std::to_string(r.res.orig_val) + ", \"new\": " + std::to_string(r.res.new_val);
    if (r.outcome == relo_outcome::error) {
        out += ", \"bytes\": null, \"error\": ";
        append_json_string(out, r.err.message());
    } else {
        const std::size_t at = static_cast<std::size_t>(obj.file().section(r.section_index).offset) + std::size_t{r.insn} * 8;
        out += ", \"bytes\": \"" + hex_bytes(image.data() + at, r.patch.ldimm64 ? 16 : 8) + '"';
    }
    if (const std::string_view w = warning_of(r); !w.empty()) {
        out += ", \"warning\": ";
        append_json_string(out, w);
    }
    out += '}';
}

// One instruction that refers to a kernel extern: a log line, or a JSON entry of "externs".
void append_extern(std::string& out, const extern_report& r, const target_set& set, std::span<const char> image,
                   const bpf_object& obj, bool json) {
    const extern_binding& b = *r.binding;
    const bool shows_target = b.has_target && r.outcome == extern_outcome::resolved;
    if (!json) {
        out += "prog '" + std::string(r.program) + "': extern '" + std::string(r.symbol->name) + "' (" + std::string(to_string(r.kind)) +
               ") at insn #" + std::to_string(r.insn) + ": " + std::string(to_string(r.outcome));
        if (shows_target) {
            out += " to [";
            out.append(set.target_name(b.target));
            out += "] " + std::string(kind_name(r.symbol->func ? kind::func : kind::var)) + " #" + std::to_string(b.type_id);
            if (b.fd_slot) out += ", fd_array[" + std::to_string(b.fd_slot) + "]";
        } else if (r.outcome == extern_outcome::resolved) {
            char addr[24];
            std::snprintf(addr, sizeof addr, "0x%" PRIx64, b.address);
            out += std::string(" to kallsyms ") + addr;
        }
        if (r.outcome == extern_outcome::error) out += ": " + r.err.message();
        out += '\n';
        return;
    }
    out += "{\"section\": ";
    append_json_string(out, r.section);
    out += ", \"insn\": " + std::to_string(r.insn) + ", \"name\": ";
    append_json_string(out, r.symbol->name);
    out += ", \"kind\": ";
    append_json_string(out, to_string(r.kind));
    out += ", \"weak\": ";
    out += r.symbol->weak ? "true" : "false";
    out += ", \"target\": ";
    if (shows_target) {
        append_target(out, set, b.target, b.type_id);
        out += '}';
    } else {
        out += "null";
    }
    if (b.fd_slot) out += ", \"fd_array_index\": " + std::to_string(b.fd_slot);
    if (r.kind == extern_kind::ksym_typeless || (!b.has_target && b.set)) out += ", \"address\": " + std::to_string(b.address);
    out += ", \"result\": ";
    append_json_string(out, to_string(r.outcome));
    if (r.outcome == extern_outcome::error) {
        out += ", \"bytes\": null, \"error\": ";
        append_json_string(out, r.err.message());
    } else {
        const std::size_t at = static_cast<std::size_t>(obj.file().section(r.section_index).offset) + std::size_t{r.insn} * 8;
        out += ", \"bytes\": \"" + hex_bytes(image.data() + at, r.kind == extern_kind::kfunc_call ? 8 : 16) + '"';
    }
    if (r.upper_unavailable || (r.kind == extern_kind::kfunc_call && b.upper_unavailable)) {
        out += ", \"warning\": \"module BTF, but no kernel BTF fd/id: 0 written for it\"";
    }
    out += '}';
}

// One program's load attributes: a log line, or a JSON entry of "programs".
void append_program(std::string& out, const program& p, const program_load& l, const target_set& set, bool json) {
    if (!json) {
        out += "prog '" + std::string(p.name) + "': " + std::string(to_string(l.type)) + ", " + std::string(to_string(l.expected_attach));
        if (l.has_target) {
            out += ", attach to [";
            out.append(set.target_name(l.target));
            out += "] " + l.attach_name + " #" + std::to_string(l.attach_btf_id);
        }
        if (l.def == nullptr) out += " (section not known to libbpf)";
        if (l.err.code != errc::ok) out += ": error: " + l.err.message();
        out += '\n';
        return;
    }
    out += "{\"name\": ";
    append_json_string(out, p.name);
    out += ", \"section\": ";
    append_json_string(out, p.section_name);
    out += ", \"prog_type\": ";
    append_json_string(out, to_string(l.type));
    out += ", \"expected_attach_type\": ";
    append_json_string(out, to_string(l.expected_attach));
    out += ", \"sleepable\": ";
    out += l.sleepable ? "true" : "false";
    out += ", \"attach\": ";
    if (l.has_target) {
        append_target(out, set, l.target, l.attach_btf_id);
        out += ", \"name\": ";
        append_json_string(out, l.attach_name);
        out += '}';
    } else {
        out += "null";
    }
    if (l.err.code != errc::ok) {
        out += ", \"error\": ";
        append_json_string(out, l.err.message());
    }
    out += '}';
}

[[nodiscard]] status write_file(const std::string& path, std::span<const char> data) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) return error(errc::io, "cannot create output file").got(static_cast<std::uint64_t>(errno)).about(path);
    const bool ok = std::fwrite(data.data(), 1, data.size(), f) == data.size();
    if (std::fclose(f) != 0 || !ok) return error(errc::io, "cannot write output file").got(static_cast<std::uint64_t>(errno)).about(path);
    return {};
}

int run_relocate(relocate_args& a) {
    const bool writing = !a.out.empty() || !a.out_dir.empty();
    // A written object outlives this process and the fds it opened: unless asked otherwise, it gets
    // the modules' BTF ids, which stay valid while the modules are loaded (check() refuses fds).
    if (!a.encoding_chosen && writing) a.options.encoding = fd_encoding::btf_id;
    // A final object keeps no records to relocate its SEC("?...") programs with when a loader turns
    // them on: they are relocated now.
    const bool final_objects = writing && !a.keep_core_records;
    if (final_objects) a.options.skip_non_autoload = false;
    auto targets = open_targets(a.targets);
    if (!targets) return report(targets.error());
    target_set& set = (*targets)->targets();
    relocation_scratch scratch;
    byte_buffer file, image;  // reused: objects are small, and mapping each costs an munmap with TLB shootdowns
    stdout_sink sink;
    int status_code = 0;
    std::string out;
    // What libbpf would probe the running kernel for, asked when a usdt program first needs it; file
    // targets have no kernel to ask.
    std::optional<kernel_features> kernel;
    const auto features_for = [&](std::string_view section) {
        const section_def* d = find_section_def(section.starts_with('?') ? section.substr(1) : section, a.options.compat);
        if (d == nullptr || (d->flags & sec_usdt) == 0) return kernel_features{};
        if (!kernel) kernel = kernel_features{.uprobe_multi_links = is_running_kernel(a.targets) && sys::has_uprobe_multi_links()};
        return *kernel;
    };
    kallsyms_on_demand kallsyms(!a.kallsyms_path.empty() ? a.kallsyms_path : is_running_kernel(a.targets) ? "/proc/kallsyms" : "");
    for (const std::string_view path : a.objects) {
        if (auto st = read_file_into(std::string(path), file); !st) { status_code = report(st.error().about(path)); continue; }
        const byte_span bytes(file.data(), file.size());
        auto obj = bpf_object::parse(bytes);
        if (!obj) { status_code = report(obj.error().about(path)); continue; }
        image.assign(bytes.begin(), bytes.end());
        out.clear();
        bool first = true;
        std::uint32_t prog_errors = 0;
        if (a.json) {
            out += "{\"object\": ";
            append_json_string(out, path);
            out += ", \"relocations\": [";
        }
        auto sum = relocate_object(*obj, std::span<char>(image.data(), image.size()), set, scratch, a.options,
                                   [&](const relocation_report& r) {
                                       if (a.json) append_json(out, r, set, std::span<const char>(image.data(), image.size()), *obj, first);
                                       else if (!a.quiet) append_log(out, r, set);
                                       if (const std::string_view w = warning_of(r); !w.empty()) {
                                           const std::string_view t = set.target_name(r.target);
                                           std::fprintf(stderr, "btfkit: warning: %.*s: section %.*s insn #%u: relo #%u: [%.*s] %.*s\n",
                                                        static_cast<int>(path.size()), path.data(), static_cast<int>(r.section.size()),
                                                        r.section.data(), r.insn, r.relo_index, static_cast<int>(t.size()), t.data(),
                                                        static_cast<int>(w.size()), w.data());
                                       }
                                       first = false;
                                   });
        if (!sum) {
            status_code = report(sum.error().about(path));
            continue;
        }
        // The other kernel lookups a loader makes: externs, then each program's load attributes.
        std::vector<std::uint32_t> fd_array;
        bool first_extern = true;
        if (a.json) out += "], \"externs\": [";
        const extern_options xo{a.options.encoding, a.options.compat};
        auto xsum = resolve_externs(*obj, std::span<char>(image.data(), image.size()), set, kallsyms, xo, fd_array, [&](const extern_report& r) {
            if (a.json && !first_extern) out += ", ";
            if (a.json || !a.quiet) append_extern(out, r, set, std::span<const char>(image.data(), image.size()), *obj, a.json);
            first_extern = false;
        });
        if (!xsum) {
            status_code = report(xsum.error().about(path));
            continue;
        }
        if (a.json) out += "], \"programs\": [";
        bool first_prog = true;
        auto progs = obj->for_each_program([&](const program& p) {
            if (p.is_subprog) return;
            auto l = resolve_program_load(set, p.section_name, a.options.compat, features_for(p.section_name));
            if (!l) l = program_load{.err = l.error()};
            if (l->err.code != errc::ok) ++prog_errors;
            if (a.json && !first_prog) out += ", ";
            if (a.json || !a.quiet) append_program(out, p, *l, set, a.json);
            first_prog = false;
        });
        if (!progs) { status_code = report(progs.error().about(path)); continue; }
        if (a.json) {
            out += "], \"fd_array\": [";
            for (std::size_t i = 0; i < fd_array.size(); ++i) out += (i ? ", " : "") + std::to_string(fd_array[i]);
            out += "]";
        }
        const std::uint32_t extern_errors = xsum->errors;
        if (a.json) {
            out += ", \"summary\": {\"total\": " + std::to_string(sum->total) + ", \"ok\": " + std::to_string(sum->ok) +
                   ", \"poisoned\": " + std::to_string(sum->poisoned) + ", \"errors\": " + std::to_string(sum->errors) +
                   ", \"skipped\": " + std::to_string(sum->skipped) + ", \"warnings\": " + std::to_string(sum->warnings) +
                   ", \"fd_encoding\": \"" + std::string(encoding_name(a.options.encoding)) + "\", \"externs\": " + std::to_string(xsum->total) +
                   ", \"extern_errors\": " + std::to_string(extern_errors) + ", \"program_errors\": " + std::to_string(prog_errors) + "}}\n";
        } else {
            out += std::string(path) + ": " + std::to_string(sum->total) + " relocations: " + std::to_string(sum->ok) + " ok, " +
                   std::to_string(sum->poisoned) + " poisoned, " + std::to_string(sum->errors) + " errors";
            if (sum->skipped) out += ", " + std::to_string(sum->skipped) + " skipped";
            if (sum->warnings) out += ", " + std::to_string(sum->warnings) + " warnings";
            out += "; fd encoding " + std::string(encoding_name(a.options.encoding));
            if (xsum->total) out += "; " + std::to_string(xsum->total) + " extern sites, " + std::to_string(extern_errors) + " errors";
            if (prog_errors) out += "; " + std::to_string(prog_errors) + " programs without attach target";
            out += '\n';
        }
        sink.append(out.data(), out.size());
        // A program whose attach target is missing is reported but fails nothing: only its own load
        // would fail, and loaders turn such programs off (libbpf-tools' fallbacks do).
        if (sum->errors || extern_errors) status_code = exit_error;
        std::string dest = a.out;
        if (!a.out_dir.empty()) {
            const std::string p(path);
            dest = a.out_dir + "/" + p.substr(p.find_last_of('/') + 1);
        }
        if (!dest.empty() && final_objects && sum->errors != 0) {
            // Without its records, a failed site would load as compiled, unrelocated.
            status_code = report(error(errc::unsupported, "not written: a final object cannot keep a failed relocation").got(sum->errors).about(path));
        } else if (!dest.empty()) {
            if (final_objects) {
                if (auto d = drop_core_records(*obj, std::span<char>(image.data(), image.size())); !d) {
                    status_code = report(d.error().about(path));
                    continue;
                }
            }
            if (auto st = write_file(dest, std::span<const char>(image.data(), image.size())); !st) status_code = report(st.error());
        }
    }
    for (const auto& w : set.warnings()) std::fprintf(stderr, "btfkit: warning: %s\n", w.c_str());
    keep_until_exit(std::move(*targets));
    const int s = sink.finish();
    return s != 0 ? s : status_code;
}

constexpr option<relocate_args> options[] = {
    {.name = "--json", .help = "one JSON document per object, one per line (see docs/cli.md)",
     .apply = [](relocate_args& a, std::string_view) { a.json = true; return ok; }},
    {.name = "--quiet", .alias = "-q", .help = "print only each object's summary line",
     .apply = [](relocate_args& a, std::string_view) { a.quiet = true; return ok; }},
    {.name = "-o", .arg = "OUT", .help = "write the relocated object to OUT (one OBJECT)",
     .apply = [](relocate_args& a, std::string_view v) { a.out = v; return ok; }},
    {.name = "--out-dir", .arg = "DIR", .help = "write each relocated object to DIR/BASENAME",
     .apply = [](relocate_args& a, std::string_view v) { a.out_dir = v; return ok; }},
    {.name = "--final", .help = "written objects without their CO-RE records, for any loader to take as they are (the default)",
     .apply = [](relocate_args& a, std::string_view) { a.keep_core_records = false; return ok; }},
    {.name = "--keep-core-records", .help = "written objects keep their CO-RE records (a loader would relocate them again)",
     .apply = [](relocate_args& a, std::string_view) { a.keep_core_records = true; return ok; }},
    {.name = "--fd-encoding", .arg = "none|fd|id",
     .help = "upper 32 bits of a module's TYPE_ID_TARGET (default fd; id when -o or --out-dir writes the object, which takes no fd)",
     .apply = [](relocate_args& a, std::string_view v) {
         if (v == "none") a.options.encoding = fd_encoding::none;
         else if (v == "fd") a.options.encoding = fd_encoding::btf_fd;
         else if (v == "id") a.options.encoding = fd_encoding::btf_id;
         else return problem("takes none, fd or id");
         a.encoding_chosen = true;
         return ok;
     }},
    {.name = "--kallsyms", .arg = "FILE",
     .help = "kernel symbol addresses for typeless __ksym externs (default: /proc/kallsyms on the running kernel, none for files)",
     .apply = [](relocate_args& a, std::string_view v) { a.kallsyms_path = v; return ok; }},
    {.name = "--all-targets", .help = "search the modules even when vmlinux has a candidate",
     .apply = [](relocate_args& a, std::string_view) { a.options.search_all_targets = true; return ok; }},
    {.name = "--libbpf", .help = "libbpf's behaviour exactly: no FWD extension, no fd encoding",
     .apply = [](relocate_args& a, std::string_view) {
         a.options.fwd_extension = false;
         a.options.encoding = fd_encoding::none;
         a.encoding_chosen = true;
         return ok;
     }},
    {.name = "--libbpf-compat", .arg = "1.1|1.7", .help = "the rules of that libbpf release where releases differ (default 1.7)",
     .apply = [](relocate_args& a, std::string_view v) {
         if (!parse_libbpf_compat(v, a.options.compat)) return problem("takes 1.1 or 1.7");
         return ok;
     }},
    {.name = "--no-fwd-extension", .help = "a local FWD matches target FWDs only, as in libbpf",
     .apply = [](relocate_args& a, std::string_view) { a.options.fwd_extension = false; return ok; }},
    {.name = "--stop-at-error", .help = "stop an object at its first failing relocation, as libbpf does",
     .apply = [](relocate_args& a, std::string_view) { a.options.stop_at_first_error = true; return ok; }},
};

problem check(const relocate_args& a) {
    if (!a.out.empty() && a.objects.size() != 1) return "-o takes one OBJECT; use --out-dir for several";
    if (!a.out.empty() && !a.out_dir.empty()) return "-o and --out-dir exclude each other";
    const bool writing = !a.out.empty() || !a.out_dir.empty();
    if (writing && a.options.encoding == fd_encoding::btf_fd && a.encoding_chosen) {
        return "a written object outlives this process's fds: --fd-encoding id or none with -o/--out-dir";
    }
    return ok;
}

constexpr command_spec<relocate_args> spec{
    .name = "relocate",
    .summary = "apply CO-RE relocations against the running kernel (or the given BTF and modules), as libbpf would",
    .operand = "OBJECT",
    .operands = &relocate_args::objects,
    .options = options,
    .shared = target_group<relocate_args>,
    .check = check,
    .run = run_relocate,
};

}  // namespace

extern constinit const command relocate_command = make_command<spec>();

}  // namespace btfkit::cli
