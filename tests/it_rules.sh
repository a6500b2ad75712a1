#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_rules: rules changed while inforegd runs, end to end over REST. The paper's
# worked example: a file rule reads the CPU usage a site script leaves in a file, a
# derive rule computes CpuFree from it, a Lua score rule applies Perf = 1 when
# CpuFree >= CpuReq else CpuFree/CpuReq, checked for CpuReq above, equal to and below
# CpuFree (REST and `inforeg score`). Then: a Lua syntax error is a 400 and the old
# rule stays; a rule taking another source's series is a 400; writes without or with a wrong token change nothing; a runaway loop and
# a memory bomb fail only their own series (state "failed", left out of /metrics)
# while the others keep ticking; DELETE removes series; rules persist in rules_dir
# across a restart; SIGHUP reports a bad file as FILE:LINE:COLUMN and loads the rest.
. "$(dirname "$0")/lib.sh"
for t in curl python3; do command -v $t >/dev/null || ir_skip "$t not installed"; done
PY=/usr/bin/python3
[ -x $PY ] || PY=python3
echo "tok-$RANDOM$RANDOM" >"$IR_TMP/token"
TOKEN=$(cat "$IR_TMP/token")
RD=$IR_TMP/rules
mkdir -p "$RD"
printf 'rules_dir = %s\n' "$RD" >"$IR_TMP/conf"
echo 37.5 >"$IR_TMP/cpu_usage" # what /usr/Apps/bin/getCpuUsage.sh would print: percent busy
ir_start_daemon --no-ebpf --token-file "$IR_TMP/token" --config "$IR_TMP/conf"

put() { # name json -> prints "CODE BODY"
	curl -s -w '\n%{http_code}' -X PUT -H "Authorization: Bearer $TOKEN" --data-binary "$2" "$IR_URL/v1/rules/$1"
}
code_of() { echo "${1##*$'\n'}"; }
series() { # name -> value|null state
	curl -s "$IR_URL/v1/metrics/$($PY -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1")" |
		$PY -c 'import json,sys; d=json.load(sys.stdin); v=d.get("value"); print(None if v is None else float(v), d.get("state"))' 2>/dev/null
}
wait_series() { # name expected-prefix
	local got
	for _ in $(seq 50); do
		got=$(series "$1")
		[[ $got == $2* ]] && return 0
		sleep 0.1
	done
	ir_fail "$1: '$got', want '$2...'"
}

# ---- the paper's worked example -----------------------------------------------------
out=$(put site_cpu "{\"kind\":\"file\",\"path\":\"$IR_TMP/cpu_usage\",\"series\":\"site.cpu_usage\",\"unit\":\"percent\"}")
[ "$(code_of "$out")" = 201 ] || ir_fail "PUT site_cpu: $out"
out=$(put cpu_free '{"kind":"derive","series":{"site.cpu_free":{"unit":"cores"}},"lua":"local cores = 4\nreturn { [\"site.cpu_free\"] = cores * (1 - v(\"site.cpu_usage\") / 100) }"}')
[ "$(code_of "$out")" = 201 ] || ir_fail "PUT cpu_free: $out"
out=$(put paper '{"kind":"score","resources":{"cpu":"cores"},"lua":"return function(req)\n  local free = v(\"site.cpu_free\")\n  local perf = free >= req.cpu and 1 or free / req.cpu\n  return { cpu = { free = free, req = req.cpu, perf = perf } }\nend"}')
[ "$(code_of "$out")" = 201 ] || ir_fail "PUT paper: $out"
wait_series site.cpu_free "2.5 fresh"
for req in 5 3 2.5 1; do
	got=$(curl -s "$IR_URL/v1/score?rule=paper&cpu=$req")
	$PY - "$got" "$req" <<'PY' || ir_fail "score for CpuReq $req: $got"
import json, sys
d = json.loads(sys.argv[1]); req = float(sys.argv[2]); free = 2.5
want = 1.0 if free >= req else free / req
assert d["rule"] == "paper" and isinstance(d["seq"], int), d
assert abs(d["score"] - want) < 1e-12 and abs(d["resources"]["cpu"]["perf"] - want) < 1e-12, (d, want)
assert d["resources"]["cpu"]["free"] == free and d["resources"]["cpu"]["req"] == req, d
PY
	echo "CpuReq $req: $got"
done
for _ in $(seq 20); do # the status document names the rule from the tick after the PUT
	got=$("$IRCLI" score --shm "$IR_SHM" rule=paper cpu=5 2>&1) && break
	sleep 0.1
done
$PY -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["score"] == 0.5, d' "$got" || ir_fail "inforeg score: $got"
# the built-in default over the same sample, POSTed as the extender does
got=$(curl -s -X POST --data-binary '[{"cpu":0.001},{"cpu":1000,"mem":"1GiB"},{"gpu":1}]' "$IR_URL/v1/score")
$PY - "$got" <<'PY' || ir_fail "POST /v1/score: $got"
import json, sys
d = json.loads(sys.argv[1]); s = d["scores"]
assert d["rule"] == "default" and len(s) == 3, d
cpu_free = s[1]["resources"]["cpu"]["free"]
assert abs(s[1]["score"] - min(1.0, max(cpu_free, 0) / 1000)) < 1e-12, d
assert s[2]["score"] == 0 and s[2]["resources"]["gpu"]["free"] == 0, d   # no accelerators here
PY
code=$(curl -s -o /dev/null -w '%{http_code}' "$IR_URL/v1/score?cpu=1&mem=4XB")
[ "$code" = 400 ] || ir_fail "bad unit: $code"

# ---- a Lua syntax error is a 400 with the message; the old rule stays ------------------
out=$(put cpu_free '{"kind":"derive","lua":"return { x = "}')
[ "$(code_of "$out")" = 400 ] && echo "$out" | grep -q "cpu_free:1:" || ir_fail "syntax error: $out"
curl -s "$IR_URL/v1/rules/cpu_free" | grep -q 'cores \* (1' || ir_fail "the old cpu_free rule is gone"
echo 50 >"$IR_TMP/cpu_usage"
wait_series site.cpu_free "2.0 fresh" # still computed by the old rule

# a rule may not take a series another source publishes
out=$(put thief '{"kind":"derive","lua":"return { [\"cpu.free\"] = 1 }"}')
[ "$(code_of "$out")" = 400 ] && echo "$out" | grep -q "built-in" || ir_fail "taking cpu.free: $out"
out=$(put thief '{"kind":"derive","lua":"return { [\"site.cpu_free\"] = 1 }"}')
[ "$(code_of "$out")" = 400 ] && echo "$out" | grep -q "belongs to rule cpu_free" || ir_fail "taking site.cpu_free: $out"

# ---- writes without the token, or with a wrong one, change nothing ---------------------
for auth in "" "Authorization: Bearer wrong"; do
	code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT ${auth:+-H "$auth"} --data-binary '{"kind":"derive","lua":"return {z=1}"}' "$IR_URL/v1/rules/sneaky")
	[ "$code" = 401 ] || ir_fail "PUT with '$auth': $code"
	code=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE ${auth:+-H "$auth"} "$IR_URL/v1/rules/cpu_free")
	[ "$code" = 401 ] || ir_fail "DELETE with '$auth': $code"
done
[ ! -e "$RD/sneaky.json" ] && [ -e "$RD/cpu_free.json" ] || ir_fail "an unauthorised write touched rules_dir"
curl -s "$IR_URL/v1/rules/sneaky" | grep -q unknown_rule || ir_fail "an unauthorised PUT added a rule"

# ---- a runaway loop and a memory bomb fail only their own series ------------------------
out=$(put spin '{"kind":"derive","series":["spin.x"],"lua":"while true do end"}')
[ "$(code_of "$out")" = 201 ] || ir_fail "PUT spin: $out"
out=$(put bomb '{"kind":"derive","series":["bomb.x"],"lua":"local s = \"x\" while true do s = s .. s end"}')
[ "$(code_of "$out")" = 201 ] || ir_fail "PUT bomb: $out"
out=$(put dry '{"kind":"derive","lua":"while true do end"}')
[ "$(code_of "$out")" = 400 ] && echo "$out" | grep -q budget || ir_fail "a dry run that never ends: $out"
out=$(put gone "{\"kind\":\"file\",\"path\":\"$IR_TMP/no-such-file\",\"series\":\"gone.x\"}")
[ "$(code_of "$out")" = 201 ] || ir_fail "PUT gone: $out"
wait_series gone.x "None failed" # declared, failed with the reason: the file cannot be opened
wait_series spin.x "None failed"
wait_series bomb.x "None failed"
echo 25 >"$IR_TMP/cpu_usage"
wait_series site.cpu_free "3.0 fresh" # the others keep ticking
for _ in $(seq 30); do # the status document is refreshed once a second
	st=$(curl -s "$IR_URL/v1/rules")
	echo "$st" | grep -q 'instruction budget' && echo "$st" | grep -q 'not enough memory' && break
	sleep 0.1
done
echo "$st" | grep -q 'instruction budget' || ir_fail "spin's error not shown: $st"
echo "$st" | grep -q 'not enough memory' || ir_fail "bomb's error not shown: $st"
prom=$(curl -s "$IR_URL/metrics")
echo "$prom" | grep -q '^inforeg_site_cpu_free' || ir_fail "/metrics lacks a fresh rule series"
echo "$prom" | grep -q '^inforeg_spin_x' && ir_fail "/metrics shows the failed series spin.x"

# ---- DELETE --------------------------------------------------------------------------
for r in spin bomb gone; do
	code=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE -H "Authorization: Bearer $TOKEN" "$IR_URL/v1/rules/$r")
	[ "$code" = 200 ] || ir_fail "DELETE $r: $code"
done
for _ in $(seq 30); do
	curl -s "$IR_URL/v1/metrics?match=spin.*" | grep -q spin.x || break
	sleep 0.1
done
curl -s "$IR_URL/v1/metrics?match=spin.*" | grep -q spin.x && ir_fail "spin.x still there after DELETE"
[ ! -e "$RD/spin.json" ] || ir_fail "spin.json still in rules_dir"
curl -s "$IR_URL/v1/status" | $PY -c 'import json,sys; r=json.load(sys.stdin)["rules"]; assert r["persisted"] is True, r' ||
	ir_fail "/v1/status does not say rules are persisted"

# ---- restart: the rules come back from rules_dir ------------------------------------------
ls "$RD" | sort | tr '\n' ' ' | grep -q '^cpu_free.json paper.json site_cpu.json $' || ir_fail "rules_dir: $(ls "$RD")"
kill -TERM "$IR_PID"
for _ in $(seq 50); do kill -0 "$IR_PID" 2>/dev/null || break; sleep 0.1; done
OLD_URL=$IR_URL
ir_start_daemon --no-ebpf --token-file "$IR_TMP/token" --config "$IR_TMP/conf"
wait_series site.cpu_free "3.0 fresh"
got=$(curl -s "$IR_URL/v1/score?rule=paper&cpu=6")
$PY -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["score"] == 0.5, d' "$got" || ir_fail "after restart: $got"

# ---- SIGHUP: a bad file is FILE:LINE:COLUMN, the rest load --------------------------------
printf '{\n  "kind": "derive",\n  "lua": return 1\n}\n' >"$RD/broken.json"
printf '{"kind":"derive","lua":"return { [\\"site.half\\"] = v(\\"site.cpu_free\\") / 2 }"}\n' >"$RD/half.json"
kill -HUP "$IR_PID"
wait_series site.half "1.5 fresh"
grep -Eq "$RD/broken.json:3:[0-9]+: " "$IR_LOG" || ir_fail "no FILE:LINE:COLUMN for broken.json: $(grep broken "$IR_LOG")"
curl -s "$IR_URL/v1/rules" | grep -q '"site_cpu"' || ir_fail "site_cpu lost at SIGHUP"
echo ok
