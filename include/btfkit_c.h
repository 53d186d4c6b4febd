/* btfkit's C entry point: CO-RE relocation of one ELF section's instructions, for loaders written in
 * C. Header-only in the stb style: include it anywhere from C11 or C++; in exactly one C++20
 * translation unit, define BTFKIT_C_IMPLEMENTATION before including it (that unit needs btfkit's
 * include/ directory). docs/embedding.md says more. */
#ifndef BTFKIT_C_H
#define BTFKIT_C_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct btfkit_targets btfkit_targets;

/* The upper 32 bits of a TYPE_ID_TARGET ldimm64 whose type lives in a module BTF. */
enum btfkit_fd_encoding {
    BTFKIT_FD_ENCODING_NONE = 0, /* 0, as libbpf writes it */
    BTFKIT_FD_ENCODING_FD = 1,   /* the module's BTF fd (the running kernel's; owned by the targets) */
    BTFKIT_FD_ENCODING_ID = 2    /* the module's BTF object id */
};

/* Whose CO-RE rules where libbpf releases differ (docs/extensions.md). */
enum btfkit_libbpf_compat {
    BTFKIT_LIBBPF_1_1 = 0,
    BTFKIT_LIBBPF_1_7 = 1 /* the default */
};

struct btfkit_options {
    enum btfkit_fd_encoding fd_encoding;     /* default BTFKIT_FD_ENCODING_FD */
    enum btfkit_libbpf_compat libbpf_compat; /* default BTFKIT_LIBBPF_1_7 */
    int fwd_matching; /* nonzero (default): a local FWD also matches a target STRUCT/UNION */
};

/* The defaults, as btfkit_targets_open sets them. */
void btfkit_options_init(struct btfkit_options *o);

/* NULL paths: the running kernel (sysfs vmlinux + modules); else a vmlinux BTF/ELF file and an
   optional directory of module BTF/.ko files. On failure returns NULL and writes a message. */
btfkit_targets *btfkit_targets_open(const char *vmlinux, const char *modules_dir, char *err, size_t errlen);
void btfkit_targets_close(btfkit_targets *t);

/* Options for the relocations that follow; 0, or -EINVAL for a value out of range. */
int btfkit_targets_set_options(btfkit_targets *t, const struct btfkit_options *o);

/* Applies the CO-RE relocations recorded in .BTF.ext for section `sec` to `insns` (8-byte BPF
   instructions of that whole section) in place. Returns the number of relocations applied, or a
   negative errno with a message. Poisoned relocations count as applied, as in libbpf. */
int btfkit_relocate_section(btfkit_targets *t, const void *btf, size_t btf_len,
                            const void *btf_ext, size_t btf_ext_len, const char *sec,
                            void *insns, size_t insn_cnt, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* BTFKIT_C_H */

#if defined(BTFKIT_C_IMPLEMENTATION) && !defined(BTFKIT_C_IMPLEMENTED)
#define BTFKIT_C_IMPLEMENTED
#ifndef __cplusplus
#error "BTFKIT_C_IMPLEMENTATION needs a C++20 translation unit"
#endif

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "btfkit/core/relocate.hpp"
#include "btfkit/kernel.hpp"

struct btfkit_targets {
    std::unique_ptr<btfkit::file_targets> files;
    btfkit::relocate_options options;
    btfkit::relocation_scratch scratch;
};

namespace btfkit::c_api {

inline void write_message(char *err, size_t errlen, const std::string &m) noexcept {
    if (err == nullptr || errlen == 0) return;
    const size_t n = m.size() < errlen - 1 ? m.size() : errlen - 1;
    for (size_t i = 0; i < n; ++i) err[i] = m[i];
    err[n] = '\0';
}

[[nodiscard]] inline int errno_of(errc c) noexcept {
    switch (c) {
    case errc::io: return -EIO;
    case errc::not_found: return -ENOENT;
    case errc::unsupported: return -EOPNOTSUPP;
    default: return -EINVAL;
    }
}

[[nodiscard]] inline relocate_options defaults() noexcept {
    relocate_options o;
    o.skip_non_autoload = false;   // the caller asked for this section
    o.stop_at_first_error = true;  // as libbpf: the first failing relocation fails the section
    return o;
}

}  // namespace btfkit::c_api

extern "C" void btfkit_options_init(struct btfkit_options *o) {
    if (o == nullptr) return;
    o->fd_encoding = BTFKIT_FD_ENCODING_FD;
    o->libbpf_compat = BTFKIT_LIBBPF_1_7;
    o->fwd_matching = 1;
}

extern "C" btfkit_targets *btfkit_targets_open(const char *vmlinux, const char *modules_dir, char *err, size_t errlen) {
    namespace bk = btfkit;
    try {
        bk::result<std::unique_ptr<bk::file_targets>> files = bk::error(bk::errc::unsupported, "unreached");
        if (vmlinux == nullptr) {
            files = bk::file_targets::running_kernel();
        } else {
            bk::target_options o;
            o.kernel = std::string_view(vmlinux) == std::string(bk::kernel_btf_dir) + "/vmlinux";
            if (modules_dir != nullptr) o.module_dirs.emplace_back(modules_dir);
            files = bk::file_targets::open(vmlinux, {}, o);
        }
        if (!files) {
            bk::c_api::write_message(err, errlen, files.error().message());
            return nullptr;
        }
        auto *t = new btfkit_targets{std::move(*files), bk::c_api::defaults(), {}};
        return t;
    } catch (const std::bad_alloc &) {
        bk::c_api::write_message(err, errlen, "out of memory");
        return nullptr;
    }
}

extern "C" void btfkit_targets_close(btfkit_targets *t) { delete t; }

extern "C" int btfkit_targets_set_options(btfkit_targets *t, const struct btfkit_options *o) {
    namespace bk = btfkit;
    if (t == nullptr || o == nullptr) return -EINVAL;
    bk::relocate_options r = bk::c_api::defaults();
    switch (o->fd_encoding) {
    case BTFKIT_FD_ENCODING_NONE: r.encoding = bk::fd_encoding::none; break;
    case BTFKIT_FD_ENCODING_FD: r.encoding = bk::fd_encoding::btf_fd; break;
    case BTFKIT_FD_ENCODING_ID: r.encoding = bk::fd_encoding::btf_id; break;
    default: return -EINVAL;
    }
    switch (o->libbpf_compat) {
    case BTFKIT_LIBBPF_1_1: r.compat = bk::libbpf_compat::v1_1; break;
    case BTFKIT_LIBBPF_1_7: r.compat = bk::libbpf_compat::v1_7; break;
    default: return -EINVAL;
    }
    r.fwd_extension = o->fwd_matching != 0;
    t->options = r;
    return 0;
}

extern "C" int btfkit_relocate_section(btfkit_targets *t, const void *btf, size_t btf_len, const void *btf_ext, size_t btf_ext_len,
                                       const char *sec, void *insns, size_t insn_cnt, char *err, size_t errlen) {
    namespace bk = btfkit;
    if (t == nullptr || sec == nullptr || (btf == nullptr && btf_len != 0) || (btf_ext == nullptr && btf_ext_len != 0) ||
        (insns == nullptr && insn_cnt != 0) || insn_cnt > (~size_t{0}) / bk::insn_const::insn_size) {
        bk::c_api::write_message(err, errlen, "btfkit_relocate_section: bad arguments");
        return -EINVAL;
    }
    try {
        const bk::byte_span btf_bytes(static_cast<const char *>(btf), btf_len);
        const bk::byte_span ext_bytes(static_cast<const char *>(btf_ext), btf_ext_len);
        const std::span<char> code(static_cast<char *>(insns), insn_cnt * bk::insn_const::insn_size);
        bk::error first{};
        bool failed = false;
        auto sum = bk::relocate_section(sec, code, btf_bytes, ext_bytes, t->files->targets(), t->scratch, t->options,
                                        [&](const bk::relocation_report &r) {
                                            if (r.outcome != bk::relo_outcome::error || failed) return;
                                            failed = true;
                                            first = r.err;
                                            char where[64];
                                            std::snprintf(where, sizeof where, " (insn #%u, relo #%u)", r.insn, r.relo_index);
                                            bk::c_api::write_message(err, errlen, "section " + std::string(r.section) + where + ": " + r.err.message());
                                        });
        if (!sum) {
            bk::c_api::write_message(err, errlen, sum.error().message());
            return bk::c_api::errno_of(sum.error().code);
        }
        if (failed) return bk::c_api::errno_of(first.code);
        const std::uint32_t applied = sum->ok + sum->poisoned;
        return applied > 0x7fffffffu ? 0x7fffffff : static_cast<int>(applied);
    } catch (const std::bad_alloc &) {
        bk::c_api::write_message(err, errlen, "out of memory");
        return -ENOMEM;
    }
}

#endif /* BTFKIT_C_IMPLEMENTATION */
