#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_api_watch_churn: PUT/DELETE churn on /v1/watch never gets a 500. With one tick a
# second the main loop drains the queue of watch changes once a second, so a fast
# client fills it: those requests must answer 503 with Retry-After and change nothing,
# and a client that retries them ends with exactly the watches it expects, both in
# GET /v1/watch and as task.cpu.usage{watch=...} series in the published sample.
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || ir_skip "curl not installed"
[ -x /usr/bin/python3 ] || ir_skip "/usr/bin/python3 not installed"
[ "$(id -u)" = 0 ] || ir_skip "needs root for eBPF"
echo "tok-$RANDOM$RANDOM" >"$IR_TMP/token"
ir_start_daemon --period 1000 --token-file "$IR_TMP/token"
sleep 300 &
TARGET=$!
IR_PIDS+=("$TARGET")
/usr/bin/python3 - "$IR_PORT" "$(cat "$IR_TMP/token")" "$TARGET" <<'PY' || ir_fail "churn"
import http.client, json, sys, time
port, token, target = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
auth = {"Authorization": "Bearer " + token}
counts = {}

def call(method, path, body=None):
    conn.request(method, path, body=body, headers=auth)
    r = conn.getresponse()
    data = r.read()
    counts[r.status] = counts.get(r.status, 0) + 1
    return r.status, r.getheader("Retry-After"), data

def change(method, name, ok):
    body = json.dumps({"pid": target}) if method == "PUT" else None
    while True:
        st, retry, data = call(method, "/v1/watch/" + name, body)
        if st == ok:
            return
        if st == 503 and b"ebpf_unavailable" in data:
            print("SKIP: eBPF task collector unavailable"); sys.exit(77)
        if st == 503:
            if retry is None:
                print(f"FAIL: 503 without Retry-After on {method} {name}"); sys.exit(1)
            time.sleep(0.05)
            continue
        print(f"FAIL: {method} {name}: {st} {data[:200]!r}"); sys.exit(1)

names = [f"c{i}" for i in range(12)]
for rnd in range(25):
    for n in names:
        change("PUT", n, 201)
    for n in names:
        change("DELETE", n, 200)
keep = names[:5]
for n in keep:
    change("PUT", n, 201)
print("statuses seen:", dict(sorted(counts.items())))
if counts.get(503, 0) == 0:
    print("FAIL: the queue never filled: the test did not test the full queue"); sys.exit(1)
st, _, data = call("GET", "/v1/watch")
listed = sorted(w["name"] for w in json.loads(data)["watches"])
if listed != sorted(keep):
    print(f"FAIL: GET /v1/watch lists {listed}, want {sorted(keep)}"); sys.exit(1)
want = sorted('task.cpu.usage{watch="%s"}' % n for n in keep)
deadline = time.time() + 15
while True:
    st, _, data = call("GET", "/v1/metrics?match=task.cpu.usage*")
    got = None
    if st == 200: # 503 while the object is being replaced
        got = sorted(s["name"] for s in json.loads(data)["series"] if "watch=" in s["name"])
    if got == want:
        break
    if time.time() > deadline:
        print(f"FAIL: published watch series {got} ({st}), want {want}"); sys.exit(1)
    time.sleep(0.5)
print("ok: exactly", keep)
PY
echo ok
