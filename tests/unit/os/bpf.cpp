// os/bpf.hpp: the bpf() wrappers; kernel BTF objects enumerated, opened and named. Skips where
// bpf() is not permitted.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdint>

#include "bpf_probe.hpp"
#include "btfkit/kernel.hpp"
#include "btfkit/os/bpf.hpp"

namespace {

namespace bk = btfkit;
using btfkit::testing::probe_prog_load;

}  // namespace

TEST_CASE("kernel BTF objects are enumerated, opened and named through bpf(), as module fd encoding needs") {
    if (const int e = probe_prog_load(); e < 0) {
        MESSAGE("skipped: bpf() not permitted here (errno " << -e << ")");
        return;
    }
    // The first kernel BTF object is vmlinux's; modules follow when loaded.
    std::uint32_t vmlinux_id = 0, objects = 0;
    for (std::uint32_t id = 0, next = 0; bk::sys::btf_get_next_id(id, next) == 0; id = next) {
        if (vmlinux_id == 0) vmlinux_id = next;
        ++objects;
    }
    REQUIRE(vmlinux_id != 0);
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
    MESSAGE("BTF objects: " << objects << " (vmlinux id " << vmlinux_id << "), modules with BTF files: "
                                   << (*kernel)->targets().target_count() - 1);
}
