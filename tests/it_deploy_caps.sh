#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_deploy_caps: the capabilities the Kubernetes DaemonSet grants inforegd
# (deploy/kubernetes/inforegd-daemonset.yaml, read from the manifest) are enough for
# every eBPF collector: inforegd runs as uid 0 with only those in its bounding set and
# no_new_privs (allowPrivilegeEscalation: false), as the container would, and its status
# says all eBPF collectors are on. Each of BPF and PERFMON is needed: without either,
# none comes up (so the manifest's set is not merely sufficient by accident).
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || ir_skip "needs root to set a bounding set"
command -v setpriv >/dev/null || ir_fail "setpriv (util-linux) missing"
/usr/bin/python3 -c 'import yaml' 2>/dev/null || ir_skip "python3-yaml not installed"
caps=$(/usr/bin/python3 - "$INFOREG_TOP/deploy/kubernetes/inforegd-daemonset.yaml" <<'PY'
import sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d and d.get("kind") == "DaemonSet":
        sc = d["spec"]["template"]["spec"]["containers"][0]["securityContext"]
        assert sc["capabilities"]["drop"] == ["ALL"] and not sc.get("privileged")
        print(" ".join(sc["capabilities"]["add"]))
PY
) || ir_fail "cannot read the DaemonSet's capabilities"
echo "DaemonSet capabilities: $caps"

ebpf_on() { # label caps...: prints "ON TOTAL" of eBPF collectors for a daemon with those caps
	local label=$1 set=-all c; shift
	for c in "$@"; do set="$set,+$(echo "$c" | tr 'A-Z' 'a-z')"; done
	IR_SHM=irt-$$-$RANDOM IR_PORT=$(ir_free_port)
	IR_LOG=$IR_TMP/inforegd.$label.log
	setpriv --bounding-set "$set" --inh-caps -all --no-new-privs \
		"$IRD" --shm "$IR_SHM" --listen "127.0.0.1:$IR_PORT" >"$IR_LOG" 2>&1 &
	IR_PID=$!
	IR_PIDS+=("$IR_PID")
	ir_wait_ready "$IR_SHM" "$IR_PID" || ir_fail "$label: inforegd did not start"
	local st=
	for _ in $(seq 50); do
		st=$(curl -s "http://127.0.0.1:$IR_PORT/v1/status" | /usr/bin/python3 -c \
			'import json,sys; e=json.load(sys.stdin)["ebpf"]; print(e["collectors_on"], e["collectors_total"])' 2>/dev/null) && break
		sleep 0.1
	done
	kill -TERM "$IR_PID"; wait "$IR_PID" 2>/dev/null
	rm -f "/dev/shm/$IR_SHM" "/dev/shm/$IR_SHM.lock"
	echo "$st"
}
# shellcheck disable=SC2086
read -r on total <<<"$(ebpf_on root $(setpriv --list-caps | tr 'a-z' 'A-Z'))"
[ -n "${total:-}" ] && [ "$total" -gt 0 ] || ir_fail "no eBPF status from a full-root daemon"
[ "$on" = "$total" ] || ir_skip "eBPF collectors do not all start even as full root here ($on of $total)"
# shellcheck disable=SC2086
read -r on total <<<"$(ebpf_on manifest $caps)"
[ "$on" = "$total" ] || ir_fail "with the DaemonSet's capabilities ($caps) only $on of $total eBPF collectors start: $(grep -i ebpf "$IR_LOG" | head -3)"
for drop in BPF PERFMON; do
	rest=$(for c in $caps; do [ "$c" = "$drop" ] || echo "$c"; done)
	# shellcheck disable=SC2086
	read -r on total <<<"$(ebpf_on "no-$drop" $rest)"
	[ "$on" = 0 ] || ir_fail "without $drop, $on eBPF collectors still started: is $drop needed?"
done
echo "ok: the DaemonSet's capabilities ($caps) start all $total eBPF collectors; without BPF or PERFMON none"
