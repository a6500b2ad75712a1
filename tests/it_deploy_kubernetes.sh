#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_deploy_kubernetes: deploy/check_manifests.py (a schema check of the Kubernetes and
# kube-scheduler types the manifests use, plus cross-object rules and inforeg's policy)
# passes deploy/kubernetes/*.yaml, and fails - naming the field - on each of a set of
# deliberately broken copies (one defect per copy), so the check can fail.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
"$PY" -c 'import yaml' 2>/dev/null || ir_skip "python3-yaml not installed"
K=$INFOREG_TOP/deploy/kubernetes
CHECK=$INFOREG_TOP/deploy/check_manifests.py
"$PY" "$CHECK" "$K"/*.yaml || ir_fail "deploy/kubernetes does not pass the check"
"$PY" - "$CHECK" "$K" "$IR_TMP" <<'PY' || ir_fail "a broken copy passed the check"
import os, shutil, subprocess, sys
check, src, tmp = sys.argv[1:]
D, E, S, P = "inforegd-daemonset.yaml", "extender.yaml", "scheduler-config.yaml", "inference-pod.yaml"
# (file, text, replacement, expected message)
cases = [
    (D, 'prometheus.io/port: "9470"', "prometheus.io/port: 9470", "must be a string"),
    (D, "hostPID: true", "hostPid: true", "hostPid: unknown field in PodSpec"),
    (D, "privileged: false", "privileged: true", "must not run privileged"),
    (D, 'add: ["BPF", "PERFMON", "SYS_RESOURCE"]', 'add: ["CAP_BPF", "PERFMON"]', "is not a capability name"),
    (D, 'add: ["BPF", "PERFMON", "SYS_RESOURCE"]', 'add: ["BPF", "SYS_RESOURCE"]', "missing PERFMON"),
    (D, "path: /healthz\n              port: http\n            periodSeconds: 5",
        "path: /health\n              port: http\n            periodSeconds: 5", "readiness must be inforegd's /healthz"),
    (D, "containerPort: 9470", "containerPort: 70000", "is not a port number"),
    (D, "            path: /dev/shm\n            type: Directory", "            path: /dev/shm\n            type: Dir",
        "is not one of"),
    (D, "  selector:\n    matchLabels:\n      app.kubernetes.io/name: inforegd",
        "  selector:\n    matchLabels:\n      app.kubernetes.io/name: inforeg-d", "does not match the template's labels"),
    (D, "            - name: cgroup\n              mountPath", "            - name: cgroups\n              mountPath",
        "no volume named 'cgroups'"),
    (D, "fieldPath: status.hostIP", "fieldPath: status.nodeIP", "is not selectable"),
    (D, "      dnsPolicy: ClusterFirstWithHostNet\n", "", "ClusterFirstWithHostNet"),
    (E, "      targetPort: http", "      targetPort: web", "no container port named 'web'"),
    (E, "  replicas: 2", "  replicas: two", "is not an integer"),
    (E, "    app.kubernetes.io/name: inforeg-extender\n  ports:", "    app.kubernetes.io/name: extender\n  ports:",
        "selects no workload"),
    (E, "              memory: 32Mi", "              memory: 32 MB", "is not a quantity"),
    (S, "    weight: 5", '    weight: "5"', "is not an integer"),
    (S, "    httpTimeout: 200ms", "    httpTimeout: 200", "is not a duration"),
    (S, "svc.cluster.local:9471", "svc.cluster.local:9472", "has no port 9472"),
    (S, "inforeg-extender.inforeg.svc", "inforeg-extender.default.svc", "no Service default/inforeg-extender"),
    (S, "    ignorable: true", "    ignorable: yes please", "is not a boolean"),
    (P, '        limits:\n          memory: 4Gi\n          nvidia.com/gpu: "1"', "        limits:\n          memory: 4Gi",
        "nvidia.com/gpu needs limits == requests"),
    (P, "          mountPath: /run/inforeg-shm", "          mountPath: run/inforeg-shm", "is not an absolute path"),
    (P, "    - name: engine-py\n      image: inforeg:0.1.0\n", "    - name: engine-py\n", "Container requires image"),
    (P, "kind: Pod", "kind: Pods", "unknown 'v1' 'Pods'"),
]
bad = 0
for i, (f, old, new, want) in enumerate(cases):
    d = os.path.join(tmp, f"case{i}")
    shutil.copytree(src, d)
    p = os.path.join(d, f)
    text = open(p).read()
    if old not in text:
        print(f"case {i}: {old!r} not found in {f}: update the test"); bad += 1; continue
    open(p, "w").write(text.replace(old, new, 1))
    r = subprocess.run([sys.executable, check] + sorted(os.path.join(d, x) for x in os.listdir(d)),
                       capture_output=True, text=True)
    if r.returncode != 1 or want not in r.stdout:
        print(f"case {i} ({f}: {new!r}): exit {r.returncode}, want 1 and {want!r}; got:\n{r.stdout}{r.stderr}")
        bad += 1
    else:
        print(f"ok: case {i} caught: {r.stdout.splitlines()[0]}")
sys.exit(1 if bad else 0)
PY
echo "ok: manifests pass; every broken copy fails with its field named"
