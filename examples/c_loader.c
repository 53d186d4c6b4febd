/* A C loader's side of CO-RE with btfkit (btfkit_c.h): libelf finds .BTF, .BTF.ext and the program
 * sections, btfkit_relocate_section relocates each section's instructions in place, and the object is
 * written back with only those bytes changed. C11; the implementation is one C++ file
 * (c_loader_impl.cpp).
 *
 *   c_loader VMLINUX|- MODULES_DIR|- OBJECT OUT [--fd-encoding none|fd|id] [--libbpf-compat 1.1|1.7] [--no-fwd] [--autoload-only]
 *
 * VMLINUX "-" is the running kernel. Every program section is relocated, SEC("?...") ones too, unless
 * --autoload-only (as libbpf loads by default). Prints "SECTION: N relocated" per section with records. */
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "btfkit_c.h"

static int fail(const char *what, const char *detail) {
    fprintf(stderr, "c_loader: %s: %s\n", what, detail);
    return 1;
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;
    if (f == NULL) return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc(n > 0 ? (size_t)n : 1);
        if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        *len = (size_t)n;
    }
    fclose(f);
    return buf;
}

/* The data of the section named `name`, or NULL. */
static Elf_Data *section_named(Elf *elf, size_t shstrndx, const char *name) {
    Elf_Scn *scn = NULL;
    while ((scn = elf_nextscn(elf, scn)) != NULL) {
        GElf_Shdr sh;
        const char *n;
        if (gelf_getshdr(scn, &sh) == NULL) continue;
        n = elf_strptr(elf, shstrndx, sh.sh_name);
        if (n != NULL && strcmp(n, name) == 0) return elf_getdata(scn, NULL);
    }
    return NULL;
}

static int parse_options(int argc, char **argv, struct btfkit_options *o, int *autoload_only) {
    int i;
    btfkit_options_init(o);
    for (i = 5; i < argc; ++i) {
        const char *v = i + 1 < argc ? argv[i + 1] : "";
        if (strcmp(argv[i], "--no-fwd") == 0) {
            o->fwd_matching = 0;
        } else if (strcmp(argv[i], "--autoload-only") == 0) {
            *autoload_only = 1;
        } else if (strcmp(argv[i], "--fd-encoding") == 0) {
            ++i;
            if (strcmp(v, "none") == 0) o->fd_encoding = BTFKIT_FD_ENCODING_NONE;
            else if (strcmp(v, "fd") == 0) o->fd_encoding = BTFKIT_FD_ENCODING_FD;
            else if (strcmp(v, "id") == 0) o->fd_encoding = BTFKIT_FD_ENCODING_ID;
            else return -1;
        } else if (strcmp(argv[i], "--libbpf-compat") == 0) {
            ++i;
            if (strcmp(v, "1.1") == 0) o->libbpf_compat = BTFKIT_LIBBPF_1_1;
            else if (strcmp(v, "1.7") == 0) o->libbpf_compat = BTFKIT_LIBBPF_1_7;
            else return -1;
        } else {
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    struct btfkit_options opts;
    char err[512];
    size_t len = 0, shstrndx;
    char *image;
    int fd, status = 0, autoload_only = 0;
    Elf *elf;
    Elf_Data *btf, *ext;
    Elf_Scn *scn = NULL;
    btfkit_targets *targets;
    FILE *out;

    if (argc < 5 || parse_options(argc, argv, &opts, &autoload_only) != 0) {
        fprintf(stderr, "usage: c_loader VMLINUX|- MODULES_DIR|- OBJECT OUT [--fd-encoding none|fd|id] [--libbpf-compat 1.1|1.7] [--no-fwd] [--autoload-only]\n");
        return 2;
    }
    targets = btfkit_targets_open(strcmp(argv[1], "-") == 0 ? NULL : argv[1], strcmp(argv[2], "-") == 0 ? NULL : argv[2], err, sizeof err);
    if (targets == NULL) return fail("cannot open the targets", err);
    if (btfkit_targets_set_options(targets, &opts) != 0) return fail("options", "out of range");

    /* The image to patch and write: the file's bytes. libelf reads its own copy, so section offsets
       are the file's and its section data stay as they were. */
    image = read_file(argv[3], &len);
    if (image == NULL) return fail(argv[3], "cannot read");
    if (elf_version(EV_CURRENT) == EV_NONE) return fail("libelf", elf_errmsg(-1));
    fd = open(argv[3], O_RDONLY);
    if (fd < 0) return fail(argv[3], "cannot open");
    elf = elf_begin(fd, ELF_C_READ, NULL);
    if (elf == NULL || elf_getshdrstrndx(elf, &shstrndx) != 0) return fail(argv[3], elf_errmsg(-1));
    btf = section_named(elf, shstrndx, ".BTF");
    ext = section_named(elf, shstrndx, ".BTF.ext");

    while (ext != NULL && (scn = elf_nextscn(elf, scn)) != NULL) {
        GElf_Shdr sh;
        const char *name;
        int n;
        if (gelf_getshdr(scn, &sh) == NULL || sh.sh_type != SHT_PROGBITS || !(sh.sh_flags & SHF_EXECINSTR)) continue;
        if (sh.sh_offset > len || sh.sh_size > len - sh.sh_offset) return fail(argv[3], "section past the end of the file");
        name = elf_strptr(elf, shstrndx, sh.sh_name);
        if (name == NULL || (autoload_only && name[0] == '?')) continue;
        n = btfkit_relocate_section(targets, btf ? btf->d_buf : NULL, btf ? btf->d_size : 0, ext->d_buf, ext->d_size, name,
                                    image + sh.sh_offset, sh.sh_size / 8, err, sizeof err);
        if (n < 0) {
            fprintf(stderr, "c_loader: %s: %s (%d)\n", argv[3], err, n);
            status = 1;
            break;
        }
        if (n > 0) printf("%s: %d relocated\n", name, n);
    }
    elf_end(elf);
    close(fd);
    btfkit_targets_close(targets);
    if (status == 0) {
        out = fopen(argv[4], "wb");
        if (out == NULL || fwrite(image, 1, len, out) != len || fclose(out) != 0) status = fail(argv[4], "cannot write");
    }
    free(image);
    return status;
}
