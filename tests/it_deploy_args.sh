#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_deploy_args: the Kubernetes manifests drive the real programs. inforegd runs with
# the DaemonSet's args and the ConfigMap's configuration (the node IP made 127.0.0.1,
# port 9470 a free port, a private shm name, the token mounted as kubelet mounts a
# Secret): /healthz answers 200 on the probe's path, the scrape annotation's path serves
# the Prometheus exposition, the token guards writes, and every raw series the recording
# rules (deploy/prometheus/inforeg-rules.yml) read is in it. Where inforeg-extender is
# built, it runs with the Deployment's args and answers kube-scheduler's filter and
# prioritize calls at the paths scheduler-config.yaml makes (urlPrefix + "/" + verb)
# for this daemon's node.
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || ir_skip "curl not installed"
/usr/bin/python3 -c 'import yaml' 2>/dev/null || ir_skip "python3-yaml not installed"
K=$INFOREG_TOP/deploy/kubernetes
PORT=$(ir_free_port)
EPORT=$(ir_free_port)
# the token as kubelet mounts a Secret: TOKEN -> ..data/token, ..data -> a dated directory
mkdir -p "$IR_TMP/secret/..2026_12_02_00_00_00.1" &&
	echo "tok-$RANDOM$RANDOM" >"$IR_TMP/secret/..2026_12_02_00_00_00.1/token" &&
	ln -s ..2026_12_02_00_00_00.1 "$IR_TMP/secret/..data" &&
	ln -s ..data/token "$IR_TMP/secret/token" || ir_fail "secret layout"
TOKEN=$(cat "$IR_TMP/secret/token")
# one line per program: its args after substitution, NUL-free, shell-quoted
/usr/bin/python3 - "$K" "$IR_TMP" "$PORT" "$EPORT" <<'PY' >"$IR_TMP/args.sh" || ir_fail "cannot read the manifests"
import shlex, sys, yaml
k, tmp, port, eport = sys.argv[1:]
docs = [d for f in ("inforegd-daemonset.yaml", "extender.yaml", "scheduler-config.yaml")
        for d in yaml.safe_load_all(open(f"{k}/{f}")) if d]
cm = next(d for d in docs if d["kind"] == "ConfigMap")
open(f"{tmp}/inforegd.conf", "w").write(cm["data"]["inforegd.conf"])
ds = next(d for d in docs if d["kind"] == "DaemonSet")
c = ds["spec"]["template"]["spec"]["containers"][0]
ann = ds["spec"]["template"]["metadata"]["annotations"]
args = []
for a in c["args"]:
    a = a.replace("$(NODE_IP)", "127.0.0.1").replace(":9470", ":" + port)
    a = a.replace("/etc/inforeg/inforegd.conf", f"{tmp}/inforegd.conf").replace("/etc/inforeg/token/token", f"{tmp}/secret/token")
    args.append(a)
assert ann["prometheus.io/port"] == "9470", ann
print("DAEMON_ARGS=(" + " ".join(shlex.quote(a) for a in args) + ")")
print("PROBE_PATH=" + shlex.quote(c["readinessProbe"]["httpGet"]["path"]))
print("SCRAPE_PATH=" + shlex.quote(ann["prometheus.io/path"]))
dep = next(d for d in docs if d["kind"] == "Deployment")
e = dep["spec"]["template"]["spec"]["containers"][0]
eargs = [a.replace("0.0.0.0:9471", "127.0.0.1:" + eport).replace(":9470", ":" + port) for a in e["args"]]
print("EXT_ARGS=(" + " ".join(shlex.quote(a) for a in eargs) + ")")
print("EXT_PROBE=" + shlex.quote(e["readinessProbe"]["httpGet"]["path"]))
sc = next(d for d in docs if d["kind"] == "KubeSchedulerConfiguration")["extenders"][0]
print("FILTER_VERB=" + shlex.quote(sc["filterVerb"]), "PRIORITIZE_VERB=" + shlex.quote(sc["prioritizeVerb"]))
print("NODE_CACHE=" + ("1" if sc["nodeCacheCapable"] else "0"))
PY
# shellcheck disable=SC1091
. "$IR_TMP/args.sh"
echo "inforegd ${DAEMON_ARGS[*]}"
# the DaemonSet's args choose --listen themselves; ir_start_daemon adds only --shm
ir_start_daemon "${DAEMON_ARGS[@]}"
URL=http://127.0.0.1:$PORT
code=
for _ in $(seq 50); do
	code=$(curl -s -o /dev/null -w '%{http_code}' "$URL$PROBE_PATH") && [ "$code" = 200 ] && break
	sleep 0.1
done
[ "$code" = 200 ] || ir_fail "readiness $PROBE_PATH: $code"
curl -sf "$URL$SCRAPE_PATH" >"$IR_TMP/metrics" || ir_fail "scrape path $SCRAPE_PATH"
# the Secret's token guards writes: without it 401, with it accepted (201; 503 when eBPF is off)
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -d '{"comm":"no-such-comm"}' "$URL/v1/watch/deploy")
[ "$code" = 401 ] || ir_fail "PUT /v1/watch without the token: $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H "Authorization: Bearer $TOKEN" \
	-d '{"comm":"no-such-comm"}' "$URL/v1/watch/deploy")
case $code in 201 | 503) ;; *) ir_fail "PUT /v1/watch with the Secret's token: $code" ;; esac
/usr/bin/python3 - "$INFOREG_TOP/deploy/prometheus/inforeg-rules.yml" "$IR_TMP/metrics" <<'PY' || ir_fail "the rules read series /metrics does not export"
import re, sys, yaml
rules = yaml.safe_load(open(sys.argv[1]))
have = {l.split("{")[0].split()[0] for l in open(sys.argv[2]) if l and not l.startswith("#")}
want = set()
for g in rules["groups"]:
    for r in g["rules"]:
        want |= set(re.findall(r"\b(inforeg_[a-z0-9_]+)", r["expr"]))
missing = sorted(want - have)
print("the rules read:", ", ".join(sorted(want)))
if missing:
    sys.exit("not in /metrics: " + ", ".join(missing))
PY

EXT=$INFOREG_BUILD/bin/inforeg-extender
if [ ! -x "$EXT" ]; then
	echo "note: $EXT not built in this tree (extender/ comes from branch cluster): its args not run"
	echo "ok: inforegd runs with the DaemonSet's args; the rules' inputs are exported"
	exit 0
fi
echo "inforeg-extender ${EXT_ARGS[*]}"
"$EXT" "${EXT_ARGS[@]}" >"$IR_TMP/extender.log" 2>&1 &
IR_PIDS+=("$!")
IR_LOG=$IR_TMP/extender.log
EURL=http://127.0.0.1:$EPORT
for _ in $(seq 50); do
	code=$(curl -s -o /dev/null -w '%{http_code}' "$EURL$EXT_PROBE") && [ "$code" = 200 ] && break
	sleep 0.1
done
[ "$code" = 200 ] || ir_fail "extender readiness $EXT_PROBE: $code"
# kube-scheduler's body with nodeCacheCapable: the pod and node names only; the node
# name is this daemon's address, which --node-pattern http://{node}:PORT turns into its URL
[ "$NODE_CACHE" = 1 ] || ir_fail "the scheduler configuration should be nodeCacheCapable"
body='{"Pod":{"metadata":{"name":"p","namespace":"default"},"spec":{"containers":[{"name":"c","resources":{"requests":{"cpu":"100m","memory":"64Mi"}}}]}},"NodeNames":["127.0.0.1"]}'
f=$(curl -s -X POST -H 'Content-Type: application/json' -d "$body" "$EURL/$FILTER_VERB") || ir_fail "POST /$FILTER_VERB"
p=$(curl -s -X POST -H 'Content-Type: application/json' -d "$body" "$EURL/$PRIORITIZE_VERB") || ir_fail "POST /$PRIORITIZE_VERB"
echo "filter: $f"
echo "prioritize: $p"
/usr/bin/python3 - "$f" "$p" <<'PY' || ir_fail "the extender's answers are not what kube-scheduler expects"
import json, sys
f, p = json.loads(sys.argv[1]), json.loads(sys.argv[2])
# ExtenderFilterResult: the node either passes or is failed with a reason, no Error
assert not f.get("Error"), f
passed = f.get("NodeNames") or []
failed = f.get("FailedNodes") or {}
assert passed == ["127.0.0.1"] or "127.0.0.1" in failed, f
assert "no fresh data" not in json.dumps(failed), f"the node was not reached: {f}"
# HostPriorityList: one entry for the node, 0..10
assert isinstance(p, list) and len(p) == 1 and p[0]["Host"] == "127.0.0.1" and 0 <= p[0]["Score"] <= 10, p
PY
echo "ok: inforegd and inforeg-extender run with the manifests' args; the scheduler's verbs answer"
