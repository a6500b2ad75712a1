#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_daemon_cli: the inforeg command-line tool against the real daemon: list, get
# (exact names, one "NAME VALUE" line each, --json), dump --json, watch piped, errors.
. "$(dirname "$0")/lib.sh"
ir_start_daemon --listen none

"$IRCLI" list --shm "$IR_SHM" > "$IR_TMP/list" || ir_fail "list failed"
for s in cpu.usage cpu.free mem.available mem.total load.1 'cpu.usage{cpu="0"}'; do
	grep -qF -- "$s " "$IR_TMP/list" || ir_fail "list lacks $s"
done

out=$("$IRCLI" get --shm "$IR_SHM" cpu.usage)
[[ $out =~ ^cpu\.usage\ [0-9.e+-]+$ ]] || ir_fail "get cpu.usage printed '$out'"
[ "$(echo "$out" | wc -l)" -eq 1 ] || ir_fail "get cpu.usage printed more than the total"
v=${out#cpu.usage }
awk -v v="$v" 'BEGIN { exit !(v >= 0 && v <= 100) }' || ir_fail "cpu.usage $v out of 0..100"

out=$("$IRCLI" get --shm "$IR_SHM" mem.total 'cpu.usage{cpu="0"}')
[ "$(echo "$out" | wc -l)" -eq 2 ] || ir_fail "get of two names: '$out'"
memkb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
[ "$(echo "$out" | head -1)" = "mem.total $((memkb * 1024))" ] || ir_fail "mem.total line: $(echo "$out" | head -1)"

"$IRCLI" get --shm "$IR_SHM" no.such.series 2>"$IR_TMP/err" && ir_fail "unknown series succeeded"
grep -q "no.such.series: no such series" "$IR_TMP/err" || ir_fail "unknown series message: $(cat "$IR_TMP/err")"

"$IRCLI" get --shm "$IR_SHM" --json cpu.usage mem.total | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert set(d) == {"cpu.usage", "mem.total"}, d
assert isinstance(d["mem.total"], (int, float)) and d["mem.total"] > 0, d' || ir_fail "get --json"

"$IRCLI" dump --shm "$IR_SHM" --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["seq"] >= 0 and d["ts_ns"] > 0 and len(d["generation"]) == 16, d
assert "cpu.usage" in d["series"] and "mem.available" in d["series"], list(d["series"])[:5]' || ir_fail "dump --json"

"$IRCLI" watch --shm "$IR_SHM" --count 3 cpu.usage > "$IR_TMP/watch" || ir_fail "watch failed"
[ "$(wc -l < "$IR_TMP/watch")" -eq 3 ] || ir_fail "watch --count 3 printed $(wc -l < "$IR_TMP/watch") lines"
awk '{ if (NR > 1 && $1 <= prev) exit 1; prev = $1; if ($2 != "cpu.usage") exit 1 }' "$IR_TMP/watch" \
	|| ir_fail "watch lines not increasing seq / wrong name: $(cat "$IR_TMP/watch")"

"$IRCLI" status --json --shm "$IR_SHM" | python3 -c '
import json, sys
d = json.load(sys.stdin)
names = [c["name"] for c in d["collectors"]]
assert "cpu" in names and "mem" in names, names
assert d["ring"]["capacity"] >= 600, d["ring"]' || ir_fail "status document"
"$IRCLI" node --json --shm "$IR_SHM" | python3 -c '
import json, sys, os
d = json.load(sys.stdin)
assert d["cpu"]["count"] == os.cpu_count() and d["memory"]["total_bytes"] > 0, d' || ir_fail "node document"

"$IRCLI" get --shm "irt-nonexistent-$$" cpu.usage 2>"$IR_TMP/err" && ir_fail "missing registry succeeded"
grep -q "no registry /dev/shm/irt-nonexistent" "$IR_TMP/err" || ir_fail "missing registry message"
"$IRCLI" frobnicate 2>/dev/null; [ $? -eq 2 ] || ir_fail "unknown command should exit 2"
echo "ok: list, get, get --json, dump --json, watch, status, node, errors"
