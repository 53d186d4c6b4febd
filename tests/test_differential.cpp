// btfkit against libbpf, site by site, for each libbpf release that is a reference: libbpf 1.7
// (tests/oracle/libbpf-oracle-1.7) against `btfkit relocate --json --libbpf` at its default level, and
// libbpf 1.1 (tests/oracle/libbpf-oracle) against btfkit at libbpf_compat::v1_1, must agree on every
// CO-RE site libbpf processed, bit for bit. BTFKIT_LIBBPF_REFERENCE=1.1 or 1.7 picks one.
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "json_reader.hpp"
#include "../tools/json.hpp"
#include "temp_dir.hpp"
#include "btfkit/core/relocate.hpp"
#include "btfkit/format/bpf_object.hpp"
#include "btfkit/kernel.hpp"
#include "core_object.hpp"
#include "../tools/json.hpp"

#if !defined(BTFKIT_ORACLE) || !defined(BTFKIT_ORACLE_17)
#error "BTFKIT_ORACLE and BTFKIT_ORACLE_17 (paths of libbpf-oracle and libbpf-oracle-1.7, or empty) must be defined"
#endif

namespace {

namespace fs = std::filesystem;
namespace bt = btfkit::testing;

using bt::json;
using bt::json_reader;

TEST_CASE("differential: the JSON reader reads what the tools write") {
    json_reader r(R"({"a": [1, -22, 18446744073709551615], "s": "x\"y\\z\u0041", "n": null, "t": true, "o": {}})");
    const auto v = r.parse_all();
    REQUIRE_MESSAGE(v.has_value(), r.problem());
    REQUIRE(v->get("a") != nullptr);
    REQUIRE(v->get("a")->items.size() == 3);
    CHECK(v->get("a")->items[2].text == "18446744073709551615");
    CHECK(v->get("a")->items[1].str() == "-22");
    CHECK(v->field("s") == "x\"y\\zA");
    CHECK(v->field("n") == "null");
    CHECK(v->field("t") == "true");
    CHECK(v->field("missing") == "<absent>");
    CHECK_FALSE(json_reader(R"({"a": [1, 2})").parse_all().has_value());
    CHECK_FALSE(json_reader(R"({"a": 1} x)").parse_all().has_value());
}

// ---- running the tools ----

std::string quote(const std::string& s) {
    std::string q = "'";
    for (const char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

struct run_output {
    int status = -1;
    std::vector<std::string> lines;
    std::string stderr_text;
};

// Runs `argv` through the shell, stdout captured line by line, stderr into a file read back after.
run_output run(const std::vector<std::string>& argv, const fs::path& err_file) {
    std::string cmd;
    for (const auto& a : argv) cmd += quote(a) + ' ';
    cmd += "2>" + quote(err_file.string());
    run_output out;
    std::FILE* p = ::popen(cmd.c_str(), "r");
    REQUIRE_MESSAGE(p != nullptr, "cannot run: " << cmd);
    std::string line;
    char buf[65536];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) {
        for (std::size_t i = 0; i < n; ++i) {
            if (buf[i] == '\n') {
                out.lines.push_back(std::move(line));
                line.clear();
            } else {
                line += buf[i];
            }
        }
    }
    if (!line.empty()) out.lines.push_back(std::move(line));
    const int st = ::pclose(p);
    out.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    if (std::FILE* e = std::fopen(err_file.c_str(), "r")) {
        while ((n = std::fread(buf, 1, sizeof(buf), e)) > 0) out.stderr_text.append(buf, n);
        std::fclose(e);
    }
    return out;
}

// A libbpf release the suite compares against: its oracle, and the level btfkit runs at against it.
struct reference {
    std::string name;    // "1.1", "1.7"
    std::string oracle;  // path of the oracle binary
    btfkit::libbpf_compat compat{};
};

// The references built here, narrowed by $BTFKIT_LIBBPF_REFERENCE; a missing one is said once.
const std::vector<reference>& references() {
    static const std::vector<reference> refs = [] {
        std::vector<reference> all;
        const char* only = std::getenv("BTFKIT_LIBBPF_REFERENCE");
        const std::pair<const char*, reference> known[] = {
            {BTFKIT_ORACLE, {"1.1", BTFKIT_ORACLE, btfkit::libbpf_compat::v1_1}},
            {BTFKIT_ORACLE_17, {"1.7", BTFKIT_ORACLE_17, btfkit::libbpf_compat::v1_7}},
        };
        for (const auto& [path, ref] : known) {
            if (only != nullptr && *only != 0 && ref.name != only) continue;
            if (*path == 0) {
                MESSAGE("skipping libbpf " << ref.name << ": its oracle is not built (tests/oracle/fetch-libbpf17)");
                continue;
            }
            all.push_back(ref);
        }
        return all;
    }();
    return refs;
}

using btfkit::cli::hex_bytes;

// btfkit through the library at `compat`, with libbpf's behaviour otherwise (the CLI's --libbpf), printing
// what `btfkit relocate --json` prints per site. For a level the CLI cannot select.
run_output btfkit_library(const std::vector<std::string>& objects, const std::string& target, btfkit::libbpf_compat compat) {
    run_output out;
    auto targets = target.empty() ? btfkit::file_targets::running_kernel() : btfkit::file_targets::open(target, {});
    if (!targets) {
        out.stderr_text = targets.error().message();
        return out;
    }
    btfkit::target_set& set = (*targets)->targets();
    btfkit::relocate_options opts;
    opts.fwd_extension = false;
    opts.encoding = btfkit::fd_encoding::none;
    opts.compat = compat;
    btfkit::relocation_scratch scratch;
    out.status = 0;
    for (const std::string& path : objects) {
        auto file = btfkit::mapped_file::open(path);
        if (!file) {
            out.stderr_text += path + ": " + file.error().message() + '\n';
            out.status = 1;
            continue;
        }
        auto obj = btfkit::bpf_object::parse(file->bytes());
        if (!obj) {
            out.stderr_text += path + ": " + obj.error().message() + '\n';
            out.status = 1;
            continue;
        }
        std::vector<char> image(file->bytes().begin(), file->bytes().end());
        std::string line = "{\"object\": ";
        btfkit::cli::append_json_string(line, path);
        line += ", \"relocations\": [";
        bool first = true;
        auto sum = btfkit::relocate_object(*obj, std::span<char>(image.data(), image.size()), set, scratch, opts,
                                           [&](const btfkit::relocation_report& r) {
            if (!first) line += ", ";
            first = false;
            line += "{\"section\": ";
            btfkit::cli::append_json_string(line, r.section);
            line += ", \"insn\": " + std::to_string(r.insn) + ", \"kind\": ";
            btfkit::cli::append_json_string(line, btfkit::relo_kind_name(r.kind));
            line += ", \"type_id\": " + std::to_string(r.local_type_id) + ", \"type_name\": ";
            btfkit::cli::append_json_string(line, r.local_type_name);
            line += ", \"access\": ";
            btfkit::cli::append_json_string(line, r.access);
            line += ", \"result\": ";
            btfkit::cli::append_json_string(line, btfkit::to_string(r.outcome));
            line += ", \"old\": " + std::to_string(r.res.orig_val) + ", \"new\": " + std::to_string(r.res.new_val) + ", \"bytes\": ";
            if (r.outcome == btfkit::relo_outcome::error) {
                line += "null";
            } else {
                const std::size_t at = static_cast<std::size_t>(obj->file().section(r.section_index).offset) + std::size_t{r.insn} * 8;
                line += '"' + hex_bytes(image.data() + at, r.patch.ldimm64 ? 16 : 8) + '"';
            }
            line += '}';
        });
        if (!sum) {
            out.stderr_text += path + ": " + sum.error().message() + '\n';
            out.status = 1;
            continue;
        }
        out.lines.push_back(line + "]}");
    }
    return out;
}

// One JSON line per object, by the object's path.
std::map<std::string, json> by_object(const run_output& r, const char* tool) {
    std::map<std::string, json> out;
    for (const auto& l : r.lines) {
        json_reader reader(l);
        auto v = reader.parse_all();
        CHECK_MESSAGE(v.has_value(), tool << " printed a line that is not JSON (" << reader.problem() << "): " << l);
        if (!v) continue;
        const std::string obj = v->field("object");
        out.emplace(obj, std::move(*v));
    }
    return out;
}

// A temporary directory, removed at the end of the test.
struct temp_dir : btfkit::testing::temp_dir {
    temp_dir() : btfkit::testing::temp_dir("btfkit-diff") {}
};

struct counts {
    std::size_t objects = 0, sites = 0, stopped = 0;
    std::vector<std::string> stopped_objects;  // file names of objects where libbpf stopped at an error
};
std::map<std::string, counts> grand_total;  // by reference

// The fields both tools print per site, compared as text.
constexpr std::string_view site_fields[] = {"section", "insn", "kind", "type_id", "type_name", "access", "result", "bytes"};

// Compares the two tools' lines for every object of one group (context kept out of the group's MESSAGE).
void compare(const std::string& label, const std::vector<std::string>& objects, const run_output& o, const run_output& b,
             counts& c) {
    INFO("group: " << label);
    INFO("libbpf-oracle: " << o.lines.size() << " lines, btfkit: " << b.lines.size() << " lines");
    INFO("libbpf-oracle stderr: " << o.stderr_text.substr(0, 4000));
    INFO("btfkit stderr: " << b.stderr_text.substr(0, 4000));
    INFO("exit status: libbpf-oracle " << o.status << ", btfkit " << b.status);
    const auto ol = by_object(o, "libbpf-oracle");
    const auto bl = by_object(b, "btfkit");
    CHECK(ol.size() == objects.size());

    for (const std::string& path : objects) {
        INFO("object: " << path);
        const auto oi = ol.find(path);
        const auto bi = bl.find(path);
        CHECK_MESSAGE(oi != ol.end(), "libbpf-oracle printed nothing for it");
        CHECK_MESSAGE(bi != bl.end(), "btfkit printed nothing for it");
        if (oi == ol.end() || bi == bl.end()) continue;
        const json& oj = oi->second;
        const json& bj = bi->second;
        ++c.objects;
        CHECK_MESSAGE(oj.integer("open_error", -1) == 0, "libbpf could not open the object");
        const bool stopped = oj.integer("core_error") != 0;
        // Without a CO-RE error, libbpf must have got past relocation, or its list is not the whole story.
        if (!stopped) CHECK_MESSAGE(oj.field("relocated") == "true", "libbpf stopped before relocation finished");
        const json* os = oj.get("relocations");
        const json* bs = bj.get("relocations");
        REQUIRE(os != nullptr);
        REQUIRE(bs != nullptr);
        const auto& O = os->items;
        const auto& B = bs->items;
        if (stopped) {
            ++c.stopped;
            c.stopped_objects.push_back(fs::path(path).filename().string());
            CHECK_MESSAGE((!O.empty() && O.back().field("result") == "error"), "libbpf reported a CO-RE error but no failing site");
            CHECK_MESSAGE(B.size() >= O.size(), "btfkit lacks sites libbpf processed (" << B.size() << " < " << O.size() << ")");
        } else {
            CHECK_MESSAGE(B.size() == O.size(), "site count: btfkit " << B.size() << ", libbpf " << O.size());
        }
        for (std::size_t i = 0; i < O.size() && i < B.size(); ++i) {
            const json& x = O[i];
            const json& y = B[i];
            std::string diff;
            for (const std::string_view f : site_fields) {
                if (x.field(f) != y.field(f)) {
                    diff += ' ' + std::string(f) + ": libbpf " + x.field(f) + ", btfkit " + y.field(f) + ';';
                }
            }
            // Values libbpf computed (null when its calculation failed).
            for (const std::string_view f : {"old", "new"}) {
                if (!x.is_null(f) && x.field(f) != y.field(f)) {
                    diff += ' ' + std::string(f) + ": libbpf " + x.field(f) + ", btfkit " + y.field(f) + ';';
                }
            }
            if (x.field("result") == "error" && i + 1 != O.size()) diff += " libbpf went on after an error;";
            CHECK_MESSAGE(diff.empty(), "site " << i << " (" << x.field("section") << " insn " << x.field("insn") << " "
                                                << x.field("kind") << " " << x.field("type_name") << " " << x.field("access")
                                                << "):" << diff);
            ++c.sites;
        }
    }
}

// The oracle's lines for `objects` against `target` (empty: the running kernel).
run_output run_oracle(const reference& ref, const std::vector<std::string>& objects, const std::string& target,
                      const fs::path& scratch) {
    std::vector<std::string> oracle{ref.oracle};
    if (!target.empty()) {
        oracle.push_back("--btf");
        oracle.push_back(target);
    }
    oracle.insert(oracle.end(), objects.begin(), objects.end());
    return run(oracle, scratch / "oracle.err");
}

// Diffs one target over `objects`: libbpf's sites must all be btfkit's, in the same order, with the same
// fields. `target` empty means the running kernel. btfkit runs as the CLI at its default level, through
// the library at another (the CLI has no flag for it).
counts diff_group(const reference& ref, const std::string& group, const std::vector<std::string>& objects,
                  const std::string& target, const fs::path& scratch) {
    counts c;
    if (objects.empty()) return c;
    const std::string label = "libbpf " + ref.name + ": " + group;
    const run_output o = run_oracle(ref, objects, target, scratch);
    run_output b;
    if (ref.compat == btfkit::libbpf_compat_latest) {
        std::vector<std::string> tool{BTFKIT_TOOL, "relocate", "--json", "--libbpf"};
        if (!target.empty()) {
            tool.push_back("--btf");
            tool.push_back(target);
        }
        tool.insert(tool.end(), objects.begin(), objects.end());
        b = run(tool, scratch / "btfkit.err");
    } else {
        b = btfkit_library(objects, target, ref.compat);
    }
    // Each oracle line names the libbpf that made it.
    for (const auto& l : o.lines) {
        CHECK_MESSAGE(l.find("\"libbpf\":\"v" + ref.name + "\"") != std::string::npos, "not libbpf " << ref.name << ": " << l.substr(0, 200));
    }
    compare(label, objects, o, b, c);
    MESSAGE(label << ": " << c.sites << " sites compared in " << c.objects << " objects (libbpf stopped at an error in "
                  << c.stopped << ")");
    counts& t = grand_total[ref.name];
    t.objects += c.objects;
    t.sites += c.sites;
    t.stopped += c.stopped;
    return c;
}

bool have_privileges() {
    if (::geteuid() == 0) return true;
    MESSAGE("skipping: libbpf-oracle needs root (libbpf probes the kernel and loads the object's BTF)");
    return false;
}

bool have_kernel_btf() {
    if (fs::exists("/sys/kernel/btf/vmlinux")) return true;
    MESSAGE("skipping the running-kernel target: no /sys/kernel/btf/vmlinux");
    return false;
}

std::vector<std::string> files_in(const fs::path& dir, std::string_view suffix, bool little_endian_only) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        const std::string n = e.path().filename().string();
        if (!n.ends_with(suffix)) continue;
        if (little_endian_only && n.find(".be.") != std::string::npos) continue;
        out.push_back(e.path().string());
    }
    std::sort(out.begin(), out.end());
    return out;
}

const fs::path fixture_dir{BTFKIT_FIXTURE_DIR};
const fs::path corpus_dir{BTFKIT_CORPUS_DIR};

}  // namespace

TEST_CASE("differential: every little-endian fixture against the kernel, core_kinds TARGET=1/2, core_compat TARGET=1 and Debian's vmlinux") {
    if (!have_privileges()) return;
    const auto objects = files_in(fixture_dir, ".bpf.o", true);
    if (std::find(objects.begin(), objects.end(), (fixture_dir / "core_kinds.bpf.o").string()) == objects.end()) {
        MESSAGE("skipping: fixture objects are not built in " << fixture_dir.string());
        return;
    }
    temp_dir tmp;
    for (const reference& ref : references()) {
        std::size_t sites = 0;
        auto group = [&](const std::string& label, const std::string& target) {
            const counts c = diff_group(ref, label, objects, target, tmp.path);
            CHECK(c.sites > 0);
            CHECK(c.objects == objects.size());
            sites += c.sites;
        };
        if (have_kernel_btf()) group("fixtures x running kernel", "");
        for (const char* t : {"core_kinds.t1.bpf.o", "core_kinds.t2.bpf.o", "core_compat.t1.bpf.o"}) {
            group(std::string("fixtures x ") + t, (fixture_dir / t).string());
        }
        if (fs::exists(corpus_dir / "vmlinux")) {
            group("fixtures x Debian vmlinux", (corpus_dir / "vmlinux").string());
        } else {
            MESSAGE("skipping the Debian vmlinux target: no corpus in " << corpus_dir.string());
        }
        MESSAGE("libbpf " << ref.name << ": fixtures: " << sites << " sites compared");
    }
}

TEST_CASE("differential: the libbpf-tools corpus against the kernel and Debian's vmlinux") {
    if (!have_privileges()) return;
    const auto objects = files_in(corpus_dir / "bpf", ".bpf.o", false);
    if (objects.empty() || !fs::exists(corpus_dir / "vmlinux")) {
        MESSAGE("skipping: no Debian corpus in " << corpus_dir.string() << " (bench/corpus/fetch)");
        return;
    }
    temp_dir tmp;
    for (const reference& ref : references()) {
        std::size_t sites = 0;
        if (have_kernel_btf()) {
            const counts c = diff_group(ref, "libbpf-tools x running kernel", objects, "", tmp.path);
            CHECK(c.sites > 0);
            CHECK(c.objects == objects.size());
            sites += c.sites;
        }
        const counts c = diff_group(ref, "libbpf-tools x Debian vmlinux", objects, (corpus_dir / "vmlinux").string(), tmp.path);
        CHECK(c.sites > 0);
        CHECK(c.objects == objects.size());
        sites += c.sites;
        MESSAGE("libbpf " << ref.name << ": libbpf-tools corpus: " << sites << " sites compared");
    }
}

TEST_CASE("differential: hand-built objects — no candidates, local FWDs, access strings, resized loads, each way libbpf stops") {
    if (!have_privileges()) return;
    temp_dir tmp;
    const auto le = btfkit::byte_order::little;
    std::vector<bt::scenario> all;
    all.push_back(bt::zero_cands::make(le));
    all.push_back(bt::fwd::make(le, false));
    all.push_back(bt::fwd::make(le, true));
    all.push_back(bt::signed_enum::make(le));
    for (auto& s : bt::errors::make(le)) all.push_back(std::move(s));

    // Objects grouped by target (the error objects share one), and what libbpf must do with them:
    // process every record, stopping at the last one exactly for the fwd_* and err_* objects.
    std::map<std::vector<char>, std::vector<std::string>> by_target;
    std::vector<std::string> expect_stopped;
    std::size_t records = 0;
    for (const bt::scenario& s : all) {
        const std::string obj = (tmp.path / (s.name + ".bpf.o")).string();
        REQUIRE(bt::write_bytes(obj, {s.object.data(), s.object.size()}));
        by_target[s.target].push_back(obj);
        if (s.name.starts_with("err_") || s.name.starts_with("fwd_")) expect_stopped.push_back(s.name + ".bpf.o");
        auto o = btfkit::bpf_object::parse({s.object.data(), s.object.size()});
        REQUIRE_MESSAGE(o.has_value(), s.name << ": " << o.error().message());
        records += o->ext().core_relo_count();
    }
    std::sort(expect_stopped.begin(), expect_stopped.end());
    for (const reference& ref : references()) {
        std::size_t sites = 0, n = 0;
        std::vector<std::string> stopped;
        for (const auto& [target, objects] : by_target) {
            const std::string path = (tmp.path / ("target" + std::to_string(n++) + ".btf")).string();
            REQUIRE(bt::write_bytes(path, {target.data(), target.size()}));
            const std::string first = fs::path(objects.front()).stem().stem().string();
            const counts c = diff_group(ref, "hand-built " + (objects.size() == 1 ? first : std::to_string(objects.size()) + " objects"),
                                        objects, path, tmp.path);
            sites += c.sites;
            stopped.insert(stopped.end(), c.stopped_objects.begin(), c.stopped_objects.end());
        }
        std::sort(stopped.begin(), stopped.end());
        CHECK(stopped == expect_stopped);
        CHECK(expect_stopped.size() >= 10);
        CHECK(sites == records);
        MESSAGE("libbpf " << ref.name << ": hand-built objects: " << sites << " sites compared");
    }
}

// The objects made for the rule changes must show them: libbpf 1.1 and 1.7 disagree there (and
// nowhere else), so that each reference's bit-identity above proves one rule of each pair.
TEST_CASE("differential: libbpf 1.1 and 1.7 disagree exactly on the sites of their rule changes") {
    if (!have_privileges()) return;
    // Run once, with the 1.7 reference (or with both), whichever oracles the references name.
    const char* only = std::getenv("BTFKIT_LIBBPF_REFERENCE");
    if (only != nullptr && std::string_view(only) == "1.1") return;
    if (*BTFKIT_ORACLE == 0 || *BTFKIT_ORACLE_17 == 0) {
        MESSAGE("skipping: needs both oracles");
        return;
    }
    const reference r11{"1.1", BTFKIT_ORACLE, btfkit::libbpf_compat::v1_1}, r17{"1.7", BTFKIT_ORACLE_17, btfkit::libbpf_compat::v1_7};
    const reference* v11 = &r11;
    const reference* v17 = &r17;
    temp_dir tmp;
    const auto signed_enum = bt::signed_enum::make(btfkit::byte_order::little);
    const std::string se_obj = (tmp.path / "signed_enum.bpf.o").string(), se_target = (tmp.path / "signed_enum.btf").string();
    REQUIRE(bt::write_bytes(se_obj, {signed_enum.object.data(), signed_enum.object.size()}));
    REQUIRE(bt::write_bytes(se_target, {signed_enum.target.data(), signed_enum.target.size()}));
    const std::string compat = (fixture_dir / "core_compat.bpf.o").string();
    if (!fs::exists(compat)) {
        MESSAGE("skipping: fixture objects are not built in " << fixture_dir.string());
        return;
    }
    // (object, target, sites on which the two releases must differ, as "section insn kind access")
    struct expectation {
        std::string object, target;
        std::vector<std::string> differing;
    };
    const expectation cases[] = {
        {compat, (fixture_dir / "core_compat.t1.bpf.o").string(),
         {"raw_tp/cc_loads 1 byte_off 0:1", "raw_tp/cc_loads 2 byte_off 0:2", "raw_tp/cc_loads 6 byte_off 0:4",
          "raw_tp/cc_loads 8 byte_off 0:4:1", "raw_tp/cc_loads 10 byte_off 0:5", "raw_tp/cc_stores 2 byte_off 0:1",
          "raw_tp/cc_stores 4 byte_off 0:2", "raw_tp/cc_stores 6 byte_off 0:4:2"}},
        {se_obj, se_target, {"kprobe/sg 0 signed 0:1"}},
    };
    std::size_t total = 0;
    for (const expectation& e : cases) {
        INFO("object: " << e.object);
        const auto a = by_object(run_oracle(*v11, {e.object}, e.target, tmp.path), "libbpf-oracle");
        const auto b = by_object(run_oracle(*v17, {e.object}, e.target, tmp.path), "libbpf-oracle-1.7");
        REQUIRE(a.count(e.object) == 1);
        REQUIRE(b.count(e.object) == 1);
        const auto& A = a.at(e.object).get("relocations")->items;
        const auto& B = b.at(e.object).get("relocations")->items;
        REQUIRE(A.size() == B.size());
        std::vector<std::string> differing;
        for (std::size_t i = 0; i < A.size(); ++i) {
            bool same = true;
            for (const std::string_view f : site_fields) same = same && A[i].field(f) == B[i].field(f);
            same = same && A[i].field("new") == B[i].field("new");
            if (!same) {
                differing.push_back(A[i].field("section") + ' ' + A[i].field("insn") + ' ' + A[i].field("kind") + ' ' + A[i].field("access"));
            }
        }
        CHECK(differing == e.differing);
        total += differing.size();
    }
    MESSAGE("libbpf 1.1 and 1.7 differ on " << total << " sites, each one a rule change");
}

TEST_CASE("differential: total") {
    for (const auto& [name, t] : grand_total) {
        MESSAGE("libbpf " << name << ": total: " << t.sites << " sites compared in " << t.objects
                          << " object runs (libbpf stopped at an error in " << t.stopped << ")");
    }
}
