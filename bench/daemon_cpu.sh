#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# daemon_cpu.sh - inforegd's own cost at 1, 10, 100 and 1000 Hz: CPU as percent of one
# core and microseconds per tick, from the scheduler's exact run time of all its threads
# (/proc/PID/task/*/schedstat, ns; utime/stime are tick-sampled), and its memory, RSS
# and PSS from /proc/PID/smaps_rollup (kB; Anonymous too: the heap without the ring), beside floors measured in the same run with
# bench/tick_floor: a process that only wakes at the same period the same way; one that
# also preads the very files the daemon reads (taken from the daemon's open fds); one
# that reads them with one io_uring submission as the daemon does; and one that preads
# only /proc/stat and /proc/meminfo, what a CPU-only tick reads.
#
# Subjects: inforegd as configured by default (eBPF on when root, per-source periods:
# cpu, mem, load and the eBPF collectors every tick, pressure, net and disk once a
# second); at 10 and 100 Hz also --no-ebpf; at 100 Hz and 1 kHz a CPU-only tick
# (--no-ebpf, period.load = 1000, so only cpu and mem are due every tick). Goals:
# < 0.1% of a core at 10 Hz, < 1% at 100 Hz (0.5% next); RSS under 6 MB.
#
# Every subject runs ALONE, one after the other (REST server off): in this VM a lone
# 10 Hz process costs about 1.5x what it costs while another one wakes beside it, so
# measuring two at once would flatter both. Each subject runs WINDOWS windows of W
# seconds, each after START s of its own start-up (2), in rounds that take every subject
# of a rate in turn; the figures are median, min and max over the windows. Memory also
# gives the ring's share of RSS (the daemon's mapping of its object, all populated) and
# RSS without it: the ring is history_s x rate slots of the series set, what the user
# asks for, the rest is the daemon's own.
# Usage: bench/daemon_cpu.sh [BUILD_DIR]   (W=seconds per window, WINDOWS=N, RATES="1 10";
# QUICK=1: 100 Hz only, two 1 s windows after 1 s)
set -eu
B=${1:-build}
. "$(dirname "$0")/lib.sh"
if [ "$QUICK" = 1 ]; then
	W=${W:-1} WINDOWS=${WINDOWS:-2} RATES=${RATES:-100} START=1
else
	W=${W:-2} WINDOWS=${WINDOWS:-6} RATES=${RATES:-"1 10 100 1000"} START=2
fi
IRD=$B/bin/inforegd
FLOOR=$B/bench/tick_floor
[ -x "$FLOOR" ] || { echo "build $FLOOR first (make benches)"; exit 1; }
cpu_ns() { cat /proc/"$1"/task/*/schedstat | awk '{ s += $1 } END { printf "%d", s }'; }
tmp=$(mktemp -d /tmp/daemon-cpu.XXXXXX)
pid=
shm=irbench-cpu-$$
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp" /dev/shm/$shm /dev/shm/$shm.lock' EXIT
printf 'period.load = 1000\n' >"$tmp/cpuonly.conf"
BN=daemon_cpu

# Subjects run in rounds: each round runs every subject of the rate once, alone, for one
# window (START s of start-up skipped), so that the host's slow drifts in this VM (2x over
# minutes) fall on every subject alike instead of on whichever ran during a bad minute.
declare -A CPU TICK RSS PSS ANON RING OWN
files=

# window METRIC PERIOD_MS CMD...: starts CMD alone, skips its start-up, measures one window
# of W s and appends its CPU (and memory, for the daemon) to the METRIC's lists
window() {
	local metric=$1 period=$2 t0 t1 rss ring
	shift 2
	"$@" >/dev/null 2>&1 &
	pid=$!
	sleep "$START"
	kill -0 "$pid" 2>/dev/null || { echo "$metric: did not start: $*"; exit 1; }
	if [ -z "$files" ] && [[ $metric == inforegd@* ]]; then # the daemon's sources, for the floors
		# (/proc/net/dev reads back as /proc/PID/net/dev, marked deleted)
		files=$(for fd in /proc/"$pid"/fd/*; do readlink "$fd"; done | grep -E '^/(proc|sys)/' |
			sed -E 's# \(deleted\)$##; s#^/proc/[0-9]+/net/#/proc/net/#' | sort -u)
	fi
	t0=$(cpu_ns "$pid")
	sleep "$W"
	t1=$(cpu_ns "$pid")
	CPU[$metric]+=" $(awk -v a="$t0" -v b="$t1" -v s="$W" 'BEGIN { printf "%.4f", 100*(b-a)/1e9/s }')"
	TICK[$metric]+=" $(awk -v a="$t0" -v b="$t1" -v s="$W" -v per="$period" 'BEGIN { printf "%.2f", (b-a)/1e3/(s*1000/per) }')"
	if [[ $metric == inforegd* || $metric == cpuonly* ]]; then
		rss=$(awk '/^Rss:/{print $2}' /proc/"$pid"/smaps_rollup)
		RSS[$metric]+=" $rss"
		PSS[$metric]+=" $(awk '/^Pss:/{print $2}' /proc/"$pid"/smaps_rollup)"
		ANON[$metric]+=" $(awk '/^Anonymous:/{print $2}' /proc/"$pid"/smaps_rollup)"
		# the ring: the Rss of the daemon's mapping of /dev/shm/$shm (all of it, populated)
		ring=$(awk -v obj="/dev/shm/$shm" '/^[0-9a-f]+-[0-9a-f]+ / { on = ($NF == obj) } on && /^Rss:/ { s += $2 } END { print s + 0 }' /proc/"$pid"/smaps)
		RING[$metric]+=" $ring"
		OWN[$metric]+=" $((rss - ring))"
	fi
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	pid=
}

# report METRIC BASELINE|-: the @result lines of a measured subject
report() {
	local metric=$1 base=$2
	# shellcheck disable=SC2206
	local cpus=(${CPU[$metric]}) ticks=(${TICK[$metric]})
	printf '  %-30s %s %% of one core; us per tick %s\n' "$metric" "${cpus[*]}" "${ticks[*]}"
	if [ "$base" = - ]; then
		bench_result $BN "$metric.cpu" %core "${cpus[@]}"
		bench_result $BN "$metric.tick" us "${ticks[@]}"
	else
		bench_result $BN "$metric.cpu" %core -b "$base.cpu" "${cpus[@]}"
		bench_result $BN "$metric.tick" us -b "$base.tick" "${ticks[@]}"
	fi
	if [ -n "${RSS[$metric]:-}" ]; then
		echo "  $metric RSS kB${RSS[$metric]}, PSS kB${PSS[$metric]}, ring kB${RING[$metric]}"
		# shellcheck disable=SC2086
		{
			bench_result $BN "$metric.rss" kB ${RSS[$metric]}
			bench_result $BN "$metric.pss" kB ${PSS[$metric]}
			bench_result $BN "$metric.anon" kB ${ANON[$metric]}
			bench_result $BN "$metric.ring" kB ${RING[$metric]}
			bench_result $BN "$metric.rss_without_ring" kB ${OWN[$metric]}
		}
	fi
}

ebpf=on
[ "$(id -u)" = 0 ] || ebpf="off (not root)"
echo "daemon_cpu: each subject alone, $WINDOWS windows of ${W}s after ${START} s of start-up; eBPF $ebpf"
for hz in $RATES; do
	period=$((1000 / hz))
	echo "${hz} Hz (period $period ms), $WINDOWS rounds:"
	files=
	for round in $(seq "$WINDOWS"); do
		printf '  round %s\n' "$round"
		window "inforegd@${hz}Hz" "$period" "$IRD" --shm "$shm" --listen none --period "$period"
		if [ "$hz" = 10 ] || [ "$hz" = 100 ]; then
			window "inforegd_noebpf@${hz}Hz" "$period" "$IRD" --shm "$shm" --listen none --period "$period" --no-ebpf
		fi
		if [ "$hz" -ge 100 ]; then
			window "cpuonly@${hz}Hz" "$period" "$IRD" --shm "$shm" --listen none \
				--period "$period" --no-ebpf --config "$tmp/cpuonly.conf"
		fi
		# the floors the daemon is compared with are measured at 10 Hz and faster
		if [ "$hz" -ge 10 ]; then
			window "floor.wake@${hz}Hz" "$period" "$FLOOR" "$period"
			# shellcheck disable=SC2086
			window "floor.pread@${hz}Hz" "$period" "$FLOOR" "$period" $files
			# shellcheck disable=SC2086
			window "floor.uring@${hz}Hz" "$period" "$FLOOR" -u "$period" $files
		fi
		if [ "$hz" -ge 100 ]; then
			window "floor.pread_cpumem@${hz}Hz" "$period" "$FLOOR" "$period" /proc/stat /proc/meminfo
		fi
	done
	if [ "$hz" -ge 10 ]; then
		report "inforegd@${hz}Hz" "floor.uring@${hz}Hz"
	else
		report "inforegd@${hz}Hz" -
	fi
	if [ "$hz" = 10 ] || [ "$hz" = 100 ]; then
		report "inforegd_noebpf@${hz}Hz" "floor.uring@${hz}Hz"
	fi
	if [ "$hz" -ge 100 ]; then
		report "cpuonly@${hz}Hz" "floor.pread_cpumem@${hz}Hz"
	fi
	if [ "$hz" -ge 10 ]; then
		report "floor.wake@${hz}Hz" -
		report "floor.pread@${hz}Hz" "floor.wake@${hz}Hz"
		report "floor.uring@${hz}Hz" "floor.wake@${hz}Hz"
	fi
	if [ "$hz" -ge 100 ]; then
		report "floor.pread_cpumem@${hz}Hz" "floor.wake@${hz}Hz"
	fi
done
bench_note $BN "floor.pread / floor.uring read the $(echo $files | wc -w) files the default daemon keeps open" \
	"($(echo $files | tr '\n' ' ')); floor.pread_cpumem reads /proc/stat and /proc/meminfo, what the CPU-only" \
	"tick (--no-ebpf, period.load = 1000) reads every tick. eBPF: $ebpf. RSS and PSS include the" \
	"ring the daemon maps (history_s = 60 at the period: 60 samples at 1 Hz, 60,000 at 1 kHz," \
	"rounded up to a power of two), anon is its private anonymous memory (heap, stacks)." \
	"Goals: < 0.1 %core at 10 Hz, < 1 % at 100 Hz; RSS < 6 MB"
