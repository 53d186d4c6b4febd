// libbpf-cdump: libbpf's own btf_dump of chosen root types, the oracle for `btfkit dump --types`.
//   libbpf-cdump FILE [--base BASE] ID...
// Prints what btf_dump__dump_type writes for each ID in turn (one btf_dump, so a type written for an
// earlier root is not written again), without bpftool's preamble. FILE is raw BTF or ELF.
#include <bpf/btf.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {
void print(void*, const char* fmt, va_list args) { std::vfprintf(stdout, fmt, args); }
}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: libbpf-cdump FILE [--base BASE] ID...\n");
        return 2;
    }
    const char* file = argv[1];
    const char* base_path = nullptr;
    std::vector<unsigned> ids;
    for (int i = 2; i < argc; ++i) {
        if (std::strcmp(argv[i], "--base") == 0 && i + 1 < argc) base_path = argv[++i];
        else ids.push_back(static_cast<unsigned>(std::strtoul(argv[i], nullptr, 10)));
    }
    struct btf* base = nullptr;
    if (base_path != nullptr) {
        base = btf__parse(base_path, nullptr);
        if (base == nullptr) { std::fprintf(stderr, "libbpf-cdump: %s: %s\n", base_path, std::strerror(errno)); return 1; }
    }
    struct btf* b = btf__parse_split(file, base);
    if (b == nullptr) { std::fprintf(stderr, "libbpf-cdump: %s: %s\n", file, std::strerror(errno)); return 1; }
    struct btf_dump* d = btf_dump__new(b, print, nullptr, nullptr);
    if (d == nullptr) return 1;
    for (const unsigned id : ids) {
        if (btf_dump__dump_type(d, id) != 0) { std::fprintf(stderr, "libbpf-cdump: type %u failed\n", id); return 1; }
    }
    btf_dump__free(d);
    btf__free(b);
    btf__free(base);
    return std::fflush(stdout) == 0 ? 0 : 1;
}
