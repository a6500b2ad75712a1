#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""readme_table.py - writes the README's figures table from the latest full `make bench`
run (bench/results/latest.json), between the lines
    <!-- figures:begin (bench/readme_table.py writes this block) -->
    <!-- figures:end -->
so that no figure in it is typed by hand. The README shows the headline metrics of each
bench (HEADLINE below: patterns of metric names; a bench it does not know shows its
metrics that have a baseline, else its first five); bench/results/latest.md has them all.
Refuses a quick run's results (they are a smoke test, not figures).

usage: readme_table.py [--json bench/results/latest.json] [--readme README.md] [--check]
  --check: exit 1 when the README's block differs from what the JSON gives
"""
import argparse, fnmatch, json, os, sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib  # noqa: E402

BEGIN = "<!-- figures:begin (bench/readme_table.py writes this block) -->"
END = "<!-- figures:end -->"
HEADLINE = {
    "read_latency": ["latest", "fast_read", "sample_copy", "proc_stat_pread"],
    "freshness": ["inforegd.p50", "inforegd.p99"],
    "series_scaling": ["daemon.n*.tick_cost", "*.n*.read_sample", "*.n*.metrics", "standin.n*.publish"],
    "daemon_cpu": ["inforegd@*.cpu", "cpuonly@*.cpu", "inforegd@*.rss", "inforegd@*.ring", "inforegd@*.rss_without_ring",
                   "inforegd@*.pss", "inforegd@*.anon"],
    "api_bench": ["cpu.usage", "metrics", "metrics.h1", "cpu.usage.p99", "metrics.p99"],
    "bpf_overhead": ["*.all.overhead", "event.sched_switch", "sample.*"],
    "extender_bench": ["n*.extender.latency", "n*.extender.cpu"],
    "api_soak": ["requests", "rss_spread", "reader_errors", "dropped_ticks"],
    "experiment": ["*.met_target", "*.task_fps"],
    "rules_tick": ["goal", "goal_cold", "derive_100x1"],
    "rules_bench": ["tick_100derive_score", "score_get", "score_post10"],
    "exec_jitter": ["*.jitter_p99", "*.tick_cost", "exec10.rules_cost"],
    "devices_tick": ["tick_devices", "devices_add_mean", "nvml_reading_cpu"],
    "python_read": ["*"],
}


def pick(bench, results):
    pats = HEADLINE.get(bench)
    if pats is None:
        with_base = [r for r in results if r["baseline"]]
        return with_base or results[:5]
    return [r for r in results if any(fnmatch.fnmatchcase(r["metric"], p) for p in pats)]


def block(run):
    rows = [BEGIN,
            "Measured by `make bench` on %s (full run, commit %s) on %s; load average %s at the start, "
            "%s at the end%s. Written by `bench/readme_table.py` from `bench/results/latest.json`; every "
            "figure and plot is in [bench/results/latest.md](bench/results/latest.md)." % (
                run["date"], run["commit"], run["machine"], run["load_start"], run["load_end"],
                (". " + run["notes"].rstrip(".")) if run.get("notes") else ""),
            "",
            "| bench | metric | median (min–max) | unit | baseline, same run | ratio |",
            "|---|---|---|---|---|---:|"]
    for b in run["benches"]:
        if not b["status"].startswith("ok"):
            rows.append("| %s | — | %s | | | |" % (b["name"], b["status"]))
            continue
        for r in pick(b["name"], b["results"]):
            base, ratio = benchlib.ratio_text(r)
            rows.append("| %s | %s | %s (%s–%s) | %s | %s | %s |" % (
                b["name"], r["metric"], benchlib.num(r["median"]), benchlib.num(r["min"]), benchlib.num(r["max"]),
                r["unit"], base, ratio))
    rows.append(END)
    return "\n".join(rows)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", default=os.path.join(HERE, "results", "latest.json"))
    ap.add_argument("--readme", default=os.path.join(os.path.dirname(HERE), "README.md"))
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    run = json.load(open(a.json))
    if run.get("quick"):
        sys.exit("readme_table: %s is a quick run's: run a full `make bench` first" % a.json)
    text = open(a.readme).read()
    i, j = text.find(BEGIN), text.find(END)
    if i < 0 or j < i:
        sys.exit("readme_table: %s has no %s ... %s block" % (a.readme, BEGIN, END))
    new = text[:i] + block(run) + text[j + len(END):]
    if a.check:
        if new != text:
            sys.exit("readme_table: the README's figures are not those of %s" % a.json)
        return
    with open(a.readme, "w") as f:
        f.write(new)
    print("readme_table: %s updated from %s (%s)" % (a.readme, a.json, run["date"]))


if __name__ == "__main__":
    main()
