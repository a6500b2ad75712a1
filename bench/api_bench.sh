#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/api_bench.sh BUILD_DIR - REST server throughput and latency, side by side with
# its ceilings and baselines, all in one run on this machine:
#   - h2o_trivial (bench/h2o_trivial.c): a bare h2o handler with a fixed small body;
#   - inforegd: /v1/metrics/cpu.usage, /v1/metrics, /metrics;
#   - node_exporter /metrics when installed (prometheus-node-exporter).
# h2load -n N -c 8 -m 16 (h2c) for req/s; h2load -c 8 -m 1 --log-file for p50/p99.
# Goals: single series >= 50% of trivial; /metrics >= 20x node_exporter; p99 < 1 ms.
# ROUNDS rounds (3; QUICK=1: 1 round of N=5000), the endpoints interleaved in each; the
# @result lines give median, min and max over the rounds.
set -u
B=$(cd "${1:-build}" && pwd)
. "$(dirname "$0")/lib.sh"
if [ "$QUICK" = 1 ]; then N=${N:-5000} ROUNDS=${ROUNDS:-1} LN=${LN:-2000}; else N=${N:-100000} ROUNDS=${ROUNDS:-3} LN=${LN:-20000}; fi
command -v h2load >/dev/null || { echo "SKIP: h2load not installed"; exit 77; }
tmp=$(mktemp -d /tmp/api-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$tmp" "/dev/shm/$shm" "/dev/shm/$shm.lock"; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }

rps() { # URL -> req/s (h2c, -c 8 -m 16)
	local out; out=$(h2load -n "$N" -c 8 -m 16 "$@" 2>&1)
	echo "$out" | grep -q " 0 failed" || { echo "h2load failures on $*: $(echo "$out" | grep requests:)" >&2; exit 1; }
	echo "$out" | awk '/^finished in/{print $4}'
}
lat() { # URL [h2load args] -> "p50_us p99_us" from --log-file (3rd column: µs)
	local url=$1; shift
	rm -f "$tmp/lat.log"
	h2load -n "$LN" -c 8 -m 1 --log-file="$tmp/lat.log" "$@" "$url" >/dev/null 2>&1
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
declare -A R  # KEY -> "v1 v2 ..." over the rounds
add() { R[$1]="${R[$1]:-} $2"; }
for round in $(seq "$ROUNDS"); do
	add triv "$(rps "$T")"; add one "$(rps "$A/v1/metrics/cpu.usage")"
	add all "$(rps "$A/v1/metrics")"; add prom "$(rps "$A/metrics")"
	read -r a b <<<"$(lat "$T")"; add triv50 "$a"; add triv99 "$b"
	read -r a b <<<"$(lat "$A/v1/metrics/cpu.usage")"; add one50 "$a"; add one99 "$b"
	read -r a b <<<"$(lat "$A/metrics")"; add prom50 "$a"; add prom99 "$b"
	if [ -n "$ne" ]; then
		# node_exporter speaks HTTP/1.1 only: compare with inforegd over HTTP/1.1 too
		# (node_exporter answers 20-100 scrapes a second here: a few hundred requests)
		add ne "$(N=$((N / 250 > 50 ? N / 250 : 50)) rps --h1 "$ne")"; add prom1 "$(rps --h1 "$A/metrics")"
		read -r a b <<<"$(lat "$ne" --h1 -n "$((LN / 100 > 50 ? LN / 100 : 50))")"; add ne50 "$a"; add ne99 "$b"
	fi
	echo "round $round: trivial ${R[triv]##* } req/s, cpu.usage ${R[one]##* }, /v1/metrics ${R[all]##* }, /metrics ${R[prom]##* }${ne:+, node_exporter ${R[ne]##* } (HTTP/1.1)}"
done
b_all=$(curl -s "$A/v1/metrics" | wc -c); b_prom=$(curl -s "$A/metrics" | wc -c)
BN=api_bench
# shellcheck disable=SC2086
{
	bench_result $BN trivial req/s ${R[triv]}
	bench_result $BN cpu.usage req/s -b trivial ${R[one]}
	bench_result $BN v1_metrics req/s -b trivial ${R[all]}
	bench_result $BN metrics req/s -b trivial ${R[prom]}
	bench_result $BN trivial.p50 us ${R[triv50]}
	bench_result $BN trivial.p99 us ${R[triv99]}
	bench_result $BN cpu.usage.p50 us -b trivial.p50 ${R[one50]}
	bench_result $BN cpu.usage.p99 us -b trivial.p99 ${R[one99]}
	bench_result $BN metrics.p50 us -b trivial.p50 ${R[prom50]}
	bench_result $BN metrics.p99 us -b trivial.p99 ${R[prom99]}
	bench_result $BN v1_metrics.body bytes $b_all
	bench_result $BN metrics.body bytes $b_prom
	if [ -n "$ne" ]; then
		b_ne=$(curl -s "$ne" | wc -c)
		bench_result $BN node_exporter.h1 req/s ${R[ne]}
		bench_result $BN metrics.h1 req/s -b node_exporter.h1 ${R[prom1]}
		bench_result $BN node_exporter.p50 us ${R[ne50]}
		bench_result $BN node_exporter.p99 us ${R[ne99]}
		bench_result $BN node_exporter.body bytes $b_ne
	else
		bench_note $BN "node_exporter is not installed (prometheus-node-exporter): no comparison with it"
	fi
}
bench_note $BN "h2load h2c, one inforegd worker: req/s with -n $N -c 8 -m 16; p50/p99 with -n $LN -c 8 -m 1" \
	"(--log-file); median/min/max over $ROUNDS round(s). Goals: cpu.usage >= 50% of trivial;" \
	"/metrics >= 20x node_exporter (both HTTP/1.1); p99 < 1000 us"
