// Written BTF against its oracles: bpftool dumps what btf_builder writes as it dumps the source, and
// the running kernel's BTF loader gives the written BTF the verdict it gives the source.
#include <doctest/doctest.h>

#include <sys/syscall.h>
#include <unistd.h>

#include <linux/bpf.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "btfkit.hpp"
#include "btfkit/kernel.hpp"
#include "btf_rebuild.hpp"
#include "temp_dir.hpp"

namespace {

using namespace btfkit;
namespace fs = std::filesystem;

const fs::path corpus = BTFKIT_CORPUS_DIR;

std::vector<char> read_bytes(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}
void write_bytes(const fs::path& p, const std::vector<char>& data) {
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f.write(data.data(), static_cast<std::streamsize>(data.size()));
    REQUIRE(f.good());
}
byte_span span_of(const std::vector<char>& v) { return {v.data(), v.size()}; }

// bpftool's raw dump of a BTF file ("" and a failed check if it fails).
std::string bpftool_dump(const fs::path& file, const fs::path& base, const fs::path& out) {
    std::string cmd = "bpftool btf dump file '" + file.string() + "'";
    if (!base.empty()) cmd += " --base-btf '" + base.string() + "'";
    cmd += " > '" + out.string() + "' 2>&1";
    const int rc = std::system(cmd.c_str());
    const auto bytes = read_bytes(out);
    CHECK_MESSAGE(rc == 0, cmd << ": " << std::string(bytes.begin(), bytes.end()).substr(0, 500));
    return {bytes.begin(), bytes.end()};
}

bool have_bpftool() { return std::system("bpftool version > /dev/null 2>&1") == 0; }

// The running kernel's verdict on loading `data` as BTF: 0 or -errno.
int kernel_btf_load(const std::vector<char>& data) {
    union bpf_attr a;
    std::memset(&a, 0, sizeof(a));
    a.btf = sys::user_ptr(data.data());
    a.btf_size = static_cast<std::uint32_t>(data.size());
    const long fd = sys::bpf(BPF_BTF_LOAD, &a, sizeof(a));
    if (fd < 0) return -errno;
    ::close(static_cast<int>(fd));
    return 0;
}

// `src` rebuilt through the typed adds, strings in first-use order (so not the source's bytes).
std::vector<char> rewritten(const btf& src, const btf* base, byte_order order) {
    btf_builder b = base != nullptr ? btf_builder(*base) : btf_builder(order);
    testing::rebuild(src, b);
    auto bytes = b.encode(order);
    REQUIRE_MESSAGE(bytes, bytes.error().message());
    return std::move(*bytes);
}

}  // namespace

TEST_CASE("oracles: bpftool dumps written BTF as it dumps the source; the kernel loads it as it loads the source") {
    if (!have_bpftool()) {
        MESSAGE("bpftool not installed: skipped");
        return;
    }
    testing::temp_dir dir("btfkit-test-btf-write");
    std::size_t dumped = 0, loaded = 0, refused = 0;
    const bool kernel = ::geteuid() == 0 && fs::exists("/sys/kernel/btf/vmlinux");
    // Base BTFs in both byte orders (bpftool reads either).
    std::vector<fs::path> bases;
    if (fs::exists(corpus / "vmlinux")) bases.push_back(corpus / "vmlinux");
    if (fs::exists("/sys/kernel/btf/vmlinux")) bases.push_back("/sys/kernel/btf/vmlinux");
    for (const fs::path& p : bases) {
        const auto bytes = read_bytes(p);
        const auto src = btf::parse(span_of(bytes));
        REQUIRE(src);
        const std::string want = bpftool_dump(p, {}, dir.path / "want.txt");
        for (const byte_order order : {byte_order::little, byte_order::big}) {
            const auto out = rewritten(*src, nullptr, order);
            write_bytes(dir.path / "out.btf", out);
            CHECK_MESSAGE(bpftool_dump(dir.path / "out.btf", {}, dir.path / "got.txt") == want, p.string());
            ++dumped;
        }
    }
    // Debian modules whose rewrite is not their own bytes (strings in another order), over their base.
    if (fs::exists(corpus / "vmlinux")) {
        const auto vbytes = read_bytes(corpus / "vmlinux");
        const auto vmlinux = btf::parse(span_of(vbytes));
        REQUIRE(vmlinux);
        const auto index = string_index::of(*vmlinux);
        std::vector<fs::path> modules;
        for (const auto& e : fs::directory_iterator(corpus / "modules")) modules.push_back(e.path());
        std::sort(modules.begin(), modules.end());
        std::size_t checked = 0;
        for (const fs::path& m : modules) {
            const auto bytes = read_bytes(m);
            const auto mod = btf::parse(span_of(bytes), &*vmlinux);
            REQUIRE(mod);
            btf_builder b(*vmlinux, &index);
            testing::rebuild(*mod, b);
            const auto out = b.encode();
            REQUIRE(out);
            if (*out == bytes) continue;
            write_bytes(dir.path / "mod.btf", *out);
            CHECK_MESSAGE(bpftool_dump(dir.path / "mod.btf", corpus / "vmlinux", dir.path / "got.txt") ==
                              bpftool_dump(m, corpus / "vmlinux", dir.path / "want.txt"), m.filename().string());
            ++dumped;
            if (++checked == 12) break;
        }
        CHECK(checked == 12);
    }
    // Every libbpf-tools object's .BTF, in both orders; the kernel loads the native one as it loads the source.
    if (fs::exists(corpus / "bpf")) {
        for (const auto& e : fs::directory_iterator(corpus / "bpf")) {
            const auto bytes = read_bytes(e.path());
            const auto raw = find_btf(span_of(bytes));
            REQUIRE(raw);
            const auto src = btf::parse(*raw);
            REQUIRE(src);
            const std::string want = bpftool_dump(e.path(), {}, dir.path / "want.txt");
            for (const byte_order order : {byte_order::little, byte_order::big}) {
                const auto out = rewritten(*src, nullptr, order);
                write_bytes(dir.path / "obj.btf", out);
                CHECK_MESSAGE(bpftool_dump(dir.path / "obj.btf", {}, dir.path / "got.txt") == want, e.path().filename().string());
                ++dumped;
                if (kernel && order == native_order) {
                    const std::vector<char> original(raw->begin(), raw->end());
                    const int verdict = kernel_btf_load(original);
                    CHECK_MESSAGE(kernel_btf_load(out) == verdict, e.path().filename().string() << ": kernel verdict " << verdict);
                    (verdict == 0 ? loaded : refused) += 1;
                }
            }
        }
    }
    // The running kernel's own BTF, rewritten, through the kernel's BTF checker.
    if (kernel) {
        const auto bytes = read_bytes("/sys/kernel/btf/vmlinux");
        const auto src = btf::parse(span_of(bytes));
        REQUIRE(src);
        const int verdict = kernel_btf_load(bytes);
        CHECK(kernel_btf_load(rewritten(*src, nullptr, native_order)) == verdict);
        loaded += verdict == 0 ? 1 : 0;
        MESSAGE("the kernel's verdict on its own BTF as a loaded BTF: " << verdict);
    }
    MESSAGE(dumped << " written BTFs dumped by bpftool as their sources; " << loaded << " loaded by the kernel as their sources, "
                   << refused << " refused with the sources' errno");
}
