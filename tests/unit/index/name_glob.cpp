// index/name_glob.hpp: shell patterns as fnmatch matches them, proven at compile time on one table,
// against glibc's fnmatch at run time, and fuzz_glob's seeds and findings replayed through its driver.
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

