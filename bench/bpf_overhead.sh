#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bpf_overhead.sh - runs bench/bpf_overhead on its own pipe ping-pong and on
# `perf bench sched pipe` (when perf works), each with many interleaved rounds, and
# prints the figures (medians, ratios, sample() cost per tick, per-event BPF cost,
# raw_tracepoint vs tracepoint, and the floor: an empty program on sched_switch).
# On a 2-CPU machine an unpinned ping-pong flips between a one-CPU shape (~5 us per
# round trip) and a two-CPU one (~12 us) from run to run, which swamps a few percent;
# so the ping-pong also runs pinned both ways (all on CPU 1; the two ends on CPUs 0
# and 1), and perf pinned to CPU 1 as well as unpinned. Root only.
# Usage: bench/bpf_overhead.sh [BUILD_DIR] [ROUNDS]
set -eu
B=${1:-build}
R=${2:-31}
bin=$B/bench/bpf_overhead
[ -x "$bin" ] || { echo "build $bin first (make benches)"; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
echo "### $(uname -r), $(nproc) CPUs"
ncpu=$(nproc)
"$bin" --rounds "$R" --iters 10000 --cpu $((ncpu - 1)) 2>/dev/null
if [ "$ncpu" -ge 2 ]; then
	echo
	"$bin" --rounds "$R" --iters 10000 --cpu 0,1 2>/dev/null
fi
echo
"$bin" --rounds "$R" --iters 10000 2>/dev/null
if perf bench sched pipe -l 1000 >/dev/null 2>&1; then
	echo
	"$bin" --rounds "$R" --iters 10000 --perf --cpu $((ncpu - 1)) 2>/dev/null
	echo
	"$bin" --rounds "$R" --iters 10000 --perf 2>/dev/null
fi
