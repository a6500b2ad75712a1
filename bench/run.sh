#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs every benchmark in bench/ against BUILD_DIR (default build) and prints its figures.
set -u
B=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
echo "== read latency"; "$B/bench/read_latency" "$B/bin/inforegd"
echo "== python read (Python reader beside libinforeg)"; /usr/bin/python3 "$top/bench/python_read.py" "$B"
echo "== daemon CPU"; bash "$top/bench/daemon_cpu.sh" "$B"
echo "== device providers (fakes)"; INFOREG_BUILD=$B "$B/bench/devices_tick"
echo "== exec rules and the tick"; "$B/bench/exec_jitter" "$B/bin/inforegd"
echo "== rules per tick"; "$B/bench/rules_tick"
echo "== scheduler extender"; "$B/bench/extender_bench" --build "$B"
for s in "$top"/bench/bpf_*.sh "$top"/bench/api_*.sh "$top"/bench/rules_*.sh; do
	[ -f "$s" ] || continue
	echo "== $(basename "$s")"; bash "$s" "$B"
done
