// Relocation does not allocate once warm: the global allocator is counted around relocate_object.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <new>
#include <string>
#include <vector>

#include "btfkit.hpp"
#include "btfkit/kernel.hpp"

#include "count_allocations.hpp"

using btfkit::testing::allocations;

namespace {

struct loaded_object {
    btfkit::mapped_file file;
    btfkit::bpf_object obj;
    std::vector<char> image;
};

std::vector<std::string> objects() {
    std::vector<std::string> out;
    for (const char* dir : {BTFKIT_FIXTURE_DIR, BTFKIT_CORPUS_DIR "/bpf"}) {
        std::error_code ec;
        for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
            const std::string p = e.path().string();
            if (p.ends_with(".bpf.o") && p.find(".be.") == std::string::npos && p.find(".t1.") == std::string::npos &&
                p.find(".t2.") == std::string::npos) {
                out.push_back(p);
            }
        }
    }
    return out;
}

}  // namespace

TEST_CASE("relocate_object allocates nothing per relocation once its scratch is warm") {
    auto kernel = btfkit::file_targets::open("/sys/kernel/btf/vmlinux", {});
    if (!kernel) {
        MESSAGE("no kernel BTF: " << kernel.error().message());
        return;
    }
    std::vector<loaded_object> objs;
    for (const auto& p : objects()) {
        auto f = btfkit::mapped_file::open(p);
        REQUIRE(f);
        auto o = btfkit::bpf_object::parse(f->bytes());
        if (!o || !o->has_ext()) continue;
        loaded_object lo{std::move(*f), std::move(*o), {}};
        lo.image.assign(lo.file.bytes().begin(), lo.file.bytes().end());
        objs.push_back(std::move(lo));
    }
    if (objs.empty()) {
        MESSAGE("no fixture or corpus objects");
        return;
    }
    btfkit::relocation_scratch scratch;
    btfkit::target_set& targets = (*kernel)->targets();
    std::uint32_t relocations = 0;
    auto run_all = [&] {
        relocations = 0;
        for (auto& o : objs) {
            auto sum = btfkit::relocate_object(o.obj, std::span<char>(o.image.data(), o.image.size()), targets, scratch, {},
                                               [](const btfkit::relocation_report&) {});
            REQUIRE(sum);
            relocations += sum->total;
        }
    };
    run_all();  // warm-up: scratch grows to the largest object
    for (auto& o : objs) o.image.assign(o.file.bytes().begin(), o.file.bytes().end());
    const std::size_t before = allocations.load();
    run_all();
    const std::size_t after = allocations.load();
    MESSAGE(objs.size() << " objects, " << relocations << " relocations, " << (after - before) << " allocations");
    CHECK(relocations > 0);
    CHECK(after - before == 0);
}
