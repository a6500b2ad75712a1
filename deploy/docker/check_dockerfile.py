#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""check_dockerfile - lints deploy/docker/Dockerfile where no container engine runs.

Parses the Dockerfile (continuations, comments, exec/shell forms) and checks what a
build would otherwise find out, plus this project's rules:
- syntax: known instructions only; ENTRYPOINT/CMD in exec (JSON) form; no ADD of URLs;
- bases: Debian 12 (debian:12 / bookworm, never :latest or untagged), the build stage
  runs scripts/install-deps.sh (the same dependency script as every other build);
- apt: update and install in one RUN, --no-install-recommends, lists removed in that
  RUN; every runtime package exists in this machine's Debian 12 package lists
  (apt-cache, local) and, when build/bin holds built binaries, the runtime packages
  provide every shared library they link (ldd + dpkg -S);
- COPY: every source exists in the context and is not excluded by .dockerignore;
  --from names an earlier stage;
- the image: EXPOSE 9470, the ENTRYPOINT binary is one `make install` puts in the
  image, and the Kubernetes manifests' commands name files the image has.
usage: check_dockerfile.py [--offline] DOCKERFILE CONTEXT_DIR [BUILD_DIR]; exit 0 clean, 1
with errors. --offline: skip the apt-cache look-ups (the package checks).
"""

import fnmatch
import glob
import json
import os
import re
import shlex
import subprocess
import sys

KNOWN = {"FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME", "USER",
         "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL"}


def parse(path):
    """[(line, INSTRUCTION, argument text)]"""
    out, buf, start = [], "", 0
    with open(path) as f:
        for n, line in enumerate(f, 1):
            s = line.rstrip("\n")
            if not buf and (not s.strip() or s.lstrip().startswith("#")):
                continue
            if buf and s.lstrip().startswith("#"):
                continue  # comment lines inside a continuation are dropped by Docker
            if not buf:
                start = n
            if s.endswith("\\"):
                buf += s[:-1] + " "
                continue
            buf += s
            parts = buf.strip().split(None, 1)
            out.append((start, parts[0].upper(), parts[1] if len(parts) > 1 else ""))
            buf = ""
    return out


def dockerignore(ctx):
    pats = []
    p = os.path.join(ctx, ".dockerignore")
    if os.path.exists(p):
        for line in open(p):
            line = line.strip()
            if line and not line.startswith("#"):
                pats.append(line)
    return pats


def ignored(rel, pats):
    res = False
    for p in pats:
        neg = p.startswith("!")
        p = p.lstrip("!").rstrip("/")
        pp = p.replace("**/", "")
        parts = rel.split("/")
        hit = any(fnmatch.fnmatch("/".join(parts[:i]), p) or fnmatch.fnmatch(parts[i - 1], pp)
                  for i in range(1, len(parts) + 1))
        if hit:
            res = not neg
    return res


def main(dockerfile, ctx, build=None, offline=False):
    errs = []

    def err(line, msg):
        errs.append(f"{dockerfile}:{line}: {msg}")

    ins = parse(dockerfile)
    pats = dockerignore(ctx)
    stages, runtime_pkgs, exposed, entry, installed = [], [], set(), None, set()
    build_runs_deps = False
    for line, op, arg in ins:
        if op not in KNOWN:
            err(line, f"unknown instruction {op}")
            continue
        if op == "FROM":
            m = re.match(r"^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$", arg, re.I)
            if not m:
                err(line, f"bad FROM {arg!r}")
                continue
            image, name = m.group(1), m.group(2)
            if image in [s for s in stages if s]:
                stages.append(name)
                continue
            repo, _, tag = image.partition(":")
            if repo != "debian" or not re.match(r"^(12|bookworm)(\.\d+)?(-slim)?(-\d+)?$", tag):
                err(line, f"base {image!r} is not Debian 12 (debian:12, debian:12-slim, debian:bookworm...)")
            stages.append(name)
        elif op == "RUN":
            if "scripts/install-deps.sh" in arg and len(stages) == 1:
                build_runs_deps = True
            if "apt-get install" in arg:
                if "apt-get update" not in arg:
                    err(line, "apt-get install without apt-get update in the same RUN (stale lists)")
                if "--no-install-recommends" not in arg:
                    err(line, "apt-get install without --no-install-recommends")
                if "rm -rf /var/lib/apt/lists" not in arg:
                    err(line, "apt lists not removed in the installing RUN")
                words = shlex.split(arg.split("apt-get install", 1)[1].split("&&")[0])
                pk = [w for w in words if not w.startswith("-")]
                if len(stages) > 1:
                    runtime_pkgs += pk
        elif op in ("CMD", "ENTRYPOINT"):
            try:
                v = json.loads(arg)
                assert isinstance(v, list) and all(isinstance(x, str) for x in v)
            except (ValueError, AssertionError):
                err(line, f"{op} not in exec form (a JSON array of strings): signals would go to a shell")
                continue
            if op == "ENTRYPOINT":
                entry = (line, v[0])
        elif op == "ADD":
            if re.search(r"https?://", arg):
                err(line, "ADD of a URL: download in a RUN with a checksum instead")
        elif op == "EXPOSE":
            exposed |= set(arg.split())
        elif op == "COPY":
            words = shlex.split(arg)
            flags = [w for w in words if w.startswith("--")]
            srcs, dest = [w for w in words if not w.startswith("--")][:-1], words[-1]
            frm = [f.split("=", 1)[1] for f in flags if f.startswith("--from=")]
            if frm:
                if frm[0] not in [s for s in stages[:-1] if s]:
                    err(line, f"COPY --from={frm[0]}: no earlier stage of that name")
                if len(stages) > 1 and dest.startswith("/usr/local"):
                    for s in srcs:
                        installed.add(s)
                continue
            for s in srcs:
                if s == ".":
                    continue
                p = os.path.join(ctx, s)
                if not glob.glob(p):
                    err(line, f"COPY source {s} does not exist in the context {ctx}")
                elif ignored(s.rstrip("/"), pats):
                    err(line, f"COPY source {s} is excluded by .dockerignore")
            if len(stages) > 1:
                installed.add(dest)
    if len(stages) < 2:
        err(1, "expected a build stage and a runtime stage (multi-stage: no compilers in the image)")
    if not build_runs_deps:
        err(1, "the build stage does not run scripts/install-deps.sh")
    if "9470" not in exposed and "9470/tcp" not in exposed:
        err(1, "EXPOSE 9470 (inforegd's REST port) missing")
    if entry is None:
        err(1, "no ENTRYPOINT")
    elif entry[1] != "/usr/local/bin/inforegd":
        err(entry[0], f"ENTRYPOINT {entry[1]} is not /usr/local/bin/inforegd (make install PREFIX=/usr/local)")

    # runtime packages exist in Debian 12 (this machine's lists; one apt-cache call) ...
    if runtime_pkgs and not offline:
        r = subprocess.run(["apt-cache", "show", "--no-all-versions"] + runtime_pkgs, capture_output=True, text=True)
        known = set(re.findall(r"^Package: (\S+)$", r.stdout, re.M))
        if not known:
            print("check_dockerfile: no Debian package lists here (apt-get update): package names not checked",
                  file=sys.stderr)
        for p in runtime_pkgs if known else []:
            if p not in known:
                err(1, f"runtime package {p} not found in the Debian package lists (apt-cache show)")
    # ... and provide what the built binaries link (one ldd per binary, one dpkg -S)
    if build and os.path.isdir(os.path.join(build, "bin")):
        users = {}
        for b in sorted(glob.glob(os.path.join(build, "bin", "*"))):
            r = subprocess.run(["ldd", b], capture_output=True, text=True)
            for m in re.finditer(r"=> (/\S+)", r.stdout):
                users.setdefault(os.path.realpath(m.group(1)), set()).add(os.path.basename(b))
        owner = {}
        if users:
            # dpkg knows a library by the path its package installed (/usr/lib or /lib)
            paths = sorted(users)
            alts = [p[4:] if p.startswith("/usr/") else "/usr" + p for p in paths]
            r = subprocess.run(["dpkg", "-S"] + paths + alts, capture_output=True, text=True)
            for line in r.stdout.splitlines():
                pkg, _, path = line.partition(": ")
                for p in (path, path[4:] if path.startswith("/usr/") else "/usr" + path):
                    owner[p] = pkg.split(":")[0]
        need = {}
        for lib, bins in users.items():
            if lib not in owner:
                err(1, f"{', '.join(sorted(bins))} link {lib}, which no Debian package owns")
            else:
                need.setdefault(owner[lib], set()).update(bins)
        base = {"libc6", "libgcc-s1", "libstdc++6"}  # essential: in every Debian image
        missing = {p: b for p, b in need.items() if p not in runtime_pkgs and p not in base}
        if missing:
            # a dependency of a listed package is pulled in by apt
            r = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
                                "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances"] + runtime_pkgs,
                               capture_output=True, text=True)
            deps = {x.split()[-1] for x in r.stdout.splitlines() if "Depends:" in x}
            for pkg, bins in sorted(missing.items()):
                if pkg not in deps:
                    err(1, f"runtime stage lacks {pkg} (linked by {', '.join(sorted(bins))})")
    for e in errs:
        print(e)
    print(f"check_dockerfile: {len(ins)} instructions, {len(stages)} stages, {len(runtime_pkgs)} runtime packages, "
          f"{len(errs)} errors", file=sys.stderr)
    return 1 if errs else 0


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--offline"]
    if len(args) < 2:
        sys.exit(__doc__)
    sys.exit(main(*args[:3], offline="--offline" in sys.argv[1:]))
