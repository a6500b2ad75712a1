#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_prometheus_counters: /metrics exports the cumulative counters Prometheus needs
# (inforeg_cpu_seconds_total{cpu,mode}, inforeg_net_receive_bytes_total{device},
# inforeg_disk_read_bytes_total{device}, context switches, forks, watches' CPU
# seconds), `promtool check metrics` is clean, gzip is served to a scraper that
# accepts it, and a real Prometheus scraping the
# daemon every second computes from rate(inforeg_cpu_seconds_total) the CPU usage the
# daemon published as cpu.usage over the same 20 s (both from the same jiffies: at a
# 1 s period every scrape sees a new 1 s window).
. "$(dirname "$0")/lib.sh"
command -v prometheus >/dev/null || ir_fail "prometheus is not installed (scripts/debian-packages.txt)"
conf=$IR_TMP/d.conf
printf 'watch = me pid:%d\n' $$ > "$conf"
ir_start_daemon --period 1000 --config "$conf"
m=$(curl -sf "$IR_URL/metrics") || ir_fail "no /metrics"
for f in 'inforeg_cpu_seconds_total{cpu="0",mode="user"}' 'inforeg_net_receive_bytes_total{device="lo"}' \
	inforeg_sched_context_switches_total inforeg_proc_forks_total 'inforeg_task_cpu_seconds_total{watch="me"}'; do
	grep -qF "$f " <<<"$m" || ir_fail "/metrics lacks $f"
done
grep -q '^# TYPE inforeg_cpu_seconds_total counter$' <<<"$m" || ir_fail "inforeg_cpu_seconds_total is not a counter"
grep -q '^inforeg_disk_read_bytes_total{device=' <<<"$m" || echo "note: no block device here"
grep -q '^inforeg_cpu_usage_percent ' <<<"$m" || ir_fail "the gauges went away"
if command -v promtool >/dev/null; then
	out=$(promtool check metrics <<<"$m" 2>&1) || ir_fail "promtool check metrics: $out"
fi

# gzip when the scraper accepts it, plain otherwise; never for the SSE stream
hdr=$(curl -sf -D - -o "$IR_TMP/m.gz" -H 'Accept-Encoding: gzip' "$IR_URL/metrics") || ir_fail "gzip scrape"
grep -qi '^content-encoding: gzip' <<<"$hdr" || ir_fail "/metrics not gzipped for Accept-Encoding: gzip"
gunzip -c "$IR_TMP/m.gz" | grep -q '^# TYPE inforeg_cpu_seconds_total counter$' || ir_fail "gzipped /metrics is not the exposition"
curl -sf -D - -o /dev/null "$IR_URL/metrics" | grep -qi '^content-encoding' && ir_fail "gzipped without Accept-Encoding"
echo "gzip: $(stat -c %s "$IR_TMP/m.gz") bytes for $(wc -c <<<"$m") plain"

pport=$(ir_free_port)
cat > "$IR_TMP/prom.yml" <<EOF2
global: { scrape_interval: 1s, evaluation_interval: 1s }
scrape_configs:
  - job_name: inforeg
    static_configs: [ { targets: ['127.0.0.1:$IR_PORT'] } ]
EOF2
prometheus --config.file="$IR_TMP/prom.yml" --storage.tsdb.path="$IR_TMP/tsdb" \
	--web.listen-address="127.0.0.1:$pport" >"$IR_TMP/prom.log" 2>&1 &
IR_PIDS+=($!)
# a busy loop for part of the window, so the figure is not a trivial 0 or 100
( end=$((SECONDS + 12)); while [ $SECONDS -lt $end ]; do :; done ) &
busy=$!
IR_PIDS+=($busy)
sleep 25
q() { curl -sf --data-urlencode "query=$1" "http://127.0.0.1:$pport/api/v1/query"; }
busy_rate='100 * (1 - sum(rate(inforeg_cpu_seconds_total{mode=~"idle|iowait"}[20s])) / sum(rate(inforeg_cpu_seconds_total[20s])))'
a=$(q "$busy_rate") || ir_fail "Prometheus query failed: $(tail -3 "$IR_TMP/prom.log")"
b=$(q 'avg_over_time(inforeg_cpu_usage_percent{cpu=""}[20s])') || ir_fail "Prometheus query failed"
out=$(/usr/bin/python3 - "$a" "$b" <<'PY'
import json, sys
def val(doc):
    r = json.loads(doc)["data"]["result"]
    if not r: raise SystemExit("no result: %s" % doc[:200])
    return float(r[0]["value"][1])
x, y = val(sys.argv[1]), val(sys.argv[2])
print("rate(inforeg_cpu_seconds_total) gives %.1f %% busy, avg_over_time(cpu.usage) %.1f %%" % (x, y))
sys.exit(0 if abs(x - y) <= 5 else 1)
PY
) || ir_fail "counters and gauge disagree: $out"
echo "ok: $out"
