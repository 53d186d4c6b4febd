// The C entry point (include/btfkit_c.h) through examples/c_loader.c, a C11 loader that finds its
// sections with libelf: every object it writes, once its CO-RE records are dropped as `relocate -o`
// drops them, is byte for byte the final object `btfkit relocate -o` writes, and relocating only the
// autoload sections it is `relocate -o --keep-core-records`'s; where the CLI counts a failed
// relocation, the C loader fails too. Over the 52 corpus objects against the Debian vmlinux and its
// 4,023 modules, and the fixtures against their targets, with each option the C API takes.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "btfkit/write/final_object.hpp"
#include "corpus_targets.hpp"
#include "parsed.hpp"
#include "process.hpp"

namespace {

using namespace btfkit::testing::corpus_targets;

const fs::path fixture_dir{BTFKIT_FIXTURE_DIR};
const std::string c_loader{BTFKIT_C_LOADER};

bool have_c_loader() {
    if (c_loader.empty() || !fs::exists(c_loader)) {
        MESSAGE("skipping: examples/c_loader is not built (needs a C compiler and libelf, and -Dexamples=true)");
        return false;
    }
    return true;
}

// The C loader's output made final as the CLI makes it: its records dropped.
std::vector<char> made_final(const fs::path& written) {
    std::vector<char> bytes = bt::read_bytes(written);
    const bk::bpf_object obj = bt::parse_object(bytes);
    std::vector<char> image = bytes;
    auto d = bk::drop_core_records(obj, std::span<char>(image.data(), image.size()));
    REQUIRE_MESSAGE(d.has_value(), d.error().message());
    return image;
}

// Objects relocated against one target by the CLI (--out-dir) and by the C loader with the same
// options (`cli_opts` and `c_opts` spell them for each). Final objects (`relocate -o`): the C loader
// relocates every section, SEC("?...") ones too, and its output made final is the CLI's, byte for
// byte; where the CLI writes nothing (a failed relocation), the C loader fails. With `keep` (`-o
// --keep-core-records`, autoload programs only): the C loader relocates the autoload sections
// (--autoload-only) and its output is the CLI's as it is; where the CLI counts a failed relocation
// (and writes the object anyway), the C loader fails.
struct compared {
    std::size_t identical = 0, both_refused = 0, relocated_sections = 0;
};

compared compare(const std::vector<fs::path>& objects, const std::string& vmlinux, const std::string& modules_dir,
                 std::vector<std::string> cli_opts, std::vector<std::string> c_opts, bool keep = false) {
    bt::temp_dir dir("btfkit-c-api");
    const fs::path cli_out = dir.path / "cli", c_out = dir.path / "c";
    fs::create_directories(cli_out);
    fs::create_directories(c_out);
    if (keep) {
        cli_opts.push_back("--keep-core-records");
        c_opts.push_back("--autoload-only");
    }
    std::vector<std::string> args{BTFKIT_TOOL, "relocate", "-q", "--btf", vmlinux, "--out-dir", cli_out.string()};
    if (!modules_dir.empty()) args.insert(args.end(), {"--modules-dir", modules_dir});
    args.insert(args.end(), cli_opts.begin(), cli_opts.end());
    for (const auto& o : objects) args.push_back(o.string());
    const bt::run_result cli = bt::run(args, dir.path);
    compared out;
    for (const auto& o : objects) {
        const fs::path written = c_out / o.filename();
        std::vector<std::string> c_args{c_loader, vmlinux, modules_dir.empty() ? "-" : modules_dir, o.string(), written.string()};
        c_args.insert(c_args.end(), c_opts.begin(), c_opts.end());
        const bt::run_result c = bt::run(c_args, dir.path);
        const fs::path by_cli = cli_out / o.filename();
        INFO(o.filename().string() << (keep ? " (records kept)" : " (final)") << ": c_loader " << c.err << "; btfkit " << cli.err.substr(0, 2000));
        // The CLI's summary line of this object: "PATH: N relocations: A ok, B poisoned, E errors...".
        const std::size_t line = cli.out.find(o.string() + ": ");
        REQUIRE(line != std::string::npos);
        const std::size_t errors_at = cli.out.find(" poisoned, ", line);
        REQUIRE(errors_at != std::string::npos);
        const bool cli_failed = std::stoul(cli.out.substr(errors_at + 11, 12)) != 0;
        if (cli_failed) {
            CHECK(fs::exists(by_cli) == keep);  // a final object is not written
            CHECK(c.status == 1);
            CHECK(c.err.find("c_loader: " + o.string() + ": section ") != std::string::npos);
            ++out.both_refused;
            continue;
        }
        REQUIRE(c.status == 0);
        REQUIRE(fs::exists(by_cli));
        for (std::size_t at = 0; (at = c.out.find(" relocated\n", at)) != std::string::npos; ++at) ++out.relocated_sections;
        const std::vector<char> cli_bytes = bt::read_bytes(by_cli);
        const std::vector<char> c_bytes = keep ? bt::read_bytes(written) : made_final(written);
        CHECK(c_bytes.size() == cli_bytes.size());
        if (c_bytes == cli_bytes) ++out.identical;
        else FAIL_CHECK("differs from relocate -o at byte " << std::distance(c_bytes.begin(), std::mismatch(c_bytes.begin(), c_bytes.end(), cli_bytes.begin(), cli_bytes.end()).first));
    }
    return out;
}

}  // namespace

TEST_CASE("c_api: c_loader.c relocates every corpus object byte-identically to relocate -o") {
    if (!have_c_loader()) return;
    if (!have_corpus()) return;
    const std::vector<fs::path> objects = corpus_objects();
    const compared r = compare(objects, vmlinux_path(), (corpus / "modules").string(), {}, {"--fd-encoding", "id"});
    MESSAGE(objects.size() << " corpus objects: " << r.identical << " identical to relocate -o, " << r.relocated_sections
                           << " sections relocated, " << r.both_refused << " refused by both");
    CHECK(objects.size() == 52);
    CHECK(r.identical == objects.size());
    CHECK(r.relocated_sections > objects.size());
}

TEST_CASE("c_api: the fixtures against their targets, with each C option, as relocate -o") {
    if (!have_c_loader()) return;
    if (!fs::exists(fixture_dir / "core_kinds.bpf.o")) {
        MESSAGE("skipping: fixture objects are not built");
        return;
    }
    auto f = [](const char* name) { return fixture_dir / name; };
    struct case_ {
        std::vector<fs::path> objects;
        std::string target;
        std::vector<std::string> cli, c;
    };
    const std::vector<case_> cases{
        {{f("core_kinds.bpf.o")}, f("core_kinds.t1.bpf.o"), {}, {}},
        {{f("core_kinds.bpf.o")}, f("core_kinds.t2.bpf.o"), {}, {}},
        {{f("core_kinds.be.bpf.o")}, f("core_kinds.t1.be.bpf.o"), {}, {}},
        {{f("core_kinds.be.bpf.o")}, f("core_kinds.t2.be.bpf.o"), {}, {}},
        {{f("core_kinds.bpf.o")}, f("core_kinds.t2.bpf.o"), {"--libbpf-compat", "1.1"}, {"--libbpf-compat", "1.1"}},
        {{f("core_kinds.bpf.o")}, f("core_kinds.t2.bpf.o"), {"--no-fwd-extension", "--fd-encoding", "none"}, {"--no-fwd", "--fd-encoding", "none"}},
        {{f("core_stress.bpf.o")}, f("core_stress.bpf.o"), {}, {}},
        {{f("core_stress.be.bpf.o")}, f("core_stress.be.bpf.o"), {}, {}},
        {{f("core_compat.bpf.o")}, f("core_compat.t1.bpf.o"), {"--libbpf-compat", "1.1"}, {"--libbpf-compat", "1.1"}},
        {{f("core_compat.bpf.o")}, f("core_compat.t1.bpf.o"), {}, {}},
        {{f("no_core.bpf.o"), f("no_core.nobtf.bpf.o")}, f("core_stress.bpf.o"), {}, {}},
    };
    std::size_t identical = 0, refused = 0, runs = 0;
    for (const case_& c : cases) {
        for (const bool keep : {false, true}) {
            INFO(c.objects.front().filename().string() << " against " << c.target);
            const compared r = compare(c.objects, c.target, "", c.cli, c.c, keep);
            CHECK(r.identical + r.both_refused == c.objects.size());
            identical += r.identical;
            refused += r.both_refused;
            runs += c.objects.size();
        }
    }
    if (have_corpus()) {
        for (const bool keep : {false, true}) {
            const compared r = compare({f("kernel_core.bpf.o")}, vmlinux_path(), (corpus / "modules").string(), {}, {"--fd-encoding", "id"}, keep);
            CHECK(r.identical == 1);
            identical += r.identical;
            ++runs;
        }
    }
    MESSAGE(runs << " fixture runs: " << identical << " identical to relocate -o, " << refused << " refused by both");
    // Every fixture object relocates identically at least with its records kept; core_kinds fails
    // as a final object (its SEC("?...") programs hold sites each target fails).
    CHECK(identical >= 18);
    CHECK(refused >= 4);
}
