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
#include "bpf_probe.hpp"

namespace {

namespace fs = std::filesystem;
namespace bk = btfkit;
using btfkit::testing::probe_prog_load;

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
