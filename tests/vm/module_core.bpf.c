/* CO-RE against types that live only in module BTF (veth, btrfs, xfs, nf_conntrack), beside one vmlinux
 * type, for the VM test bed. Loadable by a raw bpf(BPF_PROG_LOAD) loader after relocation: no maps, no
 * global data, no bpf-to-bpf calls; every read goes through bpf_probe_read_kernel. */
#include "fixture_common.h"

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

struct net_device {
	int ifindex;
};

/* veth.ko */
struct veth_rq {
	struct net_device *dev;
};
struct veth_priv {
	struct net_device *peer;
	struct veth_rq *rq;
	unsigned int requested_headroom;
	int btfkit_no_such_field; /* not in veth */
};
/* A flavor no kernel has. */
struct veth_priv___btfkit_gone {
	long nope;
};

/* btrfs.ko */
struct btrfs_root {
	unsigned long state;
};
struct btrfs_inode {
	struct btrfs_root *root;
};

/* xfs.ko; struct super_block is vmlinux's */
struct super_block {
	unsigned char s_blocksize_bits;
};
struct xfs_mount {
	struct super_block *m_super;
};
enum xfs_dinode_fmt {
	XFS_DINODE_FMT_BTREE = 0, /* 3 in the kernel */
	XFS_DINODE_FMT_BTFKIT_NONE = 1,
};

/* nf_conntrack.ko (its kfuncs take struct bpf_ct_opts) */
struct bpf_ct_opts {
	int netns_id;
	unsigned char l4proto;
};
struct nf_conn_help {
	void *helper;
	unsigned char expecting[4];
};

/* vmlinux */
struct task_struct {
	int pid;
};

#pragma clang attribute pop

/* A kprobe's context is pt_regs; word 14 is rdi on x86-64 (the first argument). */
#define FIRST_ARG(ctx) ((void *)((unsigned long *)(ctx))[14])

SEC("kprobe/veth_xmit")
int veth_types(void *ctx)
{
	struct veth_priv *p = FIRST_ARG(ctx);
	__u64 v = BPF_CORE_READ(p, rq, dev, ifindex);

	v += BPF_CORE_READ(p, requested_headroom);
	v += bpf_core_field_exists(p->btfkit_no_such_field);
	v += bpf_core_field_size(p->requested_headroom);
	v += bpf_core_type_size(struct veth_priv);
	v += bpf_core_type_exists(struct veth_priv___btfkit_gone);
	v += bpf_core_type_id_kernel(struct veth_priv);
	v += bpf_core_type_id_kernel(struct veth_rq);
	return (int)v;
}

SEC("kprobe/btrfs_sync_file")
int btrfs_types(void *ctx)
{
	struct btrfs_inode *i = FIRST_ARG(ctx);
	__u64 v = BPF_CORE_READ(i, root, state);

	v += bpf_core_field_offset(i->root);
	v += bpf_core_type_size(struct btrfs_root);
	v += bpf_core_type_id_kernel(struct btrfs_inode);
	return (int)v;
}

SEC("kprobe/xfs_fs_sync_fs")
int xfs_types(void *ctx)
{
	struct xfs_mount *m = FIRST_ARG(ctx);
	__u64 v = BPF_CORE_READ(m, m_super, s_blocksize_bits);

	v += bpf_core_enum_value(enum xfs_dinode_fmt, XFS_DINODE_FMT_BTREE);
	v += bpf_core_enum_value_exists(enum xfs_dinode_fmt, XFS_DINODE_FMT_BTFKIT_NONE);
	v += bpf_core_type_id_kernel(struct xfs_mount);
	v += bpf_core_type_id_kernel(struct super_block);
	return (int)v;
}

SEC("kprobe/nf_conntrack_in")
int nf_conntrack_types(void *ctx)
{
	struct bpf_ct_opts *o = FIRST_ARG(ctx);
	struct nf_conn_help *h = FIRST_ARG(ctx);
	__u64 v = BPF_CORE_READ(o, l4proto);

	v += BPF_CORE_READ(o, netns_id);
	v += bpf_core_field_offset(h->expecting);
	v += bpf_core_type_size(struct bpf_ct_opts);
	v += bpf_core_type_id_kernel(struct bpf_ct_opts);
	v += bpf_core_type_id_kernel(struct nf_conn_help);
	return (int)v;
}

SEC("kprobe/do_nanosleep")
int vmlinux_types(void *ctx)
{
	struct task_struct *t = FIRST_ARG(ctx);
	__u64 v = BPF_CORE_READ(t, pid);

	v += bpf_core_type_id_kernel(struct task_struct);
	return (int)v;
}

char LICENSE[] SEC("license") = "GPL";
