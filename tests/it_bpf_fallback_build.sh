#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_bpf_fallback_build: the committed vmlinux.h fallback (for kernels without BTF)
# still compiles every BPF program, so a build on such a machine works.
. "$(dirname "$0")/lib.sh"
[ "$(uname -m)" = x86_64 ] || ir_skip "the committed fallback is for x86_64"
gzip -dc "$INFOREG_TOP/kernel/vmlinux_fallback_x86.h.gz" > "$IR_TMP/vmlinux.h" || ir_fail "cannot unpack the fallback"
for src in "$INFOREG_TOP"/kernel/*.bpf.c; do
	clang -O2 -g -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 -Wall -Werror -I"$INFOREG_TOP/kernel" -I"$IR_TMP" \
		-c "$src" -o "$IR_TMP/$(basename "$src" .c).o" || ir_fail "$(basename "$src") does not build with the fallback"
	bpftool gen skeleton "$IR_TMP/$(basename "$src" .c).o" > /dev/null || ir_fail "no skeleton from $(basename "$src")"
done
echo "ok: every kernel/*.bpf.c builds against the fallback"
