#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/api_soak.sh BUILD_DIR - the REST server and the ring under a long mixed load
# (issue 8, "load and faults"); not part of `make test` (it takes the whole machine
# for a minute or more):
#   - inforegd at 1 kHz (--period 1, --history 2: the ring, mapped in the daemon's RSS,
#     is full after 2.1 s (2,048 slots), so a flat RSS after the warm-up means no growth elsewhere);
#   - 1,000 HTTP/2 connections (h2load -c 1000, h2c) for DURATION seconds over three
#     endpoints (one series, a filtered sample, the node document; not /healthz, whose
#     503 for a writer late by 5 ms is the right answer on a saturated machine);
#   - 64 shm reader processes (bench/shm_readers) following every sample meanwhile.
# Pass: zero h2load failures and only 2xx, zero reader errors, the daemon alive, and
# its RSS (VmRSS) flat within 1 MB (1024 kB) over the measured DURATION, after WARMUP
# seconds of the same HTTP load (sampled every second; RssAnon, the heap's share, too);
# also printed: requests/s, samples the readers read and skipped, the ring's dropped
# ticks over the run (ticks the writer could not sample in time).
# Environment: DURATION (60), WARMUP (20), CONNS (1000), READERS (64).
set -u
B=$(cd "${1:-build}" && pwd)
DURATION=${DURATION:-60} WARMUP=${WARMUP:-20} CONNS=${CONNS:-1000} READERS=${READERS:-64}
for t in h2load curl; do command -v $t >/dev/null || { echo "SKIP: $t not installed"; exit 77; }; done
[ -x "$B/bench/shm_readers" ] || { echo "build it first: make benches"; exit 2; }
ulimit -n "$(ulimit -Hn)" # 1,000 connections need more than a default 1024
tmp=$(mktemp -d /tmp/api-soak.XXXXXX)
shm=bench-soak-$$
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$tmp" "/dev/shm/$shm" "/dev/shm/$shm.lock"
}
trap cleanup EXIT
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port
"$B/bin/inforegd" --shm "$shm" --period 1 --history 2 --listen "127.0.0.1:$port" >"$tmp/ird.log" 2>&1 &
ird=$!
pids+=("$ird")
for _ in $(seq 100); do curl -s -o /dev/null "$url/healthz" && break; sleep 0.1; done
curl -s -o /dev/null "$url/healthz" || { echo "daemon did not start"; cat "$tmp/ird.log"; exit 1; }
status() { curl -s "$url/v1/status" | /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

h2run() { # seconds, output file
	h2load -c "$CONNS" -m 1 -t 2 -D "$1" -T 30 -N 30 \
		"$url/v1/metrics/cpu.usage" "$url/v1/metrics?match=mem.*" "$url/v1/node" >"$2" 2>&1
}
# Warm-up: the same load for WARMUP seconds. The daemon's heap grows to its high-water
# mark for 1,000 connections (about 5 MB here; a second pass adds almost nothing) and
# on a loaded 2-CPU machine that takes longer than a few seconds of the measured run.
echo "inforegd at 1 kHz; warm-up: $CONNS HTTP/2 connections for ${WARMUP}s"
h2run "$WARMUP" "$tmp/h2warm"
dropped0=$(status 'd["reader"]["dropped"]')
head0=$(status 'd["reader"]["head"]')
# RSS of the daemon, once a second, for the measured run
(for _ in $(seq "$DURATION"); do
	awk '/^VmRSS:/{r=$2} /^RssAnon:/{a=$2} END{if (r == "") exit 1; print r, a}' "/proc/$ird/status" 2>/dev/null || break
	sleep 1
done >"$tmp/rss") &
pids+=($!)
"$B/bench/shm_readers" "$shm" "$READERS" "$DURATION" >"$tmp/readers" 2>&1 &
readers=$!
pids+=("$readers")
echo "measured: $CONNS HTTP/2 connections and $READERS shm readers for ${DURATION}s"
h2run "$DURATION" "$tmp/h2load"
h2rc=$?
wait "$readers"
rrc=$?
dropped1=$(status 'd["reader"]["dropped"]')
head1=$(status 'd["reader"]["head"]')
alive=yes
kill -0 "$ird" 2>/dev/null || alive=no

echo "warm-up: $(grep -E "^requests:" "$tmp/h2warm")"
grep -E "^finished in|^requests:|^status codes:|^traffic:|time for request:" "$tmp/h2load"
cat "$tmp/readers"
rss=$(awk '{ if (min == "" || $1 < min) min = $1; if ($1 > max) max = $1;
	if (amin == "" || $2 < amin) amin = $2; if ($2 > amax) amax = $2; n++ }
	END { printf "%d %d %d %d %d", min, max, amin, amax, n }' "$tmp/rss")
read -r rmin rmax amin amax rn <<<"$rss"
echo "RSS during the measured run: min ${rmin} kB, max ${rmax} kB, spread $((rmax - rmin)) kB over $rn samples"
echo "RssAnon during the measured run: min ${amin} kB, max ${amax} kB, spread $((amax - amin)) kB"
echo "RssAnon each second (kB): $(awk '{printf "%s ", $2}' "$tmp/rss")"
echo "ticks published: $((head1 - head0)), dropped by the writer: $((dropped1 - dropped0)); daemon alive: $alive"

ok=1
grep -qE "requests: .* 0 failed, 0 errored, 0 timeout" "$tmp/h2warm" || { echo "FAIL: h2load errors in the warm-up"; ok=0; }
grep -qE "requests: .* 0 failed, 0 errored, 0 timeout" "$tmp/h2load" || { echo "FAIL: h2load errors"; ok=0; }
grep -qE "status codes: [0-9]+ 2xx, 0 3xx, 0 4xx, 0 5xx" "$tmp/h2load" || { echo "FAIL: non-2xx answers"; ok=0; }
[ $h2rc = 0 ] || { echo "FAIL: h2load exit $h2rc"; tail -5 "$tmp/h2load"; ok=0; }
[ $rrc = 0 ] || { echo "FAIL: shm readers reported errors"; ok=0; }
[ $alive = yes ] || { echo "FAIL: the daemon died"; tail "$tmp/ird.log"; ok=0; }
[ $((rmax - rmin)) -le 1024 ] || { echo "FAIL: RSS moved $((rmax - rmin)) kB during the measured run"; ok=0; }
[ $ok = 1 ] && echo "PASS"
[ $ok = 1 ]
