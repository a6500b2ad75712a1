#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_devices_sysfs: the amd and hwmon providers on a fake sysfs root (sysfs_root =
# DIR): an amdgpu card's busy percent, VRAM, hwmon power/temperature/clocks become
# gpu.*{gpu="0"} with exactly the files' values in the series' units; connectors
# (card0-DP-1) and a non-AMD card are ignored; hwmon chips and thermal zones become
# sensor.{temp,fan,power}{dev,chip,sensor}, labelled by their _label/type files, and
# the card's own hwmon chip is not reported twice; a file changed on disk shows at the
# next tick (re-read every tick); /v1/node lists the card, /v1/status both providers.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || ir_skip "python3 not installed"

S=$IR_TMP/sys
put() { mkdir -p "$(dirname "$S/$1")" && printf '%s\n' "$2" >"$S/$1"; }
D=class/drm/card0/device
put $D/vendor 0x1002
put $D/device 0x740f
put $D/gpu_busy_percent 42
put $D/mem_busy_percent 7
put $D/mem_info_vram_used 2147483648
put $D/mem_info_vram_total 17163091968
put $D/product_name "AMD Instinct MI210"
put $D/vbios_version 113-D67301-063
printf 'DRIVER=amdgpu\nPCI_CLASS=38000\nPCI_SLOT_NAME=0000:03:00.0\n' >"$S/$D/uevent"
put $D/hwmon/hwmon0/name amdgpu
put $D/hwmon/hwmon0/power1_average 45000000
put $D/hwmon/hwmon0/temp1_input 38000
put $D/hwmon/hwmon0/freq1_input 800000000
put $D/hwmon/hwmon0/freq2_input 1600000000
put class/drm/card0-DP-1/status connected
put class/drm/card1/device/vendor 0x8086
put class/drm/card1/device/gpu_busy_percent 99
mkdir -p "$S/class/hwmon"
ln -s ../drm/card0/device/hwmon/hwmon0 "$S/class/hwmon/hwmon0"
ln -s ../.. "$S/$D/hwmon/hwmon0/device" # hwmon0/device -> the card's PCI device
put class/hwmon/hwmon1/name coretemp
put class/hwmon/hwmon1/temp1_input 45000
put class/hwmon/hwmon1/temp1_label "Package id 0"
put class/hwmon/hwmon1/temp2_input 43000
put class/hwmon/hwmon1/temp2_label "Core 0"
put class/hwmon/hwmon2/name nct6775
put class/hwmon/hwmon2/fan1_input 1200
put class/hwmon/hwmon2/power1_input 15500000
put class/hwmon/hwmon2/power1_average 99000000
put class/thermal/thermal_zone0/type x86_pkg_temp
put class/thermal/thermal_zone0/temp 47000
put class/thermal/cooling_device0/type Processor

CONF=$IR_TMP/inforegd.conf
printf 'sysfs_root = %s\nnvml_library = off\nebpf = off\n' "$S" >"$CONF"
ir_start_daemon --config "$CONF"
export U=$IR_URL IRCLI IR_SHM S
python3 - <<'PY' || ir_fail "sysfs provider checks failed"
import json, os, subprocess, sys, time, urllib.request
U, S = os.environ["U"], os.environ["S"]
def get(path):
    with urllib.request.urlopen(U + path, timeout=5) as r:
        return json.load(r)
def dump():
    out = subprocess.run([os.environ["IRCLI"], "dump", "--json", "--shm", os.environ["IR_SHM"]],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)["series"]
def fail(msg):
    print("FAIL:", msg); sys.exit(1)

want = {
    'gpu.util{gpu="0"}': 42, 'gpu.mem.util{gpu="0"}': 7,
    'gpu.mem.used{gpu="0"}': 2147483648, 'gpu.mem.total{gpu="0"}': 17163091968,
    'gpu.mem.free{gpu="0"}': 17163091968 - 2147483648,
    'gpu.power{gpu="0"}': 45, 'gpu.temp{gpu="0"}': 38,
    'gpu.clock.sm{gpu="0"}': 800, 'gpu.clock.mem{gpu="0"}': 1600,
    'gpu.count': 1, 'gpu.free': 0,
    'sensor.temp{dev="hwmon1",chip="coretemp",sensor="Package id 0"}': 45,
    'sensor.temp{dev="hwmon1",chip="coretemp",sensor="Core 0"}': 43,
    'sensor.fan{dev="hwmon2",chip="nct6775",sensor="fan1"}': 1200,
    'sensor.power{dev="hwmon2",chip="nct6775",sensor="power1"}': 15.5,
    'sensor.temp{dev="thermal_zone0",chip="thermal",sensor="x86_pkg_temp"}': 47,
}
v = dump()
for k, x in want.items():
    if k not in v: fail("missing %s (have %s)" % (k, sorted(n for n in v if n.startswith(("gpu", "sensor")))))
    if v[k] != x: fail("%s = %r, files say %r" % (k, v[k], x))
extra = [n for n in v if n.startswith("sensor.") and n not in want]
if extra: fail("unexpected sensor series (the card's own hwmon, or a duplicate): %s" % extra)
if 'gpu.util{gpu="1"}' in v: fail("the Intel card or a connector became a gpu")
if 'devices.age{provider="amd"}' not in v: fail("no devices.age for amd")

# re-read every tick
p = os.path.join(S, "class/drm/card0/device/gpu_busy_percent")
with open(p, "r+") as f: f.write("55\n")  # in place: sysfs files are never replaced
for _ in range(50):
    if dump()['gpu.util{gpu="0"}'] == 55: break
    time.sleep(0.1)
else:
    fail("gpu_busy_percent 55 never showed")

node = get("/v1/node")
devs = node.get("devices", [])
if len(devs) != 1: fail("node devices: %s" % devs)
d = devs[0]
exp = {"gpu": 0, "provider": "amd", "vendor": "amd", "model": "AMD Instinct MI210", "driver": "amdgpu",
       "firmware": "113-D67301-063", "pci_bus_id": "0000:03:00.0", "id": "card0"}
for k, x in exp.items():
    if d.get(k) != x: fail("node device %s = %r, want %r" % (k, d.get(k), x))
if d.get("memory_bytes") != 17163091968: fail("memory_bytes %r" % d.get("memory_bytes"))

st = {p["name"]: p for p in get("/v1/status")["device_providers"]}
if set(st) != {"nvml", "amd", "hwmon", "exec"}: fail("providers: %s" % list(st))
if not st["amd"]["found"] or "1 GPU (AMD Instinct MI210)" not in st["amd"]["what"]: fail("amd status %s" % st["amd"])
if not st["hwmon"]["found"] or st["hwmon"]["what"] != "4 hwmon sensors on 2 chips, 1 thermal zone": fail("hwmon status %s" % st["hwmon"])
if st["nvml"]["found"] or "nvml_library = off" not in st["nvml"]["why"]: fail("nvml status %s" % st["nvml"])
if not isinstance(st["amd"]["last_reading_age_s"], float) or st["amd"]["last_reading_age_s"] > 5: fail("amd age %s" % st["amd"])
print("ok")
PY
# the CLI shows the same: the card in `inforeg node`, every provider in `inforeg status`
out=$("$IRCLI" node --shm "$IR_SHM") || ir_fail "inforeg node failed"
[[ $out == *"gpu 0: amd AMD Instinct MI210, 16.0 GiB, driver amdgpu, firmware 113-D67301-063, bus 0000:03:00.0 (amd, id card0)"* ]] ||
	ir_fail "inforeg node: $out"
out=$("$IRCLI" status --shm "$IR_SHM") || ir_fail "inforeg status failed"
for p in "amd      yes" "hwmon    yes" "nvml     no" "exec     no"; do
	[[ $out == *"$p"* ]] || ir_fail "inforeg status lacks '$p': $out"
done
echo "ok: CLI"
