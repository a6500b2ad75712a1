#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/api_bench.sh BUILD_DIR - REST server throughput and latency, side by side with
# its ceilings and baselines, all in one run on this machine:
#   - h2o_trivial (bench/h2o_trivial.c): a bare h2o handler with a fixed small body;
#   - inforegd: /v1/metrics/cpu.usage, /v1/metrics, /metrics;
#   - node_exporter /metrics when installed (prometheus-node-exporter).
# h2load -n N -c 8 -m 16 (h2c) for req/s; h2load -c 8 -m 1 --log-file for p50/p99.
# Goals: single series >= 50% of trivial; /metrics >= 20x node_exporter; p99 < 1 ms.
set -u
B=$(cd "${1:-build}" && pwd)
N=${N:-100000}
command -v h2load >/dev/null || { echo "SKIP: h2load not installed"; exit 77; }
tmp=$(mktemp -d /tmp/api-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$tmp" "/dev/shm/$shm" "/dev/shm/$shm.lock"; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }

rps() { # URL -> req/s (h2c, -c 8 -m 16)
	local out; out=$(h2load -n "$N" -c 8 -m 16 "$@" 2>&1)
	echo "$out" | grep -q " 0 failed" || { echo "h2load failures on $*: $(echo "$out" | grep requests:)" >&2; }
	echo "$out" | awk '/^finished in/{print $4}'
}
lat() { # URL [h2load args] -> "p50_us p99_us" from --log-file (3rd column: µs)
	local url=$1; shift
	rm -f "$tmp/lat.log"
	h2load -n 20000 -c 8 -m 1 --log-file="$tmp/lat.log" "$@" "$url" >/dev/null 2>&1
	sort -n -k3,3 "$tmp/lat.log" | awk '{v[NR]=$3} END{printf "%d %d\n", v[int(NR*0.50)], v[int(NR*0.99)]}'
}

tp=$(port); "$B/bench/h2o_trivial" "$tp" 2>/dev/null & pids+=($!)
shm=bench-api-$$; ap=$(port)
"$B/bin/inforegd" --shm "$shm" --listen "127.0.0.1:$ap" >"$tmp/ird.log" 2>&1 & pids+=($!)
wait_http "http://127.0.0.1:$tp/"; wait_http "http://127.0.0.1:$ap/healthz"; sleep 0.5
ne=
if command -v prometheus-node-exporter >/dev/null || command -v node_exporter >/dev/null; then
	nep=$(port); nebin=$(command -v prometheus-node-exporter || command -v node_exporter)
	"$nebin" --web.listen-address="127.0.0.1:$nep" >"$tmp/ne.log" 2>&1 & pids+=($!)
	wait_http "http://127.0.0.1:$nep/metrics"; ne=http://127.0.0.1:$nep/metrics
fi

T=http://127.0.0.1:$tp/v1/metrics/cpu.usage
A=http://127.0.0.1:$ap
r_triv=$(rps "$T"); r_one=$(rps "$A/v1/metrics/cpu.usage"); r_all=$(rps "$A/v1/metrics"); r_prom=$(rps "$A/metrics")
l_triv=$(lat "$T"); l_one=$(lat "$A/v1/metrics/cpu.usage"); l_prom=$(lat "$A/metrics")
b_all=$(curl -s "$A/v1/metrics" | wc -c); b_prom=$(curl -s "$A/metrics" | wc -c)
if [ -n "$ne" ]; then
	# node_exporter speaks HTTP/1.1 only: compare with inforegd over HTTP/1.1 too
	r_ne=$(N=2000 rps --h1 "$ne"); l_ne=$(lat "$ne" --h1 -n 2000); b_ne=$(curl -s "$ne" | wc -c)
	r_prom1=$(rps --h1 "$A/metrics")
fi

printf '%-34s %12s %10s %10s %9s\n' "endpoint (h2c, one worker)" "req/s c8m16" "p50 us" "p99 us" "bytes"
printf '%-34s %12s %10s %10s %9s\n' "h2o trivial handler (ceiling)" "$r_triv" ${l_triv} "-"
printf '%-34s %12s %10s %10s %9s\n' "inforegd /v1/metrics/cpu.usage" "$r_one" ${l_one} "-"
printf '%-34s %12s %10s %10s %9s\n' "inforegd /v1/metrics" "$r_all" "-" "-" "$b_all"
printf '%-34s %12s %10s %10s %9s\n' "inforegd /metrics" "$r_prom" ${l_prom} "$b_prom"
[ -n "$ne" ] && printf '%-34s %12s %10s %10s %9s\n' "inforegd /metrics (HTTP/1.1)" "$r_prom1" "-" "-" "$b_prom"
[ -n "$ne" ] && printf '%-34s %12s %10s %10s %9s\n' "node_exporter /metrics (HTTP/1.1)" "$r_ne" ${l_ne} "$b_ne"
python3 - "$r_triv" "$r_one" "${r_prom1:-$r_prom}" "${r_ne:-0}" "${l_one#* }" "${l_prom#* }" <<'PY'
import sys
triv, one, prom, ne, p99one, p99prom = map(float, sys.argv[1:])
print("single series / trivial = %.0f%%  (goal >= 50%%) %s" % (100 * one / triv, "ok" if one >= 0.5 * triv else "MISSED"))
if ne > 0:
    print("/metrics / node_exporter (both HTTP/1.1) = %.0fx  (goal >= 20x) %s" % (prom / ne, "ok" if prom >= 20 * ne else "MISSED"))
else:
    print("/metrics / node_exporter: node_exporter not installed")
print("p99 -c 8 -m 1: single %d us, /metrics %d us  (goal < 1000 us) %s" % (p99one, p99prom, "ok" if max(p99one, p99prom) < 1000 else "MISSED"))
PY
