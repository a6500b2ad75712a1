#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_bpf_seq_fenced: the per-CPU seqlock as every non-x86 target builds it
# (kernel/inforeg.bpf.h, ir_seq_begin/ir_seq_end: fully ordered BPF fetch atomics) builds
# for arm64 and for x86 with IR_SEQ_FENCED, its seq updates are fetch atomics there and
# plain stores in the x86 build, and the kernel's verifier accepts every fenced object
# (bpftool prog loadall). The x86 build of the same code is what the other it_bpf tests run.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" -eq 0 ] || ir_skip "loading BPF programs needs root"
vmh=$INFOREG_BUILD/kernel/vmlinux.h
[ -r "$vmh" ] || ir_fail "no $vmh: build first"
cp "$vmh" "$IR_TMP/vmlinux.h"
bpffs=/sys/fs/bpf
if ! mountpoint -q "$bpffs"; then
	mount -t bpf bpf "$bpffs" || ir_fail "cannot mount bpffs on $bpffs"
	trap 'rm -rf "$bpffs/irt-$$"; umount "$bpffs"; ir_cleanup' EXIT
else
	trap 'rm -rf "$bpffs/irt-$$"; ir_cleanup' EXIT
fi
build() { # name arch extra-flags
	clang -O2 -g -target bpf -mcpu=v3 -D__TARGET_ARCH_$2 -Wall -Werror $3 -I"$INFOREG_TOP/kernel" -I"$IR_TMP" \
		-c "$INFOREG_TOP/kernel/$1.bpf.c" -o "$IR_TMP/$1.$2$3.o" || ir_fail "$1.bpf.c does not build for $2 $3"
}
fetches() { llvm-objdump -d "$1" | grep -c 'atomic_fetch_add'; }
for src in "$INFOREG_TOP"/kernel/*.bpf.c; do
	n=$(basename "$src" .bpf.c)
	build "$n" arm64 ""
	build "$n" x86 -DIR_SEQ_FENCED
done
build cpu x86 ""
# cpu.bpf.c writes the seqlock: 2 fetch atomics per inlined switch_entry() (9 of them in
# its programs), none in the plain x86 build
plain=$(fetches "$IR_TMP/cpu.x86.o") fenced=$(fetches "$IR_TMP/cpu.x86-DIR_SEQ_FENCED.o") arm=$(fetches "$IR_TMP/cpu.arm64.o")
echo "atomic_fetch_add in cpu.bpf.o: x86 $plain, x86 fenced $fenced, arm64 $arm"
[ "$plain" -eq 0 ] || ir_fail "the x86 build orders the seqlock with fetch atomics ($plain)"
[ "$fenced" -ge 8 ] && [ "$arm" -eq "$fenced" ] || ir_fail "the fenced builds have $fenced and $arm fetch atomics"
mkdir -p "$bpffs/irt-$$"
for o in "$IR_TMP"/*.x86-DIR_SEQ_FENCED.o; do
	n=$(basename "$o" .x86-DIR_SEQ_FENCED.o)
	bpftool prog loadall "$o" "$bpffs/irt-$$/$n" >"$IR_TMP/load.log" 2>&1 ||
		{ tail -20 "$IR_TMP/load.log"; ir_fail "the verifier rejects the fenced $n.bpf.o"; }
done
echo "ok: the fenced seqlock builds for arm64 and x86, and the kernel loads it"
