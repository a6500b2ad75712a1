#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_api_errors: every error status the handlers produce comes back with the right
# code and a JSON body {"error":{"code":N,...}} - 400 bad query/body, 401 missing or
# wrong token, 403 writes disabled, 404 unknown route/series/histogram, 405 wrong
# method (with Allow), 413 oversized body, 414 oversized target, 429 per-connection
# limit, 503 eBPF unavailable for a watch - each counted in /v1/status; malformed
# HTTP/1 and HTTP/2 input does not bring the daemon down.
. "$(dirname "$0")/lib.sh"
for t in curl h2load python3; do command -v $t >/dev/null || ir_skip "$t not installed"; done
echo "s3cret-$RANDOM" >"$IR_TMP/token"
TOKEN=$(cat "$IR_TMP/token")

# expect STATUS METHOD PATH [curl args...]: status and JSON error code must both match
expect() {
	local want=$1 method=$2 path=$3; shift 3
	local body code
	body=$(curl -s -X "$method" -o - -w '\n%{http_code}' "$@" "$URL$path")
	code=${body##*$'\n'}; body=${body%$'\n'*}
	[ "$code" = "$want" ] || ir_fail "$method $path: status $code, want $want ($body)"
	if [ "$want" -ge 400 ]; then
		echo "$body" | python3 -c "import json,sys; d=json.load(sys.stdin); assert d['error']['code']==$want and d['error']['message']" ||
			ir_fail "$method $path: error body not JSON with code $want: $body"
	fi
}

# ---- daemon without a token: writes refused with 403 ----
ir_start_daemon
URL=$IR_URL
expect 403 PUT /v1/watch/w1 -H "Authorization: Bearer x" -d '{"pid":1}'
expect 403 DELETE /v1/watch/w1
expect 400 GET "/v1/metrics?nosuch=1"
expect 400 GET "/v1/metrics/cpu.usage/history?limit=0"
expect 400 GET "/v1/metrics/cpu.usage/history?since=yesterday"
expect 400 GET "/v1/metrics/bad%zzname"
expect 404 GET /v1/nothing
expect 404 GET /v1/metrics/no.such.series
expect 404 GET "/v1/metrics/no.such.series/history"
expect 404 GET /v1/histograms/no.such.histogram
expect 404 GET /v1/metrics/
expect 405 POST /v1/metrics
expect 405 DELETE /metrics
expect 405 PUT /v1/watch
allow=$(curl -s -X POST -D - -o /dev/null "$URL/healthz" | tr -d '\r' | awk -F': ' 'tolower($1)=="allow"{print $2}')
[ "$allow" = "GET, HEAD" ] || ir_fail "405 Allow header: '$allow'"
expect 414 GET "/v1/metrics/$(head -c 3000 /dev/zero | tr '\0' a)"
expect 200 GET /healthz
# 429: 80 never-ending streams on one HTTP/2 connection; the limit is 64 in flight
out=$(timeout 30 h2load -n 80 -c 1 -m 80 -T 2 "$URL/v1/stream" 2>&1)
echo "$out" | grep -q 'status codes: 64 2xx, 0 3xx, 16 4xx' || ir_fail "429: $out"
# malformed HTTP/1.1 and HTTP/2 input, then the server still answers
python3 - "$IR_PORT" <<'PY'
import socket, sys
port = int(sys.argv[1])
bad = [b"GARBAGE\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"GET /v1/metrics HTTP/1.1\r\nHost: x\r\n" + b"X-Long: " + b"a" * 70000 + b"\r\n\r\n",
       b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x08\x07\x00\x00\x00\x00\x00" + b"\xff" * 40,
       b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes(range(256)) * 8,
       b"GET /v1/metrics HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
       b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 200]
for b in bad:
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    try:
        s.sendall(b)
        s.recv(4096)
    except Exception:
        pass
    s.close()
PY
kill -0 "$IR_PID" || ir_fail "daemon died on malformed input"
expect 200 GET /v1/metrics/cpu.usage --http2-prior-knowledge
n=$(curl -s "$URL/v1/status" | python3 -c 'import json,sys; e=json.load(sys.stdin)["api"]["errors_by_status"]; print(e["404"], e["429"], e["403"])')
[ "$n" = "5 16 2" ] || ir_fail "errors counted by status (404 429 403): $n"

# ---- daemon with a token and without eBPF ----
ir_start_daemon --token-file "$IR_TMP/token" --no-ebpf
URL=$IR_URL
expect 401 PUT /v1/watch/w1 -d '{"pid":1}'
expect 401 PUT /v1/watch/w1 -H "Authorization: Bearer wrong" -d '{"pid":1}'
expect 401 DELETE /v1/watch/w1 -H "Authorization: Basic $TOKEN"
# authentication comes first: an oversized body without the token is a 401, not a 413
expect 401 PUT /v1/watch/w1 --data-binary "@/dev/fd/3" 3< <(head -c 8192 /dev/zero | tr '\0' x)
expect 413 PUT /v1/watch/w1 -H "Authorization: Bearer $TOKEN" --data-binary "@/dev/fd/3" 3< <(head -c 8192 /dev/zero | tr '\0' x)
expect 400 PUT /v1/watch/w1 -H "Authorization: Bearer $TOKEN" -d 'not json'
expect 400 PUT /v1/watch/w1 -H "Authorization: Bearer $TOKEN" -d '{"pid":1,"comm":"x"}'
expect 400 PUT /v1/watch/w1 -H "Authorization: Bearer $TOKEN" -d '{"pid":-3}'
expect 400 PUT "/v1/watch/BAD%20NAME" -H "Authorization: Bearer $TOKEN" -d '{"pid":1}'
expect 503 PUT /v1/watch/w1 -H "Authorization: Bearer $TOKEN" -d '{"pid":1}'
expect 404 DELETE /v1/watch/nosuch -H "Authorization: Bearer $TOKEN"
kill -0 "$IR_PID" || ir_fail "daemon died"
echo ok
