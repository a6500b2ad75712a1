#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_devices_none: a node with nothing: no NVML library, an empty sysfs root, no exec
# command. The daemon starts and serves as usual, gpu.count and gpu.free are 0, and
# /v1/status says for every provider (nvml, amd, hwmon, exec) that it found nothing and
# why. Then an NVML library whose nvmlInit_v2 fails (driver not loaded): the daemon
# still starts and the status names the error.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || ir_skip "python3 not installed"

mkdir -p "$IR_TMP/sys"
CONF=$IR_TMP/inforegd.conf
printf 'sysfs_root = %s\nnvml_library = %s\nebpf = off\n' "$IR_TMP/sys" "$IR_TMP/no/libnvidia-ml.so.1" >"$CONF"
ir_start_daemon --config "$CONF"
export U=$IR_URL IRCLI IR_SHM IR_TMP
python3 - <<'PY' || ir_fail "nothing-present checks failed"
import json, os, subprocess, sys, urllib.request
U, T = os.environ["U"], os.environ["IR_TMP"]
def get(path):
    with urllib.request.urlopen(U + path, timeout=5) as r:
        return json.load(r)
def fail(msg):
    print("FAIL:", msg); sys.exit(1)
out = subprocess.run([os.environ["IRCLI"], "dump", "--json", "--shm", os.environ["IR_SHM"]],
                     capture_output=True, text=True, check=True).stdout
v = json.loads(out)["series"]
if v.get("gpu.count") != 0 or v.get("gpu.free") != 0: fail("gpu.count/free: %s %s" % (v.get("gpu.count"), v.get("gpu.free")))
if any(n.startswith(("gpu.util", "sensor.", "devices.age")) for n in v): fail("series from an absent device")
if not isinstance(v.get("cpu.usage"), float): fail("cpu.usage missing")
st = {p["name"]: p for p in get("/v1/status")["device_providers"]}
why = {
    "nvml": "library missing: " + T + "/no/libnvidia-ml.so.1",
    "amd": "no " + T + "/sys/class/drm",
    "hwmon": "no sensor under " + T + "/sys/class/hwmon",
    "exec": "not configured (devices_exec)",
}
for name, w in why.items():
    p = st.get(name)
    if not p or p["found"] or not p["why"].startswith(w): fail("%s: %s (want why starting %r)" % (name, p, w))
    if p["last_reading_age_s"] is not None: fail("%s has a reading age" % name)
if get("/v1/node").get("devices") != []: fail("node devices not empty")
print("ok")
PY
kill -TERM "$IR_PID"; wait "$IR_PID" 2>/dev/null

FAKE=$INFOREG_BUILD/tests/fake_nvml.so
[ -r "$FAKE" ] || ir_fail "$FAKE not built"
printf 'init_fail 9\n' >"$IR_TMP/nvml.script"
printf 'sysfs_root = %s\nnvml_library = %s\nebpf = off\n' "$IR_TMP/sys" "$FAKE" >"$CONF"
FAKE_NVML_SCRIPT=$IR_TMP/nvml.script ir_start_daemon --config "$CONF"
export U=$IR_URL
python3 - <<'PY' || ir_fail "init failure checks failed"
import json, os, sys, urllib.request
with urllib.request.urlopen(os.environ["U"] + "/v1/status", timeout=5) as r:
    st = {p["name"]: p for p in json.load(r)["device_providers"]}
n = st["nvml"]
if n["found"] or n["why"] != "nvmlInit_v2: Driver Not Loaded (no driver loaded)": print("FAIL: nvml", n); sys.exit(1)
print("ok")
PY
