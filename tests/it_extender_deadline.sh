#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_extender_deadline: a node that accepts the connection and never answers is failed
# with "no fresh data" at the deadline, not waited for: the decision returns after the
# deadline (not before: the extender does wait for it) and long before the stand-in
# would ever answer; eight such nodes cost one deadline, not eight (they are asked in
# parallel); the node that does answer is scored meanwhile; the kept dead connection
# does not poison the next decision; the default deadline is 50 ms.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/extender/lib.sh"
[ -x "$IREXT" ] || ir_fail "no $IREXT (make all)"
[ -x "$IRFAKE" ] || ir_fail "no $IRFAKE (make tests)"

echo '{"seq":7,"rule":"default","scores":[{"score":0.75,"resources":{"cpu":{"free":1.5,"req":2,"perf":0.75}}}]}' >"$IR_TMP/bodies"
ext_start_fakenodes 1 "$IR_TMP/bodies" live-
ext_start_hang
{
	cat "$EXT_FAKE_NODES"
	for i in 0 1 2 3 4 5 6 7; do echo "hang-$i $EXT_HANG_URL"; done
} >"$IR_TMP/nodes"
ext_start_extender --nodes "$IR_TMP/nodes" --deadline-ms 500 --min-score 0.5

export EXT_URL IREXT NODES=$IR_TMP/nodes
"$PY" - <<'PY' || IR_LOG=$EXT_LOG ir_fail "deadline checks failed"
import json, os, subprocess, sys, time, urllib.request
E = os.environ["EXT_URL"]
bad = []
def fail(msg): bad.append(msg); print("FAIL:", msg)
pod = {"metadata": {"name": "p", "namespace": "ns"},
       "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "2"}}}]}}
def filt(names):
    body = json.dumps({"Pod": pod, "Nodes": None, "NodeNames": names}).encode()
    req = urllib.request.Request(E + "/filter", data=body, headers={"Content-Type": "application/json"})
    t0 = time.monotonic()
    with urllib.request.urlopen(req, timeout=60) as r:
        doc = json.load(r)
    return time.monotonic() - t0, doc

for attempt in (1, 2):   # the second decision reuses (or replaces) the dead connections
    dt, r = filt(["live-0", "hang-0"])
    print("attempt %d: %.3f s %s" % (attempt, dt, r))
    if r.get("NodeNames") != ["live-0"]: fail("live node not passed: %s" % r)
    why = r.get("FailedNodes", {}).get("hang-0", "")
    if why != "no fresh data: no answer within 500 ms": fail("hang reason %r" % why)
    if not (0.5 <= dt < 3.5): fail("decision took %.3f s with a 500 ms deadline" % dt)

hangs = ["hang-%d" % i for i in range(8)]
dt, r = filt(["live-0"] + hangs)
print("8 hanging nodes: %.3f s" % dt)
if sorted(r.get("FailedNodes", {})) != hangs or r.get("NodeNames") != ["live-0"]: fail("8 hangs: %s" % r)
if not (0.5 <= dt < 3.5): fail("8 hanging nodes took %.3f s: not in parallel under one deadline" % dt)

# the default deadline, through the score command
t0 = time.monotonic()
out = subprocess.run([os.environ["IREXT"], "score", "/dev/stdin", "--nodes", os.environ["NODES"], "--json",
                      "--node", "hang-0", "--node", "live-0"], input=json.dumps(pod), capture_output=True, text=True, timeout=60)
dt = time.monotonic() - t0
t = json.loads(out.stdout or "{}")
rows = {x["node"]: x for x in t.get("nodes", [])}
print("score, default deadline: %.3f s" % dt, rows.get("hang-0", {}).get("reason"), rows.get("hang-0", {}).get("ms"))
if t.get("deadline_ms") != 50: fail("default deadline %s" % t.get("deadline_ms"))
h = rows.get("hang-0", {})
if h.get("reason") != "no fresh data: no answer within 50 ms" or not (50 <= h.get("ms", 0) < 2000): fail("hang row %s" % h)
if rows.get("live-0", {}).get("score") != 0.75 or rows.get("live-0", {}).get("source") != "score": fail("live row %s" % rows.get("live-0"))
if dt >= 5: fail("score command took %.1f s" % dt)
sys.exit(1 if bad else 0)
PY
echo "ok: hanging nodes fail at the deadline, in parallel"
