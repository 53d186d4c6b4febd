// Target options shared by `relocate` and `find`: --btf, --module, --modules-dir; default: the running kernel.
#pragma once

#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "btfkit/kernel.hpp"
#include "cli.hpp"
#include "json.hpp"

namespace btfkit::cli {

struct target_args {
    std::string btf;                   // --btf FILE (raw BTF or ELF)
    std::vector<std::string> modules;  // --module FILE...
    std::vector<std::string> module_dirs;
    bool kernel_dir_given = false;
    std::string index_cache;           // --index-cache FILE|DIR/|off ("" = the default)
};

// Consumes a target option at argv[i] (advancing i past its argument); false if argv[i] is not one.
// `problem` is set when the option lacks its argument.
[[nodiscard]] inline bool take_target_option(int argc, char** argv, int& i, target_args& t, std::string_view& problem) {
    const std::string_view s = argv[i];
    auto value = [&](std::string& out) {
        if (i + 1 >= argc) {
            problem = "option needs an argument";
            return true;
        }
        out = argv[++i];
        return true;
    };
    if (s == "--btf") return value(t.btf);
    if (s.starts_with("--btf=")) { t.btf = std::string(s.substr(6)); return true; }
    if (s == "--module") { std::string m; value(m); if (problem.empty()) t.modules.push_back(m); return true; }
    if (s.starts_with("--module=")) { t.modules.emplace_back(s.substr(9)); return true; }
    if (s == "--modules-dir") { std::string d; value(d); if (problem.empty()) t.module_dirs.push_back(d); return true; }
    if (s.starts_with("--modules-dir=")) { t.module_dirs.emplace_back(s.substr(14)); return true; }
    if (s == "--index-cache") return value(t.index_cache);
    if (s.starts_with("--index-cache=")) { t.index_cache = std::string(s.substr(14)); return true; }
    return false;
}

// The index cache file for these targets ("" for none). --index-cache FILE, or a directory (ending in
// '/'), or "off"; by default $BTFKIT_INDEX_CACHE (a directory, or "off"), else $XDG_CACHE_HOME/btfkit/,
// else $HOME/.cache/btfkit/. In a directory the file is named after the target paths, so each set of
// targets has its own; the file's contents are checked against the files' sizes, mtimes and inodes.
[[nodiscard]] inline std::string index_cache_path(const target_args& t, const std::string& vmlinux, const std::vector<std::string>& mods) {
    std::string where = t.index_cache;
    if (where.empty()) {
        if (const char* e = std::getenv("BTFKIT_INDEX_CACHE"); e != nullptr && *e != 0) {
            where = e;
        } else if (const char* x = std::getenv("XDG_CACHE_HOME"); x != nullptr && *x == '/') {
            where = std::string(x) + "/btfkit";
        } else if (const char* h = std::getenv("HOME"); h != nullptr && *h == '/') {
            where = std::string(h) + "/.cache/btfkit";
        } else {
            return {};
        }
        where += '/';
    }
    if (where == "off") return {};
    if (where.back() != '/') return where;
    index_key k;
    k.add(vmlinux).add(mods.size());
    for (const auto& m : mods) k.add(m);
    static constexpr char hex[] = "0123456789abcdef";
    std::string name = "index-";
    for (int shift = 60; shift >= 0; shift -= 4) name += hex[(k.value() >> shift) & 0xf];
    return where + name + ".bin";
}

// Opens the targets the options name. With none: the running kernel (vmlinux and its modules).
// With --btf alone: that BTF only (like libbpf's btf_custom_path). Modules of a --modules-dir are
// its files other than "vmlinux", in name order, after any --module files. `names` (if any) are
// prefetched while opening (target_options::prefetch).
[[nodiscard]] inline result<std::unique_ptr<file_targets>> open_targets(const target_args& t, std::span<const std::string_view> names = {}) {
    // One process, one use: vmlinux read into 2 MiB pages rather than mapped (target_options::read_vmlinux).
    target_options o;
    o.read_vmlinux = true;
    o.prefetch.assign(names.begin(), names.end());
    if (t.btf.empty() && t.modules.empty() && t.module_dirs.empty()) {
        // The module list comes from the directory; the cache file is named after the directory.
        o.index_cache = index_cache_path(t, std::string(sysfs_vmlinux), {"/sys/kernel/btf/"});
        return file_targets::running_kernel("/sys/kernel/btf", o);
    }
    std::vector<std::string> mods = t.modules;
    for (const auto& d : t.module_dirs) {
        auto files = list_directory(d);
        if (!files) return files.error().about(d);
        for (const auto& n : *files) {
            if (n != "vmlinux") mods.push_back(d + "/" + n);
        }
    }
    const std::string vmlinux = t.btf.empty() ? std::string(sysfs_vmlinux) : t.btf;
    o.kernel = vmlinux == sysfs_vmlinux;
    o.index_cache = index_cache_path(t, vmlinux, mods);
    return file_targets::open(vmlinux, mods, o);
}

}  // namespace btfkit::cli
