#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bpf_overhead.sh - runs bench/bpf_overhead on its own pipe ping-pong and on
# `perf bench sched pipe` (when perf works), each with many interleaved rounds, and
# prints the figures (medians, ratios, sample() cost per tick, per-event BPF cost,
# raw_tracepoint vs tracepoint, and the floor: an empty program on sched_switch) and
# their @result lines, tagged by shape (cpuN, cpu0_1, unpinned, perf_cpuN, perf).
# On a 2-CPU machine an unpinned ping-pong flips between a one-CPU shape (~5 us per
# round trip) and a two-CPU one (~12 us) from run to run, which swamps a few percent;
# so the ping-pong also runs pinned both ways (all on CPU 1; the two ends on CPUs 0
# and 1), and perf pinned to CPU 1 as well as unpinned. Root only.
# QUICK=1: 2 rounds of 2,000 round trips, the one-CPU shape only. SHAPES (default "cpu
# cpu0_1 perf_cpu"; add "unpinned perf") picks the shapes of a full run: on a loaded VM
# each one takes minutes.
# Usage: bench/bpf_overhead.sh [BUILD_DIR] [ROUNDS]   (ROUNDS: 9; ITERS: 5000)
set -eu
B=${1:-build}
. "$(dirname "$0")/lib.sh"
if [ "$QUICK" = 1 ]; then R=${2:-2} I=2000 SHAPES=cpu; else R=${2:-9} I=${ITERS:-5000} SHAPES=${SHAPES:-"cpu cpu0_1 perf_cpu"}; fi
want() { [[ " $SHAPES " == *" $1 "* ]]; }
bin=$B/bench/bpf_overhead
[ -x "$bin" ] || { echo "build $bin first (make benches)"; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
echo "### $(uname -r), $(nproc) CPUs"
ncpu=$(nproc)
last=$((ncpu - 1))
want cpu && "$bin" --rounds "$R" --iters "$I" --cpu "$last" --tag "cpu$last" 2>/dev/null
if [ "$ncpu" -ge 2 ] && want cpu0_1; then
	echo
	"$bin" --rounds "$R" --iters "$I" --cpu 0,1 --tag cpu0_1 2>/dev/null
fi
if want unpinned; then
	echo
	"$bin" --rounds "$R" --iters "$I" --tag unpinned 2>/dev/null
fi
if perf bench sched pipe -l 1000 >/dev/null 2>&1; then
	if want perf_cpu; then
		echo
		"$bin" --rounds "$R" --iters "$I" --perf --cpu "$last" --tag "perf_cpu$last" 2>/dev/null
	fi
	if want perf; then
		echo
		"$bin" --rounds "$R" --iters "$I" --perf --tag perf 2>/dev/null
	fi
else
	bench_note bpf_overhead "perf bench sched pipe does not run here: no perf shapes"
fi
bench_note bpf_overhead "shapes: $SHAPES; workload slowdown: us per round trip, median/min/max over $R interleaved rounds of $I;" \
	"overhead = per-round (with / without) - 1; event.* from BPF_ENABLE_STATS during one run (merged" \
	"over the shapes); sample.* = each eBPF collector's sample() per tick. Goal: all.overhead < 3 %"
