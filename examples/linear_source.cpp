// Relocates BPF objects through example::linear_source, a candidate source of one's own (libbpf's
// linear search), with btfkit's relocation: `linear_source VMLINUX MODULES_DIR OBJECT...`.
#include <cstdio>
#include <string>
#include <vector>

#include "linear_source.hpp"

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: linear_source VMLINUX MODULES_DIR OBJECT...\n");
        return 2;
    }
    std::vector<std::string> modules;
    if (auto names = btfkit::list_directory(argv[2])) {
        for (const auto& n : *names) modules.push_back(std::string(argv[2]) + "/" + n);
    }
    auto source = example::linear_source::open(argv[1], std::move(modules));
    if (!source) {
        std::fprintf(stderr, "linear_source: %s\n", source.error().message().c_str());
        return 1;
    }
    btfkit::relocation_scratch scratch;
    int status = 0;
    for (int i = 3; i < argc; ++i) {
        auto file = btfkit::mapped_file::open(argv[i]);
        auto obj = file ? btfkit::bpf_object::parse(file->bytes()) : btfkit::result<btfkit::bpf_object>(file.error());
        if (!obj) {
            std::fprintf(stderr, "linear_source: %s: %s\n", argv[i], obj.error().message().c_str());
            status = 1;
            continue;
        }
        std::vector<char> image(file->bytes().begin(), file->bytes().end());
        auto sum = btfkit::relocate_object(*obj, std::span<char>(image.data(), image.size()), *source, scratch, {},
                                           [](const btfkit::relocation_report&) {});
        if (!sum) {
            std::fprintf(stderr, "linear_source: %s: %s\n", argv[i], sum.error().message().c_str());
            status = 1;
            continue;
        }
        std::printf("%s: %u relocations: %u ok, %u poisoned, %u errors\n", argv[i], sum->total, sum->ok, sum->poisoned, sum->errors);
    }
    std::printf("modules %s\n", source->modules_loaded() ? "read (vmlinux lacked a candidate)" : "not read");
    return status;
}
