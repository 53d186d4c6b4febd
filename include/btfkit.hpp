// btfkit: header-only BTF, BPF ELF and CO-RE relocation. The OS-facing part is btfkit/kernel.hpp.
#pragma once

#include "btfkit/bytes.hpp"
#include "btfkit/error.hpp"
#include "btfkit/btf.hpp"
#include "btfkit/elf.hpp"
#include "btfkit/bpf_object.hpp"
#include "btfkit/relo_rules.hpp"
#include "btfkit/relocate.hpp"
#include "btfkit/candidates.hpp"
#include "btfkit/index_cache.hpp"
#include "btfkit/dump.hpp"
