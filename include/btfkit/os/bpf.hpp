// Thin bpf(2) wrappers.
#pragma once

#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../error.hpp"

namespace btfkit {

// Thin bpf(2) wrappers; each returns -errno on failure.
namespace sys {

// A pointer as the u64 the bpf() ABI wants.
inline std::uint64_t user_ptr(const void* p) noexcept { return std::bit_cast<std::uintptr_t>(p); }

inline long bpf(int cmd, union bpf_attr* attr, unsigned size) noexcept {
    return ::syscall(__NR_bpf, cmd, attr, size);
}

inline int btf_get_next_id(std::uint32_t start, std::uint32_t& next) noexcept {
    union bpf_attr a;
    std::memset(&a, 0, sizeof(a));
    a.start_id = start;
    if (bpf(BPF_BTF_GET_NEXT_ID, &a, sizeof(a)) != 0) return -errno;
    next = a.next_id;
    return 0;
}

inline int btf_get_fd_by_id(std::uint32_t id) noexcept {
    union bpf_attr a;
    std::memset(&a, 0, sizeof(a));
    a.btf_id = id;
    const long fd = bpf(BPF_BTF_GET_FD_BY_ID, &a, sizeof(a));
    return fd < 0 ? -errno : static_cast<int>(fd);
}

struct btf_object_info {
    std::uint32_t id = 0;
    bool kernel_btf = false;
    std::string name;
    std::uint32_t btf_size = 0;  // the object's BTF bytes (all of them, whatever `bytes` had room for)
};

// BPF_OBJ_GET_INFO_BY_FD of a BTF object; with `bytes`, its BTF is copied there too (as much as fits).
inline int btf_get_info(int fd, btf_object_info& out, std::span<char> bytes = {}) noexcept {
    struct bpf_btf_info info;
    std::memset(&info, 0, sizeof(info));
    char name[64] = {};
    info.name = user_ptr(name);
    info.name_len = sizeof(name);
    if (!bytes.empty()) {
        info.btf = user_ptr(bytes.data());
        info.btf_size = static_cast<std::uint32_t>(std::min<std::size_t>(bytes.size(), UINT32_MAX));
    }
    union bpf_attr a;
    std::memset(&a, 0, sizeof(a));
    a.info.bpf_fd = static_cast<std::uint32_t>(fd);
    a.info.info_len = sizeof(info);
    a.info.info = user_ptr(&info);
    if (bpf(BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a)) != 0) return -errno;
    out.id = info.id;
    out.kernel_btf = info.kernel_btf != 0;
    out.name.assign(name, ::strnlen(name, sizeof(name)));
    out.btf_size = info.btf_size;
    return 0;
}

// BPF_PROG_LOAD: returns the program fd, or -errno with the verifier's log in `log` (if given).
inline int prog_load(std::uint32_t prog_type, std::span<const char> insns, const char* license, std::span<char> log = {},
                     std::string_view name = {}, std::uint32_t expected_attach_type = 0) noexcept {
    union bpf_attr a;
    std::memset(&a, 0, sizeof(a));
    a.prog_type = prog_type;
    a.insn_cnt = static_cast<std::uint32_t>(insns.size() / 8);
    a.insns = user_ptr(insns.data());
    a.license = user_ptr(license);
    a.expected_attach_type = expected_attach_type;
    if (!log.empty()) {
        log[0] = 0;
        a.log_buf = user_ptr(log.data());
        a.log_size = static_cast<std::uint32_t>(log.size());
        a.log_level = 1;
    }
    const std::size_t n = std::min(name.size(), sizeof(a.prog_name) - 1);
    for (std::size_t i = 0; i < n; ++i) {
        const char c = name[i];
        a.prog_name[i] = (c == '_' || c == '.' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) ? c : '_';
    }
    long fd = bpf(BPF_PROG_LOAD, &a, sizeof(a));
    if (fd < 0 && errno == ENOSPC && !log.empty()) {  // log too small: the verdict still counts
        fd = -ENOSPC;
    }
    return fd < 0 ? (fd == -ENOSPC ? -ENOSPC : -errno) : static_cast<int>(fd);
}

}  // namespace sys

}  // namespace btfkit
