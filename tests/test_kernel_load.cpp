// The example loader relocates kernel_core's CO-RE sites with btfkit and the running kernel's verifier
// accepts every program: the end-to-end proof that the patched instructions are right.
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "btfkit/format/bpf_object.hpp"
#include "btfkit/kernel.hpp"
#include "temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
namespace bk = btfkit;

// A trivial socket filter (r0 = 0; exit): whether this process may load BPF programs at all.
int probe_prog_load() {
    const char insns[16] = {static_cast<char>(0xb7), 0, 0, 0, 0, 0, 0, 0, static_cast<char>(0x95), 0, 0, 0, 0, 0, 0, 0};
    const int fd = bk::sys::prog_load(BPF_PROG_TYPE_SOCKET_FILTER, std::span<const char>(insns, sizeof(insns)), "GPL");
    if (fd >= 0) ::close(fd);
    return fd < 0 ? fd : 0;
}

struct run_output {
    int status = -1;
    std::string text;
};

run_output run_loader(const std::string& loader, const std::string& object) {
    const std::string cmd = "'" + loader + "' '" + object + "' 2>&1";
    run_output out;
    std::FILE* p = ::popen(cmd.c_str(), "r");
    REQUIRE_MESSAGE(p != nullptr, "cannot run " << cmd);
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.text.append(buf, n);
    const int st = ::pclose(p);
    out.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return out;
}

}  // namespace

TEST_CASE("kernel load: raw_loader relocates kernel_core.bpf.o and the verifier accepts every program") {
    const std::string loader = BTFKIT_RAW_LOADER;
    const std::string object = std::string(BTFKIT_FIXTURE_DIR) + "/kernel_core.bpf.o";
    if (loader.empty() || !fs::exists(loader)) {
        MESSAGE("skipping: the example loader is not built (configure with -Dexamples=true)");
        return;
    }
    if (!fs::exists(object)) {
        MESSAGE("skipping: " << object << " is not built");
        return;
    }
    if (!fs::exists("/sys/kernel/btf/vmlinux")) {
        MESSAGE("skipping: the running kernel has no BTF (/sys/kernel/btf/vmlinux)");
        return;
    }
    if (const int e = probe_prog_load(); e < 0) {
        MESSAGE("skipping: bpf(BPF_PROG_LOAD) is not permitted here (errno " << -e << ", euid " << ::geteuid() << ")");
        return;
    }

    // The programs the loader must report: every non-subprogram of the object.
    auto file = bk::mapped_file::open(object);
    REQUIRE(file.has_value());
    auto obj = bk::bpf_object::parse(file->bytes());
    REQUIRE_MESSAGE(obj.has_value(), obj.error().message());
    std::vector<std::string> programs;
    REQUIRE(obj->for_each_program([&](const bk::program& p) {
                   if (!p.is_subprog) programs.emplace_back(p.name);
               }).has_value());
    REQUIRE(programs.size() >= 3);  // kc_task, kc_types, kc_skb

    const run_output r = run_loader(loader, object);
    INFO("raw_loader output:\n" << r.text);
    CHECK(r.status == 0);
    CHECK(r.text.find("0 errors") != std::string::npos);
    for (const std::string& p : programs) {
        const std::string accepted = "  " + p + " (";
        const auto at = r.text.find(accepted);
        CHECK_MESSAGE(at != std::string::npos, p << ": not reported");
        if (at == std::string::npos) continue;
        const std::string_view line = std::string_view(r.text).substr(at, r.text.find('\n', at) - at);
        CHECK_MESSAGE(line.find("verifier accepted") != std::string_view::npos, p << ": " << line);
    }
    CHECK(r.text.find("verifier rejected") == std::string::npos);
    CHECK(r.text.find("skipped") == std::string::npos);
    MESSAGE("kernel_core: " << programs.size() << " programs accepted by the verifier");
}

TEST_CASE("kernel BTF objects are enumerated, opened and named through bpf(), as module fd encoding needs") {
    if (const int e = probe_prog_load(); e < 0) {
        MESSAGE("skipped: bpf() not permitted here (errno " << -e << ")");
        return;
    }
    auto ids = bk::kernel_btf::list();
    REQUIRE_MESSAGE(ids.has_value(), ids.error().message());
    std::uint32_t vmlinux_id = 0;
    for (const auto& obj : ids->objects()) {
        if (obj.name == "vmlinux") vmlinux_id = obj.id;
    }
    REQUIRE(vmlinux_id != 0);  // every kernel with BTF has it; modules follow when loaded
    const int fd = bk::sys::btf_get_fd_by_id(vmlinux_id);
    REQUIRE(fd >= 0);
    bk::sys::btf_object_info info;
    CHECK(bk::sys::btf_get_info(fd, info) == 0);
    CHECK(info.id == vmlinux_id);
    CHECK(info.kernel_btf);
    CHECK(info.name == "vmlinux");
    ::close(fd);
    // The running kernel as a target: its module files (if any) are registered, vmlinux types give upper 0.
    auto kernel = bk::file_targets::running_kernel();
    REQUIRE_MESSAGE(kernel.has_value(), kernel.error().message());
    CHECK((*kernel)->targets().upper_bits(0, bk::fd_encoding::btf_fd).value_or(99) == 0);
    MESSAGE("kernel BTF objects: " << ids->objects().size() << " (vmlinux id " << vmlinux_id << "), modules with BTF files: "
                                   << (*kernel)->targets().target_count() - 1);
}

// An error from running_kernel(dir) owns its text: it names the files the call built from `dir` after
// those strings are gone (the sanitizer builds read freed memory if it borrowed them).
TEST_CASE("running_kernel: the error for a directory without vmlinux outlives the call") {
    bk::error e;
    {
        const bk::testing::temp_dir tmp("btfkit-no-vmlinux");
        std::string dir = tmp.path.string();
        auto k = bk::file_targets::running_kernel(dir);
        REQUIRE_FALSE(k.has_value());
        e = k.error();
        dir.assign(dir.size(), 'x');  // the caller's string changes and goes
    }
    const std::string m = e.message();
    MESSAGE(m);
    CHECK(m.find("btfkit-no-vmlinux") != std::string::npos);
    CHECK(m.find("/vmlinux") != std::string::npos);
    CHECK(e.code == bk::errc::io);
    // And a missing directory names the directory.
    std::string missing = "/nonexistent-btfkit-dir";
    auto r = bk::file_targets::running_kernel(missing);
    missing.clear();
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().message().find("/nonexistent-btfkit-dir") != std::string::npos);
}
