// runtime/name_pass.hpp: the one pass over the modules for names known up front, started before
// vmlinux is read; the same outcome as lookups, whatever vmlinux's stage when the modules are read.
// On synthetic modules, and on the Debian corpus (bench/corpus/fetch) where it is there.
#include <doctest/doctest.h>

#include <atomic>
#include <memory>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "blob_builder.hpp"
#include "btfkit/runtime/name_pass.hpp"
#include "corpus_targets.hpp"

namespace {

using namespace btfkit::testing::corpus_targets;

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

TEST_CASE("name_pass: synthetic modules walked over vmlinux's strings; the set answers as without the pass") {
    bt::blob_builder vb(bk::byte_order::little);
    vb.add_int("int", 4, bk::int_signed);                        // 1
    vb.add_struct("task", 4, false, {{"pid", 1, 0, 0}});         // 2
    auto vm = bk::btf::parse(vb.span());
    REQUIRE(vm.has_value());
    std::vector<std::vector<char>> files;
    for (const char* name : {"a_only", "b_only", "task___mod", "c_only"}) {
        bt::blob_builder mb(bk::byte_order::little, vm->type_count(), vm->strings_size());
        mb.add_struct(name, 4, false, {{"x", 1, 0, 0}});         // 3
        files.push_back(mb.bytes());
    }
    files[3].resize(files[3].size() - 5);  // cut
    std::atomic<int> loads{0};
    const bk::module_loader load = [&](std::uint32_t m, bk::byte_buffer& buf) -> bk::status {
        ++loads;
        buf.assign(files.at(m - 1).begin(), files.at(m - 1).end());
        return {};
    };
    auto make_set = [&] {
        auto set = std::make_unique<bk::target_set>(*vm, false);
        for (const char* m : {"ma", "mb", "mt", "mc"}) set->add_module(m);
        set->set_loader(load);
        return set;
    };
    auto answers_of = [](bk::target_set& set, std::vector<std::string_view> names) {
        std::vector<std::string> out;
        for (const std::string_view n : names) {
            std::vector<bk::candidate> found;
            REQUIRE(set.find(n, found).has_value());
            for (const bk::candidate& c : found) out.push_back(std::string(n) + " " + std::string(set.target_name(c.target)) + " " + std::to_string(c.id));
        }
        return out;
    };
    const std::vector<std::string_view> names{"task", "b_only", "nope"};
    const auto plain = make_set();
    const auto expected = answers_of(*plain, names);
    CHECK(expected == std::vector<std::string>{"task vmlinux 2", "task mt 3", "b_only mb 3"});
    const auto expected_warnings = plain->warnings();

    loads = 0;
    bk::name_pass pass(names, 4, load);
    auto strings = bk::base_strings::of(vb.span());
    REQUIRE(strings.has_value());
    pass.base_strings_known(*strings);
    pass.start();
    pass.base_parsed(*vm);
    const auto set = make_set();
    REQUIRE(set->adopt(pass).has_value());
    CHECK(loads == 4);  // every module read once
    CHECK(set->modules_opened() == 2);  // the two with hits, parsed by the pass
    CHECK(answers_of(*set, names) == expected);
    CHECK(loads == 4);  // nothing read again
    CHECK_FALSE(set->module_index_ready());
    CHECK(set->warnings() == expected_warnings);
}
