#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_source_periods: every source has its own period (period.NAME = MS). At a 50 ms
# tick with period.net = 1000 and period.disk = 200: the ring's history of
# collector.age{collector="net"} rises tick by tick and returns to 0 once a second
# (checked on the ring's own timestamps), net values only change when it does,
# disk's age stays under its period, cpu (at the tick) has no age series; pressure
# keeps its default of 1 s. An unknown name is refused with FILE:LINE:COL.
. "$(dirname "$0")/lib.sh"
conf=$IR_TMP/periods.conf
printf 'period_ms = 50\nperiod.net = 1000\nperiod.disk = 200\n' > "$conf"
ir_start_daemon --no-ebpf --config "$conf"
sleep 3.5
hist() { curl -sf --http2-prior-knowledge "$IR_URL/v1/metrics/$1/history?since=0&limit=10000"; }
age_net=$(hist 'collector.age%7Bcollector=%22net%22%7D') || ir_fail "no collector.age for net"
age_disk=$(hist 'collector.age%7Bcollector=%22disk%22%7D') || ir_fail "no collector.age for disk"
age_psi=$(hist 'collector.age%7Bcollector=%22pressure%22%7D') || ir_fail "no collector.age for pressure (default 1 s)"
rx=$(hist 'net.rx.bytes_per_s%7Bdev=%22lo%22%7D') || ir_fail "no net.rx.bytes_per_s for lo"
curl -sf --http2-prior-knowledge "$IR_URL/v1/metrics/collector.age%7Bcollector=%22cpu%22%7D" >/dev/null &&
	ir_fail "cpu samples at the tick but has an age series"
out=$(/usr/bin/python3 - "$age_net" "$age_disk" "$age_psi" "$rx" <<'PY'
import json, sys
net, disk, psi, rx = (json.loads(a)["samples"] for a in sys.argv[1:5])
err = []
def resets(s):
    return [x["ts"] for x in s if x["value"] == 0]
r = resets(net)
gaps = [b - a for a, b in zip(r, r[1:])]
if len(r) < 3: err.append("net sampled %d times in 3.5 s" % len(r))
if any(not (0.9 <= g <= 1.15) for g in gaps): err.append("net sampled at gaps %s, want 1 s" % gaps)
mx = max(x["value"] for x in net)
if mx > 1.0: err.append("net age reached %.3f s" % mx)
d = resets(disk)
dg = [b - a for a, b in zip(d, d[1:])]
if any(not (0.15 <= g <= 0.26) for g in dg): err.append("disk gaps %s, want 0.2 s" % dg)
p = resets(psi)
pg = [b - a for a, b in zip(p, p[1:])]
if len(p) < 3 or any(not (0.9 <= g <= 1.15) for g in pg): err.append("pressure gaps %s, want 1 s" % pg)
# a net value changes only at a sample of net: by sequence number, over the samples both
# histories hold (they are two requests: on a loaded machine the second one can see
# samples the first did not)
sampled = {x["seq"] for x in net if x["value"] == 0}
covered = {x["seq"] for x in net}
vals = {x["seq"]: x["value"] for x in rx}
seqs = sorted(vals)
changed = [b for a, b in zip(seqs, seqs[1:]) if b == a + 1 and b in covered and vals[a] != vals[b]]
bad = [s for s in changed if s not in sampled]
if bad: err.append("net.rx changed at %d samples where net did not sample" % len(bad))
print("; ".join(err) if err else "net every %s s, disk every ~%.2f s, pressure every %s s" %
      ([round(g, 2) for g in gaps], sum(dg) / len(dg), [round(g, 2) for g in pg]))
sys.exit(1 if err else 0)
PY
) || ir_fail "$out"
echo "ok: $out"
bad=$IR_TMP/bad.conf
printf '# x\nperiod.nett = 1000\n' > "$bad"
msg=$("$IRD" --shm irt-bad-$$ --config "$bad" --listen none 2>&1); rc=$?
[ "$rc" = 2 ] || ir_fail "an unknown period.NAME exited $rc, want 2"
case $msg in *"$bad:2:1: period.nett: no collector"*) ;; *) ir_fail "message: $msg" ;; esac
echo "ok: $msg"
