# SPDX-License-Identifier: MIT
"""Integration tests of the Python reader (python/inforeg) against the real inforegd.

Each test starts its own daemon(s) on a private shm name and stops them. Values are
checked against libinforeg itself (build/lib/libinforeg.so through ctypes, the same
positions read by both) and against `inforeg dump --json`; waiting, restarts and layout
changes are checked on the ring's own sequences and generations, never on wall-clock
luck (the time bounds are generous ceilings). Run by tests/it_python_reader.sh:
    INFOREG_BUILD=build /usr/bin/python3 -m unittest -v tests/py/test_python_reader.py
"""

import ctypes
import json
import math
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.abspath(os.environ.get("INFOREG_BUILD", os.path.join(TOP, "build")))
sys.path.insert(0, os.environ.get("INFOREG_PYTHONPATH", os.path.join(TOP, "python")))
import inforeg  # noqa: E402

IRD = os.path.join(BUILD, "bin", "inforegd")
IRCLI = os.path.join(BUILD, "bin", "inforeg")
LIB = os.path.join(BUILD, "lib", "libinforeg.so")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Daemon:
    """One inforegd on NAME (a private one unless given), stopped by stop()."""

    def __init__(self, name=None, args=(), listen=False, ebpf=False):
        self.name = name or f"irt-py-{os.getpid()}-{id(self) & 0xFFFF:x}"
        self.port = free_port() if listen else None
        self.log = tempfile.NamedTemporaryFile(prefix="inforegd-py-", suffix=".log", delete=False)
        cmd = [IRD, "--shm", self.name, "--listen", f"127.0.0.1:{self.port}" if listen else "none"]
        if not ebpf:
            cmd.append("--no-ebpf")
        self.proc = subprocess.Popen(cmd + list(args), stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, min_samples=2, timeout=15):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise AssertionError(f"inforegd exited {self.proc.returncode}: {self.logtext()}")
            try:
                with inforeg.open(self.name, follow=False) as r:
                    # this daemon's object (a SIGKILLed predecessor's stays in place
                    # until this one replaces it), with samples
                    if r.writer_pid == self.proc.pid and r.head - r._m.first >= min_samples \
                            and not r._m.retired():
                        return self
            except inforeg.NoRegistry:
                pass
            time.sleep(0.05)
        raise AssertionError(f"inforegd on {self.name} not ready: {self.logtext()}")

    def logtext(self):
        with open(self.log.name, errors="replace") as f:
            return f.read()[-2000:]

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def cleanup(self):
        self.stop()
        for p in (self.name, self.name + ".lock"):
            try:
                os.unlink("/dev/shm/" + p)
            except FileNotFoundError:
                pass
        os.unlink(self.log.name)


class Meta(ctypes.Structure):
    _fields_ = [("seq", ctypes.c_uint64), ("realtime_ns", ctypes.c_uint64),
                ("monotonic_ns", ctypes.c_uint64), ("generation", ctypes.c_uint64)]


class SeriesInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char * 128), ("unit", ctypes.c_char * 16),
                ("help", ctypes.c_char * 104), ("kind", ctypes.c_uint32)]


class CReader:
    """libinforeg through ctypes: the reference the Python reader must agree with."""

    lib = None

    def __init__(self, name):
        if CReader.lib is None:
            lib = ctypes.CDLL(LIB, use_errno=True)
            lib.inforeg_open.restype = ctypes.c_void_p
            lib.inforeg_open.argtypes = [ctypes.c_char_p, ctypes.c_uint]
            lib.inforeg_close.argtypes = [ctypes.c_void_p]
            lib.inforeg_lookup.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
            lib.inforeg_series_count.argtypes = [ctypes.c_void_p]
            lib.inforeg_series_get.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(SeriesInfo)]
            lib.inforeg_read_history.argtypes = [
                ctypes.c_void_p, ctypes.c_int, ctypes.c_uint64, ctypes.POINTER(ctypes.c_double),
                ctypes.POINTER(Meta), ctypes.c_size_t, ctypes.POINTER(ctypes.c_uint64)]
            lib.inforeg_generation.restype = ctypes.c_uint64
            lib.inforeg_generation.argtypes = [ctypes.c_void_p]
            CReader.lib = lib
        self.r = CReader.lib.inforeg_open(name.encode(), 0)
        if not self.r:
            raise OSError(ctypes.get_errno(), "inforeg_open")
        self.handles = {}

    def series(self):
        out = []
        for i in range(self.lib.inforeg_series_count(self.r)):
            si = SeriesInfo()
            assert self.lib.inforeg_series_get(self.r, i, ctypes.byref(si)) == 0
            out.append((si.name.decode(), si.unit.decode(), si.kind, si.help.decode()))
        return out

    def value_at(self, name, seq):
        """(value, meta) of NAME at position SEQ, or None if SEQ is no longer in the ring."""
        h = self.handles.get(name)
        if h is None:
            h = self.handles[name] = self.lib.inforeg_lookup(self.r, name.encode())
            assert h >= 0, (name, h)
        v, m = ctypes.c_double(), Meta()
        n = self.lib.inforeg_read_history(self.r, h, seq, ctypes.byref(v), ctypes.byref(m), 1, None)
        if n != 1 or m.seq != seq:
            return None
        return v.value, m

    def close(self):
        self.lib.inforeg_close(self.r)


def bits(x):
    return struct.pack("<d", x)


class Base(unittest.TestCase):
    def setUp(self):
        self.daemons = []

    def tearDown(self):
        for d in self.daemons:
            d.cleanup()

    def daemon(self, **kw):
        d = Daemon(**kw)
        self.daemons.append(d)
        return d.wait_ready()


class TestValues(Base):
    def test_same_values_as_libinforeg(self):
        d = self.daemon(args=["--period", "20"])
        r = inforeg.open(d.name)
        c = CReader(d.name)
        try:
            self.assertEqual([(s.name, s.unit, {"gauge": 0, "rate": 1, "counter": 2}[s.kind], s.help)
                              for s in r.series()], c.series())
            compared = 0
            seqs = set()
            for _ in range(5):
                s = r.sample()  # the latest whole sample, then the same position through C
                seqs.add(s.seq)
                for name, v in zip(s.names, s.values):
                    got = c.value_at(name, s.seq)
                    if got is None:
                        break  # lapped (20 ms ticks, slow machine): the next round retries
                    cv, meta = got
                    self.assertEqual(bits(v), bits(cv), f"{name} at seq {s.seq}: python {v} C {cv}")
                    self.assertEqual((meta.realtime_ns, meta.monotonic_ns, meta.generation),
                                     (s.realtime_ns, s.monotonic_ns, s.generation))
                    compared += 1
                r.wait(s.seq, 5)
            self.assertGreater(compared, 100, "too few values compared")
            self.assertGreater(len(seqs), 1, "wait() did not move to a newer sample")
            # get() and history() agree with the whole-sample path and with C
            name = "cpu.usage"
            while r.head - r._m.first < 12:
                r.wait(r.head - 1, 5)
            pts = r.history(name, since=r.head - 10)
            self.assertGreaterEqual(len(pts), 10)
            for p in pts:
                got = c.value_at(name, p.seq)
                if got is not None:
                    self.assertEqual(bits(p.value), bits(got[0]))
                    self.assertEqual(p.realtime_ns, got[1].realtime_ns)
            self.assertEqual([p.seq for p in pts], list(range(pts[0].seq, pts[0].seq + len(pts))))
        finally:
            c.close()
            r.close()

    def test_same_values_as_cli_dump(self):
        d = self.daemon()
        r = inforeg.open(d.name)
        out = subprocess.run([IRCLI, "dump", "--json", "--shm", d.name], capture_output=True, text=True, check=True)
        doc = json.loads(out.stdout)
        s = r.read_at(doc["seq"])
        self.assertIsNotNone(s, "the CLI's sample left the ring already")
        self.assertEqual(s.realtime_ns, doc["ts_ns"])
        self.assertEqual(f"{s.generation:016x}", doc["generation"])
        for name, v in doc["series"].items():
            pv = s[name]
            if v is None:
                self.assertTrue(math.isnan(pv), name)
            else:
                self.assertEqual(bits(pv), bits(float(v)), name)
        self.assertEqual(set(doc["series"]), set(s.names))
        # get() returns the latest value: its position is at or after the CLI's
        latest = r.sample()
        self.assertGreaterEqual(latest.seq, doc["seq"])
        self.assertEqual(r.get("cpu.count"), latest["cpu.count"])
        r.close()

    def test_view_zero_copy(self):
        d = self.daemon()
        r = inforeg.open(d.name)
        with r.view() as v:
            self.assertIsInstance(v.values, memoryview)
            self.assertEqual(v.values.format, "d")
            x = v.value("cpu.count")
            ok = v.valid()
        if ok:
            self.assertEqual(bits(x), bits(r.read_at(v.seq)["cpu.count"]))
        r.close()

    def test_documents_and_properties(self):
        d = self.daemon()
        r = inforeg.open(d.name)
        self.assertEqual(r.writer_pid, d.proc.pid)
        self.assertEqual(r.node()["pid"], d.proc.pid)
        self.assertIn("period_ms", r.status())
        self.assertEqual(r.period_ns, 100_000_000)
        self.assertLess(r.age_periods(), 1000)
        self.assertFalse(r.is_stale(1000))
        r.close()


    def test_shm_dir(self):
        # a container mounts the host's /dev/shm elsewhere: same object, other directory
        d = self.daemon()
        alt = tempfile.mkdtemp(prefix="irt-py-dir-", dir="/dev/shm")
        try:
            os.link("/dev/shm/" + d.name, os.path.join(alt, d.name))
            with inforeg.open(d.name, shm_dir=alt) as a, inforeg.open(d.name) as b:
                self.assertEqual(a.generation, b.generation)
                s = a.sample()
                self.assertEqual(bits(b.read_at(s.seq)["cpu.usage"]), bits(s["cpu.usage"]))
            os.environ["INFOREG_SHM_DIR"] = alt + "-absent"
            try:
                with self.assertRaises(inforeg.NoRegistry) as cm:
                    inforeg.open(d.name)
                self.assertIn(alt + "-absent", str(cm.exception))
            finally:
                del os.environ["INFOREG_SHM_DIR"]
        finally:
            for f in os.listdir(alt):
                os.unlink(os.path.join(alt, f))
            os.rmdir(alt)


class TestWait(Base):
    def test_wait_wakes_on_new_sample(self):
        d = self.daemon()
        r = inforeg.open(d.name)
        s = r.sample()
        n = r.wait(s.seq, 30)
        self.assertIsNotNone(n, "no new sample in 30 s")
        self.assertGreater(n, s.seq)
        new = r.read_at(n)
        self.assertGreater(new.monotonic_ns, s.monotonic_ns)
        # already newer: returns at once
        self.assertEqual(r.wait(s.seq, 0), r.head - 1)
        r.close()

    def test_wait_sleeps_on_futex_and_times_out(self):
        d = self.daemon()
        r = inforeg.open(d.name)
        os.kill(d.proc.pid, signal.SIGSTOP)  # nobody publishes while stopped
        try:
            seq = r.head - 1
            cpu0, t0 = time.process_time(), time.monotonic()
            self.assertIsNone(r.wait(seq, 0.5))
            cpu, wall = time.process_time() - cpu0, time.monotonic() - t0
            self.assertGreaterEqual(wall, 0.5)
            self.assertLess(cpu, 0.25, f"wait() burnt {cpu:.3f} s of CPU in {wall:.3f} s: not sleeping")
            # a publish wakes a sleeper: wake the daemon from another thread
            threading.Timer(0.2, os.kill, (d.proc.pid, signal.SIGCONT)).start()
            n = r.wait(seq, 30)
            self.assertIsNotNone(n)
            self.assertGreater(n, seq)
        finally:
            os.kill(d.proc.pid, signal.SIGCONT)
            r.close()


class TestFollow(Base):
    def test_follows_restart(self):
        name = f"irt-py-rs-{os.getpid()}"
        d1 = self.daemon(name=name)
        r = inforeg.open(name)
        gen1, last = r.generation, r.sample()
        d1.stop()  # SIGTERM: retired and unlinked, nobody replaces it yet
        with self.assertRaises(inforeg.Stale) as cm:
            r.get("cpu.usage")
        self.assertIsNotNone(cm.exception.value, "Stale should carry the last value")
        self.assertGreaterEqual(cm.exception.seq, last.seq)
        with self.assertRaises(inforeg.Stale):
            r.wait(cm.exception.seq, 0.2)
        self.assertTrue(r.is_stale())
        # a new daemon on the same name: wait() follows it by itself
        d2 = Daemon(name=name)
        self.daemons.append(d2)
        n = r.wait(cm.exception.seq, 30)
        self.assertIsNotNone(n)
        self.assertNotEqual(r.generation, gen1)
        self.assertEqual(r.writer_pid, d2.proc.pid)
        self.assertGreaterEqual(r.reopens, 1)
        self.assertIsInstance(r.get("cpu.usage"), float)
        # SIGKILL: the object is not retired by its writer; the next daemon retires it
        gen2 = r.generation
        d2.wait_ready()
        d2.stop(signal.SIGKILL)
        d3 = self.daemon(name=name)
        v = r.get("cpu.usage")  # follows
        self.assertIsInstance(v, float)
        self.assertNotIn(r.generation, (gen1, gen2))
        self.assertEqual(r.writer_pid, d3.proc.pid)
        self.assertGreaterEqual(r.reopens, 2)
        r.close()

    def test_writer_alive(self):
        d = self.daemon()
        r = inforeg.open(d.name)
        self.assertTrue(r.writer_alive())
        os.kill(d.proc.pid, signal.SIGSTOP)
        self.assertTrue(r.writer_alive() or r.layout_minor >= 1, "a stopped writer's pid still runs")
        os.kill(d.proc.pid, signal.SIGCONT)
        d.proc.kill()  # SIGKILL: not retired; a zombie until reaped, then gone
        time.sleep(0.2)
        self.assertFalse(r.writer_alive())
        d.proc.wait()
        self.assertFalse(r.writer_alive())
        r.close()

    def test_no_follow(self):
        d = self.daemon()
        r = inforeg.open(d.name, follow=False)
        d.stop()
        with self.assertRaises(inforeg.Stale):
            r.sample()
        r.close()

    def test_layout_change_by_reload(self):
        cfg = tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False)
        cfg.write("period_ms = 100\n")
        cfg.close()
        try:
            d = self.daemon(args=["--config", cfg.name])
            r = inforeg.open(d.name)
            gen, serial = r.generation, r.layout_serial
            self.assertIsInstance(r.get("load.1"), float)
            before = r.sample().seq
            with open(cfg.name, "w") as f:
                f.write("period_ms = 100\ndisable = load\n")
            os.kill(d.proc.pid, signal.SIGHUP)
            end = time.monotonic() + 20
            while r.layout_serial == serial and time.monotonic() < end:
                r.wait(r.head - 1, 0.5)
            self.assertNotEqual(r.layout_serial, serial, "no new layout after SIGHUP")
            self.assertEqual(r.generation, gen, "a reload is not a restart")
            with self.assertRaises(inforeg.UnknownSeries):
                r.get("load.1")
            self.assertNotIn("load.1", r)
            self.assertIsInstance(r.get("cpu.usage"), float)
            self.assertGreaterEqual(r.reopens, 1)
            if r.layout_minor >= 1:
                # the same writer's new object continues the sequence and carries the
                # history of the series it kept: positions from before are still there
                self.assertGreater(r.wait(before, 10), before)
                pts = r.history("cpu.usage", since=before - 3)
                self.assertIn(before, [p.seq for p in pts])
            r.close()
        finally:
            os.unlink(cfg.name)

    def test_layout_change_by_watch(self):
        if os.geteuid() != 0:
            self.skipTest("a watch needs eBPF (root)")
        tok = tempfile.NamedTemporaryFile("w", suffix=".token", delete=False)
        token = f"tok-{os.getpid()}-{time.time_ns()}"
        tok.write(token + "\n")
        tok.close()
        try:
            d = self.daemon(args=["--token-file", tok.name], listen=True, ebpf=True)
            r = inforeg.open(d.name)
            serial, gen = r.layout_serial, r.generation
            series = 'task.cpu.usage{watch="pyreader"}'
            self.assertNotIn(series, r)
            req = urllib.request.Request(
                d.url + "/v1/watch/pyreader", method="PUT", data=json.dumps({"pid": os.getpid()}).encode(),
                headers={"Authorization": "Bearer " + token})
            try:
                urllib.request.urlopen(req, timeout=10).close()
            except urllib.error.HTTPError as e:
                body = e.read().decode(errors="replace")
                if e.code == 503 and "ebpf_unavailable" in body:
                    self.skipTest("eBPF task collector unavailable: " + body)
                raise AssertionError(f"PUT /v1/watch: {e.code} {body}")
            end = time.monotonic() + 30
            v = None
            while time.monotonic() < end:
                try:
                    v = r.get(series)  # re-opens the new object by name by itself
                    break
                except inforeg.UnknownSeries:
                    r.wait(r.head - 1, 0.5)
            self.assertIsNotNone(v, f"{series} never appeared")
            self.assertNotEqual(r.layout_serial, serial)
            self.assertEqual(r.generation, gen)
            self.assertIn(series, [s.name for s in r.series()])
            self.assertEqual(r.series()[r.names().index(series)].unit, "percent")
            self.assertIsInstance(r.get("cpu.usage"), float)
            # and the C library sees the same value at the same position
            c = CReader(d.name)
            s = r.sample()
            got = c.value_at(series, s.seq)
            if got is not None:
                self.assertEqual(bits(got[0]), bits(s[series]))
            c.close()
            r.close()
        finally:
            os.unlink(tok.name)


def fake_registry(path, magic=0x31474552464E4926, version=1, head=0, header_size=384, minor=0,
                  pidns=0, heartbeat_ns=0, pid=1, value_bits=None):
    """A hand-made registry object: one series, two slots, HEAD samples claimed."""
    count, cap, slot = 1, 2, 64
    dir_off = header_size
    doc_off = dir_off + 256
    ring_off = (doc_off + 2 * (24 + 65536) + 4095) & ~4095
    total = (ring_off + cap * slot + 4095) & ~4095
    buf = bytearray(total)
    struct.pack_into("<QIIQQQQIIIIQQQQQQIIQ", buf, 0, magic, version, header_size, 42, 0, 0, 100_000_000, pid,
                     count, cap, slot, dir_off, doc_off, ring_off, total, 1, 0, minor, 0, pidns)
    struct.pack_into("<Q", buf, 256, head)
    struct.pack_into("<Q", buf, 280, heartbeat_ns)
    struct.pack_into("<128s16sII104s", buf, dir_off, b"x.y", b"things", 0, 0, b"help")
    for k in range(cap):
        struct.pack_into("<Q", buf, ring_off + k * slot, 1)  # odd: "being written"
    if value_bits is not None:  # position 0 complete, holding VALUE_BITS
        struct.pack_into("<QQQQQ", buf, ring_off, 2, 7, 7, 0, value_bits)
        struct.pack_into("<Q", buf, 256, 1)
    with open(path, "wb") as f:
        f.write(buf)


class TestErrors(unittest.TestCase):
    def setUp(self):
        self.name = f"irt-py-bad-{os.getpid()}"
        self.path = "/dev/shm/" + self.name

    def tearDown(self):
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def test_no_registry(self):
        with self.assertRaises(inforeg.NoRegistry) as cm:
            inforeg.open(f"irt-py-absent-{os.getpid()}")
        self.assertIn("no registry", str(cm.exception))
        self.assertIsInstance(cm.exception, OSError)
        for bad in ("", "../etc/passwd", ".hidden", "a/b"):
            with self.assertRaises(inforeg.NoRegistry):
                inforeg.open(bad)

    def test_not_a_registry(self):
        with open(self.path, "wb") as f:
            f.write(os.urandom(8192))
        with self.assertRaises(inforeg.LayoutError) as cm:
            inforeg.open(self.name)
        self.assertIn("bad magic", str(cm.exception))
        with open(self.path, "wb") as f:
            f.write(b"short")
        with self.assertRaises(inforeg.LayoutError):
            inforeg.open(self.name)

    def test_other_major_version(self):
        fake_registry(self.path, version=99)
        with self.assertRaises(inforeg.LayoutError) as cm:
            inforeg.open(self.name)
        self.assertIn("layout version 99", str(cm.exception))

    def test_no_data_and_unknown_series(self):
        fake_registry(self.path)
        with inforeg.open(self.name) as r:
            self.assertEqual(r.series(), [inforeg.Series("x.y", "things", "gauge", "help")])
            with self.assertRaises(inforeg.NoData):
                r.get("x.y")
            with self.assertRaises(inforeg.NoData):
                r.sample()
            with self.assertRaises(inforeg.UnknownSeries) as cm:
                r.get("nope")
            self.assertIsInstance(cm.exception, KeyError)
            self.assertIsNone(r.wait(None, 0.05))
            self.assertIsNone(r.node())

    def test_owner_must_be_trusted(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to chown")
        fake_registry(self.path)
        os.chown(self.path, 65534, 65534)
        with self.assertRaises(inforeg.NoRegistry) as cm:
            inforeg.open(self.name)
        self.assertIn("not trusted", str(cm.exception))
        os.environ["INFOREG_SHM_UID"] = "65534"
        try:
            inforeg.open(self.name).close()  # the daemon's own user, named
        finally:
            del os.environ["INFOREG_SHM_UID"]

    def test_later_minor_and_larger_header(self):
        # a later minor version may append to the header: still readable
        fake_registry(self.path, header_size=512, minor=7)
        with inforeg.open(self.name) as r:
            self.assertEqual(r.layout_minor, 7)
            self.assertEqual(r.names(), ["x.y"])

    def test_writer_alive_by_heartbeat_in_another_pid_namespace(self):
        now = time.monotonic_ns()
        # another PID namespace (pidns inode 1 is nobody's): the heartbeat decides
        fake_registry(self.path, minor=1, pidns=1, heartbeat_ns=now, pid=os.getpid())
        with inforeg.open(self.name) as r:
            self.assertEqual(r.heartbeat_ns, now)
            self.assertTrue(r.writer_alive())
        fake_registry(self.path, minor=1, pidns=1, heartbeat_ns=now - 10**9, pid=os.getpid())
        with inforeg.open(self.name) as r:
            self.assertFalse(r.writer_alive(), "a heartbeat 10 periods old")
        # the same namespace: the pid decides (ours runs)
        own = os.stat("/proc/self/ns/pid").st_ino
        fake_registry(self.path, minor=1, pidns=own, heartbeat_ns=1, pid=os.getpid())
        with inforeg.open(self.name) as r:
            self.assertTrue(r.writer_alive())

    def test_value_state(self):
        # the state a NaN's payload carries (include/inforeg.h) survives the read
        for bits, state in ((0x7FF8495200000001, "stale"), (0xFFF8495200000002, "failed"),
                            (0x7FF8000000000000, "unknown"), (struct.unpack("<Q", struct.pack("<d", 2.5))[0], "fresh")):
            fake_registry(self.path, value_bits=bits)
            with inforeg.open(self.name) as r:
                v = r.get("x.y")
                self.assertEqual(struct.unpack("<Q", struct.pack("<d", v))[0], bits)
                self.assertEqual(inforeg.value_state(v), state)
                self.assertEqual(inforeg.value_state(r.sample()["x.y"]), state)
                self.assertEqual(r.sample().realtime_ns, 7)

    def test_torn_slot_is_retried_not_returned(self):
        # head says one sample, but the slot's seq is odd (being written): get() must
        # not return it; with the writer "stuck" it keeps retrying, so check read_at
        fake_registry(self.path, head=1)
        with inforeg.open(self.name) as r:
            self.assertIsNone(r.read_at(0))
            self.assertEqual(r.history("x.y", 0), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
