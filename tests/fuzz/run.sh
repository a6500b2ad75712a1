#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs libFuzzer targets for a bounded time each. Inputs found are kept in
# FUZZ_BUILD/corpus/NAME (the seeds in tests/fuzz/NAME/ are only read); a crash leaves
# its input in FUZZ_BUILD/artifacts/ and fails the run.
# Usage: tests/fuzz/run.sh FUZZ_BUILD SECONDS [NAME...]   (default: every target)
# `make test` runs each for ~10 s through tests/run.sh; `make fuzz` for FUZZ_SECONDS.
set -u
here=$(cd "$(dirname "$0")" && pwd)
fb=$(cd "${1:?usage: run.sh FUZZ_BUILD SECONDS [NAME...]}" && pwd)
secs=${2:?seconds}
shift 2
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
	for t in "$fb"/fuzz/*; do [ -x "$t" ] && names+=("$(basename "$t")"); done
fi
[ ${#names[@]} -gt 0 ] || { echo "no fuzz targets in $fb/fuzz (make fuzzers)"; exit 1; }
rc=0
for n in "${names[@]}"; do
	corpus=$fb/corpus/$n
	mkdir -p "$corpus" "$fb/artifacts"
	echo "fuzz $n: ${secs}s, seeds $here/$n"
	# -timeout: one input taking over 10 s is a hang; -rss_limit_mb: a leak or a blow-up
	if ! "$fb/fuzz/$n" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$fb/artifacts/$n-" "$corpus" "$here/$n" 2>&1 |
		grep -vE '^#[0-9]+.*(NEW|REDUCE|pulse)'; then
		:
	fi
	r=${PIPESTATUS[0]}
	if [ "$r" -ne 0 ]; then
		echo "FAIL: fuzz target $n exited $r (input in $fb/artifacts/$n-*)"
		rc=1
	fi
done
exit $rc
