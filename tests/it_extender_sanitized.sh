#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_extender_sanitized: inforeg-extender built with ThreadSanitizer and with
# AddressSanitizer+UBSan goes through it_extender_protocol and it_extender_deadline
# (every verb, bad bodies, stopped and never-answering nodes, several connections): any
# race, memory error, leak or undefined behaviour reported fails the test. (h2o's own
# recycled buffers held until exit are suppressed: tests/extender/lsan.supp.)
. "$(dirname "$0")/lib.sh"
found=0
for sb in "$INFOREG_BUILD"-san-thread "$INFOREG_BUILD"-san-address-undefined; do
	[ -x "$sb/bin/inforeg-extender" ] || ir_fail "no sanitized extender in $sb (make test builds it)"
	logs=$IR_TMP/$(basename "$sb")
	mkdir -p "$logs"
	for t in it_extender_protocol.sh it_extender_deadline.sh; do
		IREXT=$sb/bin/inforeg-extender \
		TSAN_OPTIONS="halt_on_error=0:log_path=$logs/tsan" \
		ASAN_OPTIONS="halt_on_error=0:detect_leaks=1:log_path=$logs/asan" \
		LSAN_OPTIONS="suppressions=$INFOREG_TOP/tests/extender/lsan.supp" \
		UBSAN_OPTIONS="print_stacktrace=1:log_path=$logs/ubsan" \
			bash "$INFOREG_TOP/tests/$t" >"$logs/$t.log" 2>&1 ||
			ir_fail "$t with $(basename "$sb"): $(tail -5 "$logs/$t.log")"
	done
	reports=$(cat "$logs"/*san.* 2>/dev/null)
	if echo "$reports" | grep -qE "WARNING: ThreadSanitizer|ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error"; then
		echo "$reports" | head -60
		ir_fail "sanitizer reports from the extender built in $(basename "$sb")"
	fi
	found=$((found + 1))
	echo "ok: $(basename "$sb"): no reports"
done
[ $found -eq 2 ] || ir_fail "ran $found sanitized extenders, wanted 2"
