// targets/module_name.hpp: a module's name from its file, against the kernel's own name for it (the
// `name=` that modinfo reads from the .ko) for every module of the Debian corpus.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "btfkit/targets/module_name.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
namespace bt = btfkit::testing;
using btfkit::module_file_stem;
using btfkit::module_name_of;

// The suffix rule, proved at compile time (std::string is not constant-evaluable with every compiler
// and standard library we build with, so the dash rule is checked at run time, below).
static_assert(module_file_stem("veth.ko") == "veth");
static_assert(module_file_stem("/lib/modules/6.1.0/kernel/net/can/can-raw.ko.xz") == "can-raw");
static_assert(module_file_stem("can-raw.ko.zst") == "can-raw");
static_assert(module_file_stem("can-raw.ko.gz") == "can-raw");
static_assert(module_file_stem("dir/veth.btf") == "veth");
static_assert(module_file_stem("/sys/kernel/btf/nf_conntrack") == "nf_conntrack");
static_assert(module_file_stem("xt_CT") == "xt_CT");
// Only a suffix is stripped, and only one of them; dots elsewhere stay.
static_assert(module_file_stem("foo.kobj.ko") == "foo.kobj");
static_assert(module_file_stem("foo.ko.btf") == "foo.ko");
static_assert(module_file_stem("foo.ko.bz2") == "foo.ko.bz2");
static_assert(module_file_stem("dir.ko/foo") == "foo");
// A stem that would be empty keeps its suffix.
static_assert(module_file_stem(".ko") == ".ko");
static_assert(module_file_stem("dir/.btf") == ".btf");
static_assert(module_file_stem("dir/").empty());
static_assert(module_file_stem("").empty());

TEST_CASE("module_name_of: the stem, dashes made underscores") {
    for (const std::string_view path : {"veth.ko", "/lib/modules/6.1.0/kernel/net/can/can-raw.ko.xz", "can-raw.ko.zst",
                                        "dir/veth.btf", "/sys/kernel/btf/nf_conntrack", "foo.kobj.ko", ".ko", "a-b-c", ""}) {
        INFO(path);
        std::string want(module_file_stem(path));
        std::replace(want.begin(), want.end(), '-', '_');
        CHECK(module_name_of(path) == want);
        CHECK(module_name_of(std::string(path)) == want);
    }
    CHECK(module_name_of("/lib/modules/6.1.0/kernel/net/can/can-raw.ko.xz") == "can_raw");
    CHECK(module_name_of("dir/a-b-c.btf") == "a_b_c");
    CHECK(module_name_of("-") == "_");
}

const fs::path corpus = BTFKIT_CORPUS_DIR;

bool have_modinfo() {
    bt::temp_dir tmp("btfkit-module-name");
    return bt::run({"modinfo", "--version"}, tmp.path).status == 0;
}

// modinfo's `name` of each file, in order.
std::vector<std::string> modinfo_names(const std::vector<std::string>& files, const fs::path& scratch) {
    std::vector<std::string> args{"modinfo", "-F", "name"};
    args.insert(args.end(), files.begin(), files.end());
    const bt::run_result r = bt::run(args, scratch);
    REQUIRE_MESSAGE(r.status == 0, r.err);
    std::vector<std::string> names;
    std::string_view out = r.out;
    while (!out.empty()) {
        const std::size_t nl = out.find('\n');
        names.emplace_back(out.substr(0, nl));
        out.remove_prefix(nl == std::string_view::npos ? out.size() : nl + 1);
    }
    REQUIRE(names.size() == files.size());
    return names;
}

TEST_CASE("module_name_of: every corpus .ko, also as .ko.xz/.ko.zst/.ko.gz/.btf, is named as modinfo names it") {
    const fs::path pkg = corpus / "pkg" / "lib" / "modules";
    if (!fs::is_directory(pkg) || !have_modinfo()) {
        MESSAGE("skipped: needs the Debian corpus (bench/corpus/fetch) and modinfo (kmod)");
        return;
    }
    std::vector<std::string> files;
    for (const auto& e : fs::recursive_directory_iterator(pkg)) {
        if (e.is_regular_file() && e.path().extension() == ".ko") files.push_back(e.path().string());
    }
    std::sort(files.begin(), files.end());
    REQUIRE(files.size() > 1000);
    bt::temp_dir tmp("btfkit-module-name");
    std::size_t checked = 0, dashed = 0;
    for (std::size_t at = 0; at < files.size(); at += 400) {
        const std::vector<std::string> batch(files.begin() + static_cast<std::ptrdiff_t>(at),
                                             files.begin() + static_cast<std::ptrdiff_t>(std::min(files.size(), at + 400)));
        const std::vector<std::string> want = modinfo_names(batch, tmp.path);
        for (std::size_t i = 0; i < batch.size(); ++i) {
            INFO(batch[i]);
            const std::string stem = batch[i].substr(0, batch[i].size() - 3);
            CHECK(module_name_of(batch[i]) == want[i]);
            for (const char* suffix : {".ko.xz", ".ko.zst", ".ko.gz", ".btf"}) CHECK(module_name_of(stem + suffix) == want[i]);
            // The sysfs name names itself.
            CHECK(module_name_of("/sys/kernel/btf/" + want[i]) == want[i]);
            dashed += fs::path(batch[i]).filename().string().find('-') != std::string::npos ? 1 : 0;
            ++checked;
        }
    }
    MESSAGE(checked, " modules, ", dashed, " with a dash in the file name");
    CHECK(dashed > 0);
}

TEST_CASE("module_name_of: compressed modules, as modinfo reads them") {
    const fs::path pkg = corpus / "pkg" / "lib" / "modules";
    if (!fs::is_directory(pkg) || !have_modinfo()) {
        MESSAGE("skipped: needs the Debian corpus and modinfo");
        return;
    }
    fs::path dashed;
    for (const auto& e : fs::recursive_directory_iterator(pkg)) {
        const std::string n = e.path().filename().string();
        if (n.ends_with(".ko") && n.find('-') != std::string::npos) { dashed = e.path(); break; }
    }
    REQUIRE(!dashed.empty());
    bt::temp_dir tmp("btfkit-module-name");
    // kmod reads what it was built to decompress (Debian 12: xz and zstd); gzip is left to the rule.
    for (const auto& [tool, suffix] : {std::pair{"xz", ".xz"}, std::pair{"zstd", ".zst"}}) {
        const fs::path ko = tmp.path / dashed.filename();
        fs::copy_file(dashed, ko, fs::copy_options::overwrite_existing);
        const std::vector<std::string> pack = tool == std::string_view("xz") ? std::vector<std::string>{"xz", "-q", "-f", ko.string()}
                                                                              : std::vector<std::string>{"zstd", "-q", "-f", "--rm", ko.string()};
        if (bt::run(pack, tmp.path).status != 0) {
            MESSAGE("skipped ", tool, ": not installed");
            continue;
        }
        const std::string packed = ko.string() + suffix;
        const bt::run_result r = bt::run({"modinfo", "-F", "name", packed}, tmp.path);
        INFO(packed, ": ", r.err);
        REQUIRE(r.status == 0);
        CHECK(module_name_of(packed) + "\n" == r.out);
    }
}

}  // namespace
