// `btfkit find --kind func|var` and `btfkit funcs` against bpftool's dump (the running vmlinux, Debian
// corpus modules over the Debian vmlinux), and c_prototype against `ksnoop info` (the corpus's
// libbpf-tools) for a few hundred running vmlinux functions.
#include <doctest/doctest.h>
#include <fnmatch.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "blob_builder.hpp"
#include "btfkit.hpp"
#include "btfkit/kernel.hpp"
#include "process.hpp"
#include "running_vmlinux.hpp"
#include "temp_dir.hpp"
#include "symbols_sample.hpp"

namespace {
namespace fs = std::filesystem;
namespace bk = btfkit;
namespace bt = btfkit::testing;
using bk::kind;
using bk::name_space;
using namespace btfkit::testing::symbols_sample;
}  // namespace

// ---- against bpftool and ksnoop ----

namespace {

const fs::path corpus = BTFKIT_CORPUS_DIR;
const std::string tool = BTFKIT_TOOL;

const fs::path& scratch() {
    static const bt::temp_dir dir("btfkit-test-symbols");
    return dir.path;
}
bt::run_result run(const std::vector<std::string>& args) { return bt::run(args, scratch()); }
bool have_bpftool() { return run({"bpftool", "version"}).status == 0; }

std::vector<std::string> lines_of(std::string_view text) {
    std::vector<std::string> lines;
    while (!text.empty()) {
        const std::size_t nl = text.find('\n');
        lines.emplace_back(text.substr(0, nl));
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    }
    return lines;
}

// bpftool's FUNC lines of `file` (split over `base` if given) as "name id linkage".
std::set<std::string> bpftool_funcs(const std::string& file, const std::string& base = {}) {
    std::vector<std::string> args{"bpftool", "btf", "dump", "file", file};
    if (!base.empty()) args.insert(args.end(), {"-B", base});
    const bt::run_result r = run(args);
    REQUIRE_MESSAGE(r.status == 0, r.err);
    std::set<std::string> out;
    for (const std::string& l : lines_of(r.out)) {
        const std::size_t close = l.find("] FUNC '");
        if (!l.starts_with("[") || close == std::string::npos) continue;
        const std::size_t q2 = l.find('\'', close + 8), link = l.find("linkage=");
        REQUIRE(q2 != std::string::npos);
        REQUIRE(link != std::string::npos);
        out.insert(l.substr(close + 8, q2 - close - 8) + " " + l.substr(1, close - 1) + " " + l.substr(link + 8));
    }
    return out;
}

// `btfkit funcs` lines ("NAME BTF TYPE_ID OBJ_ID LINKAGE PROTOTYPE") of one BTF as "name id linkage".
std::set<std::string> btfkit_funcs(const std::string& out, std::string_view btf_name) {
    std::set<std::string> got;
    for (const std::string& l : lines_of(out)) {
        std::vector<std::string> f;
        std::size_t at = 0;
        for (int k = 0; k < 5; ++k) {
            const std::size_t sp = l.find(' ', at);
            f.push_back(l.substr(at, sp - at));
            at = sp + 1;
        }
        if (f[1] == btf_name) got.insert(f[0] + " " + f[2] + " " + f[4]);
    }
    return got;
}

}  // namespace

TEST_CASE("funcs and find --kind func on the running vmlinux: bpftool's functions and ids, with the BTF object id") {
    const std::string sys = "/sys/kernel/btf/vmlinux";
    if (::access(sys.c_str(), R_OK) != 0 || !have_bpftool()) { MESSAGE("skipped: needs /sys/kernel/btf/vmlinux and bpftool"); return; }
    const std::set<std::string> want = bpftool_funcs(sys);
    REQUIRE(want.size() > 10000);
    const bt::run_result r = run({tool, "funcs", "*", "--index-cache", "off"});  // the running kernel, its modules if any
    REQUIRE_MESSAGE(r.status == 0, r.err);
    CHECK(btfkit_funcs(r.out, "vmlinux") == want);

    // The BTF object id column: the id bpftool shows for vmlinux.
    const bt::run_result show = run({"bpftool", "btf", "show"});
    std::string vmlinux_id;
    for (const std::string& l : lines_of(show.out)) {
        if (l.find("name [vmlinux]") != std::string::npos) vmlinux_id = l.substr(0, l.find(':'));
    }
    if (!vmlinux_id.empty()) {
        const std::string first = lines_of(r.out).front();
        std::size_t at = 0;
        for (int k = 0; k < 3; ++k) at = first.find(' ', at) + 1;
        CHECK(first.substr(at, first.find(' ', at) - at) == vmlinux_id);
    }

    // find --kind func, for every 97th function name: the ids bpftool lists under that name.
    std::map<std::string, std::set<std::string>> ids;
    for (const std::string& f : want) ids[f.substr(0, f.find(' '))].insert(f.substr(f.find(' ') + 1, f.rfind(' ') - f.find(' ') - 1));
    std::vector<std::string> args{tool, "find", "--kind", "func", "--btf", sys, "--index-cache", "off"};
    std::size_t i = 0;
    for (const auto& [name, _] : ids) {
        if (i++ % 97 == 0) args.push_back(name);
    }
    args.push_back("btfkit_no_such_function");
    const bt::run_result fr = run(args);
    CHECK(fr.status == 1);
    CHECK(fr.err == "btfkit find: btfkit_no_such_function: not found as func\n");
    std::map<std::string, std::set<std::string>> got;
    for (const std::string& l : lines_of(fr.out)) {
        const std::vector<std::string> f = [&] {
            std::vector<std::string> v;
            std::size_t at = 0;
            for (std::size_t sp = l.find(' '); at != std::string::npos; sp = l.find(' ', at)) {
                v.push_back(l.substr(at, sp - at));
                at = sp == std::string::npos ? sp : sp + 1;
            }
            return v;
        }();
        REQUIRE(f.size() == 5);
        CHECK(f[3] == "FUNC");
        CHECK(f[0] == f[4]);
        got[f[0]].insert(f[2]);
    }
    for (std::size_t k = 8; k < args.size() - 1; ++k) CHECK(got[args[k]] == ids[args[k]]);
}

TEST_CASE("funcs and find --kind func|var on Debian corpus modules over the Debian vmlinux: bpftool -B's functions and ids") {
    if (!fs::exists(corpus / "vmlinux") || !fs::exists(corpus / "modules" / "nf_conntrack") || !have_bpftool()) {
        MESSAGE("skipped: needs the Debian corpus (bench/corpus/fetch) and bpftool");
        return;
    }
    const std::string vmlinux = (corpus / "vmlinux").string();
    std::vector<std::string> all;
    for (const auto& e : fs::directory_iterator(corpus / "modules")) all.push_back(e.path().filename().string());
    std::sort(all.begin(), all.end());
    std::vector<std::string> sample{"nf_conntrack", "xfs", "veth"};
    for (std::size_t i = 0; i < all.size(); i += 67) sample.push_back(all[i]);
    std::sort(sample.begin(), sample.end());
    sample.erase(std::unique(sample.begin(), sample.end()), sample.end());

    std::vector<std::string> args{tool, "funcs", "*", "--btf", vmlinux, "--index-cache", "off"};
    for (const std::string& m : sample) args.insert(args.end(), {"--module", (corpus / "modules" / m).string()});
    const bt::run_result r = run(args);
    REQUIRE_MESSAGE(r.status == 0, r.err);
    CHECK(btfkit_funcs(r.out, "vmlinux") == bpftool_funcs(vmlinux));
    std::size_t funcs = 0;
    for (const std::string& m : sample) {
        INFO("module ", m);
        const auto want = bpftool_funcs((corpus / "modules" / m).string(), vmlinux);
        funcs += want.size();
        CHECK(btfkit_funcs(r.out, m) == want);
    }
    CHECK(funcs > 1000);

    // MODULE:GLOB restricts the BTFs searched.
    args[2] = "nf_conntrack:bpf_*";
    const bt::run_result nf = run(args);
    REQUIRE(nf.status == 0);
    for (const std::string& l : lines_of(nf.out)) CHECK(l.find(" nf_conntrack ") != std::string::npos);
    CHECK(nf.out.find("bpf_xdp_ct_lookup nf_conntrack ") != std::string::npos);
    CHECK(nf.out.find("bpf_ct_release nf_conntrack ") != std::string::npos);
    args[2] = "vmlinux:tcp_sendmsg";
    const bt::run_result vm = run(args);
    REQUIRE(vm.status == 0);
    CHECK(lines_of(vm.out).size() == 1);
    CHECK(vm.out.starts_with("tcp_sendmsg vmlinux "));
    const bt::run_result json = run({tool, "funcs", "nf_conntrack:bpf_ct_release", "btfkit_absent_*", "--json", "--btf", vmlinux, "--index-cache", "off",
                                     "--module", (corpus / "modules" / "nf_conntrack").string()});
    CHECK(json.status == 1);
    CHECK(json.err == "btfkit funcs: btfkit_absent_*: no function matches\n");
    const auto docs = lines_of(json.out);
    REQUIRE(docs.size() == 2);
    CHECK(docs[0].starts_with("{\"glob\": \"nf_conntrack:bpf_ct_release\", \"functions\": [{\"name\": \"bpf_ct_release\", \"btf\": \"nf_conntrack\", \"type_id\": "));
    CHECK(docs[0].ends_with(", \"btf_obj_id\": null, \"linkage\": \"static\", \"prototype\": \"void bpf_ct_release(struct nf_conn *nfct);\"}]}"));
    CHECK(docs[1] == "{\"glob\": \"btfkit_absent_*\", \"functions\": []}");

    // --attachable keeps what available_filter_functions lists: here a saved list naming one vmlinux
    // function, one nf_conntrack function, and a function of a module not among the targets.
    bt::temp_dir ftrace("btfkit-test-symbols-ftrace");
    const std::string list = (ftrace.path / "available_filter_functions").string();
    std::ofstream(list) << "tcp_sendmsg\nbpf_ct_release [nf_conntrack]\nbpf_xdp_ct_lookup [xfs]\nnot_in_btf\n";
    const bt::run_result att = run({tool, "funcs", "tcp_sendmsg*", "nf_conntrack:bpf_*", "--attachable", "--filter-functions", list, "--btf", vmlinux,
                                    "--index-cache", "off", "--module", (corpus / "modules" / "nf_conntrack").string()});
    REQUIRE_MESSAGE(att.status == 0, att.err);
    const auto kept = lines_of(att.out);
    REQUIRE(kept.size() == 2);
    CHECK(kept[0].starts_with("tcp_sendmsg vmlinux "));
    CHECK(kept[1].starts_with("bpf_ct_release nf_conntrack "));
    const bt::run_result none = run({tool, "funcs", "tcp_sendmsg", "--attachable", "--filter-functions", (ftrace.path / "absent").string(),
                                     "--btf", vmlinux, "--index-cache", "off"});
    CHECK(none.status != 0);
    CHECK(none.err.find("absent") != std::string::npos);

    // find --kind func / var across all 4,023 modules, with and without the index cache.
    bt::temp_dir tmp("btfkit-test-symbols-cache");
    const std::string cache = (tmp.path / "cache").string() + "/";
    auto find = [&](const std::string& kind, const std::string& index_cache, std::vector<std::string> names) {
        std::vector<std::string> a{tool, "find", "--kind", kind, "--btf", vmlinux, "--modules-dir", (corpus / "modules").string(), "--index-cache", index_cache};
        a.insert(a.end(), names.begin(), names.end());
        return run(a);
    };
    const std::vector<std::string> names{"bpf_xdp_ct_lookup", "nf_conntrack_in", "tcp_sendmsg", "xfs_fs_fill_super", "btfkit_absent"};
    const bt::run_result off = find("func", "off", names);
    CHECK(off.status == 1);
    CHECK(off.out.find("bpf_xdp_ct_lookup nf_conntrack ") != std::string::npos);
    CHECK(off.out.find("tcp_sendmsg vmlinux ") != std::string::npos);
    CHECK(off.out.find("xfs_fs_fill_super xfs ") != std::string::npos);
    CHECK(find("func", cache, names).out == off.out);  // miss: the symbols' indexes built and saved
    CHECK(find("func", cache, names).out == off.out);  // hit
    const bt::run_result vars = find("var", "off", {"runqueues", "btfkit_absent"});
    CHECK(vars.out.find("runqueues vmlinux ") != std::string::npos);
    CHECK(find("var", cache, {"runqueues", "btfkit_absent"}).out == vars.out);
}

namespace {

// ksnoop's `info` line from ours: it drops qualifiers, shows one '*' (next to the name) for any depth
// of pointer, and "()" for no parameters.
std::string as_ksnoop(const std::string& s) {
    // The words, without the qualifiers (and a space next to each).
    auto ident = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
    std::string words;
    for (std::size_t at = 0; at < s.size();) {
        if (!ident(s[at])) {
            words += s[at++];
            continue;
        }
        std::size_t end = at;
        while (end < s.size() && ident(s[end])) ++end;
        const std::string_view w(s.data() + at, end - at);
        if (w == "const" || w == "volatile" || w == "restrict") {
            if (end < s.size() && s[end] == ' ') ++end;
            else if (!words.empty() && words.back() == ' ') words.pop_back();
        } else {
            words += w;
        }
        at = end;
    }
    std::string out;
    for (const char c : words) {
        if (c == '*') {  // "* *" (a qualifier between) or "**": one '*'
            std::size_t end = out.size();
            while (end > 0 && out[end - 1] == ' ') --end;
            if (end > 0 && out[end - 1] == '*') {
                out.resize(end);
                continue;
            }
        }
        out += c;
    }
    for (std::size_t at = out.find("(void)"); at != std::string::npos; at = out.find("(void)", at)) out.replace(at, 6, "()");
    for (std::size_t at = out.find("* "); at != std::string::npos; at = out.find("* ", at)) out.erase(at + 1, 1);  // "* const p"
    return out;
}

constexpr std::size_t ksnoop_max_args = 5;  // ksnoop's MAX_ARGS

// Whether ksnoop prints this function as C can say it: named parameters, no variadic, each type (past
// pointers and qualifiers) void or a named int, typedef, struct, union or enum (ksnoop loops forever
// on a function pointer or an anonymous type, and spells others its own way). Past its MAX_ARGS (5)
// ksnoop prints what lies after its five argument slots, so only the first five are checked there.
bool ksnoop_can_print(const bk::btf& b, std::uint32_t func) {
    const bk::type proto = b[b[func].ref()];
    auto plain = [&](std::uint32_t id) {
        for (int depth = 0; depth < 16; ++depth) {
            if (id == 0) return true;
            const bk::type t = b[id];
            switch (t.kind()) {
            case kind::ptr: case kind::const_: case kind::volatile_: case kind::restrict_: id = t.ref(); continue;
            case kind::int_: case kind::typedef_: case kind::struct_: case kind::union_: case kind::enum_: return !t.name().empty();
            default: return false;
            }
        }
        return false;
    };
    if (!plain(proto.ref())) return false;
    std::size_t n = 0;
    for (const bk::param p : proto.params()) {
        if (n++ == ksnoop_max_args) break;
        if (p.type == 0 || b.string(p.name_off).empty() || !plain(p.type)) return false;
    }
    return true;
}

// ksnoop's line for a function of more than five parameters: ours up to the fifth, then the slot past
// its arguments (the return value's), then its note of the rest. Past six parameters it reads beyond
// its array (what it prints there is undefined, newlines included): only the head is defined.
struct ksnoop_line {
    std::string head, tail;  // the whole line when tail is empty
    bool head_only = false;  // more than six parameters
    [[nodiscard]] bool matches(const std::string& got) const {
        if (head_only) return got.starts_with(head);
        if (tail.empty()) return got == head;
        return got.size() >= head.size() + tail.size() && got.starts_with(head) && got.ends_with(tail);
    }
};
ksnoop_line ksnoop_expected(const std::string& ours, std::size_t params) {
    if (params <= ksnoop_max_args) return {ours, {}, false};
    std::size_t at = 0;
    for (std::size_t k = 0; k < ksnoop_max_args; ++k) at = ours.find(", ", at) + 2;
    return {ours.substr(0, at), " /* and " + std::to_string(params - ksnoop_max_args) + " more args that are not traceable */);",
            params > ksnoop_max_args + 1};
}

}  // namespace

TEST_CASE("c_prototype against ksnoop info: running vmlinux functions") {
    const fs::path ksnoop = corpus / "pkg-tools" / "usr" / "sbin" / "ksnoop";
    std::string why;
    const auto running = bt::open_running_vmlinux(why);
    if (running == nullptr || ::access(ksnoop.c_str(), X_OK) != 0 || run({ksnoop.string(), "info", "vfs_read"}).status != 0) {
        MESSAGE("skipped: needs the corpus's ksnoop (libbpf-tools) working on this kernel" << (why.empty() ? "" : ": " + why));
        return;
    }
    const bk::btf& b = *running->types;
    std::map<std::string, std::vector<std::uint32_t>> by_name;
    for (std::uint32_t id = 1; id < b.type_count(); ++id) {
        if (b.kind_of(id) == kind::func) by_name[std::string(b[id].name())].push_back(id);
    }
    std::vector<std::pair<std::string, ksnoop_line>> sample;  // (name, ours as ksnoop prints it)
    const char* all = std::getenv("BTFKIT_KSNOOP_ALL");
    const std::size_t stride = all != nullptr && std::string_view(all) == "1" ? 1 : 41;
    std::size_t i = 0;
    for (const auto& [name, ids] : by_name) {
        // Of several FUNCs of one name, ksnoop takes the first (btf__find_by_name_kind).
        if (!ksnoop_can_print(b, ids[0]) || i++ % stride != 0) continue;
        auto p = bk::c_prototype(b, ids[0]);
        REQUIRE(p.has_value());
        sample.emplace_back(name, ksnoop_expected(as_ksnoop(*p), b[b[ids[0]].ref()].vlen()));
    }
    REQUIRE(sample.size() > 300);
    // 64 functions per run (ksnoop's MAX_FUNC_TRACES), one line each; those whose line is defined only
    // in part, one per run.
    std::vector<std::size_t> batch;
    auto check_batch = [&] {
        if (batch.empty()) return;
        std::vector<std::string> args{ksnoop.string(), "info"};
        for (const std::size_t k : batch) args.push_back(sample[k].first);
        const bt::run_result r = run(args);
        REQUIRE_MESSAGE(r.status == 0, r.err);
        const auto got = lines_of(r.out);
        REQUIRE(got.size() == batch.size());
        for (std::size_t k = 0; k < got.size(); ++k) {
            INFO(sample[batch[k]].second.head << " ... " << sample[batch[k]].second.tail);
            CHECK_MESSAGE(sample[batch[k]].second.matches(got[k]), got[k]);
        }
        batch.clear();
    };
    std::size_t head_only = 0;
    for (std::size_t k = 0; k < sample.size(); ++k) {
        const ksnoop_line& want = sample[k].second;
        if (want.head_only) {
            const bt::run_result r = run({ksnoop.string(), "info", sample[k].first});
            REQUIRE_MESSAGE(r.status == 0, r.err);
            CHECK_MESSAGE(want.matches(r.out), want.head << " ... vs " << r.out.substr(0, want.head.size()));
            ++head_only;
            continue;
        }
        batch.push_back(k);
        if (batch.size() == 64) check_batch();
    }
    check_batch();
    MESSAGE(sample.size() << " functions compared (" << head_only << " of more than six parameters up to the fifth), of " << i
                          << " ksnoop can print");
}
