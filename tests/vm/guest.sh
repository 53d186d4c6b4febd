# Runs in the test guest (tests/vm/init), in /payload: loads the modules, then the proofs; every result
# goes to a file in /out, which tests/vm/run reads back and judges. Progress lines go to the console.
cd /payload
export BTFKIT_INDEX_CACHE=off
step() { echo "VM: $1 at $(cut -d' ' -f1 /proc/uptime) s"; }
objects="$(ls obj/*.bpf.o corpus/*.bpf.o)"

step "loading modules"
while read -r ko; do
    insmod "ko/$ko" || echo "insmod $ko failed"
done < modules.order > /out/insmod.txt 2>&1
uname -r > /out/uname.txt
ls /sys/kernel/btf > /out/sysfs-btf.txt
# The module BTF the kernel shows against the .BTF of the .ko file (tests/vm/run extracted it).
for f in btf/*; do
    m=${f#btf/}
    if cmp -s "$f" "/sys/kernel/btf/$m"; then echo "same $m"; else echo "differs $m"; fi
done > /out/sysfs-cmp.txt

step "a: TYPE_ID_TARGET encodings"
bin/vm_check encode obj/module_core.bpf.o > /out/a.txt 2>&1
echo "exit $?" >> /out/a.txt
bin/vm_check ids > /out/btf-ids.txt
bin/btfkit relocate --json --fd-encoding id obj/module_core.bpf.o > /out/a-cli-id.json 2>&1

step "b: loading through raw_loader and as fentry programs"
for o in obj/module_core.bpf.o obj/kernel_core.bpf.o; do
    n=$(basename "$o" .bpf.o)
    bin/raw_loader "$o" > "/out/b-$n.txt" 2>&1
    echo "exit $?" >> "/out/b-$n.txt"
done
bin/vm_check fentry obj/module_fentry.bpf.o > /out/fentry.txt 2>&1
echo "exit $?" >> /out/fentry.txt
bin/btfkit relocate obj/module_core.bpf.o obj/module_fentry.bpf.o > /out/btfkit-log.txt 2>&1

step "c: btfkit against libbpf 1.1 and 1.7"
# differential PREFIX COMPAT ORACLE OBJECT...: btfkit in that libbpf's compatibility mode, then that libbpf.
differential() {
    prefix=$1 compat=$2 oracle=$3
    shift 3
    [ -x "bin/$oracle" ] || return 0
    bin/btfkit relocate --json --libbpf --libbpf-compat "$compat" --fd-encoding none "$@" > "/out/$prefix-btfkit.json" 2> "/out/$prefix-btfkit.err"
    echo "exit $?" >> "/out/$prefix-btfkit.err"
    "bin/$oracle" "$@" > "/out/$prefix-libbpf.json" 2> "/out/$prefix-libbpf.err"
    echo "exit $?" >> "/out/$prefix-libbpf.err"
}
differential c 1.1 libbpf-oracle $objects
differential c17 1.7 libbpf-oracle-1.7 $objects

step "d: module reloaded between opening and relocating"
reload="rmmod veth && insmod ko/veth.ko"
for v in lazy read cached; do
    bin/vm_check reload "$v" "$reload" obj/module_core.bpf.o > "/out/d-$v.txt" 2>&1
    echo "exit $?" >> "/out/d-$v.txt"
done
# Unloaded only: the module's sysfs file is gone when it is read.
bin/vm_check reload lazy "rmmod veth" obj/module_core.bpf.o > /out/d-unloaded.txt 2>&1
echo "exit $?" >> /out/d-unloaded.txt
insmod ko/veth.ko

step "c: a type in several modules"
while read -r ko; do
    insmod "ko/$ko" || echo "insmod $ko failed"
done < modules-later.order >> /out/insmod.txt 2>&1
ls /sys/kernel/btf > /out/sysfs-btf-later.txt
differential c2 1.1 libbpf-oracle obj/module_core.bpf.o
differential c2-17 1.7 libbpf-oracle-1.7 obj/module_core.bpf.o
bin/btfkit relocate obj/module_core.bpf.o > /out/c2-btfkit-fd.txt 2>&1
# Scoped to one of the two modules that define struct nf_conn_help: no longer ambiguous.
bin/btfkit relocate --json --only-module nf_conntrack --only-module veth obj/module_core.bpf.o > /out/c2-scoped.json 2> /out/c2-scoped.err
echo "exit $?" >> /out/c2-scoped.err

step "e: libbpf's program loads (--loads), modules loaded"
for oracle in libbpf-oracle libbpf-oracle-1.7; do
    [ -x "bin/$oracle" ] || continue
    "bin/$oracle" --loads $objects > "/out/e-$oracle.json" 2> "/out/e-$oracle.err"
    echo "exit $?" >> "/out/e-$oracle.err"
done
step "f: module kfuncs, ksyms and fentry run (raw_loader)"
bin/raw_loader obj/module_run.bpf.o --attach --test-run --glob 'glob_run=nf_conntrack_helper*register' \
    --run 'rmmod nf_conntrack_ftp && insmod ko/nf_conntrack_ftp.ko' > /out/f-raw-loader.txt 2>&1
echo "exit $?" >> /out/f-raw-loader.txt

for v in 1.1 1.7; do
    bin/btfkit relocate --json --libbpf --libbpf-compat "$v" $objects > "/out/e-btfkit-$v.json" 2> "/out/e-btfkit-$v.err"
    echo "exit $?" >> "/out/e-btfkit-$v.err"
done
