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
usage: bench/python_read.py [BUILD_DIR]
"""

import ctypes
import os
import re
import subprocess
import sys
import time

REPS = 15
top = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(top, "build"))
sys.path.insert(0, os.path.join(top, "python"))
import inforeg  # noqa: E402


def bench(label, iters, fn):
    res = []
    for _ in range(REPS):
        t0 = time.perf_counter_ns()
        fn(iters)
        res.append((time.perf_counter_ns() - t0) / iters)
    res.sort()
    m = res[REPS // 2]
    print(f"{label:<46} {m:10.1f} ns/read")
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

        loop = bench("(empty Python loop, per iteration)", 1_000_000, empty)
        g = bench("Python get()", 200_000, get)
        bench("Python view() + value() + valid()", 100_000, view)
        s = bench(f"Python sample() ({n} values)", 20_000, sample)
        bench("Python history(last 10)", 20_000, hist)
        cg = bench("libinforeg inforeg_read_latest via ctypes", 200_000, cget)
        p = bench("/proc/stat pread from Python, kept fd", 5_000, pread)
        os.close(fd)
        lib.inforeg_close(cr)
        r.close()
        cl = c.get("libinforeg latest value")
        print()
        if cl:
            print(f"Python get() / C inforeg_read_latest:        {g / cl:8.0f}x")
            cs = c.get("libinforeg whole sample copy")
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
