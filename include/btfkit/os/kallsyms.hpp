// Kernel symbol addresses from /proc/kallsyms (or a saved copy): where a typeless `__ksym` points, as
// libbpf reads them.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../bytes.hpp"
#include "../core/relo_rules.hpp"
#include "../error.hpp"
#include "files.hpp"

namespace btfkit {

class kallsyms {
public:
    struct symbol {
        std::string_view name;
        std::uint64_t address = 0;
        char type = 0;
    };

    // Reads `path` ("ADDRESS TYPE NAME [MODULE]" lines). A line that does not parse is an error naming it.
    [[nodiscard]] static result<kallsyms> read(const std::string& path = "/proc/kallsyms") {
        kallsyms k;
        if (auto st = read_file_into(path, k.text_); !st) return st.error().about(path);
        const std::string_view all(k.text_.data(), k.text_.size());
        std::uint32_t line = 0;
        for (std::size_t at = 0; at < all.size(); ++line) {
            std::size_t end = all.find('\n', at);
            if (end == std::string_view::npos) end = all.size();
            const std::string_view l = all.substr(at, end - at);
            at = end + 1;
            if (l.empty()) continue;
            symbol s;
            std::size_t i = 0;
            for (; i < l.size() && l[i] != ' '; ++i) {
                const char c = l[i];
                const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
                if (d < 0 || i >= 16) return error(errc::bad_header, "kallsyms line without a hex address").at_index("line", line + 1).about(path);
                s.address = s.address << 4 | static_cast<std::uint64_t>(d);
            }
            if (i == 0 || i + 2 >= l.size() || l[i + 2] != ' ') return error(errc::bad_header, "kallsyms line without a type and name").at_index("line", line + 1).about(path);
            s.type = l[i + 1];
            const std::string_view rest = l.substr(i + 3);
            s.name = rest.substr(0, std::min(rest.find_first_of(" \t"), rest.size()));
            if (s.name.empty()) return error(errc::bad_header, "kallsyms line without a name").at_index("line", line + 1).about(path);
            k.symbols_.push_back(s);
        }
        std::sort(k.symbols_.begin(), k.symbols_.end(), [](const symbol& a, const symbol& b) { return a.name != b.name ? a.name < b.name : a.address < b.address; });
        return k;
    }

    [[nodiscard]] std::size_t size() const noexcept { return symbols_.size(); }

    // libbpf's rule: every symbol named `name`, and from 1.5 on a data symbol ('d') named
    // "NAME.llvm.HASH" (a static variable that LTO promoted); two different addresses are ambiguous.
    [[nodiscard]] result<std::optional<std::uint64_t>> address(std::string_view name, libbpf_compat compat) const {
        std::optional<std::uint64_t> found;
        const auto take = [&](const symbol& s) -> status {
            if (found && *found != s.address) return error(errc::ambiguous, "ksym resolution is ambiguous: two addresses in kallsyms").about(name).got(s.address);
            found = s.address;
            return {};
        };
        auto it = std::lower_bound(symbols_.begin(), symbols_.end(), name, [](const symbol& s, std::string_view n) { return s.name < n; });
        for (; it != symbols_.end() && it->name == name; ++it) {
            BTFKIT_TRY(take(*it));
        }
        if (compat != libbpf_compat::v1_1) {
            std::string llvm(name);
            llvm += ".llvm.";
            for (auto p = std::lower_bound(symbols_.begin(), symbols_.end(), std::string_view(llvm), [](const symbol& s, std::string_view n) { return s.name < n; });
                 p != symbols_.end() && p->name.starts_with(llvm); ++p) {
                if (p->type == 'd' && p->name.find(".llvm.") == name.size()) BTFKIT_TRY(take(*p));
            }
        }
        return found;
    }

private:
    byte_buffer text_;
    std::vector<symbol> symbols_;
};

// The same, read when first asked (a loader whose objects have no typeless ksym reads nothing); an empty
// path knows no symbols (file targets, which have no kernel).
class kallsyms_on_demand {
public:
    explicit kallsyms_on_demand(std::string path = "/proc/kallsyms") : path_(std::move(path)) {}

    [[nodiscard]] result<std::optional<std::uint64_t>> address(std::string_view name, libbpf_compat compat) {
        if (path_.empty()) return std::optional<std::uint64_t>{};
        if (!table_) {
            auto k = kallsyms::read(path_);
            if (!k) return k.error();
            table_ = std::move(*k);
        }
        return table_->address(name, compat);
    }

private:
    std::string path_;
    std::optional<kallsyms> table_;
};

}  // namespace btfkit
