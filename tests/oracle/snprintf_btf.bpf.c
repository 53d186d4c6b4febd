/* The kernel oracle for btfkit's value printer: bpf_snprintf_btf() over bytes placed in an array map.
 * Run with BPF_PROG_TEST_RUN; the test (tests/print_oracle.hpp) creates the map and points the one
 * 64-bit immediate of this program at it. No libbpf: the test loads it with btfkit's own code. */
typedef unsigned int __u32;
typedef long long __s64;
typedef unsigned long long __u64;

#include "snprintf_btf.h"

/* uapi linux/bpf.h, declared here to keep the program free of system headers */
struct btf_ptr {
	void *ptr;
	__u32 type_id;
	__u32 flags;
};
enum { helper_map_lookup_elem = 1, helper_snprintf_btf = 149 };

#define SEC(name) __attribute__((section(name), used))

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)helper_map_lookup_elem;
static long (*bpf_snprintf_btf)(char *str, __u32 str_size, struct btf_ptr *ptr, __u32 btf_ptr_size,
				__u64 flags) = (void *)helper_snprintf_btf;

/* Stands for the map: its address is the program's only 64-bit immediate, patched to the map's fd. */
SEC(".maps") int value_map;

SEC("raw_tp/oracle")
int snprintf_btf_oracle(void *ctx)
{
	__u32 key = 0;
	struct oracle_value *v = bpf_map_lookup_elem(&value_map, &key);
	struct btf_ptr p = {};
	__u32 size;

	if (!v)
		return 0;
	size = v->str_size;
	if (size == 0 || size > ORACLE_OUT_SIZE)
		return 0;
	p.ptr = v->in;
	p.type_id = v->type_id;
	v->ret = bpf_snprintf_btf(v->out, size, &p, sizeof(p), v->flags);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
