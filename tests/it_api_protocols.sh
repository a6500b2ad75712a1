#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_api_protocols: one REST port speaks HTTP/1.1 (curl --http1.1), cleartext HTTP/2
# with prior knowledge (curl --http2-prior-knowledge, nghttp), HEAD; an IPv6 listener
# answers beside the IPv4 one; with a certificate (made here with openssl) the port
# speaks TLS and negotiates h2 by ALPN; two workers both serve.
. "$(dirname "$0")/lib.sh"
for t in curl nghttp openssl python3; do command -v $t >/dev/null || ir_skip "$t not installed"; done

# ---- cleartext, IPv4 + IPv6, two workers ----
P6=$(ir_free_port)
have6=1
python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1",0))' 2>/dev/null || have6=0
if [ $have6 = 1 ]; then
	PORT=$(ir_free_port)
	ir_start_daemon --listen "127.0.0.1:$PORT" --listen "[::1]:$P6" --workers 2
	IR_URL=http://127.0.0.1:$PORT
else
	ir_start_daemon --workers 2
fi

v=$(curl -s --http1.1 -o /dev/null -w '%{http_version} %{http_code}' "$IR_URL/v1/metrics/cpu.usage")
[ "$v" = "1.1 200" ] || ir_fail "HTTP/1.1: got '$v'"
v=$(curl -s --http2-prior-knowledge -o /dev/null -w '%{http_version} %{http_code}' "$IR_URL/v1/metrics/cpu.usage")
[ "$v" = "2 200" ] || ir_fail "h2c prior knowledge: got '$v'"
# the h2c body is the same document as over HTTP/1.1
curl -s --http2-prior-knowledge "$IR_URL/v1/metrics/cpu.usage" |
	python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["name"]=="cpu.usage" and isinstance(d["value"],(int,float))' ||
	ir_fail "h2c body is not the series object"
out=$(nghttp -v "$IR_URL/v1/metrics/cpu.usage" 2>&1)
echo "$out" | grep -q ':status: 200' || ir_fail "nghttp: no :status 200: $out"
echo "$out" | grep -q 'recv SETTINGS frame' || ir_fail "nghttp: no HTTP/2 SETTINGS exchange"
echo "$out" | grep -q '"name":"cpu.usage"' || ir_fail "nghttp: body missing"
h=$(curl -s -I --http1.1 -o /dev/null -w '%{http_code} %{size_download}' "$IR_URL/v1/metrics")
[ "$h" = "200 0" ] || ir_fail "HEAD /v1/metrics: got '$h'"
# several connections: with SO_REUSEPORT both workers take some (checked via status counters)
pids=()
for i in $(seq 20); do curl -s -o /dev/null "$IR_URL/healthz" & pids+=($!); done
wait "${pids[@]}" # not a bare wait: the daemon is a background job too
n=$(curl -s "$IR_URL/v1/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["api"]["connections_total"])')
[ "$n" -ge 20 ] || ir_fail "connections_total $n < 20"
if [ $have6 = 1 ]; then
	v=$(curl -s -g --http2-prior-knowledge -o /dev/null -w '%{http_code}' "http://[::1]:$P6/v1/metrics/cpu.usage")
	[ "$v" = 200 ] || ir_fail "IPv6 listener [::1]:$P6: got '$v'"
fi

# ---- TLS with ALPN ----
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
	-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
	-keyout "$IR_TMP/key.pem" -out "$IR_TMP/cert.pem" >/dev/null 2>&1 || ir_fail "openssl could not make a certificate"
printf 'tls_cert = %s\ntls_key = %s\n' "$IR_TMP/cert.pem" "$IR_TMP/key.pem" >"$IR_TMP/tls.conf"
ir_start_daemon --config "$IR_TMP/tls.conf"
TURL=https://127.0.0.1:$IR_PORT
v=$(curl -s --cacert "$IR_TMP/cert.pem" --http2 -o /dev/null -w '%{http_version} %{http_code} %{scheme}' "$TURL/v1/metrics/cpu.usage")
[ "$v" = "2 200 HTTPS" ] || ir_fail "TLS ALPN h2: got '$v'"
alpn=$(echo | openssl s_client -connect "127.0.0.1:$IR_PORT" -alpn h2 2>/dev/null | grep -i 'ALPN protocol')
echo "$alpn" | grep -q 'h2' || ir_fail "openssl s_client: server did not select h2 ($alpn)"
v=$(curl -s --cacert "$IR_TMP/cert.pem" --http1.1 -o /dev/null -w '%{http_version} %{http_code}' "$TURL/healthz")
[ "$v" = "1.1 200" ] || ir_fail "TLS HTTP/1.1: got '$v'"
out=$(nghttp -v "$TURL/v1/metrics/cpu.usage" 2>&1)
echo "$out" | grep -qi 'negotiated protocol: h2' || ir_fail "nghttp over TLS did not negotiate h2"
# a cleartext request to the TLS port fails instead of being answered in clear
v=$(curl -s --max-time 3 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$IR_PORT/healthz")
[ "$v" = 200 ] && ir_fail "TLS port answered cleartext HTTP"
kill -0 "$IR_PID" || ir_fail "daemon died"
# the same through flags
ir_start_daemon --tls-cert "$IR_TMP/cert.pem" --tls-key "$IR_TMP/key.pem"
v=$(curl -s --cacert "$IR_TMP/cert.pem" --http2 -o /dev/null -w '%{http_version} %{http_code}' "https://127.0.0.1:$IR_PORT/healthz")
[ "$v" = "2 200" ] || ir_fail "TLS via --tls-cert/--tls-key: got '$v'"
echo "ok"
