#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_api_promtool: GET /metrics is Prometheus text 0.0.4 that `promtool check metrics`
# accepts without a single remark; every family is named by the documented rule
# (inforeg_ prefix, HELP naming the inforeg series), histograms are real histogram
# families, µs values are converted to seconds.
. "$(dirname "$0")/lib.sh"
for t in promtool curl python3; do command -v $t >/dev/null || ir_skip "$t not installed"; done
ir_start_daemon
sleep 0.3
curl -s -D "$IR_TMP/h" "$IR_URL/metrics" >"$IR_TMP/m" || ir_fail "GET /metrics"
grep -qi '^content-type: text/plain; version=0.0.4' "$IR_TMP/h" || ir_fail "content type: $(grep -i content-type "$IR_TMP/h")"
out=$(promtool check metrics <"$IR_TMP/m" 2>&1); rc=$?
[ $rc -eq 0 ] && [ -z "$out" ] || ir_fail "promtool check metrics (rc $rc): $out"
python3 - "$IR_TMP/m" "$IR_URL" <<'PY' || ir_fail "exposition content"
import json, re, sys, urllib.request
text = open(sys.argv[1]).read()
types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
helps = dict(re.findall(r"^# HELP (\S+) (.*)$", text, re.M))
if not types or set(types) != set(helps): sys.exit("HELP/TYPE mismatch")
for n in types:
    if not n.startswith("inforeg_"): sys.exit("no prefix: " + n)
    if "(inforeg " not in helps[n]: sys.exit("HELP does not name the series: " + n)
if types.get("inforeg_cpu_usage_percent") != "gauge": sys.exit("cpu.usage -> inforeg_cpu_usage_percent gauge missing")
series = json.load(urllib.request.urlopen(sys.argv[2] + "/v1/metrics"))["series"]
# every directory series appears (histogram parts inside their family)
samples = [l for l in text.splitlines() if l and not l.startswith("#")]
if len(samples) != len(series): sys.exit("%d sample lines for %d series" % (len(samples), len(series)))
hist = [n for n, t in types.items() if t == "histogram"]
if any(s["name"].startswith("sched.runq_latency.bucket") for s in series):
    if "inforeg_sched_runq_latency_seconds" not in hist: sys.exit("run-queue histogram family missing: %s" % hist)
    if not re.search(r'^inforeg_sched_runq_latency_seconds_bucket\{le="1e-06"\} ', text, re.M): sys.exit("le not in seconds")
    if not re.search(r'^inforeg_sched_runq_latency_seconds_bucket\{le="\+Inf"\} ', text, re.M): sys.exit("no +Inf bucket")
    # the p50 gauge in seconds is the µs value / 1e6 (same order of magnitude check: one sample apart)
    p = [float(l.split()[-1]) for l in samples if l.startswith("inforeg_sched_runq_latency_p50_seconds")]
    if p and p[0] > 1.0: sys.exit("p50 not converted to seconds: %s" % p[0])
print("families", len(types), "histograms", hist)
PY
echo ok
