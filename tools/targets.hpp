// Target options shared by `relocate` and `find`: --btf, --module, --modules-dir; default: the running kernel.
#pragma once

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
    return false;
}

// Opens the targets the options name. With none: the running kernel (vmlinux and its modules).
// With --btf alone: that BTF only (like libbpf's btf_custom_path). Modules of a --modules-dir are
// its files other than "vmlinux", in name order, after any --module files.
[[nodiscard]] inline result<std::unique_ptr<file_targets>> open_targets(const target_args& t) {
    if (t.btf.empty() && t.modules.empty() && t.module_dirs.empty()) return file_targets::running_kernel();
    std::vector<std::string> mods = t.modules;
    for (const auto& d : t.module_dirs) {
        auto names = list_directory(d);
        if (!names) return names.error().about(d);
        for (const auto& n : *names) {
            if (n != "vmlinux") mods.push_back(d + "/" + n);
        }
    }
    const std::string vmlinux = t.btf.empty() ? std::string(sysfs_vmlinux) : t.btf;
    const bool kernel = vmlinux == sysfs_vmlinux;
    return file_targets::open(vmlinux, mods, kernel);
}

}  // namespace btfkit::cli
