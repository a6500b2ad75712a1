#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_api_watch: a token-protected write - PUT /v1/watch/{name} without the token is
# refused (401) and adds nothing; with it the watch is accepted (201), listed by
# GET /v1/watch, and task.cpu.usage{watch="NAME"} shows up in GET /v1/metrics within a
# few ticks measuring the busy process it watches; DELETE removes it.
. "$(dirname "$0")/lib.sh"
for t in curl python3; do command -v $t >/dev/null || ir_skip "$t not installed"; done
[ "$(id -u)" = 0 ] || ir_skip "needs root for eBPF"
echo "tok-$RANDOM$RANDOM" >"$IR_TMP/token"
TOKEN=$(cat "$IR_TMP/token")
ir_start_daemon --token-file "$IR_TMP/token"
# a busy process to watch
bash -c 'while :; do :; done' &
BUSY=$!
IR_PIDS+=("$BUSY")
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -d "{\"pid\":$BUSY}" "$IR_URL/v1/watch/x")
[ "$code" = 401 ] || ir_fail "PUT without token: $code"
n=$(curl -s "$IR_URL/v1/watch" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["watches"]))')
[ "$n" = 0 ] || ir_fail "a refused PUT added a watch"
out=$(curl -s -w '\n%{http_code}' -X PUT -H "Authorization: Bearer $TOKEN" -d "{\"pid\":$BUSY}" "$IR_URL/v1/watch/x")
code=${out##*$'\n'}
[ "$code" = 503 ] && echo "$out" | grep -q ebpf_unavailable && ir_skip "eBPF task collector unavailable: $out"
[ "$code" = 201 ] || ir_fail "PUT with token: $out"
curl -s "$IR_URL/v1/watch" | python3 -c "import json,sys; w=json.load(sys.stdin)['watches']; assert [x['name'] for x in w]==['x'] and w[0]['pid']==$BUSY" ||
	ir_fail "GET /v1/watch does not list x"
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H "Authorization: Bearer $TOKEN" -d "{\"pid\":$BUSY}" "$IR_URL/v1/watch/x")
[ "$code" = 409 ] || ir_fail "second PUT of x: $code, want 409"
seen=
for _ in $(seq 30); do # 3 s = 30 ticks at most
	v=$(curl -s "$IR_URL/v1/metrics?match=task.cpu.usage*" | python3 -c '
import json,sys
for s in json.load(sys.stdin)["series"]:
    if s["name"] == "task.cpu.usage{watch=\"x\"}" and s["value"] is not None: print(s["value"])')
	if [ -n "$v" ] && python3 -c "import sys; sys.exit(0 if $v > 5 else 1)"; then seen=$v; break; fi
	sleep 0.1
done
[ -n "$seen" ] || ir_fail "task.cpu.usage{watch=\"x\"} did not show the busy process (last value '$v')"
echo "task.cpu.usage{watch=\"x\"} = $seen"
# a run-time watch survives a configuration reload (SIGHUP)
kill -HUP "$IR_PID"
back=
for _ in $(seq 30); do
	sleep 0.1
	grep -q "configuration reloaded" "$IR_LOG" || continue
	curl -s "$IR_URL/v1/metrics?match=task.cpu.usage*" | grep -q 'watch=\\"x\\"' && { back=1; break; }
done
[ -n "$back" ] || ir_fail "watch x lost across SIGHUP"
curl -s "$IR_URL/v1/watch" | python3 -c "import json,sys; w=json.load(sys.stdin)['watches']; assert [x['name'] for x in w]==['x']" ||
	ir_fail "GET /v1/watch after SIGHUP does not list x"
code=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$IR_URL/v1/watch/x")
[ "$code" = 401 ] || ir_fail "DELETE without token: $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE -H "Authorization: Bearer $TOKEN" "$IR_URL/v1/watch/x")
[ "$code" = 200 ] || ir_fail "DELETE with token: $code"
gone=
for _ in $(seq 30); do
	curl -s "$IR_URL/v1/metrics?match=task.cpu.usage*" | grep -q 'watch=\\"x\\"' || { gone=1; break; }
	sleep 0.1
done
[ -n "$gone" ] || ir_fail "series still there after DELETE"
kill "$BUSY"
echo ok
