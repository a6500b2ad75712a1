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
/usr/bin/python3 -c 'import json,sys; e=json.loads(sys.argv[1])["ebpf"]; assert e["enabled"] and e["collectors_on"]==5, e' \
	"$status" || ir_fail "eBPF not on: $status"
for s in cpu.usage.exact 'cpu.usage.exact{cpu="0"}' sched.runq_latency.p99 sched.runq_latency.count \
	sched.ctxsw_per_s sched.migrations_per_s 'task.cpu.seconds{watch="fromconf"}'; do
	get "$s" >/dev/null || ir_fail "series $s missing"
done
echo "ok   eBPF series published, config watch declared"

curl -fsS -X PUT -H 'Content-Type: application/json' -H "Authorization: Bearer $(cat "$IR_TMP/token")" -d "{\"pid\":$burner}" "$IR_URL/v1/watch/runtime" \
	>/dev/null || ir_fail "PUT /v1/watch/runtime failed"
for _ in $(seq 50); do get 'task.cpu.seconds{watch="runtime"}' >/dev/null 2>&1 && break; sleep 0.1; done
get 'task.cpu.seconds{watch="runtime"}' >/dev/null || ir_fail "the run-time watch never appeared"

# Every check below is on the ring's own timestamps and values, so that a loaded machine
# (a late tick, a slow client) widens the bounds instead of failing them:
# - The child's run time (/proc/PID/schedstat, ns) is traced by one /usr/bin/python3
#   process every few ms, each read between two CLOCK_REALTIME reads.
# - A sample's values are read by its collectors after the sample's ts (the tick's start)
#   and before the next sample's ts (one tick at a time), so a watch's gain between
#   samples a and b lies between the child's run time over [ts(a+1), ts(b)] and over
#   [ts(a), ts(b+1)]; the trace bounds both (run time only grows).
# - The window is pinned to one `since` sequence number: every series' history covers
#   the same samples.
# - task.cpu.usage is 100 x the gain of task.cpu.seconds over the collector's own interval,
#   and those intervals add up to a time between ts(b) - ts(a+1) and ts(b+1) - ts(a).
# The window lasts until the child has run 0.4 s (it shares its CPU with whatever else
# runs) or 10 s. This VM's kernel drops some context switches; the daemon repairs what it
# can see (kernel/cpu.bpf.c: ir_cpu_idle, ir_cpu_sync), but under heavy load a busy
# watched task was seen, rarely, to go uncounted for 0.2-0.4 s, so a window that
# disagrees is shown and measured once more (the exact per-task checks are it_bpf_task,
# it_bpf_cpu_sync and it_bpf_unreported).
window() {
	/usr/bin/python3 - "$IR_URL" "$burner" <<'PY'
import json, sys, time, urllib.parse, urllib.request

url, pid = sys.argv[1], int(sys.argv[2])

def hist(name, since):
    q = urllib.parse.quote(name, safe="")
    with urllib.request.urlopen("%s/v1/metrics/%s/history?since=%s&limit=1000" % (url, q, since), timeout=10) as r:
        return json.load(r)["samples"]

def runtime():
    with open("/proc/%d/schedstat" % pid) as f:
        return int(f.read().split()[0])

seq0 = hist('task.cpu.seconds{watch="runtime"}', "-10s")[-1]["seq"] + 1
trace = []  # (realtime before, run time ns, realtime after)
c0, t0 = runtime(), time.monotonic()
while True:
    a = time.time_ns(); v = runtime(); b = time.time_ns()
    trace.append((a, v, b))
    if (v - c0 >= 4e8 and time.monotonic() - t0 >= 1.0) or time.monotonic() - t0 >= 10:
        break
    time.sleep(0.005)
end = time.monotonic() + 0.35  # two more ticks: sample b+1 lies inside the trace
while time.monotonic() < end:
    a = time.time_ns(); v = runtime(); b = time.time_ns()
    trace.append((a, v, b))
    time.sleep(0.005)

names = {w: 'task.cpu.seconds{watch="%s"}' % w for w in ("runtime", "fromconf")}
secs = {w: {x["seq"]: x for x in hist(n, seq0)} for w, n in names.items()}
use = {x["seq"]: x for x in hist('task.cpu.usage{watch="runtime"}', seq0)}
seqs = sorted(set(use) & set(secs["runtime"]) & set(secs["fromconf"]))
ts = {q: round(float(use[q]["ts"]) * 1e9) for q in seqs}
first, last = trace[0][2], trace[-1][0]
win = [q for q in seqs if first <= ts[q] <= last]
assert len(win) >= 4, "only %d samples inside the %.2f s trace (seqs %s)" % (len(win), (last - first) / 1e9, seqs)
assert win == list(range(win[0], win[-1] + 1)), "the ring skipped samples in the window: %s" % win

def below(t):  # a run time reached by time t (the latest read that ended by t)
    return max(v for a, v, b in trace if b <= t)
def above(t):  # a run time not yet exceeded at time t (the earliest read begun after t)
    return min(v for a, v, b in trace if a >= t)

qa, qb = win[0], win[-2]  # sample b+1 = win[-1]
lo = (below(ts[qb]) - above(ts[qa + 1])) / 1e9
hi = (above(ts[qb + 1]) - below(ts[qa])) / 1e9
ok = True
for w in ("runtime", "fromconf"):
    gain = secs[w][qb]["value"] - secs[w][qa]["value"]
    tol = 0.03 + 0.03 * hi
    good = lo - tol <= gain <= hi + tol
    ok &= good
    print("%s watch: +%.4f s over samples %d..%d; the child ran %.4f..%.4f s by schedstat (tolerance %.3f s)%s"
          % (w, gain, qa, qb, lo, hi, tol, "" if good else "  <-- disagrees"))
assert lo > 0.1, "the child barely ran: %.3f s" % lo

# usage: 100 x seconds gained / the collector's interval; the intervals add up to the
# collector's time from sample qa to qb
dt, partial = 0.0, False
for q in range(qa + 1, qb + 1):
    u, d = use[q]["value"], secs["runtime"][q]["value"] - secs["runtime"][q - 1]["value"]
    assert u is not None and 0 <= u <= 100.5, "usage %s out of range at seq %d" % (u, q)
    if u > 0:
        dt += 100 * d / u
    else:
        assert d == 0, "usage 0 while seconds grew by %g at seq %d" % (d, q)
        partial = True
span_lo, span_hi = (ts[qb] - ts[qa + 1]) / 1e9, (ts[qb + 1] - ts[qa]) / 1e9
print("task.cpu.usage over %d periods implies %.4f s of collector time; the ring says %.4f..%.4f s"
      % (qb - qa, dt, span_lo, span_hi))
assert dt <= span_hi + 1e-3 and (partial or dt >= span_lo - 1e-3), \
    "task.cpu.usage is not the rate of task.cpu.seconds: %.4f s outside %.4f..%.4f s" % (dt, span_lo, span_hi)
sys.exit(0 if ok else 3)
PY
}
window
rc=$?
if [ "$rc" -eq 3 ]; then
	echo "window 1 disagreed (above); measuring a second window"
	window || ir_fail "the watches disagree with the child's own run time"
elif [ "$rc" -ne 0 ]; then
	ir_fail "window check failed"
fi
echo "ok   run-time and config watches measure the busy child; task.cpu.usage is the rate of task.cpu.seconds"

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
