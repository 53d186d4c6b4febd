/* Module forms run, not only loaded (tests/vm/README.md, proof f): raw_loader loads these with the
 * externs and attach targets btfkit resolved, attaches them, test-runs the XDP and raw_tp programs and
 * reloads nf_conntrack_ftp, whose init registers its helpers through nf_conntrack. Each program counts
 * its runs in .bss, which raw_loader prints: nf_conntrack's kfuncs called, act_mirred's per-cpu VAR
 * read (6.1; weak, 6.12 lacks it), fentry and fexit on an nf_conntrack function, and one program
 * attached to every function a glob matches. */
#include "fixture_common.h"
#include "nf_conntrack_kfuncs.h"

char LICENSE[] SEC("license") = "GPL";

extern const int mirred_nest_level __ksym __weak;

__u64 xdp_runs, ct_found, ksym_reads, fentry_hits, fexit_hits, glob_hits;

SEC("xdp")
int ct_run(struct xdp_md *ctx)
{
	struct bpf_sock_tuple tup = {};
	struct bpf_ct_opts opts = {.netns_id = -1, .l4proto = 6};
	struct nf_conn *ct;

	__sync_fetch_and_add(&xdp_runs, 1);
	ct = bpf_xdp_ct_lookup(ctx, &tup, sizeof(tup.saddr) * 2 + sizeof(tup.sport) * 2, &opts, sizeof(opts));
	if (ct) {
		__sync_fetch_and_add(&ct_found, 1);
		bpf_ct_release(ct);
	}
	return 2; /* XDP_PASS */
}

SEC("raw_tp/sys_enter")
int ksym_run(void *ctx)
{
	__sync_fetch_and_add(&ksym_reads, 1);
	if (&mirred_nest_level)
		return *(const int *)bpf_this_cpu_ptr(&mirred_nest_level);
	return 0;
}

SEC("fentry/nf_conntrack_helpers_register")
int fentry_run(unsigned long long *ctx)
{
	__sync_fetch_and_add(&fentry_hits, 1);
	return 0;
}

SEC("fexit/nf_conntrack:nf_conntrack_helpers_register")
int fexit_run(unsigned long long *ctx)
{
	__sync_fetch_and_add(&fexit_hits, 1);
	return 0;
}

/* raw_loader --glob glob_run=PATTERN loads this once per matching function. */
SEC("fentry/nf_conntrack_helper_register")
int glob_run(unsigned long long *ctx)
{
	__sync_fetch_and_add(&glob_hits, 1);
	return 0;
}
