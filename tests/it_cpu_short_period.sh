#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_cpu_short_period: at a period shorter than the kernel's tick (--period 1, 1 ms
# against 10 ms jiffies), /proc-based cpu.* series carry their last closed window
# instead of reading NaN for want of a jiffy (the ring's own history is checked).
. "$(dirname "$0")/lib.sh"
ir_start_daemon --no-ebpf --period 1
sleep 1.5
body=$(curl -sf --http2-prior-knowledge "$IR_URL/v1/metrics/cpu.usage/history?since=0&limit=10000") ||
	ir_fail "no history of cpu.usage"
out=$(printf '%s' "$body" | /usr/bin/python3 -c '
import json, sys
s = json.load(sys.stdin)["samples"]
# NaN is allowed only before the first window closed (the first jiffy after start)
first = next((i for i, x in enumerate(s) if x["value"] is not None), None)
if first is None:
    print("no sample has a value"); sys.exit(1)
bad = [x["seq"] for x in s[first:] if x["value"] is None]
print("%d samples, first value at index %d, %d NaN after it" % (len(s), first, len(bad)))
sys.exit(1 if bad or len(s) < 200 or first > 50 else 0)') || ir_fail "cpu.usage at 1 ms: $out"
echo "ok: $out"
