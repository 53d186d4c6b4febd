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

step "c: btfkit against libbpf"
bin/btfkit relocate --json --libbpf --fd-encoding none $objects > /out/c-btfkit.json 2> /out/c-btfkit.err
echo "exit $?" >> /out/c-btfkit.err
if [ -x bin/libbpf-oracle ]; then
    bin/libbpf-oracle $objects > /out/c-libbpf.json 2> /out/c-libbpf.err
    echo "exit $?" >> /out/c-libbpf.err
fi

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
bin/btfkit relocate --json --libbpf --fd-encoding none obj/module_core.bpf.o > /out/c2-btfkit.json 2> /out/c2-btfkit.err
bin/btfkit relocate obj/module_core.bpf.o > /out/c2-btfkit-fd.txt 2>&1
if [ -x bin/libbpf-oracle ]; then
    bin/libbpf-oracle obj/module_core.bpf.o > /out/c2-libbpf.json 2> /out/c2-libbpf.err
fi
