#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_api_openapi: every path and method api/openapi.yaml documents is served by the
# running daemon (no route-level 404/405; {name} filled with a real series), and a
# path it does not document is a 404 - the live half of test_api_openapi.
. "$(dirname "$0")/lib.sh"
for t in curl python3; do command -v $t >/dev/null || ir_skip "$t not installed"; done
ir_start_daemon
python3 - "$INFOREG_TOP/api/openapi.yaml" "$IR_URL" <<'PY' || ir_fail "openapi paths not all served"
import json, re, sys, urllib.request, urllib.error
paths, cur = {}, None
in_paths = False
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if line and not line.startswith((" ", "#")):
        in_paths = line == "paths:"; continue
    if not in_paths: continue
    m = re.match(r"^  (/\S*):$", line)
    if m: cur = m.group(1); paths[cur] = []; continue
    m = re.match(r"^    (get|put|delete|post|patch):$", line)
    if m and cur: paths[cur].append(m.group(1).upper())
if len(paths) < 12: sys.exit("only %d paths parsed" % len(paths))
for p, methods in paths.items():
    name = "sched.runq_latency" if p.startswith("/v1/histograms/") else ("nosuchwatch" if p.startswith("/v1/watch/") else "cpu.usage")
    url = sys.argv[2] + p.replace("{name}", name)
    for m in methods:
        req = urllib.request.Request(url, method=m, data=b"{}" if m == "PUT" else None)
        try:
            with urllib.request.urlopen(req, timeout=5) as r: code, body = r.status, b""
        except urllib.error.HTTPError as e:
            code, body = e.code, e.read()
        if code == 405 or (code == 404 and b'"not_found"' in body):
            sys.exit("%s %s: route not served (%d)" % (m, p, code))
        if code == 404 and "histograms" in p and b"unknown_histogram" in body:
            pass  # eBPF off: the route exists, the histogram does not
        print(m, p, code)
try:
    urllib.request.urlopen(sys.argv[2] + "/v1/undocumented", timeout=5); sys.exit("undocumented path served")
except urllib.error.HTTPError as e:
    if e.code != 404: sys.exit("undocumented path: %d" % e.code)
PY
echo ok
