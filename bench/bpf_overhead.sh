#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bpf_overhead.sh - runs bench/bpf_overhead twice: on its own pipe ping-pong and on
# `perf bench sched pipe` (when perf works), each with many interleaved rounds, and
# prints the figures (medians, ratios, sample() cost per tick, per-event BPF cost,
# raw_tracepoint vs tracepoint). Root only.
# Usage: bench/bpf_overhead.sh [BUILD_DIR] [ROUNDS]
set -eu
B=${1:-build}
R=${2:-21}
bin=$B/bench/bpf_overhead
[ -x "$bin" ] || { echo "build $bin first (make benches)"; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
echo "### $(uname -r), $(nproc) CPUs"
"$bin" --rounds "$R" --iters 20000 2>/dev/null
if perf bench sched pipe -l 1000 >/dev/null 2>&1; then
	echo
	"$bin" --rounds "$R" --iters 20000 --perf 2>/dev/null
fi
