#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_ebpf_unpriv - without privilege the daemon starts anyway: it serves the /proc
# metrics, publishes none of the eBPF series, and its status document and log say
# which eBPF collectors are off and why. Checked twice: as nobody (setpriv), and as
# root with every capability dropped from the bounding set (so uid 0 alone is not
# enough: bpf() needs CAP_BPF/CAP_SYS_ADMIN). Also checks --no-ebpf as root.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || ir_skip "needs root to switch to nobody and drop capabilities"
command -v setpriv >/dev/null || ir_fail "setpriv (util-linux) missing"
[ -x "$IRD" ] || ir_fail "no daemon at $IRD"

# Like ir_start_daemon, with a command prefix (setpriv ...) in front of inforegd.
start_as() { # label prefix-words... -- daemon-args...
	local label=$1; shift
	local pre=()
	while [ "$1" != "--" ]; do pre+=("$1"); shift; done
	shift
	IR_SHM=irt-$$-$RANDOM
	IR_PORT=$(ir_free_port)
	IR_LOG=$IR_TMP/inforegd.$label.log
	"${pre[@]}" "$IRD" --shm "$IR_SHM" --listen "127.0.0.1:$IR_PORT" "$@" >"$IR_LOG" 2>&1 &
	IR_PID=$!
	IR_PIDS+=("$IR_PID")
	ir_wait_ready "$IR_SHM" "$IR_PID" || ir_fail "$label: inforegd did not start (shm $IR_SHM)"
}

stop_it() {
	kill -TERM "$IR_PID" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$IR_PID" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$IR_PID" 2>/dev/null && ir_fail "inforegd did not exit on SIGTERM"
	rm -f "/dev/shm/$IR_SHM" "/dev/shm/$IR_SHM.lock"
}

check_off() { # label reason-regex
	local label=$1 want=$2 status list
	"$IRCLI" get --shm "$IR_SHM" cpu.usage >/dev/null || ir_fail "$label: cpu.usage not served"
	list=$("$IRCLI" list --shm "$IR_SHM") || ir_fail "$label: list failed"
	grep -q '^mem\.' <<<"$list" || ir_fail "$label: no mem.* series: /proc collectors missing"
	grep -qE '^(cpu\.usage\.exact|sched\.(runq_latency|ctxsw_per_s|migrations_per_s)|task\.|disk\.io_latency)' <<<"$list" &&
		ir_fail "$label: eBPF series published without eBPF"
	status=$("$IRCLI" status --json --shm "$IR_SHM") || ir_fail "$label: no status document"
	python3 - "$want" <<PY || ir_fail "$label: status does not report eBPF off: $status"
import json, re, sys
s = json.loads('''$status''')
e = s["ebpf"]
assert e["enabled"] is False, e
names = {"ebpf.cpu", "ebpf.runq", "ebpf.task", "ebpf.blkio", "ebpf.sched"}
assert names <= set(e["off"]), e["off"]
for n in names:
    assert re.search(sys.argv[1], e["off"][n]), (n, e["off"][n])
print("status ebpf.off:", e["off"]["ebpf.cpu"])
PY
	grep -q "ebpf.cpu is off" "$IR_LOG" || ir_fail "$label: the log does not say ebpf.cpu is off"
	echo "ok   $label: /proc metrics served, eBPF off with its reason"
}

# readers trust an object owned by root or by the uid in INFOREG_SHM_UID (libinforeg)
export INFOREG_SHM_UID
INFOREG_SHM_UID=$(id -u nobody)
start_as nobody setpriv --reuid=nobody --regid=nogroup --clear-groups --
[ "$(stat -c %U "/dev/shm/$IR_SHM")" = nobody ] || ir_fail "registry not created by nobody"
check_off nobody 'not permitted'
stop_it
unset INFOREG_SHM_UID

start_as nocaps setpriv --bounding-set=-all --inh-caps=-all --
check_off nocaps 'not permitted'
stop_it

start_as no-ebpf env -- --no-ebpf
check_off no-ebpf 'no-ebpf'
stop_it
echo "PASS"
