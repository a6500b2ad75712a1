#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# daemon_cpu.sh - inforegd's own CPU use at 10 Hz and 100 Hz over SECONDS (default 30),
# as percent of one core, from the scheduler's exact run time of all its threads
# (/proc/PID/task/*/schedstat, ns; utime/stime are tick-sampled). Both daemons run at the
# same time on private shm names with the REST server off; eBPF collectors load when
# run as root (their in-kernel cost lands on the tasks that switch, see bpf_overhead).
# Goals: < 0.1% at 10 Hz, < 1% at 100 Hz.
set -eu
B=${1:-build}
SECONDS_RUN=${SECONDS_RUN:-30}
IRD=$B/bin/inforegd
# run time of every thread of PID, in ns (threads that exited are not counted: the
# daemon's threads live as long as it does)
cpu_ns() { cat /proc/"$1"/task/*/schedstat | awk '{ s += $1 } END { printf "%d", s }'; }
EXTRA=${EXTRA:-} # e.g. EXTRA=--no-ebpf
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null' EXIT
for period in 100 10; do
	# shellcheck disable=SC2086
	"$IRD" --shm "irbench-cpu-$period-$$" --listen none --period "$period" $EXTRA 2>/dev/null &
	pids+=($!)
done
sleep 2 # start-up (BPF load, first samples) is not the steady state
declare -A t0
for p in "${pids[@]}"; do t0[$p]=$(cpu_ns "$p"); done
sleep "$SECONDS_RUN"
i=0
for period in 100 10; do
	p=${pids[$i]}
	t1=$(cpu_ns "$p")
	awk -v a="${t0[$p]}" -v b="$t1" -v s="$SECONDS_RUN" -v per="$period" \
		-v extra="$EXTRA" 'BEGIN { printf "inforegd %s at %3d Hz: %.3f%% of one core over %d s (%.1f us per tick)\n", extra, 1000/per, 100*(b-a)/1e9/s, s, (b-a)/1e3/(s*1000/per) }'
	i=$((i + 1))
done
