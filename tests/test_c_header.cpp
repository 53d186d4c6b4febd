// write_c_header and `btfkit dump ... format c` against bpftool byte for byte: Debian 12's bpftool 7.1
// and bookworm-backports' 7.5 (fetched by tests/oracle/fetch-bpftool; its cases skip without it) on
// synthetic BTF of every construct, the Debian and running vmlinux, modules over their base and the
// libbpf-tools objects; `--types` against libbpf's own btf_dump of the same roots (libbpf-cdump).
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <algorithm>
#include <span>
#include <sys/wait.h>
#include <thread>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "blob_builder.hpp"
#include "btfkit/format/btf.hpp"
#include "btfkit/format/elf.hpp"
#include "btfkit/write/c_header.hpp"

namespace {

namespace fs = std::filesystem;
using namespace btfkit;
using testing::blob_builder;

const fs::path corpus = BTFKIT_CORPUS_DIR;
const std::string tool = BTFKIT_TOOL;
const std::string cdump_oracle = BTFKIT_LIBBPF_CDUMP;

struct run_result {
    int status = -1;  // exit status; -1 when killed by a signal or not run
    std::string out;
};

std::string quote(std::string_view s) {
    std::string q = "'";
    for (const char c : s) {
        if (c == '\'') q += "'\\''";
        else q += c;
    }
    return q + "'";
}

// Runs a shell command; stdout captured, stderr to the test's stderr unless the command redirects it.
run_result run(const std::string& cmd) {
    run_result r;
    std::FILE* p = ::popen(cmd.c_str(), "r");
    if (p == nullptr) return r;
    char buf[1 << 16];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) r.out.append(buf, n);
    const int st = ::pclose(p);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
}

std::string read_file(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}
bool readable(const fs::path& p) { return ::access(p.c_str(), R_OK) == 0; }
bool is_dir(const fs::path& p) {
    std::error_code ec;
    return fs::is_directory(p, ec);
}

const std::string& bpftool71() {
    static const std::string path = run("bpftool version >/dev/null 2>&1 && command -v bpftool").out;
    static const std::string trimmed = path.empty() ? path : path.substr(0, path.find('\n'));
    return trimmed;
}
const std::string& bpftool75() {
    static const std::string path = [] {
        std::string p = run(quote(std::string(BTFKIT_SOURCE_DIR) + "/tests/oracle/fetch-bpftool") + " " + quote(BTFKIT_BPFTOOL_CACHE)).out;
        if (auto nl = p.find('\n'); nl != std::string::npos) p.resize(nl);
        return p;
    }();
    return path;
}
const std::string& bpftool_for(bpftool_compat c) { return c == bpftool_compat::v7_1 ? bpftool71() : bpftool75(); }
std::string name_of(bpftool_compat c) { return c == bpftool_compat::v7_1 ? "7.1" : "7.5"; }
constexpr bpftool_compat both[] = {bpftool_compat::v7_1, bpftool_compat::v7_5};

// A file's BTF: raw, or an ELF file's .BTF section.
struct loaded {
    std::string bytes;
    byte_span blob{};
    std::optional<btf> types;
};
std::unique_ptr<loaded> load(const fs::path& p, const btf* base = nullptr) {
    auto l = std::make_unique<loaded>();
    l->bytes = read_file(p);
    const byte_span data(l->bytes.data(), l->bytes.size());
    l->blob = data;
    if (elf::is_elf(data)) {
        auto e = elf::parse(data);
        REQUIRE(e);
        auto s = e->find_section(".BTF");
        REQUIRE(s);
        l->blob = e->section_data(*s);
    }
    auto b = btf::parse(l->blob, base);
    REQUIRE_MESSAGE(b, p.string());
    l->types.emplace(std::move(*b));
    return l;
}

std::string ours(const btf& b, bpftool_compat c, std::span<const std::uint32_t> roots = {}) {
    std::string out;
    const status s = write_c_header(b, out, c_header_options{.compat = c, .roots = roots});
    REQUIRE_MESSAGE(s, (s ? std::string() : s.error().message()));
    return out;
}

std::string bpftool_c(bpftool_compat c, const fs::path& file, const fs::path& base = {}) {
    std::string cmd = quote(bpftool_for(c)) + " btf dump file " + quote(file.string());
    if (!base.empty()) cmd += " -B " + quote(base.string());
    cmd += " format c 2>/dev/null";
    const run_result r = run(cmd);
    REQUIRE_MESSAGE(r.status == 0, cmd);
    return r.out;
}

// "line N: want / got" for the first line that differs.
std::string first_difference(std::string_view want, std::string_view got) {
    std::size_t line = 1, i = 0, start = 0;
    const std::size_t n = std::min(want.size(), got.size());
    for (; i < n && want[i] == got[i]; ++i) {
        if (want[i] == '\n') { ++line; start = i + 1; }
    }
    auto line_at = [start](std::string_view s) {
        if (start >= s.size()) return std::string("<end of output>");
        return std::string(s.substr(start, s.find('\n', start) - start));
    };
    return "line " + std::to_string(line) + ":\n  want: " + line_at(want) + "\n  got:  " + line_at(got);
}

// Compares with bpftool of each version; returns how many comparisons ran (0 where bpftool is missing).
int check_file(const fs::path& file, const btf& b, const fs::path& base = {}) {
    int ran = 0;
    for (const bpftool_compat c : both) {
        if (bpftool_for(c).empty()) continue;
        const std::string want = bpftool_c(c, file, base);
        const std::string got = ours(b, c);
        CHECK_MESSAGE(want == got, file.string(), " bpftool ", name_of(c), ": ", first_difference(want, got));
        ++ran;
    }
    return ran;
}

// Synthetic BTF with every construct the C writer handles.
blob_builder every_construct(byte_order o) {
    blob_builder b(o);
    const auto i32 = b.add_int("int", 4, int_signed);
    const auto u8 = b.add_int("unsigned char", 1, 0);
    const auto lng = b.add_int("long", 8, int_signed);
    const auto chr = b.add_int("char", 1, int_signed);
    const auto i16 = b.add_int("short", 2, int_signed);
    b.add_int("__Poly8_t", 1, 0);
    const auto dbl = b.add_float("double", 8);
    const auto opaque = b.add_fwd("opaque", false);
    const auto opaque_u = b.add_fwd("opaque_u", true);
    // the same names twice: ___2 suffixes for types, typedefs and enumerators
    const auto foo1 = b.add_struct("foo", 4, false, {{"a", i32, 0, 0}});
    const auto foo2 = b.add_struct("foo", 8, false, {{"b", lng, 0, 0}});
    b.add_ref(kind::typedef_, "foo_t", foo1);
    b.add_ref(kind::typedef_, "foo_t", foo2);
    b.add_enum("color", 4, false, {{"RED", 0}, {"GREEN", 1}});
    b.add_enum("color2", 4, true, {{"RED", 5}, {"NEG", static_cast<std::uint64_t>(-3)}});
    b.add_enum("", 4, false, {{"ANON_A", 1}, {"ANON_B", 2}});
    const auto small = b.add_enum("small", 1, false, {{"S_ONE", 1}});
    const auto big32 = b.add_enum("big32", 8, false, {{"B_ONE", 1}});
    b.add_enum64("e64", 8, true, {{"X_NEG", static_cast<std::uint64_t>(-1)}, {"X_BIG", 0x100000000ull}});
    b.add_enum64("e64lo", 8, false, {{"Y_ONE", 1}});
    const auto efwd = b.add_enum("efwd", 4, false, {});
    // bitfields, padding, packing
    const auto bits = b.add_struct("bits", 16, true,
                                   {{"a", i32, 0, 3}, {"b", i32, 3, 5}, {"c", i32, 32, 0}, {"d", u8, 72, 4}, {"e", lng, 100, 20}});
    const auto packed = b.add_struct("packed", 5, false, {{"c", u8, 0, 0}, {"i", i32, 8, 0}});
    const auto holes = b.add_struct("holes", 24, false, {{"c", chr, 0, 0}, {"i", i32, 64, 0}, {"s", i16, 128, 0}});
    b.add_struct("empty", 0, false, {});
    b.add_struct("only_size", 12, false, {});
    // anonymous members, nested
    const auto anon_u = b.add_union("", 8, false, {{"x", i32, 0, 0}, {"y", lng, 0, 0}});
    const auto anon_s = b.add_struct("", 4, false, {{"z", i32, 0, 0}});
    const auto anon_e = b.add_enum("", 4, false, {{"IN_A", 0}});
    b.add_struct("outer", 24, false, {{"u", anon_u, 0, 0}, {"", anon_s, 64, 0}, {"k", anon_e, 96, 0}, {"sm", small, 128, 0}, {"ef", efwd, 160, 0}});
    // forward references and cycles through pointers
    const auto node_fwd_ptr = b.next_id();
    const auto node = node_fwd_ptr + 2;
    b.add_ref(kind::ptr, "", node);                      // node_fwd_ptr: struct node *
    const auto list = b.add_struct("list", 8, false, {{"first", node_fwd_ptr, 0, 0}});
    REQUIRE(b.next_id() == node);
    b.add_struct("node", 16, false, {{"next", node_fwd_ptr, 0, 0}, {"owner", list, 64, 0}});
    const auto opaque_ptr = b.add_ref(kind::ptr, "", opaque);
    const auto opaque_u_ptr = b.add_ref(kind::ptr, "", opaque_u);
    // declarators: functions, arrays, modifiers, type tags
    const auto cchr = b.add_ref(kind::const_, "", chr);
    const auto cchr_ptr = b.add_ref(kind::ptr, "", cchr);
    const auto fp_none = b.add_func_proto(i32, {});
    const auto fp_void = b.add_func_proto(0, {{"", 0}});
    const auto fp_var = b.add_func_proto(i32, {{"fmt", cchr_ptr}, {"", 0}});
    const auto fp_args = b.add_func_proto(lng, {{"a", i32}, {"p", opaque_ptr}});
    const auto p_none = b.add_ref(kind::ptr, "", fp_none);
    const auto p_void = b.add_ref(kind::ptr, "", fp_void);
    const auto p_var = b.add_ref(kind::ptr, "", fp_var);
    const auto p_args = b.add_ref(kind::ptr, "", fp_args);
    const auto arr4 = b.add_array(i32, i32, 4);
    const auto arr34 = b.add_array(arr4, i32, 3);
    const auto arr_fp = b.add_array(p_args, i32, 2);
    const auto arr_ptr = b.add_ref(kind::ptr, "", arr4);
    const auto vi = b.add_ref(kind::volatile_, "", i32);
    const auto cvi = b.add_ref(kind::const_, "", vi);
    const auto cvi_ptr = b.add_ref(kind::ptr, "", cvi);
    const auto r_ptr = b.add_ref(kind::restrict_, "", cvi_ptr);
    const auto tag = b.add_ref(kind::type_tag, "user", i32);
    const auto tag_ptr = b.add_ref(kind::ptr, "", tag);
    const auto fp_ret_fp = b.add_func_proto(p_args, {{"n", i32}});
    const auto p_ret_fp = b.add_ref(kind::ptr, "", fp_ret_fp);
    const auto dbl_arr = b.add_array(dbl, i32, 0);
    b.add_struct("ops", 144, false,
                 {{"f_none", p_none, 0, 0}, {"f_void", p_void, 64, 0}, {"f_var", p_var, 128, 0}, {"f_args", p_args, 192, 0},
                  {"grid", arr34, 256, 0}, {"fns", arr_fp, 640, 0}, {"rows", arr_ptr, 768, 0}, {"cv", r_ptr, 832, 0},
                  {"tagged", tag_ptr, 896, 0}, {"ret_fp", p_ret_fp, 960, 0}, {"o", opaque_u_ptr, 1024, 0}, {"big", big32, 1088, 0},
                  {"flex", dbl_arr, 1152, 0}});
    b.add_union("either", 8, false, {{"i", i32, 0, 0}, {"l", lng, 0, 0}, {"bits", bits, 0, 0}, {"p", packed, 0, 0}, {"h", holes, 0, 0}});
    // typedefs of every shape, compiler built-ins
    b.add_ref(kind::typedef_, "fn_t", fp_args);
    b.add_ref(kind::typedef_, "fnp_t", p_args);
    b.add_ref(kind::typedef_, "grid_t", arr34);
    const auto cchr_ptr2 = b.add_ref(kind::ptr, "", chr);
    b.add_ref(kind::typedef_, "__builtin_va_list", cchr_ptr2);
    b.add_ref(kind::typedef_, "__gnuc_va_list", 0);
    b.add_ref(kind::typedef_, "opaque_t", opaque);
    // kfuncs and things C output skips
    const auto kf = b.add_ref(kind::func, "bpf_kf_b", fp_args, 1);
    const auto kf2 = b.add_ref(kind::func, "bpf_kf_a", fp_var, 1);
    b.add_ref(kind::func, "not_a_kfunc", fp_none, 1);
    b.add_decl_tag("bpf_kfunc", kf, -1);
    b.add_decl_tag("bpf_kfunc", kf2, -1);
    b.add_decl_tag("other", kf, 0);
    const auto var = b.add_var("counter", i32, 1);
    b.add_datasec(".data", 4, {{var, 0, 4}});
    return b;
}

}  // namespace

TEST_CASE("c header: synthetic BTF of every construct, both byte orders") {
    if (bpftool71().empty() && bpftool75().empty()) {
        MESSAGE("no bpftool: skipped");
        return;
    }
    const fs::path dir = fs::temp_directory_path() / ("btfkit-c-header-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    int ran = 0;
    for (const byte_order o : {byte_order::little, byte_order::big}) {
        const blob_builder blob = every_construct(o);
        const fs::path file = dir / (o == byte_order::little ? "le.btf" : "be.btf");
        {
            std::ofstream f(file, std::ios::binary);
            f.write(blob.bytes().data(), static_cast<std::streamsize>(blob.size()));
        }
        auto b = btf::parse(blob.span());
        REQUIRE(b);
        ran += check_file(file, *b);
    }
    fs::remove_all(dir);
    MESSAGE("synthetic: ", ran, " comparisons");
    CHECK(ran >= 2);
}

TEST_CASE("c header: the Debian vmlinux") {
    const fs::path v = corpus / "vmlinux";
    if (!readable(v)) { MESSAGE("no corpus: skipped"); return; }
    auto l = load(v);
    CHECK(check_file(v, *l->types) >= 1);
}

TEST_CASE("c header: the running kernel's vmlinux") {
    const fs::path v = "/sys/kernel/btf/vmlinux";
    if (!readable(v)) { MESSAGE("no /sys/kernel/btf/vmlinux: skipped"); return; }
    auto l = load(v);
    CHECK(check_file(v, *l->types) >= 1);
    // bpftool 7.5's sort in two halves on two threads, merged: the same bytes as bpftool
    if (!bpftool75().empty() && l->types->type_count() >= detail::c_sort_split_min) {
        std::string got;
        auto two_threads = [](auto&& first, auto&& second) {
            std::thread t([&second] { second(); });
            first();
            t.join();
        };
        REQUIRE(write_c_header(*l->types, got, {}, two_threads));
        const std::string want = bpftool_c(bpftool_compat::v7_5, v);
        CHECK_MESSAGE(want == got, first_difference(want, got));
    }
}

// A handful of modules always, and every BTFKIT_CDUMP_MODULE_STEP-th of the rest (default 200; 1: all).
TEST_CASE("c header: modules over the Debian vmlinux") {
    const fs::path v = corpus / "vmlinux", dir = corpus / "modules";
    if (!readable(v) || !is_dir(dir)) { MESSAGE("no corpus: skipped"); return; }
    auto base = load(v);
    std::vector<fs::path> mods;
    for (const auto& e : fs::directory_iterator(dir)) mods.push_back(e.path());
    std::sort(mods.begin(), mods.end());
    const char* step_env = std::getenv("BTFKIT_CDUMP_MODULE_STEP");
    const std::size_t step = step_env != nullptr ? std::max<std::size_t>(1, std::strtoul(step_env, nullptr, 10)) : 200;
    const std::vector<std::string_view> always = {"xfs", "btrfs", "kvm", "nf_tables", "i915", "bluetooth", "ext4", "mac80211"};
    int files = 0, ran = 0;
    for (std::size_t i = 0; i < mods.size(); ++i) {
        const std::string name = mods[i].filename().string();
        if (i % step != 0 && std::find(always.begin(), always.end(), name) == always.end()) continue;
        auto m = load(mods[i], &*base->types);
        ran += check_file(mods[i], *m->types, v);
        ++files;
    }
    MESSAGE("modules: ", files, " of ", mods.size(), ", ", ran, " comparisons");
    CHECK(files >= 8);
}

TEST_CASE("c header: libbpf-tools objects") {
    const fs::path dir = corpus / "bpf";
    if (!is_dir(dir)) { MESSAGE("no corpus: skipped"); return; }
    int files = 0, ran = 0;
    for (const auto& e : fs::directory_iterator(dir)) {
        if (e.path().extension() != ".o") continue;
        auto l = load(e.path());
        ran += check_file(e.path(), *l->types);
        ++files;
    }
    MESSAGE("objects: ", files, ", ", ran, " comparisons");
    CHECK(files > 0);
}

namespace {
// Ours with roots, without bpftool's preamble and epilogue, spelled as libbpf 1.1.2 spells an empty
// parameter list: "()" (Debian's libbpf-dev; bpftool's own libbpf writes "(void)").
std::string roots_body(const btf& b, std::span<const std::uint32_t> roots) {
    std::string s = ours(b, bpftool_compat::v7_5, roots);
    const std::string_view pre = "#ifndef __weak\n#define __weak __attribute__((weak))\n#endif\n\n";
    const std::string_view post = "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop";
    const auto a = s.find(pre), z = s.rfind(post);
    REQUIRE(a != std::string::npos);
    REQUIRE(z != std::string::npos);
    s = s.substr(a + pre.size(), z - a - pre.size());
    for (std::size_t at; (at = s.find("(void)")) != std::string::npos;) s.replace(at, 6, "()");
    return s;
}

void check_roots(const fs::path& file, const btf& b, std::span<const std::string_view> names, const fs::path& base = {}) {
    auto roots = c_header_roots(b, names);
    REQUIRE(roots);
    std::string cmd = quote(cdump_oracle) + " " + quote(file.string());
    if (!base.empty()) cmd += " --base " + quote(base.string());
    for (const std::uint32_t id : *roots) cmd += " " + std::to_string(id);
    const run_result r = run(cmd);
    REQUIRE(r.status == 0);
    const std::string got = roots_body(b, *roots);
    CHECK_MESSAGE(r.out == got, file.string(), ": ", first_difference(r.out, got));
    CHECK(!got.empty());
}
}  // namespace

TEST_CASE("c header --types: the roots and what they need, as libbpf's btf_dump writes them") {
    if (cdump_oracle.empty()) { MESSAGE("no libbpf-cdump oracle: skipped"); return; }
    const fs::path v = corpus / "vmlinux";
    if (readable(v)) {
        auto l = load(v);
        const std::string_view names[] = {"task_struct", "sk_buff", "bpf_prog", "file_operations", "pt_regs", "u64", "bpf_map_type"};
        check_roots(v, *l->types, names);
        // roots share a writer: a type written for an earlier root is not written again
        const std::string_view one[] = {"trace_event_raw_sched_switch"};
        check_roots(v, *l->types, one);
        const fs::path mod = corpus / "modules" / "xfs";
        if (readable(mod)) {
            auto m = load(mod, &*l->types);
            const std::string_view xfs[] = {"xfs_mount", "xfs_inode"};
            check_roots(mod, *m->types, xfs, v);
        }
    }
    const fs::path dir = corpus / "bpf";
    if (is_dir(dir)) {
        int files = 0;
        for (const auto& e : fs::directory_iterator(dir)) {
            if (e.path().extension() != ".o") continue;
            auto l = load(e.path());
            // every struct and typedef of the object, as roots
            std::vector<std::string> owned;
            for (const type t : l->types->types()) {
                if ((t.is(kind::struct_) || t.is(kind::typedef_)) && !t.name().empty()) owned.emplace_back(t.name());
            }
            std::vector<std::string_view> names(owned.begin(), owned.end());
            if (names.empty()) continue;
            check_roots(e.path(), *l->types, names);
            ++files;
        }
        MESSAGE("--types on ", files, " objects");
    }
}

TEST_CASE("c header: the CLI writes what the library writes") {
    const fs::path obj = corpus / "bpf" / "biolatency.bpf.o";
    if (!readable(obj)) { MESSAGE("no corpus: skipped"); return; }
    auto l = load(obj);
    for (const bpftool_compat c : both) {
        std::string cmd = quote(tool) + " dump " + quote(obj.string()) + " format c";
        if (c == bpftool_compat::v7_1) cmd += " --bpftool-compat 7.1";
        const run_result r = run(cmd);
        CHECK(r.status == 0);
        CHECK(r.out == ours(*l->types, c));
    }
    auto roots = c_header_roots(*l->types, std::vector<std::string_view>{"hist"});
    REQUIRE(roots);
    const run_result t = run(quote(tool) + " dump " + quote(obj.string()) + " format c --types hist");
    CHECK(t.status == 0);
    CHECK(t.out == ours(*l->types, bpftool_compat::v7_5, *roots));
    CHECK(run(quote(tool) + " dump " + quote(obj.string()) + " format c --types no_such_type_here 2>/dev/null").status == 1);
    CHECK(run(quote(tool) + " dump " + quote(obj.string()) + " format x 2>/dev/null").status == 2);
    CHECK(run(quote(tool) + " dump " + quote(obj.string()) + " --types hist 2>/dev/null").status == 2);
    CHECK(run(quote(tool) + " dump " + quote(obj.string()) + " format c --bpftool-compat 6 2>/dev/null").status == 2);
}

// The regression corpus's valid blobs: what bpftool prints where it succeeds; where it fails, our error
// after the same partial output; where it crashes or hangs (loops it follows without bound), no crash.
TEST_CASE("c header: the regression corpus's valid BTF") {
    const fs::path dir = fs::path(BTFKIT_SOURCE_DIR) / "tests" / "regression";
    int same = 0, both_fail = 0, bpftool_crashes = 0;
    for (const auto& e : fs::directory_iterator(dir)) {
        if (e.path().extension() != ".ok" || !e.path().filename().string().starts_with("btf-")) continue;
        auto l = load(e.path());
        for (const bpftool_compat c : both) {
            if (bpftool_for(c).empty()) continue;
            // bpftool follows some loops without bound: a crash or a hang (the timeout's 124) counts as one
            const run_result want = run("timeout 20 " + quote(bpftool_for(c)) + " btf dump file " + quote(e.path().string()) + " format c 2>/dev/null");
            const bool crashed = want.status < 0 || want.status >= 124;
            std::string got;
            const status st = write_c_header(*l->types, got, {.compat = c});
            const std::string what = e.path().filename().string() + " bpftool " + name_of(c);
            if (want.status == 0) {
                CHECK_MESSAGE(st, what);
                CHECK_MESSAGE(want.out == got, what, ": ", first_difference(want.out, got));
                ++same;
            } else if (!crashed) {
                CHECK_MESSAGE(!st, what);
                CHECK_MESSAGE(want.out == got, what, ": ", first_difference(want.out, got));
                ++both_fail;
            } else {
                // ours ends: with a whole header where the loop does not matter to C (a decl tag on
                // itself), else with the error that names the loop
                if (st) CHECK_MESSAGE(got.ends_with("#endif /* __VMLINUX_H__ */\n"), what);
                else CHECK_MESSAGE((st.error().code == errc::type_loop || st.error().code == errc::too_deep), what);
                ++bpftool_crashes;
            }
        }
    }
    MESSAGE("regression blobs: ", same, " identical, ", both_fail, " failing alike, ", bpftool_crashes, " where bpftool crashes");
    CHECK(same > 0);
}

TEST_CASE("c header: BTF that C cannot express gives an error that names the type") {
    SUBCASE("a struct that contains itself") {
        blob_builder b(byte_order::little);
        const auto i32 = b.add_int("int", 4, int_signed);
        const auto self = b.next_id();
        b.add_struct("loop", 8, false, {{"a", i32, 0, 0}, {"again", self, 32, 0}});
        auto p = btf::parse(b.span());
        REQUIRE(p);
        std::string out;
        const status s = write_c_header(*p, out, {});
        REQUIRE_FALSE(s);
        CHECK(s.error().code == errc::type_loop);
        CHECK(s.error().message().find(std::to_string(self)) != std::string::npos);
    }
    SUBCASE("a modifier loop") {
        for (const bpftool_compat c : both) {
            blob_builder b(byte_order::big);
            const auto first = b.next_id();
            b.add_ref(kind::const_, "", first + 1);
            b.add_ref(kind::volatile_, "", first);
            b.add_ref(kind::typedef_, "spin", first);
            auto p = btf::parse(b.span());
            REQUIRE(p);
            std::string out;
            const status s = write_c_header(*p, out, {.compat = c});
            REQUIRE_FALSE(s);
            CHECK((s.error().code == errc::too_deep || s.error().code == errc::type_loop));
        }
    }
    SUBCASE("an unknown root id") {
        blob_builder b(byte_order::little);
        b.add_int("int", 4, int_signed);
        auto p = btf::parse(b.span());
        REQUIRE(p);
        std::string out;
        const std::uint32_t roots[] = {7};
        const status s = write_c_header(*p, out, {.roots = roots});
        REQUIRE_FALSE(s);
        CHECK(s.error().code == errc::bad_type_id);
    }
}
