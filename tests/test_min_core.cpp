// `btfkit gen min_core_btf` (gen/core_marks.hpp, gen/min_btf.hpp; their rules in tests/unit/gen/): the
// identity check: every object relocates against the minimised BTF as against its source, for btfkit
// (library, both rule sets) and for libbpf 1.1 and 1.7 (btf_custom_path), against the Debian vmlinux,
// the running kernel, fixture targets, and vmlinux with its 4,023 modules.
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "../tools/json.hpp"
#include "btfkit/core/relocate.hpp"
#include "btfkit/gen/core_marks.hpp"
#include "btfkit/gen/min_btf.hpp"
#include "btfkit/kernel.hpp"
#include "btfkit/targets/single_target.hpp"
#include "core_object.hpp"
#include "json_reader.hpp"
#include "parsed.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
namespace bk = btfkit;
namespace bt = btfkit::testing;
using bk::relo_kind;
using bt::bpftool71;
using bt::parse_or_fail;

// ---- the rules at compile time ------------------------------------------------------------------------

// A field relocation keeps the root and each member on its path with the member's type; nothing else.
constexpr std::uint32_t kept_by_field_relocation() {
    bk::btf_builder t;
    const std::uint32_t i = t.add_int("int", 4, bk::int_signed);
    const std::uint32_t inner = t.add_struct("inner", 8, {{"x", i, 0}, {"y", i, 32}});
    const std::uint32_t outer = t.add_struct("outer", 12, {{"a", i, 0}, {"in", inner, 32}});
    t.add_struct("unused", 4, {{"u", i, 0}});
    const auto tb = t.encode();
    bk::btf_builder l;
    const std::uint32_t li = l.add_int("int", 4, bk::int_signed);
    const std::uint32_t linner = l.add_struct("inner", 4, {{"y", li, 0}});
    const std::uint32_t louter = l.add_struct("outer", 8, {{"in", linner, 0}});
    const auto lb = l.encode();
    if (!tb || !lb) return 1000;
    auto target = bk::btf::parse(bk::byte_span(tb->data(), tb->size()));
    auto local = bk::btf::parse(bk::byte_span(lb->data(), lb->size()));
    if (!target || !local) return 1001;
    bk::core_spec ls, ts;
    if (!bk::parse_spec(*local, louter, "0:0:0", relo_kind::field_byte_offset, ls)) return 1002;
    auto m = bk::match_spec(ls, *target, outer, ts);
    if (!m || !*m) return 1003;
    bk::core_marks marks;
    if (!marks.keep_relocation(relo_kind::field_byte_offset, ts, 0)) return 1004;
    auto out = bk::write_min_btf(*marks.find(0));
    if (!out) return 1005;
    auto kept = bk::btf::parse(bk::byte_span(out->bytes.data(), out->bytes.size()));
    if (!kept) return 1006;
    // int, inner with y alone, outer with `in` alone, each where it was relative to the others
    const bk::type ki = (*kept)[2], ko = (*kept)[3];
    const bool shape = ki.name() == "inner" && ki.vlen() == 1 && ki.members()[0].bit_offset == 32 && ko.name() == "outer" &&
                       ko.vlen() == 1 && ko.members()[0].type == 2 && ko.size() == 12 && out->new_id(outer) == 3;
    return shape ? kept->type_count() : 2000 + kept->type_count();
}
static_assert(kept_by_field_relocation() == 4);  // void, int, inner, outer

// ---- helpers ------------------------------------------------------------------------------------------

const fs::path fixture_dir{BTFKIT_FIXTURE_DIR};
const fs::path corpus_dir{BTFKIT_CORPUS_DIR};
const fs::path vm_dir = fixture_dir.parent_path() / "vm";  // tests/vm's objects, beside the fixtures

bool have_root() { return ::geteuid() == 0; }

std::string env_or_empty(const char* name) {
    const char* v = std::getenv(name);
    return v != nullptr ? v : "";
}

// The libbpf oracles (tests/meson.build passes their paths, "" when not built) with their names.
std::vector<std::pair<std::string, std::string>> oracles() {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& [name, var] : {std::pair<std::string, const char*>{"1.1", "BTFKIT_LIBBPF_ORACLE"}, {"1.7", "BTFKIT_LIBBPF_ORACLE_17"}}) {
        const std::string p = env_or_empty(var);
        if (!p.empty() && fs::exists(p)) out.emplace_back(name, p);
        else MESSAGE("libbpf " << name << " oracle not built (or not in $" << std::string(var) << "): its identity check is skipped");
    }
    return out;
}

// bookworm-backports' bpftool 7.5, fetched into the build tree (tests/oracle/fetch-bpftool); "" without it.
std::string bpftool75(const fs::path& scratch) {
    const bt::run_result r = bt::run({std::string(BTFKIT_SOURCE_DIR) + "/tests/oracle/fetch-bpftool", BTFKIT_BPFTOOL_CACHE}, scratch);
    return r.out.substr(0, r.out.find('\n'));
}

std::vector<std::string> files_in(const fs::path& dir, std::string_view suffix) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        if (e.path().filename().string().ends_with(suffix)) out.push_back(e.path().string());
    }
    std::sort(out.begin(), out.end());
    return out;
}

// The objects a target set relocates; kept with their bytes.
struct object_file {
    std::string path;
    bk::mapped_file file;
    bk::bpf_object obj;
};
std::vector<std::unique_ptr<object_file>> open_objects(const std::vector<std::string>& paths) {
    std::vector<std::unique_ptr<object_file>> out;
    for (const auto& p : paths) {
        auto o = std::make_unique<object_file>();
        o->path = p;
        auto f = bk::mapped_file::open(p);
        REQUIRE_MESSAGE(f.has_value(), p << ": " << f.error().message());
        o->file = std::move(*f);
        auto parsed = bk::bpf_object::parse(o->file.bytes());
        REQUIRE_MESSAGE(parsed.has_value(), p << ": " << parsed.error().message());
        o->obj = std::move(*parsed);
        out.push_back(std::move(o));
    }
    return out;
}

std::unique_ptr<object_file> object_from(std::string name, const std::vector<char>& bytes, const fs::path& dir) {
    const std::string p = (dir / (name + ".bpf.o")).string();
    REQUIRE(bt::write_bytes(p, {bytes.data(), bytes.size()}));
    auto objs = open_objects({p});
    return std::move(objs.front());
}

// Targets from files: vmlinux, and the modules in `modules_dir` (every file but vmlinux, in name order).
std::unique_ptr<bk::file_targets> open_targets(const std::string& vmlinux, const std::string& modules_dir = {}) {
    std::vector<std::string> mods;
    if (!modules_dir.empty()) {
        auto names = bk::list_directory(modules_dir);
        REQUIRE_MESSAGE(names.has_value(), modules_dir << ": " << names.error().message());
        for (const auto& n : *names) {
            if (n != "vmlinux") mods.push_back(modules_dir + "/" + n);
        }
    }
    auto t = bk::file_targets::open(vmlinux, mods);
    REQUIRE_MESSAGE(t.has_value(), vmlinux << ": " << t.error().message());
    return std::move(*t);
}

// A minimised BTF made through the library, as `btfkit gen min_core_btf` makes it.
struct minimised {
    std::vector<char> base;
    std::map<std::string, std::vector<char>> modules;  // by module name
};
minimised minimise(bk::target_set& set, const std::vector<std::unique_ptr<object_file>>& objects) {
    bk::core_marks marks;
    bk::mark_scratch scratch;
    for (const auto& o : objects) {
        const bk::status st = bk::mark_object(o->obj, set, marks, scratch);
        REQUIRE_MESSAGE(st.has_value(), o->path << ": " << st.error().message());
    }
    const bk::btf_marks none(set.vmlinux());
    auto base = bk::write_min_btf(marks.find(0) != nullptr ? *marks.find(0) : none);
    REQUIRE_MESSAGE(base.has_value(), base.error().message());
    minimised out;
    out.base = base->bytes;
    auto parsed = bk::btf::parse(bk::byte_span(base->bytes.data(), base->bytes.size()));
    REQUIRE(parsed.has_value());
    for (std::uint32_t t = 1; t < marks.target_count(); ++t) {
        const bk::btf_marks* m = marks.find(t);
        if (m == nullptr || m->marked_count() == 0) continue;
        auto mod = bk::write_min_btf_split(*m, *parsed, *base);
        REQUIRE_MESSAGE(mod.has_value(), mod.error().message());
        out.modules.emplace(std::string(set.target_name(t)), mod->bytes);
    }
    return out;
}

// ---- relocation, compared -------------------------------------------------------------------------------

// One relocation as the identity check compares it: where, what, and the bytes it left; for a type id,
// the kind and name of the type it names instead of the id.
struct site {
    std::string where;    // section, instruction, kind
    std::string outcome;  // ok / poisoned / error
    std::string target;   // "[btf] KIND name" of the chosen target type, "" if none
    std::string bytes;    // the relocated instruction(s), hex; a TYPE_ID_TARGET's immediate left out
};

using btfkit::cli::hex_bytes;

std::string describe(const bk::btf& b, std::uint32_t id) {
    if (!b.valid_id(id)) return "#" + std::to_string(id) + "?";
    const bk::type t = b[id];
    return std::string(bk::kind_name(t.kind())) + " '" + std::string(t.name()) + "'";
}

std::string target_name(bk::target_set& set, std::uint32_t t) { return std::string(set.target_name(t)); }
std::string target_name(bk::single_target&, std::uint32_t) { return "vmlinux"; }

template <class Targets>
std::vector<site> relocate_sites(Targets& set, const object_file& o, const bk::relocate_options& opts) {
    std::vector<char> image(o.file.bytes().begin(), o.file.bytes().end());
    bk::relocation_scratch scratch;
    std::vector<site> out;
    auto sum = bk::relocate_object(o.obj, std::span<char>(image.data(), image.size()), set, scratch, opts, [&](const bk::relocation_report& r) {
        site s;
        s.where = std::string(r.section) + " #" + std::to_string(r.insn) + " " + std::string(bk::relo_kind_name(r.kind));
        s.outcome = std::string(bk::to_string(r.outcome));
        if (r.has_target && r.target_spec != nullptr) {
            s.target = "[" + target_name(set, r.target) + "] " + describe(*r.target_spec->owner, r.target_type_id);
        }
        if (r.outcome != bk::relo_outcome::error) {
            const std::size_t at = static_cast<std::size_t>(o.obj.file().section(r.section_index).offset) + std::size_t{r.insn} * 8;
            std::string b = hex_bytes(image.data() + at, r.patch.ldimm64 ? 16 : 8);
            if (r.kind == relo_kind::type_id_target && r.outcome == bk::relo_outcome::ok) b.replace(8, 8, "........");
            s.bytes = b;
        }
        out.push_back(std::move(s));
    });
    REQUIRE_MESSAGE(sum.has_value(), o.path << ": " << sum.error().message());
    return out;
}

struct tally {
    std::size_t objects = 0, sites = 0, type_ids = 0;
};

// btfkit relocates every object against `in` and `out` alike, with libbpf's rules (1.7's and 1.1's)
// and with its own defaults (the FWD extension); returns what was compared.
template <class Targets>
tally check_btfkit_identity(Targets& in, Targets& out, const std::vector<std::unique_ptr<object_file>>& objects) {
    tally t;
    bk::relocate_options libbpf_rules;
    libbpf_rules.fwd_extension = false;
    libbpf_rules.encoding = bk::fd_encoding::none;
    bk::relocate_options libbpf11 = libbpf_rules;
    libbpf11.compat = bk::libbpf_compat::v1_1;
    for (const bk::relocate_options& opts : {libbpf_rules, libbpf11, bk::relocate_options{}}) {
        for (const auto& o : objects) {
            INFO("object: " << o->path << (opts.fwd_extension ? " (btfkit's defaults)" : " (libbpf's rules)"));
            const auto a = relocate_sites(in, *o, opts);
            const auto b = relocate_sites(out, *o, opts);
            REQUIRE(a.size() == b.size());
            for (std::size_t i = 0; i < a.size(); ++i) {
                INFO("site " << i << ": " << a[i].where);
                CHECK(a[i].where == b[i].where);
                CHECK(a[i].outcome == b[i].outcome);
                CHECK(a[i].target == b[i].target);
                CHECK(a[i].bytes == b[i].bytes);
                if (a[i].where.ends_with("target_type_id")) ++t.type_ids;
            }
            t.sites += a.size();
            ++t.objects;
        }
    }
    return t;
}

// The oracle's JSON lines for `objects` against BTF file `target`, by object path.
std::map<std::string, bt::json> run_oracle(const std::string& oracle, const std::string& target, const std::vector<std::string>& objects,
                                          const fs::path& scratch) {
    std::vector<std::string> args{oracle, "--no-verify", "--btf", target};
    args.insert(args.end(), objects.begin(), objects.end());
    const bt::run_result r = bt::run(args, scratch);
    std::map<std::string, bt::json> out;
    std::size_t from = 0;
    while (from < r.out.size()) {
        const std::size_t nl = std::min(r.out.find('\n', from), r.out.size());
        bt::json_reader reader(std::string_view(r.out).substr(from, nl - from));
        auto v = reader.parse_all();
        REQUIRE_MESSAGE(v.has_value(), "oracle line: " << reader.problem());
        out.emplace(v->field("object"), std::move(*v));
        from = nl + 1;
    }
    CHECK_MESSAGE(out.size() == objects.size(), oracle << ": " << r.err.substr(0, 2000));
    return out;
}

// libbpf relocates every object against `in` and `out` alike (btf_custom_path): the same sites, results
// and bytes; a TYPE_ID_TARGET's value names a type of the same kind and name in each.
tally check_libbpf_identity(const std::string& oracle, const std::string& in_path, const bk::btf& in, const std::string& out_path,
                            const bk::btf& out, const std::vector<std::string>& objects, const fs::path& scratch) {
    tally t;
    const auto a = run_oracle(oracle, in_path, objects, scratch);
    const auto b = run_oracle(oracle, out_path, objects, scratch);
    for (const auto& path : objects) {
        INFO("object: " << path);
        REQUIRE(a.count(path) == 1);
        REQUIRE(b.count(path) == 1);
        const bt::json& x = a.at(path);
        const bt::json& y = b.at(path);
        CHECK(x.field("open_error") == y.field("open_error"));
        CHECK(x.field("core_error") == y.field("core_error"));
        const auto& xs = x.get("relocations")->items;
        const auto& ys = y.get("relocations")->items;
        REQUIRE(xs.size() == ys.size());
        for (std::size_t i = 0; i < xs.size(); ++i) {
            INFO("site " << i << ": " << xs[i].field("section") << " insn " << xs[i].field("insn") << " " << xs[i].field("kind"));
            for (const char* f : {"section", "insn", "kind", "type_id", "access", "result"}) CHECK(xs[i].field(f) == ys[i].field(f));
            if (xs[i].field("kind") == "target_type_id" && xs[i].field("result") == "ok") {
                const auto id_in = static_cast<std::uint32_t>(std::strtoull(xs[i].field("new").c_str(), nullptr, 10));
                const auto id_out = static_cast<std::uint32_t>(std::strtoull(ys[i].field("new").c_str(), nullptr, 10));
                CHECK(describe(in, id_in) == describe(out, id_out));
                ++t.type_ids;
            } else {
                CHECK(xs[i].field("old") == ys[i].field("old"));
                CHECK(xs[i].field("new") == ys[i].field("new"));
                CHECK(xs[i].field("bytes") == ys[i].field("bytes"));
            }
        }
        t.sites += xs.size();
        ++t.objects;
    }
    return t;
}

}  // namespace

// ---- the identity check --------------------------------------------------------------------------------

TEST_CASE("min_core: the 52 corpus objects relocate against the minimised Debian vmlinux as against it; bpftool's size") {
    const auto paths = files_in(corpus_dir / "bpf", ".bpf.o");
    const std::string vmlinux = (corpus_dir / "vmlinux").string();
    if (paths.empty() || !fs::exists(vmlinux)) {
        MESSAGE("skipping: no Debian corpus in " << corpus_dir.string() << " (bench/corpus/fetch)");
        return;
    }
    bt::temp_dir tmp("btfkit-min-core");
    const std::string output = (tmp.path / "min.btf").string();
    std::vector<std::string> args{BTFKIT_TOOL, "gen", "min_core_btf", vmlinux, output};
    args.insert(args.end(), paths.begin(), paths.end());
    const bt::run_result g = bt::run(args, tmp.path);
    INFO(g.err);
    REQUIRE(g.status == 0);
    CHECK(g.out.empty());

    const auto objects = open_objects(paths);
    auto in = open_targets(vmlinux);
    auto out = open_targets(output);
    // The library makes the same bytes.
    const minimised lib = minimise(in->targets(), objects);
    const std::string written = bt::read_text(output);
    CHECK(written == std::string(lib.base.data(), lib.base.size()));

    const tally t = check_btfkit_identity(in->targets(), out->targets(), objects);
    CHECK(t.objects == 3 * paths.size());
    CHECK(t.sites > 0);
    MESSAGE("btfkit: " << t.sites << " sites of " << t.objects << " object runs the same against the minimised vmlinux");

    if (have_root()) {
        for (const auto& [name, oracle] : oracles()) {
            const tally l = check_libbpf_identity(oracle, vmlinux, in->vmlinux(), output, out->vmlinux(), paths, tmp.path);
            CHECK(l.objects == paths.size());
            CHECK(l.sites > 0);
            MESSAGE("libbpf " << name << ": " << l.sites << " sites of " << l.objects << " objects the same against the minimised vmlinux");
        }
    } else {
        MESSAGE("skipping libbpf's identity check: the oracle needs root");
    }

    for (const std::string& bpftool : {bpftool71(), bpftool75(tmp.path)}) {
        if (bpftool.empty()) continue;
        const bt::run_result d = bt::run({bpftool, "btf", "dump", "file", output}, tmp.path);
        INFO(bpftool << ": " << d.err);
        CHECK(d.status == 0);
        CHECK(d.err.empty());
        const std::string theirs = (tmp.path / "bpftool.btf").string();
        std::vector<std::string> b{bpftool, "gen", "min_core_btf", vmlinux, theirs};
        b.insert(b.end(), paths.begin(), paths.end());
        REQUIRE(bt::run(b, tmp.path).status == 0);
        const std::uint64_t mine = fs::file_size(output), bpftools = fs::file_size(theirs);
        CHECK(mine <= bpftools);
        MESSAGE(bpftool << ": min_core_btf of the 52 objects: btfkit " << mine << " bytes, bpftool " << bpftools << " bytes"
                        << std::string(bt::read_text(theirs) == written ? " (byte-identical)" : ""));
    }
}

TEST_CASE("min_core: the fixtures against Debian's and the running vmlinux and the fixture targets, both byte orders") {
    const std::vector<std::string> le_objects{
        (fixture_dir / "core_kinds.bpf.o").string(), (fixture_dir / "kernel_core.bpf.o").string(), (fixture_dir / "core_stress.bpf.o").string(),
        (fixture_dir / "core_compat.bpf.o").string(), (fixture_dir / "no_core.bpf.o").string(), (vm_dir / "module_core.bpf.o").string()};
    for (const auto& p : le_objects) {
        if (!fs::exists(p)) {
            MESSAGE("skipping: " << p << " is not built");
            return;
        }
    }
    struct group {
        std::string target;
        std::vector<std::string> objects;
        bool libbpf = true;
    };
    std::vector<group> groups;
    for (const char* t : {"core_kinds.t1.bpf.o", "core_kinds.t2.bpf.o", "core_compat.t1.bpf.o"}) groups.push_back({(fixture_dir / t).string(), le_objects});
    for (const char* t : {"core_kinds.t1.be.bpf.o", "core_kinds.t2.be.bpf.o"}) {
        groups.push_back({(fixture_dir / t).string(), {(fixture_dir / "core_kinds.be.bpf.o").string(), (fixture_dir / "core_stress.be.bpf.o").string()}, false});
    }
    if (fs::exists(corpus_dir / "vmlinux")) groups.push_back({(corpus_dir / "vmlinux").string(), le_objects});
    if (fs::exists("/sys/kernel/btf/vmlinux")) groups.push_back({"/sys/kernel/btf/vmlinux", le_objects});
    bt::temp_dir tmp("btfkit-min-core");
    const auto libbpf = have_root() ? oracles() : std::vector<std::pair<std::string, std::string>>{};
    std::size_t n = 0;
    for (const group& gr : groups) {
        INFO("target: " << gr.target);
        const std::string output = (tmp.path / ("min" + std::to_string(n++) + ".btf")).string();
        std::vector<std::string> args{BTFKIT_TOOL, "gen", "min_core_btf", gr.target, output};
        args.insert(args.end(), gr.objects.begin(), gr.objects.end());
        const bt::run_result g = bt::run(args, tmp.path);
        INFO(g.err);
        REQUIRE(g.status == 0);
        const auto objects = open_objects(gr.objects);
        auto in = open_targets(gr.target);
        auto out = open_targets(output);
        const tally t = check_btfkit_identity(in->targets(), out->targets(), objects);
        CHECK(t.sites > 0);
        std::string line = "btfkit: " + std::to_string(t.sites) + " sites (" + std::to_string(t.type_ids) + " type ids)";
        for (const auto& [name, oracle] : gr.libbpf ? libbpf : decltype(libbpf){}) {
            const tally l = check_libbpf_identity(oracle, gr.target, in->vmlinux(), output, out->vmlinux(), gr.objects, tmp.path);
            line += ", libbpf " + name + ": " + std::to_string(l.sites) + " sites (" + std::to_string(l.type_ids) + " type ids)";
        }
        MESSAGE(fs::path(gr.target).filename().string() << ": minimised to " << fs::file_size(output) << " bytes; " << line);
    }
}

TEST_CASE("min_core: with the Debian modules, split BTF per module over the minimised base relocates as vmlinux and modules do") {
    const std::string vmlinux = (corpus_dir / "vmlinux").string(), modules = (corpus_dir / "modules").string();
    const std::string module_core = (vm_dir / "module_core.bpf.o").string();
    if (!fs::exists(vmlinux) || !fs::is_directory(modules) || !fs::exists(module_core)) {
        MESSAGE("skipping: needs the Debian corpus with its modules and tests/vm/module_core.bpf.o");
        return;
    }
    std::vector<std::string> paths{module_core, (fixture_dir / "kernel_core.bpf.o").string()};
    for (const auto& p : files_in(corpus_dir / "bpf", ".bpf.o")) paths.push_back(p);
    bt::temp_dir tmp("btfkit-min-core");
    const fs::path output = tmp.path / "min";
    std::vector<std::string> args{BTFKIT_TOOL, "gen", "min_core_btf", vmlinux, output.string()};
    args.insert(args.end(), paths.begin(), paths.end());
    args.insert(args.end(), {"--modules-dir", modules, "--index-cache", "off"});
    const bt::run_result g = bt::run(args, tmp.path);
    INFO(g.err);
    REQUIRE(g.status == 0);
    REQUIRE(fs::is_directory(output));

    const auto objects = open_objects(paths);
    auto in = open_targets(vmlinux, modules);
    auto out = open_targets((output / "vmlinux").string(), output.string());
    // The library writes the same files, and no others.
    const minimised lib = minimise(in->targets(), objects);
    CHECK(bt::read_text(output / "vmlinux") == std::string(lib.base.data(), lib.base.size()));
    std::size_t files = 0;
    for (const auto& e : fs::directory_iterator(output)) {
        ++files;
        const std::string name = e.path().filename().string();
        if (name == "vmlinux") continue;
        REQUIRE_MESSAGE(lib.modules.count(name) == 1, name);
        CHECK(bt::read_text(e.path()) == std::string(lib.modules.at(name).data(), lib.modules.at(name).size()));
    }
    CHECK(files == lib.modules.size() + 1);
    // module_core's modules are among them.
    for (const char* m : {"veth", "btrfs", "xfs", "nf_conntrack"}) CHECK_MESSAGE(lib.modules.count(m) == 1, m);

    const tally t = check_btfkit_identity(in->targets(), out->targets(), objects);
    CHECK(t.type_ids > 0);
    MESSAGE("btfkit with modules: " << t.sites << " sites (" << t.type_ids << " type ids) of " << t.objects
                                    << " object runs the same; " << lib.modules.size() << " modules kept, base "
                                    << lib.base.size() << " bytes");

    // bpftool reads each module over the minimised base.
    if (const std::string bpftool = bpftool71(); !bpftool.empty()) {
        for (const auto& [name, bytes] : lib.modules) {
            const bt::run_result d = bt::run({bpftool, "btf", "dump", "file", (output / name).string(), "-B", (output / "vmlinux").string()}, tmp.path);
            INFO(name << ": " << d.err);
            CHECK(d.status == 0);
        }
    }
    // libbpf takes no module files beside btf_custom_path: the minimised base alone relocates as vmlinux
    // alone, module types unfound in both.
    if (have_root()) {
        for (const auto& [name, oracle] : oracles()) {
            const tally l = check_libbpf_identity(oracle, vmlinux, in->vmlinux(), (output / "vmlinux").string(), out->vmlinux(), paths, tmp.path);
            MESSAGE("libbpf " << name << ": " << l.sites << " sites the same against the minimised base");
        }
    }
}

// The hand-built objects of the relocation tests: no candidates, local FWDs, libbpf's failures and
// ambiguities, access string forms, resized loads, FIELD_SIGNED of an enum as libbpf 1.1 reads it.
TEST_CASE("min_core: the hand-built scenarios relocate against their minimised targets as against the targets") {
    const auto le = bk::byte_order::little;
    std::vector<bt::scenario> all;
    all.push_back(bt::zero_cands::make(le));
    all.push_back(bt::fwd::make(le, false));
    all.push_back(bt::fwd::make(le, true));
    all.push_back(bt::signed_enum::make(le));
    for (auto& s : bt::errors::make(le)) all.push_back(std::move(s));
    all.push_back(bt::zero_cands::make(bk::byte_order::big));
    bt::temp_dir tmp("btfkit-min-core");
    const auto libbpf = have_root() ? oracles() : std::vector<std::pair<std::string, std::string>>{};
    tally total;
    for (const bt::scenario& sc : all) {
        INFO("scenario: " << sc.name);
        std::vector<std::unique_ptr<object_file>> objects;
        objects.push_back(object_from(sc.name, sc.object, tmp.path));
        const bk::btf in = parse_or_fail(sc.target);
        bk::single_target src(in);
        bk::core_marks marks;
        bk::mark_scratch scratch;
        const bk::status st = bk::mark_object(objects.front()->obj, src, marks, scratch);
        REQUIRE_MESSAGE(st.has_value(), st.error().message());
        const bk::btf_marks none(in);
        auto m = bk::write_min_btf(marks.find(0) != nullptr ? *marks.find(0) : none);
        REQUIRE(m.has_value());
        const bk::btf out = parse_or_fail(m->bytes);
        bk::single_target dst(out);
        const tally t = check_btfkit_identity(src, dst, objects);
        total.sites += t.sites;
        if (sc.object[5] != 1) continue;  // libbpf loads little-endian objects here
        const std::string in_path = (tmp.path / (sc.name + ".in.btf")).string(), out_path = (tmp.path / (sc.name + ".min.btf")).string();
        REQUIRE(bt::write_bytes(in_path, {sc.target.data(), sc.target.size()}));
        REQUIRE(bt::write_bytes(out_path, {m->bytes.data(), m->bytes.size()}));
        for (const auto& [name, oracle] : libbpf) {
            total.type_ids += check_libbpf_identity(oracle, in_path, in, out_path, out, {objects.front()->path}, tmp.path).sites;
        }
    }
    MESSAGE(all.size() << " scenarios: btfkit " << total.sites << " sites, libbpf " << total.type_ids << " sites the same");
}

TEST_CASE("min_core: gen's usage: bpftool's operands, one generator, an empty directory for modules") {
    bt::temp_dir tmp("btfkit-min-core");
    const std::string obj = (fixture_dir / "kernel_core.bpf.o").string();
    auto usage = [&](const std::vector<std::string>& args) {
        std::vector<std::string> a{BTFKIT_TOOL};
        a.insert(a.end(), args.begin(), args.end());
        const bt::run_result r = bt::run(a, tmp.path);
        CHECK(r.status == 2);
        return r.err;
    };
    CHECK(usage({"gen", "skeleton", obj, "x", obj}).starts_with("btfkit gen: the only generator is min_core_btf"));
    CHECK(usage({"gen", "min_core_btf", obj, "x"}).starts_with("btfkit gen: min_core_btf takes INPUT OUTPUT OBJECT..."));
    CHECK(usage({"gen"}).starts_with("btfkit gen: missing min_core_btf INPUT OUTPUT OBJECT"));
    const fs::path full = tmp.path / "full";
    fs::create_directories(full);
    REQUIRE(bt::write_bytes((full / "stale").string(), {"x", 1}));
    const bt::run_result r = bt::run({BTFKIT_TOOL, "gen", "min_core_btf", obj, full.string(), obj, "--module", obj}, tmp.path);
    CHECK(r.status == 1);
    CHECK(r.err.find("output directory is not empty") != std::string::npos);
    // An object that is not one is an error, and nothing is written.
    const std::string out = (tmp.path / "none.btf").string();
    const bt::run_result bad = bt::run({BTFKIT_TOOL, "gen", "min_core_btf", obj, out, (full / "stale").string()}, tmp.path);
    CHECK(bad.status == 1);
    CHECK_FALSE(fs::exists(out));
}
