#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_mem_free: mem.used is what Debian 12's free(1) prints as "used" (procps-ng 4:
# MemTotal - MemAvailable), checked against `free -b` read right after the sample.
# Memory moves between the two reads, so the closest of 10 pairs must agree within
# 16 MiB; the definitions differ by hundreds of MB (buffers, cache, reclaimable slab).
. "$(dirname "$0")/lib.sh"
command -v free >/dev/null || ir_skip "free(1) is not installed (procps)"
ir_start_daemon --listen none --no-ebpf --period 10
best=
for _ in $(seq 10); do
	ours=$("$IRCLI" get --shm "$IR_SHM" mem.used | awk '{print $2}')
	theirs=$(free -b | awk '$1 == "Mem:" {print $3}')
	[ -n "$ours" ] && [ -n "$theirs" ] || ir_fail "no reading (ours '$ours', free '$theirs')"
	d=$(awk -v a="$ours" -v b="$theirs" 'BEGIN { d = a - b; if (d < 0) d = -d; printf "%d", d }')
	[ -z "$best" ] || [ "$d" -lt "$best" ] && best=$d
	sleep 0.05
done
echo "closest pair: mem.used and free(1) used differ by $best bytes"
[ "$best" -le $((16 * 1024 * 1024)) ] || ir_fail "mem.used is not free(1)'s used: $best bytes apart"
echo "ok: mem.used = free(1) used"
