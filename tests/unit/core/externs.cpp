// core/externs.hpp: the fixture objects' kernel externs, resolved against the running kernel's BTF
// (vmlinux only) and the Debian corpus (nf_conntrack's kfuncs, act_mirred's variable), in libbpf 1.1's
// and 1.7's encodings; ids checked against a linear scan of the target BTF.
#include <doctest/doctest.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "btfkit/core/externs.hpp"
#include "btfkit/kernel.hpp"
#include "btfkit/targets/single_target.hpp"
#include "corpus_targets.hpp"
#include "loaded.hpp"
#include "parsed.hpp"
#include "running_vmlinux.hpp"

namespace {

namespace bk = btfkit;
namespace bt = btfkit::testing;
using bt::scan_id;

std::unique_ptr<bt::loaded_object> fixture(const char* name) {
    const std::string path = std::string(BTFKIT_FIXTURE_DIR) + "/" + name;
    if (!std::filesystem::exists(path)) {
        MESSAGE("skipping: " << path << " is not built");
        return nullptr;
    }
    return bt::load(bt::read_bytes(path));
}


// A kallsyms with the symbols a test names.
struct table_kallsyms {
    std::map<std::string, std::uint64_t, std::less<>> symbols;
    [[nodiscard]] bk::result<std::optional<std::uint64_t>> address(std::string_view name, bk::libbpf_compat) const {
        const auto it = symbols.find(name);
        return it == symbols.end() ? std::optional<std::uint64_t>{} : std::optional<std::uint64_t>(it->second);
    }
};

struct site {
    std::string name;
    bk::extern_kind kind{};
    bk::extern_outcome outcome{};
    std::uint32_t target = 0, type_id = 0, fd_slot = 0;
    bk::insn i0{}, i1{};
    std::string error;
};

struct resolved {
    std::vector<site> sites;
    std::vector<std::uint32_t> fd_array;
    bk::extern_summary sum;
};

template <class Targets>
resolved resolve(const bt::loaded_object& o, Targets& targets, const table_kallsyms& ks, bk::libbpf_compat compat,
                 bk::fd_encoding enc = bk::fd_encoding::btf_id) {
    std::vector<char> image(o.bytes);
    resolved out;
    auto sum = bk::resolve_externs(o.obj, std::span<char>(image.data(), image.size()), targets, ks, bk::extern_options{enc, compat},
                                   out.fd_array, [&](const bk::extern_report& r) {
        const std::size_t at = static_cast<std::size_t>(o.obj.file().section(r.section_index).offset) + std::size_t{r.insn} * 8;
        const auto order = o.obj.file().order();
        site s{std::string(r.symbol->name), r.kind, r.outcome, r.binding->target, r.binding->type_id, r.binding->fd_slot,
               bk::decode_insn(image.data() + at, order), r.kind == bk::extern_kind::kfunc_call ? bk::insn{} : bk::decode_insn(image.data() + at + 8, order),
               r.err.code == bk::errc::ok ? "" : r.err.message()};
        out.sites.push_back(s);
    });
    REQUIRE_MESSAGE(sum.has_value(), sum.error().message());
    out.sum = *sum;
    return out;
}

const site& at(const resolved& r, std::string_view name, bk::extern_kind k) {
    for (const site& s : r.sites) {
        if (s.name == name && s.kind == k) return s;
    }
    FAIL("no site of " << name << " as " << bk::to_string(k));
    static const site none;
    return none;
}

}  // namespace

TEST_CASE("externs: collected in libbpf's order, with their kinds") {
    const auto o = fixture("ksym/kernel_externs.bpf.o");
    if (!o) return;
    std::vector<bk::extern_symbol> syms;
    REQUIRE(bk::collect_externs(o->obj, syms).has_value());
    std::string names;
    for (const auto& s : syms) names += std::string(s.name) + (s.weak ? "(weak)" : "") + (s.func ? "(func)" : "") + (s.type_id == 0 ? "(typeless)" : "") + " ";
    CHECK(names == "bpf_prog_active bpf_rcu_read_lock(func) bpf_rcu_read_unlock___flavor(func) bpf_task_acquire(func) bpf_task_release(func) "
                   "btfkit_no_such_kfunc(weak)(func) btfkit_no_such_text(weak)(typeless) btfkit_no_such_var(weak) runqueues schedule(typeless) ");
    CHECK(o->obj.btf().kind_of(syms[8].type_id) == bk::kind::struct_);  // runqueues: struct rq
}

TEST_CASE("externs: vmlinux ksyms and kfuncs, libbpf 1.7 and 1.1") {
    const auto o = fixture("ksym/kernel_externs.bpf.o");
    if (!o) return;
    const auto v = bt::running_vmlinux_or_skip();
    if (!v) return;
    const bk::btf& k = *v->types;
    bk::single_target t(k);
    const table_kallsyms ks{{{"schedule", 0xffffffff81a2b3c4ull}}};
    const resolved r = resolve(*o, t, ks, bk::libbpf_compat::v1_7);
    CHECK(r.fd_array.empty());
    CHECK(r.sum.errors == 0);

    const site& active = at(r, "bpf_prog_active", bk::extern_kind::ksym_var);
    CHECK(active.outcome == bk::extern_outcome::resolved);
    CHECK(active.i0.src == bk::insn_const::pseudo_btf_id);
    CHECK(static_cast<std::uint32_t>(active.i0.imm) == scan_id(k, "bpf_prog_active", bk::kind::var));
    CHECK(active.i1.imm == 0);
    CHECK(static_cast<std::uint32_t>(at(r, "runqueues", bk::extern_kind::ksym_var).i0.imm) == scan_id(k, "runqueues", bk::kind::var));

    const site& sched = at(r, "schedule", bk::extern_kind::ksym_typeless);
    CHECK(sched.outcome == bk::extern_outcome::resolved);
    CHECK(sched.i0.src == 0);
    CHECK(static_cast<std::uint32_t>(sched.i0.imm) == 0x81a2b3c4u);
    CHECK(static_cast<std::uint32_t>(sched.i1.imm) == 0xffffffffu);
    for (const char* weak : {"btfkit_no_such_text", "btfkit_no_such_var"}) {
        INFO(std::string(weak));
        const site& s = at(r, weak, std::string_view(weak) == "btfkit_no_such_var" ? bk::extern_kind::ksym_var : bk::extern_kind::ksym_typeless);
        CHECK(s.outcome == bk::extern_outcome::zero);
        CHECK(s.i0.imm == 0);
        CHECK(s.i1.imm == 0);
    }

    for (const char* f : {"bpf_rcu_read_lock", "bpf_task_acquire", "bpf_task_release"}) {
        INFO(std::string(f));
        const site& s = at(r, f, bk::extern_kind::kfunc_call);
        CHECK(s.outcome == bk::extern_outcome::resolved);
        CHECK(s.i0.code == bk::insn_const::call);
        CHECK(s.i0.src == bk::insn_const::pseudo_kfunc_call);
        CHECK(s.i0.off == 0);
        CHECK(static_cast<std::uint32_t>(s.i0.imm) == scan_id(k, f, bk::kind::func));
    }
    // 1.3+: a flavored kfunc resolves by its essential name.
    CHECK(static_cast<std::uint32_t>(at(r, "bpf_rcu_read_unlock___flavor", bk::extern_kind::kfunc_call).i0.imm) ==
          scan_id(k, "bpf_rcu_read_unlock", bk::kind::func));
    // 1.2+: a weak kfunc the kernel lacks becomes a call of an invalid helper that names the extern.
    const site& poisoned = at(r, "btfkit_no_such_kfunc", bk::extern_kind::kfunc_call);
    CHECK(poisoned.outcome == bk::extern_outcome::poisoned);
    CHECK(poisoned.i0 == bk::insn{bk::insn_const::call, 0, 0, 0, bk::insn_const::poison_kfunc_base + 5});
    const site& addr = at(r, "bpf_task_acquire", bk::extern_kind::kfunc_addr);
    CHECK(addr.i0.src == bk::insn_const::pseudo_btf_id);
    CHECK(static_cast<std::uint32_t>(addr.i0.imm) == scan_id(k, "bpf_task_acquire", bk::kind::func));

    // libbpf 1.1: no flavors for kfuncs (a strong one is then missing), and a weak missing kfunc is a
    // kfunc call of id 0.
    const resolved old = resolve(*o, t, ks, bk::libbpf_compat::v1_1);
    CHECK(old.sum.errors == 1);
    const site& flavored = at(old, "bpf_rcu_read_unlock___flavor", bk::extern_kind::kfunc_call);
    CHECK(flavored.outcome == bk::extern_outcome::error);
    CHECK(flavored.error.find("kfunc not found") != std::string::npos);
    const site& zero = at(old, "btfkit_no_such_kfunc", bk::extern_kind::kfunc_call);
    CHECK(zero.outcome == bk::extern_outcome::zero);
    CHECK(zero.i0.src == bk::insn_const::pseudo_kfunc_call);
    CHECK(zero.i0.imm == 0);

    // A strong typeless ksym that kallsyms lacks is an error.
    const resolved none = resolve(*o, t, table_kallsyms{}, bk::libbpf_compat::v1_7);
    CHECK(none.sum.errors == 1);
    CHECK(at(none, "schedule", bk::extern_kind::ksym_typeless).outcome == bk::extern_outcome::error);
}

TEST_CASE("externs: module kfuncs get an fd_array slot, module ksyms their BTF in insn[1]") {
    namespace ct = bt::corpus_targets;
    const auto o = fixture("ksym/module_externs.bpf.o");
    if (!o || !ct::have_corpus()) return;
    const std::vector<std::string> mods{(ct::corpus / "modules" / "act_mirred").string(), (ct::corpus / "modules" / "nf_conntrack").string()};
    auto ft = bk::file_targets::open(ct::vmlinux_path(), mods);
    REQUIRE(ft.has_value());
    bk::target_set& set = (*ft)->targets();
    REQUIRE(set.target_name(2) == "nf_conntrack");
    // Files have no kernel BTF fd or id: 0 stands for them, as in TYPE_ID_TARGET.
    const std::uint32_t up_ct = 0, up_mirred = 0;

    for (const auto compat : {bk::libbpf_compat::v1_1, bk::libbpf_compat::v1_7}) {
        INFO(bk::to_string(compat));
        const resolved r = resolve(*o, set, table_kallsyms{}, compat);
        CHECK(r.sum.errors == 0);
        REQUIRE(set.module_btf(1) != nullptr);  // opened by the lookups
        REQUIRE(set.module_btf(2) != nullptr);
        const bk::btf& mirred = *set.module_btf(1);
        const bk::btf& conntrack = *set.module_btf(2);
        CHECK(r.fd_array == std::vector<std::uint32_t>{0, up_ct});
        for (const char* f : {"bpf_xdp_ct_lookup", "bpf_ct_release"}) {
            INFO(std::string(f));
            const site& s = at(r, f, bk::extern_kind::kfunc_call);
            CHECK(s.target == 2);
            CHECK(s.i0.off == 1);
            CHECK(static_cast<std::uint32_t>(s.i0.imm) == scan_id(conntrack, f, bk::kind::func));
        }
        const site& var = at(r, "mirred_nest_level", bk::extern_kind::ksym_var);
        CHECK(static_cast<std::uint32_t>(var.i0.imm) == scan_id(mirred, "mirred_nest_level", bk::kind::var));
        CHECK(static_cast<std::uint32_t>(var.i1.imm) == up_mirred);
        // A module kfunc's address carries its BTF in insn[1] from 1.2 on.
        const site& addr = at(r, "bpf_ct_release", bk::extern_kind::kfunc_addr);
        CHECK(static_cast<std::uint32_t>(addr.i1.imm) == (compat == bk::libbpf_compat::v1_1 ? 0u : up_ct));
    }
}
