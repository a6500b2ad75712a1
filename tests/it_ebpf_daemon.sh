#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_ebpf_daemon - as root the real daemon loads the eBPF collectors, publishes their
# series beside the /proc ones, takes a watch from its config file and one at run time
# over REST (PUT /v1/watch/NAME -> ctl_watch_add -> ebpf.task -> re-layout), measures a
# busy child through both, and leaves no BPF program behind after SIGTERM.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || ir_skip "loading BPF programs needs root"
command -v bpftool >/dev/null || ir_fail "bpftool missing"

get() { "$IRCLI" get --shm "$IR_SHM" "$@"; }
value() { get "$1" 2>/dev/null | awk '{print $NF}'; }

# a busy child: the watched task
( while :; do :; done ) &
burner=$!
IR_PIDS+=("$burner")

echo "s3cret-$RANDOM" >"$IR_TMP/token"
cat >"$IR_TMP/ird.conf" <<CONF
watch = fromconf pid:$burner
CONF
ir_start_daemon --config "$IR_TMP/ird.conf" --token-file "$IR_TMP/token"

status=$("$IRCLI" status --json --shm "$IR_SHM") || ir_fail "no status"
python3 -c 'import json,sys; e=json.loads(sys.argv[1])["ebpf"]; assert e["enabled"] and e["collectors_on"]==5, e' \
	"$status" || ir_fail "eBPF not on: $status"
for s in cpu.usage.exact 'cpu.usage.exact{cpu="0"}' sched.runq_latency.p99 sched.runq_latency.count \
	sched.ctxsw_per_s sched.migrations_per_s 'task.cpu.seconds{watch="fromconf"}'; do
	get "$s" >/dev/null || ir_fail "series $s missing"
done
echo "ok   eBPF series published, config watch declared"

curl -fsS -X PUT -H 'Content-Type: application/json' -H "Authorization: Bearer $(cat "$IR_TMP/token")" -d "{\"pid\":$burner}" "$IR_URL/v1/watch/runtime" \
	>/dev/null || ir_fail "PUT /v1/watch/runtime failed"
for _ in $(seq 30); do get 'task.cpu.seconds{watch="runtime"}' >/dev/null 2>&1 && break; sleep 0.1; done
# the kernel's own run time of the child (ns), the reference: the child shares its CPU
# with whatever else runs, so it need not gain a whole CPU second per second
# SERIES's samples over the last SINCE (e.g. -1s) from the ring, over REST (JSON)
hist() { curl -fsS "$IR_URL/v1/metrics/$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1")/history?since=$2&limit=1000"; }
# on failure: what the ring held for the config watch, to tell a stalled tick from a lag
show_hist() {
	hist 'task.cpu.seconds{watch="fromconf"}' -3s | python3 -c '
import json, sys
for x in json.load(sys.stdin)["samples"]:
    print("    seq %d ts %s value %s" % (x["seq"], x["ts"], x["value"]))' >&2
	"$IRCLI" status --json --shm "$IR_SHM" | python3 -c 'import json, sys; print("    ring:", json.load(sys.stdin)["ring"])' >&2
}
rt() { awk '{ print $1 / 1e9 }' "/proc/$burner/schedstat"; }
# One window of 1 s: each watch's gain against the child's own run time. The published
# values are a tick old (0-100 ms) at each end, so each delta may be off by the run time
# of up to one period (0.1 s) against the schedstat reads.
window() {
	local a b c d s0 s1
	s0=$(rt)
	a=$(value 'task.cpu.seconds{watch="runtime"}')
	c=$(value 'task.cpu.seconds{watch="fromconf"}')
	sleep 1
	b=$(value 'task.cpu.seconds{watch="runtime"}')
	d=$(value 'task.cpu.seconds{watch="fromconf"}')
	s1=$(rt)
	echo "runtime watch: $a -> $b s, config watch: $c -> $d s; schedstat: $s0 -> $s1 s; unreported switches $(value cpu.usage.exact.unreported_switches)"
	python3 -c "
import sys
a, b, c, d, s0, s1 = map(float, sys.argv[1:])
ref = s1 - s0
assert ref > 0.2, 'the child barely ran: %.3f s' % ref
for w, x in (('runtime', b - a), ('fromconf', d - c)):
    assert abs(x - ref) <= 0.12 + 0.1 * ref, '%s gained %.3f s, schedstat %.3f s' % (w, x, ref)
" "$a" "$b" "$c" "$d" "$s0" "$s1"
}
sleep 0.3 # past the new watch's first samples
# This VM's kernel drops some context switches (cpu.usage.exact.unreported_switches).
# The daemon repairs what it can see (kernel/inforeg.bpf.c: ir_cpu_idle, ir_cpu_sync),
# but under heavy load a busy watched task was seen, rarely (1 run in 8 under a bursty
# load), to go uncounted for 0.2-0.4 s. So a window that disagrees is shown with the
# ring's history and measured once more; a lasting error fails both windows (the
# exact per-task checks are it_bpf_task, it_bpf_cpu_sync and it_bpf_unreported).
if ! window; then
	show_hist
	echo "window 1 disagreed (above); measuring a second window"
	window || ir_fail "the watches disagree with the child's own run time"
fi
# task.cpu.usage is the rate of task.cpu.seconds over each period: over the last second
# of samples (from the ring, over REST) its time-weighted mean is the seconds gained
# divided by the time elapsed. The child's share of a CPU in any one period depends on
# what else runs, so that is not compared with a fixed figure here (it_bpf_task does).
hu=$(hist 'task.cpu.usage{watch="runtime"}' -1s) || ir_fail "history of task.cpu.usage failed"
hs=$(hist 'task.cpu.seconds{watch="runtime"}' -1s) || ir_fail "history of task.cpu.seconds failed"
python3 -c "
import json, sys
u = {x['seq']: (float(x['ts']), x['value']) for x in json.loads(sys.argv[1])['samples']}
s = {x['seq']: (float(x['ts']), x['value']) for x in json.loads(sys.argv[2])['samples']}
seqs = sorted(set(u) & set(s))
assert len(seqs) >= 5, 'only %d samples in the last second' % len(seqs)
seqs = [q for q in seqs if q - 1 in s and s[q][1] is not None and s[q - 1][1] is not None and u[q][1] is not None]
ts = [s[q][0] - s[q - 1][0] for q in seqs]
mean = sum(u[q][1] * t for q, t in zip(seqs, ts)) / sum(ts)
rate = 100 * sum(s[q][1] - s[q - 1][1] for q in seqs) / sum(ts)
print('task.cpu.usage over %d periods: mean %.2f%%, seconds gained %.2f%% of the time' % (len(seqs), mean, rate))
assert all(0 <= u[q][1] <= 101 for q in seqs), 'usage out of range'
assert abs(mean - rate) <= 5, 'usage %.2f%% is not the rate of seconds %.2f%%' % (mean, rate)
" "$hu" "$hs" || ir_fail "task.cpu.usage is not the rate of task.cpu.seconds"
echo "ok   run-time and config watches measure the busy child"

# the programs this daemon holds (other daemons on the machine may hold their own)
ids=$(grep -h '^prog_id:' /proc/"$IR_PID"/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -u)
[ -n "$ids" ] || ir_fail "the daemon holds no BPF program fd"
kill -TERM "$IR_PID"
for _ in $(seq 50); do kill -0 "$IR_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$IR_PID" 2>/dev/null && ir_fail "inforegd did not exit"
for _ in $(seq 20); do # programs are freed after an RCU grace period
	left=0
	for id in $ids; do bpftool prog show id "$id" >/dev/null 2>&1 && left=$((left + 1)); done
	[ "$left" -eq 0 ] && break
	sleep 0.1
done
[ "$left" -eq 0 ] || ir_fail "$left of the daemon's BPF programs left after exit"
echo "ok   the daemon's $(echo $ids | wc -w) BPF programs are gone after exit"
