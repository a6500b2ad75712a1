# SPDX-License-Identifier: MIT
"""The registry reader: mapping, seqlock protocol, following the writer, futex wait.

The shared-memory ABI is include/inforeg_layout.h; the protocol is the table in
shm/ring.h, mirrored here step by step:

    R1  head = header.head                  (pairs with the writer's W5)
    R2  s1   = slot.seq; s1 != 2p+2: retry  (pairs with W4)
    R3  x    = slot.values[i]               (pairs with W2)
    R4  slot.seq == s1, else retry          (a lapping writer made it odd first, W1)
    R5  w = header.futex before head, then FUTEX_WAIT(w)   (pairs with W6)

Why plain Python loads keep the ordering the C reader gets from acquire loads, on
x86-64 (the only architecture this module accepts):

- Every shared word is read through a memoryview cast to 'Q' (uint64), 'd' (double)
  or 'I' (uint32) over the mmap. CPython reads one item with a fixed-size memcpy
  (Objects/memoryobject.c, unpack_single), which gcc compiles to one aligned MOV: every
  word the protocol touches is 8-byte aligned (the writer lays the object out so), so
  each load is single-copy atomic, never torn, exactly like the C reader's
  atomic_load on x86-64 (also a plain MOV).
- x86-64 is TSO: the CPU never reorders a load with an older load, so every load
  already has acquire semantics, and R4 (relaxed in C) is even stronger here.
- The compiler cannot reorder or merge loads of consecutive protocol steps either:
  each step is a separate bytecode whose evaluation calls opaque functions and writes
  memory (reference counts) between the loads, and the mapped memory is reachable
  through an escaped pointer, so the C compiler must emit the loads in program order.
  Within one step (memoryview.tolist() over a slot's values, R3) the order of the data
  loads among themselves does not matter: they all lie between R2 and R4.

On a weakly ordered CPU (arm64) none of this holds without fences that Python cannot
issue, so open() refuses with InforegError rather than risk torn values.

A Reader is not thread-safe (it swaps its mapping when the writer retires the object):
give each thread its own Reader; opening one costs one mmap.
"""

import builtins
import ctypes
import errno
import json
import mmap
import os
import platform
import stat
import struct
import time
from collections import namedtuple

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

# ---- the ABI (include/inforeg_layout.h) -------------------------------------

MAGIC = 0x31474552464E4926  # "&INFREG1" little-endian
LAYOUT_MAJOR = 1  # INFOREG_LAYOUT_VERSION: a different major is refused
# Minor versions add compatible fields in reserved (zeroed) space; any minor is read, a
# field of minor m is used only when the object's layout_minor >= m.
#   minor 1: layout_minor, writer_uid, writer_pidns, heartbeat_ns, heartbeat; a new
#            object of the same writer continues the sequence (first_pos).
LAYOUT_MINOR_LIVENESS = 1
SHM_DIR = "/dev/shm"  # where inforegd publishes; $INFOREG_SHM_DIR or shm_dir= overrides
DEFAULT_SHM = "inforeg"

# The immutable part of struct inforeg_shm_header (written before the object is
# renamed into place, so a reader that opened the name sees all of it).
_IMMUTABLE = struct.Struct(
    "<Q"  # magic
    "I"  # layout_version
    "I"  # header_size
    "Q"  # generation
    "Q"  # start_realtime_ns
    "Q"  # start_monotonic_ns
    "Q"  # period_ns
    "I"  # writer_pid
    "I"  # series_count
    "I"  # capacity
    "I"  # slot_size
    "Q"  # dir_offset
    "Q"  # doc_offset
    "Q"  # ring_offset
    "Q"  # total_size
    "Q"  # layout_serial
    "Q"  # first_pos
    "I"  # layout_minor (minor >= 1; 0 in reserved space before)
    "I"  # writer_uid (minor >= 1)
    "Q"  # writer_pidns (minor >= 1): inode of the writer's /proc/self/ns/pid, 0 unknown
)
_HEADER_MIN = 384  # sizeof(struct inforeg_shm_header) in layout 1; a later minor may append
_HEAD_OFF = 256  # atomic uint64 head: next position to write
_FLAGS_OFF = 264  # atomic uint32 flags (INFOREG_F_*), same cache line as head
_DROPPED_OFF = 272  # atomic uint64 dropped
_HEARTBEAT_NS_OFF = 280  # minor >= 1: atomic uint64, CLOCK_MONOTONIC of the writer's last tick
_HEARTBEAT_OFF = 288  # minor >= 1: atomic uint64, ticks since the object was published
_FUTEX_OFF = 320  # atomic uint32 futex word, its own cache line
F_RETIRED = 1

_DESC_SIZE = 256  # struct inforeg_series_desc
_NAME_MAX, _UNIT_MAX, _HELP_MAX = 128, 16, 104
_DESC = struct.Struct("<128s16sII104s")
_DOC_MAX = 65536
_DOC_SIZE = 24 + _DOC_MAX  # struct inforeg_doc: seq, len, pad, update_realtime_ns, words
_DOC_NODE, _DOC_STATUS = 0, 1
_SLOT_HDR_WORDS = 4  # struct inforeg_slot_header: seq, realtime_ns, monotonic_ns, reserved

_U64 = (1 << 64) - 1
_KINDS = {0: "gauge", 1: "rate", 2: "counter"}
_REOPEN_RETRY_NS = 50_000_000  # a retired object with no successor: retry every 50 ms
_WAIT_STEP_NS = 20_000_000  # wait() without a live writer: look for a successor every 20 ms
_FOLLOW_CHAIN = 8  # successors found already retired in a row before giving up
_READ_TRIES = 100_000  # seqlock retries before a read gives up (RING_READ_TRIES)

CHANGED_GENERATION = 1  # the writer restarted
CHANGED_LAYOUT = 2  # the series set changed

# ---- errors --------------------------------------------------------------------


class InforegError(Exception):
    """Base class of every error this module raises."""


class NoRegistry(InforegError, OSError):
    """No registry object under that name (inforegd not running, wrong name, no access)."""


class LayoutError(NoRegistry):
    """The object is not an inforeg registry of a layout this reader understands."""


class Stale(InforegError):
    """The writer retired the object (exited, or restarting) and nothing replaced it yet.

    The data read before the retirement stays valid: .value and .seq carry the last one
    when the call had one to give."""

    def __init__(self, msg, value=None, seq=None):
        super().__init__(msg)
        self.value = value
        self.seq = seq


class UnknownSeries(InforegError, KeyError):
    """No series of that name in the registry's current series set."""

    def __str__(self):
        return str(self.args[0]) if self.args else "unknown series"


class NoData(InforegError):
    """The registry exists but the writer has not published a sample yet."""


# A value's state travels in the value (include/inforeg.h, inforeg_value_state): a number is
# fresh; a NaN's payload says why there is no number. Python floats keep the payload
# (memoryview reads copy the 8 bytes), so this decodes what get()/sample() return.
_NAN_STALE_BITS = 0x7FF8495200000001
_NAN_FAILED_BITS = 0x7FF8495200000002
_DOUBLE = struct.Struct("<d")
_UINT64 = struct.Struct("<Q")


def value_state(v):
    """'fresh' (a number), 'stale' (older than its time-to-live), 'failed' (its source
    failed) or 'unknown' (NaN: no value yet), as inforeg_value_state()."""
    if v == v:
        return "fresh"
    u = _UINT64.unpack(_DOUBLE.pack(v))[0] & 0x7FFFFFFFFFFFFFFF  # sign bit ignored
    return "stale" if u == _NAN_STALE_BITS else "failed" if u == _NAN_FAILED_BITS else "unknown"


Series = namedtuple("Series", "name unit kind help")
Point = namedtuple("Point", "seq realtime_ns monotonic_ns value")

# ---- the futex and the header page, through libc --------------------------------

_SYS_FUTEX = {"x86_64": 202}
_FUTEX_WAIT = 0
_libc = ctypes.CDLL(None, use_errno=True)
_syscall = _libc.syscall
_syscall.restype = ctypes.c_long
_mmap = _libc.mmap
_mmap.restype = ctypes.c_void_p
_mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
_munmap = _libc.munmap
_munmap.restype = ctypes.c_int
_munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_MAP_FAILED = ctypes.c_void_p(-1).value
_PAGE = mmap.PAGESIZE


class _timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


def _futex_wait(addr, expected, timeout_ns):
    """FUTEX_WAIT (shared, not PRIVATE: the writer is another process) on ADDR while it
    holds EXPECTED, at most TIMEOUT_NS. ctypes releases the GIL for the call."""
    ts = _timespec(timeout_ns // 1_000_000_000, timeout_ns % 1_000_000_000)
    r = _syscall(
        ctypes.c_long(_SYS_FUTEX["x86_64"]),
        ctypes.c_void_p(addr),
        ctypes.c_int(_FUTEX_WAIT),
        ctypes.c_uint32(expected),
        ctypes.byref(ts),
        ctypes.c_void_p(0),
        ctypes.c_uint32(0),
    )
    if r < 0:
        e = ctypes.get_errno()
        if e not in (errno.EAGAIN, errno.ETIMEDOUT, errno.EINTR):
            raise OSError(e, "FUTEX_WAIT: " + os.strerror(e))


def _check_name(name):
    # the daemon's shm_name_check: [A-Za-z0-9._-], no leading dot, at most 200 bytes
    ok = 0 < len(name) <= 200 and name[0] != "." and all(c.isascii() and (c.isalnum() or c in "-_.") for c in name)
    if not ok:
        raise NoRegistry(errno.EINVAL, f"bad registry name {name!r} (letters, digits, '.', '-', '_'; no leading dot)")


def _owner_trusted(uid):
    """Root, ourselves, or the daemon user named in $INFOREG_SHM_UID (as libinforeg)."""
    if uid in (0, os.geteuid()):
        return True
    e = os.environ.get("INFOREG_SHM_UID", "")
    return e.isdigit() and int(e) == uid


def _pid_running(pid):
    """True if PID exists and is not a zombie, False if not, None if we cannot tell."""
    if pid <= 0:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        with builtins.open(f"/proc/{pid}/stat", "rb") as f:  # open() is ours here
            st = f.read(512)
    except FileNotFoundError:
        return False
    except OSError:
        return True
    i = st.rfind(b")")  # comm may hold spaces and parentheses
    return not (i >= 0 and st[i + 1: i + 2] == b" " and st[i + 2: i + 3] in (b"Z", b"X"))


def _own_pidns():
    try:
        return os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return 0


def _cstr(b):
    return b.split(b"\0", 1)[0].decode("utf-8", "replace")


def _s64(x):
    """x (mod 2^64) as a signed 64-bit difference."""
    x &= _U64
    return x - (1 << 64) if x >> 63 else x


# ---- one mapped object ---------------------------------------------------------------


class _Mapping:
    """One registry object mapped read-only: the data through an mmap + memoryviews, the
    header page a second time through libc's mmap for the futex address (a read-only
    Python mmap does not give its address away; a shared futex is keyed on the file
    page, so any mapping of it is the same futex)."""

    __slots__ = (
        "mm", "mv", "q", "d", "u32", "futex_addr", "dev", "ino", "size",
        "generation", "start_realtime_ns", "start_monotonic_ns", "period_ns", "writer_pid",
        "count", "capacity", "mask", "slot_w", "ring_w", "dir_offset", "doc_offset",
        "layout_serial", "first", "layout_version", "header_size", "layout_minor", "writer_uid",
        "writer_pidns", "uid",
        "names", "index", "series",
    )

    def __init__(self, name, shm_dir):
        path = os.path.join(shm_dir, name)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
        except FileNotFoundError:
            raise NoRegistry(errno.ENOENT, f"no registry {path} (is inforegd running with --shm {name}?)") from None
        except OSError as e:
            raise NoRegistry(e.errno, f"cannot open registry {path}: {e.strerror}") from None
        self.mm = None
        self.futex_addr = None
        try:
            st = os.fstat(fd)
            self.dev, self.ino, self.size, self.uid = st.st_dev, st.st_ino, st.st_size, st.st_uid
            if not stat.S_ISREG(st.st_mode) or not _owner_trusted(st.st_uid):
                raise NoRegistry(
                    errno.EPERM,
                    f"{path} is owned by uid {st.st_uid}, not root, you, or $INFOREG_SHM_UID: not trusted",
                )
            if self.size < _HEADER_MIN or self.size % 8:
                raise LayoutError(errno.EPROTO, f"{path}: {self.size} bytes is not an inforeg registry")
            self.mm = mmap.mmap(fd, self.size, mmap.MAP_SHARED, mmap.PROT_READ)
            addr = _mmap(None, _PAGE, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
            if addr is None or addr == _MAP_FAILED:
                e = ctypes.get_errno()
                raise NoRegistry(e, f"{path}: mmap: {os.strerror(e)}")
            self.futex_addr = addr + _FUTEX_OFF
        except BaseException:
            self.close()
            raise
        finally:
            os.close(fd)
        try:
            self._parse(path)
        except BaseException:
            self.close()
            raise

    def _parse(self, path):
        (magic, self.layout_version, self.header_size, self.generation, self.start_realtime_ns,
         self.start_monotonic_ns, self.period_ns, self.writer_pid, self.count, self.capacity,
         slot_size, self.dir_offset, self.doc_offset, ring_offset, total_size, self.layout_serial,
         self.first, self.layout_minor, self.writer_uid, self.writer_pidns) = _IMMUTABLE.unpack_from(self.mm, 0)
        if magic != MAGIC:
            raise LayoutError(errno.EPROTO, f"{path}: bad magic {magic:#018x}, not an inforeg registry")
        if self.layout_version != LAYOUT_MAJOR:
            raise LayoutError(
                errno.EPROTO,
                f"{path}: layout version {self.layout_version}, this reader knows {LAYOUT_MAJOR}",
            )
        # the same bounds as ring_check(): nothing below may index outside the object
        cap = self.capacity
        bad = (
            self.header_size < _HEADER_MIN or self.header_size % 8 or self.header_size > self.size
            or cap < 2 or cap & (cap - 1)
            or total_size > self.size
            or slot_size % 64 or slot_size < 8 * (_SLOT_HDR_WORDS + self.count)
            or ring_offset % 8 or self.dir_offset % 8 or self.doc_offset % 8
            or self.dir_offset < self.header_size
            or self.dir_offset + self.count * _DESC_SIZE > self.doc_offset
            or self.doc_offset + 2 * _DOC_SIZE > ring_offset
            or ring_offset + cap * slot_size > total_size
        )
        if bad:
            raise LayoutError(errno.EINVAL, f"{path}: inconsistent header (sizes/offsets out of the object)")
        self.mask = cap - 1
        self.slot_w = slot_size // 8
        self.ring_w = ring_offset // 8
        self.mv = memoryview(self.mm)
        self.q = self.mv.cast("Q")
        self.d = self.mv.cast("d")
        self.u32 = self.mv.cast("I")
        names, series = [], []
        for i in range(self.count):
            name, unit, kind, _flags, help_ = _DESC.unpack_from(self.mm, self.dir_offset + i * _DESC_SIZE)
            n = _cstr(name)
            names.append(n)
            series.append(Series(n, _cstr(unit), _KINDS.get(kind, str(kind)), _cstr(help_)))
        self.names = tuple(names)
        self.series = tuple(series)
        self.index = {n: i for i, n in enumerate(names)}

    def retired(self):
        # flags is a uint32 at an 8-aligned offset: one aligned load
        return self.u32[_FLAGS_OFF // 4] & F_RETIRED

    def close(self):
        if self.futex_addr is not None:
            _munmap(ctypes.c_void_p(self.futex_addr - _FUTEX_OFF), _PAGE)
            self.futex_addr = None
        for v in ("u32", "d", "q", "mv"):
            view = getattr(self, v, None)
            if view is not None:
                view.release()
                setattr(self, v, None)
        if self.mm is not None:
            try:
                self.mm.close()
            except BufferError:
                pass  # a View still exports it: the mmap closes when the last one goes
            self.mm = None

    # R1..R4 for one position: (realtime_ns, monotonic_ns, values) or a reason
    def read_at(self, pos, first, n):
        """Words [first, first+n) of position POS. Returns (rt, mono, list) or
        'again' (not written yet) or 'lapped' (overwritten)."""
        q = self.q
        w = self.ring_w + (pos & self.mask) * self.slot_w
        want = (2 * pos + 2) & _U64
        s1 = q[w]  # R2, pairs with W4
        if s1 != want:
            # not p (yet, or any more): head read after s1 tells which (as ring_read_at)
            head = q[_HEAD_OFF // 8]
            if _s64(pos - head) >= 0:
                return "again"
            s1 = q[w]
            if s1 != want:
                return "lapped"
        rt = q[w + 1]  # R3, pairs with W2
        mono = q[w + 2]
        v = self.d[w + _SLOT_HDR_WORDS + first: w + _SLOT_HDR_WORDS + first + n].tolist()
        if q[w] != s1:  # R4
            return "lapped"
        return rt, mono, v

    def doc(self, doc_id):
        """Document DOC_ID's text under its seqlock, or None if never written."""
        off = self.doc_offset + doc_id * _DOC_SIZE
        q, w = self.q, off // 8
        for _ in range(1000):
            s1 = q[w]  # pairs with the writer's W4 (release of an even seq)
            if s1 & 1:
                continue
            if s1 == 0:
                return None
            n = self.u32[(off + 8) // 4]
            if n >= _DOC_MAX:
                continue
            text = self.mm[off + 24: off + 24 + n]
            if q[w] == s1:
                return text.decode("utf-8", "replace")
        raise InforegError(f"document {doc_id} kept changing under the reader")


# ---- public value types ----------------------------------------------------------------


class Sample:
    """One whole sample, copied out under the seqlock: s.seq, s.realtime_ns,
    s.monotonic_ns, s.generation, s.values (list of floats, directory order), s.names,
    s["cpu.usage"], s.as_dict()."""

    __slots__ = ("seq", "realtime_ns", "monotonic_ns", "generation", "values", "names", "_index")

    def __init__(self, seq, rt, mono, generation, values, names, index):
        self.seq, self.realtime_ns, self.monotonic_ns = seq, rt, mono
        self.generation, self.values, self.names, self._index = generation, values, names, index

    def __getitem__(self, name):
        i = self._index.get(name)
        if i is None:
            raise UnknownSeries(name)
        return self.values[i]

    def __contains__(self, name):
        return name in self._index

    def get(self, name, default=None):
        i = self._index.get(name)
        return default if i is None else self.values[i]

    def as_dict(self):
        return dict(zip(self.names, self.values))

    def __repr__(self):
        return f"<inforeg.Sample seq={self.seq} series={len(self.values)}>"


class View:
    """The latest sample in place, zero-copy: .values is a memoryview of doubles over the
    slot itself. Read what you need, then call .valid(): False means the writer
    overwrote the slot meanwhile and what you read may be torn (take a new view).
    Call .release() (or use `with`) when done, so the mapping can be closed."""

    __slots__ = ("seq", "realtime_ns", "monotonic_ns", "generation", "values", "_q", "_w", "_s1", "_index")

    def __init__(self, m, pos, w, s1, rt, mono):
        self.seq, self.realtime_ns, self.monotonic_ns, self.generation = pos, rt, mono, m.generation
        self._q, self._w, self._s1, self._index = m.q[w: w + 1], w, s1, m.index
        self.values = m.d[w + _SLOT_HDR_WORDS: w + _SLOT_HDR_WORDS + m.count]

    def value(self, name):
        i = self._index.get(name)
        if i is None:
            raise UnknownSeries(name)
        return self.values[i]  # R3

    def valid(self):
        return self._q[0] == self._s1  # R4

    def release(self):
        self.values.release()
        self._q.release()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()


# ---- the reader ----------------------------------------------------------------------


class Reader:
    """A registry reader; see open()."""

    def __init__(self, name=None, *, follow=True, shm_dir=None):
        if platform.machine() not in _SYS_FUTEX:
            raise InforegError(
                f"inforeg's Python reader needs x86-64's load ordering (see reader.py); this is {platform.machine()}"
            )
        if name is None:
            name = os.environ.get("INFOREG_SHM") or DEFAULT_SHM
        _check_name(name)
        self._name = name
        self._dir = shm_dir or os.environ.get("INFOREG_SHM_DIR") or SHM_DIR
        self._follow_enabled = follow
        self._m = _Mapping(name, self._dir)
        self._next_try_ns = 0
        self._reopens = 0
        self._last_change = 0

    # -- lifetime
    def close(self):
        if self._m is not None:
            self._m.close()
            self._m = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    # -- following the writer
    def _follow(self):
        """The current object is retired: move to its successor. Returns True if moved,
        False if there is none yet (rate-limited to one attempt per 50 ms)."""
        if not self._follow_enabled:
            return False
        now = time.monotonic_ns()
        if now < self._next_try_ns:
            return False
        old = self._m
        m = None
        # the writer renames the successor into place before it retires the old object,
        # so it is there now; one already retired in turn (two quick replacements) is
        # skipped at once
        for _ in range(_FOLLOW_CHAIN):
            try:
                m = _Mapping(self._name, self._dir)
            except NoRegistry:
                m = None
                break
            if (m.dev, m.ino) == (old.dev, old.ino) or not m.retired():
                break
            m.close()
            m = None
        if m is None or (m.dev, m.ino) == (old.dev, old.ino):
            if m is not None:
                m.close()
            self._next_try_ns = now + _REOPEN_RETRY_NS
            return False
        changed = 0
        if m.generation != old.generation:
            changed |= CHANGED_GENERATION | CHANGED_LAYOUT
        if m.layout_serial != old.layout_serial:
            changed |= CHANGED_LAYOUT
        self._m = m
        self._reopens += 1
        self._last_change = changed
        old.close()
        return True

    def _current(self):
        """The mapping to read and whether it is stale (retired, no successor)."""
        m = self._m
        if m is None:
            raise InforegError("reader is closed")
        if m.retired():
            if not self._follow():
                return self._m, True
            m = self._m
        return m, False

    def refresh(self):
        """Follows the writer now if the object was retired. Returns 0 (nothing changed)
        or CHANGED_GENERATION|CHANGED_LAYOUT flags; raises Stale without a successor."""
        m = self._m
        if m is None:
            raise InforegError("reader is closed")
        if not m.retired():
            return 0
        self._next_try_ns = 0
        if not self._follow():
            raise Stale(f"registry {self._name} was retired and nothing replaced it yet")
        return self._last_change

    # -- reads
    def get(self, name):
        """Latest value of series NAME (a float; NaN when the writer had none)."""
        for _ in range(_READ_TRIES):
            m = self._m
            if m is None:
                raise InforegError("reader is closed")
            q = m.q
            if m.u32[_FLAGS_OFF // 4] & F_RETIRED:  # same cache line as head
                m, stale = self._current()
                if stale:
                    return self._stale_value(m, name)
                continue
            idx = m.index.get(name)
            if idx is None:
                raise UnknownSeries(name)
            head = q[_HEAD_OFF // 8]  # R1, pairs with W5
            if head == m.first:
                raise NoData(f"registry {self._name} has no sample yet")
            p = (head - 1) & _U64
            w = m.ring_w + (p & m.mask) * m.slot_w
            s1 = q[w]  # R2, pairs with W4
            if s1 != (2 * p + 2) & _U64:
                continue  # lapped (a newer position in this slot) or racing: reload head
            x = m.d[w + _SLOT_HDR_WORDS + idx]  # R3, pairs with W2
            if q[w] != s1:  # R4
                continue
            return x
        raise NoData(f"registry {self._name}: the writer kept lapping the reader ({_READ_TRIES} tries)")

    def _stale_value(self, m, name):
        idx = m.index.get(name)
        if idx is None:
            raise UnknownSeries(name)
        r = self._latest(m, idx, 1)
        value, seq = (r[3][0], r[0]) if r else (None, None)
        raise Stale(f"registry {self._name} was retired and nothing replaced it yet", value, seq)

    def _latest(self, m, first, n):
        """(pos, rt, mono, values) of the latest sample, or None when empty."""
        for _ in range(_READ_TRIES):
            head = m.q[_HEAD_OFF // 8]  # R1
            if head == m.first:
                return None
            p = (head - 1) & _U64
            r = m.read_at(p, first, n)
            if isinstance(r, tuple):
                return (p,) + r
            # lapped while copying: take the newer one
        raise NoData(f"registry {self._name}: the writer kept lapping the reader ({_READ_TRIES} tries)")

    def sample(self):
        """The whole latest sample (a Sample)."""
        m, stale = self._current()
        r = self._latest(m, 0, m.count)
        if r is None:
            if stale:
                raise Stale(f"registry {self._name} was retired and nothing replaced it yet")
            raise NoData(f"registry {self._name} has no sample yet")
        s = Sample(r[0], r[1], r[2], m.generation, r[3], m.names, m.index)
        if stale:
            raise Stale(f"registry {self._name} was retired and nothing replaced it yet", s, s.seq)
        return s

    def read_at(self, seq):
        """The whole sample at position SEQ, or None when it is not in the ring (not
        written yet, or already overwritten)."""
        m, _ = self._current()
        r = m.read_at(seq & _U64, 0, m.count)
        if not isinstance(r, tuple):
            return None
        return Sample(seq & _U64, r[0], r[1], m.generation, r[2], m.names, m.index)

    def view(self):
        """The latest sample in place (a View, zero-copy); check view.valid() after use."""
        m, stale = self._current()
        q = m.q
        for _ in range(_READ_TRIES):
            head = q[_HEAD_OFF // 8]  # R1
            if head == m.first:
                raise NoData(f"registry {self._name} has no sample yet")
            p = (head - 1) & _U64
            w = m.ring_w + (p & m.mask) * m.slot_w
            s1 = q[w]  # R2
            if s1 != (2 * p + 2) & _U64:
                continue
            rt, mono = q[w + 1], q[w + 2]  # R3
            if q[w] != s1:  # R4
                continue
            v = View(m, p, w, s1, rt, mono)
            if stale:
                raise Stale(f"registry {self._name} was retired and nothing replaced it yet", v, p)
            return v
        raise NoData(f"registry {self._name}: the writer kept lapping the reader ({_READ_TRIES} tries)")

    def history(self, name, since=None, limit=None):
        """Points (seq, realtime_ns, monotonic_ns, value) of series NAME from position
        SINCE (None: the oldest still in the ring) to the latest, oldest first; positions
        the writer overwrote while we walked are skipped."""
        m, _ = self._current()
        idx = m.index.get(name)
        if idx is None:
            raise UnknownSeries(name)
        head = m.q[_HEAD_OFF // 8]
        oldest = (head - m.capacity) & _U64 if _s64(head - m.first) > m.capacity else m.first
        p = oldest if since is None or _s64(since - oldest) <= 0 else since & _U64
        out = []
        while _s64(head - p) > 0 and (limit is None or len(out) < limit):
            r = m.read_at(p, idx, 1)
            if isinstance(r, tuple):
                out.append(Point(p, r[0], r[1], r[2][0]))
            p = (p + 1) & _U64
        return out

    def seq_at_time(self, realtime_ns):
        """First position whose CLOCK_REALTIME stamp is >= REALTIME_NS (binary search
        over the ring, as inforeg_seq_at_time)."""
        m, _ = self._current()
        head = m.q[_HEAD_OFF // 8]
        lo = (head - m.capacity) & _U64 if _s64(head - m.first) > m.capacity else m.first
        n = _s64(head - lo)
        while n > 0:
            half = n // 2
            mid = (lo + half) & _U64
            r = m.read_at(mid, 0, 0)
            if isinstance(r, tuple) and r[0] < realtime_ns:
                lo = (mid + 1) & _U64
                n -= half + 1
            else:
                n = half
        return lo

    def wait(self, after_seq, timeout=None):
        """Sleeps until a sample newer than AFTER_SEQ exists, then returns the latest seq.
        Returns None when TIMEOUT (seconds; None: forever) passes first. It follows the
        writer to a new object by itself: a restarted writer (new .generation) starts its
        own sequence, so whatever it has is returned; the same writer's new series set
        continues the sequence (layout minor >= 1), so AFTER_SEQ still holds there.
        Raises Stale if the object was retired and no successor appeared before the
        timeout."""
        deadline = None if timeout is None else time.monotonic_ns() + int(timeout * 1e9)
        m0 = self._m
        after = None if after_seq is None else after_seq & _U64
        while True:
            m, stale = self._current()
            if m is not m0:
                if m.generation != m0.generation or m.layout_minor < LAYOUT_MINOR_LIVENESS:
                    after = None  # a new writer (or one not continuing seqs): all is new
                m0 = m
            w = m.u32[_FUTEX_OFF // 4]  # R5, pairs with W6: read before head
            head = m.q[_HEAD_OFF // 8]
            if head != m.first and (after is None or _s64(head - 1 - after) > 0):
                return (head - 1) & _U64
            now = time.monotonic_ns()
            if deadline is not None and now >= deadline:
                if stale:
                    raise Stale(f"registry {self._name} was retired and nothing replaced it yet")
                return None
            left = (deadline - now) if deadline is not None else 3600 * 10**9
            if stale:
                # the writer exited and wakes nobody: look for a successor in short steps
                # (one that retires a killed writer's object wakes the futex at once)
                self._next_try_ns = 0
                _futex_wait(m.futex_addr, w, min(left, _WAIT_STEP_NS))
                continue
            _futex_wait(m.futex_addr, w, left)

    # -- directory, state
    def series(self):
        """[Series(name, unit, kind, help)] in directory order; kind is 'gauge', 'rate'
        or 'counter'."""
        return list(self._current()[0].series)

    def names(self):
        return list(self._current()[0].names)

    def __contains__(self, name):
        return name in self._current()[0].index

    def node(self):
        """The node inventory document (dict), or None if not published yet."""
        t = self._current()[0].doc(_DOC_NODE)
        return None if t is None else json.loads(t)

    def status(self):
        """The writer's status document (dict), or None if not published yet."""
        t = self._current()[0].doc(_DOC_STATUS)
        return None if t is None else json.loads(t)

    def writer_alive(self):
        """Whether the writer still runs (as inforeg_writer_alive): False once the object
        is retired without a successor; else, in the writer's PID namespace, whether its
        pid runs (not a zombie); in another (a container), whether its heartbeat
        (layout minor >= 1) is at most 3.5 periods old."""
        m, stale = self._current()
        if stale or m.retired():
            return False
        if m.layout_minor < LAYOUT_MINOR_LIVENESS:
            return _pid_running(m.writer_pid) is not False
        ns = _own_pidns()
        if m.writer_pidns and ns and m.writer_pidns == ns:
            run = _pid_running(m.writer_pid)
            if run is not None:
                return run
        hb = m.q[_HEARTBEAT_NS_OFF // 8]  # a hint, one aligned load
        period = m.period_ns or 1
        return bool(hb) and time.monotonic_ns() - hb <= 3 * period + period // 2

    def age_periods(self):
        """Age of the latest sample in sampling periods (inf when empty)."""
        m, _ = self._current()
        r = self._latest(m, 0, 0)
        if r is None:
            return float("inf")
        age = max(0, time.monotonic_ns() - r[2])
        return age / (m.period_ns or 1)

    def is_stale(self, n_periods=3):
        """True when the latest sample is older than N_PERIODS periods or the object was
        retired without a successor."""
        m, stale = self._current()
        return stale or self.age_periods() > n_periods

    @property
    def name(self):
        return self._name

    @property
    def head(self):
        """Next position the writer will fill (latest complete is head - 1)."""
        return self._current()[0].q[_HEAD_OFF // 8]

    @property
    def generation(self):
        return self._current()[0].generation

    @property
    def layout_serial(self):
        return self._current()[0].layout_serial

    @property
    def period_ns(self):
        return self._current()[0].period_ns

    @property
    def writer_pid(self):
        return self._current()[0].writer_pid

    @property
    def capacity(self):
        return self._current()[0].capacity

    @property
    def dropped(self):
        return self._current()[0].q[_DROPPED_OFF // 8]

    @property
    def layout_minor(self):
        return self._current()[0].layout_minor

    @property
    def heartbeat_ns(self):
        """CLOCK_MONOTONIC of the writer's last tick (layout minor >= 1; else None)."""
        m = self._current()[0]
        return m.q[_HEARTBEAT_NS_OFF // 8] if m.layout_minor >= LAYOUT_MINOR_LIVENESS else None

    @property
    def reopens(self):
        """How many times this reader followed the writer to a new object."""
        return self._reopens


def open(name=None, *, follow=True, shm_dir=None):  # noqa: A001 - the entry point, as inforeg_open
    """Opens registry NAME (/dev/shm/NAME; None: $INFOREG_SHM or "inforeg").
    Raises NoRegistry (absent, no access) or LayoutError (not a registry this reader
    understands). follow=False: never re-open after a retirement (Stale instead).
    shm_dir (else $INFOREG_SHM_DIR, else /dev/shm): where the host's /dev/shm is mounted,
    for a container that keeps a private /dev/shm of its own (deploy/kubernetes)."""
    return Reader(name, follow=follow, shm_dir=shm_dir)
