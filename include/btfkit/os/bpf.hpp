// Thin bpf(2) wrappers.
#pragma once

#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cctype>
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

// What BPF_PROG_LOAD takes beside the instructions, for programs that attach by BTF and call kfuncs:
// the attach target (a vmlinux id, or a module's id with that module's BTF fd), the fd_array that kfunc
// calls' `off` index (module BTF fds), and whether the program may sleep.
struct prog_load_options {
    std::string_view name{};
    std::uint32_t expected_attach_type = 0;
    std::uint32_t attach_btf_id = 0;
    int attach_btf_obj_fd = 0;            // 0: vmlinux
    std::span<const int> fd_array{};      // slot 0 unused
    bool sleepable = false;
};

// BPF_PROG_LOAD: returns the program fd, or -errno with the verifier's log in `log` (if given).
inline int prog_load(std::uint32_t prog_type, std::span<const char> insns, const char* license, std::span<char> log,
                     const prog_load_options& o) noexcept {
    union bpf_attr a;
    std::memset(&a, 0, sizeof(a));
    a.prog_type = prog_type;
    a.insn_cnt = static_cast<std::uint32_t>(insns.size() / 8);
    a.insns = user_ptr(insns.data());
    a.license = user_ptr(license);
    a.expected_attach_type = o.expected_attach_type;
    a.attach_btf_id = o.attach_btf_id;
    a.attach_btf_obj_fd = static_cast<std::uint32_t>(o.attach_btf_obj_fd);
    if (!o.fd_array.empty()) a.fd_array = user_ptr(o.fd_array.data());
    if (o.sleepable) a.prog_flags |= BPF_F_SLEEPABLE;
    const std::string_view name = o.name;
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
inline int prog_load(std::uint32_t prog_type, std::span<const char> insns, const char* license, std::span<char> log = {},
                     std::string_view name = {}, std::uint32_t expected_attach_type = 0) noexcept {
    return prog_load(prog_type, insns, license, log, prog_load_options{.name = name, .expected_attach_type = expected_attach_type});
}

// BPF_MAP_CREATE of an array map with `entries` values of `value_size` bytes (4-byte keys), optionally
// typed by a BTF: the map fd, or -errno.
struct array_map_options {
    std::string_view name{};
    int btf_fd = 0;
    std::uint32_t btf_key_type_id = 0, btf_value_type_id = 0;
    std::uint32_t flags = 0;
};
inline int array_map_create(std::uint32_t value_size, std::uint32_t entries, const array_map_options& o = {}) noexcept {
    union bpf_attr a;
    std::memset(&a, 0, sizeof(a));
    a.map_type = BPF_MAP_TYPE_ARRAY;
    a.key_size = 4;
    a.value_size = value_size;
    a.max_entries = entries;
    a.map_flags = o.flags;
    a.btf_fd = static_cast<std::uint32_t>(o.btf_fd);
    a.btf_key_type_id = o.btf_key_type_id;
    a.btf_value_type_id = o.btf_value_type_id;
    const std::size_t n = std::min(o.name.size(), sizeof(a.map_name) - 1);
    for (std::size_t i = 0; i < n; ++i) a.map_name[i] = (o.name[i] == '.' || o.name[i] == '_' || std::isalnum(static_cast<unsigned char>(o.name[i]))) ? o.name[i] : '_';
    const long fd = bpf(BPF_MAP_CREATE, &a, sizeof(a));
    return fd < 0 ? -errno : static_cast<int>(fd);
}

// BPF_MAP_UPDATE_ELEM / BPF_MAP_LOOKUP_ELEM of an array map's entry `key`: 0, or -errno.
inline int map_element(int cmd, int map_fd, std::uint32_t key, const void* value) noexcept {
    union bpf_attr a;
    std::memset(&a, 0, sizeof(a));
    a.map_fd = static_cast<std::uint32_t>(map_fd);
    a.key = user_ptr(&key);
    a.value = user_ptr(value);
    return bpf(cmd, &a, sizeof(a)) < 0 ? -errno : 0;
}
inline int map_update(int map_fd, std::uint32_t key, const void* value) noexcept { return map_element(BPF_MAP_UPDATE_ELEM, map_fd, key, value); }
inline int map_lookup(int map_fd, std::uint32_t key, void* value) noexcept { return map_element(BPF_MAP_LOOKUP_ELEM, map_fd, key, value); }

// BPF_PROG_TEST_RUN once, with `data` as the packet (XDP, socket filters) or none (raw_tp): the
// program's return value, or -errno.
inline long prog_test_run(int prog_fd, std::span<const char> data = {}) noexcept {
    union bpf_attr a;
    std::memset(&a, 0, sizeof(a));
    a.test.prog_fd = static_cast<std::uint32_t>(prog_fd);
    if (!data.empty()) {
        a.test.data_in = user_ptr(data.data());
        a.test.data_size_in = static_cast<std::uint32_t>(data.size());
        a.test.repeat = 1;
    }
    if (bpf(BPF_PROG_TEST_RUN, &a, sizeof(a)) < 0) return -errno;
    return static_cast<long>(a.test.retval);
}

// BPF_LINK_CREATE for a program that attached by BTF when it was loaded (fentry, fexit, fmod_ret, lsm):
// the link fd, or -errno. Closing the link detaches.
inline int link_create(int prog_fd, std::uint32_t attach_type) noexcept {
    union bpf_attr a;
    std::memset(&a, 0, sizeof(a));
    a.link_create.prog_fd = static_cast<std::uint32_t>(prog_fd);
    a.link_create.attach_type = attach_type;
    const long fd = bpf(BPF_LINK_CREATE, &a, sizeof(a));
    return fd < 0 ? -errno : static_cast<int>(fd);
}

// Whether the kernel has uprobe_multi links with process (not thread) PID filtering, libbpf 1.7's test
// (features.c) for loading usdt programs as BPF_TRACE_UPROBE_MULTI. The link attributes are laid out
// by hand: older uapi headers (Debian 12's) lack them.
inline bool has_uprobe_multi_links() noexcept {
    constexpr std::uint32_t trace_uprobe_multi = 48;  // BPF_TRACE_UPROBE_MULTI
    static constexpr char insns[] = {'\xb7', 0, 0, 0, 0, 0, 0, 0, '\x95', 0, 0, 0, 0, 0, 0, 0};  // r0 = 0; exit
    const int prog = prog_load(BPF_PROG_TYPE_KPROBE, std::span<const char>(insns, sizeof(insns)), "GPL", {},
                               prog_load_options{.expected_attach_type = trace_uprobe_multi});
    if (prog < 0) return false;
    const auto link = [&](std::int32_t pid) {
        alignas(8) unsigned char attr[64] = {};
        const std::uint32_t head[4] = {static_cast<std::uint32_t>(prog), static_cast<std::uint32_t>(-1), trace_uprobe_multi, 0};
        static const char path[] = "/";
        const unsigned long offset = 0;
        const std::uint64_t ptrs[2] = {user_ptr(path), user_ptr(&offset)};  // path, offsets
        const std::uint32_t tail[3] = {1, 0, static_cast<std::uint32_t>(pid)};  // cnt, flags, pid
        std::memcpy(attr, head, sizeof(head));
        std::memcpy(attr + 16, ptrs, sizeof(ptrs));
        std::memcpy(attr + 48, tail, sizeof(tail));
        const long fd = ::syscall(__NR_bpf, BPF_LINK_CREATE, attr, 60u);
        const int err = fd < 0 ? errno : 0;
        if (fd >= 0) ::close(static_cast<int>(fd));
        return err;
    };
    const bool ok = link(0) == EBADF && link(-1) == EINVAL;
    ::close(prog);
    return ok;
}

// BPF_RAW_TRACEPOINT_OPEN: a tp_btf program (name null: the tracepoint it was loaded for) or a raw_tp
// program on tracepoint `name`. The link fd, or -errno.
inline int raw_tracepoint_open(int prog_fd, const char* name = nullptr) noexcept {
    union bpf_attr a;
    std::memset(&a, 0, sizeof(a));
    a.raw_tracepoint.prog_fd = static_cast<std::uint32_t>(prog_fd);
    a.raw_tracepoint.name = name != nullptr ? user_ptr(name) : 0;
    const long fd = bpf(BPF_RAW_TRACEPOINT_OPEN, &a, sizeof(a));
    return fd < 0 ? -errno : static_cast<int>(fd);
}

}  // namespace sys

}  // namespace btfkit
