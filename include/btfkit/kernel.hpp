// The only OS-facing header: mapped files, the running kernel's BTF files, and bpf() syscalls.
#pragma once

#include <fcntl.h>
#include <linux/bpf.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "bytes.hpp"
#include "error.hpp"

namespace btfkit {

// A read-only file in memory: mmap'd (MAP_PRIVATE, which sysfs allows) or, where mmap is refused
// or the size is unknown (sysfs reports 0 or 4096 for some files), read into a buffer.
class mapped_file {
public:
    mapped_file() noexcept = default;
    mapped_file(const mapped_file&) = delete;
    mapped_file& operator=(const mapped_file&) = delete;
    mapped_file(mapped_file&& o) noexcept { swap(o); }
    mapped_file& operator=(mapped_file&& o) noexcept {
        mapped_file t(std::move(o));
        swap(t);
        return *this;
    }
    ~mapped_file() { reset(); }

    [[nodiscard]] static result<mapped_file> open(const std::string& path) {
        mapped_file f;
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return error(errc::io, "cannot open file").got(static_cast<std::uint64_t>(errno));
        struct stat st {};
        if (::fstat(fd, &st) != 0) {
            const int e = errno;
            ::close(fd);
            return error(errc::io, "cannot stat file").got(static_cast<std::uint64_t>(e));
        }
        const auto size = static_cast<std::size_t>(st.st_size);
        if (S_ISREG(st.st_mode) && size > 0) {
            void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
            if (p != MAP_FAILED) {
                f.map_ = p;
                f.size_ = size;
                ::close(fd);
                return f;
            }
        }
        // Fallback: read everything.
        std::size_t cap = size > 0 ? size : 1 << 16;
        f.buf_ = std::make_unique<char[]>(cap);
        std::size_t len = 0;
        for (;;) {
            if (len == cap) {
                auto bigger = std::make_unique<char[]>(cap * 2);
                std::memcpy(bigger.get(), f.buf_.get(), len);
                f.buf_ = std::move(bigger);
                cap *= 2;
            }
            const ssize_t n = ::read(fd, f.buf_.get() + len, cap - len);
            if (n < 0) {
                if (errno == EINTR) continue;
                const int e = errno;
                ::close(fd);
                return error(errc::io, "cannot read file").got(static_cast<std::uint64_t>(e));
            }
            if (n == 0) break;
            len += static_cast<std::size_t>(n);
        }
        ::close(fd);
        f.size_ = len;
        return f;
    }

    [[nodiscard]] byte_span bytes() const noexcept {
        return {map_ ? static_cast<const char*>(map_) : buf_.get(), size_};
    }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] bool is_mapped() const noexcept { return map_ != nullptr; }

    void reset() noexcept {
        if (map_) ::munmap(map_, size_);
        map_ = nullptr;
        buf_.reset();
        size_ = 0;
    }

private:
    void swap(mapped_file& o) noexcept {
        std::swap(map_, o.map_);
        std::swap(size_, o.size_);
        std::swap(buf_, o.buf_);
    }
    void* map_ = nullptr;
    std::size_t size_ = 0;
    std::unique_ptr<char[]> buf_{};
};

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
};

inline int btf_get_info(int fd, btf_object_info& out) noexcept {
    struct bpf_btf_info info;
    std::memset(&info, 0, sizeof(info));
    char name[64] = {};
    info.name = user_ptr(name);
    info.name_len = sizeof(name);
    union bpf_attr a;
    std::memset(&a, 0, sizeof(a));
    a.info.bpf_fd = static_cast<std::uint32_t>(fd);
    a.info.info_len = sizeof(info);
    a.info.info = user_ptr(&info);
    if (bpf(BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a)) != 0) return -errno;
    out.id = info.id;
    out.kernel_btf = info.kernel_btf != 0;
    out.name.assign(name, ::strnlen(name, sizeof(name)));
    return 0;
}

}  // namespace sys

}  // namespace btfkit
