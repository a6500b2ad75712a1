# SPDX-License-Identifier: MIT
# tests/lib.sh - helpers for integration scripts: start the real daemon on a unique
# shm name and a free loopback port, always stop it, fail with a message.
#   . "$(dirname "$0")/lib.sh"
#   ir_start_daemon [inforegd flags...]   # sets IR_SHM IR_PORT IR_PID IR_LOG IR_URL
#   ir_fail "message"                     # prints and exits 1
#   ir_skip "reason"                      # prints and exits 77
set -u
: "${INFOREG_BUILD:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build}"
: "${INFOREG_TOP:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
IRD=$INFOREG_BUILD/bin/inforegd
IRCLI=$INFOREG_BUILD/bin/inforeg
IR_TMP=$(mktemp -d /tmp/inforeg-test.XXXXXX)
IR_PIDS=()

ir_cleanup() {
	local p
	for p in "${IR_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${IR_PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
	done
	[ -n "${IR_SHM:-}" ] && rm -f "/dev/shm/$IR_SHM" "/dev/shm/$IR_SHM.lock" "/dev/shm/$IR_SHM.sock"
	rm -rf "$IR_TMP"
}
trap ir_cleanup EXIT

ir_fail() { echo "FAIL: $*" >&2; [ -n "${IR_LOG:-}" ] && [ -f "$IR_LOG" ] && tail -n 20 "$IR_LOG" >&2; exit 1; }
ir_skip() { echo "SKIP: $*"; exit 77; }

# A loopback TCP port nobody listens on (bind test in python, released at once).
ir_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Waits until the registry exists and has at least one sample (10 s max).
ir_wait_ready() {
	local shm=$1 pid=$2
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || return 1
		if [ -e "/dev/shm/$shm" ] && "$IRCLI" get --shm "$shm" cpu.usage >/dev/null 2>&1; then return 0; fi
		sleep 0.1
	done
	return 1
}

# Starts inforegd; extra args are passed through. Listens on a free port unless the
# caller passes --listen itself.
ir_start_daemon() {
	IR_SHM=irt-$$-$RANDOM
	IR_PORT=$(ir_free_port)
	IR_URL=http://127.0.0.1:$IR_PORT
	IR_LOG=$IR_TMP/inforegd.$IR_SHM.log
	local listen=(--listen "127.0.0.1:$IR_PORT")
	case " $* " in *" --listen "*) listen=() ;; esac
	"$IRD" --shm "$IR_SHM" "${listen[@]}" "$@" >"$IR_LOG" 2>&1 &
	IR_PID=$!
	IR_PIDS+=("$IR_PID")
	ir_wait_ready "$IR_SHM" "$IR_PID" || ir_fail "inforegd did not start (shm $IR_SHM)"
}
