#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs every test under a timeout, one progress line each as it ends:
#   [12/64] it_api_load ... ok (3.1s)
# and one summary line last: "N passed, N failed, N skipped".
# Tests are standalone programs or scripts exiting 0 (pass), 77 (skip: must say why)
# or anything else (fail). Order: unit tests, sanitizer builds, integration, then a
# bounded run of each libFuzzer target (BUILD-fuzz/fuzz/*, ~10 s each).
# Times come from bash's EPOCHREALTIME (no bc, no external clock).
# Usage: tests/run.sh BUILD_DIR [NAME_FILTER]
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
B=$(cd "${1:-build}" && pwd)
filter=${2:-${TESTS:-}}
export INFOREG_BUILD=$B INFOREG_TOP=$top
logdir=$B/test-logs
mkdir -p "$logdir"
pass=0 fail=0 skip=0 failed=()
FUZZ_SECONDS=${FUZZ_SECONDS:-10}

# The plan: one "label<TAB>timeout<TAB>env<TAB>command..." line per test.
plan=()
add() { # label timeout env command...
	local label=$1
	[ -n "$filter" ] && [[ $label != *$filter* ]] && return
	local IFS=$'\t'
	plan+=("$*")
}
san_env='ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1'
for t in "$B"/tests/test_*; do
	[ -x "$t" ] && add "$(basename "$t")" 120 - "$t"
done
for sb in "$B"-san-*; do
	[ -d "$sb/tests" ] || continue
	for t in "$sb"/tests/test_*; do
		# halt_on_error: a sanitizer report fails the test
		[ -x "$t" ] && add "$(basename "$sb")/$(basename "$t")" 300 "$san_env" "$t"
	done
done
for t in "$B"/tests/it_*; do
	[ -x "$t" ] && add "$(basename "$t")" 180 - "$t"
done
for t in "$top"/tests/it_*.sh; do
	[ -f "$t" ] && add "$(basename "$t")" 300 - bash "$t"
done
for t in "$B"-fuzz/fuzz/*; do
	[ -x "$t" ] && add "fuzz/$(basename "$t")" $((FUZZ_SECONDS + 120)) - \
		"$top/tests/fuzz/run.sh" "$B-fuzz" "$FUZZ_SECONDS" "$(basename "$t")"
done

now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }
secs() { printf '%d.%d' $(($1 / 1000)) $(($1 % 1000 / 100)); } # ms -> "3.1"

total=${#plan[@]} i=0
for line in "${plan[@]}"; do
	IFS=$'\t' read -r -a f <<<"$line"
	label=${f[0]} t=${f[1]} envs=${f[2]}
	cmd=("${f[@]:3}")
	i=$((i + 1))
	log=$logdir/${label//\//_}.log
	start=$(now_ms)
	if [ "$envs" = - ]; then
		timeout -k 5 "$t" "${cmd[@]}" >"$log" 2>&1
	else
		# shellcheck disable=SC2086
		env $envs timeout -k 5 "$t" "${cmd[@]}" >"$log" 2>&1
	fi
	rc=$?
	took=$(secs $(($(now_ms) - start)))
	case $rc in
	0) pass=$((pass + 1)); printf '[%d/%d] %s ... ok (%ss)\n' "$i" "$total" "$label" "$took" ;;
	77) skip=$((skip + 1))
	    printf '[%d/%d] %s ... skipped (%ss): %s\n' "$i" "$total" "$label" "$took" "$(tail -n 1 "$log")" ;;
	*) fail=$((fail + 1)); failed+=("$label")
	   printf '[%d/%d] %s ... FAILED (%ss, exit %d, log %s)\n' "$i" "$total" "$label" "$took" "$rc" "$log"
	   sed -e 's/^/    | /' "$log" | tail -n 25 ;;
	esac
done

[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
