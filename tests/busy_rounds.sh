#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# busy_rounds.sh [ROUNDS] [DIR]: the suite on a busy machine, as issue 8 asks. Clones this
# repository's HEAD into DIR (default /tmp/inforeg-busy; an existing clone is fast-forwarded,
# keeping its builds), then runs `make test` ROUNDS times (default 5) with a busy loop
# pinned on each CPU, writes one summary line per round to DIR.summary and stops at the
# first failed round. Not part of `make test` (a round takes 15-20 minutes on 2 CPUs).
set -u
R=${1:-5}
D=${2:-/tmp/inforeg-busy}
top=$(cd "$(dirname "$0")/.." && pwd)
if [ -d "$D/.git" ]; then
	git -C "$D" pull -q --ff-only "$top" HEAD || exit 1
else
	git clone -q "$top" "$D" || exit 1
fi
cd "$D" || exit 1
log=$D.summary
echo "busy rounds on $(git rev-parse --short HEAD), $(date -u +%FT%TZ)" >"$log"
ncpu=$(nproc)
for r in $(seq "$R"); do
	busy=()
	for c in $(seq 0 $((ncpu - 1))); do
		taskset -c "$c" sh -c 'while :; do :; done' &
		busy+=($!)
	done
	t0=$(date +%s)
	make test >"$D.round$r.log" 2>&1
	rc=$?
	kill "${busy[@]}"
	wait "${busy[@]}" 2>/dev/null
	echo "round $r: rc=$rc $(($(date +%s) - t0)) s, $(tail -1 "$D.round$r.log"), $(date -u +%T)" >>"$log"
	grep -E "FAILED|CHECK failed|FAIL:" "$D.round$r.log" | head -5 >>"$log"
	[ "$rc" = 0 ] || break
done
cat "$log"
