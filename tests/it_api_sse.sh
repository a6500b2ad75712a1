#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_api_sse: GET /v1/stream delivers one Server-Sent Event per published sample - a
# client (HTTP/1.1 and h2c) receives at least 5 consecutive events whose ids and seqs
# increase by one, data is JSON with the matched series only; a client that stops
# reading does not stall sampling or the other clients.
. "$(dirname "$0")/lib.sh"
for t in curl python3; do command -v $t >/dev/null || ir_skip "$t not installed"; done
ir_start_daemon
check_stream() { # file label
	python3 - "$1" "$2" <<'PY' || exit 1
import json, sys
ids, seqs = [], []
for block in open(sys.argv[1]).read().split("\n\n"):
    f = dict(l.split(": ", 1) for l in block.strip().splitlines() if ": " in l)
    if not f: continue
    if f.get("event") != "sample": sys.exit("%s: event %r" % (sys.argv[2], f.get("event")))
    d = json.loads(f["data"])
    if int(f["id"]) != d["seq"]: sys.exit("id != seq")
    if set(d["values"]) != {"cpu.usage", "mem.available"}: sys.exit("%s: match filter: %s" % (sys.argv[2], list(d["values"])[:5]))
    ids.append(d["seq"])
run = best = 1
for a, b in zip(ids, ids[1:]):
    if b <= a: sys.exit("%s: seq went %d -> %d" % (sys.argv[2], a, b))
    run = run + 1 if b == a + 1 else 1
    best = max(best, run)
if best < 5: sys.exit("%s: only %d consecutive samples in %s" % (sys.argv[2], best, ids))
print(sys.argv[2], len(ids), "events, longest consecutive run", best)
PY
}
M='match=cpu.usage,mem.available'
# a stalled reader: opens a stream and never reads (small receive buffer)
python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /v1/stream HTTP/1.1\r\nHost: x\r\n\r\n"); time.sleep(3)' "$IR_PORT" &
stall=$!
timeout 1.5 curl -sN --http1.1 "$IR_URL/v1/stream?$M" >"$IR_TMP/h1.txt"
timeout 1.5 curl -sN --http2-prior-knowledge "$IR_URL/v1/stream?$M" >"$IR_TMP/h2.txt"
check_stream "$IR_TMP/h1.txt" http/1.1 || ir_fail "HTTP/1.1 stream"
check_stream "$IR_TMP/h2.txt" h2c || ir_fail "h2c stream"
# sampling went on during the stall: no dropped ticks, fresh sample
d=$(curl -s "$IR_URL/v1/status" | python3 -c 'import json,sys; r=json.load(sys.stdin)["reader"]; print(r["dropped"], r["age_periods"] < 3)')
[ "$d" = "0 True" ] || ir_fail "sampling disturbed by a stalled SSE client: dropped/fresh = $d"
wait "$stall"
kill -0 "$IR_PID" || ir_fail "daemon died"
echo ok
