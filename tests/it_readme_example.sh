#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_readme_example: the README's C example (tests/readme_example.c) with no daemon
# running prints why inforeg_open failed and exits 1 (it used to pass NULL on and crash),
# and with a daemon prints live samples. Also: inforeg_writer_alive is exported as
# INFOREG_0.2 and the INFOREG_0.1 symbols keep their version.
. "$(dirname "$0")/lib.sh"
cc -std=gnu11 -Wall -Wextra -Werror -I"$INFOREG_TOP/include" -o "$IR_TMP/example" \
	"$INFOREG_TOP/tests/readme_example.c" "$INFOREG_BUILD/lib/libinforeg.a" -lpthread ||
	ir_fail "the README example does not build"
out=$(INFOREG_SHM=irt-no-such-daemon-$$ "$IR_TMP/example" 2>&1)
rc=$?
[ "$rc" = 1 ] || ir_fail "with no daemon the example exited $rc (139 is a crash), want 1: $out"
echo "$out" | grep -q "inforeg_open: No such file or directory" || ir_fail "no reason printed: $out"
ir_start_daemon --listen none --no-ebpf
out=$(INFOREG_SHM=$IR_SHM "$IR_TMP/example") || ir_fail "example failed: $out"
[ "$(echo "$out" | grep -cE '^seq [0-9]+ cpu.usage [0-9.]+%$')" -ge 4 ] || ir_fail "example printed: $out"
syms=$(objdump -T "$INFOREG_BUILD/lib/libinforeg.so")
echo "$syms" | grep -q 'INFOREG_0.2 *inforeg_writer_alive' || ir_fail "inforeg_writer_alive is not INFOREG_0.2"
echo "$syms" | grep -q 'INFOREG_0.1 *inforeg_wait' || ir_fail "inforeg_wait lost INFOREG_0.1"
echo "ok: no daemon -> 'inforeg_open: No such file or directory', exit 1; live samples with one"
