/* Module forms of a loader's kernel lookups, for the QEMU guest (tests/vm/README.md, proof e):
 * nf_conntrack's kfuncs called (fd_array slot 1, off 1) and one's address taken (libbpf 1.2+ writes the
 * module's BTF fd in the ldimm64's second half, 1.1 writes 0), act_mirred's per-cpu VAR as a typed
 * __ksym, fentry/fexit on module functions with and without libbpf 1.5's "module:function" syntax,
 * and a vmlinux kfunc and VAR beside them (off 0, fd 0). No vmlinux.h: the guest kernels are not the
 * host's, and libbpf compares struct types of kfunc prototypes by kind only, so stand-ins do. */
#include "fixture_common.h"
#include "nf_conntrack_kfuncs.h"

char LICENSE[] SEC("license") = "GPL";

#define KEEP(v) asm volatile("" ::"r"(v))

struct nf_conn___init {
	int btfkit_unused;
};

extern struct nf_conn___init *bpf_xdp_ct_alloc(struct xdp_md *xdp_ctx, struct bpf_sock_tuple *bpf_tuple,
					       __u32 tuple__sz, struct bpf_ct_opts *opts, __u32 opts__sz) __ksym __weak;
/* act_mirred.ko's per-cpu nesting counter, when that module is loaded */
extern const int mirred_nest_level __ksym __weak;
/* vmlinux: kfuncs since 6.2 (weak: missing on 6.1), a per-cpu VAR, a kfunc no kernel has */
extern void bpf_rcu_read_lock(void) __ksym __weak;
extern void bpf_rcu_read_unlock(void) __ksym __weak;
extern const int bpf_prog_active __ksym;
extern void btfkit_no_such_kfunc(void) __ksym __weak;

SEC("xdp")
int xdp_ct(struct xdp_md *ctx)
{
	struct bpf_sock_tuple tup = {};
	struct bpf_ct_opts opts = {.netns_id = -1, .l4proto = 6};
	struct nf_conn *ct;

	ct = bpf_xdp_ct_lookup(ctx, &tup, sizeof(tup.saddr) * 2 + sizeof(tup.sport) * 2, &opts, sizeof(opts));
	if (ct)
		bpf_ct_release(ct);
	if (bpf_xdp_ct_alloc)
		KEEP(&bpf_xdp_ct_alloc);
	if (btfkit_no_such_kfunc)
		btfkit_no_such_kfunc();
	return 2; /* XDP_PASS */
}

SEC("fentry/nf_conntrack:nf_confirm")
int fentry_mod_syntax(unsigned long long *ctx)
{
	return 0;
}

SEC("fentry/nf_ct_delete")
int fentry_mod(unsigned long long *ctx)
{
	if (&mirred_nest_level)
		KEEP(*(const int *)bpf_this_cpu_ptr(&mirred_nest_level));
	KEEP(*(const int *)bpf_this_cpu_ptr(&bpf_prog_active));
	if (bpf_rcu_read_lock && bpf_rcu_read_unlock) {
		bpf_rcu_read_lock();
		bpf_rcu_read_unlock();
	}
	return 0;
}

SEC("fexit/nf_conntrack_free")
int fexit_mod(unsigned long long *ctx)
{
	return 0;
}
