#!/usr/bin/env python3
"""Writes fuzz/targets/vmlinux-trace.btf (the real BTF fuzz_trace_expr resolves over) and the seeds
fuzz/corpus/trace_expr/.

    python3 fuzz/make_trace_seeds.py [--vmlinux /sys/kernel/btf/vmlinux]

vmlinux-trace.btf: the kernel's BTF cropped (make_relocate_seeds.crop_vmlinux) to a few functions ksnoop
traces, their prototypes whole, and the structs their paths walk by value (sock, sk_buff, file, ...); a
pointer to a struct left out points to a FWD. Seeds: mode byte 0 (the real BTF), then an expression; and
mode 1 over hand-made BTFs with loops (anonymous members of each other, self-referencing prototypes,
typedef/const loops, an array of itself).
Input layout: run_trace_expr in trace_driver.hpp.
"""

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_relocate_seeds as mr  # noqa: E402
import make_corpus as mc  # noqa: E402  (make_relocate_seeds puts tests/regression on the path)

FUNCS = ('tcp_sendmsg tcp_v4_connect tcp_close tcp_rcv_established ip_send_skb ip_rcv '
         'vfs_read vfs_write wake_up_new_task do_exit').split()
ROOTS = 'task_struct sock sock_common sk_buff msghdr sockaddr sockaddr_in file inode path dentry net'.split()
EXPRS = [
    'tcp_sendmsg(sk->__sk_common.skc_daddr)', 'tcp_sendmsg(sk, msg, size)', 'tcp_sendmsg(sk->sk_rcvbuf, return)',
    'tcp_sendmsg(sk->__sk_common.skc_dport, sk->__sk_common.skc_family)', 'tcp_sendmsg(msg->msg_namelen)',
    'tcp_v4_connect(uaddr->sa_family, addr_len)', 'tcp_v4_connect(sk->sk_prot)', 'tcp_close(sk->sk_state, timeout)',
    'ip_send_skb(skb->sk, net)', 'ip_send_skb(skb->len, skb->dev)', 'ip_send_skb(skb->cb[3], skb->data)',
    'ip_rcv(skb->head[0], dev)', 'tcp_rcv_established(sk->sk_socket, skb->protocol)',
    'ip_rcv(skb->users.refs.counter, orig_dev)', 'vfs_read(file->f_pos, buf[1], count, pos[2])',
    'vfs_write(file->f_path.dentry, file->f_inode)', 'vfs_read(file->f_mode, return)', 'wake_up_new_task(p->pid)',
    'do_exit(code)', 'tcp_sendmsg', 'tcp_sendmsg()',
    # failures explain_path words: no member, '.' on a pointer, '->' on no pointer, syntax, no parameter
    'tcp_sendmsg(sk->nosuch)', 'tcp_sendmsg(sk.sk_rcvbuf)', 'tcp_sendmsg(size->x)', 'tcp_sendmsg(sk->)',
    'tcp_sendmsg(skb)', 'tcp_sendmsg(sk[0].__sk_common.skc_daddr[1])', 'do_exit(return)', 'ip_send_skb(skb->cb[48])',
    'vfs_read(file->f_path.dentry->d_inode->i_ino)',
]


def cyclic_btfs():
    """Mode-1 seeds: (expression, raw BTF) over small hand-made BTFs with loops and bad ids."""
    out = []
    # struct s { int a; union u; union u; struct s *next; }; union u { struct s; struct s; } (anonymous, by value)
    b = mc.Btf()
    i = b.int_('int', 4)                                       # 1
    b.struct('s', 16, [('a', i, 0), ('', 3, 32), ('', 3, 64), ('next', 4, 96)])  # 2
    b.struct('', 8, [('', 2, 0), ('', 2, 0)], union=True)      # 3
    b.ref('ptr', '', 2)                                        # 4
    proto = b.func_proto(i, [('p', 4), ('n', i), ('f', 7)])    # 5
    b.ref('func', 'f', proto)                                  # 6
    b.ref('ptr', '', 8)                                        # 7
    b.func_proto(7, [('x', 7), ('y', 8), ('z', 7)])            # 8: returns and takes pointers to itself
    cyc = b.build()
    out += [('f(p->nosuch)', cyc), ('f(p->next->next->a)', cyc), ('f(p[1].a, n, f)', cyc), ('f', cyc), ('f(f->x)', cyc)]
    # A typedef loop, a const loop, a parameter of a bad id, an array of itself.
    b = mc.Btf()
    b.ref('typedef', 't', 2)                                   # 1
    b.ref('const', '', 1)                                      # 2
    b.array(3, 3, 4)                                           # 3
    proto = b.func_proto(1, [('a', 1), ('b', 3), ('c', 3)])    # 4
    b.ref('func', 'g', proto)                                  # 5
    loops = b.build()
    out += [('g(a.x, b[1], c[0][0])', loops), ('g(return)', loops), ('g', loops)]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--vmlinux', default='/sys/kernel/btf/vmlinux')
    ap.add_argument('--out', default=HERE)
    a = ap.parse_args()
    with open(a.vmlinux, 'rb') as f:
        data = mr.crop_vmlinux(f.read(), roots=ROOTS, funcs=FUNCS)
    with open(os.path.join(a.out, 'targets', 'vmlinux-trace.btf'), 'wb') as f:
        f.write(data)
    print('targets/vmlinux-trace.btf: %d bytes' % len(data))
    seeds = os.path.join(a.out, 'corpus', 'trace_expr')
    os.makedirs(seeds, exist_ok=True)
    for i, e in enumerate(EXPRS):
        with open(os.path.join(seeds, 'expr-%02d' % i), 'wb') as f:
            f.write(b'\0' + e.encode())
    for i, (e, raw) in enumerate(cyclic_btfs()):
        with open(os.path.join(seeds, 'btf-%02d' % i), 'wb') as f:
            f.write(bytes([1, len(e) & 0xff, len(e) >> 8]) + e.encode() + raw)
    print('corpus/trace_expr: %d seeds' % (len(EXPRS) + len(cyclic_btfs())))


if __name__ == '__main__':
    main()
