# SPDX-License-Identifier: MIT
"""stress_reader.py NAME SECONDS - run by tests/it_python_stress: reads a registry that a
writer laps constantly (tests/stress_common.h's pattern) through python/inforeg and
verifies every copy against its position. Exit 0: no torn read and enough verified
copies; 1: a torn read; 2: too few verified copies."""

import os
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))
import inforeg  # noqa: E402

N = 48  # STRESS_SERIES
M52 = (1 << 52) - 1


def value(pos, i):
    return float((pos * 2654435761 + i) & M52)


def hash_(vals):
    h = 1469598103934665603
    for v in vals:
        h = ((h ^ struct.unpack("<Q", struct.pack("<d", v))[0]) * 1099511628211) & ((1 << 64) - 1)
    return float(h & M52)


def verify(vals, pos):
    return all(vals[i] == value(pos, i) for i in range(N - 1)) and vals[N - 1] == hash_(vals[: N - 1])


def main():
    name, secs = sys.argv[1], float(sys.argv[2])
    r = inforeg.open(name, follow=False)
    names = [f"stress.v{i}" for i in range(N)]
    assert r.names() == names, r.names()[:3]
    ok = torn = gaveup = lapped_views = 0
    end = time.monotonic() + secs
    k = 0
    while time.monotonic() < end:
        k += 1
        try:
            s = r.sample()
            if verify(s.values, s.seq) and s.realtime_ns == s.seq and s.monotonic_ns == s.seq:
                ok += 1
            else:
                torn += 1
                print(f"torn sample at seq {s.seq}: {s.values[:3]}...")
        except inforeg.NoData:
            gaveup += 1  # lapped 100000 times in a row: no copy, not a torn one
        head = r.head
        s = r.read_at(head - 2)
        if s is not None:
            if verify(s.values, s.seq):
                ok += 1
            else:
                torn += 1
                print(f"torn read_at({s.seq})")
        i = k % (N - 1)
        for p in r.history(names[i], since=head - 6):
            if p.value == value(p.seq, i) and p.realtime_ns == p.seq:
                ok += 1
            else:
                torn += 1
                print(f"torn history point {p}")
        # get(): the value must be series i's at some position published meanwhile
        h0 = r.head
        try:
            x = r.get(names[i])
        except inforeg.NoData:
            gaveup += 1
            continue
        h1 = r.head
        if any(x == value(p, i) for p in range(h0 - 1, h1)):
            ok += 1
        else:
            torn += 1
            print(f"torn get({names[i]}) = {x} for positions {h0 - 1}..{h1 - 1}")
        try:
            v = r.view()
        except inforeg.NoData:
            gaveup += 1
            continue
        a, b = v.values[0], v.values[N - 2]
        if not v.valid():
            lapped_views += 1  # the view says so: not a torn read
        elif a == value(v.seq, 0) and b == value(v.seq, N - 2):
            ok += 1
        else:
            torn += 1
            print(f"torn view at {v.seq}")
        v.release()
    print(f"python reader: {ok} verified, {torn} torn, {lapped_views} views lapped, "
          f"{gaveup} reads gave up (lapped {inforeg.reader._READ_TRIES} times), {k} rounds, head {r.head}")
    r.close()
    return 1 if torn else 2 if ok < 200 else 0


if __name__ == "__main__":
    sys.exit(main())
