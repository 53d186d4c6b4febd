/* fentry programs on module functions that dereference module types directly, without probe reads: the
 * verifier checks each load against the module's BTF, so it accepts a program only if its relocated
 * offsets are right. Every local field sits past the end of the kernel's struct, so the object as
 * compiled (not relocated) must be rejected. Loaded by tests/vm/vm_check (fentry needs the target
 * function's BTF id and its module's BTF fd). */
#include "fixture_common.h"

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

/* vmlinux */
struct net_device {
	char btfkit_pad[4096];
	int ifindex;
};
struct super_block {
	char btfkit_pad[2048];
	unsigned char s_blocksize_bits;
};

/* veth.ko */
struct veth_rq {
	char btfkit_pad[1024];
	struct net_device *dev;
};

/* xfs.ko */
struct xfs_mount {
	char btfkit_pad[4096];
	struct super_block *m_super;
};

/* btrfs.ko */
struct btrfs_fs_info {
	char btfkit_pad[8192];
	unsigned int nodesize;
};
struct btrfs_trans_handle {
	char btfkit_pad[256];
	struct btrfs_fs_info *fs_info;
};

/* nf_conntrack.ko: the options of its bpf_xdp_ct_lookup kfunc */
struct bpf_ct_opts {
	char btfkit_pad[64];
	int netns_id;
	unsigned char l4proto;
};

#pragma clang attribute pop

/* Keeps a loaded value alive without maps or global data. */
#define KEEP(v) asm volatile("" ::"r"(v))

SEC("fentry/veth_xdp_flush_bq")
int veth_fentry(unsigned long long *ctx)
{
	struct veth_rq *rq = (void *)ctx[0];

	KEEP(rq->dev->ifindex);
	return 0;
}

SEC("fentry/xfs_log_force")
int xfs_fentry(unsigned long long *ctx)
{
	struct xfs_mount *mp = (void *)ctx[0];

	KEEP(mp->m_super->s_blocksize_bits);
	return 0;
}

SEC("fentry/btrfs_commit_transaction")
int btrfs_fentry(unsigned long long *ctx)
{
	struct btrfs_trans_handle *trans = (void *)ctx[0];

	KEEP(trans->fs_info->nodesize);
	return 0;
}

SEC("fentry/bpf_xdp_ct_lookup")
int nf_conntrack_fentry(unsigned long long *ctx)
{
	struct bpf_ct_opts *opts = (void *)ctx[3];

	KEEP(opts->netns_id);
	KEEP(opts->l4proto);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
