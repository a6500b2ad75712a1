#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_prometheus_rules: deploy/prometheus/ - promtool checks the rule file and the
# example configuration and runs the rules' unit tests (inforeg-rules.test.yml); then a
# real Prometheus (loopback, temporary storage) scrapes three inforegd daemons every
# second and evaluates the recording rules. Checked through its HTTP API: all three
# targets up; for each instance every per-node rule holds on the raw samples Prometheus
# had at that evaluation (the recorded value equals the formula over one of the raw
# samples of the last scrape interval - a scrape may land between evaluations); the
# daemon started with `disable = mem` gets CPU ratios but no score; the cluster rules
# exist.
. "$(dirname "$0")/lib.sh"
command -v prometheus >/dev/null || ir_skip "prometheus not installed"
command -v promtool >/dev/null || ir_skip "promtool not installed"
P=$INFOREG_TOP/deploy/prometheus
promtool check rules "$P/inforeg-rules.yml" || ir_fail "promtool check rules"
(cd "$P" && promtool test rules inforeg-rules.test.yml) || ir_fail "promtool test rules"
(cd "$P" && promtool check config prometheus.yml) || ir_fail "promtool check config prometheus.yml"
# the Kubernetes example: Debian builds promtool without Kubernetes SD; check it where the
# tool knows it, and say so where it does not
printf 'scrape_configs:\n  - job_name: x\n    kubernetes_sd_configs:\n      - role: pod\n' >"$IR_TMP/k8s-probe.yml"
if promtool check config "$IR_TMP/k8s-probe.yml" >/dev/null 2>&1; then
	(cd "$P" && promtool check config prometheus-kubernetes.yml) || ir_fail "promtool check config prometheus-kubernetes.yml"
else
	echo "note: this promtool has no kubernetes_sd_configs; prometheus-kubernetes.yml checked as YAML + relabel regexes only"
	/usr/bin/python3 - "$P/prometheus-kubernetes.yml" <<'PY' || ir_fail "prometheus-kubernetes.yml"
import re, sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
assert c["rule_files"] == ["inforeg-rules.yml"], c["rule_files"]
job = c["scrape_configs"][0]
assert job["kubernetes_sd_configs"][0]["role"] == "pod"
for r in job["relabel_configs"]:
    re.compile(r.get("regex", "(.*)"))
    for l in r["source_labels"]:
        assert re.match(r"^__meta_kubernetes_pod_(annotation_prometheus_io_(scrape|path|port)|node_name)$|^__address__$", l), l
PY
fi

# three daemons; the third without the memory collector
ports=()
for i in 1 2 3; do
	if [ "$i" = 3 ]; then
		printf 'disable = mem\n' >"$IR_TMP/nomem.conf"
		ir_start_daemon --no-ebpf --config "$IR_TMP/nomem.conf"
	else
		ir_start_daemon --no-ebpf
	fi
	ports+=("$IR_PORT")
done
NOMEM=127.0.0.1:${ports[2]}
PPORT=$(ir_free_port)
cat >"$IR_TMP/prometheus.yml" <<EOF2
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $P/inforeg-rules.yml
scrape_configs:
  - job_name: inforeg
    static_configs:
      - targets: ["127.0.0.1:${ports[0]}", "127.0.0.1:${ports[1]}", "127.0.0.1:${ports[2]}"]
EOF2
promtool check config "$IR_TMP/prometheus.yml" >/dev/null || ir_fail "the test's own config"
prometheus --config.file="$IR_TMP/prometheus.yml" --storage.tsdb.path="$IR_TMP/tsdb" \
	--web.listen-address="127.0.0.1:$PPORT" --log.level=warn >"$IR_TMP/prometheus.log" 2>&1 &
IR_PIDS+=("$!")
IR_LOG=$IR_TMP/prometheus.log
/usr/bin/python3 - "http://127.0.0.1:$PPORT" "$NOMEM" <<'PY' || ir_fail "recording rules (Prometheus log above)"
import json, sys, time, urllib.parse, urllib.request
base, nomem = sys.argv[1], sys.argv[2]

def q(expr, t=None):
    args = {"query": expr}
    if t is not None:
        args["time"] = repr(t)
    with urllib.request.urlopen(base + "/api/v1/query?" + urllib.parse.urlencode(args), timeout=10) as r:
        d = json.load(r)
    assert d["status"] == "success", d
    return d["data"]["result"]

def by_inst(res):
    return {x["metric"]["instance"]: x for x in res}

deadline = time.monotonic() + 120
while True:
    try:
        up = q('up{job="inforeg"} == 1')
        scores = q("inforeg:node_score:ref")
        # every rule evaluated on every target it applies to (a loaded machine scrapes
        # and evaluates the three targets at different moments)
        if (len(up) == 3 and len(scores) == 2 and len(q("inforeg:cpu_free:ratio")) == 3
                and q("inforeg:cpu_free_cores:sum") and q("inforeg:node_score_ref:avg5m")):
            break
    except OSError:
        pass
    if time.monotonic() > deadline:
        sys.exit("rules not evaluated on three targets within 120 s")
    time.sleep(0.5)
print("targets up:", sorted(x["metric"]["instance"] for x in up))
bad = []

def check(rule, inputs, formula):
    """For each instance with RULE: at its evaluation time, some combination of the raw
    INPUTS samples of the last 3 s gives the recorded value through FORMULA."""
    rec = by_inst(q(f"{rule}"))
    ts = by_inst(q(f"timestamp({rule})"))
    for inst, r in rec.items():
        t = float(ts[inst]["value"][1])
        val = float(r["value"][1])
        wins = []
        for name in inputs:
            w = q(f'{name}{{instance="{inst}"}}[3s]', t)
            wins.append([float(v) for _, v in w[0]["values"]] if w else [])
        cands = [[]]
        for w in wins:
            cands = [c + [x] for c in cands for x in w]
        if not any(abs(formula(*c) - val) <= 1e-9 * max(1, abs(val)) for c in cands):
            bad.append(f"{rule}{{instance={inst}}} = {val} at {t}: no raw samples {dict(zip(inputs, wins))} give it")
    return rec

GiB = 1073741824
cpu = check("inforeg:cpu_free:ratio", ["inforeg_cpu_free_cores", "inforeg_cpu_count_cpus"], lambda f, n: f / n)
check("inforeg:mem_available:ratio", ["inforeg_mem_available_bytes", "inforeg_mem_total_bytes"], lambda a, t: a / t)
check("inforeg:cpu_perf:ref_1core", ["inforeg_cpu_free_cores"], lambda f: min(f, 1))
check("inforeg:mem_perf:ref_1gib", ["inforeg_mem_available_bytes"], lambda a: min(a / GiB, 1))
score = check("inforeg:node_score:ref", ["inforeg_cpu_free_cores", "inforeg_mem_available_bytes"],
              lambda f, a: min(min(f, 1), min(a / GiB, 1)))
prio = by_inst(q("inforeg:node_priority:ref"))
for inst, r in prio.items():
    v = float(r["value"][1])
    if v != int(v) or not 0 <= v <= 10:
        bad.append(f"priority {inst} = {v}")
if set(cpu) != set(x["metric"]["instance"] for x in up):
    bad.append(f"cpu ratio instances {sorted(cpu)}")
if nomem in score or len(score) != 2:
    bad.append(f"scores {sorted(score)}: the daemon without memory series ({nomem}) must have none, the others one")
for inst, r in score.items():
    if not 0 <= float(r["value"][1]) <= 1:
        bad.append(f"score {inst} out of [0,1]")
s = q("inforeg:cpu_free_cores:sum")
n = q("inforeg:nodes_scorable:count")
if len(s) != 1 or s[0]["metric"].get("job") != "inforeg" or float(s[0]["value"][1]) < 0:
    bad.append(f"cpu_free_cores:sum {s}")
if n and not 0 <= float(n[0]["value"][1]) <= 2:
    bad.append(f"nodes_scorable:count {n}")
print("scores:", {k: v["value"][1] for k, v in score.items()}, "priorities:", {k: v["value"][1] for k, v in prio.items()})
for b in bad:
    print("BAD:", b)
sys.exit(1 if bad else 0)
PY
echo "ok: promtool checks, rule unit tests, and the rules evaluated by Prometheus on three daemons"
