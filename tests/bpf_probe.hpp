// Whether this process may load BPF programs at all, for the tests that need bpf().
#pragma once

#include <unistd.h>

#include <span>

#include "btfkit/os/bpf.hpp"

namespace btfkit::testing {

// A trivial socket filter (r0 = 0; exit): whether this process may load BPF programs at all.
inline int probe_prog_load() {
    const char insns[16] = {static_cast<char>(0xb7), 0, 0, 0, 0, 0, 0, 0, static_cast<char>(0x95), 0, 0, 0, 0, 0, 0, 0};
    const int fd = sys::prog_load(BPF_PROG_TYPE_SOCKET_FILTER, std::span<const char>(insns, sizeof(insns)), "GPL");
    if (fd >= 0) ::close(fd);
    return fd < 0 ? fd : 0;
}

}  // namespace btfkit::testing
