#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_run_progress: tests/run.sh prints "[i/N] NAME ... ok (S.Ss)" per test, with real
# times and without bc (a bc placed first on PATH records any call), and ends with
# the "N passed, N failed, N skipped" line. Runs run.sh on a fake build directory
# holding three tiny tests: one passing after 0.3 s, one skipping, one failing.
. "$(dirname "$0")/lib.sh"
fb=$IR_TMP/build
mkdir -p "$fb/tests" "$IR_TMP/bin"
printf '#!/bin/sh\nsleep 0.3\nexit 0\n' >"$fb/tests/test_zzfake_a"
printf '#!/bin/sh\necho "no widget here"\nexit 77\n' >"$fb/tests/test_zzfake_b"
printf '#!/bin/sh\necho boom\nexit 3\n' >"$fb/tests/test_zzfake_c"
printf '#!/bin/sh\necho called >>%s/bc-called\nexit 1\n' "$IR_TMP" >"$IR_TMP/bin/bc"
chmod +x "$fb"/tests/* "$IR_TMP/bin/bc"
out=$(PATH=$IR_TMP/bin:$PATH "$INFOREG_TOP/tests/run.sh" "$fb" zzfake 2>&1)
rc=$?
echo "$out"
[ ! -e "$IR_TMP/bc-called" ] || ir_fail "run.sh called bc"
[ $rc -ne 0 ] || ir_fail "run.sh exited 0 with a failing test"
echo "$out" | grep -qE '^\[1/3\] test_zzfake_a \.\.\. ok \(0\.[3-9]s\)$|^\[1/3\] test_zzfake_a \.\.\. ok \([1-9][0-9]*\.[0-9]s\)$' ||
	ir_fail "no '[1/3] test_zzfake_a ... ok (0.3s)' line"
echo "$out" | grep -qE '^\[2/3\] test_zzfake_b \.\.\. skipped \([0-9]+\.[0-9]s\): no widget here$' ||
	ir_fail "no skip line with the reason"
echo "$out" | grep -qE '^\[3/3\] test_zzfake_c \.\.\. FAILED \([0-9]+\.[0-9]s, exit 3' || ir_fail "no FAILED line"
[ "$(echo "$out" | tail -n 1)" = "1 passed, 1 failed, 1 skipped" ] || ir_fail "summary is not the last line"
echo ok
