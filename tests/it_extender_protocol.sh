#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_extender_protocol: inforeg-extender against three real inforegd (one stopped), a
# stand-in node answering POST /v1/score with a recorded body, with payloads shaped as
# kube-scheduler sends them (a Pod with two containers and a GPU request; Nodes full and
# NodeNames only; Go-style key casing). Checks filter and prioritize answers, failed
# reasons ("no fresh data" for the stopped node), the fallback formula against each
# node's own /v1/metrics at the sequence the extender read, profiles, and the error
# conventions (200 + Error for filter, 400/405/404 elsewhere).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/extender/lib.sh"
[ -x "$IREXT" ] || ir_fail "no $IREXT (make all)"
[ -x "$IRFAKE" ] || ir_fail "no $IRFAKE (make tests)"
command -v taskset >/dev/null || ir_skip "taskset not installed"

# three nodes; a busy loop pinned to CPU 0 loads them (they share this host's /proc)
taskset -c 0 sh -c 'while :; do :; done' &
IR_PIDS+=("$!")
urls=() pids=()
for n in a b c; do
	ir_start_daemon --no-ebpf
	urls+=("$IR_URL") pids+=("$IR_PID")
done
cat >"$IR_TMP/bodies" <<'B'
{"seq":4242,"rule":"default","scores":[{"score":0.9,"resources":{"cpu":{"free":2.25,"req":2.5,"perf":0.9},"mem":{"free":12000000000,"req":4831838208,"perf":1},"gpu":{"free":2,"req":1,"perf":1}}}]}
B
echo '{"error":{"code":400,"type":"bad_request","message":"unknown resource '"'"'gpu'"'"'"}}' >"$IR_TMP/bodies400"
ext_start_fakenodes 1 "$IR_TMP/bodies400" node-old- --score-status 400
refusing=$EXT_FAKE_NODES
ext_start_fakenodes 1 "$IR_TMP/bodies" node-gpu-
{
	echo "node-a ${urls[0]}"
	echo "node-b ${urls[1]}"
	echo "node-c ${urls[2]}"
	cat "$EXT_FAKE_NODES" "$refusing"
} >"$IR_TMP/nodes"
ext_start_extender --nodes "$IR_TMP/nodes" --deadline-ms 2000 --min-score 0.5

# node-c's daemon stops: it must come back as "no fresh data"
kill -TERM "${pids[2]}"
for _ in $(seq 50); do kill -0 "${pids[2]}" 2>/dev/null || break; sleep 0.1; done
kill -0 "${pids[2]}" 2>/dev/null && ir_fail "node-c's daemon did not stop"

export EXT_URL IREXT TOP=$INFOREG_TOP NODES=$IR_TMP/nodes A="${urls[0]}" B="${urls[1]}"
"$PY" - <<'PY' || IR_LOG=$EXT_LOG ir_fail "extender protocol checks failed"
import copy, json, math, os, subprocess, sys, urllib.request, urllib.error
E, TOP = os.environ["EXT_URL"], os.environ["TOP"]
NODE_URL = {"node-a": os.environ["A"], "node-b": os.environ["B"]}
bad = []
def fail(msg): bad.append(msg); print("FAIL:", msg)
def post(path, doc, raw=None):
    data = raw if raw is not None else json.dumps(doc).encode()
    req = urllib.request.Request(E + path, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")
def node_get(node, path):
    with urllib.request.urlopen(NODE_URL[node] + path, timeout=10) as r:
        return json.load(r)
def prio(score): return min(10, int(math.floor(score * 10 + 0.5)))

nodes_args = json.load(open(TOP + "/tests/extender/args_nodes.json"))
names_args = json.load(open(TOP + "/tests/extender/args_nodenames.json"))
gpu_item = copy.deepcopy(nodes_args["Nodes"]["items"][0]); gpu_item["metadata"]["name"] = "node-gpu-0"
nodes_args["Nodes"]["items"].append(gpu_item)
names_args["NodeNames"].append("node-gpu-0")

# 1. filter, Nodes full: only the GPU stand-in can give a GPU
st, r = post("/filter", nodes_args)
print("filter/Nodes:", json.dumps(r)[:600])
if st != 200: fail("filter status %d" % st)
items = (r.get("Nodes") or {}).get("items") or []
if [i["metadata"]["name"] for i in items] != ["node-gpu-0"]: fail("Nodes passed: %s" % [i["metadata"]["name"] for i in items])
if items and items[0] != gpu_item: fail("the passing Node object did not come back whole")
if r.get("NodeNames") is not None: fail("NodeNames should be null for a Nodes request")
fn = r.get("FailedNodes", {})
for n in ("node-a", "node-b"):
    why = fn.get(n, "")
    # "computed by the extender" only for a node without POST /v1/score (a real inforegd has it)
    if "gpu: 0 devices free of 1 devices requested" not in why:
        fail("%s reason: %r" % (n, why))
if not fn.get("node-c", "").startswith("no fresh data"): fail("node-c reason: %r" % fn.get("node-c"))
if r.get("Error") != "": fail("Error %r" % r.get("Error"))
if "FailedAndUnresolvableNodes" not in r: fail("no FailedAndUnresolvableNodes")

# 2. NodeNames only (nodeCacheCapable): the same verdict, in names
st, r = post("/filter", names_args)
if st != 200 or r.get("NodeNames") != ["node-gpu-0"] or r.get("Nodes") is not None:
    fail("filter/NodeNames: %s %s" % (st, r))
if set(r.get("FailedNodes", {})) != {"node-a", "node-b", "node-c"}: fail("FailedNodes %s" % r.get("FailedNodes"))

# 3. prioritize: the stand-in's recorded 0.9 -> 9; no GPU -> 0; stopped -> 0
st, r = post("/prioritize", names_args)
print("prioritize/GPU:", r)
if st != 200 or [h["Host"] for h in r] != names_args["NodeNames"]: fail("prioritize hosts %s" % r)
if {h["Host"]: h["Score"] for h in r} != {"node-a": 0, "node-b": 0, "node-c": 0, "node-gpu-0": 9}: fail("prioritize %s" % r)

# 4. a CPU-only pod, keys in odd casing as Go peers may send them: the formula from each
#    node's own metrics, at a sequence the node published during the call
cpu_args = copy.deepcopy(names_args)
for c in cpu_args["Pod"]["spec"]["containers"]:
    for k in ("requests", "limits"):
        c["resources"].get(k, {}).pop("nvidia.com/gpu", None)
cpu_args["Pod"]["metadata"]["annotations"]["inforeg.io/min-score"] = "0"
odd = {"pod": cpu_args["Pod"], "NODENAMES": cpu_args["NodeNames"], "nodes": None}
want = {"cpu": 2.5, "mem": 4831838208.0}
def latest_seq(n): return node_get(n, "/v1/metrics?match=cpu.free")["seq"]
def possible(n, s0, s1):
    """priority -> score for every sample the node published from s0 to s1"""
    out = {}
    hist = {}
    for name in ("cpu.free", "mem.available"):
        h = node_get(n, "/v1/metrics/%s/history?since=%d&limit=%d" % (name, s0, s1 - s0 + 1))
        hist[name] = {x["seq"]: x["value"] for x in h["samples"]}
    for seq, cf in hist["cpu.free"].items():
        mf = hist["mem.available"].get(seq)
        if cf is None or mf is None: continue
        sc = min(1 if cf >= want["cpu"] else max(cf, 0) / want["cpu"], 1 if mf >= want["mem"] else mf / want["mem"])
        out[prio(sc)] = sc
    return out
s0 = {n: latest_seq(n) for n in NODE_URL}
st, r = post("/prioritize", odd)
s1 = {n: latest_seq(n) for n in NODE_URL}
print("prioritize/CPU:", r)
got = {h["Host"]: h["Score"] for h in r} if st == 200 else {}
for n in NODE_URL:
    ok = possible(n, s0[n], s1[n])
    if got.get(n) not in ok: fail("%s priority %s not what its own metrics gave (%s) between seq %d and %d" % (n, got.get(n), ok, s0[n], s1[n]))
if got.get("node-c") != 0 or got.get("node-gpu-0") != 9: fail("prioritize/CPU others %s" % got)
st, r = post("/filter", odd)
if st != 200 or "node-gpu-0" not in (r.get("NodeNames") or []) or "node-c" not in r.get("FailedNodes", {}):
    fail("filter with min-score 0: %s" % r)

# 5. the decision table (score --json): exact values at the node's own sequence
pod_file = os.path.join(os.path.dirname(os.environ["NODES"]), "cpu_pod.json")
json.dump(cpu_args["Pod"], open(pod_file, "w"))
out = subprocess.run([os.environ["IREXT"], "score", pod_file, "--nodes", os.environ["NODES"], "--json",
                      "--deadline-ms", "2000", "--node", "node-a", "--node", "node-b", "--node", "node-c"],
                     capture_output=True, text=True, timeout=60)
if out.returncode != 0: fail("score --json exit %d: %s" % (out.returncode, out.stderr))
t = json.loads(out.stdout)
if t["requests"]["cpu"] != 2.5 or t["requests"]["mem"] != 4831838208 or t["requests"]["gpu"] != 0: fail("requests %s" % t["requests"])
rows = {x["node"]: x for x in t["nodes"]}
for n in NODE_URL:
    x = rows[n]
    # a real inforegd serves POST /v1/score (source "score"); one without it is read
    # through /v1/metrics and the formula applied here ("metrics"): same checks either way
    if x["state"] != "ok" or x["source"] not in ("metrics", "score") or x["seq"] <= 0: fail("%s row %s" % (n, x)); continue
    for name, res in (("cpu.free", "cpu"), ("mem.available", "mem")):
        h = node_get(n, "/v1/metrics/%s/history?since=%d&limit=1" % (name, x["seq"]))["samples"][0]
        if h["seq"] != x["seq"] or h["value"] != x["resources"][res]["free"]:
            fail("%s %s: table %s at seq %d, node says %s at seq %d" % (n, name, x["resources"][res]["free"], x["seq"], h["value"], h["seq"]))
    sc = min(x["resources"]["cpu"]["perf"], x["resources"]["mem"]["perf"])
    cf = x["resources"]["cpu"]["free"]
    if abs(x["resources"]["cpu"]["perf"] - (1 if cf >= 2.5 else max(cf, 0) / 2.5)) > 1e-12: fail("%s cpu perf" % n)
    if abs(x["score"] - sc) > 1e-12 or x["priority"] != prio(sc): fail("%s score %s prio %s, want %s" % (n, x["score"], x["priority"], sc))
if rows["node-c"]["state"] != "no_data" or not rows["node-c"]["reason"].startswith("no fresh data"): fail("node-c row %s" % rows["node-c"])
order = [x["node"] for x in sorted(t["nodes"], key=lambda x: -(x["score"] or -1))]
print("table order:", order, [(x["node"], x["score"]) for x in t["nodes"]])
if order[-1] != "node-c": fail("stopped node not last: %s" % order)
tab = subprocess.run([os.environ["IREXT"], "--dry-run", pod_file, "--nodes", os.environ["NODES"], "--deadline-ms", "2000"],
                     capture_output=True, text=True, timeout=60).stdout
print(tab)
real_sources = {rows[n]["source"] for n in NODE_URL if rows[n]["state"] == "ok"}
if "no fresh data" not in tab or ("metrics" in real_sources and ("metrics*" not in tab or "computed the paper's formula" not in tab)):
    fail("table text")

# 6. a profile the nodes do not publish
prof = copy.deepcopy(names_args); prof["Pod"]["metadata"]["annotations"]["inforeg.io/profile"] = "resnet50"
st, r = post("/filter", prof)
if "no profile 'resnet50'" not in r.get("FailedNodes", {}).get("node-a", ""): fail("profile: %s" % r)

# 7. a node that refuses the requirements: its own message, not a made-up score
r = post("/filter", dict(names_args, NodeNames=["node-old-0", "node-gpu-0"]))[1]
if r.get("FailedNodes", {}).get("node-old-0") != "POST /v1/score: HTTP 400: unknown resource 'gpu'" or r.get("NodeNames") != ["node-gpu-0"]:
    fail("refusing node: %s" % r)

# 8. conventions: filter cannot judge -> 200 + Error; prioritize unreadable -> 400
st, r = post("/filter", None, raw=b"{not json")
if st != 200 or not r.get("Error", "").startswith("body is not JSON") or r.get("FailedNodes") != {}: fail("filter garbage: %s %s" % (st, r))
badq = copy.deepcopy(names_args); badq["Pod"]["spec"]["containers"][0]["resources"]["requests"]["memory"] = "4 GiB"
st, r = post("/filter", badq)
if st != 200 or "bad quantity '4 GiB'" not in r.get("Error", "") or r.get("NodeNames") != []: fail("filter bad quantity: %s %s" % (st, r))
st, r = post("/prioritize", badq)
if st != 200 or {h["Score"] for h in r} != {0} or len(r) != 4: fail("prioritize bad pod: %s %s" % (st, r))
st, r = post("/prioritize", None, raw=b"[]")
if st != 400 or "Error" not in r: fail("prioritize garbage: %s %s" % (st, r))
st, r = post("/scheduler/filter", names_args)   # urlPrefix with a path
if st != 200 or r.get("NodeNames") != ["node-gpu-0"]: fail("prefixed path: %s" % st)
try:
    urllib.request.urlopen(E + "/filter", timeout=5); fail("GET /filter answered")
except urllib.error.HTTPError as e:
    if e.code != 405: fail("GET /filter -> %d" % e.code)
try:
    urllib.request.urlopen(E + "/nope", timeout=5); fail("GET /nope answered")
except urllib.error.HTTPError as e:
    if e.code != 404: fail("GET /nope -> %d" % e.code)
sys.exit(1 if bad else 0)
PY
grep -q "filter inference/llm-0: 4 nodes, 3 scored, 1 pass" "$EXT_LOG" || IR_LOG=$EXT_LOG ir_fail "no decision log line"
# the same over h2c with prior knowledge
code=$(curl -s --http2-prior-knowledge -o /dev/null -w '%{http_code} %{http_version}' -H 'Content-Type: application/json' \
	--data-binary @"$INFOREG_TOP/tests/extender/args_nodenames.json" "$EXT_URL/prioritize")
[ "$code" = "200 2" ] || ir_fail "h2c prioritize: $code"

# --node-pattern with {address}: the InternalIP in the Node objects kube-scheduler sends
fake_port=$(sed -n 's|^node-gpu-0 http://127.0.0.1:||p' "$EXT_FAKE_NODES")
ext_start_extender --node-pattern "http://{address}:$fake_port" --deadline-ms 2000
export EXT_URL
"$PY" - <<'PY' || IR_LOG=$EXT_LOG ir_fail "{address} pattern checks failed"
import json, os, sys, urllib.request
E, TOP = os.environ["EXT_URL"], os.environ["TOP"]
def post(path, doc):
    req = urllib.request.Request(E + path, data=json.dumps(doc).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)
args = json.load(open(TOP + "/tests/extender/args_nodes.json"))
for it in args["Nodes"]["items"]:
    it["status"]["addresses"] = [{"type": "Hostname", "address": it["metadata"]["name"]}, {"type": "InternalIP", "address": "127.0.0.1"}]
r = post("/prioritize", args)
if {h["Score"] for h in r} != {9}: print("FAIL: {address} prioritize", r); sys.exit(1)
names = json.load(open(TOP + "/tests/extender/args_nodenames.json"))
r = post("/filter", names)
if "wants {address}" not in r["FailedNodes"].get("node-a", ""): print("FAIL: NodeNames with {address}", r); sys.exit(1)
PY
echo "ok: filter, prioritize, table, profile, {address} pattern and error conventions"
