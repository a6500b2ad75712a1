#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_api_fdlimit: out of file descriptors, the REST server neither spins nor stays
# deaf. Under a soft limit of 256 descriptors, 600 idle connections are opened:
#  1. --max-connections above the limit (accept() meets EMFILE): the REST thread uses
#     little CPU while the clients sit there (it spun at 100% before), and /healthz
#     answers a new client once the others have gone;
#  2. the default cap (derived from the limit): the connections over it are refused at
#     once (a 503, or a close when its request raced the refusal), a new client is
#     refused at once instead of hanging, and
#     /healthz answers after the others go.
# The CPU bound is generous (0.4 s of CPU in 2 s, the spin took 2 s); it is read from
# /proc/PID/task/*/stat of the threads named ir-rest-*.
. "$(dirname "$0")/lib.sh"
[ -x /usr/bin/python3 ] || ir_skip "/usr/bin/python3 not installed"
ulimit -Sn 256 || ir_skip "cannot lower the descriptor limit"

cat >"$IR_TMP/clients.py" <<'PY'
import os, resource, socket, sys, time
port, mode, pid = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard), hard))

def rest_cpu():
    """utime+stime ticks of the daemon's REST threads."""
    t = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                s = f.read()
        except OSError:
            continue
        comm = s[s.index("(") + 1:s.rindex(")")]
        if comm.startswith("ir-rest"):
            f = s[s.rindex(")") + 2:].split()
            t += int(f[11]) + int(f[12])
    return t

def healthz(timeout):
    """(status, seconds) of GET /healthz on a new connection; status 0: no answer."""
    t0 = time.monotonic()
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        s.settimeout(timeout)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            d = s.recv(4096)
            if not d:
                break
            data += d
        s.close()
    except OSError:
        return 0, time.monotonic() - t0
    try:
        return int(data.split(b" ", 2)[1]), time.monotonic() - t0
    except (IndexError, ValueError):
        return 0, time.monotonic() - t0

socks = []
for i in range(600):
    s = socket.socket()
    s.setblocking(False)
    try:
        s.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    socks.append(s)
time.sleep(1.5)  # let the server accept (or refuse) what it can
hz = sysconf = os.sysconf("SC_CLK_TCK")
c0 = rest_cpu(); t0 = time.monotonic()
time.sleep(2.0)
cpu = (rest_cpu() - c0) / hz; wall = time.monotonic() - t0
print(f"REST threads used {cpu:.2f} s of CPU in {wall:.2f} s with 600 clients waiting")
if cpu > 0.4:
    print("FAIL: the REST thread spins while out of descriptors"); sys.exit(1)
if mode == "cap":
    refused = 0
    for s in socks:
        try:
            d = s.recv(4096)
            if d == b"" or d.startswith(b"HTTP/1.1 503"):
                refused += 1
        except BlockingIOError:
            pass
        except OSError:
            refused += 1
    print(f"{refused} of 600 refused at once")
    if refused < 300:
        print("FAIL: connections over the cap were not refused at once"); sys.exit(1)
    st, secs = healthz(3)
    print(f"new client while full: status {st} after {secs:.2f} s (0: closed)")
    if st != 503 and not (st == 0 and secs < 2):
        print("FAIL: a new client over the cap was not refused at once"); sys.exit(1)
for s in socks:
    s.close()
deadline = time.monotonic() + 20
while True:
    st, secs = healthz(2)
    if st == 200:
        print(f"/healthz answers after the clients left ({secs:.2f} s)")
        break
    if time.monotonic() > deadline:
        print(f"FAIL: /healthz still not answering (last status {st})"); sys.exit(1)
    time.sleep(0.2)
PY

# 1. the cap above the descriptor limit: accept() fails with EMFILE
ir_start_daemon --no-ebpf --max-connections 100000
/usr/bin/python3 "$IR_TMP/clients.py" "$IR_PORT" emfile "$IR_PID" || ir_fail "EMFILE case"
kill -0 "$IR_PID" || ir_fail "daemon died"
pauses=$(curl -s "$IR_URL/v1/status" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["api"]["accept_pauses"])')
echo "accept pauses: $pauses"
[ "${pauses:-0}" -ge 1 ] || ir_fail "accept never paused (EMFILE not reached?)"
kill -TERM "$IR_PID"; wait "$IR_PID" 2>/dev/null

# 2. the default cap
ir_start_daemon --no-ebpf
/usr/bin/python3 "$IR_TMP/clients.py" "$IR_PORT" cap "$IR_PID" || ir_fail "cap case"
refused=$(curl -s "$IR_URL/v1/status" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["api"]["connections_refused"])')
echo "connections refused: $refused"
[ "${refused:-0}" -ge 300 ] || ir_fail "status counts $refused refused connections"
echo ok
