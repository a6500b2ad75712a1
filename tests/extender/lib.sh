# SPDX-License-Identifier: MIT
# tests/extender/lib.sh - for the it_extender_* scripts, after tests/lib.sh:
#   ext_start_fakenodes N BODIES_FILE PREFIX [HELPER FLAGS]  # stand-in nodes; sets
#                                              # EXT_FAKE_NODES (a --nodes file)
#   ext_start_hang                             # accepts and never answers; sets EXT_HANG_URL
#   ext_start_extender FLAGS...                # sets EXT_URL EXT_PID EXT_LOG
# Every process started is stopped by tests/lib.sh's cleanup.
IREXT=${IREXT:-$INFOREG_BUILD/bin/inforeg-extender}  # override: a sanitized build
IRFAKE=$INFOREG_BUILD/tests/helper_fakenode
PY=/usr/bin/python3

ext_start_fakenodes() {
	local n=$1 bodies=$2 prefix=$3
	shift 3
	EXT_FAKE_NODES=$IR_TMP/fake-$prefix.nodes
	"$IRFAKE" --count "$n" --bodies "$bodies" --nodes-out "$EXT_FAKE_NODES" --name-prefix "$prefix" "$@" \
		>"$IR_TMP/fake-$prefix.log" 2>&1 &
	IR_PIDS+=("$!")
	for _ in $(seq 100); do [ -s "$EXT_FAKE_NODES" ] && return 0; sleep 0.05; done
	ir_fail "helper_fakenode did not start"
}

ext_start_hang() {
	local portfile=$IR_TMP/hang.port
	"$PY" -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(64)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
conns = []
while True:
    c, _ = s.accept(); conns.append(c)   # read nothing, answer nothing
' "$portfile" &
	IR_PIDS+=("$!")
	for _ in $(seq 100); do [ -s "$portfile" ] && break; sleep 0.05; done
	[ -s "$portfile" ] || ir_fail "hang server did not start"
	EXT_HANG_URL=http://127.0.0.1:$(cat "$portfile")
}

ext_start_extender() {
	local port; port=$(ir_free_port)
	EXT_URL=http://127.0.0.1:$port
	EXT_LOG=$IR_TMP/extender.$port.log
	"$IREXT" --listen "127.0.0.1:$port" "$@" >"$EXT_LOG" 2>&1 &
	EXT_PID=$!
	IR_PIDS+=("$EXT_PID")
	for _ in $(seq 100); do
		curl -sf "$EXT_URL/healthz" >/dev/null 2>&1 && return 0
		kill -0 "$EXT_PID" 2>/dev/null || break
		sleep 0.05
	done
	IR_LOG=$EXT_LOG ir_fail "inforeg-extender did not start"
}
