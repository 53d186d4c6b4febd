// The running kernel's vmlinux BTF, mapped and parsed, for tests that compare with the kernel.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

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

}  // namespace btfkit::testing
