// A kernel module's name from the path of the file that holds its BTF, as sysfs and /proc/modules name it.
#pragma once

#include <array>
#include <string>
#include <string_view>

namespace btfkit {

// "dir/nf-conntrack.ko.zst" -> "nf-conntrack": the file name without `.ko`, `.ko.xz`, `.ko.zst`, `.ko.gz`
// or `.btf`. A stem that would be empty keeps its suffix; a sysfs path (/sys/kernel/btf/veth) has none.
[[nodiscard]] constexpr std::string_view module_file_stem(std::string_view path) noexcept {
    if (const auto slash = path.find_last_of('/'); slash != std::string_view::npos) path.remove_prefix(slash + 1);
    constexpr std::array<std::string_view, 5> suffixes{".ko.xz", ".ko.zst", ".ko.gz", ".ko", ".btf"};
    for (const std::string_view s : suffixes) {
        if (path.size() > s.size() && path.ends_with(s)) return path.substr(0, path.size() - s.size());
    }
    return path;
}

// "dir/nf-conntrack.ko.zst" -> "nf_conntrack": the file's stem with dashes made underscores, the
// kernel's spelling of module names.
[[nodiscard]] constexpr std::string module_name_of(std::string_view path) {
    std::string name(module_file_stem(path));
    for (char& c : name) {
        if (c == '-') c = '_';
    }
    return name;
}

}  // namespace btfkit
