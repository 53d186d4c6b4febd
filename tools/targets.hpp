// Target options shared by the commands that look types up (`relocate`, `find`): --btf, --module,
// --modules-dir, --only-module, --index-cache; by default the running kernel.
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
    std::string btf;                       // --btf FILE (raw BTF or ELF)
    std::vector<std::string> modules;      // --module FILE...
    std::vector<std::string> module_dirs;  // --modules-dir DIR...
    std::string index_cache;               // --index-cache FILE|DIR/|off ("" = the default)
    std::vector<std::string> only_modules; // --only-module NAME... (target_options::module_scope)
};

// The target options, declared once for every command whose arguments A hold a `target_args targets`.
template <class A>
inline constexpr option<A> target_option_list[] = {
    {.name = "--btf", .arg = "FILE",
     .help = "target BTF: raw, or the .BTF of an ELF file; alone: that BTF only (libbpf's btf_custom_path)",
     .apply = [](A& a, std::string_view v) { a.targets.btf = v; return ok; }},
    {.name = "--module", .arg = "FILE", .repeatable = true,
     .help = "a module's BTF (raw split BTF or .ko), before those of --modules-dir",
     .apply = [](A& a, std::string_view v) { a.targets.modules.emplace_back(v); return ok; }},
    {.name = "--modules-dir", .arg = "DIR", .repeatable = true,
     .help = "every file in DIR but vmlinux is a module, in name order",
     .apply = [](A& a, std::string_view v) { a.targets.module_dirs.emplace_back(v); return ok; }},
    {.name = "--only-module", .arg = "NAME", .repeatable = true,
     .help = "search vmlinux and only this module (its sysfs name; repeatable); default: every module, as libbpf",
     .apply = [](A& a, std::string_view v) { a.targets.only_modules.emplace_back(v); return ok; }},
    {.name = "--index-cache", .arg = "FILE|DIR/|off",
     .help = "where the name indexes are kept between runs (default: $XDG_CACHE_HOME/btfkit/)",
     .apply = [](A& a, std::string_view v) { a.targets.index_cache = v; return ok; }},
};

template <class A>
inline constexpr option_group<A> target_group{"targets (default: the running kernel and its modules)", target_option_list<A>};

// The index cache file for these targets ("" for none). --index-cache FILE, or a directory (ending in
// '/'), or "off"; by default $BTFKIT_INDEX_CACHE (a directory, or "off"), else $XDG_CACHE_HOME/btfkit/,
// else $HOME/.cache/btfkit/. In a directory the file is named after the target paths, so each set of
// targets has its own; the file's contents are checked against the files' sizes, mtimes and inodes.
[[nodiscard]] inline std::string index_cache_path(const target_args& t, const std::string& vmlinux, const std::vector<std::string>& mods) {
    std::string where = t.index_cache;
    if (where.empty()) {
        if (const char* e = std::getenv("BTFKIT_INDEX_CACHE"); e != nullptr && *e != 0) {
            if (std::string_view(e) == "off") return {};
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
    k.add(t.module_dirs.size());  // a directory by its path: the cache checks its files' identities
    for (const auto& d : t.module_dirs) k.add(d);
    for (const auto& m : t.only_modules) k.add(m);  // a scoped set of targets is another set
    static constexpr char hex[] = "0123456789abcdef";
    std::string name = "index-";
    for (int shift = 60; shift >= 0; shift -= 4) name += hex[(k.value() >> shift) & 0xf];
    return where + name + ".bin";
}

// Whether the options name no files: the targets are the running kernel's.
[[nodiscard]] inline bool is_running_kernel(const target_args& t) noexcept {
    return t.btf.empty() && t.modules.empty() && t.module_dirs.empty();
}

// Opens the targets the options name. With none: the running kernel (vmlinux and its modules).
// With --btf alone: that BTF only (like libbpf's btf_custom_path). Modules of a --modules-dir are
// its files other than "vmlinux", in name order, after any --module files. `names` (if any) are
// prefetched in name space `space` while opening (target_options::prefetch).
[[nodiscard]] inline result<std::unique_ptr<file_targets>> open_targets(const target_args& t, std::span<const std::string_view> names = {},
                                                                      name_space space = name_space::types) {
    // One process, one use: vmlinux read into 2 MiB pages rather than mapped (target_options::read_vmlinux).
    target_options o;
    o.read_vmlinux = true;
    o.prefetch.assign(names.begin(), names.end());
    o.prefetch_space = space;
    o.module_scope = t.only_modules;
    if (is_running_kernel(t)) {
        // The module list comes from the directory; the cache file is named after the directory.
        o.index_cache = index_cache_path(t, std::string(sysfs_vmlinux), {"/sys/kernel/btf/"});
        return file_targets::running_kernel(std::string(kernel_btf_dir), o);
    }
    // The directories are listed while vmlinux is read (target_options::module_dirs).
    o.module_dirs = t.module_dirs;
    const std::string vmlinux = t.btf.empty() ? std::string(sysfs_vmlinux) : t.btf;
    o.kernel = vmlinux == sysfs_vmlinux;
    o.index_cache = index_cache_path(t, vmlinux, t.modules);
    return file_targets::open(vmlinux, t.modules, o);
}

}  // namespace btfkit::cli
