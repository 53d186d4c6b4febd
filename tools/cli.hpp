// Shared pieces of the btfkit CLI: loading BTF from raw or ELF files, error reporting, buffered stdout.
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
#include "btfkit/runtime/parallel_parse.hpp"
#include "command.hpp"

namespace btfkit::cli {

// "btfkit: FILE: message" on stderr; exit_error.
inline int report(const error& e) {
    std::string msg = "btfkit: ";
    if (e.code == errc::io && e.has(location::f_value)) {
        // An errno reads better as text than as "(got 2)".
        if (!e.subject.empty()) { msg.append(e.subject.view()); msg += ": "; }
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
    return btfkit::detail::load<std::uint16_t>(d.data(), byte_order::little) == btf_magic ||
           btfkit::detail::load<std::uint16_t>(d.data(), byte_order::big) == btf_magic;
}

// Maps `path` (raw BTF, or ELF with a .BTF section) and parses it over `base`. Errors name the file;
// `path` must outlive them.
[[nodiscard]] inline result<btf_file> open_btf(std::string_view path, const btf* base = nullptr) {
    btf_file f;
    f.path = path;
    // A large type section (vmlinux) is parsed on two threads, each mapping in its half where the OS
    // tuning populates mappings; otherwise the file is mapped in whole before the parse.
    const bool halves = btfkit::detail::memory.populate != nullptr;
    auto m = mapped_file::open(std::string(path), halves ? mapped_file::load::map_halves : mapped_file::load::map);
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
    auto b = parse_two_threads(f.blob, base, nullptr, nullptr, halves && f.file.is_mapped());
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

// `FILE... [--base BASE]`: the arguments of commands that read BTF files (dump, stat).
struct file_args {
    std::vector<std::string_view> files;
    std::string_view base;
};

inline constexpr option<file_args> file_options[] = {
    {.name = "--base", .alias = "-B", .arg = "BASE",
     .help = "parse FILE as split BTF over BASE (default for /sys/kernel/btf/MODULE: /sys/kernel/btf/vmlinux)",
     .apply = [](file_args& a, std::string_view v) { a.base = v; return ok; }},
};

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
