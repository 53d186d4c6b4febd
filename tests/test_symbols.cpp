// The symbols name space (FUNC and VAR, by whole name): its indexes beside the types' (built only when
// asked for, saved in the index cache), the glob matcher (proven at compile time, and against glibc's
// fnmatch), symbol_matches, C prototypes, and `btfkit find --kind func|var` and `btfkit funcs`
// against bpftool's dump (the running vmlinux, Debian corpus modules over the Debian vmlinux) and
// against `ksnoop info` (the corpus's libbpf-tools) for a few hundred running vmlinux functions; and
// fuzz_glob's seeds and findings through its driver.
#include <doctest/doctest.h>
#include <fnmatch.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "../fuzz/glob_driver.hpp"
#include "blob_builder.hpp"
#include "btfkit.hpp"
#include "btfkit/kernel.hpp"
#include "process.hpp"
#include "running_vmlinux.hpp"
#include "temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
namespace bk = btfkit;
namespace bt = btfkit::testing;
using bk::kind;
using bk::name_space;

// ---- the glob matcher: one table, proven at compile time and run against fnmatch ----

struct glob_case {
    std::string_view pattern, name;
    bool matches;
};

constexpr glob_case glob_cases[] = {
    {"tcp_sendmsg", "tcp_sendmsg", true},
    {"tcp_sendmsg", "tcp_sendmsg_locked", false},
    {"tcp_*", "tcp_sendmsg", true},
    {"tcp_*", "tcp_", true},
    {"tcp_*", "udp_sendmsg", false},
    {"*", "", true},
    {"*", "anything", true},
    {"", "", true},
    {"", "x", false},
    {"*_rcv", "tcp_v4_rcv", true},
    {"*_rcv", "tcp_v4_rcv_x", false},
    {"*v4*rcv", "tcp_v4_do_rcv", true},
    {"a*b*c", "aXbYc", true},
    {"a*b*c", "aXbYcZ", false},
    {"a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},  // no exponential backtracking (one point)
    {"??", "ab", true},
    {"??", "a", false},
    {"?*?", "ab", true},
    {"[abc]x", "bx", true},
    {"[abc]x", "dx", false},
    {"[!abc]x", "dx", true},
    {"[^abc]x", "ax", false},
    {"[a-f]*", "ext4_sync_fs", true},
    {"[a-f]*", "xfs_sync_fs", false},
    {"[]]", "]", true},
    {"[]-a]", "_", true},  // ']' to 'a' is 0x5d..0x61
    {"[a-]", "-", true},
    {"[!]]", "a", true},
    {"[[:digit:]]*", "9p_init", true},
    {"[[:upper:]]*", "tcp", false},
    {"[[:alpha:]_]*", "_x", true},
    {"[[=a=]]", "a", true},
    {"[[.-.]]", "-", true},
    {"[a-c[.z.]]", "z", true},
    {"\\*", "*", true},
    {"\\*", "x", false},
    {"x\\", "x", false},  // a trailing backslash matches nothing
    {"[\\]]", "]", true},
    {"[ab", "[ab", true},  // unterminated: '[' is an ordinary character
    {"[ab", "a", false},
    {".*", ".hidden", true},  // no FNM_PERIOD
    {"a/*", "a/b/c", true},  // no FNM_PATHNAME
};

constexpr bool all_glob_cases() {
    for (const glob_case& c : glob_cases) {
        if (bk::glob_matches(c.pattern, c.name) != c.matches || bk::name_glob(c.pattern).matches(c.name) != c.matches) return false;
    }
    return true;
}
static_assert(all_glob_cases());
static_assert(bk::name_glob("tcp_v4_*").literal_prefix() == "tcp_v4_");
static_assert(bk::name_glob("tcp_v4_rcv").is_literal());
static_assert(!bk::name_glob("tcp_v4_r?v").is_literal());
static_assert(bk::name_glob("a\\*b").literal_prefix() == "a");  // an escape ends the prefix
static_assert(bk::name_glob("[abc]").well_formed() && !bk::name_glob("[abc").well_formed() && !bk::name_glob("[[:nope:]]").well_formed());
static_assert(!bk::name_glob("x\\").well_formed());

// The name spaces: which kinds, and how names compare.
static_assert(bk::in_name_space(kind::func, name_space::symbols) && bk::in_name_space(kind::var, name_space::symbols));
static_assert(!bk::in_name_space(kind::struct_, name_space::symbols) && !bk::in_name_space(kind::datasec, name_space::symbols));
static_assert(bk::in_name_space(kind::struct_, name_space::types) && !bk::in_name_space(kind::func, name_space::types));
static_assert(bk::in_name_space(kind::func_proto, name_space::any_kind));
static_assert(bk::key_matches(name_space::types, "foo___v2", "foo") && !bk::key_matches(name_space::symbols, "foo___v2", "foo"));
static_assert(bk::key_matches(name_space::symbols, "foo___v2", "foo___v2"));
static_assert(bk::name_space_kinds(name_space::symbols) == (1u << 12 | 1u << 14));

}  // namespace

TEST_CASE("glob: the compile-time table at run time, and glibc's fnmatch agrees on each case") {
    for (const glob_case& c : glob_cases) {
        INFO("pattern '", std::string(c.pattern), "' name '", std::string(c.name), "'");
        CHECK(bk::glob_matches(c.pattern, c.name) == c.matches);
        const std::string p(c.pattern), n(c.name);
        CHECK((::fnmatch(p.c_str(), n.c_str(), 0) == 0) == c.matches);
    }
}

TEST_CASE("glob: random well-formed patterns match as glibc's fnmatch says; every match starts with the literal prefix") {
    std::mt19937 rng(17);
    constexpr std::string_view alphabet = "ab_*?[]!^-\\:=.z]A1\x80 ";
    constexpr std::string_view extras[] = {"[[:alpha:]]", "[![:digit:]x]", "[[=a=]b]", "[[.a.]-z]", "[a-\\]]", "tcp_"};
    std::size_t compared = 0;
    for (int i = 0; i < 200000; ++i) {
        std::string p, n;
        for (auto k = rng() % 9; k > 0; --k) p += alphabet[rng() % alphabet.size()];
        for (auto k = rng() % 8; k > 0; --k) n += alphabet[rng() % alphabet.size()];
        if (rng() % 4 == 0) p.insert(rng() % (p.size() + 1), extras[rng() % std::size(extras)]);
        const bk::name_glob g(p);
        const bool mine = g.matches(n);
        CHECK(mine == bk::glob_matches(p, n));
        if (mine) CHECK(std::string_view(n).starts_with(g.literal_prefix()));
        if (g.is_literal()) CHECK(mine == (n == p));
        if (!g.well_formed()) continue;
        ++compared;
        if (mine != (::fnmatch(p.c_str(), n.c_str(), 0) == 0)) FAIL("pattern '" << p << "' name '" << n << "': btfkit " << mine);
    }
    CHECK(compared > 100000);
}

TEST_CASE("glob: fuzz_glob's seeds and findings replayed through its driver") {
    std::size_t replayed = 0;
    for (const fs::path& dir : {fs::path(BTFKIT_SOURCE_DIR "/fuzz/corpus/glob"), fs::path(BTFKIT_SOURCE_DIR "/tests/regression")}) {
        for (const auto& e : fs::directory_iterator(dir)) {
            const std::string name = e.path().filename().string();
            if (dir.filename() == "regression" && !name.starts_with("crash-fuzz_glob-")) continue;
            INFO(e.path().string());
            CHECK(bt::check_glob(bt::read_text(e.path())).empty());
            ++replayed;
        }
    }
    CHECK(replayed > 20);
}

namespace {

// vmlinux-like base and three modules: the same names in both spaces, flavored names, duplicates.
struct synthetic {
    bt::blob_builder base{bk::byte_order::little};
    std::vector<std::vector<char>> modules;
    std::unique_ptr<bk::btf> vmlinux;

    synthetic() {
        const std::uint32_t i32 = base.add_int("int", 4, 1);
        const std::uint32_t chr = base.add_int("char", 1, 1);
        const std::uint32_t cchr = base.add_ref(kind::const_, "", chr);
        const std::uint32_t pcchr = base.add_ref(kind::ptr, "", cchr);
        const std::uint32_t foo_s = base.add_struct("foo", 4, false, {{"a", i32, 0, 0}});
        const std::uint32_t pfoo = base.add_ref(kind::ptr, "", foo_s);
        const std::uint32_t proto = base.add_func_proto(i32, {{"a", i32}, {"b", pcchr}});
        base.add_ref(kind::func, "foo", proto, 1);
        base.add_ref(kind::func, "baz___v2", proto, 0);
        base.add_var("bar", i32, 1);
        const std::uint32_t vproto = base.add_func_proto(0, {});
        base.add_ref(kind::func, "nothing", vproto, 0);
        const std::uint32_t variadic = base.add_func_proto(pfoo, {{"fmt", pcchr}, {"", 0}});
        base.add_ref(kind::func, "vfoo", variadic, 1);
        const std::uint32_t cb = base.add_func_proto(0, {{"", i32}});
        const std::uint32_t pcb = base.add_ref(kind::ptr, "", cb);
        const std::uint32_t takes_cb = base.add_func_proto(i32, {{"fn", pcb}, {"n", i32}});
        base.add_ref(kind::func, "with_callback", takes_cb, 2);
        auto b = bk::btf::parse(base.span());
        REQUIRE(b.has_value());
        vmlinux = std::make_unique<bk::btf>(std::move(*b));
        auto module = [&](auto&& add) {
            bt::blob_builder m(bk::byte_order::little, vmlinux->type_count(), vmlinux->strings_size());
            add(m);
            modules.emplace_back(m.bytes().begin(), m.bytes().end());
        };
        module([&](bt::blob_builder& m) {  // m0
            const std::uint32_t p = m.add_func_proto(i32, {{"x", i32}});
            m.add_ref(kind::func, "foo", p, 0);
            m.add_ref(kind::func, "only_m0", p, 1);
            m.add_var("bar", i32, 0);
        });
        module([&](bt::blob_builder& m) {  // m1
            m.add_struct("foo", 8, false, {{"a", i32, 0, 0}, {"b", i32, 32, 0}});
            const std::uint32_t p = m.add_func_proto(i32, {});
            m.add_ref(kind::func, "foo___v2", p, 1);
            m.add_ref(kind::func, "fool", p, 1);
        });
        module([&](bt::blob_builder& m) {  // m2: no symbols at all
            m.add_struct("only_m2", 4, false, {{"a", i32, 0, 0}});
        });
    }
    void setup(bk::target_set& s) const {
        for (std::size_t i = 0; i < modules.size(); ++i) s.add_module("m" + std::to_string(i));
        s.set_loader([this](std::uint32_t m, bk::byte_buffer& buf) -> bk::status {
            buf.assign(modules[m - 1].begin(), modules[m - 1].end());
            return {};
        });
    }
};

// find() in a space, as "target:id:KIND:name" strings.
std::vector<std::string> found(bk::target_set& s, std::string_view key, name_space sp) {
    std::vector<bk::candidate> c;
    REQUIRE(s.find(key, c, sp).has_value());
    std::vector<std::string> out;
    for (const auto& x : c) {
        const bk::type t = (*x.owner)[x.id];
        out.push_back(std::string(s.target_name(x.target)) + ":" + std::to_string(x.id) + ":" + std::string(bk::kind_name(t.kind())) + ":" +
                      std::string(t.name()));
    }
    return out;
}

std::vector<std::string> all_answers(bk::target_set& s) {
    std::vector<std::string> out;
    for (const char* n : {"foo", "foo___v2", "baz", "baz___v2", "bar", "only_m0", "only_m2", "fool", "absent"}) {
        for (const name_space sp : {name_space::types, name_space::symbols}) {
            for (auto& a : found(s, n, sp)) out.push_back(std::string(n) + (sp == name_space::types ? " T " : " S ") + a);
        }
    }
    return out;
}

}  // namespace

TEST_CASE("symbols: looked up by whole name, in their own indexes, built only when a symbol is asked for") {
    const synthetic syn;
    bk::target_set s(*syn.vmlinux);
    syn.setup(s);
    CHECK(s.vmlinux_index_ready(name_space::types));
    CHECK_FALSE(s.vmlinux_index_ready(name_space::symbols));

    CHECK(found(s, "foo", name_space::types).size() == 2);  // STRUCT foo in vmlinux and m1
    CHECK(s.module_index_ready(name_space::types));
    CHECK_FALSE(s.vmlinux_index_ready(name_space::symbols));  // CO-RE lookups never build the symbols' indexes
    CHECK_FALSE(s.module_index_ready(name_space::symbols));

    const auto foo = found(s, "foo", name_space::symbols);
    REQUIRE(foo.size() == 2);
    CHECK(foo[0].starts_with("vmlinux:") == true);
    CHECK(foo[0].ends_with(":FUNC:foo"));
    CHECK(foo[1].starts_with("m0:"));
    CHECK(s.vmlinux_index_ready(name_space::symbols));
    CHECK(s.module_index_ready(name_space::symbols));
    // Whole names: no flavor stripping either way (the caller strips its local name).
    CHECK(found(s, "baz", name_space::symbols).empty());
    CHECK(found(s, "baz___v2", name_space::symbols).size() == 1);
    const auto v2 = found(s, "foo___v2", name_space::symbols);
    REQUIRE(v2.size() == 1);
    CHECK(v2[0].starts_with("m1:"));
    const auto bar = found(s, "bar", name_space::symbols);
    REQUIRE(bar.size() == 2);
    CHECK(bar[0].ends_with(":VAR:bar"));
    CHECK(bar[1].starts_with("m0:"));
    CHECK(found(s, "only_m2", name_space::symbols).empty());
    CHECK(s.module_btf(3) == nullptr);  // m2 holds no symbol: never opened for one

    // The same answers from a scanned single target (vmlinux only) and an indexed one.
    bk::single_target single(*syn.vmlinux);
    bk::indexed_target indexed(*syn.vmlinux, true), unindexed(*syn.vmlinux);
    for (const char* n : {"foo", "baz___v2", "bar", "vfoo", "absent"}) {
        std::vector<std::uint32_t> a, b, c, d;
        REQUIRE(single.for_each_named(bk::target_group::vmlinux, n, name_space::symbols, [&](const bk::btf&, std::uint32_t id, std::uint32_t) { a.push_back(id); }));
        REQUIRE(indexed.for_each_named(bk::target_group::vmlinux, n, name_space::symbols, [&](const bk::btf&, std::uint32_t id, std::uint32_t) { b.push_back(id); }));
        REQUIRE(unindexed.for_each_named(bk::target_group::vmlinux, n, name_space::symbols, [&](const bk::btf&, std::uint32_t id, std::uint32_t) { c.push_back(id); }));
        s.vmlinux_index(name_space::symbols).for_each(*syn.vmlinux, n, [&](std::uint32_t id) { d.push_back(id); });
        CHECK(a == b);
        CHECK(a == c);
        CHECK(a == d);
    }
}

TEST_CASE("symbols: prefetch's one pass and the index cache give the answers the indexes give") {
    const synthetic syn;
    bk::target_set ref(*syn.vmlinux);
    syn.setup(ref);
    const auto expected = all_answers(ref);
    REQUIRE(expected.size() > 10);

    SUBCASE("prefetch of symbols: a pass over the modules, no module index built") {
        bk::target_set s(*syn.vmlinux, false);
        syn.setup(s);
        const std::vector<std::string_view> keys{"foo", "bar", "only_m0"};
        REQUIRE(s.prefetch(keys, name_space::symbols).has_value());
        CHECK_FALSE(s.module_index_ready(name_space::symbols));
        CHECK(s.modules_opened() == 1);  // m0 (foo, bar, only_m0)
        CHECK(found(s, "foo", name_space::symbols) == found(ref, "foo", name_space::symbols));
        CHECK_FALSE(s.module_index_ready(name_space::symbols));
        CHECK(all_answers(s) == expected);
    }
    SUBCASE("index cache: both spaces saved, borrowed back, and a listener told of every index built") {
        bk::target_set a(*syn.vmlinux);
        syn.setup(a);
        int built = 0;
        a.set_index_listener([&](const bk::target_set&) { ++built; });
        REQUIRE(a.build_module_index().has_value());
        CHECK(built == 1);
        auto types_only = bk::index_cache::save(a, 42);
        REQUIRE(types_only.has_value());
        CHECK(found(a, "foo", name_space::symbols).size() == 2);
        CHECK(built == 3);  // the symbols' vmlinux index, then their module index
        auto both = bk::index_cache::save(a, 42);
        REQUIRE(both.has_value());
        CHECK(both->size() > types_only->size());

        bk::target_set b(*syn.vmlinux, false);
        syn.setup(b);
        REQUIRE(bk::index_cache::load(b, bk::byte_span(both->data(), both->size()), 42).has_value());
        CHECK(b.vmlinux_index_ready(name_space::symbols));
        CHECK(b.module_index_ready(name_space::symbols));
        CHECK(b.modules_opened() == 0);
        CHECK(all_answers(b) == expected);

        bk::target_set c(*syn.vmlinux, false);  // an image without symbols: they build as usual
        syn.setup(c);
        REQUIRE(bk::index_cache::load(c, bk::byte_span(types_only->data(), types_only->size()), 42).has_value());
        CHECK_FALSE(c.vmlinux_index_ready(name_space::symbols));
        CHECK(all_answers(c) == expected);

        // A damaged symbols section is an error that leaves the set as it was.
        bk::byte_buffer bad = *both;
        bad[bad.size() - 5] = static_cast<char>(bad[bad.size() - 5] ^ 0x20);
        bk::target_set d(*syn.vmlinux, false);
        syn.setup(d);
        CHECK_FALSE(bk::index_cache::load(d, bk::byte_span(bad.data(), bad.size()), 42).has_value());
        CHECK_FALSE(d.vmlinux_index_ready(name_space::symbols));
        CHECK(all_answers(d) == expected);
    }
}

TEST_CASE("symbol_matches: every FUNC (or VAR) a pattern matches, target then id order, only in the BTFs asked for") {
    const synthetic syn;
    auto list = [&](std::string_view pattern, kind k = kind::func, std::string_view in = "*") {
        bk::target_set s(*syn.vmlinux);
        syn.setup(s);
        auto m = bk::symbol_matches::find(s, bk::name_glob(pattern), k, bk::name_glob(in));
        REQUIRE(m.has_value());
        std::vector<std::string> out;
        for (const bk::candidate c : *m) out.push_back(std::string(s.target_name(c.target)) + ":" + std::string((*c.owner)[c.id].name()));
        // The brute-force answer: every type of every BTF.
        std::vector<std::string> want;
        for (std::uint32_t t = 0; t < s.target_count(); ++t) {
            if (!bk::glob_matches(in, s.target_name(t))) continue;
            bk::byte_buffer buf;
            std::optional<bk::btf> parsed;
            if (t > 0) {
                buf.assign(syn.modules[t - 1].begin(), syn.modules[t - 1].end());
                auto b = bk::btf::parse(bk::byte_span(buf.data(), buf.size()), syn.vmlinux.get());
                REQUIRE(b.has_value());
                parsed.emplace(std::move(*b));
            }
            const bk::btf& b = t == 0 ? *syn.vmlinux : *parsed;
            for (std::uint32_t id = b.first_id(); id < b.type_count(); ++id) {
                if (b.kind_of(id) == k && bk::glob_matches(pattern, b[id].name())) want.push_back(std::string(s.target_name(t)) + ":" + std::string(b[id].name()));
            }
        }
        CHECK(out == want);
        return out;
    };
    CHECK(list("*") == std::vector<std::string>{"vmlinux:foo", "vmlinux:baz___v2", "vmlinux:nothing", "vmlinux:vfoo", "vmlinux:with_callback",
                                                 "m0:foo", "m0:only_m0", "m1:foo___v2", "m1:fool"});
    CHECK(list("foo") == std::vector<std::string>{"vmlinux:foo", "m0:foo"});
    CHECK(list("foo*").size() == 4);
    CHECK(list("fo?").size() == 2);
    CHECK(list("*", kind::func, "m[01]").size() == 4);
    CHECK(list("foo", kind::func, "vmlinux") == std::vector<std::string>{"vmlinux:foo"});
    CHECK(list("bar", kind::var) == std::vector<std::string>{"vmlinux:bar", "m0:bar"});
    CHECK(list("b*", kind::var).size() == 2);
    CHECK(list("nothing_like_it*").empty());
    CHECK(list("foo", kind::var).empty());
}

TEST_CASE("c_prototype: a FUNC as one C declaration, names as the BTF spells them") {
    const synthetic syn;
    const bk::btf& b = *syn.vmlinux;
    std::map<std::string, std::string> protos;
    for (std::uint32_t id = 1; id < b.type_count(); ++id) {
        if (b.kind_of(id) != kind::func) continue;
        auto p = bk::c_prototype(b, id);
        REQUIRE(p.has_value());
        protos[std::string(b[id].name())] = *p;
    }
    CHECK(protos["foo"] == "int foo(int a, const char *b);");
    CHECK(protos["nothing"] == "void nothing(void);");
    CHECK(protos["vfoo"] == "struct foo *vfoo(const char *fmt, ...);");
    CHECK(protos["with_callback"] == "int with_callback(void (*fn)(int), int n);");
    CHECK_FALSE(bk::c_prototype(b, 1).has_value());  // INT: not a FUNC
}

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

// Whether ksnoop prints this function as C can say it: at most 5 named parameters, no variadic, each
// type (past pointers and qualifiers) void or a named int, typedef, struct, union or enum (ksnoop
// loops forever on a function pointer or an anonymous type, and spells others its own way).
bool ksnoop_can_print(const bk::btf& b, std::uint32_t func) {
    const bk::type proto = b[b[func].ref()];
    if (proto.params().size() > 5) return false;  // ksnoop's MAX_ARGS
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
    for (const bk::param p : proto.params()) {
        if (p.type == 0 || b.string(p.name_off).empty() || !plain(p.type)) return false;
    }
    return true;
}

}  // namespace

TEST_CASE("c_prototype against ksnoop info: a few hundred running vmlinux functions") {
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
    std::vector<std::pair<std::string, std::string>> sample;  // (name, ours as ksnoop prints it)
    std::size_t i = 0;
    for (const auto& [name, ids] : by_name) {
        if (ids.size() != 1 || !ksnoop_can_print(b, ids[0]) || i++ % 41 != 0) continue;
        auto p = bk::c_prototype(b, ids[0]);
        REQUIRE(p.has_value());
        sample.emplace_back(name, as_ksnoop(*p));
    }
    REQUIRE(sample.size() > 300);
    for (std::size_t at = 0; at < sample.size(); at += 64) {
        std::vector<std::string> args{ksnoop.string(), "info"};
        for (std::size_t k = at; k < std::min(sample.size(), at + 64); ++k) args.push_back(sample[k].first);
        const bt::run_result r = run(args);
        REQUIRE_MESSAGE(r.status == 0, r.err);
        const auto got = lines_of(r.out);
        REQUIRE(got.size() == args.size() - 2);
        for (std::size_t k = 0; k < got.size(); ++k) CHECK(got[k] == sample[at + k].second);
    }
}
