// libbpf-oracle --loads (tests/oracle/load_oracle.cpp), libbpf 1.1 and 1.7, on the ksym/kfunc fixtures
// and the libbpf-tools corpus against the running kernel: every program of every object has a record,
// and what libbpf wrote is what the kernel's BTF, /proc/kallsyms and issue 17's table say. Where 1.1
// and 1.7 differ is asserted as a list. The oracles are btfkit's reference for extern and attach
// resolution; this proves them first. Needs root (bpf()) and /sys/kernel/btf/vmlinux.
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "btfkit/format/bpf_object.hpp"
#include "btfkit/kernel.hpp"
#include "json_reader.hpp"
#include "process.hpp"
#include "running_vmlinux.hpp"
#include "temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
namespace bk = btfkit;
namespace bt = btfkit::testing;

const fs::path fixture_dir{BTFKIT_FIXTURE_DIR};
const fs::path corpus_dir{BTFKIT_CORPUS_DIR};

struct oracle {
    std::string version;  // "1.1" or "1.7"
    std::string path;
};

// The oracles tests/meson.build built (paths through the environment, "" when not built).
std::vector<oracle> oracles() {
    std::vector<oracle> out;
    for (const auto& [version, var] : {std::pair<std::string, const char*>{"1.1", "BTFKIT_LIBBPF_ORACLE"}, {"1.7", "BTFKIT_LIBBPF_ORACLE_17"}}) {
        const char* p = std::getenv(var);
        if (p != nullptr && *p != 0 && fs::exists(p)) out.push_back({version, p});
        else MESSAGE("libbpf " << version << " oracle not built (or not in $" << var << "): skipped");
    }
    return out;
}

// Why this machine cannot run the loads, or "".
std::string cannot_load() {
    if (::geteuid() != 0) return "not root: libbpf needs bpf()";
    if (!fs::exists("/sys/kernel/btf/vmlinux")) return "the running kernel has no BTF";
    return {};
}

// `args` then `objects` run in `scratch`: one JSON document per object, in command-line order.
std::vector<bt::json> run_json_lines(std::vector<std::string> args, const std::vector<std::string>& objects, const fs::path& scratch,
                                     bool must_succeed) {
    args.insert(args.end(), objects.begin(), objects.end());
    const bt::run_result r = bt::run(args, scratch);
    INFO(args[0] << " stderr: " << r.err);
    if (must_succeed) REQUIRE(r.status == 0);
    std::vector<bt::json> docs;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);) {
        bt::json_reader reader(line);
        auto doc = reader.parse_all();
        REQUIRE_MESSAGE(doc.has_value(), reader.problem() << ": " << line);
        docs.push_back(std::move(*doc));
    }
    REQUIRE(docs.size() == objects.size());
    return docs;
}

std::vector<bt::json> run_loads(const oracle& o, const std::vector<std::string>& objects, const fs::path& scratch) {
    return run_json_lines({o.path, "--loads"}, objects, scratch, true);
}

// The running kernel's types as `bpftool btf dump` names them (id -> "KIND name"), or as btfkit reads
// them where bpftool is missing.
const std::map<std::uint32_t, std::string>& kernel_types() {
    static const std::map<std::uint32_t, std::string> types = [] {
        std::map<std::uint32_t, std::string> out;
        const std::string bpftool = bt::bpftool71();
        if (!bpftool.empty()) {
            bt::temp_dir scratch("btfkit-load-oracle");
            const bt::run_result r = bt::run({bpftool, "btf", "dump", "file", "/sys/kernel/btf/vmlinux"}, scratch.path);
            std::istringstream lines(r.out);
            for (std::string line; std::getline(lines, line);) {
                // [65337] FUNC 'bpf_task_acquire' type_id=65336 linkage=static
                if (line.empty() || line[0] != '[') continue;
                const auto close = line.find("] ");
                const auto q1 = line.find('\'');
                const auto q2 = q1 == std::string::npos ? q1 : line.find('\'', q1 + 1);
                if (close == std::string::npos || q2 == std::string::npos) continue;
                const auto id = static_cast<std::uint32_t>(std::stoul(line.substr(1, close - 1)));
                out[id] = line.substr(close + 2, q1 - close - 3) + " " + line.substr(q1 + 1, q2 - q1 - 1);
            }
            return out;
        }
        MESSAGE("no bpftool: kernel type names read by btfkit");
        std::string why;
        const auto v = bt::open_running_vmlinux(why);
        if (!v) return out;
        for (const auto t : v->types->types()) {
            std::string kind(bk::kind_name(t.kind()));
            for (char& c : kind) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            out[t.id()] = kind + " " + std::string(t.name());
        }
        return out;
    }();
    return types;
}

std::string kernel_type(std::uint32_t id) {
    const auto it = kernel_types().find(id);
    return it == kernel_types().end() ? "<none>" : it->second;
}

// /proc/kallsyms: name -> address, for names listed once.
const std::map<std::string, std::uint64_t, std::less<>>& kallsyms() {
    static const std::map<std::string, std::uint64_t, std::less<>> syms = [] {
        std::map<std::string, std::uint64_t, std::less<>> out;
        std::set<std::string> twice;
        std::ifstream in("/proc/kallsyms");
        std::string addr, type, name;
        while (in >> addr >> type >> name) {
            if (in.peek() != '\n') std::getline(in, type);  // a module's "[name]" column
            if (!out.emplace(name, std::stoull(addr, nullptr, 16)).second) twice.insert(name);
        }
        for (const auto& n : twice) out.erase(n);
        return out;
    }();
    return syms;
}

// An instruction from the oracle's "bytes" (little-endian, as this machine loads them).
bk::insn insn_from_hex(std::string_view hex, std::size_t index) {
    char raw[8];
    for (std::size_t i = 0; i < 8; ++i) raw[i] = static_cast<char>(std::stoi(std::string(hex.substr((index * 8 + i) * 2, 2)), nullptr, 16));
    return bk::decode_insn(raw, bk::byte_order::little);
}

// A flavored name's essential part: foo___v2 -> foo.
std::string_view essential(std::string_view name) {
    const auto p = name.find("___");
    return p == std::string_view::npos ? name : name.substr(0, p);
}

// The object as btfkit reads it: its main programs (libbpf's), and its .ksyms extern names.
struct elf_facts {
    std::vector<std::string> programs;
    std::vector<std::string> externs;  // every .ksyms member, sorted as libbpf sorts ksym externs (by name)
    std::size_t extern_sites = 0;      // relocations against them
};

elf_facts read_facts(const std::string& path) {
    elf_facts f;
    auto file = bk::mapped_file::open(path);
    REQUIRE(file.has_value());
    auto obj = bk::bpf_object::parse(file->bytes());
    REQUIRE(obj.has_value());
    REQUIRE(obj->for_each_program([&](const bk::program& p) {
        if (!p.is_subprog) f.programs.emplace_back(p.name);
    }));
    std::set<std::string, std::less<>> ksyms;
    for (const auto t : obj->btf().types()) {
        if (!t.is(bk::kind::datasec) || t.name() != ".ksyms") continue;
        for (const auto v : t.vars()) ksyms.emplace(obj->btf()[v.type].name());
    }
    f.externs.assign(ksyms.begin(), ksyms.end());
    auto syms = obj->file().symbols();
    REQUIRE(syms.has_value());
    for (const bk::elf_section s : obj->file().sections()) {
        // relocations of code only (.rel.BTF and .rel.BTF.ext name the externs too)
        if (s.type != bk::elf_const::sht_rel || s.info >= obj->file().section_count() ||
            (obj->file().section(s.info).flags & bk::elf_const::shf_execinstr) == 0) {
            continue;
        }
        for (std::uint32_t i = 0; i < obj->file().rel_count(s); ++i) {
            const bk::elf_symbol sym = (*syms)[obj->file().rel(s, i).sym];
            if (sym.shndx == bk::elf_const::shn_undef && ksyms.contains(sym.name)) ++f.extern_sites;
        }
    }
    return f;
}

const bt::json* program_named(const bt::json& doc, std::string_view name) {
    for (const auto& p : doc.get("programs")->items) {
        if (p.field("name") == name) return &p;
    }
    return nullptr;
}

// Issue 17's table: the name and kind a BTF attach section looks up, or nullopt for other sections.
std::optional<std::pair<std::string, std::string>> attach_lookup(std::string_view section, std::string_view libbpf) {
    if (section.starts_with("?")) section.remove_prefix(1);
    const auto slash = section.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    std::string_view type = section.substr(0, slash), target = section.substr(slash + 1);
    if (type.ends_with(".s")) type.remove_suffix(2);  // sleepable
    // fentry/module:func, libbpf 1.5+
    if (const auto colon = target.find(':'); colon != std::string_view::npos && libbpf != "1.1") target.remove_prefix(colon + 1);
    if (type == "fentry" || type == "fexit" || type == "fmod_ret") return std::pair{std::string(target), std::string("FUNC")};
    if (type == "lsm") return std::pair{"bpf_lsm_" + std::string(target), std::string("FUNC")};
    if (type == "iter") return std::pair{"bpf_iter_" + std::string(target), std::string("FUNC")};
    if (type == "tp_btf") return std::pair{"btf_trace_" + std::string(target), std::string("TYPEDEF")};
    return std::nullopt;
}

// A program record against the facts every program shares: a captured BTF attach program names the
// table's target in vmlinux (no modules here); an uncaptured one failed because the kernel lacks it.
void check_program(const bt::json& p, const std::string& libbpf) {
    const std::string section = p.field("section");
    INFO("program " << p.field("name") << " (" << section << ")");
    CHECK(p.field("prog_type").starts_with("BPF_PROG_TYPE_"));
    CHECK(p.field("expected_attach_type").starts_with("BPF_"));
    const auto lookup = attach_lookup(section, libbpf);
    if (p.field("captured") != "true") {
        CHECK(p.integer("error") < 0);
        return;
    }
    if (!lookup) {
        CHECK(p.is_null("attach"));
        return;
    }
    REQUIRE_FALSE(p.is_null("attach"));
    const bt::json& a = *p.get("attach");
    CHECK(a.field("btf") == "vmlinux");
    CHECK(a.field("name") == lookup->first);
    CHECK(kernel_type(static_cast<std::uint32_t>(a.integer("type_id"))) == lookup->second + " " + lookup->first);
}

// An extern site against the kernel: a resolved kfunc call or address names a FUNC of the extern's
// essential name, a typed ksym its VAR, a typeless one its /proc/kallsyms address; a missing one is 0.
void check_extern(const bt::json& e, const std::string& libbpf, const elf_facts& facts) {
    const std::string name = e.field("name"), kind = e.field("kind"), result = e.field("result");
    INFO("extern " << name << " (" << kind << ") at " << e.field("section") << " #" << e.field("insn") << ": " << result << " " << e.field("bytes"));
    if (result == "error" || result == "unreached") {
        CHECK(e.is_null("bytes"));
        return;
    }
    const std::string hex = e.field("bytes");
    const bk::insn x = insn_from_hex(hex, 0);
    const std::uint32_t id = static_cast<std::uint32_t>(x.imm);
    if (kind == "kfunc_call") {
        REQUIRE(hex.size() == 16);
        CHECK(x.code == 0x85);
        if (result == "ok") {
            CHECK(x.src == 2);
            CHECK(x.off == 0);
            CHECK(kernel_type(id) == "FUNC " + std::string(essential(name)));
            CHECK(e.get("target")->field("btf") == "vmlinux");
            CHECK(e.get("target")->integer("type_id") == id);
        } else if (result == "missing") {
            CHECK(libbpf == "1.1");  // 1.2+ poisons instead
            CHECK(x.src == 2);
            CHECK(x.imm == 0);
        } else {
            REQUIRE(result == "poisoned");
            CHECK(libbpf != "1.1");
            CHECK(x.src == 0);
            // 2002000000 + the extern's index in libbpf's sorted list (ksyms only here: by name)
            const auto at = std::find(facts.externs.begin(), facts.externs.end(), name) - facts.externs.begin();
            CHECK(x.imm == 2002000000 + at);
        }
        return;
    }
    REQUIRE(hex.size() == 32);
    CHECK(x.code == 0x18);
    const bk::insn hi = insn_from_hex(hex, 1);
    if (result == "missing") {
        CHECK(x.src == 0);
        CHECK(x.imm == 0);
        CHECK(hi.imm == 0);
        CHECK(e.is_null("target"));
        return;
    }
    REQUIRE(result == "ok");
    if (kind == "ksym_typeless") {
        CHECK(x.src == 0);
        const std::uint64_t addr = static_cast<std::uint32_t>(x.imm) | (std::uint64_t{static_cast<std::uint32_t>(hi.imm)} << 32);
        const auto it = kallsyms().find(name);
        REQUIRE(it != kallsyms().end());
        CHECK(addr == it->second);
        CHECK(e.is_null("target"));
        return;
    }
    CHECK(x.src == 3);
    CHECK(hi.imm == 0);  // vmlinux: no module fd
    CHECK(kernel_type(id) == (kind == "ksym_var" ? "VAR " + name : "FUNC " + std::string(essential(name))));
    CHECK(e.get("target")->integer("type_id") == id);
}

// Every program and extern of one object's document, and that every program has a record.
void check_document(const bt::json& doc, const std::string& libbpf, const std::string& path) {
    INFO("libbpf " << libbpf << ": " << path);
    const elf_facts facts = read_facts(path);
    std::vector<std::string> names;
    for (const auto& p : doc.get("programs")->items) {
        names.push_back(p.field("name"));
        check_program(p, libbpf);
    }
    std::vector<std::string> expected = facts.programs;
    std::sort(names.begin(), names.end());
    std::sort(expected.begin(), expected.end());
    CHECK(names == expected);
    CHECK(doc.get("externs")->items.size() == facts.extern_sites);
    for (const auto& e : doc.get("externs")->items) check_extern(e, libbpf, facts);
}

// What two documents of one object say differently: "program NAME FIELD: A | B", "extern NAME#INSN: A | B".
std::vector<std::string> differences(const bt::json& a, const bt::json& b) {
    std::vector<std::string> out;
    const auto& pa = a.get("programs")->items;
    const auto& pb = b.get("programs")->items;
    REQUIRE(pa.size() == pb.size());
    for (std::size_t i = 0; i < pa.size(); ++i) {
        for (const char* k : {"prog_type", "expected_attach_type", "captured"}) {
            if (pa[i].field(k) != pb[i].field(k)) out.push_back("program " + pa[i].field("name") + " " + k + ": " + pa[i].field(k) + " | " + pb[i].field(k));
        }
        const auto attach = [](const bt::json& p) { return p.is_null("attach") ? std::string("null") : p.get("attach")->field("name"); };
        if (attach(pa[i]) != attach(pb[i])) out.push_back("program " + pa[i].field("name") + " attach: " + attach(pa[i]) + " | " + attach(pb[i]));
    }
    const auto& ea = a.get("externs")->items;
    const auto& eb = b.get("externs")->items;
    REQUIRE(ea.size() == eb.size());
    for (std::size_t i = 0; i < ea.size(); ++i) {
        const auto said = [](const bt::json& e) { return e.field("result") + " " + e.field("bytes"); };
        if (said(ea[i]) != said(eb[i])) out.push_back("extern " + ea[i].field("name") + "#" + ea[i].field("insn") + ": " + said(ea[i]) + " | " + said(eb[i]));
    }
    return out;
}

std::vector<std::string> corpus_objects() {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(corpus_dir / "bpf", ec)) {
        if (e.path().extension() == ".o") out.push_back(e.path().string());
    }
    std::sort(out.begin(), out.end());
    return out;
}

// Runs every oracle built on `objects` and checks each document; `more(oracle, docs)` checks the rest.
// Returns the documents by libbpf version.
template <class F>
std::map<std::string, std::vector<bt::json>> run_and_check(const std::vector<std::string>& objects, F&& more) {
    bt::temp_dir scratch("btfkit-load-oracle");
    std::map<std::string, std::vector<bt::json>> by_version;
    for (const oracle& o : oracles()) {
        auto docs = run_loads(o, objects, scratch.path);
        for (std::size_t i = 0; i < docs.size(); ++i) check_document(docs[i], o.version, objects[i]);
        more(o, docs);
        by_version[o.version] = std::move(docs);
    }
    return by_version;
}

const char* const fixture_objects[] = {"ksym_kfunc.bpf.o", "ksym_errors.1.bpf.o", "ksym_errors.2.bpf.o", "ksym_errors.3.bpf.o"};

}  // namespace

TEST_CASE("load oracle: the ksym/kfunc fixtures, every form, against the running kernel") {
    if (const std::string why = cannot_load(); !why.empty()) {
        MESSAGE(why << ": skipped");
        return;
    }
    std::vector<std::string> objects;
    for (const char* o : fixture_objects) objects.push_back((fixture_dir / "ksym" / o).string());
    if (!fs::exists(objects[0])) {
        MESSAGE("ksym fixtures not built (no BPF clang or no kernel BTF at build time): skipped");
        return;
    }
    auto by_version = run_and_check(objects, [&](const oracle& o, const std::vector<bt::json>& docs) {
        const bt::json& k = docs[0];

        // Each attach section: the program type libbpf gives it and the target issue 17's table names.
        const std::map<std::string, std::pair<std::string, std::string>> types = {
            {"fentry_all", {"BPF_PROG_TYPE_TRACING", "BPF_TRACE_FENTRY"}}, {"fexit_prog", {"BPF_PROG_TYPE_TRACING", "BPF_TRACE_FEXIT"}},
            {"fmod_ret_prog", {"BPF_PROG_TYPE_TRACING", "BPF_MODIFY_RETURN"}}, {"lsm_prog", {"BPF_PROG_TYPE_LSM", "BPF_LSM_MAC"}},
            {"tp_btf_prog", {"BPF_PROG_TYPE_TRACING", "BPF_TRACE_RAW_TP"}}, {"iter_prog", {"BPF_PROG_TYPE_TRACING", "BPF_TRACE_ITER"}},
            {"kprobe_prog", {"BPF_PROG_TYPE_KPROBE", "BPF_CGROUP_INET_INGRESS"}},
            {"raw_tp_prog", {"BPF_PROG_TYPE_RAW_TRACEPOINT", "BPF_CGROUP_INET_INGRESS"}},
            {"socket_prog", {"BPF_PROG_TYPE_SOCKET_FILTER", "BPF_CGROUP_INET_INGRESS"}},
            {"fentry_vmlinux", {"BPF_PROG_TYPE_TRACING", "BPF_TRACE_FENTRY"}}, {"fentry_missing", {"BPF_PROG_TYPE_TRACING", "BPF_TRACE_FENTRY"}}};
        const std::map<std::string, std::string> attach = {
            {"fentry_all", "do_nanosleep"}, {"fexit_prog", "do_nanosleep"}, {"fmod_ret_prog", "bpf_modify_return_test"},
            {"lsm_prog", "bpf_lsm_file_open"}, {"tp_btf_prog", "btf_trace_sched_switch"}, {"iter_prog", "bpf_iter_task"},
            {"kprobe_prog", "null"}, {"raw_tp_prog", "null"}, {"socket_prog", "null"},
            {"fentry_vmlinux", o.version == "1.1" ? "null" : "do_nanosleep"}, {"fentry_missing", "null"}};
        for (const auto& [name, t] : types) {
            INFO("libbpf " << o.version << ": " << name);
            const bt::json* p = program_named(k, name);
            REQUIRE(p != nullptr);
            CHECK(p->field("prog_type") == t.first);
            CHECK(p->field("expected_attach_type") == t.second);
            CHECK((p->is_null("attach") ? "null" : p->get("attach")->field("name")) == attach.at(name));
        }
        // libbpf 1.1 has no module:function syntax and looks for a function called "vmlinux:do_nanosleep"
        CHECK(program_named(k, "fentry_vmlinux")->field("captured") == (o.version == "1.1" ? "false" : "true"));
        CHECK(program_named(k, "fentry_missing")->field("captured") == "false");

        // Each extern by its result, in one line per site: NAME KIND RESULT.
        std::multiset<std::string> seen;
        for (const auto& e : k.get("externs")->items) seen.insert(e.field("name") + " " + e.field("kind") + " " + e.field("result"));
        const bool v11 = o.version == "1.1";
        for (const std::string s : {"bpf_prog_active ksym_var ok", "runqueues ksym_var ok", "do_nanosleep ksym_typeless ok",
                                    "_stext ksym_typeless ok", "btfkit_no_such_var ksym_var missing",
                                    "btfkit_no_such_sym ksym_typeless missing", "bpf_prog_active___v2 ksym_var missing",
                                    "bpf_task_acquire kfunc_call ok", "bpf_cpumask_create kfunc_call ok",
                                    "bpf_task_from_pid kfunc_addr ok", "bpf_task_from_pid kfunc_call ok",
                                    "btfkit_no_such_kfunc kfunc_addr missing",
                                    v11 ? "btfkit_no_such_kfunc kfunc_call missing" : "btfkit_no_such_kfunc kfunc_call poisoned",
                                    v11 ? "bpf_rcu_read_lock___v2 kfunc_call missing" : "bpf_rcu_read_lock___v2 kfunc_call ok",
                                    v11 ? "bpf_rcu_read_lock___v2 kfunc_addr missing" : "bpf_rcu_read_lock___v2 kfunc_addr ok"}) {
            CHECK_MESSAGE(seen.contains(s), "libbpf " << o.version << ": no extern site " << s);
        }
        // .text sites are read from a program that carries a copy of the subprogram
        for (const auto& e : k.get("externs")->items) {
            if (e.field("section") == ".text") CHECK(e.field("result") == "ok");
        }

        // ksym_errors: a strong missing VAR or kfunc fails every program; a weak kfunc with the wrong
        // prototype fails them in 1.1 and is a missing kfunc in 1.7.
        for (std::size_t i = 1; i < docs.size(); ++i) {
            const bool fails = i < 3 || v11;
            INFO("libbpf " << o.version << ": " << objects[i]);
            for (const auto& p : docs[i].get("programs")->items) CHECK(p.field("captured") == (fails ? "false" : "true"));
            for (const auto& e : docs[i].get("externs")->items) {
                CHECK(e.field("result") == (fails ? "error" : e.field("kind") == "kfunc_call" ? "poisoned" : "missing"));
            }
        }
    });

    if (by_version.size() == 2) {
        // Where libbpf 1.1 and 1.7 part, on this kernel: the module:function syntax, flavored kfuncs,
        // the weak missing kfunc call (imm 0 vs poisoned), and a weak kfunc of the wrong prototype.
        const auto d = differences(by_version["1.1"][0], by_version["1.7"][0]);
        std::vector<std::string> what;
        for (const auto& s : d) what.push_back(s.substr(0, s.find(':')));
        const std::vector<std::string> expected = {
            "program fentry_vmlinux captured", "program fentry_vmlinux attach",
            "extern btfkit_no_such_kfunc#40", "extern bpf_rcu_read_lock___v2#41", "extern bpf_rcu_read_unlock___v2#44",
            "extern bpf_rcu_read_lock___v2#47", "extern bpf_rcu_read_unlock___v2#48"};
        for (const auto& s : d) MESSAGE("1.1 | 1.7: " << s);
        CHECK(what == expected);
        CHECK(differences(by_version["1.1"][3], by_version["1.7"][3]).size() == 4);  // 2 programs captured, 2 sites
    }
}

TEST_CASE("load oracle: every program of the libbpf-tools corpus has a record") {
    if (const std::string why = cannot_load(); !why.empty()) {
        MESSAGE(why << ": skipped");
        return;
    }
    const auto objects = corpus_objects();
    if (objects.empty()) {
        MESSAGE("no corpus (bench/corpus/fetch): skipped");
        return;
    }
    auto by_version = run_and_check(objects, [&](const oracle& o, const std::vector<bt::json>& docs) {
        std::size_t programs = 0, captured = 0, attach = 0, externs = 0;
        for (std::size_t i = 0; i < docs.size(); ++i) {
            for (const auto& p : docs[i].get("programs")->items) {
                ++programs;
                if (p.field("captured") == "true") ++captured;
                if (!p.is_null("attach")) ++attach;
                // libbpf fails a program before BPF_PROG_LOAD only when its attach target is not in this
                // kernel (libbpf-tools' dummy_* placeholders, functions renamed since)
                if (p.field("captured") != "true") {
                    const auto lookup = attach_lookup(p.field("section"), o.version);
                    REQUIRE(lookup.has_value());
                    bool present = false;
                    for (const auto& [id, t] : kernel_types()) present = present || t == lookup->second + " " + lookup->first;
                    CHECK_MESSAGE(!present, p.field("name") << ": " << lookup->first << " is in the kernel");
                }
            }
            externs += docs[i].get("externs")->items.size();
        }
        MESSAGE("libbpf " << o.version << ": " << docs.size() << " objects, " << programs << " programs, " << captured
                          << " reached BPF_PROG_LOAD, " << attach << " with a BTF attach target, " << externs << " extern sites");
    });
    if (by_version.size() == 2) {
        // The one place they part on the corpus: 1.7 loads usdt programs for uprobe_multi links where
        // the kernel has them.
        for (std::size_t i = 0; i < objects.size(); ++i) {
            for (const auto& s : differences(by_version["1.1"][i], by_version["1.7"][i])) {
                INFO(objects[i] << ": " << s);
                CHECK(s.ends_with("expected_attach_type: BPF_CGROUP_INET_INGRESS | BPF_TRACE_UPROBE_MULTI"));
            }
        }
    }
}

namespace {

// `btfkit relocate --json --libbpf --libbpf-compat V` of `objects`, one document each.
// (Status 1 where an object has a failing extern, as libbpf fails its load.)
std::vector<bt::json> run_btfkit(const std::string& version, const std::vector<std::string>& objects, const fs::path& scratch) {
    return run_json_lines({BTFKIT_TOOL, "relocate", "--json", "--libbpf", "--libbpf-compat", version}, objects, scratch, false);
}

std::string attach_of(const bt::json& p) {
    if (p.is_null("attach") || p.get("attach") == nullptr) return "null";
    const bt::json& a = *p.get("attach");
    return a.field("btf") + " " + a.field("type_id") + " " + a.field("name");
}

// The oracle's result for a site, in btfkit's words.
std::string btfkit_result(const std::string& libbpf_result) {
    return libbpf_result == "ok" ? "resolved" : libbpf_result == "missing" ? "zero" : libbpf_result;
}

// What btfkit's document of one object says unlike libbpf's: each program's type, expected attach type
// and attach target; each extern site libbpf wrote (result, target, instruction bytes). Where libbpf
// stopped before loading, btfkit must have said why (a failed extern, or a missing attach target).
std::vector<std::string> disagreements(const bt::json& libbpf, const bt::json& ours) {
    std::vector<std::string> out;
    const bool extern_failed = ours.get("summary")->integer("extern_errors") > 0;
    std::set<std::string> core_failed;  // sections with a failed CO-RE relocation
    for (const auto& r : ours.get("relocations")->items) {
        if (r.field("result") == "error") core_failed.insert(r.field("section"));
    }
    for (const auto& p : libbpf.get("programs")->items) {
        const bt::json* q = nullptr;
        for (const auto& c : ours.get("programs")->items) {
            if (c.field("name") == p.field("name")) q = &c;
        }
        const std::string name = "program " + p.field("name");
        if (q == nullptr) {
            out.push_back(name + ": not reported");
            continue;
        }
        for (const char* k : {"prog_type", "expected_attach_type"}) {
            if (p.field(k) != q->field(k)) out.push_back(name + " " + k + ": " + p.field(k) + " | " + q->field(k));
        }
        if (p.field("captured") == "true") {
            if (attach_of(p) != attach_of(*q)) out.push_back(name + " attach: " + attach_of(p) + " | " + attach_of(*q));
        } else if (q->get("error") == nullptr && !extern_failed && !core_failed.contains(p.field("section")) && !core_failed.contains(".text")) {
            out.push_back(name + ": libbpf did not load it, btfkit reports no error");
        }
    }
    std::size_t sites = 0;
    for (const auto& e : libbpf.get("externs")->items) {
        const std::string r = e.field("result");
        if (r == "unreached" || r == "error") continue;  // no instruction of libbpf's to compare
        ++sites;
        const bt::json* q = nullptr;
        for (const auto& c : ours.get("externs")->items) {
            if (c.field("section") == e.field("section") && c.field("insn") == e.field("insn") && c.field("name") == e.field("name")) q = &c;
        }
        const std::string name = "extern " + e.field("name") + "#" + e.field("section") + ":" + e.field("insn");
        if (q == nullptr) {
            out.push_back(name + ": not reported");
            continue;
        }
        const auto target = [](const bt::json& x) { return x.is_null("target") ? std::string("null") : x.get("target")->field("btf") + " " + x.get("target")->field("type_id"); };
        if (e.field("kind") != q->field("kind")) out.push_back(name + " kind: " + e.field("kind") + " | " + q->field("kind"));
        if (btfkit_result(r) != q->field("result")) out.push_back(name + " result: " + r + " | " + q->field("result"));
        if (target(e) != target(*q)) out.push_back(name + " target: " + target(e) + " | " + target(*q));
        // A module's fd in the second half is the oracle's own; vmlinux and missing sites compare whole.
        const bool module = !e.is_null("target") && e.get("target")->field("btf") != "vmlinux";
        const std::string a = e.field("bytes"), b = q->field("bytes");
        if (module ? a.substr(0, 24) != b.substr(0, 24) : a != b) out.push_back(name + " bytes: " + a + " | " + b);
    }
    // Every site btfkit wrote is one libbpf reports (kconfig values are the loader's map's business).
    std::size_t ours_sites = 0;
    for (const auto& c : ours.get("externs")->items) ours_sites += c.field("kind") != "kconfig";
    if (ours_sites != libbpf.get("externs")->items.size()) {
        out.push_back("extern sites: " + std::to_string(libbpf.get("externs")->items.size()) + " | " + std::to_string(ours_sites));
    }
    (void)sites;
    return out;
}

}  // namespace

TEST_CASE("load oracle: btfkit relocate's externs and programs are libbpf 1.1's and 1.7's") {
    if (const std::string why = cannot_load(); !why.empty()) {
        MESSAGE(why << ": skipped");
        return;
    }
    std::vector<std::string> objects;
    for (const char* o : fixture_objects) objects.push_back((fixture_dir / "ksym" / o).string());
    objects.push_back((fixture_dir / "ksym" / "kernel_externs.bpf.o").string());
    if (!fs::exists(objects[0]) || !fs::exists(objects.back())) {
        MESSAGE("ksym fixtures not built: skipped");
        return;
    }
    for (const auto& c : corpus_objects()) objects.push_back(c);
    bt::temp_dir scratch("btfkit-load-diff");
    for (const oracle& o : oracles()) {
        const auto theirs = run_loads(o, objects, scratch.path);
        const auto ours = run_btfkit(o.version, objects, scratch.path);
        std::size_t programs = 0, sites = 0;
        for (std::size_t i = 0; i < objects.size(); ++i) {
            INFO("libbpf " << o.version << ": " << objects[i]);
            programs += theirs[i].get("programs")->items.size();
            sites += theirs[i].get("externs")->items.size();
            for (const auto& d : disagreements(theirs[i], ours[i])) FAIL_CHECK(d);
        }
        MESSAGE("libbpf " << o.version << ": " << objects.size() << " objects, " << programs << " programs, " << sites << " extern sites compared");
        CHECK(programs > 200);
    }
}
