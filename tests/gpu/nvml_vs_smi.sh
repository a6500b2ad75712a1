#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/gpu/nvml_vs_smi.sh - for a machine with an NVIDIA GPU and its driver (not run
# by CI, which has no GPU; not in tests/run.sh's it_* pattern on purpose).
#
# Builds inforeg, starts inforegd for DURATION seconds (default 10) beside a small GPU
# load, and once a second reads every gpu.* series from the ring (inforeg dump --json)
# and, in the same second, `nvidia-smi --query-gpu=... --format=csv` (and `nvidia-smi
# dmon -s t` for PCIe throughput); then prints, per GPU and series, both figures and
# whether they agree within a tolerance that allows for the two tools sampling at
# different instants (utilisation +-15 points, power +-10 % or 15 W, temperature +-2 C,
# clocks +-5 %, memory +-2 % or 64 MiB, sizes and error counts exactly).
#
# The load: a tiny CUDA kernel built with nvcc if there is one, else PyTorch or CuPy in
# /usr/bin/python3, else none (the comparison then runs on an idle GPU; it says so).
# Usage: tests/gpu/nvml_vs_smi.sh [DURATION_S]    env: NO_BUILD=1 to skip `make`,
#        OUT=DIR for the CSV of every pair (default a temporary directory).
# Exit: 0 all series agree, 1 some disagree, 77 no NVIDIA GPU / driver here.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
dur=${1:-10}
B=${INFOREG_BUILD:-$top/build}
out=${OUT:-$(mktemp -d /tmp/nvml_vs_smi.XXXXXX)}
mkdir -p "$out"
command -v nvidia-smi >/dev/null || { echo "SKIP: no nvidia-smi"; exit 77; }
nvidia-smi -L >/dev/null 2>&1 || { echo "SKIP: nvidia-smi finds no GPU"; exit 77; }
[ -n "${NO_BUILD:-}" ] || (cd "$top" && nice make -j"$(nproc)" all) || { echo "FAIL: build"; exit 1; }

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -f "/dev/shm/$shm" "/dev/shm/$shm.lock"; }
trap cleanup EXIT

# ---- a small load -------------------------------------------------------------
load="none"
if command -v nvcc >/dev/null; then
	cat >"$out/burn.cu" <<'CU'
#include <cstdio>
__global__ void spin(float *x, int n) { int i = blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n) { float v = x[i]; for (int k = 0; k < 20000; k++) v = v * 0.999f + 0.001f; x[i] = v; } }
int main() { int n = 1 << 22; float *x; /* ~1 GiB, a few seconds of kernels at a time */
	if (cudaMalloc(&x, n * sizeof(float) * 64) != cudaSuccess) return 1;
	for (;;) { spin<<<(n + 255) / 256, 256>>>(x, n); if (cudaDeviceSynchronize() != cudaSuccess) return 1; } }
CU
	if nvcc -O2 -o "$out/burn" "$out/burn.cu" 2>"$out/nvcc.log"; then
		"$out/burn" & pids+=($!); load="nvcc kernel (pid $!)"
	fi
fi
if [ "$load" = none ] && /usr/bin/python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
	/usr/bin/python3 -c 'import torch
a = torch.randn(4096, 4096, device="cuda")
while True: a = (a @ a).tanh_(); torch.cuda.synchronize()' & pids+=($!); load="torch matmul (pid $!)"
fi
if [ "$load" = none ] && /usr/bin/python3 -c 'import cupy' 2>/dev/null; then
	/usr/bin/python3 -c 'import cupy
a = cupy.random.rand(4096, 4096, dtype=cupy.float32)
while True: a = cupy.tanh(a @ a); cupy.cuda.Device().synchronize()' & pids+=($!); load="cupy matmul (pid $!)"
fi
sleep 1
if [ ${#pids[@]} -gt 0 ] && ! kill -0 "${pids[-1]}" 2>/dev/null; then load="none ($load exited at once)"; fi
echo "load: $load"

# ---- inforegd ------------------------------------------------------------------
shm=irgpu-$$
printf 'listen = none\nebpf = off\nperiod_ms = 100\n' >"$out/inforegd.conf"
# NVML_LIBRARY: only for a dry run of this script on the fake library (tests/fake_nvml.c)
[ -n "${NVML_LIBRARY:-}" ] && printf 'nvml_library = %s\n' "$NVML_LIBRARY" >>"$out/inforegd.conf"
"$B/bin/inforegd" --shm "$shm" --config "$out/inforegd.conf" >"$out/inforegd.log" 2>&1 & pids+=($!)
for _ in $(seq 50); do "$B/bin/inforeg" get --shm "$shm" gpu.count >/dev/null 2>&1 && break; sleep 0.2; done
sleep 2 # the load ramps up, NVML's utilisation window fills

INFOREG=$B/bin/inforeg SHM=$shm DUR=$dur OUT=$out LOAD=$load /usr/bin/python3 - <<'PY'
import csv, json, os, subprocess, sys, time
IR, SHM, DUR, OUT = os.environ["INFOREG"], os.environ["SHM"], int(os.environ["DUR"]), os.environ["OUT"]
Q = ["index", "utilization.gpu", "utilization.memory", "memory.used", "memory.total", "power.draw",
     "temperature.gpu", "clocks.sm", "clocks.mem", "ecc.errors.corrected.volatile.total",
     "ecc.errors.uncorrected.volatile.total", "clocks_throttle_reasons.active"]
MiB = 1024 * 1024
# series -> (smi field or None, to ring units, tolerance(ours, smi) -> bool)
def pts(n): return lambda a, b: abs(a - b) <= n
def rel(r, floor): return lambda a, b: abs(a - b) <= max(r * abs(b), floor)
exact = lambda a, b: a == b
S = {
    "gpu.util": ("utilization.gpu", 1, pts(15)), "gpu.mem.util": ("utilization.memory", 1, pts(15)),
    "gpu.mem.used": ("memory.used", MiB, rel(0.02, 64 * MiB)), "gpu.mem.total": ("memory.total", MiB, rel(0, MiB)),
    "gpu.power": ("power.draw", 1, rel(0.10, 15)), "gpu.temp": ("temperature.gpu", 1, pts(2)),
    "gpu.clock.sm": ("clocks.sm", 1, rel(0.05, 30)), "gpu.clock.mem": ("clocks.mem", 1, rel(0.05, 30)),
    "gpu.ecc.corrected": ("ecc.errors.corrected.volatile.total", 1, exact),
    "gpu.ecc.uncorrected": ("ecc.errors.uncorrected.volatile.total", 1, exact),
    "gpu.throttle": ("clocks_throttle_reasons.active", 1, exact),
    "gpu.mem.free": (None, 1, None), "gpu.pcie.rx": ("rxpci", MiB, rel(0.5, 50 * MiB)),
    "gpu.pcie.tx": ("txpci", MiB, rel(0.5, 50 * MiB)),
}
def num(s):
    s = s.strip()
    if s.startswith("0x"): return float(int(s, 16))
    try: return float(s.split()[0])
    except ValueError: return None  # [N/A], [Not Supported]
def smi():
    out = subprocess.run(["nvidia-smi", "--query-gpu=" + ",".join(Q), "--format=csv,noheader,nounits"],
                         capture_output=True, text=True).stdout
    rows = {}
    for r in csv.reader(out.strip().splitlines()):
        d = dict(zip(Q, r)); rows[int(d["index"])] = {k: num(v) for k, v in d.items()}
    dm = subprocess.run(["nvidia-smi", "dmon", "-s", "t", "-c", "1"], capture_output=True, text=True).stdout
    for line in dm.splitlines():
        f = line.split()
        if f and f[0].isdigit() and len(f) >= 3 and int(f[0]) in rows:  # gpu rxpci txpci (MB/s)
            rows[int(f[0])]["rxpci"], rows[int(f[0])]["txpci"] = num(f[1]), num(f[2])
    return rows
def ours():
    out = subprocess.run([IR, "dump", "--json", "--shm", SHM], capture_output=True, text=True, check=True).stdout
    return json.loads(out)["series"]
pairs = []
n_smi = len(subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True).stdout.strip().splitlines())
for sec in range(DUR):
    t = time.time(); time.sleep(max(0, 1 - (t % 1)))  # start of a second
    s, o = smi(), ours()
    for g, row in s.items():
        for name, (field, scale, tol) in S.items():
            v = o.get('%s{gpu="%d"}' % (name, g))
            ref = None if field is None else row.get(field)
            pairs.append((sec, g, name, v, None if ref is None else ref * scale))
    pairs.append((sec, -1, "gpu.count", o.get("gpu.count"), float(n_smi)))
with open(os.path.join(OUT, "pairs.csv"), "w") as f:
    w = csv.writer(f); w.writerow(["second", "gpu", "series", "inforeg", "nvidia-smi"]); w.writerows(pairs)
bad = 0
print("load: %s; %d seconds; every pair in %s/pairs.csv" % (os.environ["LOAD"], DUR, OUT))
print("| gpu | series | inforeg (median) | nvidia-smi (median) | agree |")
print("| --- | --- | --- | --- | --- |")
keys = sorted({(g, n) for _, g, n, _, _ in pairs})
for g, n in keys:
    ps = [(a, b) for _, gg, nn, a, b in pairs if gg == g and nn == n]
    tol = S[n][2] if n in S else exact
    ok = [None if a is None or b is None or tol is None else tol(a, b) for a, b in ps]
    med = lambda xs: sorted(xs)[len(xs) // 2] if xs else None
    verdict = "n/a (one side has no figure)" if all(x is None for x in ok) else \
        ("yes" if all(x in (True, None) for x in ok) else "NO (%d of %d seconds)" % (ok.count(False), len(ok)))
    if verdict.startswith("NO"): bad += 1
    print("| %s | %s | %s | %s | %s |" % (g if g >= 0 else "-", n, med([a for a, _ in ps if a is not None]),
                                         med([b for _, b in ps if b is not None]), verdict))
sys.exit(1 if bad else 0)
PY
rc=$?
echo "status: $("$B/bin/inforeg" status --shm "$shm" | /usr/bin/python3 -c 'import json,sys; print([p for p in json.load(sys.stdin)["device_providers"] if p["name"]=="nvml"])')"
exit $rc
