#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_devices_exec: the exec provider runs a configured command through the daemon's
# process runner and maps its JSON to the same gpu.* series as a native accelerator:
#  - a script printing two devices: exact values, gpu.count, gpu.free with the
#    gpu_free_util / gpu_free_mem thresholds from the configuration, the inventory,
#    and the default score's gpu / gpu_mem resources read from those series;
#  - the same script printing garbage: the provider's status says why, the values age
#    into NaN after devices_stale_ms (never a made-up 0), everything else goes on;
#  - a third device appearing: the series are re-declared (gpu="2" appears);
#  - a daemon whose command prints garbage from the start, or does not exist: it
#    starts, found = false, and why says what went wrong.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || ir_skip "python3 not installed"

mkdir -p "$IR_TMP/sys"
cat >"$IR_TMP/smi.sh" <<EOF
#!/bin/sh
cat "$IR_TMP/out.json"
EOF
chmod +x "$IR_TMP/smi.sh"
cat >"$IR_TMP/out.json" <<'EOF'
{"devices":[{"id":"npu0","model":"Ascend 910B","vendor":"huawei","util":12.5,"mem_used":1000,
  "mem_total":64000000000,"power":250.5,"temp":45,"driver":"24.1.rc1"},
 {"id":1,"model":"Ascend 910B","util":95,"mem_used":60000000000,"mem_total":64000000000}]}
EOF
CONF=$IR_TMP/inforegd.conf
cat >"$CONF" <<EOF
sysfs_root = $IR_TMP/sys
nvml_library = off
ebpf = off
devices_exec = $IR_TMP/smi.sh
devices_exec_period_ms = 200
devices_exec_timeout_ms = 2000
devices_stale_ms = 1000
gpu_free_util = 20
gpu_free_mem = 16GiB
EOF
ir_start_daemon --config "$CONF"
export U=$IR_URL IRCLI IR_SHM IR_TMP
python3 - <<'PY' || ir_fail "exec provider checks failed"
import json, math, os, subprocess, sys, time, urllib.request
U, T = os.environ["U"], os.environ["IR_TMP"]
def get(path):
    with urllib.request.urlopen(U + path, timeout=5) as r:
        return json.load(r)
def dump():
    out = subprocess.run([os.environ["IRCLI"], "dump", "--json", "--shm", os.environ["IR_SHM"]],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)["series"]
def fail(msg):
    print("FAIL:", msg); sys.exit(1)
def wait(pred, what, secs=10):
    for _ in range(secs * 10):
        v = dump()
        if pred(v): return v
        time.sleep(0.1)
    fail("%s never happened: %s" % (what, {k: x for k, x in dump().items() if k.startswith("gpu")}))

want = {'gpu.util{gpu="0"}': 12.5, 'gpu.mem.used{gpu="0"}': 1000, 'gpu.mem.total{gpu="0"}': 64000000000,
        'gpu.power{gpu="0"}': 250.5, 'gpu.temp{gpu="0"}': 45, 'gpu.util{gpu="1"}': 95,
        'gpu.mem.used{gpu="1"}': 60000000000, 'gpu.count': 2, 'gpu.free': 1}
v = wait(lambda v: all(v.get(k) == x for k, x in want.items()), "the two devices' values")
if v.get('gpu.power{gpu="1"}') is not None: fail("power of npu1 was not printed but is %r" % v['gpu.power{gpu="1"}'])
devs = get("/v1/node")["devices"]
if [(d["id"], d["vendor"], d["model"], d["provider"]) for d in devs] != [
        ("npu0", "huawei", "Ascend 910B", "exec"), ("1", "exec", "Ascend 910B", "exec")]: fail("inventory %s" % devs)
if devs[0]["driver"] != "24.1.rc1": fail("driver %s" % devs[0])
st = {p["name"]: p for p in get("/v1/status")["device_providers"]}
if not st["exec"]["found"] or not st["exec"]["what"].startswith("2 devices from"): fail("status %s" % st["exec"])
# the default score's accelerator resources come from these series (rules room)
sc = get("/v1/score?gpu=1&gpu_mem=16GiB")["resources"]
if sc["gpu"]["free"] != 1 or sc["gpu_mem"]["free"] != 64000000000 - 1000: fail("score resources %s" % sc)

with open(T + "/out.json", "w") as f: f.write("NPU-SMI v1.0\nerror: device busy\n")
wait(lambda v: v.get('gpu.util{gpu="0"}') is None and v.get("gpu.count") == 2 and isinstance(v.get("cpu.usage"), float),
     "values going NaN after garbage")
for _ in range(30):
    e = {p["name"]: p for p in get("/v1/status")["device_providers"]}["exec"]
    if e.get("last_error") and "output is not JSON" in e["last_error"]: break
    time.sleep(0.1)
else:
    fail("exec status after garbage: %s" % e)

with open(T + "/out.json", "w") as f:
    f.write(json.dumps({"devices": [{"id": "npu0", "util": 1, "mem_used": 0, "mem_total": 1e9},
                                    {"id": 1, "util": 2}, {"id": "npu2", "util": 3}]}))
wait(lambda v: v.get('gpu.util{gpu="2"}') == 3 and v.get("gpu.count") == 3 and v.get('gpu.util{gpu="0"}') == 1,
     "a third device")
print("ok")
PY
kill -TERM "$IR_PID"; wait "$IR_PID" 2>/dev/null

cat >"$IR_TMP/garbage.sh" <<'EOF'
#!/bin/sh
echo '{"devices": [ {"id": "0", "util": "high"} ]}'
EOF
chmod +x "$IR_TMP/garbage.sh"
sed -i "s|^devices_exec = .*|devices_exec = $IR_TMP/garbage.sh|" "$CONF"
ir_start_daemon --config "$CONF"
export U=$IR_URL
python3 - <<'PY' || ir_fail "garbage-from-the-start checks failed"
import json, os, sys, urllib.request
with urllib.request.urlopen(os.environ["U"] + "/v1/status", timeout=5) as r:
    e = {p["name"]: p for p in json.load(r)["device_providers"]}["exec"]
if e["found"] or "devices[0].util must be a non-negative number" not in e["why"]:
    print("FAIL: exec", e); sys.exit(1)
print("ok")
PY
kill -TERM "$IR_PID"; wait "$IR_PID" 2>/dev/null

# a command that does not exist: the daemon starts and says so
sed -i "s|^devices_exec = .*|devices_exec = $IR_TMP/no-such-smi --json|" "$CONF"
ir_start_daemon --config "$CONF"
export U=$IR_URL
python3 - <<'PY' || ir_fail "missing-command checks failed"
import json, os, sys, urllib.request
with urllib.request.urlopen(os.environ["U"] + "/v1/status", timeout=5) as r:
    e = {p["name"]: p for p in json.load(r)["device_providers"]}["exec"]
if e["found"] or "no-such-smi" not in e["why"] or "cannot run" not in e["why"]:
    print("FAIL: exec", e); sys.exit(1)
print("ok:", e["why"])
PY
