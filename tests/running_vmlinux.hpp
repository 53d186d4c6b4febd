// The running kernel's vmlinux BTF, mapped and parsed, for tests that compare with the kernel.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <doctest/doctest.h>

#include "btfkit/format/btf.hpp"
#include "btfkit/kernel.hpp"

namespace btfkit::testing {

struct running_vmlinux {
    mapped_file file;
    std::optional<btf> types;  // views into `file`
};

// Null, with the reason in `why`, where the kernel has no BTF or it does not parse.
inline std::unique_ptr<running_vmlinux> open_running_vmlinux(std::string& why) {
    const char* path = "/sys/kernel/btf/vmlinux";
    if (!std::filesystem::exists(path)) {
        why = "the running kernel has no BTF";
        return nullptr;
    }
    auto v = std::make_unique<running_vmlinux>();
    auto f = mapped_file::open(path);
    if (!f) {
        why = f.error().about(path).message();
        return nullptr;
    }
    v->file = std::move(*f);
    auto b = btf::parse(v->file.bytes());
    if (!b) {
        why = b.error().about(path).message();
        return nullptr;
    }
    v->types.emplace(std::move(*b));
    return v;
}

// The same, or null after a doctest MESSAGE that says why the test skips.
inline std::unique_ptr<running_vmlinux> running_vmlinux_or_skip() {
    std::string why;
    auto v = open_running_vmlinux(why);
    if (!v) MESSAGE("skipping: " << why);
    return v;
}

// The first of `b`'s own types named `name` of kind `k`, by a plain scan (0: none): the simple answer
// the lookups are checked against.
inline std::uint32_t scan_id(const btf& b, std::string_view name, kind k) {
    for (std::uint32_t id = b.first_id(); id < b.type_count(); ++id) {
        if (b.kind_of(id) == k && b[id].name() == name) return id;
    }
    return 0;
}

}  // namespace btfkit::testing
