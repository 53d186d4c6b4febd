// libFuzzer target: arbitrary bytes as an index cache image (index_cache.hpp), loaded into a target set
// of a real base BTF (fuzz/targets/vmlinux-core.btf) and four split modules built here (one corrupt);
// then every name is looked up, as a type and as a symbol (the image holds both spaces' indexes).
// Invariants: a load that fails leaves the set usable; a damaged image may lose candidates but never
// invents one (every answer is one the set gives without a cache).
//
// Input: one mode byte, then the image. Mode bit 0 rewrites the image's key and checksum to the
// expected ones before loading, so that mutations get past the checksum to the shape checks; bit 1
// starts from the valid image and XORs the input into it (the fuzzer then steers single fields); bit 2
// prefetches every name's modules before the lookups; bit 3 leaves the vmlinux index unbuilt after a
// failed load, for the first lookup to build or, with bit 2, for prefetch's one pass over vmlinux and
// the modules (no module index: a failed load leaves none) to make unnecessary.
// `BTFKIT_FUZZ_WRITE_SEEDS=DIR fuzz_index_cache` writes seed inputs (the valid image in each mode).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "blob_builder.hpp"
#include "btfkit.hpp"
#include "btfkit/targets/index_cache.hpp"

namespace {

namespace bk = btfkit;
namespace bt = btfkit::testing;

[[noreturn]] void violated(const char* what) {
    std::fprintf(stderr, "btfkit invariant violated: %s\n", what);
    std::abort();
}

std::vector<char> read_all(const char* path) {
    std::vector<char> out;
    if (FILE* f = std::fopen(path, "rb")) {
        char buf[65536];
        while (const std::size_t n = std::fread(buf, 1, sizeof(buf), f)) out.insert(out.end(), buf, buf + n);
        std::fclose(f);
    }
    return out;
}

constexpr std::uint64_t key = 0x0123456789abcdefull;

struct env {
    std::vector<char> base_bytes;
    std::unique_ptr<bk::btf> base;
    std::vector<std::vector<char>> modules;  // split BTF over base; the last one is corrupt
    std::vector<std::string> names;
    std::vector<std::string> expected;       // "name target id" of every answer without a cache
    bk::byte_buffer image;                   // the valid image

    env() {
        base_bytes = read_all(BTFKIT_FUZZ_TARGETS_DIR "/vmlinux-core.btf");
        auto b = bk::btf::parse(bk::byte_span(base_bytes.data(), base_bytes.size()));
        if (!b) violated("fuzz/targets/vmlinux-core.btf does not parse");
        base = std::make_unique<bk::btf>(std::move(*b));
        const std::uint32_t base_strings = base->strings_size();
        for (int m = 0; m < 3; ++m) {
            bt::blob_builder mb(bk::byte_order::little, base->type_count(), base_strings);
            const std::uint32_t i32 = mb.add_int("int", 4, 1);
            mb.add_struct("shared", 8, false, {{"a", i32, 0, 0}, {"b", i32, 32, 0}});
            mb.add_struct("only_" + std::to_string(m), 4, false, {{"x", i32, 0, 0}});
            mb.add_enum("mode_" + std::to_string(m % 2), 4, false, {{"ZERO", 0}, {"ONE", 1}});
            mb.add_ref(bk::kind::typedef_, "shared___v" + std::to_string(m), i32);
            mb.add_fwd("task_struct", false);
            const std::uint32_t proto = mb.add_func_proto(i32, {{"x", i32}});
            mb.add_ref(bk::kind::func, "shared_fn", proto, 1);
            mb.add_ref(bk::kind::func, "only_fn_" + std::to_string(m), proto, 0);
            mb.add_var("shared", i32, 1);
            modules.emplace_back(mb.bytes().begin(), mb.bytes().end());
        }
        modules.emplace_back(std::vector<char>{'n', 'o', 't', ' ', 'B', 'T', 'F'});
        names = {"shared", "only_0", "only_1", "only_2", "mode_0", "mode_1", "task_struct", "int", "list_head", "absent",
                 "shared_fn", "only_fn_1", "shared___v1"};
        bk::target_set ref(*base);
        setup(ref);
        if (!ref.build_module_index()) violated("reference index");
        ref.build_vmlinux_index(bk::name_space::symbols);
        if (!ref.build_module_index(bk::name_space::symbols)) violated("reference symbols index");
        expected = answers(ref);
        auto img = bk::index_cache::save(ref, key);
        if (!img) violated("save failed");
        image = std::move(*img);
    }

    void setup(bk::target_set& s) const {
        for (std::size_t i = 0; i < modules.size(); ++i) s.add_module("m" + std::to_string(i));
        s.set_loader([this](std::uint32_t m, bk::byte_buffer& buf) -> bk::status {
            const auto& src = modules[m - 1];
            buf.assign(src.begin(), src.end());
            return {};
        });
    }

    std::vector<std::string> answers(bk::target_set& s) const {
        std::vector<std::string> out;
        std::vector<bk::candidate> found;
        for (const bk::name_space sp : {bk::name_space::types, bk::name_space::symbols}) {
            for (const auto& n : names) {
                found.clear();
                if (!s.find(n, found, sp)) violated("find failed");
                for (const auto& c : found) out.push_back(n + " " + std::to_string(c.target) + " " + std::to_string(c.id));
            }
        }
        return out;
    }
};

const env& the_env() {
    static const env e;
    return e;
}

void put64(bk::byte_buffer& b, std::size_t at, std::uint64_t v) {
    if (b.size() >= at + 8) bk::detail::store(b.data() + at, v, bk::byte_order::little);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    const env& e = the_env();
    if (const char* dir = std::getenv("BTFKIT_FUZZ_WRITE_SEEDS")) {
        for (const unsigned mode : {0u, 1u, 2u, 5u, 6u, 12u, 14u}) {
            const std::string path = std::string(dir) + "/image-mode" + std::to_string(mode);
            FILE* f = std::fopen(path.c_str(), "wb");
            if (f == nullptr) violated("cannot write a seed");
            const char m = static_cast<char>(mode);
            std::fwrite(&m, 1, 1, f);
            if ((mode & 2) != 0) {  // XOR mode: zeros reproduce the valid image
                const std::vector<char> zeros(e.image.size(), 0);
                std::fwrite(zeros.data(), 1, zeros.size(), f);
            } else {
                std::fwrite(e.image.data(), 1, e.image.size(), f);
            }
            std::fclose(f);
        }
        std::exit(0);
    }
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const env& e = the_env();
    const unsigned mode = data[0];
    bk::byte_buffer img;
    if ((mode & 2) != 0) {
        img = e.image;
        for (std::size_t i = 1; i < size && i - 1 < img.size(); ++i) img[i - 1] = static_cast<char>(img[i - 1] ^ static_cast<char>(data[i]));
    } else {
        img.assign(reinterpret_cast<const char*>(data) + 1, reinterpret_cast<const char*>(data) + size);
    }
    if ((mode & 1) != 0 && img.size() >= 64) {
        put64(img, 16, key);
        put64(img, 56, bk::detail::index_checksum(img.data() + 64, img.size() - 64));
    }
    bk::target_set s(*e.base, false);
    e.setup(s);
    const bk::status st = bk::index_cache::load(s, bk::byte_span(img.data(), img.size()), key);
    if (!st) {
        if (st.error().message().find("index cache") == std::string::npos) violated("a load error does not name the index cache");
        if ((mode & 8) == 0) s.build_vmlinux_index();  // else the first lookup (or prefetch's one pass) does
    }
    if ((mode & 4) != 0) {  // open the modules the names hit first, as btfkit find does
        const std::vector<std::string_view> names(e.names.begin(), e.names.end());
        if (!s.prefetch(names) || !s.prefetch(names, bk::name_space::symbols)) violated("prefetch failed");
    }
    const std::vector<std::string> got = e.answers(s);
    if (!st && got != e.expected) violated("after a failed load, answers differ from the reference");
    for (const auto& g : got) {
        bool known = false;
        for (const auto& x : e.expected) known |= x == g;
        if (!known) violated("a candidate the reference does not have");
    }
    if (img.size() == e.image.size() && std::equal(img.begin(), img.end(), e.image.begin()) && (!st || got != e.expected)) {
        violated("the valid image does not load or answers differently");
    }
    return 0;
}
