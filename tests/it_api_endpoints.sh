#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_api_endpoints: every read endpoint returns what the ring holds - /v1/metrics has
# every series of the directory with value/unit/ts/seq and filters with ?match=;
# /v1/metrics/{name} (labels URL-encoded) agrees with the inforeg CLI at full double
# precision; history walks the ring by seq and by time; histograms have cumulative
# buckets ending in +Inf == count; node, status and healthz carry their fields.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || ir_skip "python3 not installed"
ir_start_daemon
export U=$IR_URL IRCLI IR_SHM
python3 - <<'PY' || ir_fail "endpoint checks failed"
import json, os, subprocess, sys, time, urllib.request, urllib.parse, math
U = os.environ["U"]
def get(path):
    with urllib.request.urlopen(U + path, timeout=5) as r:
        assert r.headers["content-type"].startswith("application/json"), r.headers["content-type"]
        return json.load(r)
def fail(msg):
    print("FAIL:", msg); sys.exit(1)

m = get("/v1/metrics")
names = [s["name"] for s in m["series"]]
if len(names) < 10 or "cpu.usage" not in names: fail("too few series: %d" % len(names))
for s in m["series"]:
    for k in ("name", "value", "unit", "ts", "seq", "kind"):
        if k not in s: fail("series %s lacks %s" % (s.get("name"), k))
    if s["seq"] != m["seq"]: fail("series seq differs from sample seq")
if abs(m["ts"] - time.time()) > 5: fail("ts %s is not now" % m["ts"])
f = get("/v1/metrics?match=" + urllib.parse.quote("cpu.*,mem.avail*"))
fn = [s["name"] for s in f["series"]]
if not fn or any(not (n.startswith("cpu.") or n.startswith("mem.avail")) for n in fn): fail("match filter: %s" % fn[:5])
if len(fn) != len([n for n in names if n.startswith("cpu.") or n.startswith("mem.avail")]): fail("match filter lost series")

# one series with labels; the same number as the CLI reads from the ring (a gauge that moves slowly)
lab = next(n for n in names if n.startswith("cpu.usage{"))
one = get("/v1/metrics/" + urllib.parse.quote(lab, safe=""))
if one["name"] != lab or not isinstance(one["seq"], int): fail("labelled series: %s" % one)
tot = get("/v1/metrics/mem.total")
cli = subprocess.run([os.environ["IRCLI"], "get", "--shm", os.environ["IR_SHM"], "mem.total"], capture_output=True, text=True).stdout
if str(int(tot["value"])) not in cli.replace(",", ""): fail("mem.total %r vs CLI %r" % (tot["value"], cli))
# full precision: the JSON text reads back as the exact double (no %g truncation)
raw = urllib.request.urlopen(U + "/v1/metrics?match=cpu.free", timeout=5).read().decode()
v = json.loads(raw)["series"][0]["value"]
txt = raw.split('"value":')[1].split(",")[0]
if v is not None and float(txt) != v: fail("precision: %s" % txt)

# history by seq and by time
time.sleep(0.5)
h = get("/v1/metrics/cpu.usage/history?limit=3")
if len(h["samples"]) != 3: fail("history limit: %s" % h)
seqs = [s["seq"] for s in h["samples"]]
if seqs != sorted(seqs) or len(set(seqs)) != 3: fail("history order %s" % seqs)
# without since, limit=N gives the newest N: after them, nothing older than the head
ho = get("/v1/metrics/cpu.usage/history?since=0&limit=3")
if ho["samples"][0]["seq"] >= seqs[0]: fail("limit=3 gave the oldest samples %s, not the newest" % seqs)
if h["next_seq"] != seqs[-1] + 1: fail("limit=3: next_seq %d after %s" % (h["next_seq"], seqs))
time.sleep(0.3)
h2 = get("/v1/metrics/cpu.usage/history?since=%d&limit=2" % h["next_seq"])
if h2["samples"][0]["seq"] != h["next_seq"]: fail("since=next_seq did not continue")
h3 = get("/v1/metrics/cpu.usage/history?since=%d&limit=2" % ho["next_seq"])
if [s["seq"] for s in h3["samples"]] != [ho["next_seq"], ho["next_seq"] + 1]: fail("since pages forward: %s" % h3)
ht = get("/v1/metrics/cpu.usage/history?since=-300ms&limit=100")
if not (1 <= len(ht["samples"]) <= 5): fail("since=-300ms gave %d samples" % len(ht["samples"]))
if ht["samples"][0]["ts"] < time.time() - 1.5: fail("since=-300ms started too early")
ha = get("/v1/metrics/cpu.usage/history?since=@%.3f&limit=100" % (time.time() - 0.35))
if not (1 <= len(ha["samples"]) <= 6): fail("since=@T gave %d samples" % len(ha["samples"]))

# histograms
hl = get("/v1/histograms")["histograms"]
if hl:
    for name in hl:
        d = get("/v1/histograms/" + urllib.parse.quote(name, safe=""))
        for hh in d["histograms"]:
            b = hh["buckets"]
            if not b or b[-1]["le"] != "+Inf": fail("%s: no +Inf bucket" % name)
            counts = [x["count"] for x in b]
            if counts != sorted(counts): fail("%s: buckets not cumulative" % name)
            if hh["count"] is not None and b[-1]["count"] != hh["count"]:
                # bucket and count come from one sample: they must agree
                fail("%s: +Inf %s != count %s" % (name, b[-1]["count"], hh["count"]))
else:
    print("note: no histograms published (eBPF off?)")

n = get("/v1/node")
for k in ("hostname", "kernel", "inforeg_version", "generation", "start_time"):
    if k not in n: fail("node lacks %s" % k)
if n["generation"] != m["generation"]: fail("node generation != sample generation")
st = get("/v1/status")
for k in ("api", "reader"):
    if k not in st: fail("status lacks %s" % k)
if st["api"]["clients_connected"] < 1 or st["api"]["requests"] < 10: fail("status api counters: %s" % st["api"])
if st["reader"]["capacity"] < 1 or "dropped" not in st["reader"]: fail("status reader: %s" % st["reader"])
if "collectors" not in st: fail("status lacks the daemon's collectors")
hz = get("/healthz")
if hz["status"] != "ok" or hz["age_periods"] > 5: fail("healthz %s" % hz)
print("ok")
PY
