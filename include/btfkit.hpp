// btfkit: header-only BTF, BPF ELF and CO-RE relocation. Every header here is OS-free; the
// OS-facing part (files, the running kernel, bpf()) is btfkit/kernel.hpp.
#pragma once

#include "btfkit/bytes.hpp"
#include "btfkit/error.hpp"
#include "btfkit/memory.hpp"
#include "btfkit/format/btf.hpp"
#include "btfkit/format/elf.hpp"
#include "btfkit/format/bpf_object.hpp"
#include "btfkit/format/dump.hpp"
#include "btfkit/write/c_names.hpp"
#include "btfkit/write/c_sort.hpp"
#include "btfkit/write/c_decl.hpp"
#include "btfkit/write/c_header.hpp"
#include "btfkit/core/relo_rules.hpp"
#include "btfkit/core/spec.hpp"
#include "btfkit/core/match.hpp"
#include "btfkit/core/calc.hpp"
#include "btfkit/core/relocate.hpp"
#include "btfkit/candidates.hpp"
#include "btfkit/index_cache.hpp"
