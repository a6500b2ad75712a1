#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_cgroup_scope: inforegd --cgroup PATH on this machine's real cgroups, with a busy
# loop inside a cgroup limited to half a CPU and 256 MiB: cpu.count is 0.5, cpu.used
# follows the cgroup's own usage counter over the same window, cpu.free = count - used
# in one sample, mem.total is the limit, mem.used the cgroup's charge, and the host's
# figures move to host.*. Uses cgroup v1 (cpu, cpuacct, memory) or a pure v2 host.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || ir_skip "needs root to create a cgroup"
cg=irt-cg-$$
if [ -e /sys/fs/cgroup/cgroup.controllers ]; then
	base=/sys/fs/cgroup
	grep -qw cpu $base/cgroup.subtree_control || echo +cpu > $base/cgroup.subtree_control 2>/dev/null
	mkdir "$base/$cg" || ir_fail "cannot create $base/$cg"
	echo "50000 100000" > "$base/$cg/cpu.max" || ir_fail "cannot set cpu.max"
	echo 268435456 > "$base/$cg/memory.max"
	dirs=("$base/$cg"); usage() { awk '$1 == "usage_usec" {print $2 * 1000}' "$base/$cg/cpu.stat"; }
else
	for c in cpu cpuacct memory; do
		[ -d /sys/fs/cgroup/$c ] || ir_skip "no cgroup v1 $c controller mounted"
		mkdir "/sys/fs/cgroup/$c/$cg" || ir_fail "cannot create /sys/fs/cgroup/$c/$cg"
	done
	echo 50000 > /sys/fs/cgroup/cpu/$cg/cpu.cfs_quota_us
	echo 100000 > /sys/fs/cgroup/cpu/$cg/cpu.cfs_period_us
	echo 268435456 > /sys/fs/cgroup/memory/$cg/memory.limit_in_bytes
	dirs=(/sys/fs/cgroup/cpu/$cg /sys/fs/cgroup/cpuacct/$cg /sys/fs/cgroup/memory/$cg)
	usage() { cat /sys/fs/cgroup/cpuacct/$cg/cpuacct.usage; }
fi
burner=
cleanup_cg() {
	[ -n "$burner" ] && kill "$burner" 2>/dev/null && wait "$burner" 2>/dev/null
	for d in "${dirs[@]}"; do rmdir "$d" 2>/dev/null; done
}
trap 'cleanup_cg; ir_cleanup' EXIT
# the burner joins the cgroup before it starts burning
sh -c 'for d in "$@"; do echo $$ > "$d/cgroup.procs"; done; exec sh -c "while :; do :; done"' sh "${dirs[@]}" &
burner=$!
ir_start_daemon --no-ebpf --cgroup "/$cg" --period 100

get() { curl -sf --http2-prior-knowledge "$IR_URL/v1/metrics?match=$1"; }
# one sample: every figure from the same sequence
doc=$(get 'cpu.count,cpu.used,cpu.free,cpu.usage,mem.total,mem.used,mem.available,host.cpu.count,host.cpu.usage,host.mem.total') ||
	ir_fail "no metrics"
out=$(printf '%s' "$doc" | /usr/bin/python3 -c '
import json, sys
d = {s["name"]: s["value"] for s in json.load(sys.stdin)["series"]}
need = ["cpu.count", "cpu.used", "cpu.free", "cpu.usage", "mem.total", "mem.used", "mem.available",
        "host.cpu.count", "host.cpu.usage", "host.mem.total"]
miss = [n for n in need if d.get(n) is None]
if miss: print("missing or NaN:", miss); sys.exit(1)
err = []
if abs(d["cpu.count"] - 0.5) > 1e-9: err.append("cpu.count %g, want 0.5" % d["cpu.count"])
if abs(d["cpu.free"] - max(0, 0.5 - d["cpu.used"])) > 1e-9: err.append("cpu.free != count - used")
if abs(d["cpu.usage"] - min(100, 100 * d["cpu.used"] / 0.5)) > 1e-6: err.append("cpu.usage != used/count")
if d["mem.total"] != 268435456: err.append("mem.total %g, want the 256 MiB limit" % d["mem.total"])
if d["mem.available"] != d["mem.total"] - d["mem.used"]: err.append("mem.available != total - used")
if d["host.cpu.count"] < 1 or d["host.mem.total"] <= 268435456: err.append("host.* are not the host")
print("; ".join(err) if err else "cpu.count 0.5, used %.3f, free %.3f; mem.used %d of %d; host %d CPUs" %
      (d["cpu.used"], d["cpu.free"], d["mem.used"], d["mem.total"], d["host.cpu.count"]))
sys.exit(1 if err else 0)') || ir_fail "one sample: $out"
echo "sample: $out"

# cpu.used over a window is the cgroup's own counter over that window: the ring's
# history of cpu.used, time-weighted between two reads of the counter
u0=$(usage); t0=$(date +%s.%N); sleep 2; u1=$(usage); t1=$(date +%s.%N)
hist=$(curl -sf --http2-prior-knowledge "$IR_URL/v1/metrics/cpu.used/history?since=0&limit=10000") || ir_fail "no history"
out=$(printf '%s' "$hist" | /usr/bin/python3 -c '
import json, sys
u0, t0, u1, t1 = map(float, sys.argv[1:5])
s = [x for x in json.load(sys.stdin)["samples"] if x["value"] is not None and t0 + 0.1 < x["ts"] <= t1]
if len(s) < 10: print("only %d samples in the window" % len(s)); sys.exit(1)
ours = sum(x["value"] for x in s) / len(s)
theirs = (u1 - u0) / 1e9 / (t1 - t0)
print("cpu.used mean %.3f cores, the cgroup counter %.3f cores over the same 2 s" % (ours, theirs))
sys.exit(0 if abs(ours - theirs) < 0.1 and theirs > 0.05 else 1)' "$u0" "$t0" "$u1" "$t1") || ir_fail "window: $out"
echo "ok: $out"
