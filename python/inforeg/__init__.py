# SPDX-License-Identifier: MIT
"""inforeg - read an inforeg node registry (/dev/shm/NAME) from Python, zero-copy.

This package is the Python twin of libinforeg (shm/reader.c): it maps the registry
object that inforegd publishes read-only and runs the same seqlock protocol on it
(shm/ring.h, the R1..R5 steps), with the standard library only: mmap and memoryview
for the data, struct for the immutable header, ctypes for the futex sleep.

    import inforeg
    r = inforeg.open("inforeg")          # or $INFOREG_SHM, or "inforeg"
    r.get("cpu.usage")                   # latest value, a float
    s = r.sample()                       # the whole latest sample: s.seq, s["mem.used"]
    seq = r.wait(s.seq, timeout=1.0)     # sleeps on the futex until a newer sample
    r.history("cpu.usage", since=s.seq - 10)
    r.series()                           # [Series(name, unit, kind, help), ...]

See reader.py for the protocol and for why plain memoryview loads keep its ordering.
"""

from .reader import (
    InforegError,
    NoData,
    NoRegistry,
    LayoutError,
    Point,
    Reader,
    Sample,
    Series,
    Stale,
    UnknownSeries,
    View,
    open,
    value_state,
)

__all__ = [
    "InforegError",
    "NoData",
    "NoRegistry",
    "LayoutError",
    "Point",
    "Reader",
    "Sample",
    "Series",
    "Stale",
    "UnknownSeries",
    "View",
    "open",
    "value_state",
]
__version__ = "0.1.0"
