#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_sanitized_daemon: the daemon itself, built with ThreadSanitizer and with
# AddressSanitizer+UBSan, goes through the REST load, SSE, watch (with a reload),
# reload, rules, exec rule (the process runner's thread), push rule and device provider
# (exec, sysfs, the NVML worker on the fake library) tests: any race, memory error or
# undefined behaviour reported fails the test.
# (h2o's own buffers held until exit are suppressed for LeakSanitizer: tests/lsan.supp.)
. "$(dirname "$0")/lib.sh"
found=0
for sb in "$INFOREG_BUILD"-san-thread "$INFOREG_BUILD"-san-address-undefined; do
	[ -x "$sb/bin/inforegd" ] || ir_fail "no sanitized daemon in $sb (make test builds it)"
	logs=$IR_TMP/$(basename "$sb")
	mkdir -p "$logs"
	# it_rules_*, it_devices_nvml: C programs of the normal build that start
	# $INFOREG_BUILD/bin/inforegd (it_devices_nvml with $INFOREG_BUILD's fake_nvml.so)
	for t in it_api_load.sh it_api_sse.sh it_api_watch.sh it_daemon_reload.sh it_rules.sh it_rules_reader \
		it_rules_exec it_rules_push it_devices_exec.sh it_devices_sysfs.sh it_devices_nvml; do
		case $t in
		*.sh) cmd=(bash "$INFOREG_TOP/tests/$t") ;;
		*) cmd=("$INFOREG_BUILD/tests/$t") ;;
		esac
		TSAN_OPTIONS="halt_on_error=0:log_path=$logs/tsan" \
		ASAN_OPTIONS="halt_on_error=0:detect_leaks=1:log_path=$logs/asan" \
		LSAN_OPTIONS="suppressions=$INFOREG_TOP/tests/lsan.supp" \
		UBSAN_OPTIONS="print_stacktrace=1:log_path=$logs/ubsan" \
		INFOREG_BUILD=$sb "${cmd[@]}" >"$logs/$t.log" 2>&1 ||
			ir_fail "$t with $(basename "$sb"): $(grep -m5 'CHECK failed' "$logs/$t.log") $(tail -5 "$logs/$t.log")"
	done
	# the sanitizers write one file per process (tsan.PID, asan.PID, ubsan.PID)
	reports=$(cat "$logs"/*san.* 2>/dev/null)
	if echo "$reports" | grep -qE "WARNING: ThreadSanitizer|ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error"; then
		echo "$reports" | head -60
		ir_fail "sanitizer reports from the daemon built in $(basename "$sb")"
	fi
	found=$((found + 1))
	echo "ok: $(basename "$sb"): no reports"
done
[ $found -eq 2 ] || ir_fail "ran $found sanitized daemons, wanted 2"
