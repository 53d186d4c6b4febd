// Final objects (`relocate -o/--out-dir`, write/final_object.hpp): CO-RE records dropped from .BTF.ext
// with func and line info kept, so that stock loaders take the relocated instructions as they are:
// libbpf 1.1 and 1.7 (bpf_object__open/load) and bpftool prog loadall load them into the running
// kernel without relocating again, and load what btfkit wrote.
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "../tools/json.hpp"
#include "btfkit/core/relocate.hpp"
#include "btfkit/kernel.hpp"
#include "btfkit/write/final_object.hpp"
#include "core_object.hpp"
#include "json_reader.hpp"
#include "parsed.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
namespace bk = btfkit;
namespace bt = btfkit::testing;

const fs::path fixture_dir{BTFKIT_FIXTURE_DIR};
const fs::path corpus_dir{BTFKIT_CORPUS_DIR};

using bt::parse_object;
using bt::read_bytes;

using btfkit::cli::hex_bytes;

// Instructions as hex with what a loader fills in per load left out: map fds and values in ldimm64
// (src 1, 2, 5, 6), and the targets of bpf-to-bpf calls (src 1) and of function pointers (ldimm64 src 4).
std::string masked(std::string_view hexed) {
    std::string s(hexed);
    for (std::size_t at = 0; at + 16 <= s.size(); at += 16) {
        const unsigned code = static_cast<unsigned>(std::stoul(s.substr(at, 2), nullptr, 16));
        const unsigned src = static_cast<unsigned>(std::stoul(s.substr(at + 2, 2), nullptr, 16)) >> 4;
        const bool ldimm64 = code == 0x18, call = code == 0x85;
        if ((ldimm64 && (src == 1 || src == 2 || src == 4 || src == 5 || src == 6)) || (call && src == 1)) s.replace(at + 8, 8, "xxxxxxxx");
        if (ldimm64) at += 16;  // its second slot
    }
    return s;
}

// ---- the kernel side ----

bool can_load() {
    if (::geteuid() != 0) {
        MESSAGE("skipping the loads: they need root");
        return false;
    }
    if (!fs::exists("/sys/kernel/btf/vmlinux")) {
        MESSAGE("skipping the loads: the running kernel has no BTF to relocate for");
        return false;
    }
    return true;
}

std::vector<std::pair<std::string, std::string>> oracles() {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& [name, var] : {std::pair<std::string, const char*>{"1.1", "BTFKIT_LIBBPF_ORACLE"}, {"1.7", "BTFKIT_LIBBPF_ORACLE_17"}}) {
        const char* p = std::getenv(var);
        if (p != nullptr && *p != 0 && fs::exists(p)) out.emplace_back(name, p);
        else MESSAGE("libbpf " << name << " oracle not built (or not in $" << std::string(var) << "): its loads are skipped");
    }
    return out;
}

std::vector<std::string> bpftools(const fs::path& scratch) {
    std::vector<std::string> out;
    if (fs::exists("/usr/sbin/bpftool")) out.emplace_back("/usr/sbin/bpftool");
    const bt::run_result r = bt::run({std::string(BTFKIT_SOURCE_DIR) + "/tests/oracle/fetch-bpftool", BTFKIT_BPFTOOL_CACHE}, scratch);
    if (const std::string p = r.out.substr(0, r.out.find('\n')); !p.empty()) out.push_back(p);
    return out;
}

// A bpffs of our own, unmounted at the end.
struct bpffs {
    fs::path dir;
    bool mounted = false;
    explicit bpffs(const fs::path& at, const fs::path& scratch) : dir(at) {
        fs::create_directories(dir);
        mounted = bt::run({"mount", "-t", "bpf", "bpf", dir.string()}, scratch).status == 0;
        if (!mounted) MESSAGE("skipping bpftool prog loadall: cannot mount a bpffs");
    }
    ~bpffs() {
        if (!mounted) return;
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(dir, ec)) fs::remove_all(e.path(), ec);
        const std::string cmd = "umount " + dir.string();
        (void)std::system(cmd.c_str());
    }
};

// The oracle's JSON line for one object.
bt::json oracle_line(const std::string& oracle, const std::vector<std::string>& extra, const std::string& object, const fs::path& scratch,
                     std::string* err = nullptr) {
    std::vector<std::string> args{oracle};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(object);
    const bt::run_result r = bt::run(args, scratch);
    if (err != nullptr) *err = r.err;
    bt::json_reader reader(std::string_view(r.out).substr(0, r.out.find('\n')));
    auto v = reader.parse_all();
    REQUIRE_MESSAGE(v.has_value(), oracle << " " << object << ": " << reader.problem() << "; " << r.err.substr(0, 2000));
    return std::move(*v);
}

// Each program's instructions as btfkit wrote them, by name; those an ELF relocation names (maps,
// global data, calls: the loader's to fill) as x's.
std::map<std::string, std::string> programs_of(const std::vector<char>& bytes) {
    const bk::bpf_object o = parse_object(bytes);
    std::map<std::string, std::string> out;
    REQUIRE(o.for_each_program([&](const bk::program& p) {
        const bk::elf_section s = o.file().section(p.section_index);
        std::string h = hex_bytes(bytes.data() + s.offset + std::size_t{p.first_insn} * 8, std::size_t{p.insn_count} * 8);
        for (std::uint32_t i = 1; i < o.file().section_count(); ++i) {
            const bk::elf_section r = o.file().section(i);
            if (r.type != bk::elf_const::sht_rel || r.info != p.section_index) continue;
            for (std::uint32_t k = 0; k < o.file().rel_count(r); ++k) {
                const std::uint64_t insn = o.file().rel(r, k).offset / 8;
                if (insn < p.first_insn || insn >= p.first_insn + p.insn_count) continue;
                const std::size_t at = static_cast<std::size_t>(insn - p.first_insn) * 16;
                const bool wide = h.compare(at, 2, "18") == 0;
                h.replace(at, wide ? 32 : 16, std::string(wide ? 32 : 16, 'x'));
            }
        }
        out.emplace(std::string(p.name), h);
    }).has_value());
    return out;
}

// `loaded` with the instructions `written` leaves to the loader (x's) left out too.
std::string like(const std::string& loaded, const std::string& written) {
    std::string s = loaded.substr(0, written.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (written[i] == 'x') s[i] = 'x';
    }
    return s;
}

// `bpftool prog dump xlated` of every program pinned in `dir`, map ids left out.
std::map<std::string, std::string> xlated(const std::string& bpftool, const fs::path& dir, const fs::path& scratch) {
    std::map<std::string, std::string> out;
    static const std::regex map_id("map\\[id:[0-9]+\\]");
    for (const auto& e : fs::directory_iterator(dir)) {
        const bt::run_result r = bt::run({bpftool, "prog", "dump", "xlated", "pinned", e.path().string()}, scratch);
        CHECK_MESSAGE(r.status == 0, r.err);
        out.emplace(e.path().filename().string(), std::regex_replace(r.out, map_id, "map[id:N]"));
    }
    return out;
}

}  // namespace

TEST_CASE("final_object: relocate -o writes final objects unless --keep-core-records; no fds in files; no failed site") {
    const std::string kc = (fixture_dir / "kernel_core.bpf.o").string();
    if (!fs::exists(kc) || !fs::exists(corpus_dir / "vmlinux")) {
        MESSAGE("skipping: needs the fixtures and the Debian corpus");
        return;
    }
    bt::temp_dir tmp("btfkit-final");
    const std::string vmlinux = (corpus_dir / "vmlinux").string();
    const std::string fin = (tmp.path / "final.o").string(), said = (tmp.path / "said.o").string(), kept = (tmp.path / "kept.o").string();
    auto btfkit = [&](std::vector<std::string> args) {
        args.insert(args.begin(), BTFKIT_TOOL);
        return bt::run(args, tmp.path);
    };
    REQUIRE(btfkit({"relocate", "-q", kc, "--btf", vmlinux, "-o", fin}).status == 0);
    REQUIRE(btfkit({"relocate", "-q", kc, "--btf", vmlinux, "-o", said, "--final"}).status == 0);
    REQUIRE(btfkit({"relocate", "-q", kc, "--btf", vmlinux, "-o", kept, "--keep-core-records"}).status == 0);
    CHECK(bt::read_text(fin) == bt::read_text(said));
    const std::vector<char> f = read_bytes(fin), k = read_bytes(kept), orig = read_bytes(kc);
    CHECK(parse_object(f).ext().core_relo_count() == 0);
    CHECK(parse_object(k).ext().core_relo_count() == parse_object(orig).ext().core_relo_count());
    CHECK(programs_of(f) == programs_of(k));
    // The final object has nothing left to relocate.
    const bt::run_result again = btfkit({"relocate", "--json", fin, "--btf", vmlinux});
    CHECK(again.out.find("\"relocations\": []") != std::string::npos);
    // --out-dir too.
    const fs::path dir = tmp.path / "out";
    fs::create_directories(dir);
    REQUIRE(btfkit({"relocate", "-q", kc, "--btf", vmlinux, "--out-dir", dir.string()}).status == 0);
    CHECK(bt::read_text(dir / "kernel_core.bpf.o") == bt::read_text(fin));

    // Usage: a written object takes no fds.
    auto usage = [&](const std::vector<std::string>& args) {
        const bt::run_result r = btfkit(args);
        CHECK(r.status == 2);
        return r.err;
    };
    CHECK(usage({"relocate", kc, "-o", fin, "--fd-encoding", "fd"}).starts_with("btfkit relocate: a written object outlives this process's fds"));
    CHECK(usage({"relocate", kc, "--out-dir", dir.string(), "--fd-encoding", "fd"}).starts_with("btfkit relocate: a written object outlives"));

    // A failed relocation: no final object (the site would load unrelocated); kept records still write.
    const bt::scenario err = bt::errors::make(bk::byte_order::little).front();
    const std::string eobj = (tmp.path / "err.bpf.o").string(), etarget = (tmp.path / "err.btf").string();
    REQUIRE(bt::write_bytes(eobj, {err.object.data(), err.object.size()}));
    REQUIRE(bt::write_bytes(etarget, {err.target.data(), err.target.size()}));
    const std::string eout = (tmp.path / "err.final.o").string(), ekept = (tmp.path / "err.kept.o").string();
    const bt::run_result r = btfkit({"relocate", "-q", eobj, "--btf", etarget, "-o", eout});
    CHECK(r.status == 1);
    CHECK(r.err.find("not written: a final object cannot keep a failed relocation") != std::string::npos);
    CHECK_FALSE(fs::exists(eout));
    CHECK(btfkit({"relocate", "-q", eobj, "--btf", etarget, "-o", ekept, "--keep-core-records"}).status == 1);
    CHECK(fs::exists(ekept));
}

TEST_CASE("final_object: libbpf 1.1 and 1.7 and bpftool load final objects into the running kernel as btfkit wrote them") {
    if (!can_load()) return;
    const std::string kc = (fixture_dir / "kernel_core.bpf.o").string();
    if (!fs::exists(kc)) {
        MESSAGE("skipping: fixture objects are not built");
        return;
    }
    bt::temp_dir tmp("btfkit-final");
    std::vector<std::string> candidates{kc};
    for (const auto& e : fs::directory_iterator(corpus_dir / "bpf")) candidates.push_back(e.path().string());
    std::sort(candidates.begin() + 1, candidates.end());
    const fs::path out_dir = tmp.path / "final";
    fs::create_directories(out_dir);
    // Relocated for this kernel, as btfkit writes them.
    std::vector<std::string> args{BTFKIT_TOOL, "relocate", "-q", "--out-dir", out_dir.string()};
    args.insert(args.end(), candidates.begin(), candidates.end());
    const bt::run_result w = bt::run(args, tmp.path);
    INFO(w.err);
    REQUIRE(w.status == 0);

    const auto tools = bpftools(tmp.path);
    bpffs pins(tmp.path / "bpffs", tmp.path);
    // The objects this kernel loads: those bpftool loads from the original, relocating them itself.
    std::vector<std::string> loadable;
    std::map<std::string, std::map<std::string, std::string>> reference;  // object -> program -> xlated
    for (const std::string& obj : candidates) {
        if (!pins.mounted || tools.empty()) {
            loadable.push_back(obj);
            continue;
        }
        const fs::path pin = pins.dir / ("orig-" + fs::path(obj).stem().stem().string());
        if (bt::run({tools.front(), "prog", "loadall", obj, pin.string()}, tmp.path).status != 0) continue;
        reference[obj] = xlated(tools.front(), pin, tmp.path);
        fs::remove_all(pin);
        loadable.push_back(obj);
    }
    REQUIRE(std::find(loadable.begin(), loadable.end(), kc) != loadable.end());

    std::size_t libbpf_loads = 0, bpftool_loads = 0;
    for (const std::string& obj : loadable) {
        const std::string fin = (out_dir / fs::path(obj).filename()).string();
        INFO("object: " << obj);
        const auto written = programs_of(read_bytes(fin));
        for (const auto& [name, oracle] : oracles()) {
            INFO("libbpf " << name);
            std::string log;
            const bt::json f = oracle_line(oracle, {"--create-maps", "--insns", "--verbose"}, fin, tmp.path, &log);
            CHECK(f.field("open_error") == "0");
            CHECK(f.field("load_error") == "0");
            CHECK(f.field("core_records") == "0");
            CHECK(f.get("relocations")->items.empty());
            // libbpf's debug log says nothing about CO-RE for it: no candidate, no patched instruction.
            for (const char* word : {"CO-RE", "candidate", "patched insn"}) CHECK_MESSAGE(log.find(word) == std::string::npos, word);
            // What it handed the kernel: btfkit's instructions (subprograms appended after them), and what
            // libbpf hands the kernel for the original object, relocating it itself.
            const bt::json o = oracle_line(oracle, {"--create-maps", "--insns"}, obj, tmp.path);
            CHECK(o.field("load_error") == "0");
            const auto& fl = f.get("loads")->items;
            const auto& ol = o.get("loads")->items;
            REQUIRE(fl.size() == ol.size());
            for (std::size_t i = 0; i < fl.size(); ++i) {
                const std::string prog = fl[i].field("prog");
                INFO("program " << prog);
                CHECK(fl[i].field("result") == "0");
                CHECK(masked(fl[i].field("insns")) == masked(ol[i].field("insns")));
                // by its name, or the first 15 characters of it (BPF_OBJ_NAME_LEN)
                auto it = written.find(prog);
                if (it == written.end()) {
                    it = std::find_if(written.begin(), written.end(), [&](const auto& p) { return p.first.substr(0, 15) == prog; });
                }
                REQUIRE(it != written.end());
                CHECK(like(fl[i].field("insns"), it->second) == it->second);
                ++libbpf_loads;
            }
        }
        if (!pins.mounted) continue;
        for (const std::string& bpftool : tools) {
            INFO(bpftool);
            const fs::path pin = pins.dir / ("final-" + fs::path(obj).stem().stem().string());
            const bt::run_result r = bt::run({bpftool, "-d", "prog", "loadall", fin, pin.string()}, tmp.path);
            CHECK_MESSAGE(r.status == 0, r.err.substr(r.err.size() > 3000 ? r.err.size() - 3000 : 0));
            for (const char* word : {"CO-RE", "candidate", "patched insn"}) CHECK_MESSAGE(r.err.find(word) == std::string::npos, word);
            if (r.status == 0) {
                const auto x = xlated(bpftool, pin, tmp.path);
                if (bpftool == tools.front()) CHECK(x == reference[obj]);
                bpftool_loads += x.size();
            }
            fs::remove_all(pin);
        }
    }
    MESSAGE(loadable.size() << " objects (of " << candidates.size() << ") load here: " << libbpf_loads << " program loads by libbpf, "
                            << bpftool_loads << " by bpftool, each as btfkit wrote it, none relocated again");
}
