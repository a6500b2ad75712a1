#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_api_startup_checks: what the user names is checked before anything is published,
# and framing the RFC says to refuse is refused.
#  - a FIFO as --config, --token-file, --tls-cert/--tls-key: refused at once (exit 2,
#    the file named), never a hang;
#  - a bad or foreign listen address, a missing token file, a bad TLS file, the same
#    --listen twice: exit 2 before the object is published (no "publishing" line);
#  - a file's listen replaces the embedded default's (one listener, not two);
#  - a token of API_TOKEN_MAX (4096) bytes works whole (its 511-byte prefix is
#    refused: no truncation); 4097 bytes refuses to start, saying so;
#  - HTTP/1.1 with two disagreeing Content-Length headers, or Content-Length with
#    Transfer-Encoding: 400 and the connection closed; the server keeps answering.
. "$(dirname "$0")/lib.sh"
for t in curl openssl; do command -v $t >/dev/null || ir_skip "$t not installed"; done
[ -x /usr/bin/python3 ] || ir_skip "/usr/bin/python3 not installed"
SHM=irt-$$-$RANDOM
PORT=$(ir_free_port)

# start_fails WANT_RC GREP_MESSAGE inforegd-args...: runs inforegd (10 s at most)
start_fails() {
	local want=$1 msg=$2 rc out; shift 2
	out=$(timeout 10 "$IRD" --shm "$SHM" --no-ebpf "$@" 2>&1)
	rc=$?
	rm -f "/dev/shm/$SHM" "/dev/shm/$SHM.lock"
	[ $rc = 124 ] && ir_fail "inforegd $* hung (killed after 10 s)"
	[ $rc = "$want" ] || ir_fail "inforegd $*: exit $rc, want $want: $out"
	echo "$out" | grep -q -- "$msg" || ir_fail "inforegd $*: message does not say '$msg': $out"
	echo "$out" | grep -q "publishing" && ir_fail "inforegd $*: published before refusing: $out"
	echo "ok: $* -> exit $rc: $(echo "$out" | tail -n 1)"
}

mkfifo "$IR_TMP/fifo"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$IR_TMP/key.pem" -out "$IR_TMP/cert.pem" \
	-days 1 -subj /CN=localhost >/dev/null 2>&1 || ir_fail "openssl could not make a certificate"
L=(--listen "127.0.0.1:$PORT")
start_fails 2 "$IR_TMP/fifo: not a regular file" --config "$IR_TMP/fifo" "${L[@]}"
start_fails 2 "token file $IR_TMP/fifo: not a regular file" --token-file "$IR_TMP/fifo" "${L[@]}"
start_fails 2 "TLS certificate $IR_TMP/fifo: not a regular file" --tls-cert "$IR_TMP/fifo" --tls-key "$IR_TMP/key.pem" "${L[@]}"
start_fails 2 "TLS key $IR_TMP/fifo: not a regular file" --tls-cert "$IR_TMP/cert.pem" --tls-key "$IR_TMP/fifo" "${L[@]}"
start_fails 2 "not a regular file" --config /dev/null "${L[@]}"
start_fails 2 "not a regular file" --token-file /dev/zero "${L[@]}"
printf 'listen = 127.0.0.1:%s\ntoken_file = %s\n' "$PORT" "$IR_TMP/fifo" >"$IR_TMP/fifo.conf"
start_fails 2 "not a regular file" --config "$IR_TMP/fifo.conf"
start_fails 2 "no-such-token" --token-file "$IR_TMP/no-such-token" "${L[@]}"
start_fails 2 "TLS" --tls-cert "$IR_TMP/key.pem" --tls-key "$IR_TMP/key.pem" "${L[@]}"
start_fails 2 "listen" --listen "192.0.2.77:$PORT"
start_fails 2 "given twice" --listen "127.0.0.1:$PORT" --listen "127.0.0.1:$PORT"
start_fails 2 "given twice" --listen "127.0.0.1:$PORT" --listen "127.0.0.1:0$PORT"
printf 'listen = 127.0.0.1:%s\nlisten = 127.0.0.1:%s\n' "$PORT" "$PORT" >"$IR_TMP/twice.conf"
start_fails 2 "twice.conf:2:10: listen: '127.0.0.1:$PORT' is given twice" --config "$IR_TMP/twice.conf"

# a file's listen replaces the embedded default's (it was added to it, so the sample
# configuration's own 127.0.0.1:9470 became "given twice")
printf 'listen = 127.0.0.1:%s\n' "$PORT" >"$IR_TMP/one.conf"
"$IRD" --shm "$SHM" --no-ebpf --config "$IR_TMP/one.conf" >"$IR_TMP/one.log" 2>&1 &
one=$!
IR_PIDS+=("$one")
for _ in $(seq 100); do grep -q "listening" "$IR_TMP/one.log" && break; sleep 0.1; done
sleep 0.2
n=$(grep -c "REST server listening" "$IR_TMP/one.log")
grep -q "listening on http://127.0.0.1:$PORT\$" "$IR_TMP/one.log" && [ "$n" = 1 ] ||
	ir_fail "a file's listen did not replace the default: $(cat "$IR_TMP/one.log")"
kill -TERM "$one"; wait "$one" 2>/dev/null
rm -f "/dev/shm/$SHM" "/dev/shm/$SHM.lock"
echo "ok: the file's listen replaces the embedded default"

# tokens: 4097 bytes refuses to start; 4096 bytes works whole
head -c 3100 /dev/urandom | base64 -w0 | head -c 4097 >"$IR_TMP/long"
start_fails 2 "longer than 4096" --token-file "$IR_TMP/long" "${L[@]}"
head -c 4096 "$IR_TMP/long" >"$IR_TMP/tok"
echo >>"$IR_TMP/tok"
TOKEN=$(head -c 4096 "$IR_TMP/long")
ir_start_daemon --no-ebpf --token-file "$IR_TMP/tok"
put() { # TOKEN -> status of PUT /v1/watch/t
	curl -s -o /dev/null -w '%{http_code}' -X PUT -H "Authorization: Bearer $1" -d '{"pid":1}' "$IR_URL/v1/watch/t"
}
code=$(put "${TOKEN:0:511}")
[ "$code" = 401 ] || ir_fail "the token's 511-byte prefix: $code, want 401"
code=$(put "$TOKEN")
# past the token check: eBPF is off, so the watch itself is refused with 503
[ "$code" = 503 ] || ir_fail "the whole 4096-byte token: $code, want 503 (past auth)"
echo "ok: a 4096-byte token works whole, its prefix is refused"

# framing (RFC 9112 section 6.3) on a raw socket
/usr/bin/python3 - "$IR_PORT" "$TOKEN" <<'PY' || ir_fail "framing"
import socket, sys
port, token = int(sys.argv[1]), sys.argv[2].encode()
def exchange(req):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(req)
    data = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
    except socket.timeout:
        data += b"<still open after 5 s>"
    s.close()
    return data
auth = b"Authorization: Bearer " + token + b"\r\n"
cases = {
    "two Content-Length": b"PUT /v1/watch/a HTTP/1.1\r\nHost: x\r\n" + auth +
        b"Content-Length: 9\r\nContent-Length: 12\r\n\r\n{\"pid\":1}xxx",
    "Content-Length and Transfer-Encoding": b"PUT /v1/watch/a HTTP/1.1\r\nHost: x\r\n" + auth +
        b"Content-Length: 9\r\nTransfer-Encoding: chunked\r\n\r\n9\r\n{\"pid\":1}\r\n0\r\n\r\n",
    "Transfer-Encoding and Content-Length, GET": b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
        b"transfer-encoding: chunked\r\ncontent-length: 5\r\n\r\n0\r\n\r\n",
}
for name, req in cases.items():
    r = exchange(req)
    head = r.split(b"\r\n\r\n", 1)[0]
    if not r.startswith(b"HTTP/1.1 400") or b"framing" not in r:
        print(f"FAIL {name}: {r[:200]!r}"); sys.exit(1)
    if b"Connection: close" not in head or b"still open" in r:
        print(f"FAIL {name}: connection not closed: {r[:200]!r}"); sys.exit(1)
    print(f"ok: {name} -> 400, closed")
# agreeing repeats are fine (RFC 9112 allows them)
r = exchange(b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
if not r.startswith(b"HTTP/1.1 200"):
    print(f"FAIL agreeing Content-Lengths: {r[:200]!r}"); sys.exit(1)
print("ok: agreeing Content-Lengths -> 200")
PY
code=$(curl -s -o /dev/null -w '%{http_code}' "$IR_URL/healthz")
[ "$code" = 200 ] || ir_fail "server not answering after the framing cases: $code"
echo ok
