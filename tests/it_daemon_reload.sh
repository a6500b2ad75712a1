#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_daemon_reload: SIGHUP re-reads the configuration: a new period and a disabled
# collector take effect (new object, readers follow); a broken file is reported with
# FILE:LINE:COLUMN and the daemon keeps running on the old configuration.
. "$(dirname "$0")/lib.sh"
cfg=$IR_TMP/inforeg.conf
printf 'period_ms = 100\n' > "$cfg"
ir_start_daemon --listen none --config "$cfg"
period() { "$IRCLI" status --json --shm "$IR_SHM" | python3 -c 'import json,sys; print(json.load(sys.stdin)["period_ms"])'; }
[ "$(period)" = 100 ] || ir_fail "period $(period)"
"$IRCLI" get --shm "$IR_SHM" load.1 >/dev/null || ir_fail "load.1 missing before reload"

printf 'period_ms = 50\ndisable = load\n' > "$cfg"
kill -HUP "$IR_PID"
for _ in $(seq 50); do [ "$(period)" = 50 ] && break; sleep 0.1; done
[ "$(period)" = 50 ] || ir_fail "period not reloaded: $(period)"
"$IRCLI" get --shm "$IR_SHM" load.1 2>/dev/null && ir_fail "load.1 still published after disable = load"
grep -q "configuration reloaded" "$IR_LOG" || ir_fail "no reload log line"

printf 'period_ms = 20\nbogus_key = 1\n' > "$cfg"
kill -HUP "$IR_PID"
sleep 0.5
kill -0 "$IR_PID" || ir_fail "daemon died on a bad reload"
grep -q "reload failed, keeping the running configuration: $cfg:2:1: unknown key 'bogus_key'" "$IR_LOG" \
	|| ir_fail "bad reload not reported with file:line:col"
[ "$(period)" = 50 ] || ir_fail "bad reload changed the period"
"$IRCLI" get --shm "$IR_SHM" cpu.usage >/dev/null || ir_fail "registry unreadable after bad reload"
echo "ok: reload applied, bad reload rejected and reported"
