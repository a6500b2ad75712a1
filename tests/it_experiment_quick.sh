#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_experiment_quick: the scheduling experiment's quick form (bench/experiment.py,
# what `make experiment QUICK=1` runs) against real daemons in real cgroups: every
# policy placed every task, tasks reported their frame rate, every node's CPU was
# sampled, the table and the three plots were written (PNG). Nothing here depends on
# how fast the machine is: the figures themselves are the experiment's, not a test's.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || ir_skip "the experiment makes cgroups: needs root"
command -v gnuplot >/dev/null || ir_fail "gnuplot is not installed (scripts/debian-packages.txt has gnuplot-nox)"
out=$IR_TMP/results
QUICK=1 timeout 170 /usr/bin/python3 "$INFOREG_TOP/bench/experiment.py" --build "$INFOREG_BUILD" --out "$out" ||
	ir_fail "the quick experiment failed"
/usr/bin/python3 - "$out" <<'PY' || ir_fail "experiment results"
import csv, json, os, sys
out = sys.argv[1]
d = json.load(open(os.path.join(out, "experiment.json")))
res, n = d["results"], d["tasks"]
assert set(res) == {"round-robin", "random", "least-usage", "inforeg-score"}, list(res)
for p, r in res.items():
    assert r["placed"] == n and len(r["placement"]) == n, (p, r)
    assert all(0 <= k < len(d["caps"]) for k in r["placement"]), (p, r["placement"])
    assert r["p50_ms"] >= 0 and r["p99_ms"] >= r["p50_ms"], (p, r)
rows = list(csv.DictReader(open(os.path.join(out, "experiment_fps.csv"))))
for p in res:
    # a task starved by a loaded machine may not finish a frame before its end: the
    # placement is the experiment's, the frame rate the machine's
    tasks = {r["task"] for r in rows if r["policy"] == p}
    assert tasks, (p, "no task reported its frame rate")
cpu = list(csv.DictReader(open(os.path.join(out, "experiment_node_cpu.csv"))))
for p in res:
    nodes = {r["node"] for r in cpu if r["policy"] == p and r["cpu_used_cores"] not in ("None", "")}
    assert len(nodes) == len(d["caps"]), (p, "nodes sampled:", nodes)
for f in ("experiment_fps.png", "experiment_node_cpu.png", "experiment_met_target.png"):
    b = open(os.path.join(out, f), "rb").read(8)
    assert b == b"\x89PNG\r\n\x1a\n", f
assert "| inforeg-score |" in open(os.path.join(out, "experiment.md")).read()
print("ok:", {p: "%d/%d met" % (r["met"], r["placed"]) for p, r in res.items()}, "score from:", d["score_source"])
PY
tag=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["cgroup"])' "$out/experiment.json")
for d in /sys/fs/cgroup/cpu/$tag /sys/fs/cgroup/memory/$tag /sys/fs/cgroup/$tag; do
	[ -e "$d" ] && ir_fail "the experiment left its cgroup $d behind"
done
echo "ok: quick experiment: every policy placed every task, plots written"
