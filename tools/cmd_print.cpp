// `btfkit print --btf FILE [--base FILE] --type NAME|ID [flags] [FILE|-]`: a value's bytes printed as the
// kernel's bpf_snprintf_btf() prints them (show/format_value.hpp).
#include <unistd.h>

#include <charconv>
#include <optional>
#include <string>
#include <vector>

#include "btfkit/show/format_json.hpp"
#include "btfkit/show/format_value.hpp"
#include "cli.hpp"

namespace btfkit::cli {
namespace {

struct print_args {
    std::vector<std::string_view> input;  // FILE, or none (or "-") for stdin
    std::string_view btf_path, base, type;
    std::uint32_t flags = 0;
    bool json = false;
};

template <std::uint32_t F>
problem set_flag(print_args& a, std::string_view) {
    a.flags |= F;
    return ok;
}

constexpr option<print_args> print_options[] = {
    {.name = "--btf", .arg = "FILE", .required = true, .help = "the BTF the type is in (raw BTF or an ELF file's .BTF)",
     .apply = [](print_args& a, std::string_view v) { a.btf_path = v; return ok; }},
    {.name = "--base", .alias = "-B", .arg = "BASE", .help = "parse --btf as split BTF over BASE (default for /sys/kernel/btf/MODULE: vmlinux)",
     .apply = [](print_args& a, std::string_view v) { a.base = v; return ok; }},
    {.name = "--type", .arg = "NAME|ID", .required = true, .help = "the value's type: an id, a name, or \"struct NAME\" / \"union NAME\" / \"enum NAME\"",
     .apply = [](print_args& a, std::string_view v) { a.type = v; return ok; }},
    {.name = "--compact", .help = "BTF_F_COMPACT: no newlines or indentation", .apply = set_flag<show_compact>},
    {.name = "--noname", .help = "BTF_F_NONAME: no member names or type labels", .apply = set_flag<show_noname>},
    {.name = "--ptr-raw", .help = "BTF_F_PTR_RAW: pointers as their values, not hashed", .apply = set_flag<show_ptr_raw>},
    {.name = "--zero", .help = "BTF_F_ZERO: show zero-valued members too", .apply = set_flag<show_zero>},
    {.name = "--kernel-compat", .help = "reproduce the kernel's output byte for byte, its bugs included (docs/print.md)",
     .apply = set_flag<show_kernel_compat>},
    {.name = "--json", .help = "print as bpftool map dump -j prints a BTF-typed value (its \"formatted\" member)",
     .apply = [](print_args& a, std::string_view) { a.json = true; return ok; }},
};


// A type id, or the first type of a value kind with this name ("struct foo", "union foo" and "enum foo"
// pick the kind).
result<std::uint32_t> find_type(const btf& b, std::string_view spec) {
    std::uint32_t id = 0;
    const auto [end, ec] = std::from_chars(spec.data(), spec.data() + spec.size(), id);
    if (ec == std::errc() && end == spec.data() + spec.size()) {
        if (id == 0 || !b.valid_id(id)) return error(errc::bad_type_id, "no such type id").got(id).limit(b.type_count());
        return id;
    }
    std::optional<kind> want;
    for (const auto& [prefix, k] : {std::pair{std::string_view{"struct "}, kind::struct_}, std::pair{std::string_view{"union "}, kind::union_},
                                    std::pair{std::string_view{"enum "}, kind::enum_}}) {
        if (spec.starts_with(prefix)) {
            want = k;
            spec.remove_prefix(prefix.size());
        }
    }
    for (std::uint32_t i = 1; i < b.type_count(); ++i) {
        const kind k = b.kind_of(i);
        const bool fits = want ? (k == *want || (*want == kind::enum_ && k == kind::enum64))
                               : k != kind::fwd && k != kind::func && k != kind::var && k != kind::datasec && k != kind::decl_tag;
        if (fits && b.string(b.name_off_of(i)) == spec) return i;
    }
    return error(errc::not_found, "no type of that name").about(spec);
}

result<std::string> read_input(std::string_view path) {
    std::string data;
    if (path == "-") {
        char buf[1 << 16];
        for (;;) {
            const ssize_t n = ::read(0, buf, sizeof(buf));
            if (n < 0) return error(errc::io, "cannot read").got(static_cast<std::uint64_t>(errno)).about("stdin");
            if (n == 0) break;
            data.append(buf, static_cast<std::size_t>(n));
        }
        return data;
    }
    auto m = mapped_file::open(std::string(path));
    if (!m) return m.error().about(path);
    data.assign(m->bytes().data(), m->bytes().size());
    return data;
}

int run_print(print_args& a) {
    std::optional<btf_file> base;
    const std::string_view base_path = a.base.empty() ? default_base(a.btf_path) : a.base;
    if (!base_path.empty()) {
        auto b = open_btf(base_path);
        if (!b) return report(b.error());
        base.emplace(std::move(*b));
    }
    auto f = open_btf(a.btf_path, base ? &base->types : nullptr);
    if (!f) return report(f.error());
    auto id = find_type(f->types, a.type);
    if (!id) return report(id.error().about(a.type));
    auto bytes = read_input(a.input.empty() ? std::string_view{"-"} : a.input.front());
    if (!bytes) return report(bytes.error());
    stdout_sink out;
    const byte_span value(bytes->data(), bytes->size());
    if (a.json) {
        // bpftool's "formatted" value; the text flags do not apply
        auto r = format_json(f->types, *id, value, out);
        if (!r) {
            (void)out.finish();
            return report(r.error().about(a.type));
        }
        out.append("\n", 1);
        return out.finish();
    }
    auto r = format_value(f->types, *id, value, a.flags, out);
    if (!r) {
        (void)out.finish();
        return report(r.error().about(a.type));
    }
    // The kernel's text ends in a newline unless compact; end the line for the terminal either way.
    if ((a.flags & show_compact) != 0) out.append("\n", 1);
    return out.finish();
}

constexpr command_spec<print_args> spec{
    .name = "print",
    .summary = "print a value's bytes (FILE or stdin) as the kernel's bpf_snprintf_btf() does, or with --json as bpftool map dump -j",
    .operand = "FILE",
    .operands = &print_args::input,
    .operand_optional = true,
    .options = print_options,
    .run = run_print,
};

}  // namespace

extern constinit const command print_command = make_command<spec>();

}  // namespace btfkit::cli
