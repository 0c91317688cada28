#!/usr/bin/env python3
"""bench/warm/channels.py - how fast each channel delivers a warm runner's per-Boot env.

Usage: bench/warm/channels.py [--reps N] [--init PATH] [--image IMG] [--json FILE]

For each rep and each channel (interleaved, order rotating), a container of
IMG (default flamed-test/app:latest) is made as a warm runner: flamed-init
(--init, default build/flamed-init) bind-mounted read-only at /.flamed/init as
its Entrypoint, the command `sh -c 'echo READY:$FLAME_PARENT'`, started, and
an observer attached to its stdout. Then the clock starts, the env frame
(FLAME_PARENT=...) is delivered through the channel, and the clock stops when
the observer reads "READY:<value>": "deliver -> command running".

Channels (docs/warm.md):
  archive      PUT /containers/{id}/archive?path=/.flamed, a tar holding env;
               flamed-init --file /.flamed/env (inotify)
  exec         POST /containers/{id}/exec (sh -c 'printf ... >/.flamed/fifo',
               frame in the exec's Env) + POST /exec/{id}/start Detach;
               flamed-init --fifo /.flamed/fifo
  stdin        OpenStdin; at delivery a hijacked POST /containers/{id}/attach?
               stream=1&stdin=1, write the frame, close; flamed-init --stdin
  stdin-confirmed  the same, then a half-close and a wait until Docker closes
               (it has copied all of stdin): what docker_container_stdin_write does
  stdin-held   the same attach, opened when the runner is made; delivery is
               only the write
Also "create+start": the raw create + start of the same container, as the
cold floor. Containers are named fltest-warm-bench-*, removed at the end and
on failure. Prints a table (p50/p95/max ms) and the machine's load.
"""
import argparse
import http.client
import io
import json
import os
import socket
import statistics
import sys
import tarfile
import time
import urllib.parse

SOCK = os.environ.get("DOCKER_SOCK", "/var/run/docker.sock")
API = "/v1.41"
PARENT = "g2gDZAAEbm9kZWQAEGZvb0BleGFtcGxlLmNvbWEB" * 4  # a base64-looking FLAME_PARENT


class UConn(http.client.HTTPConnection):
    def __init__(self):
        super().__init__("localhost", timeout=30)

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(SOCK)


CONN = None


def req(method, path, body=None, ctype="application/json", ok=(200, 201, 204, 304)):
    global CONN
    if CONN is None:
        CONN = UConn()
    data = None
    headers = {}
    if body is not None:
        data = json.dumps(body).encode() if ctype == "application/json" else body
        headers["Content-Type"] = ctype
    CONN.request(method, API + path, body=data, headers=headers)
    r = CONN.getresponse()
    out = r.read()
    if r.status not in ok:
        raise RuntimeError(f"{method} {path}: {r.status} {out[:300]!r}")
    return json.loads(out) if out and r.getheader("Content-Type", "").startswith("application/json") else out


def hijack(path):
    """A raw connection upgraded by POST path (attach): returns the socket, headers read."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(SOCK)
    s.sendall(f"POST {API}{path} HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\n"
              "Upgrade: tcp\r\nContent-Length: 0\r\n\r\n".encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            raise RuntimeError("attach: connection closed before the response")
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    if not head.startswith(b"HTTP/1.1 101") and not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"attach {path}: {head[:200]!r}")
    return s, rest


def frame(entries):
    out = b"12:flamed-env/1,"
    for e in entries:
        b = e.encode()
        out += str(len(b)).encode() + b":" + b + b","
    return out + b"0:,"


INIT_ARGS = {
    "archive": ["--file", "/.flamed/env"],
    "exec": ["--fifo", "/.flamed/fifo"],
    "stdin": ["--stdin"],
    "stdin-confirmed": ["--stdin"],
    "stdin-held": ["--stdin"],
}


def make(name, channel, init, image):
    body = {
        "Image": image,
        "Cmd": ["sh", "-c", "echo READY:$FLAME_PARENT"],
        "Labels": {"fltest.warm.bench": "1"},
        "HostConfig": {
            "NetworkMode": "none",
            "Mounts": [{"Type": "bind", "Source": init, "Target": "/.flamed/init",
                        "ReadOnly": True}],
        },
    }
    if channel is not None:
        body["Entrypoint"] = ["/.flamed/init"] + INIT_ARGS[channel] + ["--"]
        body["OpenStdin"] = channel.startswith("stdin")
    q = urllib.parse.urlencode({"name": name})
    return req("POST", f"/containers/create?{q}", body)["Id"]


def observe(cid):
    return hijack(f"/containers/{cid}/attach?stream=1&stdout=1&stderr=1")


def wait_for(sock, rest, needle, deadline_s=10.0):
    buf = rest
    sock.settimeout(deadline_s)
    while needle not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError(f"stream ended before {needle!r}: {buf[-200:]!r}")
        buf += chunk


def deliver(channel, cid, held):
    fr = frame([f"FLAME_PARENT={PARENT}"])
    if channel == "archive":
        ti = tarfile.TarInfo("env")
        ti.size = len(fr)
        ti.mode = 0o600
        tb = io.BytesIO()
        with tarfile.open(fileobj=tb, mode="w", format=tarfile.USTAR_FORMAT) as t:
            t.addfile(ti, io.BytesIO(fr))
        req("PUT", f"/containers/{cid}/archive?path=/.flamed", tb.getvalue(), "application/x-tar")
    elif channel == "exec":
        e = req("POST", f"/containers/{cid}/exec",
                {"Cmd": ["sh", "-c", 'printf %s "$F" >/.flamed/fifo'], "Env": ["F=" + fr.decode()],
                 "AttachStdout": False, "AttachStderr": False})
        req("POST", f"/exec/{e['Id']}/start", {"Detach": True, "Tty": False})
    elif channel == "stdin":
        s, _ = hijack(f"/containers/{cid}/attach?stream=1&stdin=1")
        s.sendall(fr)
        s.close()
    elif channel == "stdin-confirmed":
        # What docker_container_stdin_write does: half-close, wait for Docker's close.
        s, _ = hijack(f"/containers/{cid}/attach?stream=1&stdin=1")
        s.sendall(fr)
        s.shutdown(socket.SHUT_WR)
        while s.recv(4096):
            pass
        s.close()
    elif channel == "stdin-held":
        held.sendall(fr)
        held.close()


def one(channel, init, image, tag):
    name = f"fltest-warm-bench-{tag}"
    cid = make(name, channel if channel != "create+start" else None, init, image)
    try:
        if channel == "create+start":
            req("DELETE", f"/containers/{cid}?force=1")
            t0 = time.perf_counter()
            cid = make(name, None, init, image)
            obs, rest = observe(cid)
            req("POST", f"/containers/{cid}/start")
            wait_for(obs, rest, f"READY:".encode())
            obs.close()
            return (time.perf_counter() - t0) * 1000
        obs, rest = observe(cid)
        held = None
        if channel == "stdin-held":
            held, _ = hijack(f"/containers/{cid}/attach?stream=1&stdin=1")
        req("POST", f"/containers/{cid}/start")
        time.sleep(0.15)  # flamed-init is waiting long before a Boot comes
        t0 = time.perf_counter()
        deliver(channel, cid, held)
        wait_for(obs, rest, f"READY:{PARENT}".encode())
        ms = (time.perf_counter() - t0) * 1000
        obs.close()
        return ms
    finally:
        req("DELETE", f"/containers/{cid}?force=1", ok=(204, 404))


def pct(xs, p):
    xs = sorted(xs)
    k = (len(xs) - 1) * p
    f = int(k)
    c = min(f + 1, len(xs) - 1)
    return xs[f] + (xs[c] - xs[f]) * (k - f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--init", default=os.path.join(os.path.dirname(__file__), "../../build/flamed-init"))
    ap.add_argument("--image", default="flamed-test/app:latest")
    ap.add_argument("--json")
    a = ap.parse_args()
    init = os.path.realpath(a.init)
    chans = ["archive", "exec", "stdin", "stdin-confirmed", "stdin-held", "create+start"]
    res = {c: [] for c in chans}
    fails = {c: [] for c in chans}
    load0 = os.getloadavg()[0]
    try:
        for i in range(a.reps):
            order = chans[i % len(chans):] + chans[:i % len(chans)]
            for c in order:
                try:
                    res[c].append(one(c, init, a.image, f"{os.getpid()}-{i}-{c.replace('+', '')}"))
                except RuntimeError as e:  # counted: a channel that fails is not robust
                    fails[c].append(str(e)[:300])
    finally:
        # Anything a failure left behind.
        for cont in req("GET", "/containers/json?all=1&filters=" + urllib.parse.quote(
                json.dumps({"label": ["fltest.warm.bench=1"]}))):
            if any(n.startswith("/fltest-warm-bench-") for n in cont["Names"]):
                req("DELETE", f"/containers/{cont['Id']}?force=1", ok=(204, 404))
    load1 = os.getloadavg()[0]
    print(f"deliver -> command running, {a.reps} reps, load (1 min) {load0:.1f} -> {load1:.1f}")
    print("| channel | n | failed | p50 ms | p95 ms | max ms |")
    print("| --- | --- | --- | --- | --- | --- |")
    for c in chans:
        xs = res[c] or [float("nan")]
        print(f"| {c} | {len(res[c])} | {len(fails[c])} | {pct(xs, .5):.2f} | {pct(xs, .95):.2f} "
              f"| {max(xs):.2f} |")
    for c in chans:
        for e in sorted(set(fails[c])):
            print(f"{c} failed: {e}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"reps": a.reps, "load": [load0, load1], "ms": res, "failed": fails}, f)


if __name__ == "__main__":
    sys.exit(main())
