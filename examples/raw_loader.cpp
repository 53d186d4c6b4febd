// A loader without libbpf: relocate a BPF object's CO-RE sites with btfkit against the running
// kernel, then hand each program to the kernel with a raw bpf(BPF_PROG_LOAD) and print the verdict.
// Handles objects without maps, global data or bpf-to-bpf calls (enough for CO-RE probes).
#include <unistd.h>

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "btfkit.hpp"
#include "btfkit/kernel.hpp"
#include "btfkit/core/relocate.hpp"

namespace {

struct prog_kind {
    std::string_view prefix;
    std::uint32_t type;
};
constexpr prog_kind prog_kinds[] = {
    {"kprobe/", BPF_PROG_TYPE_KPROBE},        {"kretprobe/", BPF_PROG_TYPE_KPROBE},
    {"tracepoint/", BPF_PROG_TYPE_TRACEPOINT}, {"tp/", BPF_PROG_TYPE_TRACEPOINT},
    {"raw_tp/", BPF_PROG_TYPE_RAW_TRACEPOINT}, {"raw_tracepoint/", BPF_PROG_TYPE_RAW_TRACEPOINT},
    {"socket", BPF_PROG_TYPE_SOCKET_FILTER},   {"xdp", BPF_PROG_TYPE_XDP},
};

std::uint32_t prog_type_of(std::string_view section) {
    for (const auto& k : prog_kinds) {
        if (section.starts_with(k.prefix)) return k.type;
    }
    return BPF_PROG_TYPE_UNSPEC;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s OBJECT.bpf.o\n", argv[0]);
        return 2;
    }
    auto file = btfkit::mapped_file::open(argv[1]);
    if (!file) return std::fprintf(stderr, "%s: %s\n", argv[1], file.error().message().c_str()), 1;
    auto obj = btfkit::bpf_object::parse(file->bytes());
    if (!obj) return std::fprintf(stderr, "%s: %s\n", argv[1], obj.error().message().c_str()), 1;
    auto kernel = btfkit::file_targets::running_kernel();
    if (!kernel) return std::fprintf(stderr, "kernel BTF: %s\n", kernel.error().message().c_str()), 1;

    // CO-RE: patch a private copy of the object.
    std::vector<char> image(file->bytes().begin(), file->bytes().end());
    btfkit::relocation_scratch scratch;
    int relo_errors = 0;
    auto sum = btfkit::relocate_object(*obj, image, (*kernel)->targets(), scratch, {}, [&](const btfkit::relocation_report& r) {
        if (r.outcome == btfkit::relo_outcome::error) {
            ++relo_errors;
            std::fprintf(stderr, "relo #%u in %.*s: %s\n", r.relo_index, static_cast<int>(r.section.size()), r.section.data(), r.err.message().c_str());
        }
    });
    if (!sum) return std::fprintf(stderr, "%s: %s\n", argv[1], sum.error().message().c_str()), 1;
    std::printf("%s: %u CO-RE relocations (%u ok, %u poisoned, %u errors)\n", argv[1], sum->total, sum->ok, sum->poisoned, sum->errors);

    std::string license = "GPL";
    if (auto lic = obj->file().find_section("license")) {
        const auto d = obj->file().section_data(*lic);
        license.assign(d.data(), std::string_view(d.data(), d.size()).find('\0') == std::string_view::npos ? d.size() : std::string_view(d.data(), d.size()).find('\0'));
    }

    int failures = relo_errors;
    std::vector<char> log(1 << 20);
    (void)obj->for_each_program([&](const btfkit::program& p) {
        if (p.is_subprog) return;
        const std::uint32_t type = prog_type_of(p.section_name);
        if (type == BPF_PROG_TYPE_UNSPEC) {
            std::printf("  %.*s (%.*s): skipped, unknown program type\n", static_cast<int>(p.name.size()), p.name.data(),
                        static_cast<int>(p.section_name.size()), p.section_name.data());
            return;
        }
        const auto sec = obj->file().section(p.section_index);
        const std::span<const char> insns(image.data() + sec.offset + std::size_t{p.first_insn} * 8, std::size_t{p.insn_count} * 8);
        const int fd = btfkit::sys::prog_load(type, insns, license.c_str(), log, p.name);
        if (fd >= 0) {
            std::printf("  %.*s (%.*s): verifier accepted %u insns, fd %d\n", static_cast<int>(p.name.size()), p.name.data(),
                        static_cast<int>(p.section_name.size()), p.section_name.data(), p.insn_count, fd);
            ::close(fd);
        } else {
            ++failures;
            std::string_view l(log.data());
            if (l.size() > 2000) l = l.substr(l.size() - 2000);
            std::printf("  %.*s (%.*s): verifier rejected (errno %d)\n%.*s\n", static_cast<int>(p.name.size()), p.name.data(),
                        static_cast<int>(p.section_name.size()), p.section_name.data(), -fd, static_cast<int>(l.size()), l.data());
        }
    });
    return failures == 0 ? 0 : 1;
}
