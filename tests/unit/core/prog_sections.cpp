// core/prog_sections.hpp: libbpf's section table, as constexpr data, at compile time and at run time.
#include <doctest/doctest.h>

#include <string_view>

#include "btfkit/core/prog_sections.hpp"

namespace {

namespace bk = btfkit;
using bk::attach_type;
using bk::libbpf_compat;
using bk::prog_type;

constexpr bool is(std::string_view sec, prog_type t, attach_type a, libbpf_compat c = bk::libbpf_compat_latest) {
    const bk::section_def* d = bk::find_section_def(sec, c);
    return d != nullptr && d->type == t && d->expected_attach == a;
}

// "type+" is the type alone or "type/..."; "type/" needs something after it; a plain name is exact;
// the first row that matches wins, so "fentry.s/x" is not "fentry+" (no '/' right after "fentry").
static_assert(is("fentry/tcp_v4_connect", prog_type::tracing, attach_type::trace_fentry));
static_assert(is("fentry", prog_type::tracing, attach_type::trace_fentry));
static_assert(!bk::find_section_def("fentryx/tcp_v4_connect"));
static_assert(is("fentry.s/x", prog_type::tracing, attach_type::trace_fentry));
static_assert((bk::find_section_def("fentry.s/x")->flags & bk::sec_sleepable) != 0);
static_assert(is("tp_btf/sched_switch", prog_type::tracing, attach_type::trace_raw_tp));
static_assert(is("lsm/file_open", prog_type::lsm, attach_type::lsm_mac));
static_assert(is("iter/task", prog_type::tracing, attach_type::trace_iter));
static_assert(is("kprobe/do_sys_openat2", prog_type::kprobe, attach_type{}));
static_assert(is("xdp", prog_type::xdp, attach_type::xdp));
static_assert(!bk::find_section_def("xdp/foo"));
static_assert(is("sk_reuseport/migrate", prog_type::sk_reuseport, attach_type::sk_reuseport_select_or_migrate));
static_assert(is("cgroup/connect4", prog_type::cgroup_sock_addr, attach_type::cgroup_inet4_connect));
// Rows added after 1.1: the 1.1 table does not know them, or another row takes the name.
static_assert(is("tc/ingress", prog_type::sched_cls, attach_type::tcx_ingress));
static_assert(!bk::find_section_def("tc/ingress", libbpf_compat::v1_1));
static_assert(is("uprobe.multi/bin:f", prog_type::kprobe, attach_type::trace_uprobe_multi));
static_assert(!bk::find_section_def("uprobe.multi/bin:f", libbpf_compat::v1_1));
static_assert(bk::attach_lookup_of(attach_type::trace_raw_tp).prefix == "btf_trace_");
static_assert(bk::attach_lookup_of(attach_type::trace_raw_tp).target_kind == bk::kind::typedef_);
static_assert(bk::attach_lookup_of(attach_type::lsm_cgroup).prefix == "bpf_lsm_");
static_assert(bk::attach_lookup_of(attach_type::trace_fexit).prefix.empty());

}  // namespace

TEST_CASE("prog_sections: the constexpr answers, at run time") {
    CHECK(is("fentry/tcp_v4_connect", prog_type::tracing, attach_type::trace_fentry));
    CHECK(is("tc/ingress", prog_type::sched_cls, attach_type::tcx_ingress));
    CHECK(bk::find_section_def("tc/ingress", libbpf_compat::v1_1) == nullptr);
    CHECK(bk::to_string(prog_type::tracing) == "BPF_PROG_TYPE_TRACING");
    CHECK(bk::to_string(attach_type::trace_fentry) == "BPF_TRACE_FENTRY");
    CHECK(bk::to_string(static_cast<attach_type>(999)) == "BPF_ATTACH_TYPE_UNKNOWN");
}

TEST_CASE("prog_sections: each row's name finds that row or an earlier one, in both tables") {
    for (const bk::section_def& d : bk::section_defs) {
        std::string name(d.sec);
        if (name.back() == '+') name.pop_back();
        else if (name.back() == '/') name += "x";
        for (const libbpf_compat c : {libbpf_compat::v1_1, libbpf_compat::v1_7}) {
            const bk::section_def* found = bk::find_section_def(name, c);
            if (c == libbpf_compat::v1_1 && d.since != libbpf_compat::v1_1) continue;
            INFO(name << " in " << bk::to_string(c));
            REQUIRE(found != nullptr);
            CHECK(found <= &d);
            CHECK(bk::section_def_matches(*found, name));
        }
    }
}
