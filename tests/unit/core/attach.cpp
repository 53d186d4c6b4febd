// core/attach.hpp: each fixture program's load attributes, and the attach targets of BTF-attached
// programs found in the running kernel's BTF and in the Debian corpus's modules, as libbpf 1.1 and
// 1.7 look them up; ids checked against a linear scan.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "btfkit/core/attach.hpp"
#include "btfkit/kernel.hpp"
#include "btfkit/targets/single_target.hpp"
#include "corpus_targets.hpp"
#include "running_vmlinux.hpp"

namespace {

namespace bk = btfkit;
namespace bt = btfkit::testing;
using bt::scan_id;
using bk::attach_type;
using bk::libbpf_compat;
using bk::prog_type;


template <class Targets>
bk::program_load load_of(Targets& t, std::string_view section, libbpf_compat c = bk::libbpf_compat_latest) {
    auto r = bk::resolve_program_load(t, section, c);
    REQUIRE_MESSAGE(r.has_value(), r.error().message());
    return std::move(*r);
}

}  // namespace

TEST_CASE("attach: vmlinux targets by section, one per BTF attach kind") {
    const auto v = bt::running_vmlinux_or_skip();
    if (!v) return;
    const bk::btf& k = *v->types;
    bk::single_target t(k);
    struct row {
        const char* section;
        prog_type type;
        attach_type attach;
        const char* name;
        bk::kind kind;
    };
    for (const row& r : {row{"fentry/wake_up_process", prog_type::tracing, attach_type::trace_fentry, "wake_up_process", bk::kind::func},
                         row{"fexit/wake_up_process", prog_type::tracing, attach_type::trace_fexit, "wake_up_process", bk::kind::func},
                         row{"fmod_ret/security_file_open", prog_type::tracing, attach_type::modify_return, "security_file_open", bk::kind::func},
                         row{"tp_btf/sched_switch", prog_type::tracing, attach_type::trace_raw_tp, "btf_trace_sched_switch", bk::kind::typedef_},
                         row{"lsm/file_open", prog_type::lsm, attach_type::lsm_mac, "bpf_lsm_file_open", bk::kind::func},
                         row{"iter/task", prog_type::tracing, attach_type::trace_iter, "bpf_iter_task", bk::kind::func},
                         row{"?fentry.s/wake_up_process", prog_type::tracing, attach_type::trace_fentry, "wake_up_process", bk::kind::func},
                         row{"fentry/vmlinux:wake_up_process", prog_type::tracing, attach_type::trace_fentry, "wake_up_process", bk::kind::func}}) {
        INFO(r.section);
        const bk::program_load l = load_of(t, r.section);
        CHECK(l.type == r.type);
        CHECK(l.expected_attach == r.attach);
        CHECK(l.err.code == bk::errc::ok);
        REQUIRE(l.has_target);
        CHECK(l.attach_name == r.name);
        CHECK(l.target == 0);
        CHECK(l.attach_btf_id == scan_id(k, r.name, r.kind));
        CHECK(l.sleepable == (std::string_view(r.section).find(".s/") != std::string_view::npos));
    }
    const bk::program_load kp = load_of(t, "kprobe/do_sys_openat2");
    CHECK(kp.type == prog_type::kprobe);
    CHECK_FALSE(kp.needs_attach_btf);
    CHECK_FALSE(kp.has_target);

    const bk::program_load missing = load_of(t, "fentry/btfkit_no_such_function");
    CHECK_FALSE(missing.has_target);
    CHECK(missing.err.message().find("attach target not found") != std::string::npos);
    CHECK(missing.err.message().find("btfkit_no_such_function") != std::string::npos);
    CHECK(load_of(t, "fentry").err.message().find("no BTF attach target") != std::string::npos);
    CHECK(load_of(t, "freplace/foo").err.code == bk::errc::unsupported);
    const bk::program_load unknown = load_of(t, "my_own_section");
    CHECK(unknown.def == nullptr);
    CHECK(unknown.type == prog_type::unspec);
    // libbpf 1.1 knows no MODULE:FUNC form: the whole text is the name looked up.
    const bk::program_load old = load_of(t, "fentry/vmlinux:wake_up_process", libbpf_compat::v1_1);
    CHECK_FALSE(old.has_target);
    CHECK(old.attach_name == "vmlinux:wake_up_process");
}

TEST_CASE("attach: module functions, and the MODULE:FUNC form from 1.5 on") {
    namespace ct = bt::corpus_targets;
    if (!ct::have_corpus()) return;
    const std::vector<std::string> mods{(ct::corpus / "modules" / "act_mirred").string(), (ct::corpus / "modules" / "nf_conntrack").string(),
                                        (ct::corpus / "modules" / "nf_nat").string()};
    auto ft = bk::file_targets::open(ct::vmlinux_path(), mods);
    REQUIRE(ft.has_value());
    bk::target_set& set = (*ft)->targets();
    REQUIRE(set.target_name(2) == "nf_conntrack");
    const bk::program_load first = load_of(set, "fentry/nf_confirm");  // opens the module that has it
    REQUIRE(set.module_btf(2) != nullptr);
    const std::uint32_t id = scan_id(*set.module_btf(2), "nf_confirm", bk::kind::func);
    REQUIRE(id != 0);
    CHECK(first.attach_btf_id == id);
    for (const char* sec : {"fentry/nf_confirm", "fentry/nf_conntrack:nf_confirm", "fexit/nf_conn:nf_confirm"}) {
        INFO(sec);
        const bk::program_load l = load_of(set, sec);
        REQUIRE(l.has_target);
        CHECK(l.target == 2);
        CHECK(l.attach_btf_id == id);
        CHECK(l.attach_name == "nf_confirm");
    }
    // Scoped to another module, or to vmlinux, the function is not there.
    CHECK_FALSE(load_of(set, "fentry/nf_nat:nf_confirm").has_target);
    CHECK_FALSE(load_of(set, "fentry/vmlinux:nf_confirm").has_target);
    CHECK(load_of(set, "fentry/nf_confirm", libbpf_compat::v1_1).attach_btf_id == id);
    CHECK_FALSE(load_of(set, "fentry/nf_conntrack:nf_confirm", libbpf_compat::v1_1).has_target);
}
