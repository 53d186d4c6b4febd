// Shared pieces of the btfkit CLI: the subcommand table entry, loading BTF from raw or ELF files,
// error reporting and buffered stdout.
#pragma once

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "btfkit/format/btf.hpp"
#include "btfkit/format/elf.hpp"
#include "btfkit/error.hpp"
#include "btfkit/kernel.hpp"

namespace btfkit::cli {

// A subcommand; `run` gets argv from the command name on and returns the exit status.
struct command {
    std::string_view name;
    int (*run)(int argc, char** argv);
    std::string_view usage;    // arguments after the name
    std::string_view summary;  // one line
};

// Defined in tools/cmd_<name>.cpp.
extern const command dump_command;
extern const command stat_command;
extern const command relocate_command;
extern const command find_command;
extern const command print_command;

inline constexpr int exit_error = 1;
inline constexpr int exit_usage = 2;

// "btfkit: FILE: message" on stderr; exit_error.
inline int report(const error& e) {
    std::string msg = "btfkit: ";
    if (e.code == errc::io && e.has(location::f_value)) {
        // An errno reads better as text than as "(got 2)".
        if (!e.subject.empty()) { msg.append(e.subject); msg += ": "; }
        msg += e.what;
        msg += ": ";
        msg += std::strerror(static_cast<int>(e.where.value));
    } else {
        msg += e.message();
    }
    msg += '\n';
    std::fwrite(msg.data(), 1, msg.size(), stderr);
    return exit_error;
}

inline int usage_error(const command& c, std::string_view problem = {}) {
    std::string msg;
    if (!problem.empty()) { msg = "btfkit "; msg.append(c.name); msg += ": "; msg.append(problem); msg += '\n'; }
    msg += "usage: btfkit ";
    msg.append(c.name);
    msg += ' ';
    msg.append(c.usage);
    msg += '\n';
    std::fwrite(msg.data(), 1, msg.size(), stderr);
    return exit_usage;
}

enum class btf_source : std::uint8_t { raw, elf };

// One file's BTF: the mapping, where the blob sits in it, and the parsed view borrowing both.
// Movable: the view points into the mapping and at its base, not into this object.
struct btf_file {
    std::string_view path;
    mapped_file file;
    btf_source source = btf_source::raw;
    byte_span blob{};
    btf types;
    double parse_ms = 0;  // btf::parse only
};

[[nodiscard]] inline bool is_raw_btf(byte_span d) noexcept {
    if (d.size() < 2) return false;
    return detail::load<std::uint16_t>(d.data(), byte_order::little) == btf_magic ||
           detail::load<std::uint16_t>(d.data(), byte_order::big) == btf_magic;
}

// Maps `path` (raw BTF, or ELF with a .BTF section) and parses it over `base`. Errors name the file;
// `path` must outlive them.
[[nodiscard]] inline result<btf_file> open_btf(std::string_view path, const btf* base = nullptr) {
    btf_file f;
    f.path = path;
    auto m = mapped_file::open(std::string(path));
    if (!m) return m.error().about(path);
    f.file = std::move(*m);
    const byte_span data = f.file.bytes();
    if (is_raw_btf(data)) {
        f.blob = data;
    } else if (elf::is_elf(data)) {
        auto e = elf::parse(data);
        if (!e) return e.error().about(path);
        auto s = e->find_section(".BTF");
        if (!s) return error(errc::not_found, "ELF file has no .BTF section").about(path);
        f.source = btf_source::elf;
        f.blob = e->section_data(*s);
    } else {
        return error(errc::bad_magic, "neither raw BTF nor ELF").at_offset(0).about(path);
    }
    const auto t0 = std::chrono::steady_clock::now();
    auto b = btf::parse(f.blob, base);
    f.parse_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (!b) {
        error err = b.error().about(path);
        if (f.source == btf_source::elf && !err.has(location::f_section)) err = err.in_section(".BTF");
        return err;
    }
    f.types = std::move(*b);
    return f;
}

// bpftool's rule: a file under /sys/kernel/btf/ other than vmlinux is split over the running kernel's BTF.
inline constexpr std::string_view sysfs_vmlinux = "/sys/kernel/btf/vmlinux";
[[nodiscard]] inline std::string_view default_base(std::string_view path) noexcept {
    return path.starts_with("/sys/kernel/btf/") && path != sysfs_vmlinux ? sysfs_vmlinux : std::string_view{};
}

// FILE... with an optional `--base BASE`, `--base=BASE` or `-B BASE` anywhere; `--` ends options.
struct file_args {
    std::vector<std::string_view> files;
    std::string_view base;
    std::string_view problem;  // non-empty: a usage error
};

[[nodiscard]] inline file_args parse_file_args(int argc, char** argv) {
    file_args a;
    bool options = true;
    for (int i = 1; i < argc; ++i) {
        const std::string_view s = argv[i];
        if (options && s == "--") {
            options = false;
        } else if (options && (s == "--base" || s == "-B")) {
            if (i + 1 >= argc) { a.problem = "missing argument to --base"; return a; }
            a.base = argv[++i];
        } else if (options && s.starts_with("--base=")) {
            a.base = s.substr(7);
        } else if (options && s.size() > 1 && s[0] == '-') {
            a.problem = "unknown option";
            return a;
        } else {
            a.files.push_back(s);
        }
    }
    if (a.files.empty()) a.problem = "missing FILE";
    return a;
}

// Loads the base named on the command line, or the default one for `first_file`, into `out`.
[[nodiscard]] inline status load_base(const file_args& a, std::optional<btf_file>& out) {
    const std::string_view path = a.base.empty() ? default_base(a.files.front()) : a.base;
    if (path.empty()) return {};
    auto b = open_btf(path);
    if (!b) return b.error();
    out.emplace(std::move(*b));
    return {};
}

// stdout without per-line writes: each append is one fwrite of a whole chunk.
struct stdout_sink {
    bool failed = false;
    void append(const char* p, std::size_t n) {
        if (!failed && std::fwrite(p, 1, n, stdout) != n) failed = true;
    }
    // Flushes stdout; exit status for the command.
    [[nodiscard]] int finish() {
        if (std::fflush(stdout) != 0) failed = true;
        if (failed) return report(error(errc::io, "cannot write output").got(static_cast<std::uint64_t>(errno)).about("stdout"));
        return 0;
    }
};

// Targets stay alive until the process ends and main() leaves with _Exit: the OS reclaims the
// mappings and the heap faster than unmapping and freeing them one by one (TLB shootdowns on every
// munmap). The memory is reachable until then, so this is not a leak in the process's lifetime.
inline void keep_until_exit(std::unique_ptr<file_targets> t) noexcept { static_cast<void>(t.release()); }

}  // namespace btfkit::cli
