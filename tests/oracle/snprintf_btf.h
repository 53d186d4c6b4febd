/* The oracle map's value, shared by snprintf_btf.bpf.c and tests/print_oracle.hpp. */
#ifndef BTFKIT_SNPRINTF_BTF_H
#define BTFKIT_SNPRINTF_BTF_H

#define ORACLE_OUT_SIZE (1 << 18)
#define ORACLE_IN_SIZE (1 << 15)

struct oracle_value {
	__u32 type_id;
	__u32 str_size;
	__u64 flags;
	__s64 ret;
	char out[ORACLE_OUT_SIZE];
	char in[ORACLE_IN_SIZE];
};

#endif
