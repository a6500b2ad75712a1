#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""test_bench_harness - the benchmark harness's parsing and statistics (bench/benchlib.py,
bench/harness.py) on fixture lines, and that bench/lib.sh's bench_result prints the same
statistics as benchlib: the @result line grammar, malformed lines, merging of a metric
printed by several passes, baselines and ratios, the registry (benches.conf) and the
naming convention, the rendered table, and the README block bench/readme_table.py
writes. Exits 0 on success, 1 on a failure."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "bench"))
import benchlib  # noqa: E402
import harness  # noqa: E402
import readme_table  # noqa: E402


class Stats(unittest.TestCase):
    def test_odd_even_single(self):
        self.assertEqual(benchlib.stats([3, 1, 2]), (2, 1, 3))
        self.assertEqual(benchlib.stats([4, 1, 3, 2]), (2.5, 1, 4))
        self.assertEqual(benchlib.stats([7]), (7, 7, 7))
        self.assertRaises(ValueError, benchlib.stats, [])

    def test_percentile(self):
        v = list(range(1, 101))
        self.assertEqual(benchlib.percentile(v, 0.5), 50)
        self.assertEqual(benchlib.percentile(v, 0.99), 99)
        self.assertEqual(benchlib.percentile(v, 1.0), 100)
        self.assertEqual(benchlib.percentile([5], 0.99), 5)


class Parse(unittest.TestCase):
    def test_result(self):
        k, r = benchlib.parse_line("@result read_latency latest ns 4.4 4.3 4.9 bare_seqlock\n")
        self.assertEqual(k, "result")
        self.assertEqual((r["bench"], r["metric"], r["unit"]), ("read_latency", "latest", "ns"))
        self.assertEqual((r["median"], r["min"], r["max"], r["baseline"]), (4.4, 4.3, 4.9, "bare_seqlock"))
        k, r = benchlib.parse_line("  @result b m req/s 1e5 9.5e4 1.2e5")
        self.assertEqual((r["median"], r["baseline"]), (1e5, None))

    def test_not_ours(self):
        for ln in ("", "round 1: 3 us", "@results b m u 1 1 1", "x @result b m u 1 1 1", "@notes b hi"):
            self.assertIsNone(benchlib.parse_line(ln), ln)

    def test_malformed(self):
        for ln in ("@result b m u 1 1", "@result b m u 1 1 1 base extra", "@result b m u one 1 1",
                   "@result b m u nan nan nan", "@result b m u inf 1 inf", "@result b m u 1 2 3",
                   "@result b m u 5 1 3", "@note b"):
            self.assertRaises(benchlib.ParseError, benchlib.parse_line, ln)

    def test_note(self):
        self.assertEqual(benchlib.parse_line("@note b some  text here"), ("note", "b", "some  text here"))


class Aggregate(unittest.TestCase):
    def test_merge_and_ratio(self):
        lines = ["noise", "@result b base us 10 8 12", "@result b x us 30 25 40 base",
                 "@result b x us 20 19 50 base", "@result b x us 22 21 23 base", "@note b hello"]
        res, notes, errs = benchlib.aggregate("b", lines)
        self.assertEqual(errs, [])
        self.assertEqual(notes, ["hello"])
        self.assertEqual([r["metric"] for r in res], ["base", "x"])
        x = res[1]
        self.assertEqual((x["median"], x["min"], x["max"], x["passes"]), (22, 19, 50, 3))
        self.assertEqual(x["baseline_median"], 10)
        self.assertAlmostEqual(x["ratio"], 2.2)
        self.assertIsNone(res[0]["ratio"])

    def test_baseline_printed_after(self):
        res, _, errs = benchlib.aggregate("b", ["@result b x ns 9 9 9 y", "@result b y ns 3 3 3"])
        self.assertEqual(errs, [])
        self.assertEqual(res[0]["ratio"], 3)

    def test_errors(self):
        _, _, errs = benchlib.aggregate("b", ["@result b x ns 1 1 1 missing"])
        self.assertIn("missing was not measured", errs[0])
        _, _, errs = benchlib.aggregate("b", ["@result b y us 1 1 1", "@result b x ns 1 1 1 y"])
        self.assertIn("is in us", errs[0])
        _, _, errs = benchlib.aggregate("b", ["@result b x ns 1 1 1", "@result b x us 1 1 1"])
        self.assertIn("unit ns, then us", errs[0])
        _, _, errs = benchlib.aggregate("b", ["@result other x ns 1 1 1", "@note other hi"])
        self.assertEqual(len(errs), 2)
        _, _, errs = benchlib.aggregate("b", ["@result b x ns 1 2"])
        self.assertEqual(len(errs), 1)

    def test_zero_baseline(self):
        res, _, errs = benchlib.aggregate("b", ["@result b z t 0 0 0", "@result b x t 3 3 3 z"])
        self.assertEqual(errs, [])
        self.assertIsNone(res[1]["ratio"])
        self.assertIn("| x | 3.00 | 3.00 | 3.00 | t | z 0 | — |", benchlib.render_table(res))


class Render(unittest.TestCase):
    def test_num(self):
        self.assertEqual(benchlib.num(251529.4), "251,529")
        self.assertEqual(benchlib.num(4.4), "4.40")
        self.assertEqual(benchlib.num(0.0123), "0.0123")
        self.assertEqual(benchlib.num(None), "—")

    def test_md(self):
        res, notes, _ = benchlib.aggregate("b", ["@result b base ns 1 1 1", "@result b x ns 4.4 4.3 4.9 base"])
        run = {"quick": True, "date": "D", "machine": "M", "load_start": "1", "load_end": "2", "commit": "c",
               "notes": "", "benches": [
                   {"name": "b", "command": "cmd", "status": "ok", "seconds": 1.0, "results": res,
                    "notes": ["n1"], "errors": [], "plots": ["b.png"]},
                   {"name": "quiet", "command": "q", "status": "ok, no @result lines", "seconds": 1.0,
                    "results": [], "notes": [], "errors": [], "plots": []}]}
        md = benchlib.render_md(run)
        self.assertIn("| x | 4.40 | 4.30 | 4.90 | ns | base 1.00 | 4.40× |", md)
        self.assertIn("![b.png](b.png)", md)
        self.assertIn("This bench printed no `@result` lines.", md)
        self.assertIn("quick (smoke) run of D", md)


class Registry(unittest.TestCase):
    def test_parse(self):
        b, h = harness.parse_registry("# c\nbench a 100/10 {B}/bench/a x\nbench b 50\nhelper h1 h2\n")
        self.assertEqual(b, [("a", 100, 10, ["{B}/bench/a", "x"]), ("b", 50, 50, None)])
        self.assertEqual(h, {"h1", "h2"})
        for bad in ("bench a", "bench a x10", "thing a 1", "helper", "bench a 1\nbench a 2"):
            self.assertRaises(ValueError, harness.parse_registry, bad)

    def test_discover(self):
        with tempfile.TemporaryDirectory() as d:
            for f in ("a.c", "b.sh", "c.py", "h.c", "new.sh", "other.c", "other.sh", "z.txt"):
                open(os.path.join(d, f), "w").close()
            got = harness.discover(d, "bench b 10\nbench a 20/5 {B}/bench/a -q\nbench other 9\nhelper h\n")
            self.assertEqual([g[0] for g in got], ["b", "a", "other", "c", "new"])
            self.assertEqual(got[0][3], ["bash", "{top}/bench/b.sh", "{B}"])
            self.assertEqual(got[2][3][0], "bash")  # .sh wins over .c for one name
            self.assertEqual(got[3][3], ["/usr/bin/python3", "{top}/bench/c.py", "{B}"])
            self.assertRaises(ValueError, harness.discover, d, "bench ghost 10\n")

    def test_real_registry(self):
        with open(os.path.join(TOP, "bench/benches.conf")) as f:
            got = harness.discover(os.path.join(TOP, "bench"), f.read())
        names = [g[0] for g in got]
        for n in ("read_latency", "freshness", "series_scaling", "daemon_cpu", "api_bench", "bpf_overhead",
                  "extender_bench", "api_soak", "experiment"):
            self.assertIn(n, names)
        for n in ("tick_floor", "h2o_trivial", "harness", "benchlib", "lib", "run"):
            self.assertNotIn(n, names)


class ReadmeTable(unittest.TestCase):
    def run_dict(self, quick=False):
        res, _, _ = benchlib.aggregate("read_latency", ["@result read_latency bare_seqlock ns 1 1 1",
                                                        "@result read_latency latest ns 4.4 4 5 bare_seqlock",
                                                        "@result read_latency other ns 9 9 9"])
        return {"quick": quick, "date": "2026-12-02 02:15 UTC", "machine": "M", "load_start": "1", "load_end": "2",
                "commit": "abc", "notes": "loaded.", "benches": [
                    {"name": "read_latency", "status": "ok", "results": res},
                    {"name": "newbench", "status": "ok", "results": res},
                    {"name": "broken", "status": "FAILED: exit 1", "results": []}]}

    def test_block(self):
        b = readme_table.block(self.run_dict())
        self.assertTrue(b.startswith(readme_table.BEGIN) and b.endswith(readme_table.END))
        self.assertIn("| read_latency | latest | 4.40 (4.00–5.00) | ns | bare_seqlock 1.00 | 4.40× |", b)
        self.assertNotIn("| read_latency | other |", b)       # not a headline metric
        self.assertIn("| newbench | latest |", b)              # unknown bench: rows with a baseline
        self.assertNotIn("| newbench | other |", b)
        self.assertIn("| broken | — | FAILED: exit 1 |", b)
        self.assertIn("2026-12-02 02:15 UTC", b)

    def test_rewrite(self):
        with tempfile.TemporaryDirectory() as d:
            readme, js = os.path.join(d, "README.md"), os.path.join(d, "latest.json")
            with open(readme, "w") as f:
                f.write("head\n%s\nold figures\n%s\ntail\n" % (readme_table.BEGIN, readme_table.END))
            with open(js, "w") as f:
                json.dump(self.run_dict(), f)
            tool = [sys.executable, os.path.join(TOP, "bench/readme_table.py"), "--json", js, "--readme", readme]
            r = subprocess.run(tool + ["--check"], capture_output=True, text=True)
            self.assertNotEqual(r.returncode, 0)
            r = subprocess.run(tool, capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            text = open(readme).read()
            self.assertTrue(text.startswith("head\n") and text.endswith("tail\n"))
            self.assertNotIn("old figures", text)
            self.assertEqual(subprocess.run(tool + ["--check"]).returncode, 0)
            with open(js, "w") as f:
                json.dump(self.run_dict(quick=True), f)
            r = subprocess.run(tool, capture_output=True, text=True)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("quick run", r.stderr)


class ShellLib(unittest.TestCase):
    def sh(self, script):
        return subprocess.run(["bash", "-c", ". %s/bench/lib.sh; %s" % (TOP, script)], capture_output=True,
                              text=True)

    def test_same_stats(self):
        r = self.sh("bench_result b m us 3 1 2 10; bench_result b n us -b m 4 1 3 2")
        self.assertEqual(r.returncode, 0, r.stderr)
        res, _, errs = benchlib.aggregate("b", r.stdout.splitlines())
        self.assertEqual(errs, [])
        self.assertEqual((res[0]["median"], res[0]["min"], res[0]["max"]), (2.5, 1, 10))
        self.assertEqual((res[1]["median"], res[1]["baseline"]), (2.5, "m"))

    def test_bad_values_exit(self):
        for script in ("bench_result b m us; echo after", "bench_result b m us 1 x; echo after"):
            r = self.sh(script)
            self.assertNotEqual(r.returncode, 0, script)
            self.assertNotIn("after", r.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
