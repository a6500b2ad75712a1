#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""python_read - the Python reader's read latency beside libinforeg's, in one run.

Runs bench/read_latency (the C figures: bare seqlock, inforeg_read_latest,
inforeg_fast_read, whole-sample copy) first, then starts its own inforegd (--listen
none, 10 Hz, private shm name) and times, as medians of REPS batches:
  inforeg.Reader.get()              latest value of one series
  inforeg.Reader.view() + valid()   zero-copy latest sample, one value, validated
  inforeg.Reader.sample()           whole latest sample copied into a list
  inforeg.Reader.history(10)        the last ten points of one series
  libinforeg through ctypes         inforeg_read_latest() called from Python
  /proc/stat pread, kept fd         what the registry replaces, from Python
Every figure is also an @result line (bench/benchlib.py): median/min/max over the
batches, the Python reads against libinforeg's C figures of the same run.
usage: bench/python_read.py [BUILD_DIR]   (QUICK=1: 5 batches of a tenth)
"""

import ctypes
import os
import re
import subprocess
import sys
import time

QUICK = os.environ.get("QUICK") == "1"
REPS = 5 if QUICK else 15
SCALE = 10 if QUICK else 1
top = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(top, "build"))
sys.path.insert(0, os.path.join(top, "python"))
sys.path.insert(0, os.path.join(top, "bench"))
import inforeg  # noqa: E402
import benchlib  # noqa: E402


def bench(label, iters, fn, metric=None, baseline=None):
    iters = max(1, iters // SCALE)
    res = []
    for _ in range(REPS):
        t0 = time.perf_counter_ns()
        fn(iters)
        res.append((time.perf_counter_ns() - t0) / iters)
    res.sort()
    m = res[REPS // 2]
    print(f"{label:<46} {m:10.1f} ns/read")
    if metric:
        benchlib.result("python_read", metric, "ns", res, baseline)
    return m


def main():
    c = {}
    rl = os.path.join(build, "bench", "read_latency")
    if os.access(rl, os.X_OK):
        out = subprocess.run([rl, os.path.join(build, "bin", "inforegd")], capture_output=True, text=True).stdout
        print("-- C (bench/read_latency, same run)")
        for line in out.splitlines():
            mm = re.match(r"(.+?)\s+([\d.]+) ns/read", line)
            if mm:
                c[mm.group(1).strip()] = float(mm.group(2))
                print(line)
    else:
        print(f"(no {rl}: `make benches` for the C figures)")

    shm = f"irbench-py-{os.getpid()}"
    d = subprocess.Popen([os.path.join(build, "bin", "inforegd"), "--shm", shm, "--listen", "none", "--period", "100"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        r = None
        for _ in range(100):
            try:
                r = inforeg.open(shm)
                r.get("cpu.usage")
                break
            except (inforeg.NoRegistry, inforeg.NoData):
                r = None
                time.sleep(0.1)
        if r is None:
            sys.exit("python_read: inforegd did not start")
        r.wait(r.head - 1, 3)
        n = len(r.series())
        print(f"-- Python {sys.version.split()[0]} (python/inforeg), {n} series, median of {REPS} batches")

        def get(k, g=r.get):
            for _ in range(k):
                g("cpu.usage")

        def view(k):
            for _ in range(k):
                v = r.view()
                v.value("cpu.usage")
                v.valid()
                v.release()

        def sample(k):
            for _ in range(k):
                r.sample()

        def hist(k):
            for _ in range(k):
                r.history("cpu.usage", r.head - 10)

        lib = ctypes.CDLL(os.path.join(build, "lib", "libinforeg.so"))
        lib.inforeg_open.restype = ctypes.c_void_p
        lib.inforeg_open.argtypes = [ctypes.c_char_p, ctypes.c_uint]
        lib.inforeg_lookup.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        lib.inforeg_read_latest.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_double),
                                            ctypes.c_void_p]
        lib.inforeg_close.argtypes = [ctypes.c_void_p]
        cr = lib.inforeg_open(shm.encode(), 0)
        h = lib.inforeg_lookup(cr, b"cpu.usage")
        val = ctypes.c_double()

        def cget(k, f=lib.inforeg_read_latest, ref=ctypes.byref(val)):
            for _ in range(k):
                f(cr, h, ref, None)

        fd = os.open("/proc/stat", os.O_RDONLY)

        def pread(k):
            for _ in range(k):
                os.pread(fd, 16384, 0)

        def empty(k):
            for _ in range(k):
                pass

        cl, cs = c.get("libinforeg latest value"), c.get("libinforeg whole sample copy")
        if cl:
            benchlib.result("python_read", "c_latest", "ns", [cl])
        if cs:
            benchlib.result("python_read", "c_sample_copy", "ns", [cs])
        loop = bench("(empty Python loop, per iteration)", 1_000_000, empty, "empty_loop")
        g = bench("Python get()", 200_000, get, "get", "c_latest" if cl else None)
        bench("Python view() + value() + valid()", 100_000, view, "view_value_valid", "get")
        s = bench(f"Python sample() ({n} values)", 20_000, sample, "sample", "c_sample_copy" if cs else None)
        bench("Python history(last 10)", 20_000, hist, "history10", "get")
        cg = bench("libinforeg inforeg_read_latest via ctypes", 200_000, cget, "ctypes_read_latest",
                   "c_latest" if cl else None)
        p = bench("/proc/stat pread from Python, kept fd", 5_000, pread, "proc_stat_pread", "get")
        benchlib.note("python_read", "%d series; c_latest and c_sample_copy are bench/read_latency's medians in "
                      "the same run; Python figures: median/min/max over %d batches" % (n, REPS))
        os.close(fd)
        lib.inforeg_close(cr)
        r.close()
        print()
        if cl:
            print(f"Python get() / C inforeg_read_latest:        {g / cl:8.0f}x")
            if cs:
                print(f"Python sample() / C whole sample copy:       {s / cs:8.0f}x")
        print(f"Python get() / ctypes inforeg_read_latest:   {g / cg:8.2f}x")
        print(f"/proc/stat pread / Python get():             {p / g:8.1f}x")
        print(f"Python get() less the empty loop:            {g - loop:8.1f} ns")
    finally:
        d.terminate()
        d.wait()


if __name__ == "__main__":
    main()
