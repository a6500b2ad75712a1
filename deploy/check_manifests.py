#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""check_manifests - validates deploy/kubernetes/*.yaml without a cluster.

A schema check of the Kubernetes types these manifests use, written from the
Kubernetes API reference (core/v1, apps/v1) and kube-scheduler's config API
(kubescheduler.config.k8s.io/v1): every field's type, required fields, enumerations
and formats (DNS-1123 names, label keys and values, quantities, durations, ports).
Unknown fields are errors, as `kubectl apply --validate=strict` makes them. Then the
cross-object rules a schema cannot say: selectors match their templates, mounts name
declared volumes, named probe ports exist, a Service selects a workload and its
targetPort names a port, extended resources have limit == request, and the scheduler
configuration's extender URL points at the extender's Service. Last, inforeg's own
policy for the DaemonSet (not privileged; CAP_BPF+CAP_PERFMON; hostPID; /dev/shm
hostPath; readiness on /healthz; scrape annotations matching the port).

usage: check_manifests.py FILE.yaml... ; exit 0 when clean, 1 with one line per error:
    FILE: KIND/NAME: path.to.field: message
Needs python3-yaml (Debian).
"""

import re
import sys

import yaml

# ---- type language ---------------------------------------------------------------
# A type is: "string" | "integer" | "boolean" | "int-or-string" | "quantity" |
# "duration" | "object" (any mapping) | ("list", T) | ("map", T) | ("enum", a, b, ...)
# | a name in TYPES (a struct: {field: type}, required fields in REQUIRED[name]).

S, I, B = "string", "integer", "boolean"
IOS, Q = "int-or-string", "quantity"


def L(t):
    return ("list", t)


def M(t):
    return ("map", t)


def E(*v):
    return ("enum",) + v


TYPES = {
    "ObjectMeta": {"name": "dns1123", "namespace": "dns1123label", "labels": "labels", "annotations": "annotations",
                   "generateName": S},
    "LabelSelector": {"matchLabels": "labels", "matchExpressions": L("LabelSelectorRequirement")},
    "LabelSelectorRequirement": {"key": S, "operator": E("In", "NotIn", "Exists", "DoesNotExist"), "values": L(S)},
    "Namespace": {"apiVersion": S, "kind": S, "metadata": "ObjectMeta"},
    "ConfigMap": {"apiVersion": S, "kind": S, "metadata": "ObjectMeta", "data": M(S), "immutable": B},
    "Secret": {"apiVersion": S, "kind": S, "metadata": "ObjectMeta", "type": S, "data": M(S), "stringData": M(S)},
    "Pod": {"apiVersion": S, "kind": S, "metadata": "ObjectMeta", "spec": "PodSpec"},
    "PodTemplateSpec": {"metadata": "ObjectMeta", "spec": "PodSpec"},
    "DaemonSet": {"apiVersion": S, "kind": S, "metadata": "ObjectMeta", "spec": "DaemonSetSpec"},
    "DaemonSetSpec": {"selector": "LabelSelector", "template": "PodTemplateSpec",
                      "updateStrategy": "DaemonSetUpdateStrategy", "minReadySeconds": I,
                      "revisionHistoryLimit": I},
    "DaemonSetUpdateStrategy": {"type": E("RollingUpdate", "OnDelete"), "rollingUpdate": "RollingUpdateDaemonSet"},
    "RollingUpdateDaemonSet": {"maxUnavailable": IOS, "maxSurge": IOS},
    "Deployment": {"apiVersion": S, "kind": S, "metadata": "ObjectMeta", "spec": "DeploymentSpec"},
    "DeploymentSpec": {"replicas": I, "selector": "LabelSelector", "template": "PodTemplateSpec",
                       "strategy": "DeploymentStrategy", "minReadySeconds": I, "revisionHistoryLimit": I,
                       "progressDeadlineSeconds": I, "paused": B},
    "DeploymentStrategy": {"type": E("RollingUpdate", "Recreate"), "rollingUpdate": "RollingUpdateDeployment"},
    "RollingUpdateDeployment": {"maxUnavailable": IOS, "maxSurge": IOS},
    "Service": {"apiVersion": S, "kind": S, "metadata": "ObjectMeta", "spec": "ServiceSpec"},
    "ServiceSpec": {"type": E("ClusterIP", "NodePort", "LoadBalancer", "ExternalName"), "selector": "labels",
                    "ports": L("ServicePort"), "clusterIP": S, "sessionAffinity": E("None", "ClientIP"),
                    "internalTrafficPolicy": E("Cluster", "Local")},
    "ServicePort": {"name": "dns1123label", "port": "port", "targetPort": "port-or-name",
                    "protocol": E("TCP", "UDP", "SCTP"), "nodePort": "port", "appProtocol": S},
    "PodSpec": {
        "containers": L("Container"), "initContainers": L("Container"), "volumes": L("Volume"),
        "hostPID": B, "hostNetwork": B, "hostIPC": B,
        "dnsPolicy": E("ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"),
        "nodeSelector": M(S), "tolerations": L("Toleration"), "priorityClassName": S,
        "serviceAccountName": "dns1123", "automountServiceAccountToken": B,
        "restartPolicy": E("Always", "OnFailure", "Never"), "terminationGracePeriodSeconds": I,
        "securityContext": "PodSecurityContext", "schedulerName": S,
    },
    "PodSecurityContext": {"runAsUser": I, "runAsGroup": I, "runAsNonRoot": B, "fsGroup": I,
                           "seccompProfile": "SeccompProfile", "supplementalGroups": L(I)},
    "Toleration": {"key": S, "operator": E("Exists", "Equal"), "value": S,
                   "effect": E("NoSchedule", "PreferNoSchedule", "NoExecute"), "tolerationSeconds": I},
    "Container": {
        "name": "dns1123label", "image": S, "imagePullPolicy": E("Always", "IfNotPresent", "Never"),
        "command": L(S), "args": L(S), "workingDir": S, "env": L("EnvVar"), "ports": L("ContainerPort"),
        "volumeMounts": L("VolumeMount"), "resources": "ResourceRequirements",
        "readinessProbe": "Probe", "livenessProbe": "Probe", "startupProbe": "Probe",
        "securityContext": "SecurityContext", "stdin": B, "tty": B,
    },
    "EnvVar": {"name": S, "value": S, "valueFrom": "EnvVarSource"},
    "EnvVarSource": {"fieldRef": "ObjectFieldSelector", "secretKeyRef": "KeySelector",
                     "configMapKeyRef": "KeySelector", "resourceFieldRef": "ResourceFieldSelector"},
    "ObjectFieldSelector": {"apiVersion": S, "fieldPath": S},
    "ResourceFieldSelector": {"containerName": S, "resource": S, "divisor": Q},
    "KeySelector": {"name": S, "key": S, "optional": B},
    "ContainerPort": {"name": "portname", "containerPort": "port", "hostPort": "port",
                      "protocol": E("TCP", "UDP", "SCTP"), "hostIP": S},
    "VolumeMount": {"name": S, "mountPath": "abspath", "readOnly": B, "subPath": S,
                    "mountPropagation": E("None", "HostToContainer", "Bidirectional")},
    "ResourceRequirements": {"requests": M(Q), "limits": M(Q)},
    "Probe": {"httpGet": "HTTPGetAction", "exec": "ExecAction", "tcpSocket": "TCPSocketAction",
              "initialDelaySeconds": I, "periodSeconds": I, "timeoutSeconds": I, "failureThreshold": I,
              "successThreshold": I, "terminationGracePeriodSeconds": I},
    "HTTPGetAction": {"path": "abspath", "port": "port-or-name", "host": S, "scheme": E("HTTP", "HTTPS"),
                      "httpHeaders": L("HTTPHeader")},
    "HTTPHeader": {"name": S, "value": S},
    "ExecAction": {"command": L(S)},
    "TCPSocketAction": {"port": "port-or-name", "host": S},
    "SecurityContext": {"privileged": B, "allowPrivilegeEscalation": B, "readOnlyRootFilesystem": B,
                        "runAsUser": I, "runAsGroup": I, "runAsNonRoot": B, "capabilities": "Capabilities",
                        "seccompProfile": "SeccompProfile", "procMount": E("Default", "Unmasked")},
    "Capabilities": {"add": L("capability"), "drop": L("capability")},
    "SeccompProfile": {"type": E("RuntimeDefault", "Unconfined", "Localhost"), "localhostProfile": S},
    "Volume": {"name": "dns1123label", "hostPath": "HostPathVolumeSource", "configMap": "ConfigMapVolumeSource",
               "secret": "SecretVolumeSource", "emptyDir": "EmptyDirVolumeSource"},
    "HostPathVolumeSource": {"path": "abspath", "type": E("", "DirectoryOrCreate", "Directory", "FileOrCreate",
                                                          "File", "Socket", "CharDevice", "BlockDevice")},
    "ConfigMapVolumeSource": {"name": S, "items": L("KeyToPath"), "defaultMode": "mode", "optional": B},
    "SecretVolumeSource": {"secretName": S, "items": L("KeyToPath"), "defaultMode": "mode", "optional": B},
    "KeyToPath": {"key": S, "path": S, "mode": "mode"},
    "EmptyDirVolumeSource": {"medium": E("", "Memory"), "sizeLimit": Q},
    # kubescheduler.config.k8s.io/v1
    "KubeSchedulerConfiguration": {"apiVersion": S, "kind": S, "clientConnection": "ClientConnection",
                                   "leaderElection": "LeaderElection", "profiles": L("SchedulerProfile"),
                                   "extenders": L("Extender"), "parallelism": I, "percentageOfNodesToScore": I},
    "ClientConnection": {"kubeconfig": S, "qps": "number", "burst": I, "contentType": S, "acceptContentTypes": S},
    "LeaderElection": {"leaderElect": B, "leaseDuration": "duration", "renewDeadline": "duration",
                       "retryPeriod": "duration", "resourceLock": S, "resourceName": S, "resourceNamespace": S},
    "SchedulerProfile": {"schedulerName": S, "plugins": "object", "pluginConfig": L("object"),
                         "percentageOfNodesToScore": I},
    "Extender": {"urlPrefix": "url", "filterVerb": "verb", "preemptVerb": "verb", "prioritizeVerb": "verb",
                 "bindVerb": "verb", "weight": I, "enableHTTPS": B, "tlsConfig": "ExtenderTLSConfig",
                 "httpTimeout": "duration", "nodeCacheCapable": B, "managedResources": L("ExtenderManagedResource"),
                 "ignorable": B},
    "ExtenderTLSConfig": {"insecure": B, "serverName": S, "certFile": S, "keyFile": S, "caFile": S},
    "ExtenderManagedResource": {"name": S, "ignoredByScheduler": B},
}
REQUIRED = {
    "LabelSelectorRequirement": ["key", "operator"],
    "DaemonSetSpec": ["selector", "template"],
    "DeploymentSpec": ["selector", "template"],
    "ServicePort": ["port"],
    "PodSpec": ["containers"],
    "Container": ["name", "image"],
    "EnvVar": ["name"],
    "ObjectFieldSelector": ["fieldPath"],
    "ResourceFieldSelector": ["resource"],
    "KeySelector": ["key"],
    "ContainerPort": ["containerPort"],
    "VolumeMount": ["name", "mountPath"],
    "HTTPGetAction": ["port"],
    "TCPSocketAction": ["port"],
    "HTTPHeader": ["name", "value"],
    "SeccompProfile": ["type"],
    "Volume": ["name"],
    "HostPathVolumeSource": ["path"],
    "KeyToPath": ["key", "path"],
    "Extender": ["urlPrefix"],
    "ExtenderManagedResource": ["name"],
}
# Exactly one of these fields (a union in the API).
ONE_OF = {
    "Volume": ["hostPath", "configMap", "secret", "emptyDir"],
    "Probe": ["httpGet", "exec", "tcpSocket"],
    "EnvVarSource": ["fieldRef", "secretKeyRef", "configMapKeyRef", "resourceFieldRef"],
}
# apiVersion/kind -> top-level type
KINDS = {
    ("v1", "Namespace"): "Namespace",
    ("v1", "ConfigMap"): "ConfigMap",
    ("v1", "Secret"): "Secret",
    ("v1", "Pod"): "Pod",
    ("v1", "Service"): "Service",
    ("apps/v1", "DaemonSet"): "DaemonSet",
    ("apps/v1", "Deployment"): "Deployment",
    ("kubescheduler.config.k8s.io/v1", "KubeSchedulerConfiguration"): "KubeSchedulerConfiguration",
}
NAMESPACED = {"ConfigMap", "Secret", "Pod", "Service", "DaemonSet", "Deployment"}
FIELD_PATHS = {"metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName",
               "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs"}
# capability(7) names, as Kubernetes spells them (no CAP_ prefix)
CAPS = set("""AUDIT_CONTROL AUDIT_READ AUDIT_WRITE BLOCK_SUSPEND BPF CHECKPOINT_RESTORE CHOWN DAC_OVERRIDE
DAC_READ_SEARCH FOWNER FSETID IPC_LOCK IPC_OWNER KILL LEASE LINUX_IMMUTABLE MAC_ADMIN MAC_OVERRIDE MKNOD
NET_ADMIN NET_BIND_SERVICE NET_BROADCAST NET_RAW PERFMON SETFCAP SETGID SETPCAP SETUID SYS_ADMIN SYS_BOOT
SYS_CHROOT SYS_MODULE SYS_NICE SYS_PACCT SYS_PTRACE SYS_RAWIO SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG SYSLOG
WAKE_ALARM ALL""".split())

DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
QUALIFIED = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                       r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
QUANTITY = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)(([KMGTPE]i)|[numkMGTPE]|[eE][+-]?\d+)?$")
DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")
PORTNAME = re.compile(r"^(?=.*[a-z])[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


class Checker:
    def __init__(self):
        self.errors = []
        self.where = ""

    def err(self, path, msg):
        self.errors.append(f"{self.where}: {path}: {msg}")

    def check(self, v, t, path):
        """Checks value V against type T at PATH."""
        if isinstance(t, tuple):
            if t[0] == "list":
                if not isinstance(v, list):
                    return self.err(path, f"expected a list, got {type(v).__name__}")
                for i, x in enumerate(v):
                    self.check(x, t[1], f"{path}[{i}]")
            elif t[0] == "map":
                if not isinstance(v, dict):
                    return self.err(path, f"expected a mapping, got {type(v).__name__}")
                for k, x in v.items():
                    if not isinstance(k, str):
                        self.err(path, f"key {k!r} is not a string")
                    self.check(x, t[1], f"{path}.{k}")
            elif t[0] == "enum":
                if v not in t[1:]:
                    self.err(path, f"{v!r} is not one of {', '.join(repr(x) for x in t[1:] if x)}")
            return None
        if t in TYPES:
            if not isinstance(v, dict):
                return self.err(path, f"expected a {t} object, got {type(v).__name__}")
            fields = TYPES[t]
            for k, x in v.items():
                if k not in fields:
                    self.err(f"{path}.{k}" if path else k, f"unknown field in {t}")
                else:
                    self.check(x, fields[k], f"{path}.{k}" if path else k)
            for k in REQUIRED.get(t, []):
                if k not in v:
                    self.err(path or "(top)", f"{t} requires {k}")
            if t in ONE_OF:
                present = [k for k in ONE_OF[t] if k in v]
                if len(present) != 1:
                    self.err(path, f"{t} needs exactly one of {', '.join(ONE_OF[t])}, has {present or 'none'}")
            return None
        self.scalar(v, t, path)

    def scalar(self, v, t, path):
        def want(ok, what):
            if not ok:
                self.err(path, f"{v!r} is not {what}")

        if t == S:
            want(isinstance(v, str), "a string")
        elif t == I:
            want(isinstance(v, int) and not isinstance(v, bool), "an integer")
        elif t == "number":
            want(isinstance(v, (int, float)) and not isinstance(v, bool), "a number")
        elif t == B:
            want(isinstance(v, bool), "a boolean (true/false)")
        elif t == IOS:
            want((isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, str) and re.match(r"^\d+%$", v)),
                 "an integer or a percentage")
        elif t == Q:
            want((isinstance(v, (int, float)) and not isinstance(v, bool)) or (isinstance(v, str) and QUANTITY.match(v)),
                 "a quantity (e.g. 500m, 2, 512Mi)")
        elif t == "duration":
            want(isinstance(v, str) and DURATION.match(v), "a duration (e.g. 200ms, 5s)")
        elif t == "dns1123":
            want(isinstance(v, str) and len(v) <= 253 and DNS1123.match(v), "a DNS-1123 subdomain name")
        elif t == "dns1123label":
            want(isinstance(v, str) and len(v) <= 63 and DNS1123_LABEL.match(v), "a DNS-1123 label")
        elif t == "portname":
            want(isinstance(v, str) and len(v) <= 15 and PORTNAME.match(v), "a port name (<= 15 chars, a-z0-9-)")
        elif t == "port":
            want(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 65535, "a port number 1-65535")
        elif t == "port-or-name":
            if isinstance(v, str):
                self.scalar(v, "portname", path)
            else:
                self.scalar(v, "port", path)
        elif t == "abspath":
            want(isinstance(v, str) and v.startswith("/"), "an absolute path")
        elif t == "mode":
            want(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 0o777, "a file mode 0-0777")
        elif t == "capability":
            want(isinstance(v, str) and v in CAPS, "a capability name (e.g. BPF, without CAP_)")
        elif t == "url":
            want(isinstance(v, str) and re.match(r"^https?://[^/\s]+(/\S*)?$", v), "an http(s) URL")
        elif t == "verb":
            want(isinstance(v, str) and re.match(r"^[A-Za-z0-9_.-]+$", v), "a verb (a path segment)")
        elif t == "labels":
            if not isinstance(v, dict):
                return self.err(path, "expected a mapping of labels")
            for k, x in v.items():
                if not (isinstance(k, str) and QUALIFIED.match(k) and len(k.split("/")[-1]) <= 63):
                    self.err(f"{path}.{k}", "label key is not a qualified name")
                if not (isinstance(x, str) and len(x) <= 63 and LABEL_VALUE.match(x)):
                    self.err(f"{path}.{k}", f"label value {x!r} is not a valid label value (a string)")
        elif t == "annotations":
            if not isinstance(v, dict):
                return self.err(path, "expected a mapping of annotations")
            for k, x in v.items():
                if not (isinstance(k, str) and QUALIFIED.match(k)):
                    self.err(f"{path}.{k}", "annotation key is not a qualified name")
                if not isinstance(x, str):
                    self.err(f"{path}.{k}", f"annotation value {x!r} must be a string (quote it)")
        elif t == "object":
            want(isinstance(v, dict), "a mapping")
        else:
            raise AssertionError(f"unknown type {t}")


def pods_of(doc):
    """(path, PodSpec, template labels) for a workload or a pod."""
    k = doc.get("kind")
    spec = doc.get("spec") or {}
    if k == "Pod":
        return [("spec", spec, (doc.get("metadata") or {}).get("labels") or {})]
    if k in ("DaemonSet", "Deployment"):
        t = spec.get("template") or {}
        return [("spec.template.spec", t.get("spec") or {}, (t.get("metadata") or {}).get("labels") or {})]
    return []


def semantic(c, doc):
    k = doc.get("kind")
    meta = doc.get("metadata") or {}
    if k in NAMESPACED and "namespace" not in meta:
        c.err("metadata", f"{k} should name its namespace explicitly")
    if k in ("DaemonSet", "Deployment"):
        sel = ((doc.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        labels = pods_of(doc)[0][2]
        if not sel:
            c.err("spec.selector", "no matchLabels")
        for key, val in sel.items():
            if labels.get(key) != val:
                c.err("spec.selector.matchLabels", f"{key}={val} does not match the template's labels")
    for path, ps, _ in pods_of(doc):
        if not isinstance(ps, dict):
            continue
        vols = {v.get("name") for v in ps.get("volumes") or [] if isinstance(v, dict)}
        if len(vols) != len(ps.get("volumes") or []):
            c.err(f"{path}.volumes", "duplicate volume names")
        names = [x.get("name") for x in ps.get("containers") or [] if isinstance(x, dict)]
        if len(set(names)) != len(names):
            c.err(f"{path}.containers", "duplicate container names")
        if ps.get("hostNetwork") and ps.get("dnsPolicy", "ClusterFirst") == "ClusterFirst":
            c.err(f"{path}.dnsPolicy", "hostNetwork pods need dnsPolicy ClusterFirstWithHostNet to resolve Services")
        for i, ct in enumerate(ps.get("containers") or []):
            if not isinstance(ct, dict):
                continue
            cp = f"{path}.containers[{i}]"
            portnames = {p.get("name") for p in ct.get("ports") or [] if isinstance(p, dict)}
            mounts = set()
            for j, vm in enumerate(ct.get("volumeMounts") or []):
                if isinstance(vm, dict):
                    if vm.get("name") not in vols:
                        c.err(f"{cp}.volumeMounts[{j}].name", f"no volume named {vm.get('name')!r}")
                    if vm.get("mountPath") in mounts:
                        c.err(f"{cp}.volumeMounts[{j}].mountPath", "mounted twice")
                    mounts.add(vm.get("mountPath"))
            for pr in ("readinessProbe", "livenessProbe", "startupProbe"):
                h = ((ct.get(pr) or {}).get("httpGet") or {}) if isinstance(ct.get(pr), dict) else {}
                if isinstance(h.get("port"), str) and h["port"] not in portnames:
                    c.err(f"{cp}.{pr}.httpGet.port", f"no container port named {h['port']!r}")
            for j, ev in enumerate(ct.get("env") or []):
                fr = ((ev or {}).get("valueFrom") or {}).get("fieldRef") if isinstance(ev, dict) else None
                if isinstance(fr, dict) and fr.get("fieldPath") not in FIELD_PATHS:
                    c.err(f"{cp}.env[{j}].valueFrom.fieldRef.fieldPath", f"{fr.get('fieldPath')!r} is not selectable")
            res = ct.get("resources") or {}
            req, lim = res.get("requests") or {}, res.get("limits") or {}
            for r in set(req) | set(lim):
                if "/" in r and not r.startswith("requests.") and str(req.get(r)) != str(lim.get(r)):
                    c.err(f"{cp}.resources", f"extended resource {r} needs limits == requests")
            if ps.get("hostNetwork"):
                for j, p in enumerate(ct.get("ports") or []):
                    if isinstance(p, dict) and "hostPort" in p and p["hostPort"] != p.get("containerPort"):
                        c.err(f"{cp}.ports[{j}].hostPort", "with hostNetwork hostPort must equal containerPort")


def cross(c, docs):
    """Rules spanning objects: Services select workloads; the scheduler reaches the extender."""
    workloads = [(d, pods_of(d)[0]) for _, d in docs if d.get("kind") in ("Deployment", "DaemonSet")]
    services = {}
    for where, d in docs:
        if d.get("kind") != "Service":
            continue
        c.where = where
        meta, spec = d.get("metadata") or {}, d.get("spec") or {}
        services[(meta.get("name"), meta.get("namespace"))] = spec
        sel = spec.get("selector") or {}
        match = [w for w, (_, _, lab) in workloads
                 if (w.get("metadata") or {}).get("namespace") == meta.get("namespace")
                 and sel and all(lab.get(k) == v for k, v in sel.items())]
        if not match:
            c.err("spec.selector", "selects no workload's pods in these files")
            continue
        names = {p.get("name") for w in match for ct in pods_of(w)[0][1].get("containers") or []
                 for p in ct.get("ports") or []}
        for i, p in enumerate(spec.get("ports") or []):
            if isinstance(p.get("targetPort"), str) and p["targetPort"] not in names:
                c.err(f"spec.ports[{i}].targetPort", f"no container port named {p['targetPort']!r}")
    for where, d in docs:
        if d.get("kind") != "KubeSchedulerConfiguration":
            continue
        c.where = where
        for i, ex in enumerate(d.get("extenders") or []):
            p = f"extenders[{i}]"
            if ex.get("prioritizeVerb") and not (isinstance(ex.get("weight"), int) and ex.get("weight") > 0):
                c.err(f"{p}.weight", "a prioritizing extender needs a positive weight")
            if not ex.get("filterVerb") and not ex.get("prioritizeVerb"):
                c.err(p, "neither filterVerb nor prioritizeVerb: the extender is never called")
            m = re.match(r"^https?://([^/:]+)(?::(\d+))?", str(ex.get("urlPrefix", "")))
            if not m:
                continue
            host, port = m.group(1), int(m.group(2) or (443 if ex.get("enableHTTPS") else 80))
            hp = host.split(".")
            if len(hp) >= 3 and hp[2] == "svc":
                spec = services.get((hp[0], hp[1]))
                if spec is None:
                    c.err(f"{p}.urlPrefix", f"no Service {hp[1]}/{hp[0]} in these files")
                elif port not in [sp.get("port") for sp in spec.get("ports") or []]:
                    c.err(f"{p}.urlPrefix", f"Service {hp[1]}/{hp[0]} has no port {port}")
            if str(ex.get("urlPrefix")).startswith("https") != bool(ex.get("enableHTTPS")):
                c.err(f"{p}.enableHTTPS", "does not agree with the urlPrefix scheme")


def policy(c, doc):
    """inforeg's rules for the inforegd DaemonSet (deploy/README.md says why)."""
    if doc.get("kind") != "DaemonSet" or (doc.get("metadata") or {}).get("name") != "inforegd":
        return
    path, ps, _ = pods_of(doc)[0]
    if not ps.get("hostPID"):
        c.err(f"{path}.hostPID", "inforegd needs the host PID namespace")
    if not ps.get("hostNetwork"):
        c.err(f"{path}.hostNetwork", "inforegd serves on the node IP and reads the node's /proc/net/dev")
    shm = [v for v in ps.get("volumes") or [] if (v.get("hostPath") or {}).get("path") == "/dev/shm"]
    if not shm:
        c.err(f"{path}.volumes", "no hostPath volume for /dev/shm")
    ann = ((doc.get("spec") or {}).get("template") or {}).get("metadata", {}).get("annotations") or {}
    if ann.get("prometheus.io/scrape") != "true":
        c.err("spec.template.metadata.annotations", "prometheus.io/scrape is not \"true\"")
    for i, ct in enumerate(ps.get("containers") or []):
        cp = f"{path}.containers[{i}]"
        sc = ct.get("securityContext") or {}
        if sc.get("privileged"):
            c.err(f"{cp}.securityContext.privileged", "inforegd must not run privileged: grant capabilities")
        add = set(((sc.get("capabilities") or {}).get("add")) or [])
        for cap in ("BPF", "PERFMON"):
            if cap not in add:
                c.err(f"{cp}.securityContext.capabilities.add", f"missing {cap} (eBPF collectors)")
        if "SYS_ADMIN" in add:
            c.err(f"{cp}.securityContext.capabilities.add", "SYS_ADMIN is not needed (CAP_BPF+CAP_PERFMON)")
        if "ALL" not in set(((sc.get("capabilities") or {}).get("drop")) or []):
            c.err(f"{cp}.securityContext.capabilities.drop", "drop ALL first, then add what eBPF needs")
        rp = ((ct.get("readinessProbe") or {}).get("httpGet") or {})
        if rp.get("path") != "/healthz":
            c.err(f"{cp}.readinessProbe.httpGet.path", "readiness must be inforegd's /healthz")
        ports = {p.get("name"): p.get("containerPort") for p in ct.get("ports") or []}
        want = ports.get(rp.get("port"), rp.get("port"))
        if str(want) != str(ann.get("prometheus.io/port")):
            c.err("spec.template.metadata.annotations.prometheus.io/port",
                  f"{ann.get('prometheus.io/port')!r} is not the container's port {want}")
        if not any(str(a).endswith(":9470") for a in ct.get("args") or []) and "--listen" in (ct.get("args") or []):
            c.err(f"{cp}.args", "--listen is not on the port the annotations and probes use")
        mounted = {vm.get("name"): vm for vm in ct.get("volumeMounts") or []}
        if shm and shm[0].get("name") in mounted and mounted[shm[0]["name"]].get("mountPath") != "/dev/shm":
            c.err(f"{cp}.volumeMounts", "the /dev/shm hostPath must be mounted at /dev/shm")


def main(files):
    c = Checker()
    docs = []
    for f in files:
        try:
            with open(f) as fh:
                loaded = list(yaml.safe_load_all(fh))
        except (OSError, yaml.YAMLError) as e:
            c.errors.append(f"{f}: {e}")
            continue
        for n, d in enumerate(loaded):
            if d is None:
                continue
            name = (d.get("metadata") or {}).get("name", "") if isinstance(d, dict) else ""
            c.where = f"{f}: {d.get('kind', '?') if isinstance(d, dict) else '?'}/{name or n}"
            if not isinstance(d, dict):
                c.err("(top)", "a document must be a mapping")
                continue
            t = KINDS.get((d.get("apiVersion"), d.get("kind")))
            if t is None:
                c.err("apiVersion/kind", f"unknown {d.get('apiVersion')!r} {d.get('kind')!r}")
                continue
            c.check(d, t, "")
            if t != "KubeSchedulerConfiguration" and not (d.get("metadata") or {}).get("name"):
                c.err("metadata.name", "a top-level object needs a name")
            semantic(c, d)
            policy(c, d)
            docs.append((c.where, d))
    cross(c, docs)
    for e in c.errors:
        print(e)
    print(f"check_manifests: {len(docs)} objects in {len(files)} files, {len(c.errors)} errors", file=sys.stderr)
    return 1 if c.errors else 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1:]))
