// The OS-facing part of btfkit: files, the running kernel's BTF, bpf(), and the OS tuning a caller
// may turn on. Including it changes nothing in how the other headers behave.
#pragma once

#include "os/bpf.hpp"
#include "os/file_targets.hpp"
#include "os/files.hpp"
#include "os/filter_functions.hpp"
#include "os/kallsyms.hpp"
#include "os/kernel_btf.hpp"
#include "os/tuning.hpp"
