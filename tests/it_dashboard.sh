#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_dashboard: the live dashboard at GET / in a real headless browser (Debian's
# chromium, driven over the DevTools protocol by tests/cdp_page.py): the page loads
# from the daemon alone (no external resource), receives samples from /v1/stream,
# draws the CPU, memory, pressure, network and disk plots (non-empty canvases), shows
# values in the DOM that agree with the registry, the node inventory from /v1/node and
# the eBPF plots (exact CPU, run-queue latency) and a watch; a screenshot is saved as $INFOREG_BUILD/dashboard.png for a reviewer.
. "$(dirname "$0")/lib.sh"
chrome=$(command -v chromium || command -v chromium-browser) || ir_skip "chromium is not installed"
page=$INFOREG_TOP/api/dashboard.html
grep -qE '(src|href)="(https?:)?//' "$page" && ir_fail "the page loads an external resource"
conf=$IR_TMP/dash.conf
printf 'watch = tester pid:%d\n' $$ > "$conf"
ir_start_daemon --period 50 --config "$conf"
curl -sf --http2-prior-knowledge -o "$IR_TMP/page" -w '%{content_type}' "$IR_URL/" | grep -q '^text/html' ||
	ir_fail "GET / is not HTML"
cmp -s "$IR_TMP/page" "$page" || ir_fail "GET / does not serve api/dashboard.html"
shot=$INFOREG_BUILD/dashboard.png
rm -f "$shot"
expr='(() => {
  const pts = id => +document.querySelector("#card-" + id + " canvas").dataset.points;
  const v = n => { const e = document.querySelector("[data-series=\"" + n + "\"]"); return e ? e.textContent : null; };
  const r = { samples: +(document.body.dataset.samples || 0), cpu: pts("cpu"), mem: pts("mem"),
              psi: pts("psi"), net: pts("net"), disk: pts("disk"), runq: pts("runq"), watch: pts("watch"),
              exact: v("cpu.usage.exact"), host: document.getElementById("host").textContent,
              period: document.getElementById("period").textContent, memtotal: v("mem.available"),
              state: document.getElementById("state").className };
  return r.samples >= 20 && r.cpu > 0 && r.mem > 0 && r.psi > 0 && r.net > 0 && r.runq > 0 && r.watch > 0 &&
         r.exact !== null && r.host !== "-" && r.period !== "-" ? r : null;
})()'
out=$(timeout 60 /usr/bin/python3 "$INFOREG_TOP/tests/cdp_page.py" "$IR_URL/" "$expr" "$shot" 30) ||
	ir_fail "the dashboard did not draw: $out"
echo "page: $out"
[ -s "$shot" ] || ir_fail "no screenshot"
file "$shot" 2>/dev/null | grep -q PNG || head -c 8 "$shot" | od -c | grep -q 'P   N   G' || ir_fail "screenshot is not a PNG"
/usr/bin/python3 - "$out" "$(hostname)" <<'PY' || ir_fail "the page disagrees with the node"
import json, sys
r, host = json.loads(sys.argv[1]), sys.argv[2]
assert r["host"] == host, (r["host"], host)
assert r["period"] == "50 ms", r["period"]
assert "live" in r["state"], r["state"]
assert float(r["memtotal"]) > 0, r
PY
echo "ok: dashboard drew $out; screenshot $shot"
