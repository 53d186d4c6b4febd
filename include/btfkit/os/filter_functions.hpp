// The functions ftrace can attach to (tracefs's available_filter_functions): "NAME" for vmlinux,
// "NAME [MODULE]" for a module's. What `btfkit funcs --attachable` keeps, as bpftrace and retsnoop do.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../bytes.hpp"
#include "../error.hpp"
#include "files.hpp"

namespace btfkit {

class filter_functions {
public:
    // Where tracefs lists them: its own mount, then the one under debugfs.
    static constexpr std::string_view default_paths[] = {"/sys/kernel/tracing/available_filter_functions",
                                                         "/sys/kernel/debug/tracing/available_filter_functions"};

    // Reads `path`; "" tries the default paths in turn and reports the first one's error if none reads.
    [[nodiscard]] static result<filter_functions> read(const std::string& path = {}) {
        filter_functions f;
        if (path.empty()) {
            error first{};
            for (const std::string_view p : default_paths) {
                auto r = read(std::string(p));
                if (r) return r;
                if (first.code == errc::ok) first = r.error();
            }
            return first;
        }
        if (auto st = read_file_into(path, f.text_); !st) return st.error().about(path);
        const std::string_view all(f.text_.data(), f.text_.size());
        for (std::size_t at = 0; at < all.size();) {
            std::size_t end = all.find('\n', at);
            if (end == std::string_view::npos) end = all.size();
            std::string_view line = all.substr(at, end - at);
            at = end + 1;
            const std::size_t space = line.find_first_of(" \t");
            entry e{line.substr(0, space), "vmlinux"};
            if (space != std::string_view::npos) {
                const std::size_t open = line.find('[', space), close = line.find(']', space);
                if (open != std::string_view::npos && close != std::string_view::npos && close > open) e.module = line.substr(open + 1, close - open - 1);
            }
            if (!e.name.empty()) f.entries_.push_back(e);
        }
        std::sort(f.entries_.begin(), f.entries_.end());
        return f;
    }

    [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }

    // Whether function `name` of `btf` ("vmlinux" or a module's name) is listed.
    [[nodiscard]] bool contains(std::string_view name, std::string_view btf) const noexcept {
        return std::binary_search(entries_.begin(), entries_.end(), entry{name, btf});
    }

private:
    struct entry {
        std::string_view name, module;
        friend bool operator<(const entry& a, const entry& b) noexcept { return a.name != b.name ? a.name < b.name : a.module < b.module; }
    };
    byte_buffer text_;
    std::vector<entry> entries_;
};

}  // namespace btfkit
