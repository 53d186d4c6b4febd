// The index cache (index_cache.hpp, file_targets' target_options::index_cache): answers with a cache
// are the answers without one, a changed file invalidates it, a damaged image is an error that leaves
// the target set working, and `btfkit find` prints the same with the cache off, missed and hit. Also
// target_set::prefetch (same modules, answers and warnings as lookups) and arena-backed parse tables.
// Needs the Debian corpus (bench/corpus/fetch); skips without it.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <utime.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "btfkit.hpp"
#include "btfkit/targets/index_cache.hpp"
#include "btfkit/kernel.hpp"
#include "core_object.hpp"
#include "temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
namespace bk = btfkit;
namespace bt = btfkit::testing;

const fs::path corpus = BTFKIT_CORPUS_DIR;

bool have_corpus() {
    if (fs::exists(corpus / "vmlinux") && fs::exists(corpus / "modules" / "xfs")) return true;
    MESSAGE("skipping: no Debian corpus in " << corpus.string() << " (bench/corpus/fetch)");
    return false;
}

std::string vmlinux_path() { return (corpus / "vmlinux").string(); }

// Every 20th module of the corpus (sorted), xfs and tcp_bic, and the extra paths given.
std::vector<std::string> module_set(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> all;
    for (const auto& e : fs::directory_iterator(corpus / "modules")) all.push_back(e.path().string());
    std::sort(all.begin(), all.end());
    std::vector<std::string> out;
    for (std::size_t i = 0; i < all.size(); i += 20) out.push_back(all[i]);
    for (const char* m : {"xfs", "tcp_bic"}) out.push_back((corpus / "modules" / m).string());
    out.insert(out.end(), extra.begin(), extra.end());
    return out;
}

// Names to look up: every named STRUCT/UNION/ENUM of the given modules (some vmlinux has too), a
// few vmlinux-only ones and one that exists nowhere.
std::vector<std::string> names_of(const bk::btf& vmlinux, const std::vector<std::string>& modules) {
    std::vector<std::string> names{"task_struct", "sk_buff", "no_such_type_anywhere", "xfs_mount___flavour"};
    for (const auto& p : modules) {
        bk::byte_buffer buf;
        if (!bk::read_btf_into(p, buf)) continue;
        auto b = bk::btf::parse(bk::byte_span(buf.data(), buf.size()), &vmlinux);
        if (!b) continue;
        for (const bk::type t : b->types()) {
            if ((t.is(bk::kind::struct_) || t.is(bk::kind::union_) || t.is(bk::kind::enum_)) && !t.name().empty()) names.emplace_back(t.name());
        }
    }
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    return names;
}

// find() for every name, as "name target id kind" lines.
std::vector<std::string> answers(bk::target_set& set, const std::vector<std::string>& names) {
    std::vector<std::string> out;
    std::vector<bk::candidate> found;
    for (const auto& n : names) {
        found.clear();
        REQUIRE(set.find(bk::essential_name(n), found).has_value());
        for (const auto& c : found) {
            out.push_back(n + " " + std::string(set.target_name(c.target)) + " " + std::to_string(c.id) + " " +
                          std::string(bk::kind_name((*c.owner)[c.id].kind())));
        }
    }
    return out;
}

std::unique_ptr<bk::file_targets> open(const std::vector<std::string>& modules, const std::string& cache,
                                       const std::vector<std::string>& prefetch = {}) {
    bk::target_options o;
    o.index_cache = cache;
    o.prefetch = prefetch;
    auto ft = bk::file_targets::open(vmlinux_path(), modules, o);
    REQUIRE_MESSAGE(ft.has_value(), ft.error().message());
    return std::move(*ft);
}

bool copy_file(const std::string& from, const std::string& to) {
    bk::byte_buffer b;
    return bk::read_file_into(from, b).has_value() && bt::write_bytes(to, bk::byte_span(b.data(), b.size()));
}

}  // namespace

TEST_CASE("index cache: answers and warnings are the same without a cache, on a miss and on a hit") {
    if (!have_corpus()) return;
    bt::temp_dir tmp("btfkit-index-cache");
    const std::string corrupt = (tmp.path / "corrupt").string();
    REQUIRE(bt::write_bytes(corrupt, bk::byte_span("BTF? not really", 15)));
    const auto modules = module_set({corrupt});
    const std::string cache = (tmp.path / "sub" / "dir" / "index.bin").string();  // parents are created

    const auto plain = open(modules, "");
    const auto names = names_of(plain->vmlinux(), modules);
    REQUIRE(names.size() > 500);
    const auto expected = answers(plain->targets(), names);
    REQUIRE(expected.size() > names.size() / 2);
    const auto expected_warnings = plain->targets().warnings();
    REQUIRE(expected_warnings.size() == 1);

    {  // Miss: built as usual, the file written twice (vmlinux at open, modules once indexed).
        const auto miss = open(modules, cache);
        CHECK_FALSE(miss->index_cache_hit());
        CHECK(miss->index_cache_note().empty());
        CHECK(fs::exists(cache));
        CHECK(answers(miss->targets(), names) == expected);
        CHECK(miss->targets().warnings() == expected_warnings);
        CHECK(miss->index_cache_note().empty());
    }
    {  // Hit: nothing read until a lookup hits a module; the corrupt module is still reported.
        const auto hit = open(modules, cache);
        REQUIRE_MESSAGE(hit->index_cache_hit(), hit->index_cache_note());
        CHECK(hit->targets().module_index_ready());
        CHECK(hit->targets().modules_opened() == 0);
        CHECK(hit->targets().warnings() == expected_warnings);
        std::vector<bk::candidate> found;
        REQUIRE(hit->targets().find("xfs_mount", found).has_value());
        REQUIRE(found.size() == 1);
        CHECK(hit->targets().target_name(found[0].target) == "xfs");
        CHECK(hit->targets().modules_opened() == 1);
        CHECK(answers(hit->targets(), names) == expected);
    }
}

TEST_CASE("index cache: a changed module, vmlinux or module list makes it stale; it is rebuilt and rewritten") {
    if (!have_corpus()) return;
    bt::temp_dir tmp("btfkit-index-cache");
    const std::string mod = (tmp.path / "changing").string();
    REQUIRE(copy_file((corpus / "modules" / "tcp_bic").string(), mod));
    const std::vector<std::string> modules{(corpus / "modules" / "xfs").string(), mod};
    const std::string cache = (tmp.path / "index.bin").string();
    auto lookup = [&](bk::file_targets& ft, const char* name) {
        std::vector<bk::candidate> found;
        REQUIRE(ft.targets().find(name, found).has_value());
        return found.size();
    };
    {
        const auto first = open(modules, cache);
        CHECK(lookup(*first, "bictcp") == 2);  // vmlinux (cubic) and tcp_bic
        CHECK(lookup(*first, "vegas") == 0);
    }
    REQUIRE(open(modules, cache)->index_cache_hit());

    // The module's content changes (another module's BTF in its place): stale, answers follow the file.
    REQUIRE(copy_file((corpus / "modules" / "tcp_vegas").string(), mod));
    {
        const auto after = open(modules, cache);
        CHECK_FALSE(after->index_cache_hit());
        CHECK(after->index_cache_note().find("stale") != std::string::npos);
        CHECK(lookup(*after, "bictcp") == 1);  // vmlinux only
        CHECK(lookup(*after, "vegas") == 1);
    }
    REQUIRE(open(modules, cache)->index_cache_hit());  // rewritten

    // Only the modification time changes: stale as well (contents are not hashed).
    struct stat st {};
    REQUIRE(::stat(mod.c_str(), &st) == 0);
    const struct utimbuf older{st.st_atime, st.st_mtime - 100};
    REQUIRE(::utime(mod.c_str(), &older) == 0);
    CHECK_FALSE(open(modules, cache)->index_cache_hit());
    CHECK(open(modules, cache)->index_cache_hit());

    // Another module list (order included) never matches.
    CHECK_FALSE(open({mod, modules[0]}, cache)->index_cache_hit());
    CHECK_FALSE(open({modules[0]}, cache)->index_cache_hit());
    CHECK(open({modules[0]}, cache)->index_cache_hit());  // the last miss rewrote it for that list
}

TEST_CASE("index cache: saved before any module lookup, it gains the module index when one is built") {
    if (!have_corpus()) return;
    bt::temp_dir tmp("btfkit-index-cache");
    const auto modules = module_set();
    const std::string cache = (tmp.path / "index.bin").string();
    CHECK_FALSE(open(modules, cache)->targets().module_index_ready());  // miss: vmlinux's index saved
    {
        const auto second = open(modules, cache);
        REQUIRE(second->index_cache_hit());
        CHECK_FALSE(second->targets().module_index_ready());
        std::vector<bk::candidate> found;
        REQUIRE(second->targets().find("xfs_mount", found).has_value());  // builds the module index
        CHECK(found.size() == 1);
    }
    const auto third = open(modules, cache);
    REQUIRE(third->index_cache_hit());
    CHECK(third->targets().module_index_ready());
    CHECK(third->targets().modules_opened() == 0);
}

TEST_CASE("index cache: a module the OS cannot read is not cached as failed (it may be readable next time)") {
    if (!have_corpus()) return;
    bt::temp_dir tmp("btfkit-index-cache");
    const std::string missing = (tmp.path / "missing").string();
    const std::vector<std::string> modules{(corpus / "modules" / "xfs").string(), missing};
    const std::string cache = (tmp.path / "index.bin").string();
    auto xfs_mount = [](bk::file_targets& ft) {
        std::vector<bk::candidate> found;
        REQUIRE(ft.targets().find("xfs_mount", found).has_value());
        return found.size();
    };
    {
        const auto first = open(modules, cache);
        CHECK(xfs_mount(*first) == 1);
        CHECK(first->targets().warnings().size() == 1);  // missing: cannot open file
    }
    {  // The vmlinux index comes from the cache, the module index is built again (and warns again).
        const auto second = open(modules, cache);
        CHECK(second->index_cache_hit());
        CHECK_FALSE(second->targets().module_index_ready());
        CHECK(xfs_mount(*second) == 1);
        CHECK(second->targets().warnings().size() == 1);
    }
    // The file appears (its identity changes the key): it is indexed.
    REQUIRE(copy_file((corpus / "modules" / "xfs").string(), missing));
    const auto third = open(modules, cache);
    CHECK_FALSE(third->index_cache_hit());
    CHECK(xfs_mount(*third) == 2);
    CHECK(third->targets().warnings().empty());
}

TEST_CASE("index cache: every truncation and damaged byte is an error naming the cache; the set keeps working") {
    if (!have_corpus()) return;
    bt::temp_dir tmp("btfkit-index-cache");
    const auto modules = module_set();
    const std::string cache = (tmp.path / "index.bin").string();
    (void)open(modules, cache)->targets().build_module_index();
    bk::byte_buffer good;
    REQUIRE(bk::read_file_into(cache, good).has_value());
    REQUIRE(good.size() > 64);

    // The OS-free API: the same bytes, a fresh target set per attempt.
    const auto ref = open(modules, "");
    const std::vector<std::string> names{"xfs_mount", "bictcp", "task_struct", "no_such_type_anywhere"};
    const auto expected = answers(ref->targets(), names);
    std::uint64_t key = 0;  // the key file_targets used, from the image's header (offset 16, little-endian)
    for (std::size_t i = 0; i < 8; ++i) key |= std::uint64_t{static_cast<unsigned char>(good[16 + i])} << (8 * i);

    auto attempt = [&](const bk::byte_buffer& img, bool expect_ok) {
        bk::target_set set(ref->vmlinux(), false);
        for (const auto& p : modules) set.add_module(bk::module_name_of(p));
        set.set_loader([&](std::uint32_t m, bk::byte_buffer& buf) { return bk::read_btf_into(modules[m - 1], buf); });
        const bk::status st = bk::index_cache::load(set, bk::byte_span(img.data(), img.size()), key);
        CHECK(st.has_value() == expect_ok);
        if (!st) {
            CHECK(st.error().message().find("section index cache") != std::string::npos);
            set.build_vmlinux_index();
        }
        CHECK(answers(set, names) == expected);
    };
    attempt(good, true);
    for (std::size_t n : {std::size_t{0}, std::size_t{7}, std::size_t{63}, std::size_t{64}, good.size() / 2, good.size() - 4, good.size() - 1}) {
        bk::byte_buffer cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
        attempt(cut, false);
    }
    // A flipped byte anywhere: the magic, version, key, counts, checksum or any table byte.
    for (std::size_t at = 0; at < good.size(); at += (at < 64 ? 1 : good.size() / 97 + 1)) {
        bk::byte_buffer bad = good;
        bad[at] = static_cast<char>(bad[at] ^ 0x5a);
        attempt(bad, false);
    }
    // Wrong key: stale, errc::not_found.
    bk::target_set set(ref->vmlinux(), false);
    for (const auto& p : modules) set.add_module(bk::module_name_of(p));
    const bk::status st = bk::index_cache::load(set, bk::byte_span(good.data(), good.size()), key + 1);
    REQUIRE_FALSE(st.has_value());
    CHECK(st.error().code == bk::errc::not_found);

    // A damaged file on disk: file_targets notes why, rebuilds, and rewrites it.
    bk::byte_buffer bad = good;
    bad[good.size() / 2] = static_cast<char>(bad[good.size() / 2] ^ 1);
    REQUIRE(bt::write_bytes(cache, bk::byte_span(bad.data(), bad.size())));
    {
        const auto ft = open(modules, cache);
        CHECK_FALSE(ft->index_cache_hit());
        CHECK(ft->index_cache_note().find("checksum") != std::string::npos);
        CHECK(answers(ft->targets(), names) == expected);
    }
    CHECK(open(modules, cache)->index_cache_hit());
}

TEST_CASE("index cache: btfkit find prints the same with the cache off, missed and hit") {
    if (!have_corpus()) return;
    bt::temp_dir tmp("btfkit-index-cache");
    const std::string dir = (tmp.path / "cache").string() + "/";
    auto run = [&](const std::string& cache) {
        const std::string cmd = std::string(BTFKIT_TOOL) + " find xfs_mount bictcp task_struct sk_buff nf_conn no_such_type --btf " +
                                vmlinux_path() + " --modules-dir " + (corpus / "modules").string() + " --index-cache " + cache + " 2>&1";
        std::string out;
        FILE* p = ::popen(cmd.c_str(), "r");
        REQUIRE(p != nullptr);
        char buf[4096];
        while (const std::size_t n = std::fread(buf, 1, sizeof(buf), p)) out.append(buf, n);
        const int st = ::pclose(p);
        CHECK((WIFEXITED(st) && WEXITSTATUS(st) == 1));  // no_such_type: not found, as grep
        return out;
    };
    const std::string off = run("off");
    CHECK(off.find("xfs_mount xfs ") != std::string::npos);
    CHECK(off.find("task_struct vmlinux ") != std::string::npos);
    CHECK(run(dir) == off);  // miss: writes DIR/index-<hash>.bin
    std::size_t files = 0;
    for (const auto& e : fs::directory_iterator(dir)) files += e.path().filename().string().starts_with("index-") ? 1u : 0u;
    CHECK(files == 1);
    CHECK(run(dir) == off);  // hit
    CHECK(run((tmp.path / "explicit.bin").string()) == off);
    CHECK(fs::exists(tmp.path / "explicit.bin"));
}

// ---- target_set::prefetch and arena-backed tables (they share the corpus set-up above) ----

namespace {

// A copy of module `name` whose first STRUCT member with a type refers past the end: the module index
// (which reads names only) takes it, a full parse rejects it.
std::string module_with_bad_reference(const bt::temp_dir& tmp, const bk::btf& vmlinux, const char* name) {
    bk::byte_buffer buf;
    REQUIRE(bk::read_btf_into((corpus / "modules" / name).string(), buf).has_value());
    auto b = bk::btf::parse(bk::byte_span(buf.data(), buf.size()), &vmlinux);
    REQUIRE(b.has_value());
    bool done = false;
    for (const bk::type t : b->types()) {
        if (!t.is(bk::kind::struct_) || t.vlen() == 0) continue;
        bk::detail::store<std::uint32_t>(buf.data() + t.offset() + 12 + 4, 0x7ffffff0u, bk::byte_order::little);
        done = true;
        break;
    }
    REQUIRE(done);
    const std::string path = (tmp.path / (std::string(name) + "_bad")).string();
    REQUIRE(bt::write_bytes(path, bk::byte_span(buf.data(), buf.size())));
    return path;
}

// A copy of module `name` whose 10th type has an unknown kind: walking it fails there, naming its id.
std::string module_with_unknown_kind(const bt::temp_dir& tmp, const bk::btf& vmlinux, const char* name) {
    bk::byte_buffer buf;
    REQUIRE(bk::read_btf_into((corpus / "modules" / name).string(), buf).has_value());
    auto b = bk::btf::parse(bk::byte_span(buf.data(), buf.size()), &vmlinux);
    REQUIRE(b.has_value());
    REQUIRE(b->own_count() > 10);
    const bk::type t = (*b)[b->first_id() + 9];
    const auto info = bk::detail::load<std::uint32_t>(buf.data() + t.offset() + 4, bk::byte_order::little);
    bk::detail::store<std::uint32_t>(buf.data() + t.offset() + 4, info | (0x1fu << 24), bk::byte_order::little);
    const std::string path = (tmp.path / (std::string(name) + "_kind")).string();
    REQUIRE(bt::write_bytes(path, bk::byte_span(buf.data(), buf.size())));
    return path;
}

}  // namespace

// The first `keep` bytes of module `name`, under a new name: the module index rejects it (its
// header promises more than there is).
std::string truncated_module(const bt::temp_dir& tmp, const char* name, const char* as, std::size_t keep) {
    bk::byte_buffer buf;
    REQUIRE(bk::read_btf_into((corpus / "modules" / name).string(), buf).has_value());
    REQUIRE(buf.size() > keep);
    const std::string path = (tmp.path / as).string();
    REQUIRE(bt::write_bytes(path, bk::byte_span(buf.data(), keep)));
    return path;
}

// The module position of each warning's module ("module NAME skipped: ..."), in warning order.
std::vector<std::size_t> warning_positions(const bk::target_set& set) {
    std::vector<std::size_t> out;
    for (const auto& w : set.warnings()) {
        for (std::uint32_t t = 1; t < set.target_count(); ++t) {
            if (w.starts_with("module " + std::string(set.target_name(t)) + " skipped")) out.push_back(t);
        }
    }
    return out;
}

TEST_CASE("prefetch: opens exactly the modules the lookups would, with the same answers and warnings") {
    if (!have_corpus()) return;
    bt::temp_dir tmp("btfkit-prefetch");
    const auto plain0 = open({}, "");
    // Three modules the index rejects, side by side (so that the two index threads each fail some),
    // then one it takes and opening rejects.
    const auto modules = module_set({truncated_module(tmp, "xfs", "xfs_cut1", 4000), truncated_module(tmp, "xfs", "xfs_cut2", 9000),
                                     truncated_module(tmp, "tcp_bic", "tcp_bic_cut", 100),
                                     module_with_bad_reference(tmp, plain0->vmlinux(), "tcp_bic")});
    REQUIRE(modules.size() >= 64);  // the module index on two threads
    const auto names = names_of(plain0->vmlinux(), modules);
    std::vector<std::string_view> essentials;
    for (const auto& n : names) essentials.push_back(bk::essential_name(n));
    // Names the prefetch is not told of: looked up afterwards, they build the indexes as usual.
    const std::vector<std::string> others{"bpf_prog", "nf_conn", "ext4_sb_info", "i915_vma", "btrfs_fs_info", "kvm_vcpu"};

    const auto lazy = open(modules, "");
    const auto expected = answers(lazy->targets(), names);
    const auto expected_others = answers(lazy->targets(), others);
    const std::uint32_t opened = lazy->targets().modules_opened();
    REQUIRE(opened > 24);  // enough for prefetch's two threads
    const auto expected_warnings = lazy->targets().warnings();
    REQUIRE(expected_warnings.size() == 4);  // the three cut ones, indexed first; tcp_bic_bad, opened later
    CHECK(expected_warnings[3].find("tcp_bic_bad") != std::string::npos);
    const auto positions = warning_positions(lazy->targets());
    REQUIRE(positions.size() == 4);
    CHECK(std::is_sorted(positions.begin(), positions.end()));  // module order, whichever thread read them

    // Without a cache: one pass (no index built), after opening or started at open (target_options::
    // prefetch: the modules walked while vmlinux is read and parsed); with a cache: the cached index,
    // then the opening threads; and with the module index built first, as a lookup would have.
    enum class path { one_pass, at_open, cached, index_first };
    for (const path how : {path::one_pass, path::at_open, path::cached, path::index_first}) {
        CAPTURE(static_cast<int>(how));
        const bool no_index = how == path::one_pass || how == path::at_open;
        const std::string cache = how == path::cached ? (tmp.path / "index.bin").string() : "";
        if (how == path::cached) (void)open(modules, cache)->targets().build_module_index();
        const auto pre = open(modules, cache, how == path::at_open ? names : std::vector<std::string>{});
        bk::target_set& set = pre->targets();
        CHECK(pre->index_cache_hit() == (how == path::cached));
        if (how == path::index_first) REQUIRE(set.build_module_index().has_value());
        if (how == path::at_open) {  // done already
            CHECK(set.modules_opened() == opened);
            CHECK(set.warnings() == expected_warnings);
        }
        REQUIRE(set.prefetch(essentials).has_value());
        CHECK(set.module_index_ready() == !no_index);
        CHECK(set.modules_opened() == opened);
        CHECK(set.warnings() == expected_warnings);
        CHECK(answers(set, names) == expected);
        CHECK(set.modules_opened() == opened);  // nothing left to open
        CHECK(set.warnings() == expected_warnings);
        CHECK(set.module_index_ready() == !no_index);  // the pass's names need no index
        REQUIRE(set.prefetch(essentials).has_value());  // again: nothing to do
        CHECK(set.modules_opened() == opened);
        CHECK(set.module_index_ready() == !no_index);
        CHECK(answers(set, others) == expected_others);  // other names: the indexes now
        CHECK(set.module_index_ready());
        CHECK(set.vmlinux_index().slots().size() > 0);
        CHECK(set.warnings() == expected_warnings);  // the failed modules are not read again
    }
    {  // A few names, one pass: the two modules with hits are opened (tcp_bic_bad fails).
        const auto few = open(modules, "");
        const std::vector<std::string_view> two{"xfs_mount", "bictcp"};
        REQUIRE(few->targets().prefetch(two).has_value());
        CHECK(few->targets().modules_opened() == 2);
        CHECK(few->targets().warnings().size() == 4);
        CHECK(answers(few->targets(), {"xfs_mount", "bictcp"}) == answers(lazy->targets(), {"xfs_mount", "bictcp"}));
        CHECK_FALSE(few->targets().module_index_ready());
        CHECK(few->targets().vmlinux_index().slots().size() == 0);  // scanned for the two names, not indexed
        // Relocation lookups (collect) of the prefetched names take the same entries.
        std::vector<bk::candidate> got, want;
        const bk::relocate_options o{};
        const auto local = bk::btf::parse(lazy->vmlinux().data());  // any BTF with a STRUCT to stand for the local type
        REQUIRE(local.has_value());
        for (const bk::type t : local->types()) {
            if (!t.is(bk::kind::struct_)) continue;
            REQUIRE(bk::collect_candidates(few->targets(), t, "xfs_mount", o, got).has_value());
            REQUIRE(bk::collect_candidates(lazy->targets(), t, "xfs_mount", o, want).has_value());
            break;
        }
        CHECK(got.size() == 1);
        CHECK(got.size() == want.size());
        CHECK_FALSE(few->targets().module_index_ready());
    }
    {  // No modules: the pass scans vmlinux only, and lookups of its names need no vmlinux index.
        const auto none = open({}, "");
        const std::vector<std::string_view> vm{"task_struct", "sk_buff", "xfs_mount"};
        REQUIRE(none->targets().prefetch(vm).has_value());
        CHECK(none->targets().vmlinux_index().slots().size() == 0);
        CHECK(answers(none->targets(), {"task_struct", "sk_buff", "xfs_mount"}) == answers(plain0->targets(), {"task_struct", "sk_buff", "xfs_mount"}));
        CHECK(none->targets().vmlinux_index().slots().size() == 0);
        CHECK(answers(none->targets(), {"bpf_prog"}) == answers(plain0->targets(), {"bpf_prog"}));
        CHECK(none->targets().vmlinux_index().slots().size() > 0);
    }
}

TEST_CASE("name_pass: modules read before vmlinux's strings, walked before it is parsed: the same outcome") {
    if (!have_corpus()) return;
    bt::temp_dir tmp("btfkit-name-pass");
    const auto plain0 = open({}, "");
    const auto modules = module_set({truncated_module(tmp, "xfs", "xfs_cut1", 4000), truncated_module(tmp, "tcp_bic", "tcp_bic_cut", 100),
                                     module_with_unknown_kind(tmp, plain0->vmlinux(), "xfs"),
                                     module_with_bad_reference(tmp, plain0->vmlinux(), "tcp_bic")});
    REQUIRE(modules.size() >= bk::detail::thread_min_modules);
    const auto names = names_of(plain0->vmlinux(), modules);
    std::vector<std::string_view> essentials;
    for (const auto& n : names) essentials.push_back(bk::essential_name(n));
    const auto lazy = open(modules, "");
    const auto expected = answers(lazy->targets(), names);
    const auto expected_warnings = lazy->targets().warnings();
    REQUIRE(expected_warnings.size() == 4);
    CHECK(expected_warnings[2].find("xfs_kind skipped: ") != std::string::npos);
    CHECK(expected_warnings[2].find("type #") != std::string::npos);  // the id: the same after a walk over the strings alone
    const std::uint32_t opened = lazy->targets().modules_opened();
    const auto n = static_cast<std::uint32_t>(modules.size());

    // The pass's helper takes every module (this thread takes none until adopt); the stages are given
    // only once it has read them all, so each module waits where the stage says.
    enum class stage { nothing, strings };  // what is known of vmlinux while the modules are read
    for (const stage known : {stage::nothing, stage::strings}) {
        CAPTURE(static_cast<int>(known));
        auto file = bk::mapped_file::open(vmlinux_path());
        REQUIRE(file.has_value());
        auto raw = bk::find_btf(file->bytes());
        REQUIRE(raw.has_value());
        std::atomic<std::uint32_t> reads{0};
        bk::module_loader load = [&](std::uint32_t m, bk::byte_buffer& buf) {
            const bk::status st = bk::read_btf_into(modules.at(m - 1), buf);
            reads.fetch_add(1);
            return st;
        };
        bk::name_pass pass(essentials, n, load);
        auto strings = bk::base_strings::of(*raw);
        REQUIRE(strings.has_value());
        if (known == stage::strings) pass.base_strings_known(*strings);
        pass.start();
        for (int i = 0; i < 20000 && reads.load() < n; ++i) std::this_thread::sleep_for(std::chrono::microseconds(100));
        REQUIRE(reads.load() == n);
        if (known == stage::nothing) pass.base_strings_known(*strings);
        auto vm = bk::btf::parse(*raw);
        REQUIRE(vm.has_value());
        pass.base_parsed(*vm);
        bk::target_set set(*vm, false);
        for (const auto& m : modules) set.add_module(bk::module_name_of(m));
        set.set_loader(load);
        REQUIRE(set.adopt(pass).has_value());
        // The two cut modules and xfs_kind failed their walk over the strings alone: walked again over
        // parsed vmlinux. (Read before the strings were known, they may have waited until vmlinux was
        // parsed, and were then walked over it once.)
        if (known == stage::strings) CHECK(reads.load() == n + 3);
        else CHECK((reads.load() == n || reads.load() == n + 3));
        CHECK(set.modules_opened() == opened);
        CHECK(set.warnings() == expected_warnings);
        CHECK(answers(set, names) == expected);
        CHECK_FALSE(set.module_index_ready());
        CHECK(set.vmlinux_index().slots().size() == 0);
        CHECK_FALSE(set.adopt(pass).has_value());  // a set takes one pass, before any index
    }
    {  // Abandoned while its helper waits for vmlinux (an open that failed): it stops, nothing leaks.
        bk::name_pass pass(essentials, n, [&](std::uint32_t m, bk::byte_buffer& buf) { return bk::read_btf_into(modules.at(m - 1), buf); });
        pass.start();
    }
    {  // An open whose vmlinux cannot be read, with a pass started: an error naming the file.
        bk::target_options o;
        o.prefetch = names;
        const std::string missing = (tmp.path / "no-such-vmlinux").string();  // the error's subject: caller-owned
        auto ft = bk::file_targets::open(missing, modules, o);
        REQUIRE_FALSE(ft.has_value());
        CHECK_MESSAGE(ft.error().message().find("no-such-vmlinux") != std::string::npos, ft.error().message());
    }
}

TEST_CASE("parse_two_threads: vmlinux parsed in two halves is parsed as in one pass; damage anywhere, the same error") {
    if (!have_corpus()) return;
    bk::byte_buffer buf;
    REQUIRE(bk::read_btf_into(vmlinux_path(), buf).has_value());
    const bk::byte_span bytes(buf.data(), buf.size());
    auto one = bk::btf::parse(bytes);
    REQUIRE(one.has_value());
    REQUIRE(one->header().type_len >= bk::btf::split_min_bytes);
    auto same = [](const bk::btf& a, const bk::btf& b) {
        REQUIRE(a.type_count() == b.type_count());
        for (std::uint32_t id = 1; id < a.type_count(); ++id) {
            if (a[id].offset() != b[id].offset()) {
                FAIL("type #" << id << " at " << b[id].offset() << ", expected " << a[id].offset());
            }
        }
        CHECK(std::equal(a.named_indexed().begin(), a.named_indexed().end(), b.named_indexed().begin(), b.named_indexed().end()));
    };
    int halves_used = 0;
    auto counting = [&](auto&& first, auto&& second) {
        ++halves_used;
        bk::detail::run_both(first, second);
    };
    auto two = bk::btf::parse_split(bytes, counting);
    REQUIRE(two.has_value());
    CHECK(halves_used == 1);
    same(*one, *two);
    auto two_again = bk::parse_two_threads(bytes);
    REQUIRE(two_again.has_value());
    same(*one, *two_again);
    if (fs::exists("/sys/kernel/btf/vmlinux")) {  // the running kernel's too
        bk::byte_buffer kb;
        REQUIRE(bk::read_file_into("/sys/kernel/btf/vmlinux", kb).has_value());
        auto k1 = bk::btf::parse(bk::byte_span(kb.data(), kb.size()));
        auto k2 = bk::parse_two_threads(bk::byte_span(kb.data(), kb.size()));
        REQUIRE(k1.has_value());
        REQUIRE(k2.has_value());
        same(*k1, *k2);
    }
    // Damage in either half, or at the guessed boundary itself: the error parse gives.
    const std::uint32_t n = one->type_count();
    struct damage { const char* what; std::uint32_t id; std::size_t field; std::uint32_t value; };
    const std::vector<damage> cases{
        {"unknown kind, first half", n / 4, 4, 0x1f000000u},
        {"unknown kind, second half", 3 * n / 4, 4, 0x1f000000u},
        {"bad name offset, second half", 3 * n / 4, 0, 0x7ffffff0u},
        {"bad name offset, last type", n - 1, 0, 0x7ffffff0u},
        {"vlen too large, just before the middle", n / 2 - 1, 4, 0x0400ffffu},
        {"unknown kind in the middle", n / 2, 4, 0x1f000000u},
        {"unknown kind just after the middle", n / 2 + 1, 4, 0x1f000000u},
    };
    for (const damage& d : cases) {
        CAPTURE(d.what);
        bk::byte_buffer bad(buf.begin(), buf.end());
        bk::detail::store<std::uint32_t>(bad.data() + (*one)[d.id].offset() + d.field, d.value, bk::byte_order::little);
        const bk::byte_span bb(bad.data(), bad.size());
        auto want = bk::btf::parse(bb);
        auto got = bk::parse_two_threads(bb);
        REQUIRE_FALSE(want.has_value());
        REQUIRE_FALSE(got.has_value());
        CHECK(got.error().message() == want.error().message());
    }
    // A bad reference in the second half (found by the folded maximum, after both halves): the same.
    {
        bk::byte_buffer bad(buf.begin(), buf.end());
        std::uint32_t id = 3 * n / 4;
        while (!(*one)[id].is(bk::kind::ptr)) ++id;
        bk::detail::store<std::uint32_t>(bad.data() + (*one)[id].offset() + 8, n + 5, bk::byte_order::little);
        auto want = bk::btf::parse(bk::byte_span(bad.data(), bad.size()));
        auto got = bk::parse_two_threads(bk::byte_span(bad.data(), bad.size()));
        REQUIRE_FALSE(want.has_value());
        REQUIRE_FALSE(got.has_value());
        CHECK(got.error().message() == want.error().message());
    }
    // A section under split_min_bytes (a module, over vmlinux) is parsed in one pass: run_both is not called.
    bk::byte_buffer mb;
    REQUIRE(bk::read_btf_into((corpus / "modules" / "xfs").string(), mb).has_value());
    int calls = 0;
    auto small = bk::btf::parse_split(bk::byte_span(mb.data(), mb.size()), [&](auto&&, auto&&) { ++calls; }, &*one);
    REQUIRE(small.has_value());
    CHECK(calls == 0);
    auto small1 = bk::btf::parse(bk::byte_span(mb.data(), mb.size()), &*one);
    REQUIRE(small1.has_value());
    same(*small1, *small);
}

// The same BTF in the other byte order: every field of the header (past magic, version, flags) and of
// the type section is a 32-bit word; strings are bytes.
bk::byte_buffer swapped_btf(bk::byte_span le) {
    bk::byte_buffer out(le.begin(), le.end());
    auto swap_word = [&](std::size_t at) {
        std::swap(out[at], out[at + 3]);
        std::swap(out[at + 1], out[at + 2]);
    };
    std::swap(out[0], out[1]);  // magic
    const auto u32 = [&](std::size_t at) { return bk::detail::load<std::uint32_t>(le.data() + at, bk::byte_order::little); };
    const std::uint32_t hdr_len = u32(4), type_off = u32(8), type_len = u32(12);
    for (std::size_t at = 4; at + 4 <= hdr_len; at += 4) swap_word(at);
    for (std::size_t at = hdr_len + type_off; at < hdr_len + type_off + type_len; at += 4) swap_word(at);
    return out;
}

TEST_CASE("parse_two_threads with name hashes: the index from them is the one built after the parse, both byte orders") {
    std::vector<std::pair<std::string, bk::byte_buffer>> blobs;
    if (have_corpus()) {
        blobs.emplace_back("Debian vmlinux", bk::byte_buffer{});
        REQUIRE(bk::read_btf_into(vmlinux_path(), blobs.back().second).has_value());
    }
    if (fs::exists("/sys/kernel/btf/vmlinux")) {
        blobs.emplace_back("running kernel", bk::byte_buffer{});
        REQUIRE(bk::read_file_into("/sys/kernel/btf/vmlinux", blobs.back().second).has_value());
    }
    if (blobs.empty()) return;
    const std::size_t little = blobs.size();
    for (std::size_t i = 0; i < little; ++i) {
        const auto& [what, b] = blobs[i];
        blobs.emplace_back(what + ", big-endian", swapped_btf(bk::byte_span(b.data(), b.size())));
    }
    for (const auto& [what, buf] : blobs) {
        CAPTURE(what);
        const bk::byte_span bytes(buf.data(), buf.size());
        bk::named_hashes hashes;
        auto b = bk::parse_two_threads(bytes, nullptr, nullptr, &hashes);
        REQUIRE(b.has_value());
        REQUIRE(b->header().type_len >= bk::btf::split_min_bytes);
        CHECK(b->order() == (what.find("big") != std::string::npos ? bk::byte_order::big : bk::byte_order::little));
        REQUIRE(hashes.size() == b->named_indexed().size());
        const auto from_hashes = bk::name_index::build(*b, hashes);
        const auto after = bk::name_index::build(*b);
        REQUIRE(from_hashes.slots().size() == after.slots().size());
        CHECK(from_hashes.id_bits() == after.id_bits());
        std::size_t differ = 0, used = 0;
        for (std::size_t i = 0; i < after.slots().size(); ++i) {
            differ += from_hashes.slots()[i] != after.slots()[i];
            used += after.slots()[i] != 0;
        }
        CHECK(differ == 0);
        CHECK(used > 10000);
        // Lookups agree with a scan, for names with and without a flavor suffix.
        for (const std::string_view name : {"task_struct", "sk_buff", "u32", "list_head", "no_such_type_here"}) {
            std::vector<std::uint32_t> got, want;
            from_hashes.for_each(*b, name, [&](std::uint32_t id) { got.push_back(id); });
            for (std::uint32_t id = 1; id < b->type_count(); ++id) {
                if (bk::indexed_kind((*b)[id].kind()) && bk::essential_name((*b)[id].name()) == name) want.push_back(id);
            }
            CHECK_MESSAGE(got == want, name);
        }
        // Hashes of another length are not used: the index is built from the names.
        hashes.pop_back();
        const auto rebuilt = bk::name_index::build(*b, hashes);
        REQUIRE(rebuilt.slots().size() == after.slots().size());
        std::size_t rebuilt_differ = 0;
        for (std::size_t i = 0; i < after.slots().size(); ++i) rebuilt_differ += rebuilt.slots()[i] != after.slots()[i];
        CHECK(rebuilt_differ == 0);
    }
    // Damage: the error parse gives, and no hashes.
    const auto& [what, buf] = blobs.front();
    auto one = bk::btf::parse(bk::byte_span(buf.data(), buf.size()));
    REQUIRE(one.has_value());
    for (const std::uint32_t id : {one->type_count() / 4, 3 * one->type_count() / 4}) {
        bk::byte_buffer bad(buf.begin(), buf.end());
        bk::detail::store<std::uint32_t>(bad.data() + (*one)[id].offset(), 0x7ffffff0u, bk::byte_order::little);  // name offset
        bk::named_hashes hashes{1, 2, 3};
        auto got = bk::parse_two_threads(bk::byte_span(bad.data(), bad.size()), nullptr, nullptr, &hashes);
        auto want = bk::btf::parse(bk::byte_span(bad.data(), bad.size()));
        REQUIRE_FALSE(got.has_value());
        REQUIRE_FALSE(want.has_value());
        CHECK(got.error().message() == want.error().message());
        CHECK(hashes.empty());
    }
}

TEST_CASE("btf::parse with a chunk_arena: the same table, in the arena; a copy owns its own") {
    if (!have_corpus()) return;
    const auto ft = open({}, "");
    const bk::btf& vm = ft->vmlinux();
    bk::byte_buffer buf;
    REQUIRE(bk::read_btf_into((corpus / "modules" / "xfs").string(), buf).has_value());
    const bk::byte_span bytes(buf.data(), buf.size());
    const auto plain = bk::btf::parse(bytes, &vm);
    REQUIRE(plain.has_value());
    std::optional<bk::btf> copy;
    {
        bk::chunk_arena arena;
        (void)arena.allocate(3, 1);  // misaligned on purpose: the table is aligned anyway
        auto in_arena = bk::btf::parse(bytes, &vm, &arena);
        REQUIRE(in_arena.has_value());
        REQUIRE(in_arena->type_count() == plain->type_count());
        for (std::uint32_t id = in_arena->first_id(); id < in_arena->type_count(); ++id) {
            REQUIRE((*in_arena)[id].offset() == (*plain)[id].offset());
        }
        copy.emplace(*in_arena);
        // A failure allocates from the arena too, and gives nothing back: no harm.
        bk::byte_buffer bad(buf.begin(), buf.end());
        bad[bad.size() - 1] = 'x';  // the string section no longer ends with NUL
        CHECK_FALSE(bk::btf::parse(bk::byte_span(bad.data(), bad.size()), &vm, &arena).has_value());
    }
    for (std::uint32_t id = copy->first_id(); id < copy->type_count(); ++id) {
        REQUIRE((*copy)[id].offset() == (*plain)[id].offset());
    }
    // Arenas adopt each other's chunks; what was allocated stays put.
    bk::chunk_arena a, b(std::size_t{1} << 21);
    char* pa = a.allocate(100);
    char* pb = b.allocate(100);
    pa[99] = 'a';
    pb[99] = 'b';
    a.adopt(std::move(b));
    CHECK(a.allocate(8) == pa + 104);  // a goes on filling its own chunk
    CHECK(pa[99] == 'a');
    CHECK(pb[99] == 'b');
}

TEST_CASE("read_file_into: whole files, whether or not their size is a whole number of pages") {
    bt::temp_dir tmp("btfkit-read");
    for (const std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{4095}, std::size_t{4096}, std::size_t{5000}, std::size_t{8192}, std::size_t{300001}}) {
        CAPTURE(n);
        std::vector<char> data(n);
        for (std::size_t i = 0; i < n; ++i) data[i] = static_cast<char>(i * 7 + n);
        const std::string path = (tmp.path / ("f" + std::to_string(n))).string();
        REQUIRE(bt::write_bytes(path, bk::byte_span(data.data(), data.size())));
        bk::byte_buffer plain;
        REQUIRE(bk::read_file_into(path, plain).has_value());
        CHECK(std::equal(plain.begin(), plain.end(), data.begin(), data.end()));
        bk::chunk_arena arena;  // as target_set reads modules: the buffer's blocks in an arena
        bk::byte_buffer in_arena{bk::default_init_allocator<char>(&arena)};
        REQUIRE(bk::read_file_into(path, in_arena).has_value());
        CHECK(std::equal(in_arena.begin(), in_arena.end(), data.begin(), data.end()));
    }
}

TEST_CASE("mapped_file::load::read still maps a sysfs file (the kernel would serve it 4 KiB per read)") {
    const std::string sys = "/sys/kernel/btf/vmlinux";
    if (!fs::exists(sys)) return;
    auto mapped = bk::mapped_file::open(sys);
    auto read = bk::mapped_file::open(sys, bk::mapped_file::load::read);
    REQUIRE(mapped.has_value());
    REQUIRE(read.has_value());
    CHECK(read->is_mapped() == mapped->is_mapped());  // both mapped where the kernel allows it
    REQUIRE(read->size() == mapped->size());
    CHECK(std::equal(read->bytes().begin(), read->bytes().end(), mapped->bytes().begin()));
}

TEST_CASE("target_options::read_vmlinux: vmlinux read into memory, not mapped; the same answers") {
    if (!have_corpus()) return;
    auto mapped = bk::mapped_file::open(vmlinux_path());
    auto read = bk::mapped_file::open(vmlinux_path(), bk::mapped_file::load::read);
    REQUIRE(mapped.has_value());
    REQUIRE(read.has_value());
    CHECK(mapped->is_mapped());
    CHECK_FALSE(read->is_mapped());
    REQUIRE(read->size() == mapped->size());
    CHECK(std::equal(read->bytes().begin(), read->bytes().end(), mapped->bytes().begin()));

    const auto modules = module_set();
    bk::target_options o;
    o.read_vmlinux = true;
    auto ft = bk::file_targets::open(vmlinux_path(), modules, o);
    REQUIRE(ft.has_value());
    const auto plain = open(modules, "");
    const std::vector<std::string> names{"task_struct", "xfs_mount", "bictcp", "no_such_type_anywhere"};
    CHECK(answers((*ft)->targets(), names) == answers(plain->targets(), names));
    CHECK((*ft)->vmlinux().type_count() == plain->vmlinux().type_count());
}

TEST_CASE("an indexed_target (a built name index) answers the same from several threads at once") {
    if (!have_corpus()) return;
    const auto ft = open({}, "");
    const bk::btf& vm = ft->vmlinux();
    const bk::indexed_target target(vm);
    // Every named STRUCT/UNION/ENUM of vmlinux, as a local type of its own kind.
    std::vector<std::uint32_t> ids;
    for (std::uint32_t id = 1; id < vm.type_count(); ++id) {
        const bk::type t = vm[id];
        if ((t.is(bk::kind::struct_) || t.is(bk::kind::union_) || t.is(bk::kind::enum_)) && !t.name().empty()) ids.push_back(id);
    }
    REQUIRE(ids.size() > 5000);
    auto all = [&](std::vector<std::uint32_t>& out) {
        std::vector<bk::candidate> found;
        for (const std::uint32_t id : ids) {
            found.clear();
            if (!bk::collect_candidates(target, vm[id], bk::essential_name(vm[id].name()), bk::relocate_options{}, found)) out.push_back(0);
            out.push_back(static_cast<std::uint32_t>(found.size()));
            for (const auto& c : found) out.push_back(c.id);
        }
    };
    std::vector<std::uint32_t> expected;
    all(expected);
    std::vector<std::vector<std::uint32_t>> got(4);
    {
        std::vector<std::jthread> threads;
        for (auto& g : got) threads.emplace_back([&all, &g] { all(g); });
    }
    for (const auto& g : got) CHECK(g == expected);
}
