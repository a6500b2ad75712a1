#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_api_load: h2load -n 20000 -c 8 -m 16 (h2c) on a single series, the whole sample
# and /metrics finishes with zero failed requests, and the bulk bodies were served
# from the per-sample cache (far fewer bodies built than requests); then the same
# over HTTP/1.1 with two workers.
. "$(dirname "$0")/lib.sh"
for t in h2load curl python3; do command -v $t >/dev/null || ir_skip "$t not installed"; done
ir_start_daemon
for p in /v1/metrics/cpu.usage /v1/metrics /metrics; do
	out=$(h2load -n 20000 -c 8 -m 16 "$IR_URL$p" 2>&1)
	echo "$out" | grep -q 'requests: 20000 total, 20000 started, 20000 done, 20000 succeeded, 0 failed, 0 errored, 0 timeout' ||
		ir_fail "h2load $p: $(echo "$out" | grep -E 'requests:|status')"
	echo "$out" | grep -q 'status codes: 20000 2xx' || ir_fail "h2load $p: not all 2xx"
	echo "$p: $(echo "$out" | grep -o '[0-9.]* req/s')"
done
r=$(curl -s "$IR_URL/v1/status" | python3 -c 'import json,sys; a=json.load(sys.stdin)["api"]; print(a["bodies_built"], a["bodies_reused"])')
built=${r% *} reused=${r#* }
[ "$reused" -gt 30000 ] && [ "$built" -lt 2000 ] || ir_fail "body cache: built $built, reused $reused"
ir_start_daemon --workers 2
out=$(h2load -n 20000 -c 8 -m 1 --h1 "$IR_URL/v1/metrics/cpu.usage" 2>&1)
echo "$out" | grep -q '20000 succeeded, 0 failed' || ir_fail "h2load --h1, 2 workers: $(echo "$out" | grep requests:)"
kill -0 "$IR_PID" || ir_fail "daemon died"
echo ok
