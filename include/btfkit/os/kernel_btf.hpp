// The running kernel's BTF objects through bpf(): listed in id order, each module's bytes read through
// a fd of its object, and TYPE_ID_TARGET's fd or id naming that same object.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/candidates.hpp"
#include "../error.hpp"
#include "../memory.hpp"
#include "bpf.hpp"

namespace btfkit {

// The kernel's BTF objects (vmlinux and each module's), as libbpf finds them: BPF_BTF_GET_NEXT_ID in
// id order, BPF_BTF_GET_FD_BY_ID, and BPF_OBJ_GET_INFO_BY_FD for the name and, with a buffer, the bytes.
//
// Why the bytes and the upper half cannot come from two loads of a module: an object id names one
// BTF object for the object's whole life, and ids are handed out cyclically, not reused. A module's
// bytes are read through a fd opened by the id listed here, and the fd or id written into
// TYPE_ID_TARGET is opened by (or is) that same id. If the module is unloaded in between, the open
// fails, or the object's id reads back as 0, and the caller gets an error naming the module, never a
// fd of another load. A fd is kept only for objects whose fd was asked for; the rest are closed
// after each read, so thousands of modules do not hold thousands of fds.
class kernel_btf {
public:
    struct object {
        std::string name;
        std::uint32_t id = 0;
    };

    kernel_btf() = default;
    // Objects listed elsewhere (list() is the usual source).
    explicit kernel_btf(std::vector<object> objects) : objects_(std::move(objects)), fds_(objects_.size(), -1) {}
    kernel_btf(const kernel_btf&) = delete;
    kernel_btf& operator=(const kernel_btf&) = delete;
    kernel_btf(kernel_btf&& o) noexcept : objects_(std::move(o.objects_)), fds_(std::move(o.fds_)) {}
    kernel_btf& operator=(kernel_btf&& o) noexcept {
        std::swap(objects_, o.objects_);
        std::swap(fds_, o.fds_);
        return *this;
    }
    ~kernel_btf() {
        for (const int fd : fds_) {
            if (fd >= 0) ::close(fd);
        }
    }

    // Every kernel BTF object, by increasing id (vmlinux first, then modules in libbpf's order).
    // Without privileges bpf() says EPERM: the error carries it (where.value).
    [[nodiscard]] static result<kernel_btf> list() {
        kernel_btf k;
        std::uint32_t id = 0;
        for (;;) {
            std::uint32_t next = 0;
            const int r = sys::btf_get_next_id(id, next);
            if (r == -ENOENT) break;
            if (r < 0) return error(errc::io, "BPF_BTF_GET_NEXT_ID failed").got(static_cast<std::uint64_t>(-r));
            id = next;
            const int fd = sys::btf_get_fd_by_id(id);
            if (fd == -ENOENT) continue;  // unloaded meanwhile
            if (fd < 0) return error(errc::io, "BPF_BTF_GET_FD_BY_ID failed").got(static_cast<std::uint64_t>(-fd));
            sys::btf_object_info info;
            const int ir = sys::btf_get_info(fd, info);
            ::close(fd);
            if (ir < 0) return error(errc::io, "BPF_OBJ_GET_INFO_BY_FD failed").got(static_cast<std::uint64_t>(-ir));
            if (info.kernel_btf) k.objects_.push_back(object{std::move(info.name), id});
        }
        return kernel_btf(std::move(k.objects_));
    }

    [[nodiscard]] std::span<const object> objects() const noexcept { return objects_; }
    // The object named `name` (the first, should a name repeat).
    [[nodiscard]] std::optional<std::uint32_t> find(std::string_view name) const noexcept {
        for (std::uint32_t i = 0; i < objects_.size(); ++i) {
            if (objects_[i].name == name) return i;
        }
        return std::nullopt;
    }

    // Object i's BTF bytes into `buf` (resized to their length), through a fd opened by its id. Safe
    // on several threads at once for different objects, and for one object read twice.
    [[nodiscard]] status read(std::uint32_t i, byte_buffer& buf) const {
        const object& o = objects_[i];
        const int fd = sys::btf_get_fd_by_id(o.id);
        if (fd < 0) return gone_or(o, fd);
        sys::btf_object_info info;
        int r = sys::btf_get_info(fd, info);
        if (r == 0) {
            buf.resize(info.btf_size);
            const std::uint32_t size = info.btf_size;
            r = size == 0 ? 0 : sys::btf_get_info(fd, info, std::span<char>(buf.data(), size));
            if (r == 0 && info.btf_size != size) r = -EIO;  // cannot change under a live object
        }
        ::close(fd);
        if (r < 0) return error(errc::io, "BPF_OBJ_GET_INFO_BY_FD failed").at_index("BTF object", o.id).got(static_cast<std::uint64_t>(-r)).about(o.name);
        return {};
    }

    // TYPE_ID_TARGET's upper half for object i: a fd of it (opened once, owned here) or its id, after
    // checking that the object is still the live one of its module.
    [[nodiscard]] result<std::uint32_t> upper(std::uint32_t i, fd_encoding enc) {
        const object& o = objects_[i];
        int& fd = fds_[i];
        if (fd < 0) {
            fd = sys::btf_get_fd_by_id(o.id);
            if (fd < 0) {
                const int e = std::exchange(fd, -1);
                return gone_or(o, e);
            }
        }
        sys::btf_object_info info;
        if (const int r = sys::btf_get_info(fd, info); r < 0) {
            return error(errc::io, "BPF_OBJ_GET_INFO_BY_FD failed").at_index("BTF object", o.id).got(static_cast<std::uint64_t>(-r)).about(o.name);
        }
        if (info.id != o.id) return gone(o);  // an unloaded module's object keeps its fds, not its id
        return enc == fd_encoding::btf_id ? o.id : static_cast<std::uint32_t>(fd);
    }

private:
    [[nodiscard]] static error gone(const object& o) {
        return error(errc::io, "gone: its module was unloaded after the targets were opened").at_index("BTF object", o.id).about(o.name);
    }
    [[nodiscard]] static error gone_or(const object& o, int neg_errno) {
        if (neg_errno == -ENOENT) return gone(o);
        return error(errc::io, "BPF_BTF_GET_FD_BY_ID failed").at_index("BTF object", o.id).got(static_cast<std::uint64_t>(-neg_errno)).about(o.name);
    }

    std::vector<object> objects_{};
    std::vector<int> fds_{};  // per object: the fd handed out for TYPE_ID_TARGET, or -1
};

}  // namespace btfkit
