// `btfkit print --btf FILE [--base FILE] --type NAME|ID [flags] [FILE|-]`: a value's bytes printed as the
// kernel's bpf_snprintf_btf() prints them (show/format_value.hpp).
#include <unistd.h>

#include <charconv>
#include <optional>
#include <string>

#include "btfkit/show/format_json.hpp"
#include "btfkit/show/format_value.hpp"
#include "cli.hpp"

namespace btfkit::cli {
namespace {

struct print_args {
    std::string_view btf_path, base, type, input = "-";
    std::uint32_t flags = 0;
    bool json = false;
    std::string_view problem;
};

print_args parse_print_args(int argc, char** argv) {
    print_args a;
    bool have_input = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view s = argv[i];
        auto value = [&](std::string_view& out) {
            if (i + 1 >= argc) { a.problem = "missing argument"; return; }
            out = argv[++i];
        };
        if (s == "--btf") value(a.btf_path);
        else if (s == "--base" || s == "-B") value(a.base);
        else if (s == "--type") value(a.type);
        else if (s == "--compact") a.flags |= show_compact;
        else if (s == "--noname") a.flags |= show_noname;
        else if (s == "--ptr-raw") a.flags |= show_ptr_raw;
        else if (s == "--zero") a.flags |= show_zero;
        else if (s == "--kernel-compat") a.flags |= show_kernel_compat;
        else if (s == "--json") a.json = true;
        else if (s.size() > 1 && s[0] == '-') a.problem = "unknown option";
        else if (have_input) a.problem = "more than one input FILE";
        else { a.input = s; have_input = true; }
        if (!a.problem.empty()) return a;
    }
    if (a.btf_path.empty()) a.problem = "missing --btf FILE";
    else if (a.type.empty()) a.problem = "missing --type NAME|ID";
    return a;
}

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

int run_print(int argc, char** argv) {
    const print_args a = parse_print_args(argc, argv);
    if (!a.problem.empty()) return usage_error(print_command, a.problem);
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
    auto bytes = read_input(a.input);
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

}  // namespace

extern const command print_command{
    "print", run_print,
    "--btf FILE [--base FILE] --type NAME|ID [--compact] [--noname] [--ptr-raw] [--zero] [--kernel-compat] [--json] [FILE|-]",
    "print a value's bytes (FILE or stdin) as the kernel's bpf_snprintf_btf() does, or with --json as bpftool map dump -j"};

}  // namespace btfkit::cli
