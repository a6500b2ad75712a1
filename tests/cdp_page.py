#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""cdp_page.py - drives a real headless Chromium over the DevTools protocol (the
--remote-debugging-pipe transport: JSON messages separated by NUL bytes on fds 3 and
4, so no websocket library is needed): opens URL, evaluates EXPR in the page every
250 ms until it returns a truthy value (or TIMEOUT seconds pass), then saves a PNG
screenshot and prints the last value as JSON. Exit 0 when EXPR became truthy, 1 not.

usage: cdp_page.py URL EXPR SCREENSHOT.png [TIMEOUT_S]
"""
import base64, json, os, subprocess, sys, time

url, expr, shot = sys.argv[1], sys.argv[2], sys.argv[3]
timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 20.0
chrome = next(p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
              if os.path.exists(p))
to_chrome_r, to_chrome_w = os.pipe()
from_chrome_r, from_chrome_w = os.pipe()
# chromium reads commands on fd 3 and writes replies on fd 4 (os.pipe() fds are
# close-on-exec, and dup2 onto the same number keeps the flag: set it inheritable)
proc = subprocess.Popen(
    [chrome, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
     "--no-first-run", "--no-default-browser-check", "--user-data-dir=/tmp/irt-chromium-%d" % os.getpid(),
     "--remote-debugging-pipe", "about:blank"],
    close_fds=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    preexec_fn=lambda: (os.dup2(to_chrome_r, 3), os.dup2(from_chrome_w, 4),
                        os.set_inheritable(3, True), os.set_inheritable(4, True)))
os.close(to_chrome_r)
os.close(from_chrome_w)
buf = b""
next_id = 0


def call(method, params=None, session=None, deadline=30.0):
    global buf, next_id
    next_id += 1
    msg = {"id": next_id, "method": method, "params": params or {}}
    if session:
        msg["sessionId"] = session
    os.write(to_chrome_w, json.dumps(msg).encode() + b"\0")
    end = time.time() + deadline
    while time.time() < end:
        while b"\0" in buf:
            raw, buf = buf.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == next_id:
                if "error" in reply:
                    raise RuntimeError("%s: %s" % (method, reply["error"]))
                return reply.get("result", {})
        chunk = os.read(from_chrome_r, 1 << 20)
        if not chunk:
            raise RuntimeError("chromium exited")
        buf += chunk
    raise RuntimeError("%s: no reply in %.0f s" % (method, deadline))


ok, value = False, None
try:
    target = call("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    call("Emulation.setDeviceMetricsOverride",
         {"width": 1400, "height": 1100, "deviceScaleFactor": 1, "mobile": False}, session)
    call("Page.enable", {}, session)
    call("Page.navigate", {"url": url}, session)
    end = time.time() + timeout
    while time.time() < end:
        r = call("Runtime.evaluate", {"expression": expr, "returnByValue": True}, session)
        value = r.get("result", {}).get("value")
        if value:
            ok = True
            break
        time.sleep(0.25)
    png = call("Page.captureScreenshot", {"format": "png"}, session)["data"]
    with open(shot, "wb") as f:
        f.write(base64.b64decode(png))
    try:
        call("Browser.close", deadline=5)
    except RuntimeError:
        pass
finally:
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
print(json.dumps(value))
sys.exit(0 if ok else 1)
