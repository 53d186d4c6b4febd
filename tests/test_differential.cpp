// btfkit against libbpf 1.1, site by site: `btfkit relocate --json --libbpf` and tests/oracle/libbpf-oracle
// run on the same objects and targets must agree on every CO-RE site libbpf processed, bit for bit.
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

#include "temp_dir.hpp"
#include "btfkit/format/bpf_object.hpp"
#include "core_object.hpp"

#ifndef BTFKIT_ORACLE
#error "BTFKIT_ORACLE (path of libbpf-oracle) must be defined"
#endif

namespace {

namespace fs = std::filesystem;
namespace bt = btfkit::testing;

// ---- JSON: just what the two tools print (objects, arrays, strings, integers, true/false/null) ----

struct json {
    enum class kind { null, boolean, number, string, array, object };
    kind k = kind::null;
    bool b = false;
    std::string text;  // a string's value, or a number as written
    std::vector<json> items;        // an array's elements, or an object's values
    std::vector<std::string> keys;  // an object's member names, parallel to `items`

    [[nodiscard]] const json* get(std::string_view key) const {
        for (std::size_t i = 0; i < keys.size(); ++i) {
            if (keys[i] == key) return &items[i];
        }
        return nullptr;
    }
    // The value as compared between the tools: numbers as written, strings unquoted, null as "null".
    [[nodiscard]] std::string str() const {
        switch (k) {
        case kind::null: return "null";
        case kind::boolean: return b ? "true" : "false";
        case kind::number: case kind::string: return text;
        default: return "<composite>";
        }
    }
    [[nodiscard]] std::string field(std::string_view key) const {
        const json* v = get(key);
        return v ? v->str() : "<absent>";
    }
    [[nodiscard]] long long integer(std::string_view key, long long otherwise = 0) const {
        const json* v = get(key);
        return v && v->k == kind::number ? std::strtoll(v->text.c_str(), nullptr, 10) : otherwise;
    }
    [[nodiscard]] bool is_null(std::string_view key) const {
        const json* v = get(key);
        return v == nullptr || v->k == kind::null;
    }
};

class json_reader {
public:
    explicit json_reader(std::string_view s) : s_(s) {}

    // The whole input as one value; nullopt (and `problem`) if it is not.
    std::optional<json> parse_all() {
        json v;
        if (!value(v, 0)) return std::nullopt;
        blanks();
        if (at_ != s_.size()) return fail("trailing characters");
        return v;
    }
    [[nodiscard]] const std::string& problem() const noexcept { return problem_; }

private:
    std::nullopt_t fail(const char* what) {
        problem_ = std::string(what) + " at offset " + std::to_string(at_);
        return std::nullopt;
    }
    void blanks() {
        while (at_ < s_.size() && (s_[at_] == ' ' || s_[at_] == '\t' || s_[at_] == '\n' || s_[at_] == '\r')) ++at_;
    }
    bool literal(std::string_view word) {
        if (s_.substr(at_, word.size()) != word) return false;
        at_ += word.size();
        return true;
    }
    bool value(json& v, int depth) {
        if (depth > 16) return (void)fail("nesting too deep"), false;
        blanks();
        if (at_ >= s_.size()) return (void)fail("value expected"), false;
        const char c = s_[at_];
        if (c == '{') return object(v, depth);
        if (c == '[') return array(v, depth);
        if (c == '"') {
            v.k = json::kind::string;
            return string(v.text);
        }
        if (c == '-' || (c >= '0' && c <= '9')) {
            v.k = json::kind::number;
            const std::size_t start = at_++;
            while (at_ < s_.size() && ((s_[at_] >= '0' && s_[at_] <= '9') || s_[at_] == '.' || s_[at_] == 'e' ||
                                       s_[at_] == 'E' || s_[at_] == '+' || s_[at_] == '-')) {
                ++at_;
            }
            v.text = std::string(s_.substr(start, at_ - start));
            return true;
        }
        if (literal("true")) return v.k = json::kind::boolean, v.b = true, true;
        if (literal("false")) return v.k = json::kind::boolean, v.b = false, true;
        if (literal("null")) return v.k = json::kind::null, true;
        return (void)fail("unexpected character"), false;
    }
    bool string(std::string& out) {
        ++at_;  // opening quote
        while (at_ < s_.size()) {
            const char c = s_[at_++];
            if (c == '"') return true;
            if (c != '\\') {
                out += c;
                continue;
            }
            if (at_ >= s_.size()) break;
            const char e = s_[at_++];
            switch (e) {
            case '"': case '\\': case '/': out += e; break;
            case 'n': out += '\n'; break;
            case 't': out += '\t'; break;
            case 'r': out += '\r'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'u': {
                if (at_ + 4 > s_.size()) return (void)fail("short \\u escape"), false;
                const unsigned long cp = std::strtoul(std::string(s_.substr(at_, 4)).c_str(), nullptr, 16);
                at_ += 4;
                if (cp >= 0x80) return (void)fail("non-ASCII \\u escape"), false;  // neither tool writes one
                out += static_cast<char>(cp);
                break;
            }
            default: return (void)fail("bad escape"), false;
            }
        }
        return (void)fail("unterminated string"), false;
    }
    bool array(json& v, int depth) {
        v.k = json::kind::array;
        ++at_;
        blanks();
        if (at_ < s_.size() && s_[at_] == ']') return ++at_, true;
        for (;;) {
            v.items.emplace_back();
            if (!value(v.items.back(), depth + 1)) return false;
            blanks();
            if (at_ < s_.size() && s_[at_] == ',') { ++at_; continue; }
            if (at_ < s_.size() && s_[at_] == ']') return ++at_, true;
            return (void)fail("',' or ']' expected"), false;
        }
    }
    bool object(json& v, int depth) {
        v.k = json::kind::object;
        ++at_;
        blanks();
        if (at_ < s_.size() && s_[at_] == '}') return ++at_, true;
        for (;;) {
            blanks();
            std::string key;
            if (at_ >= s_.size() || s_[at_] != '"' || !string(key)) return (void)fail("member name expected"), false;
            blanks();
            if (at_ >= s_.size() || s_[at_++] != ':') return (void)fail("':' expected"), false;
            v.keys.push_back(std::move(key));
            v.items.emplace_back();
            if (!value(v.items.back(), depth + 1)) return false;
            blanks();
            if (at_ < s_.size() && s_[at_] == ',') { ++at_; continue; }
            if (at_ < s_.size() && s_[at_] == '}') return ++at_, true;
            return (void)fail("',' or '}' expected"), false;
        }
    }

    std::string_view s_;
    std::size_t at_ = 0;
    std::string problem_;
};

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
counts grand_total;

// The fields both tools print per site, compared as text.
constexpr std::string_view site_fields[] = {"section", "insn", "kind", "type_id", "type_name", "access", "result", "bytes"};

// Compares the two tools' lines for every object of one group (context kept out of the group's MESSAGE).
void compare(const std::string& label, const std::vector<std::string>& objects, const run_output& o, const run_output& b,
             counts& c) {
    INFO("group: " << label);
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

// Diffs one target over `objects`: libbpf's sites must all be btfkit's, in the same order, with the same
// fields. `target` empty means the running kernel.
counts diff_group(const std::string& label, const std::vector<std::string>& objects, const std::string& target,
                  const fs::path& scratch) {
    counts c;
    if (objects.empty()) return c;
    std::vector<std::string> oracle{BTFKIT_ORACLE}, tool{BTFKIT_TOOL, "relocate", "--json", "--libbpf"};
    if (!target.empty()) {
        for (auto* v : {&oracle, &tool}) {
            v->push_back("--btf");
            v->push_back(target);
        }
    }
    oracle.insert(oracle.end(), objects.begin(), objects.end());
    tool.insert(tool.end(), objects.begin(), objects.end());
    const run_output o = run(oracle, scratch / "oracle.err");
    const run_output b = run(tool, scratch / "btfkit.err");
    compare(label, objects, o, b, c);
    MESSAGE(label << ": " << c.sites << " sites compared in " << c.objects << " objects (libbpf stopped at an error in "
                  << c.stopped << ")");
    grand_total.objects += c.objects;
    grand_total.sites += c.sites;
    grand_total.stopped += c.stopped;
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

TEST_CASE("differential: every little-endian fixture against the kernel, core_kinds TARGET=1/2 and Debian's vmlinux") {
    if (!have_privileges()) return;
    const auto objects = files_in(fixture_dir, ".bpf.o", true);
    if (std::find(objects.begin(), objects.end(), (fixture_dir / "core_kinds.bpf.o").string()) == objects.end()) {
        MESSAGE("skipping: fixture objects are not built in " << fixture_dir.string());
        return;
    }
    temp_dir tmp;
    std::size_t sites = 0;
    auto group = [&](const std::string& label, const std::string& target) {
        const counts c = diff_group(label, objects, target, tmp.path);
        CHECK(c.sites > 0);
        CHECK(c.objects == objects.size());
        sites += c.sites;
    };
    if (have_kernel_btf()) group("fixtures x running kernel", "");
    for (const char* t : {"core_kinds.t1.bpf.o", "core_kinds.t2.bpf.o"}) {
        group(std::string("fixtures x ") + t, (fixture_dir / t).string());
    }
    if (fs::exists(corpus_dir / "vmlinux")) {
        group("fixtures x Debian vmlinux", (corpus_dir / "vmlinux").string());
    } else {
        MESSAGE("skipping the Debian vmlinux target: no corpus in " << corpus_dir.string());
    }
    MESSAGE("fixtures: " << sites << " sites compared");
}

TEST_CASE("differential: the libbpf-tools corpus against the kernel and Debian's vmlinux") {
    if (!have_privileges()) return;
    const auto objects = files_in(corpus_dir / "bpf", ".bpf.o", false);
    if (objects.empty() || !fs::exists(corpus_dir / "vmlinux")) {
        MESSAGE("skipping: no Debian corpus in " << corpus_dir.string() << " (bench/corpus/fetch)");
        return;
    }
    temp_dir tmp;
    std::size_t sites = 0;
    if (have_kernel_btf()) {
        const counts c = diff_group("libbpf-tools x running kernel", objects, "", tmp.path);
        CHECK(c.sites > 0);
        CHECK(c.objects == objects.size());
        sites += c.sites;
    }
    const counts c = diff_group("libbpf-tools x Debian vmlinux", objects, (corpus_dir / "vmlinux").string(), tmp.path);
    CHECK(c.sites > 0);
    CHECK(c.objects == objects.size());
    sites += c.sites;
    MESSAGE("libbpf-tools corpus: " << sites << " sites compared");
}

TEST_CASE("differential: hand-built objects — no candidates, local FWDs, access strings, resized loads, each way libbpf stops") {
    if (!have_privileges()) return;
    temp_dir tmp;
    const auto le = btfkit::byte_order::little;
    std::vector<bt::scenario> all;
    all.push_back(bt::zero_cands::make(le));
    all.push_back(bt::fwd::make(le, false));
    all.push_back(bt::fwd::make(le, true));
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
    std::size_t sites = 0, n = 0;
    std::vector<std::string> stopped;
    for (const auto& [target, objects] : by_target) {
        const std::string path = (tmp.path / ("target" + std::to_string(n++) + ".btf")).string();
        REQUIRE(bt::write_bytes(path, {target.data(), target.size()}));
        const std::string first = fs::path(objects.front()).stem().stem().string();
        const counts c = diff_group("hand-built " + (objects.size() == 1 ? first : std::to_string(objects.size()) + " objects"),
                                    objects, path, tmp.path);
        sites += c.sites;
        stopped.insert(stopped.end(), c.stopped_objects.begin(), c.stopped_objects.end());
    }
    std::sort(stopped.begin(), stopped.end());
    std::sort(expect_stopped.begin(), expect_stopped.end());
    CHECK(stopped == expect_stopped);
    CHECK(expect_stopped.size() >= 10);
    CHECK(sites == records);
    MESSAGE("hand-built objects: " << sites << " sites compared");
}

TEST_CASE("differential: total") {
    MESSAGE("total: " << grand_total.sites << " sites compared in " << grand_total.objects << " object runs (libbpf stopped at an error in "
                      << grand_total.stopped << ")");
}
