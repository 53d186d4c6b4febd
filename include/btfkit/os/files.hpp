// Files: a read-only file in memory (mapped or read), reading whole files and module BTF into
// reused buffers, directory listings, file identities for cache keys, atomic writes.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../bytes.hpp"
#include "../error.hpp"
#include "../format/bpf_object.hpp"
#include "../memory.hpp"
#include "../targets/index_cache.hpp"

namespace btfkit {

namespace detail {
// The length a raw BTF file's header declares (the header, then its sections), or 0 where `head`
// does not start one (too short, another magic, a header length below BTF's).
[[nodiscard]] constexpr std::size_t declared_btf_length(byte_span head) noexcept {
    if (head.size() < btf_header_size) return 0;
    byte_order order = byte_order::little;
    if (load<std::uint16_t>(head.data(), byte_order::big) == btf_magic) order = byte_order::big;
    else if (load<std::uint16_t>(head.data(), byte_order::little) != btf_magic) return 0;
    const byte_reader r{head, order};
    const std::uint64_t hdr_len = r.u32(4), types_end = std::uint64_t{r.u32(8)} + r.u32(12),
                        strings_end = std::uint64_t{r.u32(16)} + r.u32(20);
    if (hdr_len < btf_header_size) return 0;
    return static_cast<std::size_t>(hdr_len + std::max(types_end, strings_end));
}

// How read_fd_into knows a file's end before read() says so.
enum class known_end {
    none,      // read until read() returns 0
    size,      // `size` is what fstat said of a regular file (sizes of whole pages are not trusted:
               // pseudo files such as sysfs attributes may report 4096 whatever they hold)
    btf_header,  // a raw BTF file's header declares its length (anything else: until read() says)
};

// Reads `fd` to its end into `buf` (resized to the length read; capacity kept, never zero-filled).
// Where the end is known (`end`), reading that much ends it without a call to find the end: one read
// call for a module file. Bytes past a BTF header's length may go unread; parsing ignores them.
inline status read_fd_into(int fd, byte_buffer& buf, std::size_t hint, known_end end = known_end::none, std::size_t size = 0) {
    buf.resize(std::max(buf.capacity(), hint));
    std::size_t len = 0;
    if (end != known_end::size || size % 4096 == 0) size = 0;
    while (size == 0 || len != size) {
        if (len == buf.size()) buf.resize(buf.size() * 2);
        const ssize_t n = ::read(fd, buf.data() + len, buf.size() - len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return error(errc::io, "cannot read file").got(static_cast<std::uint64_t>(errno));
        }
        if (n == 0) break;
        const bool header_read = len < btf_header_size;
        len += static_cast<std::size_t>(n);
        if (end == known_end::btf_header && header_read && len >= btf_header_size) {
            size = declared_btf_length(byte_span(buf.data(), len));
            if (size != 0 && len > size) size = 0;  // more than declared: to the end, as any file
        }
    }
    buf.resize(len);
    return {};
}
}  // namespace detail

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

    enum class load {
        map,   // mapped (MAP_POPULATE), or read where it cannot be
        map_halves,  // mapped without populating, for parse_two_threads(..., populate_halves): each of
                     // its threads maps in half (in parallel); or read where it cannot be mapped
        read,  // read into memory (2 MiB pages for large files): see target_options::read_vmlinux. A sysfs
               // file is mapped all the same where it can be: the kernel serves it 4 KiB per read call
               // (/sys/kernel/btf/vmlinux: 1,348 calls).
    };
    // The whole file.
    [[nodiscard]] static result<mapped_file> open(const std::string& path, load how = load::map) {
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
        auto in_sysfs = [fd] {
            struct statfs fs {};
            return ::fstatfs(fd, &fs) == 0 && fs.f_type == SYSFS_MAGIC;
        };
        const bool sysfs = how != load::map && in_sysfs();  // mapped, and populated: kernel memory, cheap to map
        if (S_ISREG(st.st_mode) && size > 0 && (how != load::read || sysfs)) {
            // MAP_POPULATE: one call maps every page; faulting them in one by one costs far more.
            const int populate = how == load::map_halves && !sysfs ? 0 : MAP_POPULATE;
            void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | populate, fd, 0);
            if (p != MAP_FAILED) {
                f.map_ = p;
                f.size_ = size;
                ::close(fd);
                return f;
            }
        }
        // Read everything (fstat's size, where it is one, ends the read without a call to find the end).
        const status got = detail::read_fd_into(fd, f.buf_, size > 0 ? size : std::size_t{1} << 16,
                                                S_ISREG(st.st_mode) ? detail::known_end::size : detail::known_end::none, size);
        ::close(fd);
        if (!got) return got.error();
        f.size_ = f.buf_.size();
        return f;
    }

    [[nodiscard]] byte_span bytes() const noexcept {
        return {map_ ? static_cast<const char*>(map_) : buf_.data(), size_};
    }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] bool is_mapped() const noexcept { return map_ != nullptr; }

    void reset() noexcept {
        if (map_) ::munmap(map_, size_);
        map_ = nullptr;
        buf_ = {};
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
    byte_buffer buf_{};
};

// Reads a whole file into `buf`, which is resized to the file's length. Capacity is kept between
// calls and never zero-filled, so one buffer reused over thousands of module files stays cheap.
inline status read_file_into(const std::string& path, byte_buffer& buf) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return error(errc::io, "cannot open file").got(static_cast<std::uint64_t>(errno));
    struct stat st {};
    std::size_t want = 1 << 16, size = 0;
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
        size = static_cast<std::size_t>(st.st_size);
        want = size + 1;  // room to see the end of a file that grew (or whose size is a guess)
    }
    const status r = detail::read_fd_into(fd, buf, want, detail::known_end::size, size);
    ::close(fd);
    return r;
}

// Opens the files of one directory relative to it (openat on the directory held open), so the
// kernel walks the directory's path once rather than once per file: for thousands of module files.
// Paths elsewhere, or all of them where the directory cannot be opened, open as they are.
class directory_opener {
public:
    directory_opener() noexcept = default;
    // Holds `paths`' directory open if they all name files directly in the same one.
    explicit directory_opener(std::span<const std::string> paths) {
        if (paths.empty()) return;
        const std::size_t slash = paths[0].rfind('/');
        if (slash == std::string::npos || slash == 0) return;
        const std::string_view dir = std::string_view(paths[0]).substr(0, slash + 1);
        for (const auto& p : paths) {
            if (!p.starts_with(dir) || p.find('/', dir.size()) != std::string::npos || p.size() == dir.size()) return;
        }
        dir_ = dir;
        fd_ = ::open(dir_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    }
    directory_opener(const directory_opener&) = delete;
    directory_opener& operator=(const directory_opener&) = delete;
    directory_opener(directory_opener&& o) noexcept : fd_(std::exchange(o.fd_, -1)), dir_(std::move(o.dir_)) {}
    directory_opener& operator=(directory_opener&& o) noexcept {
        if (this != &o) {
            if (fd_ >= 0) ::close(fd_);
            fd_ = std::exchange(o.fd_, -1);
            dir_ = std::move(o.dir_);
        }
        return *this;
    }
    ~directory_opener() {
        if (fd_ >= 0) ::close(fd_);
    }
    // A read-only fd for `path` (one of the paths given, or any other), or -1 with errno set.
    [[nodiscard]] int open(const std::string& path) const noexcept {
        if (fd_ >= 0 && path.size() > dir_.size() && path.starts_with(dir_) && path.find('/', dir_.size()) == std::string::npos) {
            return ::openat(fd_, path.c_str() + dir_.size(), O_RDONLY | O_CLOEXEC);
        }
        return ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    }

private:
    int fd_ = -1;
    std::string dir_{};  // the directory's path with its '/'
};

// Module BTF of a file: raw BTF (sysfs, extracted) as is, or the .BTF section of a .ko. A raw BTF
// file is read with no fstat (its header says its length); `dir` opens the file if given.
inline status read_btf_into(const std::string& path, byte_buffer& buf, const directory_opener* dir = nullptr) {
    const int fd = dir != nullptr ? dir->open(path) : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return error(errc::io, "cannot open file").got(static_cast<std::uint64_t>(errno));
    const status r = detail::read_fd_into(fd, buf, std::size_t{1} << 16, detail::known_end::btf_header);
    ::close(fd);
    BTFKIT_TRY(r);
    auto b = find_btf(byte_span(buf.data(), buf.size()));
    if (!b) return b.error();
    if (b->data() != buf.data()) {
        const std::size_t off = static_cast<std::size_t>(b->data() - buf.data()), len = b->size();
        std::memmove(buf.data(), buf.data() + off, len);
        buf.resize(len);
    }
    return {};
}

// The names of the files in a directory, sorted (a stable order for module search).
inline result<std::vector<std::string>> list_directory(const std::string& dir) {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return error(errc::io, "cannot open directory").got(static_cast<std::uint64_t>(errno));
    std::vector<std::string> names;
    while (const dirent* e = ::readdir(d)) {
        if (e->d_name[0] == '.') continue;
        names.emplace_back(e->d_name);
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    return names;
}

// Adds what identifies a file's contents to a key: its path, size, modification time and inode
// (for sysfs files, the time the kernel created them). A file that cannot be stat'ed adds its errno.
inline void add_file_identity(index_key& k, const std::string& path) {
    k.add(path);
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        k.add(~std::uint64_t{0}).add(static_cast<std::uint64_t>(errno));
        return;
    }
    k.add(static_cast<std::uint64_t>(st.st_size)).add(static_cast<std::uint64_t>(st.st_ino));
    k.add(static_cast<std::uint64_t>(st.st_mtim.tv_sec) * 1'000'000'000ull + static_cast<std::uint64_t>(st.st_mtim.tv_nsec));
}

// Writes `bytes` to `path` atomically (a temporary file beside it, then rename), creating missing
// parent directories.
inline status write_file_atomic(const std::string& path, byte_span bytes) {
    for (std::size_t slash = path.find('/', 1); slash != std::string::npos; slash = path.find('/', slash + 1)) {
        (void)::mkdir(path.substr(0, slash).c_str(), 0755);  // EEXIST is fine; a real failure shows at open
    }
    const std::string tmp = path + ".tmp." + std::to_string(::getpid());
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return error(errc::io, "cannot create file").got(static_cast<std::uint64_t>(errno)).about(path);
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const int e = errno;
            ::close(fd);
            ::unlink(tmp.c_str());
            return error(errc::io, "cannot write file").got(static_cast<std::uint64_t>(e)).about(path);
        }
        done += static_cast<std::size_t>(n);
    }
    if (::close(fd) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
        const int e = errno;
        ::unlink(tmp.c_str());
        return error(errc::io, "cannot replace file").got(static_cast<std::uint64_t>(e)).about(path);
    }
    return {};
}

}  // namespace btfkit
