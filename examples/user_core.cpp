// User-space CO-RE: the kernel structs a program reads are described in C++; their local BTF and CO-RE
// records are built at compile time, and btfkit's CO-RE engine relocates the fields against the running
// kernel (or `--btf FILE`) at start-up. A program that receives raw kernel bytes (a struct a BPF program
// copied out with bpf_probe_read_kernel, say) then reads them with read_field at the kernel's offsets.
//
//   user_core [--btf FILE]
#include <cstdio>
#include <string>
#include <vector>

#include "btfkit/gen/user_core.hpp"
#include "btfkit/kernel.hpp"

namespace {

// What this program reads of the kernel's structs: names and integer sizes, nothing of their layout.
constexpr btfkit::user_field task_fields[] = {{"pid", 4, true}, {"tgid", 4, true}, {"flags", 4}, {"prio", 4, true}};
constexpr btfkit::user_field sock_common_fields[] = {{"skc_daddr", 4}, {"skc_rcv_saddr", 4}, {"skc_dport", 2}, {"skc_num", 2}};
constexpr btfkit::user_struct structs[] = {{"task_struct", task_fields}, {"sock_common", sock_common_fields}};

// The compile-time half, proved: the local BTF and records build in constant evaluation.
static_assert(btfkit::build_user_core(structs).has_value());

}  // namespace

int main(int argc, char** argv) {
    std::string btf_path;
    if (argc == 3 && std::string(argv[1]) == "--btf") btf_path = argv[2];
    else if (argc != 1) return std::fprintf(stderr, "usage: %s [--btf FILE]\n", argv[0]), 2;

    auto img = btfkit::build_user_core(structs);  // the same bytes the static_assert built
    if (!img) return std::fprintf(stderr, "%s\n", img.error().message().c_str()), 1;
    auto targets = btf_path.empty() ? btfkit::file_targets::running_kernel() : btfkit::file_targets::open(btf_path, {});
    if (!targets) return std::fprintf(stderr, "%s\n", targets.error().message().c_str()), 1;
    btfkit::relocation_scratch scratch;
    std::vector<btfkit::field_location> at;
    if (auto st = btfkit::relocate_user_core(*img, (*targets)->targets(), scratch, at); !st) {
        return std::fprintf(stderr, "%s\n", st.error().message().c_str()), 1;
    }
    std::size_t i = 0;
    for (const btfkit::user_struct& s : structs) {
        for (const btfkit::user_field& f : s.fields) {
            const btfkit::field_location& l = at[i++];
            if (!l.exists) {
                std::printf("struct %.*s.%.*s: not in this kernel\n", static_cast<int>(s.name.size()), s.name.data(),
                            static_cast<int>(f.name.size()), f.name.data());
                continue;
            }
            std::printf("struct %.*s.%.*s: offset %u, %u bytes, %s\n", static_cast<int>(s.name.size()), s.name.data(),
                        static_cast<int>(f.name.size()), f.name.data(), l.offset, l.size, l.is_signed ? "signed" : "unsigned");
        }
    }
    return 0;
}
