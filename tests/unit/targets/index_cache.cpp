// targets/index_cache.hpp, and file_targets' target_options::index_cache: answers with a cache are
// the answers without one, a changed file invalidates it, a damaged image is an error that leaves the
// target set working, and `btfkit find` prints the same with the cache off, missed and hit. A synthetic
// target set checks save/load and index_key; the rest needs the Debian corpus (bench/corpus/fetch).
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <utime.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "blob_builder.hpp"
#include "btfkit.hpp"
#include "btfkit/targets/index_cache.hpp"
#include "btfkit/kernel.hpp"
#include "corpus_targets.hpp"

namespace {

using namespace btfkit::testing::corpus_targets;

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

TEST_CASE("index_cache: save and load a synthetic set's indexes; index_key is order- and content-sensitive") {
    bt::blob_builder vb(bk::byte_order::little);
    vb.add_int("int", 4, bk::int_signed);                     // 1
    vb.add_struct("task", 4, false, {{"pid", 1, 0, 0}});      // 2
    auto vm = bk::btf::parse(vb.span());
    REQUIRE(vm.has_value());
    std::vector<std::vector<char>> files;
    for (const char* name : {"a_only", "task", "c_only"}) {
        bt::blob_builder mb(bk::byte_order::little, vm->type_count(), vm->strings_size());
        mb.add_struct(name, 4, false, {{"x", 1, 0, 0}});
        files.push_back(mb.bytes());
    }
    int loads = 0;
    auto make_set = [&](bool index_vmlinux) {
        auto set = std::make_unique<bk::target_set>(*vm, index_vmlinux);
        for (const char* m : {"ma", "mb", "mc"}) set->add_module(m);
        set->set_loader([&](std::uint32_t m, bk::byte_buffer& buf) -> bk::status {
            ++loads;
            buf.assign(files.at(m - 1).begin(), files.at(m - 1).end());
            return {};
        });
        return set;
    };
    const std::uint64_t key = bk::index_key{}.add("vmlinux").add(std::uint64_t{42}).value();
    CHECK(key != bk::index_key{}.add(std::uint64_t{42}).add("vmlinux").value());
    CHECK(key != bk::index_key{}.add("vmlinuy").add(std::uint64_t{42}).value());

    CHECK(bk::index_cache::save(*make_set(false), key).error().code == bk::errc::unsupported);  // nothing to save
    const auto source = make_set(true);
    REQUIRE(source->build_module_index().has_value());
    const auto image = bk::index_cache::save(*source, key);
    REQUIRE_MESSAGE(image.has_value(), image.error().message());
    CHECK(std::string_view(image->data(), 8) == "BTFKIX01");

    loads = 0;
    const auto loaded = make_set(false);
    const bk::status st = bk::index_cache::load(*loaded, bk::byte_span(image->data(), image->size()), key);
    REQUIRE_MESSAGE(st.has_value(), st.error().message());
    CHECK(loaded->module_index_ready());
    CHECK(loaded->vmlinux_index_ready());
    CHECK(loads == 0);
    std::vector<bk::candidate> found;
    REQUIRE(loaded->find("task", found).has_value());
    REQUIRE(found.size() == 2);
    CHECK(found[0].target == 0);
    CHECK(loaded->target_name(found[1].target) == "mb");
    CHECK(loads == 1);  // only the module with the hit
    const bk::status stale = bk::index_cache::load(*make_set(false), bk::byte_span(image->data(), image->size()), key + 1);
    REQUIRE_FALSE(stale.has_value());
    CHECK(stale.error().code == bk::errc::not_found);
}
