#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# timeout: 600
# it_bench_quick: `make bench QUICK=1`'s harness (bench/harness.py --quick) into a
# private directory: it must end with exit 0 (every bench ran), and every bench it ran
# must have printed well-formed @result lines, got a plot, and appear in latest.md and
# latest.json; the experiment's own plots are there too. No figure is checked: they are
# the machine's, and a loaded machine changes them, never the outcome.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || ir_skip "the experiment and the eBPF bench need root"
command -v gnuplot >/dev/null || ir_fail "gnuplot is not installed (scripts/debian-packages.txt has gnuplot-nox)"
for b in read_latency freshness series_scaling tick_floor extender_bench; do
	[ -x "$INFOREG_BUILD/bench/$b" ] || ir_skip "$INFOREG_BUILD/bench/$b is not built (make benches)"
done
out=$IR_TMP/results
QUICK=1 /usr/bin/python3 "$INFOREG_TOP/bench/harness.py" --build "$INFOREG_BUILD" --quick --out "$out" \
	>"$IR_TMP/harness.log" 2>&1
rc=$?
grep -E '^\[[0-9]+/[0-9]+\]|^harness:' "$IR_TMP/harness.log"
[ $rc = 0 ] || { tail -n 40 "$IR_TMP/harness.log"; ir_fail "the quick harness failed (exit $rc)"; }
/usr/bin/python3 - "$out" "$INFOREG_TOP" <<'PY' || ir_fail "harness results"
import json, os, sys
out, top = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(top, "bench"))
import harness
run = json.load(open(os.path.join(out, "latest.json")))
md = open(os.path.join(out, "latest.md")).read()
assert run["quick"] is True
expect = [b[0] for b in harness.discover(os.path.join(top, "bench"), open(os.path.join(top, "bench/benches.conf")).read())]
got = [b["name"] for b in run["benches"]]
assert got == expect, (got, expect)
png = b"\x89PNG\r\n\x1a\n"
for b in run["benches"]:
    n = b["name"]
    assert b["status"] == "ok", (n, b["status"], b["errors"])
    assert b["results"], (n, "no @result lines")
    assert not b["errors"], (n, b["errors"])
    assert "## %s\n" % n in md, n
    for r in b["results"]:
        assert r["min"] <= r["median"] <= r["max"], (n, r)
        assert "| %s |" % r["metric"] in md, (n, r["metric"])
    assert n + ".png" in b["plots"], (n, b["plots"])
    for p in b["plots"]:
        assert open(os.path.join(out, p), "rb").read(8) == png, p
        assert "](%s)" % p in md, p
exp = [b for b in run["benches"] if b["name"] == "experiment"][0]
for p in ("experiment_fps.png", "experiment_node_cpu.png", "experiment_met_target.png"):
    assert p in exp["plots"], (p, exp["plots"])
print("ok: %d benches, %d results" % (len(got), sum(len(b["results"]) for b in run["benches"])))
PY
echo "ok: the quick harness ran every bench and wrote latest.md, latest.json and the plots"
