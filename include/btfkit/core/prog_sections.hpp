// libbpf's section-name conventions as constexpr data: which program type and expected attach type a
// SEC("...") name means, and where a BTF-attached program's target is looked up (fentry/X: FUNC X,
// tp_btf/X: TYPEDEF btf_trace_X, lsm/X: FUNC bpf_lsm_X, iter/X: FUNC bpf_iter_X).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "../format/btf_types.hpp"
#include "relo_rules.hpp"

namespace btfkit {

// The kernel's enum bpf_prog_type and enum bpf_attach_type (uapi linux/bpf.h), values as the kernel
// reads them in BPF_PROG_LOAD.
enum class prog_type : std::uint32_t {
    unspec = 0, socket_filter = 1, kprobe = 2, sched_cls = 3, sched_act = 4, tracepoint = 5, xdp = 6,
    perf_event = 7, cgroup_skb = 8, cgroup_sock = 9, lwt_in = 10, lwt_out = 11, lwt_xmit = 12, sock_ops = 13,
    sk_skb = 14, cgroup_device = 15, sk_msg = 16, raw_tracepoint = 17, cgroup_sock_addr = 18, lwt_seg6local = 19,
    lirc_mode2 = 20, sk_reuseport = 21, flow_dissector = 22, cgroup_sysctl = 23, raw_tracepoint_writable = 24,
    cgroup_sockopt = 25, tracing = 26, struct_ops = 27, ext = 28, lsm = 29, sk_lookup = 30, syscall = 31,
    netfilter = 32,
};
enum class attach_type : std::uint32_t {
    cgroup_inet_ingress = 0, cgroup_inet_egress = 1, cgroup_inet_sock_create = 2, cgroup_sock_ops = 3,
    sk_skb_stream_parser = 4, sk_skb_stream_verdict = 5, cgroup_device = 6, sk_msg_verdict = 7,
    cgroup_inet4_bind = 8, cgroup_inet6_bind = 9, cgroup_inet4_connect = 10, cgroup_inet6_connect = 11,
    cgroup_inet4_post_bind = 12, cgroup_inet6_post_bind = 13, cgroup_udp4_sendmsg = 14, cgroup_udp6_sendmsg = 15,
    lirc_mode2 = 16, flow_dissector = 17, cgroup_sysctl = 18, cgroup_udp4_recvmsg = 19, cgroup_udp6_recvmsg = 20,
    cgroup_getsockopt = 21, cgroup_setsockopt = 22, trace_raw_tp = 23, trace_fentry = 24, trace_fexit = 25,
    modify_return = 26, lsm_mac = 27, trace_iter = 28, cgroup_inet4_getpeername = 29, cgroup_inet6_getpeername = 30,
    cgroup_inet4_getsockname = 31, cgroup_inet6_getsockname = 32, xdp_devmap = 33, cgroup_inet_sock_release = 34,
    xdp_cpumap = 35, sk_lookup = 36, xdp = 37, sk_skb_verdict = 38, sk_reuseport_select = 39,
    sk_reuseport_select_or_migrate = 40, perf_event = 41, trace_kprobe_multi = 42, lsm_cgroup = 43, struct_ops = 44,
    netfilter = 45, tcx_ingress = 46, tcx_egress = 47, trace_uprobe_multi = 48, cgroup_unix_connect = 49,
    cgroup_unix_sendmsg = 50, cgroup_unix_recvmsg = 51, cgroup_unix_getpeername = 52, cgroup_unix_getsockname = 53,
    netkit_primary = 54, netkit_peer = 55, trace_kprobe_session = 56, trace_uprobe_session = 57,
    trace_fsession = 58,
};
inline constexpr std::string_view prog_type_names[] = {
    "BPF_PROG_TYPE_UNSPEC", "BPF_PROG_TYPE_SOCKET_FILTER", "BPF_PROG_TYPE_KPROBE", "BPF_PROG_TYPE_SCHED_CLS",
    "BPF_PROG_TYPE_SCHED_ACT", "BPF_PROG_TYPE_TRACEPOINT", "BPF_PROG_TYPE_XDP", "BPF_PROG_TYPE_PERF_EVENT",
    "BPF_PROG_TYPE_CGROUP_SKB", "BPF_PROG_TYPE_CGROUP_SOCK", "BPF_PROG_TYPE_LWT_IN", "BPF_PROG_TYPE_LWT_OUT",
    "BPF_PROG_TYPE_LWT_XMIT", "BPF_PROG_TYPE_SOCK_OPS", "BPF_PROG_TYPE_SK_SKB", "BPF_PROG_TYPE_CGROUP_DEVICE",
    "BPF_PROG_TYPE_SK_MSG", "BPF_PROG_TYPE_RAW_TRACEPOINT", "BPF_PROG_TYPE_CGROUP_SOCK_ADDR",
    "BPF_PROG_TYPE_LWT_SEG6LOCAL", "BPF_PROG_TYPE_LIRC_MODE2", "BPF_PROG_TYPE_SK_REUSEPORT",
    "BPF_PROG_TYPE_FLOW_DISSECTOR", "BPF_PROG_TYPE_CGROUP_SYSCTL", "BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE",
    "BPF_PROG_TYPE_CGROUP_SOCKOPT", "BPF_PROG_TYPE_TRACING", "BPF_PROG_TYPE_STRUCT_OPS", "BPF_PROG_TYPE_EXT",
    "BPF_PROG_TYPE_LSM", "BPF_PROG_TYPE_SK_LOOKUP", "BPF_PROG_TYPE_SYSCALL", "BPF_PROG_TYPE_NETFILTER",
};
inline constexpr std::string_view attach_type_names[] = {
    "BPF_CGROUP_INET_INGRESS", "BPF_CGROUP_INET_EGRESS", "BPF_CGROUP_INET_SOCK_CREATE", "BPF_CGROUP_SOCK_OPS",
    "BPF_SK_SKB_STREAM_PARSER", "BPF_SK_SKB_STREAM_VERDICT", "BPF_CGROUP_DEVICE", "BPF_SK_MSG_VERDICT",
    "BPF_CGROUP_INET4_BIND", "BPF_CGROUP_INET6_BIND", "BPF_CGROUP_INET4_CONNECT", "BPF_CGROUP_INET6_CONNECT",
    "BPF_CGROUP_INET4_POST_BIND", "BPF_CGROUP_INET6_POST_BIND", "BPF_CGROUP_UDP4_SENDMSG",
    "BPF_CGROUP_UDP6_SENDMSG", "BPF_LIRC_MODE2", "BPF_FLOW_DISSECTOR", "BPF_CGROUP_SYSCTL",
    "BPF_CGROUP_UDP4_RECVMSG", "BPF_CGROUP_UDP6_RECVMSG", "BPF_CGROUP_GETSOCKOPT", "BPF_CGROUP_SETSOCKOPT",
    "BPF_TRACE_RAW_TP", "BPF_TRACE_FENTRY", "BPF_TRACE_FEXIT", "BPF_MODIFY_RETURN", "BPF_LSM_MAC", "BPF_TRACE_ITER",
    "BPF_CGROUP_INET4_GETPEERNAME", "BPF_CGROUP_INET6_GETPEERNAME", "BPF_CGROUP_INET4_GETSOCKNAME",
    "BPF_CGROUP_INET6_GETSOCKNAME", "BPF_XDP_DEVMAP", "BPF_CGROUP_INET_SOCK_RELEASE", "BPF_XDP_CPUMAP",
    "BPF_SK_LOOKUP", "BPF_XDP", "BPF_SK_SKB_VERDICT", "BPF_SK_REUSEPORT_SELECT",
    "BPF_SK_REUSEPORT_SELECT_OR_MIGRATE", "BPF_PERF_EVENT", "BPF_TRACE_KPROBE_MULTI", "BPF_LSM_CGROUP",
    "BPF_STRUCT_OPS", "BPF_NETFILTER", "BPF_TCX_INGRESS", "BPF_TCX_EGRESS", "BPF_TRACE_UPROBE_MULTI",
    "BPF_CGROUP_UNIX_CONNECT", "BPF_CGROUP_UNIX_SENDMSG", "BPF_CGROUP_UNIX_RECVMSG", "BPF_CGROUP_UNIX_GETPEERNAME",
    "BPF_CGROUP_UNIX_GETSOCKNAME", "BPF_NETKIT_PRIMARY", "BPF_NETKIT_PEER", "BPF_TRACE_KPROBE_SESSION",
    "BPF_TRACE_UPROBE_SESSION", "BPF_TRACE_FSESSION",
};

[[nodiscard]] constexpr std::string_view to_string(prog_type t) noexcept {
    const auto i = static_cast<std::uint32_t>(t);
    return i < std::size(prog_type_names) ? prog_type_names[i] : "BPF_PROG_TYPE_UNKNOWN";
}
[[nodiscard]] constexpr std::string_view to_string(attach_type t) noexcept {
    const auto i = static_cast<std::uint32_t>(t);
    return i < std::size(attach_type_names) ? attach_type_names[i] : "BPF_ATTACH_TYPE_UNKNOWN";
}

// A section definition's flags (libbpf's SEC_* flags that decide what a loader does).
inline constexpr std::uint8_t sec_attach_btf = 1, sec_sleepable = 2, sec_attachable = 4, sec_attachable_opt = 8,
                              sec_xdp_frags = 16, sec_usdt = 32;

// One row of libbpf's section table. A name ending in '+' matches itself or "name/...", one ending in
// '/' matches as a prefix, any other name only exactly.
struct section_def {
    std::string_view sec;
    prog_type type;
    attach_type expected_attach;
    std::uint8_t flags;
    libbpf_compat since;  // the first release (of the levels we follow) whose table has the row
};

// libbpf 1.7's table, in its order (the first matching row wins); libbpf 1.1's is the rows since 1.1,
// in the same order.
inline constexpr std::array section_defs = std::to_array<section_def>({
    {"socket", prog_type::socket_filter, attach_type{}, 0, libbpf_compat::v1_1},
    {"sk_reuseport/migrate", prog_type::sk_reuseport, attach_type::sk_reuseport_select_or_migrate, sec_attachable, libbpf_compat::v1_1},
    {"sk_reuseport", prog_type::sk_reuseport, attach_type::sk_reuseport_select, sec_attachable, libbpf_compat::v1_1},
    {"kprobe+", prog_type::kprobe, attach_type{}, 0, libbpf_compat::v1_1},
    {"uprobe+", prog_type::kprobe, attach_type{}, 0, libbpf_compat::v1_1},
    {"uprobe.s+", prog_type::kprobe, attach_type{}, sec_sleepable, libbpf_compat::v1_1},
    {"kretprobe+", prog_type::kprobe, attach_type{}, 0, libbpf_compat::v1_1},
    {"uretprobe+", prog_type::kprobe, attach_type{}, 0, libbpf_compat::v1_1},
    {"uretprobe.s+", prog_type::kprobe, attach_type{}, sec_sleepable, libbpf_compat::v1_1},
    {"kprobe.multi+", prog_type::kprobe, attach_type::trace_kprobe_multi, 0, libbpf_compat::v1_1},
    {"kretprobe.multi+", prog_type::kprobe, attach_type::trace_kprobe_multi, 0, libbpf_compat::v1_1},
    {"kprobe.session+", prog_type::kprobe, attach_type::trace_kprobe_session, 0, libbpf_compat::v1_7},
    {"uprobe.multi+", prog_type::kprobe, attach_type::trace_uprobe_multi, 0, libbpf_compat::v1_7},
    {"uretprobe.multi+", prog_type::kprobe, attach_type::trace_uprobe_multi, 0, libbpf_compat::v1_7},
    {"uprobe.session+", prog_type::kprobe, attach_type::trace_uprobe_session, 0, libbpf_compat::v1_7},
    {"uprobe.multi.s+", prog_type::kprobe, attach_type::trace_uprobe_multi, sec_sleepable, libbpf_compat::v1_7},
    {"uretprobe.multi.s+", prog_type::kprobe, attach_type::trace_uprobe_multi, sec_sleepable, libbpf_compat::v1_7},
    {"uprobe.session.s+", prog_type::kprobe, attach_type::trace_uprobe_session, sec_sleepable, libbpf_compat::v1_7},
    {"ksyscall+", prog_type::kprobe, attach_type{}, 0, libbpf_compat::v1_1},
    {"kretsyscall+", prog_type::kprobe, attach_type{}, 0, libbpf_compat::v1_1},
    {"usdt+", prog_type::kprobe, attach_type{}, sec_usdt, libbpf_compat::v1_1},
    {"usdt.s+", prog_type::kprobe, attach_type{}, sec_usdt | sec_sleepable, libbpf_compat::v1_7},
    {"tc/ingress", prog_type::sched_cls, attach_type::tcx_ingress, 0, libbpf_compat::v1_7},
    {"tc/egress", prog_type::sched_cls, attach_type::tcx_egress, 0, libbpf_compat::v1_7},
    {"tcx/ingress", prog_type::sched_cls, attach_type::tcx_ingress, 0, libbpf_compat::v1_7},
    {"tcx/egress", prog_type::sched_cls, attach_type::tcx_egress, 0, libbpf_compat::v1_7},
    {"tc", prog_type::sched_cls, attach_type{}, 0, libbpf_compat::v1_1},
    {"classifier", prog_type::sched_cls, attach_type{}, 0, libbpf_compat::v1_1},
    {"action", prog_type::sched_act, attach_type{}, 0, libbpf_compat::v1_1},
    {"netkit/primary", prog_type::sched_cls, attach_type::netkit_primary, 0, libbpf_compat::v1_7},
    {"netkit/peer", prog_type::sched_cls, attach_type::netkit_peer, 0, libbpf_compat::v1_7},
    {"tracepoint+", prog_type::tracepoint, attach_type{}, 0, libbpf_compat::v1_1},
    {"tp+", prog_type::tracepoint, attach_type{}, 0, libbpf_compat::v1_1},
    {"raw_tracepoint+", prog_type::raw_tracepoint, attach_type{}, 0, libbpf_compat::v1_1},
    {"raw_tp+", prog_type::raw_tracepoint, attach_type{}, 0, libbpf_compat::v1_1},
    {"raw_tracepoint.w+", prog_type::raw_tracepoint_writable, attach_type{}, 0, libbpf_compat::v1_1},
    {"raw_tp.w+", prog_type::raw_tracepoint_writable, attach_type{}, 0, libbpf_compat::v1_1},
    {"tp_btf+", prog_type::tracing, attach_type::trace_raw_tp, sec_attach_btf, libbpf_compat::v1_1},
    {"fentry+", prog_type::tracing, attach_type::trace_fentry, sec_attach_btf, libbpf_compat::v1_1},
    {"fmod_ret+", prog_type::tracing, attach_type::modify_return, sec_attach_btf, libbpf_compat::v1_1},
    {"fexit+", prog_type::tracing, attach_type::trace_fexit, sec_attach_btf, libbpf_compat::v1_1},
    {"fentry.s+", prog_type::tracing, attach_type::trace_fentry, sec_attach_btf | sec_sleepable, libbpf_compat::v1_1},
    {"fmod_ret.s+", prog_type::tracing, attach_type::modify_return, sec_attach_btf | sec_sleepable, libbpf_compat::v1_1},
    {"fexit.s+", prog_type::tracing, attach_type::trace_fexit, sec_attach_btf | sec_sleepable, libbpf_compat::v1_1},
    {"fsession+", prog_type::tracing, attach_type::trace_fsession, sec_attach_btf, libbpf_compat::v1_7},
    {"fsession.s+", prog_type::tracing, attach_type::trace_fsession, sec_attach_btf | sec_sleepable, libbpf_compat::v1_7},
    {"freplace+", prog_type::ext, attach_type{}, sec_attach_btf, libbpf_compat::v1_1},
    {"lsm+", prog_type::lsm, attach_type::lsm_mac, sec_attach_btf, libbpf_compat::v1_1},
    {"lsm.s+", prog_type::lsm, attach_type::lsm_mac, sec_attach_btf | sec_sleepable, libbpf_compat::v1_1},
    {"lsm_cgroup+", prog_type::lsm, attach_type::lsm_cgroup, sec_attach_btf, libbpf_compat::v1_1},
    {"iter+", prog_type::tracing, attach_type::trace_iter, sec_attach_btf, libbpf_compat::v1_1},
    {"iter.s+", prog_type::tracing, attach_type::trace_iter, sec_attach_btf | sec_sleepable, libbpf_compat::v1_1},
    {"syscall", prog_type::syscall, attach_type{}, sec_sleepable, libbpf_compat::v1_1},
    {"xdp.frags/devmap", prog_type::xdp, attach_type::xdp_devmap, sec_xdp_frags, libbpf_compat::v1_1},
    {"xdp/devmap", prog_type::xdp, attach_type::xdp_devmap, sec_attachable, libbpf_compat::v1_1},
    {"xdp.frags/cpumap", prog_type::xdp, attach_type::xdp_cpumap, sec_xdp_frags, libbpf_compat::v1_1},
    {"xdp/cpumap", prog_type::xdp, attach_type::xdp_cpumap, sec_attachable, libbpf_compat::v1_1},
    {"xdp.frags", prog_type::xdp, attach_type::xdp, sec_xdp_frags, libbpf_compat::v1_1},
    {"xdp", prog_type::xdp, attach_type::xdp, sec_attachable_opt, libbpf_compat::v1_1},
    {"perf_event", prog_type::perf_event, attach_type{}, 0, libbpf_compat::v1_1},
    {"lwt_in", prog_type::lwt_in, attach_type{}, 0, libbpf_compat::v1_1},
    {"lwt_out", prog_type::lwt_out, attach_type{}, 0, libbpf_compat::v1_1},
    {"lwt_xmit", prog_type::lwt_xmit, attach_type{}, 0, libbpf_compat::v1_1},
    {"lwt_seg6local", prog_type::lwt_seg6local, attach_type{}, 0, libbpf_compat::v1_1},
    {"sockops", prog_type::sock_ops, attach_type::cgroup_sock_ops, sec_attachable_opt, libbpf_compat::v1_1},
    {"sk_skb/stream_parser", prog_type::sk_skb, attach_type::sk_skb_stream_parser, sec_attachable_opt, libbpf_compat::v1_1},
    {"sk_skb/stream_verdict", prog_type::sk_skb, attach_type::sk_skb_stream_verdict, sec_attachable_opt, libbpf_compat::v1_1},
    {"sk_skb/verdict", prog_type::sk_skb, attach_type::sk_skb_verdict, sec_attachable_opt, libbpf_compat::v1_7},
    {"sk_skb", prog_type::sk_skb, attach_type{}, 0, libbpf_compat::v1_1},
    {"sk_msg", prog_type::sk_msg, attach_type::sk_msg_verdict, sec_attachable_opt, libbpf_compat::v1_1},
    {"lirc_mode2", prog_type::lirc_mode2, attach_type::lirc_mode2, sec_attachable_opt, libbpf_compat::v1_1},
    {"flow_dissector", prog_type::flow_dissector, attach_type::flow_dissector, sec_attachable_opt, libbpf_compat::v1_1},
    {"cgroup_skb/ingress", prog_type::cgroup_skb, attach_type::cgroup_inet_ingress, sec_attachable_opt, libbpf_compat::v1_1},
    {"cgroup_skb/egress", prog_type::cgroup_skb, attach_type::cgroup_inet_egress, sec_attachable_opt, libbpf_compat::v1_1},
    {"cgroup/skb", prog_type::cgroup_skb, attach_type{}, 0, libbpf_compat::v1_1},
    {"cgroup/sock_create", prog_type::cgroup_sock, attach_type::cgroup_inet_sock_create, sec_attachable, libbpf_compat::v1_1},
    {"cgroup/sock_release", prog_type::cgroup_sock, attach_type::cgroup_inet_sock_release, sec_attachable, libbpf_compat::v1_1},
    {"cgroup/sock", prog_type::cgroup_sock, attach_type::cgroup_inet_sock_create, sec_attachable_opt, libbpf_compat::v1_1},
    {"cgroup/post_bind4", prog_type::cgroup_sock, attach_type::cgroup_inet4_post_bind, sec_attachable, libbpf_compat::v1_1},
    {"cgroup/post_bind6", prog_type::cgroup_sock, attach_type::cgroup_inet6_post_bind, sec_attachable, libbpf_compat::v1_1},
    {"cgroup/bind4", prog_type::cgroup_sock_addr, attach_type::cgroup_inet4_bind, sec_attachable, libbpf_compat::v1_1},
    {"cgroup/bind6", prog_type::cgroup_sock_addr, attach_type::cgroup_inet6_bind, sec_attachable, libbpf_compat::v1_1},
    {"cgroup/connect4", prog_type::cgroup_sock_addr, attach_type::cgroup_inet4_connect, sec_attachable, libbpf_compat::v1_1},
    {"cgroup/connect6", prog_type::cgroup_sock_addr, attach_type::cgroup_inet6_connect, sec_attachable, libbpf_compat::v1_1},
    {"cgroup/connect_unix", prog_type::cgroup_sock_addr, attach_type::cgroup_unix_connect, sec_attachable, libbpf_compat::v1_7},
    {"cgroup/sendmsg4", prog_type::cgroup_sock_addr, attach_type::cgroup_udp4_sendmsg, sec_attachable, libbpf_compat::v1_1},
    {"cgroup/sendmsg6", prog_type::cgroup_sock_addr, attach_type::cgroup_udp6_sendmsg, sec_attachable, libbpf_compat::v1_1},
    {"cgroup/sendmsg_unix", prog_type::cgroup_sock_addr, attach_type::cgroup_unix_sendmsg, sec_attachable, libbpf_compat::v1_7},
    {"cgroup/recvmsg4", prog_type::cgroup_sock_addr, attach_type::cgroup_udp4_recvmsg, sec_attachable, libbpf_compat::v1_1},
    {"cgroup/recvmsg6", prog_type::cgroup_sock_addr, attach_type::cgroup_udp6_recvmsg, sec_attachable, libbpf_compat::v1_1},
    {"cgroup/recvmsg_unix", prog_type::cgroup_sock_addr, attach_type::cgroup_unix_recvmsg, sec_attachable, libbpf_compat::v1_7},
    {"cgroup/getpeername4", prog_type::cgroup_sock_addr, attach_type::cgroup_inet4_getpeername, sec_attachable, libbpf_compat::v1_1},
    {"cgroup/getpeername6", prog_type::cgroup_sock_addr, attach_type::cgroup_inet6_getpeername, sec_attachable, libbpf_compat::v1_1},
    {"cgroup/getpeername_unix", prog_type::cgroup_sock_addr, attach_type::cgroup_unix_getpeername, sec_attachable, libbpf_compat::v1_7},
    {"cgroup/getsockname4", prog_type::cgroup_sock_addr, attach_type::cgroup_inet4_getsockname, sec_attachable, libbpf_compat::v1_1},
    {"cgroup/getsockname6", prog_type::cgroup_sock_addr, attach_type::cgroup_inet6_getsockname, sec_attachable, libbpf_compat::v1_1},
    {"cgroup/getsockname_unix", prog_type::cgroup_sock_addr, attach_type::cgroup_unix_getsockname, sec_attachable, libbpf_compat::v1_7},
    {"cgroup/sysctl", prog_type::cgroup_sysctl, attach_type::cgroup_sysctl, sec_attachable, libbpf_compat::v1_1},
    {"cgroup/getsockopt", prog_type::cgroup_sockopt, attach_type::cgroup_getsockopt, sec_attachable, libbpf_compat::v1_1},
    {"cgroup/setsockopt", prog_type::cgroup_sockopt, attach_type::cgroup_setsockopt, sec_attachable, libbpf_compat::v1_1},
    {"cgroup/dev", prog_type::cgroup_device, attach_type::cgroup_device, sec_attachable_opt, libbpf_compat::v1_1},
    {"struct_ops+", prog_type::struct_ops, attach_type{}, 0, libbpf_compat::v1_1},
    {"struct_ops.s+", prog_type::struct_ops, attach_type{}, sec_sleepable, libbpf_compat::v1_7},
    {"sk_lookup", prog_type::sk_lookup, attach_type::sk_lookup, sec_attachable, libbpf_compat::v1_1},
    {"netfilter", prog_type::netfilter, attach_type::netfilter, 0, libbpf_compat::v1_7},
});

[[nodiscard]] constexpr bool section_def_matches(const section_def& d, std::string_view name) noexcept {
    const std::string_view s = d.sec;
    if (s.ends_with('/')) return name.starts_with(s);
    if (s.ends_with('+')) {
        const std::string_view stem = s.substr(0, s.size() - 1);
        return name.starts_with(stem) && (name.size() == stem.size() || name[stem.size()] == '/');
    }
    return name == s;
}

// The row libbpf picks for section `name` ("?" already stripped), or null: libbpf then leaves the
// program's type unset and its load fails unless the loader sets one.
[[nodiscard]] constexpr const section_def* find_section_def(std::string_view name, libbpf_compat compat = libbpf_compat_latest) noexcept {
    for (const section_def& d : section_defs) {
        if (static_cast<std::uint8_t>(d.since) <= static_cast<std::uint8_t>(compat) && section_def_matches(d, name)) return &d;
    }
    return nullptr;
}

// Where a BTF-attached program's target is looked up: the name prefix and the kind.
struct attach_lookup {
    std::string_view prefix;
    kind target_kind;
};
[[nodiscard]] constexpr attach_lookup attach_lookup_of(attach_type t) noexcept {
    switch (t) {
    case attach_type::trace_raw_tp: return {"btf_trace_", kind::typedef_};
    case attach_type::lsm_mac: case attach_type::lsm_cgroup: return {"bpf_lsm_", kind::func};
    case attach_type::trace_iter: return {"bpf_iter_", kind::func};
    default: return {"", kind::func};
    }
}

}  // namespace btfkit
