// A candidate source of one's own (examples/linear_source.hpp: libbpf's linear search, every module
// parsed) relocates every corpus object to the same bits and decisions as btfkit's target_set, over
// the Debian vmlinux and its 4,023 modules: relocate_object takes any btfkit::candidate_source.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "../examples/linear_source.hpp"
#include "corpus_targets.hpp"
#include "parsed.hpp"

namespace {

using namespace btfkit::testing::corpus_targets;

// What a relocation decided, comparable across sources.
struct decision {
    std::uint32_t index;
    bk::relo_outcome outcome;
    bool has_target;
    std::uint32_t target, target_type_id, candidates, matched;
    std::uint64_t new_val;
    bool operator==(const decision&) const = default;
};

template <class Source>
std::vector<decision> relocate(const bk::bpf_object& obj, std::vector<char>& image, Source& src, bk::relocation_scratch& scratch) {
    std::vector<decision> out;
    auto sum = bk::relocate_object(obj, std::span<char>(image.data(), image.size()), src, scratch, {}, [&](const bk::relocation_report& r) {
        out.push_back({r.index, r.outcome, r.has_target, r.target, r.target_type_id, r.candidates, r.matched, r.res.new_val});
    });
    REQUIRE_MESSAGE(sum.has_value(), sum.error().message());
    return out;
}

}  // namespace

TEST_CASE("sources: the linear-scan example source relocates the corpus to target_set's bits") {
    if (!have_corpus()) return;
    const fs::path vmlinux = vmlinux_path(), modules_dir = corpus / "modules";
    const std::vector<fs::path> objects = corpus_objects();
    std::vector<std::string> modules;
    auto names = bk::list_directory(modules_dir.string());
    REQUIRE(names);
    for (const auto& n : *names) modules.push_back((modules_dir / n).string());

    auto ours = bk::file_targets::open(vmlinux.string(), modules, bk::target_options{});
    REQUIRE_MESSAGE(ours.has_value(), ours.error().message());
    auto linear = example::linear_source::open(vmlinux.string(), modules);
    REQUIRE_MESSAGE(linear.has_value(), linear.error().message());
    static_assert(bk::candidate_source<bk::target_set> && bk::candidate_source<example::linear_source>);

    bk::relocation_scratch s1, s2;
    std::size_t relocations = 0, in_modules = 0, identical = 0;
    for (const auto& p : objects) {
        INFO(p.filename().string());
        const std::vector<char> bytes = bt::read_bytes(p);
        const bk::bpf_object obj = bt::parse_object(bytes);
        std::vector<char> a = bytes, b = bytes;
        const auto da = relocate(obj, a, (*ours)->targets(), s1);
        const auto db = relocate(obj, b, *linear, s2);
        CHECK(da == db);
        CHECK(a == b);
        identical += a == b && da == db ? 1 : 0;
        relocations += da.size();
        for (const decision& d : da) in_modules += d.has_target && d.target != 0 ? 1 : 0;
    }
    MESSAGE(objects.size() << " objects, " << relocations << " relocations (" << in_modules << " resolved in modules): "
                           << identical << " identical");
    // The corpus resolves in vmlinux; module-only names (one per 20 modules) take the modules path.
    REQUIRE(linear->for_each_named(bk::target_group::modules, "", bk::name_space::types, [](const bk::btf&, std::uint32_t, std::uint32_t) {}));
    std::size_t module_names = 0;
    std::vector<bk::candidate> ca, cb;
    for (std::uint32_t t = 1; t < linear->target_count(); t += 20) {
        const bk::btf& m = *linear->target_btf(t);
        for (std::uint32_t id = m.first_id(); id < m.type_count(); ++id) {
            const bk::type local = m[id];
            if (local.name().empty() || !bk::indexed_kind(local.kind())) continue;
            const std::string_view essential = bk::essential_name(local.name());
            ca.clear();
            cb.clear();
            REQUIRE(bk::collect_candidates((*ours)->targets(), local, essential, bk::relocate_options{}, ca));
            if (ca.empty() || ca.front().target == 0) continue;  // vmlinux has it
            REQUIRE(bk::collect_candidates(*linear, local, essential, bk::relocate_options{}, cb));
            CHECK(ca.size() == cb.size());
            for (std::size_t i = 0; i < std::min(ca.size(), cb.size()); ++i) CHECK((ca[i].target == cb[i].target && ca[i].id == cb[i].id));
            ++module_names;
            break;
        }
    }
    MESSAGE(module_names << " module-only names: the same candidates, module by module");
    CHECK(module_names > 100);
    CHECK(objects.size() == 52);
    CHECK(identical == objects.size());
    CHECK(relocations >= 500);  // 510 in the Debian corpus
    CHECK((*ours)->targets().warnings().empty());
}
