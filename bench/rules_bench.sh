#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/rules_bench.sh BUILD_DIR - what rules cost, measured on the real daemon:
#   - per tick: the "rules" collector's sample cost (status document, sample_cost_us)
#     with one derive rule of 100 series (v, rate, avg over 1 s) plus the built-in
#     default score rule with one profile, read once a second for S seconds (median,
#     p90); the same with no rule but the built-in default, for the baseline;
#   - REST: GET /v1/score?cpu=2&mem=1GiB against GET /v1/metrics/cpu.usage, and POST
#     /v1/score with 10 requirement sets, h2load -c 8 -m 16 (h2c), one worker, in one run.
# GETs are interleaved, three rounds each, and the medians compared.
# Goals (issue 9): per tick under 20 us; /v1/score at >= 50% of the single-series rate.
set -u
B=$(cd "${1:-build}" && pwd)
N=${N:-100000}
S=${S:-15}
command -v h2load >/dev/null || { echo "SKIP: h2load not installed"; exit 77; }
command -v curl >/dev/null || { echo "SKIP: curl not installed"; exit 77; }
PY=/usr/bin/python3
tmp=$(mktemp -d /tmp/rules-bench.XXXXXX)
pids=()
shm=bench-rules-$$
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$tmp" "/dev/shm/$shm" "/dev/shm/$shm.lock"; }
trap cleanup EXIT
port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }
rps() {
	local out; out=$(h2load -n "$N" -c 8 -m 16 "$@" 2>&1)
	echo "$out" | grep -q " 0 failed" || echo "h2load failures on $*: $(echo "$out" | grep requests:)" >&2
	echo "$out" | awk '/^finished in/{print $4}'
}
# median and p90 of the rules collector's sample cost over S status documents
tick_cost() {
	for _ in $(seq "$S"); do
		curl -s "$A/v1/status" |
			$PY -c 'import json,sys; d=json.load(sys.stdin); print([c["sample_cost_us"] for c in d["collectors"] if c["name"]=="rules"][0])'
		sleep 1
	done | sort -n | awk '{v[NR]=$1} END{printf "%.1f %.1f\n", v[int((NR+1)/2)], v[int(NR*0.9+0.5)]}'
}

echo "bench-token-$$" >"$tmp/token"
ap=$(port)
"$B/bin/inforegd" --shm "$shm" --listen "127.0.0.1:$ap" --no-ebpf --token-file "$tmp/token" >"$tmp/ird.log" 2>&1 &
pids+=($!)
A=http://127.0.0.1:$ap
wait_http "$A/healthz"
sleep 1
base=$(tick_cost)

# one derive rule of 100 series, and a profile on the default score rule
lua=$($PY -c '
parts = []
for i in range(100):
    f = ["v(\"cpu.free\") * %d" % i, "rate(\"mem.available\")", "avg(\"cpu.usage\", 1)"][i % 3]
    parts.append("[\"d.s%03d\"] = %s" % (i, f))
print("return { " + ", ".join(parts) + " }")')
body=$($PY -c 'import json,sys; print(json.dumps({"kind":"derive","lua":sys.argv[1]}))' "$lua")
H="Authorization: Bearer $(cat "$tmp/token")"
curl -s -f -o /dev/null -X PUT -H "$H" --data-binary "$body" "$A/v1/rules/hundred" || { echo "PUT hundred failed" >&2; exit 1; }
curl -s -f -o /dev/null -X PUT -H "$H" --data-binary '{"kind":"score","profiles":{"resnet50":{"cpu":2,"mem":"1GiB"}}}' "$A/v1/rules/default" ||
	{ echo "PUT default failed" >&2; exit 1; }
sleep 1.5
full=$(tick_cost)

# interleaved, three rounds each, medians: this machine's load moves between runs
one=() sc=()
for _ in 1 2 3; do
	one+=("$(rps "$A/v1/metrics/cpu.usage")")
	sc+=("$(rps "$A/v1/score?cpu=2&mem=1GiB")")
done
med3() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
r_one=$(med3 "${one[@]}")
r_score=$(med3 "${sc[@]}")
printf '[%s]' "$($PY -c 'print(",".join(["{\"cpu\":%d,\"mem\":\"%dGiB\"}" % (i % 4 + 1, i + 1) for i in range(10)]))')" >"$tmp/sets.json"
r_post=$(N=$((N / 4)) rps -d "$tmp/sets.json" -H 'content-type: application/json' "$A/v1/score")

printf '%-58s %s\n' "rules collector per tick, built-in default only (median p90 us)" "$base"
printf '%-58s %s\n' "rules collector per tick, 100 derive series + default score with a profile (median p90 us)" "$full"
printf '%-58s %12s\n' "GET /v1/metrics/cpu.usage req/s (h2c c8 m16, 1 worker)" "$r_one"
printf '%-58s %12s\n' "GET /v1/score?cpu=2&mem=1GiB req/s" "$r_score"
printf '%-58s %12s\n' "POST /v1/score, 10 sets per request, req/s" "$r_post"
$PY -c 'import sys; one, sc = float(sys.argv[1]), float(sys.argv[2]); print("score / single-series rate: %.0f%%" % (100 * sc / one))' "$r_one" "$r_score"
