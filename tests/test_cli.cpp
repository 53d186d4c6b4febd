// The built `btfkit` command line: --version, help, the option tables (every option the help lists is
// accepted, in each spelling, and documented in docs/cli.md), usage errors, `find`'s exit status
// against bpftool's view of the same BTF, module names against modinfo's, and `print` against the
// library's format_value and format_json.
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "btfkit/show/format_json.hpp"
#include "btfkit/show/format_value.hpp"
#include "print_sample.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
namespace bt = btfkit::testing;

const std::string tool = BTFKIT_TOOL;
const fs::path source = BTFKIT_SOURCE_DIR;
const fs::path fixtures = BTFKIT_FIXTURE_DIR;
const fs::path corpus = BTFKIT_CORPUS_DIR;

const fs::path& scratch() {
    static const bt::temp_dir dir("btfkit-test-cli");
    return dir.path;
}

bt::run_result run(const std::vector<std::string>& args) { return bt::run(args, scratch()); }

bt::run_result btfkit(std::vector<std::string> args) {
    args.insert(args.begin(), tool);
    return run(args);
}

std::vector<std::string> lines_of(std::string_view text) {
    std::vector<std::string> lines;
    while (!text.empty()) {
        const std::size_t nl = text.find('\n');
        lines.emplace_back(text.substr(0, nl));
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    }
    return lines;
}

// The commands `btfkit help` lists.
std::vector<std::string> commands() {
    const bt::run_result r = btfkit({"help"});
    REQUIRE(r.status == 0);
    std::vector<std::string> names;
    bool in_list = false;
    for (const std::string& l : lines_of(r.out)) {
        if (l == "commands:") { in_list = true; continue; }
        if (in_list && l.empty()) break;
        if (in_list) names.push_back(l.substr(2, l.find(' ', 2) - 2));
    }
    return names;
}

// One option as `btfkit COMMAND --help` shows it: "  -q, --quiet   help" or "  --module FILE ...   help".
struct listed_option {
    std::vector<std::string> names;  // every spelling
    std::string arg;                 // placeholder, or "" for a flag
    bool repeatable = false;
    bool required = false;           // "(required)" ends its help
};

std::vector<listed_option> options_of(const std::string& help) {
    std::vector<listed_option> out;
    for (const std::string& l : lines_of(help)) {
        if (!l.starts_with("  -")) continue;
        std::string label = l.substr(2, l.find("  ", 2) - 2);
        listed_option o;
        o.required = l.ends_with(" (required)");
        if (label.ends_with(" ...")) { o.repeatable = true; label.resize(label.size() - 4); }
        if (const std::size_t sp = label.rfind(' '); sp != std::string::npos && label[sp + 1] != '-') {
            o.arg = label.substr(sp + 1);
            label.resize(sp);
        }
        for (std::string_view rest = label; !rest.empty();) {
            const std::size_t comma = rest.find(", ");
            o.names.emplace_back(rest.substr(0, comma));
            rest.remove_prefix(comma == std::string_view::npos ? rest.size() : comma + 2);
        }
        out.push_back(o);
    }
    return out;
}

std::string help_of(const std::string& command) {
    const bt::run_result r = btfkit({command, "--help"});
    REQUIRE_MESSAGE(r.status == 0, r.err);
    return r.out;
}

// An object with CO-RE relocations and BTF: an operand for relocate, a FILE for dump and stat, and a
// small target BTF (its .BTF section) wherever the targets are not the subject.
const fs::path& object() {
    static const fs::path p = fixtures / "kernel_core.bpf.o";
    REQUIRE_MESSAGE(fs::exists(p), (p.string() + " is built with the tests"));
    return p;
}

// Operands that let COMMAND run quickly, whatever it then reports.
std::vector<std::string> operands_of(const std::string& command) {
    if (command == "dump") return {object().string(), "format", "c"};  // bpftool's words: every option applies
    if (command == "relocate" || command == "stat") return {object().string()};
    if (command == "find") return {"task_struct"};
    if (command == "funcs") return {"btfkit_test_*"};
    if (command == "resolve") return {"schedule"};
    if (command == "gen") return {"min_core_btf", object().string(), (scratch() / "min.btf").string(), object().string()};
    return {};
}

// A value for a placeholder: the last of "a|b|c", a file, a directory or a kind.
std::string value_for(const std::string& arg) {
    if (const std::size_t bar = arg.rfind('|'); bar != std::string::npos) return arg.substr(bar + 1);
    if (arg == "DIR") {
        fs::create_directories(scratch() / "dir");
        return (scratch() / "dir").string();
    }
    if (arg == "OUT") return (scratch() / "out.o").string();
    if (arg == "K") return "struct";
    return object().string();
}

// Extra arguments so that a command that takes targets opens a small one, unless `opt` names them.
std::vector<std::string> quiet_targets(const std::string& command, const std::string& opt) {
    const std::string help = help_of(command);
    if (help.find("--btf FILE") == std::string::npos || opt == "--btf") return {};
    return {"--btf", object().string()};
}

bool usage_error(const bt::run_result& r) { return r.status == 2 || r.err.find("usage: btfkit") != std::string::npos; }

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

TEST_CASE("cli: --version and `version` print meson's project version") {
    for (const char* spelling : {"--version", "version"}) {
        INFO(spelling);
        const bt::run_result r = btfkit({spelling});
        CHECK(r.status == 0);
        CHECK(r.out == std::string("btfkit ") + BTFKIT_PROJECT_VERSION + "\n");
        CHECK(r.err.empty());
    }
}

TEST_CASE("cli: help lists every command; each command's help is the same in each spelling") {
    const std::vector<std::string> names = commands();
    for (const char* required : {"dump", "stat", "relocate", "find", "version"}) {
        CHECK(std::find(names.begin(), names.end(), required) != names.end());
    }
    for (const char* spelling : {"--help", "-h"}) CHECK(btfkit({spelling}).out == btfkit({"help"}).out);
    const bt::run_result bare = btfkit({});
    CHECK(bare.status == 2);
    CHECK(bare.out.empty());
    CHECK(bare.err == btfkit({"help"}).out);
    for (const std::string& c : names) {
        INFO("command: ", c);
        const std::string help = help_of(c);
        CHECK(help.starts_with("usage: btfkit " + c));
        CHECK(btfkit({c, "-h"}).out == help);
        CHECK(btfkit({"help", c}).out == help);
        // --help wins over the operands and options before it.
        std::vector<std::string> args{c};
        for (const auto& o : operands_of(c)) args.push_back(o);
        args.push_back("--help");
        const bt::run_result r = btfkit(args);
        CHECK(r.status == 0);
        CHECK(r.out == help);
    }
    const bt::run_result r = btfkit({"help", "no-such-command"});
    CHECK(r.status == 2);
    CHECK(r.err.find("unknown command 'no-such-command'") != std::string::npos);
}

TEST_CASE("cli: every option a command's help lists is accepted in each spelling and is in its usage line") {
    std::size_t tried = 0;
    for (const std::string& c : commands()) {
        const std::string help = help_of(c);
        const std::string usage = first_line(help);
        for (const listed_option& o : options_of(help)) {
            if (o.names.front() == "-h") continue;
            const std::string& name = o.names.back();
            INFO("btfkit ", c, " ", name, " ", o.arg);
            const std::string synopsis = name + (o.arg.empty() ? "" : " " + o.arg);
            CHECK(usage.find(o.required ? " " + synopsis : "[" + synopsis + "]" + (o.repeatable ? "..." : "")) != std::string::npos);
            std::vector<std::vector<std::string>> spellings;
            for (const std::string& n : o.names) {
                if (o.arg.empty()) spellings.push_back({n});
                else spellings.push_back({n, value_for(o.arg)});
                if (!o.arg.empty() && n.starts_with("--")) spellings.push_back({n + "=" + value_for(o.arg)});
            }
            if (o.repeatable) spellings.push_back({name, value_for(o.arg), name, value_for(o.arg)});
            for (const auto& spelling : spellings) {
                std::vector<std::string> args{c};
                for (const auto& x : operands_of(c)) args.push_back(x);
                args.insert(args.end(), spelling.begin(), spelling.end());
                for (const auto& x : quiet_targets(c, name)) args.push_back(x);
                for (const listed_option& other : options_of(help)) {  // the required options, each once
                    if (other.required && other.names.back() != name && !(other.names.back() == "--btf" && !quiet_targets(c, name).empty())) {
                        args.push_back(other.names.back());
                        args.push_back(value_for(other.arg));
                    }
                }
                const bt::run_result r = btfkit(args);
                INFO("spelling: ", spelling.front(), " -> ", r.status, ": ", r.err);
                CHECK_FALSE(usage_error(r));
                ++tried;
            }
        }
    }
    MESSAGE(tried, " option spellings accepted");
    CHECK(tried > 30);
}

TEST_CASE("cli: usage errors exit 2 with the problem, the usage line and nothing on stdout") {
    for (const std::string& c : commands()) {
        const std::string help = help_of(c);
        const std::string usage = first_line(help);
        auto expect_usage_error = [&](const std::vector<std::string>& rest, const std::string& problem) {
            std::vector<std::string> args{c};
            args.insert(args.end(), rest.begin(), rest.end());
            const bt::run_result r = btfkit(args);
            INFO("btfkit ", c, " ... -> ", r.err);
            CHECK(r.status == 2);
            CHECK(r.out.empty());
            CHECK(r.err.starts_with("btfkit " + c + ": " + problem));
            CHECK(r.err.find("\n" + usage + "\n") != std::string::npos);
        };
        const std::vector<std::string> operands = operands_of(c);
        auto with_operands = [&](std::vector<std::string> v) {
            v.insert(v.begin(), operands.begin(), operands.end());
            return v;
        };
        expect_usage_error(with_operands({"--no-such-option"}), "unknown option: --no-such-option");
        expect_usage_error(with_operands({"-Z"}), "unknown option: -Z");
        if (!operands.empty()) {
            const std::string operand = usage.substr(std::string("usage: btfkit " + c + " ").size(), usage.find("...") - (std::string("usage: btfkit " + c + " ").size()));
            expect_usage_error({}, "missing " + operand);
        } else if (const std::string head = "usage: btfkit " + c + " ["; usage.starts_with(head) && usage[head.size()] != '-') {
            // An optional operand: one at most.
            const std::string operand = usage.substr(head.size(), usage.find(']') - head.size());
            expect_usage_error({"one", "two"}, "more than one " + operand);
        } else {
            expect_usage_error({"extra"}, "unexpected argument: extra");
        }
        for (const listed_option& o : options_of(help)) {  // a required option left out
            if (!o.required) continue;
            std::vector<std::string> others = with_operands({});
            for (const listed_option& p : options_of(help)) {
                if (p.required && p.names.back() != o.names.back()) others.insert(others.end(), {p.names.back(), value_for(p.arg)});
            }
            expect_usage_error(others, "missing " + o.names.back() + (o.arg.empty() ? "" : " " + o.arg));
        }
        for (const listed_option& o : options_of(help)) {
            if (o.names.front() == "-h") continue;
            const std::string& name = o.names.back();
            if (o.arg.empty()) {
                if (name.starts_with("--")) expect_usage_error(with_operands({name + "=1"}), "option takes no argument: " + name + "=1");
                continue;
            }
            expect_usage_error(with_operands({name}), "option needs an argument: " + name + " " + o.arg);
            if (!o.repeatable) {
                expect_usage_error(with_operands({name, value_for(o.arg), name, value_for(o.arg)}), "option given twice: " + name);
            }
        }
    }
    // Values an option rejects, and rules across options.
    const std::string obj = object().string();
    auto status_err = [&](const std::vector<std::string>& args) {
        const bt::run_result r = btfkit(args);
        CHECK(r.status == 2);
        CHECK(r.out.empty());
        return r.err;
    };
    CHECK(status_err({"relocate", obj, "--fd-encoding", "both"}).starts_with("btfkit relocate: --fd-encoding both: takes none, fd or id"));
    CHECK(status_err({"find", "x", "--kind", "klass"}).starts_with("btfkit find: --kind klass: unknown kind"));
    CHECK(status_err({"relocate", obj, obj, "-o", "x.o"}).starts_with("btfkit relocate: -o takes one OBJECT"));
    CHECK(status_err({"relocate", obj, "-o", "x.o", "--out-dir", "d"}).starts_with("btfkit relocate: -o and --out-dir exclude each other"));
}

TEST_CASE("cli: the options and spellings accepted before the option tables still are") {
    const std::string obj = object().string(), dir = value_for("DIR"), out = value_for("OUT");
    const std::vector<std::vector<std::string>> old = {
        {"dump", obj, "--base", obj}, {"dump", obj, "-B", obj}, {"dump", obj, "--base=" + obj}, {"dump", "--", obj},
        {"stat", obj, "--base", obj}, {"stat", obj, "-B", obj}, {"stat", obj, "--base=" + obj}, {"stat", obj, obj},
        {"relocate", obj, "--btf", obj, "--json"}, {"relocate", obj, "--btf=" + obj, "-q"}, {"relocate", obj, "--btf", obj, "--quiet"},
        {"relocate", obj, "--btf", obj, "--module", obj, "--module=" + obj}, {"relocate", obj, "--btf", obj, "--modules-dir", dir, "--modules-dir=" + dir},
        {"relocate", obj, "--btf", obj, "--index-cache", "off"}, {"relocate", obj, "--btf", obj, "--index-cache=off"},
        {"relocate", obj, "--btf", obj, "-o", out}, {"relocate", obj, "--btf", obj, "--out-dir", dir},
        {"relocate", obj, "--btf", obj, "--fd-encoding", "none"}, {"relocate", obj, "--btf", obj, "--fd-encoding", "fd"},
        {"relocate", obj, "--btf", obj, "--fd-encoding", "id"}, {"relocate", obj, "--btf", obj, "--all-targets"},
        {"relocate", obj, "--btf", obj, "--libbpf"}, {"relocate", obj, "--btf", obj, "--no-fwd-extension"},
        {"relocate", obj, "--btf", obj, "--stop-at-error"},
        {"find", "task_struct", "--btf", obj, "--kind", "STRUCT"}, {"find", "task_struct", "--btf", obj, "--kind", "union", "--json"},
        {"find", "task_struct", "--btf=" + obj, "--module", obj, "--modules-dir", dir, "--index-cache", "off"},
    };
    for (const auto& args : old) {
        const bt::run_result r = btfkit(args);
        INFO(args[0], " ", args.size() > 2 ? args[2] : "", " -> ", r.err);
        CHECK_FALSE(usage_error(r));
    }
}

TEST_CASE("cli: docs/cli.md shows each command's usage line, and documents only options that exist") {
    const std::string docs = bt::read_text(source / "docs" / "cli.md");
    REQUIRE(!docs.empty());
    std::set<std::string> known{"--help", "--version"};
    for (const std::string& c : commands()) {
        const std::string help = help_of(c);
        const std::string usage = first_line(help).substr(std::string("usage: ").size());
        INFO("command: ", c);
        CHECK_MESSAGE(docs.find(usage + "\n") != std::string::npos, ("docs/cli.md lacks `" + usage + "`"));
        for (const listed_option& o : options_of(help)) known.insert(o.names.begin(), o.names.end());
    }
    // Every "--word" (not "---" of a table rule, nor "--" alone).
    auto word_char = [](char ch) { return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-'; };
    std::size_t words = 0;
    for (std::size_t at = docs.find("--"); at != std::string::npos; at = docs.find("--", at + 2)) {
        if ((at > 0 && word_char(docs[at - 1])) || at + 2 >= docs.size() || !std::isalpha(static_cast<unsigned char>(docs[at + 2]))) continue;
        std::size_t end = at + 2;
        while (end < docs.size() && word_char(docs[end])) ++end;
        const std::string word = docs.substr(at, end - at);
        CHECK_MESSAGE(known.contains(word), ("docs/cli.md documents " + word + ", which no command accepts"));
        ++words;
        at = end - 2;
    }
    CHECK(words > 10);
}

// ---- find's exit status, against bpftool's view of the same BTF ----

// The BTF find reads without modules: the corpus vmlinux, else the running kernel's.
std::string find_target() {
    for (const fs::path& p : {corpus / "vmlinux", fs::path("/sys/kernel/btf/vmlinux")}) {
        if (::access(p.c_str(), R_OK) == 0) return p.string();
    }
    return {};
}

// bpftool's "[ID] KIND 'NAME' ..." lines of `file`, as "ID KIND NAME" per essential name.
std::map<std::string, std::set<std::string>> bpftool_types(const std::string& file) {
    const bt::run_result r = run({"bpftool", "btf", "dump", "file", file});
    REQUIRE_MESSAGE(r.status == 0, r.err);
    std::map<std::string, std::set<std::string>> types;
    for (const std::string& l : lines_of(r.out)) {
        const std::size_t close = l.find("] "), q1 = l.find(" '"), q2 = l.find("' ", q1 + 2);
        if (!l.starts_with("[") || close == std::string::npos || q1 == std::string::npos || q2 == std::string::npos) continue;
        const std::string id = l.substr(1, close - 1), kind = l.substr(close + 2, q1 - close - 2), name = l.substr(q1 + 2, q2 - q1 - 2);
        const std::string essential = name.substr(0, name.find("___"));
        if (!name.empty()) types[essential].insert(id + " " + kind + " " + name);
    }
    return types;
}

bool have_bpftool() { return run({"bpftool", "version"}).status == 0; }

TEST_CASE("cli: find prints what it finds, says on stderr what it does not, and exits 1 then, as grep") {
    const std::string target = find_target();
    if (target.empty() || !have_bpftool()) { MESSAGE("skipped: needs bpftool and a vmlinux BTF"); return; }
    const auto types = bpftool_types(target);
    REQUIRE(types.contains("task_struct"));
    const std::string absent = "btfkit_test_absent_type", absent2 = "no_such_type";
    REQUIRE_FALSE(types.contains(absent));
    REQUIRE_FALSE(types.contains(absent2));
    const std::vector<std::string> targets{"--btf", target, "--index-cache", "off"};
    auto find = [&](std::vector<std::string> args) {
        args.insert(args.begin(), "find");
        args.insert(args.end(), targets.begin(), targets.end());
        return btfkit(args);
    };

    const bt::run_result found = find({"task_struct"});
    CHECK(found.status == 0);
    CHECK(found.err.empty());
    std::set<std::string> want;  // the candidate kinds of a CO-RE root, as find lists them
    for (const std::string& t : types.at("task_struct")) {
        const std::string kind = t.substr(t.find(' ') + 1, t.find(' ', t.find(' ') + 1) - t.find(' ') - 1);
        if (std::set<std::string>{"STRUCT", "UNION", "ENUM", "ENUM64", "FWD", "TYPEDEF", "INT", "FLOAT"}.contains(kind)) {
            want.insert("task_struct vmlinux " + t);
        }
    }
    const std::vector<std::string> got_lines = lines_of(found.out);
    CHECK(std::set<std::string>(got_lines.begin(), got_lines.end()) == want);

    const bt::run_result none = find({absent});
    CHECK(none.status == 1);
    CHECK(none.out.empty());
    CHECK(none.err == "btfkit find: " + absent + ": not found\n");

    const bt::run_result mixed = find({absent, "task_struct", absent2});
    CHECK(mixed.status == 1);
    CHECK(mixed.out == found.out);
    CHECK(mixed.err == "btfkit find: " + absent + ": not found\nbtfkit find: " + absent2 + ": not found\n");

    // A kind that bpftool shows no task_struct of: not found as that kind.
    bool has_union = false;
    for (const std::string& t : types.at("task_struct")) has_union |= t.find(" UNION ") != std::string::npos;
    REQUIRE_FALSE(has_union);
    const bt::run_result kind = find({"task_struct", "--kind", "union"});
    CHECK(kind.status == 1);
    CHECK(kind.out.empty());
    CHECK(kind.err == "btfkit find: task_struct: not found as union\n");

    const bt::run_result json = find({"task_struct", absent, "--json"});
    CHECK(json.status == 1);
    const std::vector<std::string> docs = lines_of(json.out);
    REQUIRE(docs.size() == 2);
    CHECK(docs[0].starts_with("{\"name\": \"task_struct\", \"candidates\": [{"));
    CHECK(docs[1] == "{\"name\": \"" + absent + "\", \"candidates\": []}");
    CHECK(json.err == "btfkit find: " + absent + ": not found\n");
}

TEST_CASE("cli: find on the running kernel's default targets exits 0 for a type bpftool shows, 1 for one it does not") {
    const fs::path sys = "/sys/kernel/btf/vmlinux";
    if (::access(sys.c_str(), R_OK) != 0 || !have_bpftool()) { MESSAGE("skipped: needs /sys/kernel/btf/vmlinux and bpftool"); return; }
    const auto types = bpftool_types(sys.string());
    REQUIRE(types.contains("task_struct"));
    CHECK(btfkit({"find", "task_struct"}).status == 0);
    REQUIRE_FALSE(types.contains("btfkit_test_absent_type"));
    const bt::run_result r = btfkit({"find", "btfkit_test_absent_type"});
    CHECK(r.status == 1);
    CHECK(r.err.find("btfkit find: btfkit_test_absent_type: not found\n") != std::string::npos);
}

// ---- module names: the file's stem, as the kernel names the module ----

TEST_CASE("cli: a module read from NAME.ko, NAME.btf or a modules directory is named as modinfo names it") {
    const fs::path pkg = corpus / "pkg" / "lib" / "modules";
    if (!fs::is_directory(pkg) || !have_bpftool() || run({"modinfo", "--version"}).status != 0) {
        MESSAGE("skipped: needs the Debian corpus, bpftool and modinfo");
        return;
    }
    // A module whose file name has a dash (can-raw.ko), with its split BTF in the corpus.
    fs::path ko;
    std::string sysfs_name;
    for (const auto& e : fs::recursive_directory_iterator(pkg)) {
        const std::string n = e.path().filename().string();
        if (!n.ends_with(".ko") || n.find('-') == std::string::npos) continue;
        const bt::run_result r = run({"modinfo", "-F", "name", e.path().string()});
        const std::string name = r.out.substr(0, r.out.find('\n'));
        if (r.status == 0 && fs::exists(corpus / "modules" / name)) { ko = e.path(); sysfs_name = name; break; }
    }
    REQUIRE(!ko.empty());
    INFO(ko.string(), " is ", sysfs_name);
    // A type name the module defines itself (bpftool's split dump lists the module's own types).
    const std::string split = (corpus / "modules" / sysfs_name).string(), vmlinux = (corpus / "vmlinux").string();
    const bt::run_result dump = run({"bpftool", "btf", "dump", "file", split, "-B", vmlinux});
    REQUIRE(dump.status == 0);
    std::string type_name;
    for (const std::string& l : lines_of(dump.out)) {
        const std::size_t q = l.find(" STRUCT '");
        if (q == std::string::npos) continue;
        type_name = l.substr(q + 9, l.find('\'', q + 9) - q - 9);
        if (type_name != "(anon)") break;
        type_name.clear();
    }
    REQUIRE(!type_name.empty());

    const fs::path dir = scratch() / "modules";
    fs::create_directories(dir);
    const std::string stem = ko.stem().string();  // "can-raw"
    fs::copy_file(ko, dir / (stem + ".ko"), fs::copy_options::overwrite_existing);
    fs::copy_file(split, scratch() / (stem + ".btf"), fs::copy_options::overwrite_existing);
    auto module_lines = [&](const std::vector<std::string>& module_args) {
        std::vector<std::string> args{"find", type_name, "--btf", vmlinux, "--index-cache", "off"};
        args.insert(args.end(), module_args.begin(), module_args.end());
        const bt::run_result r = btfkit(args);
        INFO(r.err);
        CHECK(r.status == 0);
        std::vector<std::string> mod;
        for (const std::string& l : lines_of(r.out)) {
            if (l.find(" vmlinux ") == std::string::npos) mod.push_back(l);
        }
        return mod;
    };
    const std::vector<std::string> sysfs_style = module_lines({"--module", split});
    REQUIRE(!sysfs_style.empty());
    for (const std::string& l : sysfs_style) CHECK(l.starts_with(type_name + " " + sysfs_name + " "));
    CHECK(module_lines({"--module", (dir / (stem + ".ko")).string()}) == sysfs_style);
    CHECK(module_lines({"--module", (scratch() / (stem + ".btf")).string()}) == sysfs_style);
    CHECK(module_lines({"--modules-dir", dir.string()}) == sysfs_style);
}

TEST_CASE("cli: resolve prints each expression's function and paths, and explains one that does not resolve") {
    const std::string vmlinux = "/sys/kernel/btf/vmlinux";
    if (!fs::exists(vmlinux)) {
        MESSAGE("skipped: no " << vmlinux);
        return;
    }
    const bt::run_result ok = btfkit({"resolve", "--btf", vmlinux, "--json", "ip_send_skb(skb->sk->sk_rcvbuf, net)"});
    REQUIRE(ok.status == 0);
    CHECK(ok.out.starts_with("{\"expr\": \"ip_send_skb(skb->sk->sk_rcvbuf, net)\", \"function\": {\"name\": \"ip_send_skb\", \"btf\": \"vmlinux\", "));
    CHECK(ok.out.find("\"prototype\": \"int ip_send_skb(struct net *net, struct sk_buff *skb);\"") != std::string::npos);
    CHECK(ok.out.find("{\"member\": \"sk\", \"byte_offset\": ") != std::string::npos);
    CHECK(ok.out.find("\"deref\": true, \"type_id\": ") != std::string::npos);
    CHECK(ok.out.find("\"c_type\": \"struct sock *\"") != std::string::npos);
    CHECK(ok.out.find("{\"param\": \"net\", \"index\": 0, \"steps\": [], ") != std::string::npos);

    // One bad expression among good ones: the good ones are printed, the bad one explained, status 1.
    const bt::run_result bad = btfkit({"resolve", "--btf", vmlinux, "schedule", "ip_send_skb(skbb)", "ip_send_skb(skb.len)",
                                       "ip_send_skb(skb->sk->foo)", "no_such_function_xyz", "ip_send_skb(skb->)", "ip_send_skb(skb"});
    CHECK(bad.status == 1);
    CHECK(bad.out.starts_with("void schedule(void);"));
    CHECK(bad.err.find("btfkit resolve: ip_send_skb: no parameter 'skbb' (parameters: net, skb)\n") != std::string::npos);
    CHECK(bad.err.find("btfkit resolve: ip_send_skb(skb.len): '.' applied to a pointer (struct sk_buff *)") != std::string::npos);
    CHECK(bad.err.find("btfkit resolve: ip_send_skb(skb->sk->foo): struct sock has no member 'foo' (closest: ") != std::string::npos);
    CHECK(bad.err.find("no_such_function_xyz: no such function in vmlinux or any module") != std::string::npos);
    CHECK(bad.err.find("btfkit resolve: ip_send_skb(skb->): not a path at offset 5 of 'skb->'") != std::string::npos);
    CHECK(bad.err.find("btfkit resolve: ip_send_skb(skb: offset 15: expected ')' at the end") != std::string::npos);
}

}  // namespace

// `btfkit print` against the library it calls.
namespace {
namespace print_command {

using namespace btfkit;
using testing::sample_blob;
using testing::sample_struct;
using testing::sample_value;

struct tool_run {
    int status = -1;
    std::string out;
};
tool_run run_tool(const std::string& args) {
    tool_run r;
    std::FILE* p = ::popen((std::string("'") + BTFKIT_TOOL + "' " + args + " 2>/dev/null").c_str(), "r");
    REQUIRE(p != nullptr);
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) r.out.append(buf, n);
    const int st = ::pclose(p);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
}

TEST_CASE("print: the btfkit print command writes what format_value and format_json write") {
    testing::temp_dir dir("btfkit-print");
    const auto blob = sample_blob(byte_order::little);
    const auto value = sample_value(byte_order::little);
    const std::string btf_path = (dir.path / "sample.btf").string(), value_path = (dir.path / "value.bin").string();
    std::ofstream(btf_path, std::ios::binary).write(blob.bytes().data(), static_cast<std::streamsize>(blob.size()));
    std::ofstream(value_path, std::ios::binary).write(value.data(), static_cast<std::streamsize>(value.size()));
    auto b = btf::parse(blob.span());
    REQUIRE(b.has_value());

    for (const std::uint32_t flags : {0u, show_ptr_raw, show_ptr_raw | show_compact, show_ptr_raw | show_kernel_compat, show_ptr_raw | show_noname | show_zero}) {
        std::string args = "print --btf '" + btf_path + "' --type 'struct s'";
        if (flags & show_compact) args += " --compact";
        if (flags & show_noname) args += " --noname";
        if (flags & show_ptr_raw) args += " --ptr-raw";
        if (flags & show_zero) args += " --zero";
        if (flags & show_kernel_compat) args += " --kernel-compat";
        std::string want;
        REQUIRE(format_value(*b, sample_struct, byte_span(value.data(), value.size()), flags, want).has_value());
        if (flags & show_compact) want += '\n';
        const tool_run r = run_tool(args + " '" + value_path + "'");
        CHECK(r.status == 0);
        if (flags & show_ptr_raw) CHECK(r.out == want);
        else CHECK(r.out.size() == want.size());  // hashed pointers: same shape
        const tool_run from_stdin = run_tool(args + " - < '" + value_path + "'");
        CHECK(from_stdin.out == r.out);
    }
    std::string json;
    REQUIRE(format_json(*b, sample_struct, byte_span(value.data(), value.size()), json).has_value());
    const tool_run j = run_tool("print --btf '" + btf_path + "' --type " + std::to_string(sample_struct) + " --json '" + value_path + "'");
    CHECK(j.status == 0);
    CHECK(j.out == json + "\n");

    CHECK(run_tool("print --btf '" + btf_path + "' --type nosuch '" + value_path + "'").status == 1);
    CHECK(run_tool("print --btf '" + btf_path + "' --type 'struct s' /dev/null").status == 1);  // too short
    CHECK(run_tool("print --btf '" + btf_path + "' '" + value_path + "'").status == 2);         // no --type
}

}  // namespace print_command
TEST_CASE("cli: BTFKIT_INDEX_CACHE=off turns the index cache off, as --index-cache off does") {
    const fs::path here = scratch() / "cache-off";
    fs::create_directories(here);
    const std::string obj = object().string();
    const bt::run_result r = run({"sh", "-c", "cd '" + here.string() + "' && BTFKIT_INDEX_CACHE=off '" + tool + "' find task_struct --btf '" + obj + "'"});
    CHECK(r.status == 0);
    CHECK_FALSE(fs::exists(here / "off"));  // not a directory named "off"
    CHECK(fs::is_empty(here));
}

}  // namespace
