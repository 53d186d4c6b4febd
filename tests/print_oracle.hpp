// The kernel as an oracle for format_value: tests/oracle/snprintf_btf.bpf.o, loaded with btfkit's own
// ELF view and sys::prog_load, runs bpf_snprintf_btf() over bytes placed in an array map (test side only).
#pragma once

#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "btfkit/format/bpf_object.hpp"
#include "btfkit/kernel.hpp"
#include "btfkit/show/format_value.hpp"

namespace print_oracle {

typedef std::uint32_t __u32;
typedef std::int64_t __s64;
typedef std::uint64_t __u64;
#include "oracle/snprintf_btf.h"

inline constexpr std::size_t out_size = ORACLE_OUT_SIZE;
inline constexpr std::size_t in_size = ORACLE_IN_SIZE;

struct answer {
    long ret = 0;          // the helper's return: the full length, or -errno
    std::string text;      // what it wrote, up to the NUL
};

class kernel_printer {
public:
    // Loads the program and creates its map; `why` says what failed (then the test skips).
    static std::unique_ptr<kernel_printer> open(const std::string& object_path, std::string& why) {
        auto p = std::unique_ptr<kernel_printer>(new kernel_printer());
        auto file = btfkit::mapped_file::open(object_path);
        if (!file) { why = "cannot open " + object_path; return nullptr; }
        auto obj = btfkit::bpf_object::parse(file->bytes());
        if (!obj) { why = obj.error().message(); return nullptr; }
        std::vector<char> insns;
        (void)obj->for_each_program([&](const btfkit::program& prog) {
            if (prog.name != "snprintf_btf_oracle") return;
            const btfkit::elf_section s = obj->file().section(prog.section_index);
            const char* at = file->bytes().data() + s.offset + std::size_t{prog.first_insn} * 8;
            insns.assign(at, at + std::size_t{prog.insn_count} * 8);
        });
        if (insns.empty()) { why = "no program snprintf_btf_oracle in " + object_path; return nullptr; }

        union bpf_attr a;
        std::memset(&a, 0, sizeof(a));
        a.map_type = BPF_MAP_TYPE_ARRAY;
        a.key_size = 4;
        a.value_size = sizeof(oracle_value);
        a.max_entries = 1;
        const long map = btfkit::sys::bpf(BPF_MAP_CREATE, &a, sizeof(a));
        if (map < 0) { why = "BPF_MAP_CREATE: " + std::string(std::strerror(errno)); return nullptr; }
        p->map_fd_ = static_cast<int>(map);

        // The program's one 64-bit immediate is the map's address: make it the map's fd.
        int patched = 0;
        for (std::size_t i = 0; i + 16 <= insns.size(); i += 8) {
            if (static_cast<unsigned char>(insns[i]) != (BPF_LD | BPF_IMM | BPF_DW)) continue;
            insns[i + 1] = static_cast<char>((static_cast<unsigned char>(insns[i + 1]) & 0x0f) | (BPF_PSEUDO_MAP_FD << 4));
            const auto fd = static_cast<std::uint32_t>(p->map_fd_);
            for (int k = 0; k < 4; ++k) insns[i + 4 + static_cast<std::size_t>(k)] = static_cast<char>((fd >> (8 * k)) & 0xff);
            ++patched;
            i += 8;
        }
        if (patched != 1) { why = "expected one map reference in the oracle program"; return nullptr; }
        std::vector<char> log(1 << 16);
        const int fd = btfkit::sys::prog_load(BPF_PROG_TYPE_RAW_TRACEPOINT, insns, "GPL", log, "snprintf_oracle");
        if (fd < 0) { why = "BPF_PROG_LOAD: " + std::string(std::strerror(-fd)) + "\n" + log.data(); return nullptr; }
        p->prog_fd_ = fd;
        p->value_ = std::make_unique<oracle_value>();
        return p;
    }
    ~kernel_printer() {
        if (prog_fd_ >= 0) ::close(prog_fd_);
        if (map_fd_ >= 0) ::close(map_fd_);
    }
    kernel_printer(const kernel_printer&) = delete;
    kernel_printer& operator=(const kernel_printer&) = delete;

    // bpf_snprintf_btf(out, str_size, {bytes, type_id}, flags) on vmlinux BTF. The caller must have
    // refused what crashes the kernel (format_value's checks do: VAR, DATASEC, chains ending in void).
    answer print(std::uint32_t type_id, std::string_view bytes, std::uint64_t flags, std::uint32_t str_size) {
        oracle_value& v = *value_;
        v.type_id = type_id;
        v.str_size = str_size;
        v.flags = flags;
        v.ret = -99999;
        std::memset(v.out, 0, sizeof(v.out));
        std::memset(v.in, 0, sizeof(v.in));
        std::memcpy(v.in, bytes.data(), bytes.size() < sizeof(v.in) ? bytes.size() : sizeof(v.in));
        answer r;
        if (!map_call(BPF_MAP_UPDATE_ELEM)) { r.ret = -errno; r.text = "map update failed"; return r; }
        union bpf_attr a;
        std::memset(&a, 0, sizeof(a));
        a.test.prog_fd = static_cast<std::uint32_t>(prog_fd_);
        // raw_tp test runs take no repeat count, no data and no context here
        if (btfkit::sys::bpf(BPF_PROG_TEST_RUN, &a, sizeof(a)) != 0) { r.ret = -errno; r.text = "test run failed"; return r; }
        if (!map_call(BPF_MAP_LOOKUP_ELEM)) { r.ret = -errno; r.text = "map lookup failed"; return r; }
        r.ret = static_cast<long>(v.ret);
        r.text.assign(v.out, ::strnlen(v.out, sizeof(v.out)));
        return r;
    }

private:
    kernel_printer() = default;
    bool map_call(int cmd) {
        union bpf_attr a;
        std::memset(&a, 0, sizeof(a));
        std::uint32_t key = 0;
        a.map_fd = static_cast<std::uint32_t>(map_fd_);
        a.key = btfkit::sys::user_ptr(&key);
        a.value = btfkit::sys::user_ptr(value_.get());
        return btfkit::sys::bpf(cmd, &a, sizeof(a)) == 0;
    }
    int map_fd_ = -1;
    int prog_fd_ = -1;
    std::unique_ptr<oracle_value> value_;
};

}  // namespace print_oracle
