// `btfkit stat FILE... [--base BASE]`: header, type counts per kind, string table size and parse time.
#include <array>
#include <cinttypes>
#include <cstdio>
#include <optional>
#include <string>

#include "cli.hpp"

namespace btfkit::cli {
namespace {

void appendf(std::string& s, const char* fmt, auto... args) {
    char buf[256];
    const int n = std::snprintf(buf, sizeof buf, fmt, args...);
    if (n > 0) s.append(buf, static_cast<std::size_t>(n) < sizeof buf ? static_cast<std::size_t>(n) : sizeof buf - 1);
}

void append_stat(std::string& s, const btf_file& f, const btf_file* base) {
    const btf& b = f.types;
    const btf_header& h = b.header();
    s += "file: ";
    s.append(f.path);
    s += '\n';
    s += f.source == btf_source::elf ? "source: ELF .BTF section\n" : "source: raw BTF\n";
    s += b.order() == byte_order::little ? "byte order: little-endian\n" : "byte order: big-endian\n";
    appendf(s, "header: version=%u flags=0x%x hdr_len=%" PRIu32 " type_off=%" PRIu32 " type_len=%" PRIu32
               " str_off=%" PRIu32 " str_len=%" PRIu32 "\n",
            unsigned{h.version}, unsigned{h.flags}, h.hdr_len, h.type_off, h.type_len, h.str_off, h.str_len);
    if (base != nullptr) {
        s += "base: ";
        s.append(base->path);
        appendf(s, " (%" PRIu32 " types, %" PRIu32 " string bytes)\n", base->types.own_count(), base->types.strings_size());
    }
    std::array<std::uint32_t, kind_max + 1> counts{};
    for (const type t : b.types()) ++counts[static_cast<std::size_t>(t.kind())];
    if (b.own_count() == 0) {
        s += "types: 0\n";
    } else {
        appendf(s, "types: %" PRIu32 " (ids %" PRIu32 "..%" PRIu32 ")\n", b.own_count(), b.first_id(), b.type_count() - 1);
    }
    for (std::uint8_t k = 1; k <= kind_max; ++k) {
        const std::string_view n = kind_name(static_cast<kind>(k));
        appendf(s, "  %.*s: %" PRIu32 "\n", static_cast<int>(n.size()), n.data(), counts[k]);
    }
    appendf(s, "strings: %" PRIu32 " bytes\n", h.str_len);
    appendf(s, "parse: %.3f ms\n", f.parse_ms);
}

int run_stat(file_args& a) {
    std::optional<btf_file> base;
    if (auto st = load_base(a, base); !st) return report(st.error());
    stdout_sink out;
    std::string s;
    bool first = true;
    for (const std::string_view path : a.files) {
        auto f = open_btf(path, base ? &base->types : nullptr);
        if (!f) {
            (void)out.finish();
            return report(f.error());
        }
        s.clear();
        if (!first) s += '\n';
        first = false;
        append_stat(s, *f, base ? &*base : nullptr);
        out.append(s.data(), s.size());
    }
    return out.finish();
}

constexpr command_spec<file_args> spec{
    .name = "stat",
    .summary = "BTF header, type counts per kind, string table size and parse time",
    .operand = "FILE",
    .operands = &file_args::files,
    .options = file_options,
    .run = run_stat,
};

}  // namespace

extern constinit const command stat_command = make_command<spec>();

}  // namespace btfkit::cli
