# SPDX-License-Identifier: MIT
"""benchlib.py - the benchmarks' one result format, for Python benches and the harness.

Every benchmark prints its figures as lines of this form (anywhere in its output; the
harness reads nothing else):

    @result BENCH METRIC UNIT MEDIAN MIN MAX [BASELINE_METRIC]
    @note BENCH free text up to the end of the line

BENCH is the benchmark's name (its file name without the extension); METRIC and UNIT are
single words (no blanks); MEDIAN <= ... MIN <= MEDIAN <= MAX are finite numbers over the
bench's repetitions (a single measurement repeats one value three times); BASELINE_METRIC,
when given, names another metric of the same BENCH in the same UNIT, measured in the same
run, and the harness prints MEDIAN / the baseline's MEDIAN as the ratio. A metric printed
twice (several passes of one bench) is merged: median of the medians, smallest MIN, largest
MAX. C benches use bench/bench.h, shell ones bench/lib.sh, Python ones this module.

This module owns: result() and note() (the printing side), parse_line() and aggregate()
(the harness side, unit-tested by tests/test_bench_harness.py), and render_md() (the
tables of bench/results/latest.md).
"""
import math
import re
import sys

_WORD = re.compile(r"^[^\s]+$")


def stats(values):
    """(median, min, max) of a non-empty list of numbers; the median of an even count is
    the mean of the two middle values."""
    v = sorted(float(x) for x in values)
    if not v:
        raise ValueError("no values")
    n = len(v)
    med = v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2
    return med, v[0], v[-1]


def percentile(values, q):
    """The q-quantile (0..1) by nearest rank on the sorted values."""
    v = sorted(values)
    if not v:
        raise ValueError("no values")
    k = min(len(v) - 1, max(0, int(math.ceil(q * len(v))) - 1))
    return v[k]


def fmt(x):
    """A number as the result lines carry it: enough digits, no exponent for usual sizes."""
    if x == 0:
        return "0"
    a = abs(x)
    if a >= 1e15 or a < 1e-6:
        return "%.6g" % x
    if a >= 1000:
        return "%.1f" % x
    return "%.6g" % x


def result(bench, metric, unit, values, baseline=None, out=None):
    """Prints one @result line for VALUES (one or more measurements)."""
    med, lo, hi = stats(values)
    line = "@result %s %s %s %s %s %s" % (bench, metric, unit, fmt(med), fmt(lo), fmt(hi))
    if baseline:
        line += " " + baseline
    print(line, file=out or sys.stdout, flush=True)


def note(bench, text, out=None):
    print("@note %s %s" % (bench, " ".join(str(text).split())), file=out or sys.stdout, flush=True)


class ParseError(ValueError):
    pass


def parse_line(line):
    """One output line -> None (not ours), ("note", bench, text) or ("result", dict).
    Raises ParseError for a line that starts with @result or @note but is malformed."""
    s = line.strip()
    if s.startswith("@note"):
        parts = s.split(None, 2)
        if parts[0] != "@note":
            return None
        if len(parts) < 3:
            raise ParseError("@note needs a bench and a text: %r" % s)
        return ("note", parts[1], parts[2])
    if not s.startswith("@result"):
        return None
    parts = s.split()
    if parts[0] != "@result":
        return None
    if len(parts) not in (7, 8):
        raise ParseError("@result needs BENCH METRIC UNIT MEDIAN MIN MAX [BASELINE]: %r" % s)
    nums = []
    for p in parts[4:7]:
        try:
            x = float(p)
        except ValueError:
            raise ParseError("not a number %r in %r" % (p, s))
        if not math.isfinite(x):
            raise ParseError("not a finite number %r in %r" % (p, s))
        nums.append(x)
    med, lo, hi = nums
    if not lo <= med <= hi:
        raise ParseError("want MIN <= MEDIAN <= MAX in %r" % s)
    return ("result", {"bench": parts[1], "metric": parts[2], "unit": parts[3], "median": med,
                       "min": lo, "max": hi, "baseline": parts[7] if len(parts) == 8 else None})


def aggregate(bench, lines):
    """The lines a bench printed -> (results, notes, errors). results: list of dicts in
    first-seen order with 'ratio' (or None) and 'baseline_median'; errors: strings (a
    malformed line, a result under another bench's name, a unit that changed, a baseline
    that is missing or in another unit)."""
    order, merged, notes, errors = [], {}, [], []
    for ln in lines:
        try:
            p = parse_line(ln)
        except ParseError as e:
            errors.append(str(e))
            continue
        if p is None:
            continue
        if p[0] == "note":
            if p[1] != bench:
                errors.append("@note for %r printed by %r" % (p[1], bench))
            else:
                notes.append(p[2])
            continue
        r = p[1]
        if r["bench"] != bench:
            errors.append("@result for %r printed by %r" % (r["bench"], bench))
            continue
        m = merged.get(r["metric"])
        if m is None:
            r["medians"] = [r["median"]]
            merged[r["metric"]] = r
            order.append(r["metric"])
            continue
        if m["unit"] != r["unit"]:
            errors.append("%s: unit %s, then %s" % (r["metric"], m["unit"], r["unit"]))
            continue
        if m["baseline"] != r["baseline"]:
            errors.append("%s: baseline %s, then %s" % (r["metric"], m["baseline"], r["baseline"]))
        m["medians"].append(r["median"])
        m["min"] = min(m["min"], r["min"])
        m["max"] = max(m["max"], r["max"])
        m["median"] = stats(m["medians"])[0]
    results = []
    for k in order:
        r = merged[k]
        r["passes"] = len(r.pop("medians"))
        r["ratio"] = r["baseline_median"] = None
        b = r["baseline"]
        if b is not None:
            base = merged.get(b)
            if base is None:
                errors.append("%s: baseline %s was not measured" % (k, b))
            elif base["unit"] != r["unit"]:
                errors.append("%s: baseline %s is in %s, not %s" % (k, b, base["unit"], r["unit"]))
            else:
                r["baseline_median"] = base["median"]
                r["ratio"] = r["median"] / base["median"] if base["median"] else None
        results.append(r)
    return results, notes, errors


def num(x):
    """A figure for a table: 3 significant digits, thousands separated."""
    if x is None:
        return "—"
    a = abs(x)
    if a >= 1000:
        return "{:,.0f}".format(x)
    if a >= 100:
        return "%.0f" % x
    if a >= 10:
        return "%.1f" % x
    if a >= 1:
        return "%.2f" % x
    if a == 0:
        return "0"
    return "%.3g" % x


def ratio_text(r):
    if r["baseline"] is None:
        return "", ""
    base = "%s %s" % (r["baseline"], num(r["baseline_median"]))
    if r["ratio"] is None:
        return base, "—"
    return base, "%s×" % num(r["ratio"])


def render_table(results):
    """Markdown table of one bench's results."""
    rows = ["| metric | median | min | max | unit | baseline (same run) | ratio |",
            "|---|---:|---:|---:|---|---|---:|"]
    for r in results:
        base, ratio = ratio_text(r)
        rows.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            r["metric"], num(r["median"]), num(r["min"]), num(r["max"]), r["unit"], base, ratio))
    return rows


def render_md(run):
    """The whole latest.md from the harness's run dict (see harness.py: to_json())."""
    out = ["# inforeg benchmarks: %s run of %s" % ("quick (smoke)" if run["quick"] else "full", run["date"]), "",
           "Generated by `make bench%s` (bench/harness.py) from the `@result` lines the benchmarks "
           "printed; nothing here is typed by hand. Medians, with min and max over each bench's "
           "repetitions; a ratio is median / the baseline's median, both from this run." % (
               " QUICK=1" if run["quick"] else ""), "",
           "Machine: %s. Load average %s at the start, %s at the end. Commit %s." % (
               run["machine"], run["load_start"], run["load_end"], run["commit"]), ""]
    if run.get("notes"):
        out += ["Notes: " + run["notes"], ""]
    out += ["| bench | status | seconds | results |", "|---|---|---:|---:|"]
    for b in run["benches"]:
        out.append("| [%s](#%s) | %s | %.0f | %d |" % (b["name"], b["name"].replace("_", "_"), b["status"],
                                                        b["seconds"], len(b["results"])))
    out.append("")
    for b in run["benches"]:
        out += ["## %s" % b["name"], "", "`%s` — %s in %.0f s." % (b["command"], b["status"], b["seconds"]), ""]
        if b["errors"]:
            out += ["Errors:", ""] + ["- " + e for e in b["errors"]] + [""]
        if b["results"]:
            out += render_table(b["results"]) + [""]
        elif b["status"].startswith("ok"):
            out += ["This bench printed no `@result` lines.", ""]
        if b["notes"]:
            out += ["Notes:", ""] + ["- " + n for n in b["notes"]] + [""]
        for p in b["plots"]:
            out += ["![%s](%s)" % (p, p), ""]
    return "\n".join(out) + "\n"
