#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""experiment.py - the scheduling experiment: inference-like tasks placed on nodes by
several policies, measured in frames per second per task (`make experiment`).

Nodes: N inforegd instances on this machine, each with its own shm name and loopback
port, each scoped (--cgroup) to a cgroup of its own with a CPU limit, so that nodes
differ in capacity; node 0 gets a background load that starts and stops during each
run, the last node a steady light one. Tasks (bench/infer_task) run a fixed matrix
kernel per frame at a target rate and declare the CPU share that reaches it; they
arrive one by one and each is placed by the policy under test inside the chosen
node's cgroup:

  round-robin    the next node in turn
  random         a seeded random node
  least-usage    the node with the lowest cpu.usage in the last Prometheus-style
                 scrape of /metrics, taken every 15 s (what load-aware schedulers
                 built on a scrape see today)
  inforeg-score  the node with the best POST /v1/score for the task's requirement,
                 asked of every node in parallel at decision time (with no /v1/score,
                 the paper's formula from /v1/metrics' cpu.free, and it says so); the
                 requirement includes the tasks this scheduler placed on that node in
                 the last 2 s, which its usage cannot show yet (kube-scheduler's
                 "assumed pods"); ties go to the node with the most CPU free

Measures: per-task fps over time, the share of tasks reaching their target, the fps
spread across nodes, node CPU over time, and the decision latency (p50/p99). Results
go to bench/results/: experiment.md (the table), experiment_*.csv, and PNG plots
drawn with gnuplot. QUICK=1 (or --quick) is the short form, under 2 minutes. Its
figures are also printed as @result lines (bench/benchlib.py) for `make bench`, each
policy against round-robin.

usage: experiment.py [--build DIR] [--quick] [--out DIR]   (root: it makes cgroups)
"""
import argparse, http.client, json, os, random, re, shutil, signal, statistics, subprocess, sys
import threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--build", default="build")
ap.add_argument("--quick", action="store_true", default=os.environ.get("QUICK") == "1")
ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
args = ap.parse_args()

B = os.path.abspath(args.build)
IRD, TASK = os.path.join(B, "bin/inforegd"), os.path.join(B, "bench/infer_task")
for f in (IRD, TASK):
    if not os.access(f, os.X_OK):
        sys.exit("experiment: %s is missing: run make benches" % f)
if os.geteuid() != 0:
    print("SKIP: the experiment makes cgroups: run it as root")
    sys.exit(77)
os.makedirs(args.out, exist_ok=True)

# ---- parameters ---------------------------------------------------------------------
CAPS = [1.0, 0.6, 0.4]                      # CPU limit of each node, in cores
POLICIES = ["round-robin", "random", "least-usage", "inforeg-score"]
if args.quick:
    NTASKS, ARRIVE_S, RUN_S, BG = 8, 1.2, 20.0, (5.0, 14.0)
else:
    NTASKS, ARRIVE_S, RUN_S, BG = 12, 3.0, 70.0, (20.0, 50.0)
FRAME_MS, FPS = 4.0, 30.0                   # a task needs about 0.12 cores
SCRAPE_S = 15.0
BG_LOAD = {0: 0.5, len(CAPS) - 1: 0.1}      # node -> background cores (node 0: only in BG window)
TAG = "inforeg-exp-%d" % os.getpid()

# ---- cgroups --------------------------------------------------------------------------
V2 = os.path.exists("/sys/fs/cgroup/cgroup.controllers")
V1_CTRL = ["cpu", "cpuacct", "memory"]
made = []


def cg_dirs(node):
    rel = "%s/node%d" % (TAG, node)
    if V2:
        return ["/sys/fs/cgroup/" + rel]
    return ["/sys/fs/cgroup/%s/%s" % (c, rel) for c in V1_CTRL]


def cg_setup():
    if V2:
        top = "/sys/fs/cgroup"
        with open(top + "/cgroup.subtree_control", "w") as f:
            f.write("+cpu +memory")
        os.mkdir(top + "/" + TAG)
        made.append(top + "/" + TAG)
        with open(top + "/" + TAG + "/cgroup.subtree_control", "w") as f:
            f.write("+cpu +memory")
    else:
        for c in V1_CTRL:
            d = "/sys/fs/cgroup/%s/%s" % (c, TAG)
            os.mkdir(d)
            made.append(d)
    for n, cap in enumerate(CAPS):
        for d in cg_dirs(n):
            os.mkdir(d)
            made.append(d)
        if V2:
            open(cg_dirs(n)[0] + "/cpu.max", "w").write("%d 100000" % int(cap * 100000))
        else:
            open(cg_dirs(n)[0] + "/cpu.cfs_period_us", "w").write("100000")
            open(cg_dirs(n)[0] + "/cpu.cfs_quota_us", "w").write(str(int(cap * 100000)))


def cg_join_and_exec(node):
    """preexec_fn: the child joins node's cgroup (every controller) before exec."""
    def join():
        for d in cg_dirs(node):
            with open(d + "/cgroup.procs", "w") as f:
                f.write(str(os.getpid()))
    return join


def cg_cleanup():
    left = []
    for d in reversed(made):
        for _ in range(50):
            try:
                os.rmdir(d)
                break
            except OSError:
                time.sleep(0.1)
        else:
            left.append(d)
    if left:
        sys.exit("experiment: could not remove %s" % " ".join(left))


# ---- processes ------------------------------------------------------------------------
procs = []


def spawn(argv, node=None, **kw):
    p = subprocess.Popen(argv, preexec_fn=cg_join_and_exec(node) if node is not None else None, **kw)
    procs.append(p)
    return p


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def burner(node, cores):
    """A background load of CORES (duty cycle over 10 ms) inside NODE's cgroup."""
    busy = int(cores * 10000)
    code = ("import time\nwhile True:\n t=time.perf_counter()\n"
            " while time.perf_counter()-t<%f: pass\n time.sleep(%f)\n" % (busy / 1e6, (10000 - busy) / 1e6))
    return spawn(["/usr/bin/python3", "-c", code], node)


# ---- talking to the nodes -------------------------------------------------------------
class Node:
    def __init__(self, n, cap):
        self.n, self.cap = n, cap
        s = __import__("socket").socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.shm = "%s-n%d" % (TAG, n)
        self.log = open(os.path.join(args.out, "experiment_node%d.log" % n), "w")
        self.proc = spawn([IRD, "--shm", self.shm, "--listen", "127.0.0.1:%d" % self.port, "--no-ebpf",
                           "--period", "100", "--cgroup", "/%s/node%d" % (TAG, n)],
                          stdout=self.log, stderr=subprocess.STDOUT)
        self.conn = None
        self.lock = threading.Lock()

    def request(self, method, path, body=None):
        with self.lock:
            for attempt in range(2):
                try:
                    if self.conn is None:
                        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                    hdr = {"Content-Type": "application/json"} if body is not None else {}
                    self.conn.request(method, path, body=body, headers=hdr)
                    r = self.conn.getresponse()
                    return r.status, r.read()
                except (OSError, http.client.HTTPException):
                    self.conn = None
                    if attempt:
                        raise

    def metrics(self, names):
        st, body = self.request("GET", "/v1/metrics?match=" + ",".join(names))
        if st != 200:
            raise RuntimeError("node %d: /v1/metrics %d" % (self.n, st))
        return {s["name"]: s["value"] for s in json.loads(body)["series"]}

    def wait_ready(self):
        for _ in range(100):
            try:
                if self.request("GET", "/healthz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("node %d did not start (see %s)" % (self.n, self.log.name))


score_source = {"how": None}


def score_of(node, req):
    """(score, cpu.free) for a task needing REQ cores: POST /v1/score, else the formula."""
    st, body = node.request("POST", "/v1/score", json.dumps([{"cpu": req}]))
    if st == 200:
        d = json.loads(body)
        s = d["scores"][0]
        score_source["how"] = "POST /v1/score (rule %s)" % d.get("rule", "?")
        return s["score"], s.get("resources", {}).get("cpu", {}).get("free", 0.0)
    free = node.metrics(["cpu.free"]).get("cpu.free")
    score_source["how"] = "the paper's formula over /v1/metrics cpu.free (no /v1/score: HTTP %d)" % st
    if free is None:
        return 0.0, 0.0
    return (1.0 if free >= req else free / req), free


class Scraper:
    """A Prometheus-style view: /metrics scraped every SCRAPE_S, the last scrape used."""
    def __init__(self, nodes):
        self.nodes, self.when, self.usage = nodes, -1e9, {}

    def least(self, now):
        if now - self.when >= SCRAPE_S:
            for nd in self.nodes:
                st, body = nd.request("GET", "/metrics")
                m = re.search(rb"^inforeg_cpu_usage_percent ([0-9.eE+-]+|NaN)$", body, re.M)
                self.usage[nd.n] = float(m.group(1)) if m and m.group(1) != b"NaN" else 0.0
            self.when = now
        return min(self.nodes, key=lambda nd: (self.usage.get(nd.n, 0.0), nd.n))


PENDING_S = 2.0  # a task placed this recently does not show in its node's usage yet


def decide(policy, i, nodes, req, rng, scraper, now, tasks):
    if policy == "round-robin":
        return nodes[i % len(nodes)]
    if policy == "random":
        return rng.choice(nodes)
    if policy == "least-usage":
        return scraper.least(now)
    res = [None] * len(nodes)
    # like kube-scheduler's assumed pods: what this scheduler placed in the last
    # PENDING_S is not in the node's measured usage yet, so it is asked for on top
    pending = [sum(req for tk in tasks if tk["node"] == nd.n and now - tk["start"] < PENDING_S) for nd in nodes]

    def ask(k):
        try:
            res[k] = score_of(nodes[k], req + pending[k])
        except (OSError, RuntimeError, KeyError, ValueError):
            res[k] = (-1.0, 0.0)
    th = [threading.Thread(target=ask, args=(k,)) for k in range(len(nodes))]
    for t in th:
        t.start()
    for t in th:
        t.join()
    best = max(range(len(nodes)), key=lambda k: (res[k][0], res[k][1], -k))
    return nodes[best]


# ---- one run of one policy --------------------------------------------------------------
def run_policy(policy, nodes, req, frame_n):
    rng = random.Random(42)
    scraper = Scraper(nodes)
    tasks, lat, cpu_rows = [], [], []
    t0 = time.monotonic()
    bg_steady = [burner(n, c) for n, c in BG_LOAD.items() if n != 0]
    bg0, stop_flag = None, threading.Event()

    def sample_nodes():
        while not stop_flag.is_set():
            t = time.monotonic() - t0
            for nd in nodes:
                try:
                    m = nd.metrics(["cpu.used", "cpu.usage"])
                    cpu_rows.append((policy, nd.n, round(t, 2), m.get("cpu.used"), m.get("cpu.usage")))
                except (OSError, RuntimeError):
                    pass
            stop_flag.wait(1.0)
    sampler = threading.Thread(target=sample_nodes)
    sampler.start()
    next_arrival = 1.0
    while True:
        t = time.monotonic() - t0
        if bg0 is None and t >= BG[0]:
            bg0 = burner(0, BG_LOAD[0])
        if bg0 is not None and t >= BG[1] and bg0.poll() is None:
            stop(bg0)
        if len(tasks) < NTASKS and t >= next_arrival:
            d0 = time.perf_counter()
            nd = decide(policy, len(tasks), nodes, req, rng, scraper, t, tasks)
            lat.append(time.perf_counter() - d0)
            p = spawn([TASK, "-n", str(frame_n), "-f", str(FPS), "-t", str(RUN_S - t)], nd.n,
                      stdout=subprocess.PIPE, text=True)
            tasks.append({"id": len(tasks), "node": nd.n, "start": t, "proc": p, "fps": []})
            next_arrival += ARRIVE_S
        if t >= RUN_S:
            break
        time.sleep(0.05)
    for tk in tasks:
        stop(tk["proc"])
        for line in tk["proc"].stdout.read().splitlines():
            if line and not line.startswith("#"):
                a, b = line.split()
                tk["fps"].append((tk["start"] + float(a), float(b)))
    stop_flag.set()
    sampler.join()
    for p in bg_steady + ([bg0] if bg0 else []):
        stop(p)
    return tasks, lat, cpu_rows


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))] if xs else float("nan")


def main():
    cal = subprocess.run([TASK, "-m", str(FRAME_MS), "-c"], capture_output=True, text=True, check=True).stdout
    frame_n, frame_ms = int(cal.split()[1]), float(cal.split()[3])
    req = frame_ms * FPS / 1000
    print("experiment: %d nodes (caps %s cores), %d tasks per policy, frame %.2f ms (n=%d), target %.0f fps "
          "-> %.3f cores per task, %s" % (len(CAPS), CAPS, NTASKS, frame_ms, frame_n, FPS, req,
                                          "quick" if args.quick else "full"), flush=True)
    cg_setup()
    nodes = [Node(n, c) for n, c in enumerate(CAPS)]
    for nd in nodes:
        nd.wait_ready()
    results, all_fps, all_cpu = {}, [], []
    for policy in POLICIES:
        print("experiment: %-14s running %.0f s ..." % (policy, RUN_S), flush=True)
        tasks, lat, cpu_rows = run_policy(policy, nodes, req, frame_n)
        all_cpu += cpu_rows
        met, per_node = 0, {}
        for tk in tasks:
            steady = [f for (t, f) in tk["fps"] if t >= tk["start"] + 2.0]
            tk["median"] = statistics.median(steady) if steady else 0.0
            met += tk["median"] >= 0.9 * FPS
            per_node.setdefault(tk["node"], []).append(tk["median"])
            for (t, f) in tk["fps"]:
                all_fps.append((policy, tk["id"], tk["node"], round(t, 2), f))
        node_means = [statistics.mean(v) for v in per_node.values()]
        results[policy] = {
            "placed": len(tasks), "met": met, "share": met / max(1, len(tasks)),
            "mean_fps": statistics.mean([tk["median"] for tk in tasks]) if tasks else 0.0,
            "spread": (max(node_means) - min(node_means)) if node_means else 0.0,
            "p50_ms": pct(lat, 0.5) * 1e3, "p99_ms": pct(lat, 0.99) * 1e3,
            "placement": [tk["node"] for tk in tasks],
            "task_fps": [tk["median"] for tk in tasks],
            "lat_ms": [x * 1e3 for x in lat],
        }
        r = results[policy]
        print("experiment: %-14s placed %d, %d met %.0f fps (%.0f%%), mean %.1f fps, spread %.1f fps, "
              "decision p50 %.3f ms p99 %.3f ms, nodes %s" % (policy, r["placed"], r["met"], FPS, 100 * r["share"],
                                                                r["mean_fps"], r["spread"], r["p50_ms"], r["p99_ms"],
                                                                r["placement"]), flush=True)
    write_outputs(results, all_fps, all_cpu, req, frame_ms)
    for p in POLICIES:
        r, base = results[p], (None if p == "round-robin" else "round-robin")
        benchlib.result("experiment", p + ".met_target", "tasks", [r["met"]], base and base + ".met_target")
        if r["task_fps"]:
            benchlib.result("experiment", p + ".task_fps", "fps", r["task_fps"], base and base + ".task_fps")
        if r["lat_ms"]:
            benchlib.result("experiment", p + ".decision", "ms", r["lat_ms"], base and base + ".decision")
            benchlib.result("experiment", p + ".decision_p99", "ms", [r["p99_ms"]], base and base + ".decision_p99")
    benchlib.note("experiment", "%d nodes (caps %s cores), %d tasks per policy at %.0f fps each (%.3f cores); "
                  "met_target: tasks whose steady median reached 90%% of it; task_fps: median/min/max over the "
                  "tasks' medians; decision: median/min/max placement latency; inforeg-score used %s; plots: "
                  "experiment_*.png" % (len(CAPS), CAPS, NTASKS, FPS, req, score_source["how"] or "-"))


def write_outputs(results, all_fps, all_cpu, req, frame_ms):
    out = args.out
    with open(os.path.join(out, "experiment_fps.csv"), "w") as f:
        f.write("policy,task,node,t,fps\n")
        for r in all_fps:
            f.write("%s,%d,%d,%.2f,%.2f\n" % r)
    with open(os.path.join(out, "experiment_node_cpu.csv"), "w") as f:
        f.write("policy,node,t,cpu_used_cores,cpu_usage_percent\n")
        for r in all_cpu:
            f.write("%s,%d,%.2f,%s,%s\n" % r)
    with open(os.path.join(out, "experiment.json"), "w") as f:
        json.dump({"results": results, "score_source": score_source["how"], "quick": args.quick, "cgroup": TAG,
                   "caps": CAPS, "tasks": NTASKS, "fps": FPS, "req": req, "frame_ms": frame_ms}, f, indent=1)
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    md = ["# The scheduling experiment (%s, %s)" % ("quick" if args.quick else "full", when), "",
          "%d nodes limited to %s cores (node 0 with %.1f cores of background load from %.0f s to %.0f s, "
          "node %d with %.1f steady); %d tasks per policy arriving every %.1f s, each a %.2f ms matrix frame at "
          "%.0f fps (%.3f cores). inforeg-score used %s." % (
              len(CAPS), CAPS, BG_LOAD[0], BG[0], BG[1], len(CAPS) - 1, BG_LOAD[len(CAPS) - 1], NTASKS,
              ARRIVE_S, frame_ms, FPS, req, score_source["how"] or "-"), "",
          "| policy | tasks placed | met target | share | mean fps | fps spread across nodes | decision p50 | decision p99 | placement |",
          "|---|---|---|---|---|---|---|---|---|"]
    for p in POLICIES:
        r = results[p]
        md.append("| %s | %d | %d | %.0f %% | %.1f | %.1f | %.3f ms | %.3f ms | %s |" % (
            p, r["placed"], r["met"], 100 * r["share"], r["mean_fps"], r["spread"], r["p50_ms"], r["p99_ms"],
            " ".join(map(str, r["placement"]))))
    md += ["", "Plots: experiment_fps.png (fps per task over time), experiment_node_cpu.png (node CPU over "
           "time), experiment_met_target.png (tasks meeting their target).", ""]
    with open(os.path.join(out, "experiment.md"), "w") as f:
        f.write("\n".join(md))
    plots(results, all_fps, all_cpu)


def blocks(path, rows):
    """A gnuplot data file with one block (index k) per key: rows are (key, x, y)."""
    keys = sorted({k for k, _, _ in rows})
    with open(path, "w") as f:
        for k in keys:
            for _, x, y in sorted((r for r in rows if r[0] == k), key=lambda r: r[1]):
                if y is not None:
                    f.write("%s %s\n" % (x, y))
            f.write("\n\n")
    return len(keys)


def plots(results, all_fps, all_cpu):
    out = args.out
    if not shutil.which("gnuplot"):
        sys.exit("experiment: gnuplot is not installed (Debian: gnuplot-nox)")
    n = len(POLICIES)
    gp = ["set terminal png size 1400,%d" % (300 * n), "set output '%s/experiment_fps.png'" % out,
          "set multiplot layout %d,1" % n]
    for p in POLICIES:
        dat = "%s/experiment_fps_%s.dat" % (out, p)
        k = blocks(dat, [(task, t, fps) for (pol, task, node, t, fps) in all_fps if pol == p])
        gp += ["set title 'fps per task over time: %s'" % p, "set xlabel 's'", "set ylabel 'fps'",
               "set yrange [0:%d]" % int(FPS * 1.3), "set key off",
               "plot for [k=0:%d] '%s' index k with lines, %f with lines dt 2 lc rgb 'black'" % (k - 1, dat, FPS)]
    gp += ["unset multiplot", "set output '%s/experiment_node_cpu.png'" % out, "set multiplot layout %d,1" % n]
    for p in POLICIES:
        dat = "%s/experiment_cpu_%s.dat" % (out, p)
        k = blocks(dat, [(node, t, used) for (pol, node, t, used, usage) in all_cpu if pol == p])
        gp += ["set title 'node CPU used (cores) over time: %s'" % p, "set yrange [0:%f]" % (max(CAPS) * 1.2),
               "set ylabel 'cores'", "set key top left",
               "plot for [k=0:%d] '%s' index k with lines title sprintf('node %%d', k)" % (k - 1, dat)]
    gp += ["unset multiplot", "set terminal png size 800,500", "set output '%s/experiment_met_target.png'" % out,
           "set title 'tasks meeting their target fps (of %d)'" % NTASKS,
           "set style data histograms", "set style fill solid 0.8", "set boxwidth 0.7", "set yrange [0:%d]" % NTASKS,
           "set ylabel 'tasks'", "set xlabel ''", "set key off", "plot '-' using 2:xtic(1) with histogram"]
    for p in POLICIES:
        gp.append("%s %d" % (p, results[p]["met"]))
    gp.append("e")
    r = subprocess.run(["gnuplot"], input="\n".join(gp) + "\n", text=True, capture_output=True)
    if r.returncode:
        sys.exit("experiment: gnuplot failed: %s" % r.stderr[-500:])


try:
    main()
finally:
    # SIGTERM first: an inforegd that exits cleanly retires and unlinks its object
    for p in procs:
        stop(p)
    cg_cleanup()
