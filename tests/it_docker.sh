#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_docker: deploy/docker/Dockerfile. Where a container engine answers (`docker info`),
# builds the image and runs inforegd, the CLI and the Python reader from it. Everywhere,
# lints it with deploy/docker/check_dockerfile.py (Debian 12 bases, the project's
# install script, apt hygiene, COPY sources, exec-form ENTRYPOINT, the runtime packages
# exist and provide every library build/bin/* links) and checks that the check fails on
# deliberately broken copies; and that the Kubernetes manifests run commands the image
# has, under the image tag of this version.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
D=$INFOREG_TOP/deploy/docker/Dockerfile
CHECK=$INFOREG_TOP/deploy/docker/check_dockerfile.py
"$PY" "$CHECK" "$D" "$INFOREG_TOP" "$INFOREG_BUILD" || ir_fail "the Dockerfile does not pass the lint"

"$PY" - "$CHECK" "$D" "$INFOREG_TOP" "$INFOREG_BUILD" "$IR_TMP" <<'PY' || ir_fail "a broken Dockerfile passed the lint"
import os, subprocess, sys
check, dockerfile, top, build, tmp = sys.argv[1:]
text = open(dockerfile).read()
cases = [
    ("FROM debian:12 AS build", "FROM debian:latest AS build", "is not Debian 12"),
    ("FROM debian:12-slim", "FROM ubuntu:24.04", "is not Debian 12"),
    ("RUN scripts/install-deps.sh && rm", "RUN apt-get update && rm", "does not run scripts/install-deps.sh"),
    ('ENTRYPOINT ["/usr/local/bin/inforegd"]', "ENTRYPOINT /usr/local/bin/inforegd", "not in exec form"),
    ('ENTRYPOINT ["/usr/local/bin/inforegd"]', 'ENTRYPOINT ["/usr/bin/inforegd"]', "is not /usr/local/bin/inforegd"),
    ("COPY python/inforeg/", "COPY python/inforg/", "does not exist in the context"),
    ("COPY python/inforeg/", "COPY build/", "excluded by .dockerignore"),
    ("--from=build", "--from=builder", "no earlier stage"),
    ("apt-get install -y --no-install-recommends", "apt-get install -y", "--no-install-recommends"),
    ("    && rm -rf /var/lib/apt/lists/*\nCOPY --from", "COPY --from", "apt lists not removed"),
    ("EXPOSE 9470", "EXPOSE 8080", "EXPOSE 9470"),
    ("FROM debian:12-slim\n", "FROM debian:12-slim\nFETCH x\n", "unknown instruction FETCH"),
]
if os.path.isdir(os.path.join(build, "bin")):
    cases.append(("libjansson4 ", "", "lacks libjansson4"))
if subprocess.run(["apt-cache", "show", "--no-all-versions", "zlib1g"], capture_output=True).returncode == 0:
    cases.append(("libcurl4 python3", "libcurl4 python3 libinforeg-no-such-package1", "not found in the Debian"))
bad = 0
for i, (old, new, want) in enumerate(cases):
    if old not in text:
        print(f"case {i}: {old!r} not in the Dockerfile: update the test"); bad += 1; continue
    p = os.path.join(tmp, f"Dockerfile.{i}")
    open(p, "w").write(text.replace(old, new, 1))
    # only the package cases need apt-cache and build/ (ldd, dpkg -S, apt-cache: slow)
    pk = want.startswith(("lacks", "not found"))
    r = subprocess.run([sys.executable, check] + ([] if pk else ["--offline"]) + [p, top]
                       + ([build] if want.startswith("lacks") else []), capture_output=True, text=True)
    if r.returncode != 1 or want not in r.stdout:
        print(f"case {i} ({new!r}): exit {r.returncode}, want 1 and {want!r}:\n{r.stdout}{r.stderr}"); bad += 1
    else:
        print(f"ok: case {i}: {r.stdout.splitlines()[0]}")
sys.exit(1 if bad else 0)
PY

# the manifests' image is this version's and their commands are files the image has
"$PY" - "$INFOREG_TOP" <<'PY' || ir_fail "the Kubernetes manifests and the image disagree"
import glob, os, re, sys, yaml
top = sys.argv[1]
mk = open(os.path.join(top, "Makefile")).read()
version = re.search(r"^VERSION\s*:?=\s*(\S+)", mk, re.M).group(1)
bins = re.search(r"^BINS\s*:?=(.*)$", mk, re.M).group(1)
have = {"/usr/local/bin/" + os.path.basename(b) for b in bins.split()} | {"/usr/bin/python3"}
bad = 0
for f in sorted(glob.glob(os.path.join(top, "deploy/kubernetes/*.yaml"))):
    for d in yaml.safe_load_all(open(f)):
        if not d or d.get("kind") not in ("Pod", "DaemonSet", "Deployment"):
            continue
        spec = d["spec"] if d["kind"] == "Pod" else d["spec"]["template"]["spec"]
        for c in spec["containers"]:
            if c["image"] != f"inforeg:{version}":
                print(f"{f}: {c['name']}: image {c['image']}, the image built here is inforeg:{version}"); bad += 1
            cmd = c["command"][0]
            if cmd not in have:
                if cmd.endswith("inforeg-extender") and not os.path.isdir(os.path.join(top, "extender")):
                    print(f"note: {f}: {cmd} comes with extender/ (not in this tree)")
                    continue
                print(f"{f}: {c['name']}: command {cmd} is not in the image ({sorted(have)})"); bad += 1
sys.exit(1 if bad else 0)
PY

if command -v docker >/dev/null && timeout 20 docker info >/dev/null 2>&1; then
	tag=inforeg:it-$$
	timeout 1800 docker build -q -f "$D" -t "$tag" "$INFOREG_TOP" || ir_fail "docker build"
	trap 'docker rmi -f "$tag" >/dev/null 2>&1; ir_cleanup' EXIT
	docker run --rm "$tag" --version | grep -q '^inforegd ' || ir_fail "inforegd --version in the image"
	docker run --rm --entrypoint /usr/local/bin/inforeg "$tag" --version || ir_fail "inforeg CLI in the image"
	docker run --rm --entrypoint /usr/bin/python3 "$tag" -c 'import inforeg; print(inforeg.__version__)' ||
		ir_fail "the Python reader in the image"
	echo "ok: image built and run; lint clean"
else
	echo "ok: lint clean (no container engine answers here: docker info failed, the image was not built)"
fi
