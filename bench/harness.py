#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""harness.py - `make bench`: runs every benchmark under bench/, one after the other,
with its output on the terminal, and writes OUT/latest.md, OUT/latest.json and one PNG
per benchmark (gnuplot) from the `@result` lines they print (bench/benchlib.py defines
them). Nothing else of a bench's output reaches the report.

Which benches: bench/benches.conf names them in order, with a command and a time limit
each, and names the programs under bench/ that are helpers, not benches. A bench/*.sh,
bench/*.py or bench/*.c the file does not name is a bench too, run by convention after
the named ones: `bash bench/NAME.sh BUILD`, `/usr/bin/python3 bench/NAME.py BUILD`,
`BUILD/bench/NAME` (so a new bench runs without touching the harness). Every bench gets
INFOREG_BUILD, INFOREG_TOP, BENCH_OUT (where it may write its own plots, named
NAME_*.png) and QUICK (1 in a quick run, else empty) in its environment.

Outcomes: exit 0 is ok (a bench that printed no @result line is reported as such);
exit 77 (cannot run here: not root, a tool missing) and any other exit, a time limit
passed, or a malformed @result line fail the harness (exit 1) after the report is
written. The time limits are generous hang guards, not performance checks.

usage: harness.py [--build DIR] [--out DIR] [--quick] [--only NAME,...]
"""
import argparse, json, os, platform, re, shutil, signal, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib  # noqa: E402

TOP = os.path.dirname(HERE)
DEFAULT_TIMEOUT = 600


def parse_registry(text, path="benches.conf"):
    """The registry's lines -> (benches, helpers): benches is a list of (name, timeout_s,
    quick_timeout_s, command words or None), helpers a set of names. Raises ValueError
    with FILE:LINE for a bad line."""
    benches, helpers, seen = [], set(), set()
    for no, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        w = line.split()
        where = "%s:%d" % (path, no)
        if w[0] == "helper":
            if len(w) < 2:
                raise ValueError("%s: helper needs names" % where)
            helpers.update(w[1:])
            continue
        if w[0] != "bench" or len(w) < 3:
            raise ValueError("%s: want 'bench NAME TIMEOUT[/QUICK_TIMEOUT] [COMMAND...]' or 'helper NAME...'"
                             % where)
        m = re.fullmatch(r"(\d+)(?:/(\d+))?", w[2])
        if not m:
            raise ValueError("%s: bad time limit %r (seconds, or FULL/QUICK)" % (where, w[2]))
        if w[1] in seen:
            raise ValueError("%s: %s named twice" % (where, w[1]))
        seen.add(w[1])
        full = int(m.group(1))
        quick = int(m.group(2)) if m.group(2) else full
        benches.append((w[1], full, quick, w[3:] or None))
    return benches, helpers


def discover(bench_dir, registry_text):
    """Every bench to run, in order: (name, full_timeout, quick_timeout, command words)."""
    named, helpers = parse_registry(registry_text)
    names = {b[0] for b in named}
    extra = {}
    for f in sorted(os.listdir(bench_dir)):
        stem, ext = os.path.splitext(f)
        if ext not in (".sh", ".py", ".c") or stem in helpers or stem in names:
            continue
        if ext == ".sh":
            cmd = ["bash", "{top}/bench/" + f, "{B}"]
        elif ext == ".py":
            cmd = ["/usr/bin/python3", "{top}/bench/" + f, "{B}"]
        else:
            cmd = ["{B}/bench/" + stem]
        extra.setdefault(stem, (stem, DEFAULT_TIMEOUT, DEFAULT_TIMEOUT, cmd))
    out = [(n, t, q, c if c else convention(bench_dir, n)) for (n, t, q, c) in named]
    return out + [extra[k] for k in sorted(extra)]


def convention(bench_dir, name):
    for ext, cmd in ((".sh", ["bash", "{top}/bench/%s.sh" % name, "{B}"]),
                     (".py", ["/usr/bin/python3", "{top}/bench/%s.py" % name, "{B}"]),
                     (".c", ["{B}/bench/" + name])):
        if os.path.exists(os.path.join(bench_dir, name + ext)):
            return cmd
    raise ValueError("benches.conf names %s with no command and there is no bench/%s.{sh,py,c}" % (name, name))


def machine():
    model = ""
    try:
        for ln in open("/proc/cpuinfo"):
            if ln.startswith("model name"):
                model = ln.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(open("/proc/meminfo").readline().split()[1])
        mem = ", %.1f GiB RAM" % (kb / 1048576)
    except (OSError, ValueError, IndexError):
        pass
    return "%s, %d CPUs (%s)%s, Linux %s" % (platform.node(), os.cpu_count() or 0, model or "?", mem,
                                               platform.release())


def loadavg():
    try:
        return " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        return "?"


def commit():
    try:
        r = subprocess.run(["git", "-C", TOP, "describe", "--always", "--dirty"], capture_output=True, text=True)
        return r.stdout.strip() or "?"
    except OSError:
        return "?"


def run_one(name, cmd, timeout, env, log_path, prefix):
    """Runs CMD, its output to the terminal (indented) and to LOG_PATH. Returns
    (exit code or None on time-out, seconds, output lines)."""
    t0 = time.monotonic()
    lines = []
    with open(log_path, "w") as log:
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=TOP,
                             text=True, errors="replace", start_new_session=True)
        deadline = t0 + timeout
        timed_out = False
        import selectors
        sel = selectors.DefaultSelector()
        sel.register(p.stdout, selectors.EVENT_READ)
        buf = ""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            if not sel.select(timeout=min(left, 1.0)):
                continue
            chunk = os.read(p.stdout.fileno(), 65536)
            if not chunk:
                break
            buf += chunk.decode("utf-8", "replace")
            while "\n" in buf:
                ln, buf = buf.split("\n", 1)
                lines.append(ln)
                log.write(ln + "\n")
                print(prefix + ln, flush=True)
        if buf:
            lines.append(buf)
            log.write(buf + "\n")
            print(prefix + buf, flush=True)
        if timed_out:
            try:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
            rc = None
        else:
            rc = p.wait()
    return rc, time.monotonic() - t0, lines


def plot(bench, results, out_dir):
    """OUT/BENCH.png: one panel per unit, a bar per metric (median) with min-max error bars.
    Returns the file name, or None when gnuplot is missing (reported by the caller)."""
    if not results or not shutil.which("gnuplot"):
        return None
    units = []
    for r in results:
        if r["unit"] not in units:
            units.append(r["unit"])
    most = max(sum(1 for r in results if r["unit"] == u) for u in units)
    width = max(640, min(2400, 140 + 70 * most))
    png = "%s.png" % bench
    gp = ["set terminal png size %d,%d" % (width, 60 + 330 * len(units)),
          "set output '%s'" % os.path.join(out_dir, png), "set termoption noenhanced",
          "set multiplot layout %d,1 title '%s'" % (len(units), bench),
          "set style fill solid 0.6 border -1", "set boxwidth 0.7", "set grid ytics", "set key off",
          "set xtics rotate by -25 font ',9'", "set bmargin 6", "set rmargin 10"]
    for u in units:
        rs = [r for r in results if r["unit"] == u]
        pos = [r["min"] for r in rs if r["min"] > 0]
        log = pos and len(pos) == len(rs) and max(r["max"] for r in rs) / min(pos) > 50
        gp += ["unset logscale y", "set yrange [0:*]"] if not log else ["set logscale y", "set yrange [*:*]"]
        gp += ["set ylabel '%s'" % u.replace("'", ""), "set xrange [-0.6:%f]" % (len(rs) - 0.4),
               "plot '-' using 0:2:xtic(1) with boxes lc rgb '#4a7ab5', "
               "'-' using 0:2:3:4 with yerrorbars lc rgb 'black' pt 0"]
        data = ["\"%s\" %r %r %r" % (r["metric"], r["median"], r["min"], r["max"]) for r in rs]
        gp += data + ["e"] + data + ["e"]
    gp.append("unset multiplot")
    p = subprocess.run(["gnuplot"], input="\n".join(gp) + "\n", text=True, capture_output=True)
    if p.returncode:
        raise RuntimeError("gnuplot failed for %s: %s" % (bench, p.stderr[-400:]))
    return png


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--out", default=None)
    ap.add_argument("--quick", action="store_true", default=os.environ.get("QUICK") == "1")
    ap.add_argument("--only", default="")
    ap.add_argument("--notes", default=os.environ.get("BENCH_NOTES", ""))
    args = ap.parse_args()
    B = os.path.abspath(args.build)
    out = os.path.abspath(args.out or (os.path.join(B, "bench-quick") if args.quick else os.path.join(HERE, "results")))
    os.makedirs(out, exist_ok=True)
    logs = os.path.join(B, "bench-logs")
    os.makedirs(logs, exist_ok=True)
    reg = os.path.join(HERE, "benches.conf")
    try:
        benches = discover(HERE, open(reg).read())
    except (OSError, ValueError) as e:
        sys.exit("harness: %s" % e)
    only = [x for x in args.only.split(",") if x]
    if only:
        unknown = set(only) - {b[0] for b in benches}
        if unknown:
            sys.exit("harness: no bench named %s" % ", ".join(sorted(unknown)))
        benches = [b for b in benches if b[0] in only]
    env = dict(os.environ, INFOREG_BUILD=B, INFOREG_TOP=TOP, BENCH_OUT=out, QUICK="1" if args.quick else "")
    run = {"quick": args.quick, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": machine(),
           "load_start": loadavg(), "commit": commit(), "notes": args.notes, "benches": []}
    failed = []
    t_all = time.monotonic()
    for i, (name, full_t, quick_t, cmd) in enumerate(benches, 1):
        timeout = quick_t if args.quick else full_t
        words = [w.replace("{B}", B).replace("{top}", TOP).replace("{out}", out) for w in cmd]
        shown = " ".join(w.replace(B, "BUILD").replace(TOP + "/", "").replace(out, "OUT") for w in words)
        print("[%d/%d] %s: %s (limit %d s)" % (i, len(benches), name, shown, timeout), flush=True)
        for old in os.listdir(out):
            if old == name + ".png" or (old.startswith(name + "_") and old.endswith(".png")):
                os.unlink(os.path.join(out, old))
        try:
            rc, secs, lines = run_one(name, words, timeout, env, os.path.join(logs, name + ".log"), "    ")
        except OSError as e:
            rc, secs, lines = 127, 0.0, ["cannot start: %s" % e]
        results, notes, errors = benchlib.aggregate(name, lines)
        if rc is None:
            status = "FAILED: no end after %d s" % timeout
        elif rc == 77:
            why = [ln for ln in lines if ln.strip()]
            status = "FAILED: cannot run here (%s)" % (why[-1].strip() if why else "exit 77")
        elif rc != 0:
            status = "FAILED: exit %d" % rc
        elif errors:
            status = "FAILED: malformed results"
        elif not results:
            status = "ok, no @result lines"
        else:
            status = "ok"
        plots = []
        try:
            p = plot(name, results, out)
            if p:
                plots.append(p)
            elif results:
                errors.append("gnuplot is not installed (Debian: gnuplot-nox): no plot")
                status = "FAILED: no plot"
        except RuntimeError as e:
            errors.append(str(e))
            status = "FAILED: no plot"
        plots += sorted(f for f in os.listdir(out) if f.startswith(name + "_") and f.endswith(".png"))
        if status.startswith("FAILED"):
            failed.append(name)
        print("[%d/%d] %s: %s, %d results, %.1f s" % (i, len(benches), name, status, len(results), secs), flush=True)
        run["benches"].append({"name": name, "command": shown, "status": status, "seconds": secs,
                               "results": results, "notes": notes, "errors": errors, "plots": plots})
    run["load_end"] = loadavg()
    run["seconds"] = time.monotonic() - t_all
    with open(os.path.join(out, "latest.json"), "w") as f:
        json.dump(run, f, indent=1)
    with open(os.path.join(out, "latest.md"), "w") as f:
        f.write(benchlib.render_md(run))
    print("harness: %d benches in %.0f s, %d failed%s; report %s" % (
        len(benches), run["seconds"], len(failed), (" (" + ", ".join(failed) + ")") if failed else "",
        os.path.join(out, "latest.md")), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
