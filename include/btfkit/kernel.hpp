// The only OS-facing header: mapped files, the running kernel's BTF files, and bpf() syscalls.
#pragma once

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <linux/bpf.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <algorithm>
#include <atomic>
#include <dirent.h>
#include <fstream>
#include <vector>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

#include "format/bpf_object.hpp"
#include "format/btf.hpp"
#include "bytes.hpp"
#include "memory.hpp"
#include "candidates.hpp"
#include "error.hpp"
#include "index_cache.hpp"
#include "os/module_name.hpp"

namespace btfkit {

namespace detail {
// Fresh memory for n bytes at p (see big_allocator): each whole 2 MiB of it (2 MiB-aligned by
// big_allocator, which passes its huge blocks whole) is marked for transparent huge pages, to take one
// fault per 2 MiB on first touch instead of 512; the rest (a block under 2 MiB) is populated in one
// madvise call instead of one fault per page. The huge part is not populated: that would hold the process's
// mmap lock while it zeroes megabytes, stalling any other thread's mmap (a helper's first
// allocation waited ~1.5 ms for vmlinux's buffer), while a fault takes only its region's lock.
inline void os_prefault(void* p, std::size_t n) noexcept {
#ifdef MADV_POPULATE_WRITE
    constexpr std::size_t page = 4096, huge = huge_block_bytes;
    const auto a = std::bit_cast<std::uintptr_t>(p);
    const std::uintptr_t lo = (a + page - 1) & ~(page - 1), hi = (a + n) & ~(page - 1);
    std::uintptr_t hlo = (a + huge - 1) & ~(huge - 1), hhi = (a + n) & ~(huge - 1);
    if (hhi > hlo) {
        (void)::madvise(std::bit_cast<void*>(hlo), hhi - hlo, MADV_HUGEPAGE);
    } else {
        hlo = hhi = lo;
    }
    if (hlo > lo) (void)::madvise(std::bit_cast<void*>(lo), hlo - lo, MADV_POPULATE_WRITE);
    if (hi > hhi) (void)::madvise(std::bit_cast<void*>(hhi), hi - hhi, MADV_POPULATE_WRITE);
#else
    (void)p;
    (void)n;
#endif
}
inline const bool prefault_installed = (prefault_hook = &os_prefault, true);

// Maps in the pages of [p, p + n) of a file mapping (see populate_hook); where it cannot, the pages
// are faulted in when read.
inline void os_populate_read(const void* p, std::size_t n) noexcept {
#ifdef MADV_POPULATE_READ
    constexpr std::uintptr_t page = 4096;
    const auto a = std::bit_cast<std::uintptr_t>(p);
    const std::uintptr_t lo = a & ~(page - 1), hi = (a + n + page - 1) & ~(page - 1);
    if (n != 0) (void)::madvise(std::bit_cast<void*>(lo), hi - lo, MADV_POPULATE_READ);
#else
    (void)p;
    (void)n;
#endif
}
inline const bool populate_installed = (populate_hook = &os_populate_read, true);

// Some VMs' kernels keep a new thread on its creator's vCPU until the creator sleeps, sparing the
// wake-up of an idle vCPU (this one's `sched_vcpu_pack`): a helper meant to run beside its creator
// then starts ~1.5 ms late, when the creator's share is done. So a helper starts pinned to another
// allowed CPU, and once running it may go anywhere the process may (the main thread's affinity).
inline void os_place_helper(std::thread& t) noexcept {
    cpu_set_t allowed;
    const int here = ::sched_getcpu();
    if (here < 0 || ::sched_getaffinity(0, sizeof(allowed), &allowed) != 0) return;
    for (int step = 1; step < CPU_SETSIZE; ++step) {  // the next allowed CPU after this one
        const int c = (here + step) % CPU_SETSIZE;
        if (!CPU_ISSET(c, &allowed)) continue;
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(c, &one);
        (void)::pthread_setaffinity_np(t.native_handle(), sizeof(one), &one);
        return;
    }
}
inline void os_helper_placed() noexcept {
    cpu_set_t allowed;
    if (::sched_getaffinity(::getpid(), sizeof(allowed), &allowed) == 0) (void)::sched_setaffinity(0, sizeof(allowed), &allowed);
}
inline const bool helper_hooks_installed = (helper_hooks = {&os_place_helper, &os_helper_placed}, true);
}  // namespace detail

namespace detail {
// Reads `fd` to its end into `buf` (resized to the length read; capacity kept, never zero-filled).
// `size`, if not 0, is what fstat said of a regular file: reading that much ends it without asking
// for more (one read call instead of two for a module file). Sizes of whole pages are not trusted:
// pseudo files (sysfs attributes) may report 4096 whatever they hold.
inline status read_fd_into(int fd, byte_buffer& buf, std::size_t hint, std::size_t size = 0) {
    buf.resize(std::max(buf.capacity(), hint));
    std::size_t len = 0;
    if (size % 4096 == 0) size = 0;
    while (size == 0 || len != size) {
        if (len == buf.size()) buf.resize(buf.size() * 2);
        const ssize_t n = ::read(fd, buf.data() + len, buf.size() - len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return error(errc::io, "cannot read file").got(static_cast<std::uint64_t>(errno));
        }
        if (n == 0) break;
        len += static_cast<std::size_t>(n);
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
        const status got = detail::read_fd_into(fd, f.buf_, size > 0 ? size : std::size_t{1} << 16, S_ISREG(st.st_mode) ? size : 0);
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
    const status r = detail::read_fd_into(fd, buf, want, size);
    ::close(fd);
    return r;
}

// Module BTF of a file: raw BTF (sysfs, extracted) as is, or the .BTF section of a .ko.
inline status read_btf_into(const std::string& path, byte_buffer& buf) {
    BTFKIT_TRY(read_file_into(path, buf));
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

// Kernel BTF objects by name, from bpf(): name -> BTF object id. Opens each object's fd briefly.
inline result<std::vector<std::pair<std::string, std::uint32_t>>> kernel_btf_ids() {
    std::vector<std::pair<std::string, std::uint32_t>> out;
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
        if (info.kernel_btf) out.emplace_back(info.name, id);
    }
    return out;
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

// How file_targets opens its targets.
struct target_options {
    // The running kernel's BTF: TYPE_ID_TARGET's module fds/ids come from bpf().
    bool kernel = false;
    // A file for the name indexes (index_cache.hpp), "" for none. When it matches the files (path,
    // size, mtime and inode of vmlinux and every module, in order), it is mapped and used: no module
    // is read until a lookup hits it. Otherwise the indexes are built as usual and the file is
    // (re)written, once for vmlinux at open and again when the module index is built.
    std::string index_cache{};
    // Read vmlinux into memory instead of mapping it. For a short-lived process on a machine where the
    // first touch of each mapped 4 KiB page is costly (a VM with shadow paging): the bytes land in
    // 2 MiB pages, and parsing and lookups then run faster than over the mapping (`btfkit` does this).
    // Not for sysfs files, which are still mapped (see mapped_file::load::read).
    // Costs the file's size in heap; a long-lived loader keeps the default and shares the page cache.
    bool read_vmlinux = false;
    // Names the caller will look up (essential names are taken): prefetched at open (target_set::
    // prefetch). Without an index cache, the pass over the modules starts on a second thread before
    // vmlinux is read, walking modules while vmlinux is read and parsed (name_pass).
    std::vector<std::string> prefetch{};
};

// Targets read from files or from the running kernel, owning their bytes and the module fds it opened.
class file_targets {
public:
    file_targets() = default;
    file_targets(const file_targets&) = delete;
    file_targets& operator=(const file_targets&) = delete;
    ~file_targets() {
        for (int fd : opened_fds_) ::close(fd);
    }

    // vmlinux BTF from a file (raw or ELF); `modules` are files (raw BTF or .ko), searched in order.
    [[nodiscard]] static result<std::unique_ptr<file_targets>> open(const std::string& vmlinux_path,
                                                                    const std::vector<std::string>& module_paths,
                                                                    bool kernel = false) {
        target_options o;
        o.kernel = kernel;
        return open(vmlinux_path, module_paths, o);
    }
    [[nodiscard]] static result<std::unique_ptr<file_targets>> open(const std::string& vmlinux_path,
                                                                    const std::vector<std::string>& module_paths,
                                                                    const target_options& o) {
        const bool kernel = o.kernel;
        auto t = std::unique_ptr<file_targets>(new file_targets());
        // With an index cache, the files' identities (one stat each: ~3 us, 13 ms for 4,000 modules on
        // a VM) are taken on a second thread while vmlinux is parsed, and on this one after it.
        identity_job ids(o.index_cache.empty() ? std::span<const std::string>{} : std::span<const std::string>(module_paths));
        file_targets* self = t.get();
        t->paths_ = module_paths;
        auto load = [self](std::uint32_t m, byte_buffer& buf) { return read_btf_into(self->paths_[m - 1], buf); };
        std::vector<std::string_view> wanted;
        for (const auto& n : o.prefetch) wanted.push_back(essential_name(n));
        std::unique_ptr<name_pass> pass;  // modules walked while vmlinux is read and parsed
        if (!wanted.empty() && o.index_cache.empty() && !module_paths.empty()) {
            pass = std::make_unique<name_pass>(wanted, static_cast<std::uint32_t>(module_paths.size()), load);
            pass->start();
        }
        // Mapped by halves on the parse's two threads, unless one of them is walking modules.
        const auto how = o.read_vmlinux ? mapped_file::load::read : pass ? mapped_file::load::map : mapped_file::load::map_halves;
        auto f = mapped_file::open(vmlinux_path, how);
        if (!f) return f.error().about(vmlinux_path);
        t->vmlinux_file_ = std::move(*f);
        auto raw = find_btf(t->vmlinux_file_.bytes());
        if (!raw) return raw.error().about(vmlinux_path);
        if (pass) {
            if (auto strings = base_strings::of(*raw)) pass->base_strings_known(*strings);  // else parse says why
        }
        // On two threads, unless the second one is walking modules already; without an index cache,
        // each thread also hashes the names of its half for vmlinux's name index.
        named_hashes hashes;
        auto b = pass ? btf::parse(*raw)
                      : parse_two_threads(*raw, nullptr, nullptr, o.index_cache.empty() ? &hashes : nullptr, how == mapped_file::load::map_halves);
        if (!b) return b.error().about(vmlinux_path);
        t->vmlinux_ = std::make_unique<btf>(std::move(*b));
        if (pass) pass->base_parsed(*t->vmlinux_);
        // vmlinux's name index: from the cache, or built by the first lookup that needs it (from the
        // hashes just taken: inserts only), and names given to prefetch first need none.
        t->set_ = std::make_unique<target_set>(*t->vmlinux_, false);
        t->set_->keep_vmlinux_hashes(std::move(hashes));
        t->kernel_ = kernel;
        for (const auto& p : module_paths) t->set_->add_module(module_name_of(p));
        t->set_->set_loader(load);
        if (kernel) {
            t->set_->set_upper_resolver([self](std::uint32_t m, fd_encoding enc) { return self->kernel_upper(m, enc); });
        }
        if (!o.index_cache.empty()) t->use_index_cache(vmlinux_path, o.index_cache, ids.finish());
        if (pass) {
            BTFKIT_TRY(t->set_->adopt(*pass));
        } else if (!wanted.empty()) {
            BTFKIT_TRY(t->set_->prefetch(wanted));
        }
        return t;
    }

    // The running kernel: /sys/kernel/btf/vmlinux and every module file beside it, in load order
    // (reverse /proc/modules, which matches the order of kernel BTF ids that libbpf walks).
    // `o.kernel` is set here.
    [[nodiscard]] static result<std::unique_ptr<file_targets>> running_kernel(const std::string& dir = "/sys/kernel/btf",
                                                                              target_options o = {}) {
        auto names = list_directory(dir);
        if (!names) return names.error().about(dir);
        std::vector<std::string> order;
        {
            std::ifstream pm("/proc/modules");
            std::string line;
            while (std::getline(pm, line)) order.push_back(line.substr(0, line.find(' ')));
            std::reverse(order.begin(), order.end());
        }
        std::vector<std::string> mods;
        for (const auto& n : order) {
            if (std::binary_search(names->begin(), names->end(), n)) mods.push_back(dir + "/" + n);
        }
        for (const auto& n : *names) {  // modules /proc/modules did not list, if any
            if (n == "vmlinux" || std::find(order.begin(), order.end(), n) != order.end()) continue;
            mods.push_back(dir + "/" + n);
        }
        o.kernel = true;
        return open(dir + "/vmlinux", mods, o);
    }

    [[nodiscard]] target_set& targets() noexcept { return *set_; }
    [[nodiscard]] const target_set& targets() const noexcept { return *set_; }
    [[nodiscard]] const btf& vmlinux() const noexcept { return *vmlinux_; }
    [[nodiscard]] bool is_kernel() const noexcept { return kernel_; }
    // Whether the indexes came from the index cache file (false: built here, and the file rewritten).
    [[nodiscard]] bool index_cache_hit() const noexcept { return cache_hit_; }
    // Why the cache file was not used or not written, if it was not ("" otherwise).
    [[nodiscard]] const std::string& index_cache_note() const noexcept { return cache_note_; }

    // "foo.ko", "foo.ko.xz", "/sys/kernel/btf/foo" -> "foo" (dashes become underscores, as the kernel names them).
    [[nodiscard]] static std::string module_name_of(const std::string& path) { return btfkit::module_name_of(path); }

private:
    // The identities of a list of files, as one key. A second thread (started at construction) takes
    // them in blocks while the caller parses vmlinux; then the caller takes blocks too, until none is
    // left. Each file's identity has its own slot, so the key does not depend on who took which.
    class identity_job {
    public:
        explicit identity_job(std::span<const std::string> paths) : paths_(paths), ids_(paths.size()) {
            if (!paths.empty()) (void)worker_.start([this] { take_all(); });  // no thread: all in finish()
        }
        identity_job(const identity_job&) = delete;
        identity_job& operator=(const identity_job&) = delete;
        [[nodiscard]] std::uint64_t finish() {
            take_all();
            worker_.join();
            index_key k;
            k.add(paths_.size());
            for (const std::uint64_t id : ids_) k.add(id);
            return k.value();
        }

    private:
        static constexpr std::size_t block = 16;
        void take_all() {
            for (std::size_t i = next_.fetch_add(block); i < paths_.size(); i = next_.fetch_add(block)) {
                for (std::size_t j = i; j < std::min(paths_.size(), i + block); ++j) {
                    index_key k;
                    add_file_identity(k, paths_[j]);
                    ids_[j] = k.value();
                }
            }
        }
        std::span<const std::string> paths_;
        std::vector<std::uint64_t> ids_;
        std::atomic<std::size_t> next_{0};
        detail::helper_thread worker_{};
    };

    void use_index_cache(const std::string& vmlinux_path, const std::string& cache, std::uint64_t modules_key) {
        index_key k;
        add_file_identity(k, vmlinux_path);
        k.add(vmlinux_->own_count()).add(modules_key);
        const std::uint64_t key = k.value();
        auto save = [this, key, cache](const target_set& s) {
            auto img = index_cache::save(s, key);
            const status st = img ? write_file_atomic(cache, byte_span(img->data(), img->size())) : status(img.error());
            if (!st) cache_note_ = st.error().about(cache).message();
        };
        if (auto f = mapped_file::open(cache)) {
            if (status st = index_cache::load(*set_, f->bytes(), key)) {
                cache_file_ = std::move(*f);
                cache_hit_ = true;
                // An image saved before any module lookup holds vmlinux's index only: add the module
                // index when it gets built.
                if (!paths_.empty() && !set_->module_index_ready()) set_->set_index_listener(save);
                return;
            } else {
                cache_note_ = st.error().about(cache).message();
            }
        } else if (!(f.error().code == errc::io && f.error().where.value == ENOENT)) {  // none yet: no note
            cache_note_ = f.error().about(cache).message();
        }
        set_->build_vmlinux_index();
        save(*set_);
        if (!paths_.empty()) set_->set_index_listener(save);
    }

    result<std::uint32_t> kernel_upper(std::uint32_t m, fd_encoding enc) {
        if (!ids_loaded_) {
            auto ids = kernel_btf_ids();
            if (!ids) return ids.error();
            ids_ = std::move(*ids);
            ids_loaded_ = true;
        }
        const std::string_view name = set_->target_name(m);
        for (const auto& [n, id] : ids_) {
            if (n != name) continue;
            if (enc == fd_encoding::btf_id) return id;
            const int fd = sys::btf_get_fd_by_id(id);
            if (fd < 0) return error(errc::io, "BPF_BTF_GET_FD_BY_ID failed").got(static_cast<std::uint64_t>(-fd)).about(name);
            opened_fds_.push_back(fd);
            return static_cast<std::uint32_t>(fd);
        }
        return error(errc::not_found, "module has no kernel BTF object").about(name);
    }

    mapped_file vmlinux_file_{};
    mapped_file cache_file_{};  // the index cache the target set borrows from
    bool cache_hit_ = false;
    std::string cache_note_{};
    std::unique_ptr<btf> vmlinux_{};
    std::unique_ptr<target_set> set_{};
    std::vector<std::string> paths_{};
    bool kernel_ = false;
    bool ids_loaded_ = false;
    std::vector<std::pair<std::string, std::uint32_t>> ids_{};
    std::vector<int> opened_fds_{};
};

}  // namespace btfkit
