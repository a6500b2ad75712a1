#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# daemon_cpu.sh - inforegd's own CPU use at 10 Hz and 100 Hz, as percent of one core and
# microseconds per tick, from the scheduler's exact run time of all its threads
# (/proc/PID/task/*/schedstat, ns; utime/stime are tick-sampled), beside two floors
# measured in the same run with bench/tick_floor: a process that only wakes at the
# same period the same way, and one that also preads the very files the daemon reads
# (taken from the daemon's open fds), and one that reads them with one io_uring
# submission as the daemon does. Goals: < 0.1% at 10 Hz, < 1% at 100 Hz.
#
# Every subject runs ALONE, one after the other (REST server off; eBPF on when root):
# in this VM a lone 10 Hz process costs about 1.5x what it costs while another one
# wakes beside it (caches, and the host's idea of an idle vCPU), so measuring two
# daemons at once, as this script once did, flattered both figures.
# Usage: bench/daemon_cpu.sh [BUILD_DIR]   (SECONDS_RUN=N, default 15 s per subject)
set -eu
B=${1:-build}
SECONDS_RUN=${SECONDS_RUN:-15}
IRD=$B/bin/inforegd
FLOOR=$B/bench/tick_floor
[ -x "$FLOOR" ] || { echo "build $FLOOR first (make benches)"; exit 1; }
cpu_ns() { cat /proc/"$1"/task/*/schedstat | awk '{ s += $1 } END { printf "%d", s }'; }
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null' EXIT

# measure LABEL PERIOD_MS CMD...: starts CMD alone, skips 2 s of start-up, prints a line
measure() {
	local label=$1 period=$2 t0 t1
	shift 2
	"$@" 2>/dev/null &
	pid=$!
	sleep 2
	kill -0 "$pid" 2>/dev/null || { echo "$label: did not start"; exit 1; }
	if [ "$label" = inforegd ]; then # the sources, for the floor below
		# (/proc/net/dev reads back as /proc/PID/net/dev, marked deleted)
		files=$(for fd in /proc/"$pid"/fd/*; do readlink "$fd"; done | grep -E '^/(proc|sys)/' |
			sed -E 's# \(deleted\)$##; s#^/proc/[0-9]+/net/#/proc/net/#' | sort -u)
	fi
	t0=$(cpu_ns "$pid")
	sleep "$SECONDS_RUN"
	t1=$(cpu_ns "$pid")
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	pid=
	awk -v a="$t0" -v b="$t1" -v s="$SECONDS_RUN" -v per="$period" -v l="$label" \
		'BEGIN { printf "  %-34s %7.3f%% of one core  %6.1f us per tick\n", l, 100*(b-a)/1e9/s, (b-a)/1e3/(s*1000/per) }'
}

for period in 100 10; do
	echo "period $period ms ($((1000 / period)) Hz), ${SECONDS_RUN} s each, alone:"
	files=
	measure inforegd "$period" "$IRD" --shm "irbench-cpu-$$" --listen none --period "$period"
	measure "inforegd --no-ebpf" "$period" "$IRD" --shm "irbench-cpu-$$" --listen none --period "$period" --no-ebpf
	measure "floor: wake only" "$period" "$FLOOR" "$period"
	# shellcheck disable=SC2086
	measure "floor: wake + pread $(echo $files | wc -w) sources" "$period" "$FLOOR" "$period" $files
	# shellcheck disable=SC2086
	measure "floor: wake + io_uring read of them" "$period" "$FLOOR" -u "$period" $files
done
