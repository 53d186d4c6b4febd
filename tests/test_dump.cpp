// `btfkit dump` against `bpftool btf dump file` byte for byte (blobs, kernel, corpus, fixtures);
// CLI errors and usage; `btfkit stat` counts against bpftool's dump.
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "blob_builder.hpp"
#include "process.hpp"
#include "btfkit/format/btf.hpp"
#include "btfkit/format/dump.hpp"
#include "btfkit/kernel.hpp"

namespace {

namespace fs = std::filesystem;
using namespace btfkit;
using testing::blob_builder;

const std::string tool = BTFKIT_TOOL;
const fs::path corpus = BTFKIT_CORPUS_DIR;
const fs::path fixtures = BTFKIT_FIXTURE_DIR;

// A scratch directory, removed at exit.
const fs::path& scratch() {
    struct dir {
        fs::path p;
        dir() {
            std::string t = (fs::temp_directory_path() / "btfkit-test-dump-XXXXXX").string();
            if (::mkdtemp(t.data()) == nullptr) std::abort();
            p = t;
        }
        ~dir() { std::error_code ec; fs::remove_all(p, ec); }
    };
    static const dir d;
    return d.p;
}

fs::path scratch_file(const std::string& name) { return scratch() / name; }

void write_file(const fs::path& p, std::string_view data) {
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f.write(data.data(), static_cast<std::streamsize>(data.size()));
    REQUIRE(f.good());
}

std::string read_file(const fs::path& p) { return testing::read_text(p); }

using testing::run_result;
using testing::spawn;
using testing::wait_for;

run_result run(const std::vector<std::string>& args) { return testing::run(args, scratch()); }

bool have_bpftool() {
    static const bool have = run({"bpftool", "version"}).status == 0;
    return have;
}

bool readable(const fs::path& p) { return ::access(p.c_str(), R_OK) == 0; }

// "line N:\n  bpftool: ...\n  btfkit:  ..." for the first line that differs.
std::string first_difference(std::string_view want, std::string_view got) {
    std::size_t line = 1, i = 0;
    const std::size_t n = std::min(want.size(), got.size());
    std::size_t start = 0;
    for (; i < n && want[i] == got[i]; ++i) {
        if (want[i] == '\n') { ++line; start = i + 1; }
    }
    auto line_at = [start](std::string_view s) {
        if (start >= s.size()) return std::string("<end of output>");
        const auto e = s.find('\n', start);
        return std::string(s.substr(start, e == std::string_view::npos ? std::string_view::npos : e - start));
    };
    return "line " + std::to_string(line) + ":\n  bpftool: " + line_at(want) + "\n  btfkit:  " + line_at(got);
}

std::vector<std::string> bpftool_args(const fs::path& file, const fs::path& base) {
    std::vector<std::string> a{"bpftool"};
    if (!base.empty()) { a.push_back("-B"); a.push_back(base.string()); }
    a.insert(a.end(), {"btf", "dump", "file", file.string()});
    return a;
}

std::vector<std::string> btfkit_args(const fs::path& file, const fs::path& base) {
    std::vector<std::string> a{tool, "dump", file.string()};
    if (!base.empty()) { a.push_back("--base"); a.push_back(base.string()); }
    return a;
}

enum class outcome { identical, differ, both_failed };

// Runs both tools on one file; checks and reports. Where bpftool fails, btfkit must fail too.
outcome compare_one(const fs::path& file, const fs::path& base = {}) {
    const run_result want = run(bpftool_args(file, base));
    const run_result got = run(btfkit_args(file, base));
    INFO("file: ", file.string(), base.empty() ? "" : " base: " + base.string());
    if (want.status != 0) {
        INFO("bpftool failed: ", want.err);
        CHECK(got.status == 1);
        CHECK(got.err.find(file.string()) != std::string::npos);
        return got.status == 1 ? outcome::both_failed : outcome::differ;
    }
    CHECK_MESSAGE(got.status == 0, got.err);
    if (want.out == got.out && got.status == 0) return outcome::identical;
    CHECK_MESSAGE(false, first_difference(want.out, got.out));
    return outcome::differ;
}

struct tally {
    int identical = 0, differ = 0, both_failed = 0;
    void add(outcome o) { (o == outcome::identical ? identical : o == outcome::differ ? differ : both_failed)++; }
    std::string str() const {
        return std::to_string(identical) + " byte-identical, " + std::to_string(differ) + " different, " +
               std::to_string(both_failed) + " rejected by both";
    }
};

std::vector<fs::path> files_in(const fs::path& dir, std::string_view suffix = {}) {
    std::vector<fs::path> v;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        if (e.is_regular_file() && e.path().string().ends_with(suffix)) v.push_back(e.path());
    }
    std::sort(v.begin(), v.end());
    return v;
}

// Every kind, every spelling bpftool has for a field, and edge values.
blob_builder every_kind_blob(byte_order order) {
    blob_builder b(order);
    const auto i32 = b.add_int("int", 4, int_signed);
    const auto u32 = b.add_int("unsigned int", 4, 0);
    b.add_int("char", 1, int_char);
    b.add_int("_Bool", 1, int_bool);
    b.add_int("odd", 8, 0, 24, 8);
    const auto ptr = b.add_ref(kind::ptr, "", i32);
    b.add_array(i32, u32, 4);
    b.add_array(ptr, u32, 0);
    b.add_struct("s", 16, true, {{"a", i32, 0, 0}, {"b", u32, 32, 3}, {"", u32, 35, 29}, {"c", ptr, 64, 0}});
    b.add_struct("", 8, false, {{"x", i32, 0, 0}, {"y", i32, 32, 0}});
    b.add_union("u", 4, false, {{"i", i32, 0, 0}, {"f", u32, 0, 0}});
    b.add_union("", 4, true, {{"bits", u32, 0, 7}});
    b.add_struct("empty", 0, false, {});
    b.add_enum("e_unsigned", 4, false, {{"A", 0}, {"B", 0xffffffffu}, {"C", 0x80000000u}});
    b.add_enum("e_signed", 4, true, {{"NEG", static_cast<std::uint64_t>(-1)}, {"MIN", 0x80000000u}, {"POS", 7}});
    b.add_enum("", 1, false, {});
    b.add_enum64("e64_unsigned", 8, false, {{"BIG", ~0ull}, {"HI", 1ull << 32}, {"ZERO", 0}});
    b.add_enum64("e64_signed", 8, true, {{"NEG", static_cast<std::uint64_t>(-5)}, {"MIN", 1ull << 63}, {"ONE", 1}});
    b.add_fwd("fs", false);
    b.add_fwd("fu", true);
    const auto td = b.add_ref(kind::typedef_, "s_t", i32);
    b.add_ref(kind::volatile_, "", td);
    const auto c = b.add_ref(kind::const_, "", td);
    b.add_ref(kind::restrict_, "", ptr);
    b.add_ref(kind::type_tag, "user", c);
    const auto proto = b.add_func_proto(i32, {{"a", i32}, {"", u32}, {"", 0}});
    b.add_func_proto(0, {});
    const auto f0 = b.add_ref(kind::func, "f_static", proto, 0);
    b.add_ref(kind::func, "f_global", proto, 1);
    b.add_ref(kind::func, "f_extern", proto, 2);
    const auto v0 = b.add_var("v_static", i32, 0);
    const auto v1 = b.add_var("v_global", u32, 1);
    b.add_var("v_extern", u32, 2);
    b.add_datasec(".data", 12, {{v0, 0, 4}, {v1, 4, 4}, {0, 8, 4}});
    b.add_datasec(".bss", 0, {});
    b.add_float("double", 8);
    b.add_decl_tag("tag_on_func", f0, -1);
    b.add_decl_tag("tag_on_param", f0, 1);
    b.add_decl_tag("tag_on_member", 9, 2);
    return b;
}

std::string_view as_view(const blob_builder& b) { return {b.bytes().data(), b.bytes().size()}; }

// Counts per kind and total, from a bpftool raw dump.
std::map<std::string, std::uint32_t> count_kinds(std::string_view dump, std::uint32_t& total) {
    std::map<std::string, std::uint32_t> m;
    total = 0;
    for (std::size_t pos = 0; pos < dump.size();) {
        auto e = dump.find('\n', pos);
        if (e == std::string_view::npos) e = dump.size();
        const std::string_view line = dump.substr(pos, e - pos);
        if (line.starts_with("[")) {
            const auto k0 = line.find("] ") + 2;
            ++m[std::string(line.substr(k0, line.find(' ', k0) - k0))];
            ++total;
        }
        pos = e + 1;
    }
    return m;
}

// Kind counts and "types: N" from `btfkit stat` output.
std::map<std::string, std::uint32_t> parse_stat(std::string_view s, std::uint32_t& total, std::uint32_t& strings) {
    std::map<std::string, std::uint32_t> m;
    total = strings = 0;
    for (std::size_t pos = 0; pos < s.size();) {
        auto e = s.find('\n', pos);
        if (e == std::string_view::npos) e = s.size();
        const std::string_view line = s.substr(pos, e - pos);
        const auto colon = line.find(": ");
        if (colon != std::string_view::npos) {
            const std::string key(line.substr(0, colon));
            const auto value = static_cast<std::uint32_t>(std::strtoul(std::string(line.substr(colon + 2)).c_str(), nullptr, 10));
            if (key.starts_with("  ")) {
                if (value != 0) m[key.substr(2)] = value;
            } else if (key == "types") {
                total = value;
            } else if (key == "strings") {
                strings = value;
            }
        }
        pos = e + 1;
    }
    return m;
}

void check_stat_against_bpftool(const fs::path& file, const fs::path& base = {}) {
    INFO("file: ", file.string());
    const run_result d = run(bpftool_args(file, base));
    REQUIRE_MESSAGE(d.status == 0, d.err);
    std::vector<std::string> args{tool, "stat", file.string()};
    if (!base.empty()) { args.push_back("-B"); args.push_back(base.string()); }
    const run_result s = run(args);
    REQUIRE_MESSAGE(s.status == 0, s.err);
    std::uint32_t want_total = 0, got_total = 0, got_strings = 0;
    const auto want = count_kinds(d.out, want_total);
    const auto got = parse_stat(s.out, got_total, got_strings);
    CHECK(got_total == want_total);
    CHECK(got == want);
    CHECK(s.out.find("parse: ") != std::string::npos);
    // String table size from the header, where the file is raw BTF.
    const std::string raw = read_file(file);
    const auto b = btf::parse(byte_span(raw.data(), raw.size()));
    if (b) CHECK(got_strings == b->header().str_len);
}

}  // namespace

TEST_CASE("dump: synthetic blobs with every kind, both byte orders, and split BTF") {
    if (!have_bpftool()) { MESSAGE("skipped: bpftool not found"); return; }
    for (const auto order : {byte_order::little, byte_order::big}) {
        const auto b = every_kind_blob(order);
        const auto p = scratch_file(order == byte_order::little ? "every_kind.le.btf" : "every_kind.be.btf");
        write_file(p, as_view(b));
        CHECK(compare_one(p) == outcome::identical);
    }
    // Split: a small base and types over it, including a name that is an empty string (not offset 0).
    blob_builder base(byte_order::little);
    const auto i32 = base.add_int("int", 4, int_signed);
    base.add_struct("base_s", 4, false, {{"x", i32, 0, 0}});
    const auto base_path = scratch_file("base.btf");
    write_file(base_path, as_view(base));
    const auto pb = btf::parse(base.span());
    REQUIRE(pb);
    blob_builder split(byte_order::little, pb->type_count(), pb->strings_size());
    const auto p = split.add_ref(kind::ptr, "", 2);
    split.add_struct("split_s", 16, false, {{"base", 2, 0, 0}, {"p", p, 64, 0}});
    const auto v = split.add_var("split_v", 2, 1);
    split.add_datasec(".data", 4, {{v, 0, 4}, {1, 4, 4}});
    split.add_func_proto(i32, {{"", i32}});
    const auto split_path = scratch_file("split.btf");
    write_file(split_path, as_view(split));
    CHECK(compare_one(split_path, base_path) == outcome::identical);
}

TEST_CASE("dump: values outside the spec, where bpftool accepts them") {
    if (!have_bpftool()) { MESSAGE("skipped: bpftool not found"); return; }
    // Each alone, so that one rejected by libbpf does not hide the others.
    struct odd_case {
        std::string what;
        blob_builder blob;
        bool btfkit_rejects;  // btf::parse checks every type id; libbpf 1.1 leaves DATASEC vars unchecked
    };
    const std::vector<odd_case> cases{
        {"INT encoding 3 (UNKN)", [] { blob_builder b(byte_order::little); b.add_int("x", 4, 3); return b; }(), false},
        {"FUNC linkage 3", [] {
             blob_builder b(byte_order::little);
             b.add_ref(kind::func, "f", b.add_func_proto(0, {}), 3);
             return b;
         }(), false},
        {"VAR linkage 7", [] {
             blob_builder b(byte_order::little);
             b.add_var("v", b.add_int("int", 4, int_signed), 7);
             return b;
         }(), false},
        {"DATASEC var past the end", [] { blob_builder b(byte_order::little); b.add_datasec(".d", 4, {{99, 0, 4}}); return b; }(), true},
    };
    for (const auto& c : cases) {
        INFO(c.what);
        const auto p = scratch_file("odd.btf");
        write_file(p, as_view(c.blob));
        if (c.btfkit_rejects) {
            const run_result r = run(btfkit_args(p, {}));
            CHECK(r.status == 1);
            CHECK(r.err.starts_with("btfkit: " + p.string() + ": "));
            continue;
        }
        const outcome o = compare_one(p);
        CHECK(o != outcome::differ);
        MESSAGE(c.what, std::string(o == outcome::identical ? ": identical" : ": rejected by both"));
    }
}

TEST_CASE("dump: library output into a std::string equals the CLI's") {
    const auto b = every_kind_blob(byte_order::little);
    const auto parsed = btf::parse(b.span());
    REQUIRE(parsed);
    std::string s;
    dump_raw(*parsed, s);
    const auto p = scratch_file("lib.btf");
    write_file(p, as_view(b));
    const run_result r = run({tool, "dump", p.string()});
    CHECK(r.status == 0);
    CHECK(r.out == s);
    CHECK(s.starts_with("[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED\n"));
    std::string one;
    dump_raw_type(*parsed, 1, one);
    CHECK(one == "[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED\n");
}

TEST_CASE("dump: running kernel BTF (/sys/kernel/btf)") {
    if (!have_bpftool()) { MESSAGE("skipped: bpftool not found"); return; }
    const fs::path sys = "/sys/kernel/btf";
    if (!readable(sys / "vmlinux")) { MESSAGE("skipped: /sys/kernel/btf/vmlinux not readable"); return; }
    tally t;
    // Modules there are split over vmlinux without -B, as bpftool assumes.
    for (const auto& f : files_in(sys)) t.add(compare_one(f));
    MESSAGE("/sys/kernel/btf: ", t.str());
    CHECK(t.identical >= 1);
}

TEST_CASE("dump: BPF objects (corpus bpf/ and test fixtures)") {
    if (!have_bpftool()) { MESSAGE("skipped: bpftool not found"); return; }
    auto objs = files_in(corpus / "bpf", ".o");
    const auto fx = files_in(fixtures, ".o");
    objs.insert(objs.end(), fx.begin(), fx.end());
    if (objs.empty()) { MESSAGE("skipped: no objects in ", (corpus / "bpf").string(), " or ", fixtures.string()); return; }
    tally t;
    for (const auto& f : objs) t.add(compare_one(f));
    MESSAGE("BPF objects: ", t.str());
    CHECK(t.differ == 0);
}

TEST_CASE("dump: corpus vmlinux, raw and ELF") {
    if (!have_bpftool()) { MESSAGE("skipped: bpftool not found"); return; }
    int seen = 0;
    for (const char* name : {"vmlinux", "vmlinux.elf"}) {
        if (!readable(corpus / name)) { MESSAGE("skipped: no ", (corpus / name).string()); continue; }
        ++seen;
        CHECK(compare_one(corpus / name) == outcome::identical);
    }
    if (seen) MESSAGE("corpus vmlinux files compared: ", seen);
}

TEST_CASE("dump: a few .ko files over the corpus vmlinux") {
    if (!have_bpftool()) { MESSAGE("skipped: bpftool not found"); return; }
    const fs::path base = corpus / "vmlinux";
    if (!readable(base) || !readable(corpus / "ko.list")) { MESSAGE("skipped: no corpus ko.list or vmlinux"); return; }
    std::vector<fs::path> kos;
    std::ifstream in(corpus / "ko.list");
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line[0] == '#') continue;
        fs::path p = line;
        if (p.is_relative()) p = corpus / p;
        kos.push_back(p);
    }
    if (kos.empty()) { MESSAGE("skipped: ko.list is empty"); return; }
    tally t;
    constexpr std::size_t samples = 8;
    for (std::size_t i = 0; i < samples && i < kos.size(); ++i) {
        const fs::path& ko = kos[i * kos.size() / std::min(samples, kos.size())];
        if (!readable(ko)) { MESSAGE("skipped missing ", ko.string()); continue; }
        t.add(compare_one(ko, base));
    }
    MESSAGE(".ko files: ", t.str());
    CHECK(t.identical > 0);
    CHECK(t.differ == 0);
}

// bpftool reparses the base per invocation (~0.1 s), so modules go through `bpftool batch` in a few
// parallel processes, and btfkit dumps each batch in one run; outputs are split per module by type count.
TEST_CASE("dump: every corpus module over the corpus vmlinux") {
    if (!have_bpftool()) { MESSAGE("skipped: bpftool not found"); return; }
    const fs::path base_path = corpus / "vmlinux";
    const auto modules = files_in(corpus / "modules");
    if (!readable(base_path) || modules.empty()) { MESSAGE("skipped: no corpus modules/ or vmlinux"); return; }
    const auto t0 = std::chrono::steady_clock::now();

    auto base_file = mapped_file::open(base_path.string());
    REQUIRE(base_file);
    const auto base = btf::parse(base_file->bytes());
    REQUIRE(base);
    // Own type count per module: where one module's dump ends in the concatenated output.
    std::vector<std::uint32_t> counts;
    for (const auto& m : modules) {
        auto f = mapped_file::open(m.string());
        REQUIRE(f);
        const auto b = btf::parse(f->bytes(), &*base);
        REQUIRE_MESSAGE(b, m.string(), ": ", b.error().message());
        counts.push_back(b->own_count());
    }

    constexpr std::size_t jobs = 2;
    struct job {
        std::size_t first = 0, last = 0;
        fs::path want, got;
        pid_t bpftool = -1, btfkit = -1;
    };
    std::vector<job> js(jobs);
    for (std::size_t j = 0; j < jobs; ++j) {
        job& jb = js[j];
        jb.first = modules.size() * j / jobs;
        jb.last = modules.size() * (j + 1) / jobs;
        const auto tag = std::to_string(j);
        const auto batch = scratch_file("modules" + tag + ".batch");
        std::string cmds;
        std::vector<std::string> args{tool, "dump", "--base", base_path.string()};
        for (std::size_t i = jb.first; i < jb.last; ++i) {
            REQUIRE(modules[i].string().find_first_of("\"\\ \t'") == std::string::npos);
            cmds += "btf dump file " + modules[i].string() + "\n";
            args.push_back(modules[i].string());
        }
        write_file(batch, cmds);
        jb.want = scratch_file("modules" + tag + ".bpftool");
        jb.got = scratch_file("modules" + tag + ".btfkit");
        jb.bpftool = spawn({"bpftool", "-B", base_path.string(), "batch", "file", batch.string()}, jb.want,
                           scratch_file("modules" + tag + ".bpftool.err"));
        jb.btfkit = spawn(args, jb.got, scratch_file("modules" + tag + ".btfkit.err"));
    }

    tally t;
    for (std::size_t j = 0; j < jobs; ++j) {
        job& jb = js[j];
        // bpftool 7.1 ends a batch with a spurious "reading batch file failed: Bad file descriptor"
        // (errno from close(-1)) and status 255, so its status is not checked; its output is.
        (void)wait_for(jb.bpftool);
        CHECK_MESSAGE(wait_for(jb.btfkit) == 0, read_file(scratch_file("modules" + std::to_string(j) + ".btfkit.err")));
        auto want_map = mapped_file::open(jb.want.string());
        auto got_map = mapped_file::open(jb.got.string());
        REQUIRE(want_map);
        REQUIRE(got_map);
        const std::string_view want(want_map->bytes().data(), want_map->size());
        const std::string_view got(got_map->bytes().data(), got_map->size());

        // Splits `s` after `n` type lines (each "[id] ..." plus its "\t..." continuation lines).
        auto take = [](std::string_view& s, std::uint32_t n) {
            std::size_t pos = 0;
            for (std::uint32_t k = 0; k < n && pos < s.size(); ++k) {
                do {
                    const auto e = s.find('\n', pos);
                    pos = e == std::string_view::npos ? s.size() : e + 1;
                } while (pos < s.size() && s[pos] == '\t');
            }
            const std::string_view chunk = s.substr(0, pos);
            s.remove_prefix(pos);
            return chunk;
        };
        std::string_view w = want, g = got;
        for (std::size_t i = jb.first; i < jb.last; ++i) {
            const std::string_view wc = take(w, counts[i]), gc = take(g, counts[i]);
            if (wc == gc && !wc.empty() == (counts[i] != 0)) {
                t.add(outcome::identical);
            } else {
                t.add(outcome::differ);
                if (t.differ <= 5) {
                    CHECK_MESSAGE(false, modules[i].string(), ": ", wc.empty() ? std::string("bpftool printed nothing: ") +
                        read_file(scratch_file("modules" + std::to_string(j) + ".bpftool.err")) : first_difference(wc, gc));
                }
            }
        }
        CHECK_MESSAGE(g.empty(), "btfkit printed more than the modules' types");
        CHECK_MESSAGE((w.empty() || w.starts_with("processed ")), "bpftool printed more than the modules' types");
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    MESSAGE("modules: ", t.str(), " (", modules.size(), " files, ", secs, " s)");
    CHECK(t.differ == 0);
    CHECK(t.identical == static_cast<int>(modules.size()));
}

TEST_CASE("errors: exit status 1 and a message naming the file") {
    const auto missing = scratch_file("does-not-exist.btf");
    auto r = run({tool, "dump", missing.string()});
    CHECK(r.status == 1);
    CHECK(r.out.empty());
    CHECK(r.err.starts_with("btfkit: " + missing.string() + ": "));
    CHECK(r.err.find("No such file") != std::string::npos);

    const auto text = scratch_file("not-btf.txt");
    write_file(text, "hello, world\n");
    r = run({tool, "dump", text.string()});
    CHECK(r.status == 1);
    CHECK(r.err.starts_with("btfkit: " + text.string() + ": "));

    const auto tiny = scratch_file("tiny");
    write_file(tiny, "x");
    r = run({tool, "stat", tiny.string()});
    CHECK(r.status == 1);
    CHECK(r.err.starts_with("btfkit: " + tiny.string() + ": "));

    // An ELF file without .BTF: the tool itself.
    r = run({tool, "dump", tool});
    CHECK(r.status == 1);
    CHECK(r.err.starts_with("btfkit: " + tool + ": "));
    CHECK(r.err.find(".BTF") != std::string::npos);

    // Truncated copies of a valid blob, at several cuts (header, types, strings).
    const auto b = every_kind_blob(byte_order::little);
    const std::string_view whole = as_view(b);
    const auto cut = scratch_file("truncated.btf");
    for (const std::size_t n : {std::size_t{0}, std::size_t{10}, std::size_t{24}, whole.size() / 2, whole.size() - 1}) {
        INFO("cut at ", n, " of ", whole.size());
        write_file(cut, whole.substr(0, n));
        r = run({tool, "dump", cut.string()});
        CHECK(r.status == 1);
        CHECK(r.out.empty());
        CHECK(r.err.starts_with("btfkit: " + cut.string() + ": "));
    }
    // And of the running kernel's BTF, if there is one.
    const fs::path sysv = "/sys/kernel/btf/vmlinux";
    if (readable(sysv)) {
        const std::string k = read_file(sysv);
        write_file(cut, std::string_view(k).substr(0, k.size() / 3));
        r = run({tool, "dump", cut.string()});
        CHECK(r.status == 1);
        CHECK(r.err.starts_with("btfkit: " + cut.string() + ": "));
    }

    // A missing base is named as such, in each spelling of the option.
    const auto whole_path = scratch_file("whole.btf");
    write_file(whole_path, whole);
    for (const auto& opt : std::vector<std::vector<std::string>>{{"--base", missing.string()}, {"-B", missing.string()},
                                                                 {"--base=" + missing.string()}}) {
        std::vector<std::string> args{tool, "dump", whole_path.string()};
        args.insert(args.end(), opt.begin(), opt.end());
        r = run(args);
        CHECK(r.status == 1);
        CHECK(r.err.starts_with("btfkit: " + missing.string() + ": "));
    }
}

// Help and the other usage errors of every command: test_cli.cpp.
TEST_CASE("usage: no command, an unknown one, or bad arguments exit 2 with usage on stderr") {
    for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
             {tool}, {tool, "frobnicate"}, {tool, "dump"}, {tool, "dump", "--bogus", "x"}, {tool, "dump", "x", "-B"}}) {
        INFO("args: ", args.size() > 1 ? args[1] : "", args.size() > 2 ? " " + args[2] : "");
        const run_result r = run(args);
        CHECK(r.status == 2);
        CHECK(r.out.empty());
        CHECK(r.err.find("usage: btfkit") != std::string::npos);
    }
}

TEST_CASE("stat: counts per kind equal those in bpftool's dump") {
    if (!have_bpftool()) { MESSAGE("skipped: bpftool not found"); return; }
    const auto b = every_kind_blob(byte_order::little);
    const auto p = scratch_file("stat.btf");
    write_file(p, as_view(b));
    check_stat_against_bpftool(p);
    if (readable("/sys/kernel/btf/vmlinux")) check_stat_against_bpftool("/sys/kernel/btf/vmlinux");
    if (readable(corpus / "vmlinux")) {
        check_stat_against_bpftool(corpus / "vmlinux");
        const auto modules = files_in(corpus / "modules");
        if (!modules.empty()) check_stat_against_bpftool(modules.front(), corpus / "vmlinux");
    }
}
