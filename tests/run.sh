#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs every test under a timeout and prints one summary line last:
#   "N passed, N failed, N skipped".
# Tests are standalone programs or scripts exiting 0 (pass), 77 (skip: must say why)
# or anything else (fail). Order: unit tests, sanitizer builds, then integration.
# Usage: tests/run.sh BUILD_DIR [NAME_FILTER]
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
B=$(cd "${1:-build}" && pwd)
filter=${2:-${TESTS:-}}
export INFOREG_BUILD=$B INFOREG_TOP=$top
logdir=$B/test-logs
mkdir -p "$logdir"
pass=0 fail=0 skip=0 failed=()

run_one() { # label timeout_s command...
	local label=$1 t=$2; shift 2
	[ -n "$filter" ] && [[ $label != *$filter* ]] && return
	local log=$logdir/${label//\//_}.log start end rc
	start=$(date +%s.%N)
	timeout -k 5 "$t" "$@" >"$log" 2>&1
	rc=$?
	end=$(date +%s.%N)
	local secs; secs=$(printf '%.1f' "$(echo "$end - $start" | bc)")
	case $rc in
	0) pass=$((pass + 1)); printf 'PASS %-40s %6ss\n' "$label" "$secs" ;;
	77) skip=$((skip + 1)); printf 'SKIP %-40s %6ss  %s\n' "$label" "$secs" "$(tail -n 1 "$log")" ;;
	*) fail=$((fail + 1)); failed+=("$label")
	   printf 'FAIL %-40s %6ss  (exit %d, log %s)\n' "$label" "$secs" "$rc" "$log"
	   sed -e 's/^/    | /' "$log" | tail -n 25 ;;
	esac
}

for t in "$B"/tests/test_*; do
	[ -x "$t" ] && run_one "$(basename "$t")" 120 "$t"
done
for sb in "$B"-san-*; do
	[ -d "$sb/tests" ] || continue
	for t in "$sb"/tests/test_*; do
		[ -x "$t" ] || continue
		# halt_on_error: a sanitizer report fails the test
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1 \
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
			run_one "$(basename "$sb")/$(basename "$t")" 300 "$t"
	done
done
for t in "$B"/tests/it_*; do
	[ -x "$t" ] && run_one "$(basename "$t")" 180 "$t"
done
for t in "$top"/tests/it_*.sh; do
	[ -f "$t" ] && run_one "$(basename "$t")" 300 bash "$t"
done

[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
