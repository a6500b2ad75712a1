#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_cli_usability: the inforeg tool as a user meets it: global options before the
# subcommand, dump without --json (a table), list --json, a misspelt name gets a
# suggestion, patterns in get, watch -i -n prints interval means in mpstat-like rows
# and an Average: block, top draws one screen, status/node print a summary and JSON
# with --json, --help per subcommand, watch exits 1 when the daemon goes away and
# with --follow carries on with a restarted one.
. "$(dirname "$0")/lib.sh"
ir_start_daemon --listen none --period 50
C=$IRCLI

out=$("$C" --shm "$IR_SHM" get cpu.usage) || ir_fail "--shm before the subcommand: $out"
[[ $out =~ ^cpu\.usage\ [0-9.e+-]+$ ]] || ir_fail "get: '$out'"
INFOREG_SHM=$IR_SHM "$C" get mem.total >/dev/null || ir_fail "INFOREG_SHM is not used"

out=$("$C" --shm "$IR_SHM" dump 'mem.*') || ir_fail "dump without --json failed"
echo "$out" | head -1 | grep -q '^# seq [0-9]* ' || ir_fail "dump header: $(echo "$out" | head -1)"
echo "$out" | grep -qE '^mem\.total +[0-9]+ bytes$' || ir_fail "dump table: $out"
echo "$out" | grep -q '^cpu\.' && ir_fail "dump 'mem.*' printed cpu series"

"$C" --shm "$IR_SHM" list --json 'load.*' | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d and all(x["name"].startswith("load.") and x["unit"] and x["kind"] and "help" in x for x in d), d' ||
	ir_fail "list --json"

"$C" --shm "$IR_SHM" get cpu.usge 2>"$IR_TMP/err" && ir_fail "a misspelt name succeeded"
grep -q "cpu.usge: no such series; did you mean cpu.usage?" "$IR_TMP/err" || ir_fail "suggestion: $(cat "$IR_TMP/err")"

out=$("$C" --shm "$IR_SHM" get 'load.*' mem.total) || ir_fail "get with a pattern failed"
for s in load.1 load.5 load.15 mem.total; do echo "$out" | grep -q "^$s " || ir_fail "get 'load.*' lacks $s: $out"; done
"$C" --shm "$IR_SHM" get 'nothing.*' 2>/dev/null && ir_fail "a pattern matching nothing succeeded"

out=$("$C" --shm "$IR_SHM" watch -i 0.3 -n 2 'cpu.usage' 'cpu.usage{*') || ir_fail "watch -i -n failed"
[ "$(echo "$out" | grep -c 'labels')" = 3 ] || ir_fail "watch -i 0.3 -n 2: want 2 blocks and Average:, got
$out"
echo "$out" | grep -qE '^Average: +all +[0-9]+\.[0-9]{2}' || ir_fail "no Average: row for all: $out"
echo "$out" | grep -qE '^Average: +cpu="0" +[0-9]+\.[0-9]{2}' || ir_fail "no row for cpu 0: $out"

out=$("$C" --shm "$IR_SHM" top --count 1) || ir_fail "top failed"
echo "$out" | grep -qE '^all +[0-9.]+' || ir_fail "top has no 'all' CPU row: $out"
echo "$out" | grep -q '^Mem ' || ir_fail "top has no memory line"

"$C" --shm "$IR_SHM" status | grep -qE '^cpu +yes +[0-9]+' || ir_fail "status summary"
"$C" --shm "$IR_SHM" status --json | /usr/bin/python3 -c 'import json,sys; json.load(sys.stdin)["collectors"]' ||
	ir_fail "status --json"
"$C" --shm "$IR_SHM" node | grep -q "CPUs" || ir_fail "node summary"
"$C" --shm "$IR_SHM" node --json | /usr/bin/python3 -c 'import json,sys; json.load(sys.stdin)["cpu"]' || ir_fail "node --json"
for c in list get watch top dump status node; do
	"$C" "$c" --help | grep -q "^usage: inforeg $c" || ir_fail "$c --help"
done
"$C" get --count x cpu.usage 2>/dev/null; [ $? = 2 ] || ir_fail "a bad --count is not a usage error"

# watch exits 1 when the daemon goes away
"$C" --shm "$IR_SHM" watch cpu.usage > "$IR_TMP/w1" 2>"$IR_TMP/w1.err" &
w=$!
sleep 0.5
kill -TERM "$IR_PID"
for _ in $(seq 50); do kill -0 "$w" 2>/dev/null || break; sleep 0.1; done
kill -0 "$w" 2>/dev/null && { kill "$w"; ir_fail "watch kept running after the daemon exited"; }
wait "$w"; rc=$?
[ "$rc" = 1 ] || ir_fail "watch exited $rc when the daemon went away, want 1"
grep -q "is gone" "$IR_TMP/w1.err" || ir_fail "watch said: $(cat "$IR_TMP/w1.err")"

# --follow: waits for the restarted daemon and goes on printing its samples
"$IRD" --shm "$IR_SHM" --listen none --period 50 >"$IR_TMP/d2.log" 2>&1 &
IR_PID=$!; IR_PIDS+=("$IR_PID")
ir_wait_ready "$IR_SHM" "$IR_PID" || ir_fail "second daemon"
"$C" --shm "$IR_SHM" watch --follow cpu.usage > "$IR_TMP/w2" 2>"$IR_TMP/w2.err" &
w=$!
sleep 0.5
kill -TERM "$IR_PID"; wait "$IR_PID" 2>/dev/null
n_before=$(wc -l < "$IR_TMP/w2")
"$IRD" --shm "$IR_SHM" --listen none --period 50 >"$IR_TMP/d3.log" 2>&1 &
IR_PID=$!; IR_PIDS+=("$IR_PID")
ir_wait_ready "$IR_SHM" "$IR_PID" || ir_fail "third daemon"
sleep 1
kill -0 "$w" 2>/dev/null || ir_fail "watch --follow exited: $(cat "$IR_TMP/w2.err")"
kill "$w"; wait "$w" 2>/dev/null
n_after=$(wc -l < "$IR_TMP/w2")
# the library may follow the new daemon by itself (it re-opens by name), or watch
# waits for it: either way samples of the new daemon keep coming
[ $((n_after - n_before)) -ge 5 ] || ir_fail "--follow: $((n_after - n_before)) lines after the restart; $(cat "$IR_TMP/w2.err")"
echo "ok: global options, dump table, list --json, suggestion, patterns, watch -i/-n, top, status/node, --help, watch exit and --follow"
