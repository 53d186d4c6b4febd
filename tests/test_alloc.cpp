// Relocation does not allocate once warm: the global allocator is counted around relocate_object and
// around relocate_section from raw .BTF/.BTF.ext bytes.
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

// Runs `relocate_all` (which returns how many relocations it made) once to warm the scratch up,
// `reset` to put the instructions back, and again, counting allocations: none.
template <class Run, class Reset>
void check_no_allocations_when_warm(std::size_t objects, const char* what, Run&& relocate_all, Reset&& reset) {
    if (objects == 0) {
        MESSAGE("no fixture or corpus objects");
        return;
    }
    relocate_all();
    reset();
    const std::size_t before = allocations.load();
    const std::uint32_t relocations = relocate_all();
    const std::size_t allocated = allocations.load() - before;
    MESSAGE(objects << " objects, " << relocations << " relocations " << what << ", " << allocated << " allocations");
    CHECK(relocations > 0);
    CHECK(allocated == 0);
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
    btfkit::relocation_scratch scratch;
    btfkit::target_set& targets = (*kernel)->targets();
    check_no_allocations_when_warm(
        objs.size(), "by object",
        [&] {
            std::uint32_t n = 0;
            for (auto& o : objs) {
                auto sum = btfkit::relocate_object(o.obj, std::span<char>(o.image.data(), o.image.size()), targets, scratch, {},
                                                   [](const btfkit::relocation_report&) {});
                REQUIRE(sum);
                n += sum->total;
            }
            return n;
        },
        [&] {
            for (auto& o : objs) o.image.assign(o.file.bytes().begin(), o.file.bytes().end());
        });
}

TEST_CASE("relocate_section from raw .BTF and .BTF.ext bytes allocates nothing once its scratch is warm") {
    auto kernel = btfkit::file_targets::open("/sys/kernel/btf/vmlinux", {});
    if (!kernel) {
        MESSAGE("no kernel BTF: " << kernel.error().message());
        return;
    }
    // Per object: its .BTF and .BTF.ext bytes and, per section with records, a copy of its instructions.
    struct section { std::string name; std::vector<char> original, insns; };
    struct raw_object { std::vector<char> bytes; btfkit::byte_span btf, ext; std::vector<section> sections; };
    std::vector<raw_object> objs;
    for (const auto& p : objects()) {
        auto f = btfkit::mapped_file::open(p);
        REQUIRE(f);
        raw_object ro{std::vector<char>(f->bytes().begin(), f->bytes().end()), {}, {}, {}};
        auto o = btfkit::bpf_object::parse(btfkit::byte_span(ro.bytes.data(), ro.bytes.size()));
        if (!o || !o->has_ext() || o->ext().core_relo_count() == 0) continue;
        const auto& e = o->file();
        ro.btf = e.section_data(*e.find_section(".BTF"));
        ro.ext = e.section_data(*e.find_section(".BTF.ext"));
        for (const auto block : o->ext().core_relos()) {
            const auto data = e.section_data(*e.find_section(block.section_name()));
            ro.sections.push_back({std::string(block.section_name()), {data.begin(), data.end()}, {data.begin(), data.end()}});
        }
        objs.push_back(std::move(ro));
    }
    btfkit::relocation_scratch scratch;
    btfkit::target_set& targets = (*kernel)->targets();
    check_no_allocations_when_warm(
        objs.size(), "by section",
        [&] {
            std::uint32_t n = 0;
            for (auto& o : objs) {
                for (auto& s : o.sections) {
                    auto sum = btfkit::relocate_section(s.name, std::span<char>(s.insns.data(), s.insns.size()), o.btf, o.ext, targets,
                                                        scratch, {}, [](const btfkit::relocation_report&) {});
                    REQUIRE(sum);
                    n += sum->total;
                }
            }
            return n;
        },
        [&] {
            for (auto& o : objs)
                for (auto& s : o.sections) s.insns = s.original;
        });
}
