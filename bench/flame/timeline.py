#!/usr/bin/env python3
"""bench/flame/timeline.py PARENT_LOG FLAMED_LOG: the timeline of one cold FLAME.call
per arm, from FlameBench.Timeline's `TL arm round event wall_us [detail]` lines and
flamed's log (its lines for the runner each Boot answered with), as a Markdown table:
each event's median time after the call began (ms) over the rounds, and its spread."""
import re
import statistics as st
import sys
from datetime import datetime, timezone

parent_log, flamed_log = sys.argv[1:3]
rounds = {}  # (arm, round) -> [(event, us, detail)]
for line in open(parent_log, errors="replace"):
    if not line.startswith("TL "):
        continue
    parts = line.rstrip("\n").split(" ", 5)
    arm, rnd, ev, us = parts[1], int(parts[2]), parts[3], int(parts[4])
    detail = parts[5] if len(parts) > 5 else ""
    rounds.setdefault((arm, rnd), []).append((ev, us, detail))

def ts_us(ts):
    d = datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    return int(d.timestamp() * 1_000_000)

flamed = []  # (us, msg, {k: v})
for line in open(flamed_log, errors="replace"):
    m = re.match(r"ts=(\S+) level=\S+ msg=(\S+)(.*)", line)
    if not m:
        continue
    kv = dict(re.findall(r'(\w+)=("[^"]*"|\S+)', m.group(3)))
    flamed.append((ts_us(m.group(1)), m.group(2), kv))

samples = {}  # arm -> event -> [ms after call_start]
for (arm, rnd), evs in sorted(rounds.items()):
    t0 = next(us for ev, us, _ in evs if ev == "call_start")
    out = {}
    for ev, us, detail in evs:
        # first occurrence of call events, last of returns (one of each here)
        out.setdefault(ev, (us - t0) / 1000)
        m = re.search(r"runner_id=(\S+)", detail)
        if m and ev.startswith("ret:Flamed.Client.boot"):
            rid = m.group(1)
            for us2, msg, kv in flamed:
                if kv.get("runner_id") != rid:
                    continue
                if msg in ("boot_ok", "boot_ok_warm"):
                    dur = int(kv.get("duration_ms", "0"))
                    out["flamed:boot_received (ts - duration_ms)"] = (us2 - dur * 1000 - t0) / 1000
                    out["flamed:" + msg] = (us2 - t0) / 1000
                elif msg == "boot_start":
                    out["flamed:boot_start"] = (us2 - t0) / 1000
            if arm in ("warmpool", "warmdelay"):
                # the refill the take started: the next warm runner made after it
                take = t0 + out["ret:Flamed.Client.boot/3"] * 1000
                for us2, msg, kv in flamed:
                    if msg == "warm_runner_ready" and us2 > take - 50_000:
                        dur = int(kv.get("duration_ms", "0"))
                        out["flamed:refill_make_start"] = (us2 - dur * 1000 - t0) / 1000
                        out["flamed:refill_ready"] = (us2 - t0) / 1000
                        break
    for ev, ms in out.items():
        samples.setdefault(arm, {}).setdefault(ev, []).append(ms)

import os
names = {"warmpool": "Flamed.Backend, warm pool",
         "warmdelay": "Flamed.Backend, warm pool, refill_delay_ms " + os.environ.get("FLTEST_REFILL_DELAY_MS", "1500"), "docker": "FLAMEDockerBackend",
         "flamed": "Flamed.Backend, cold Boot"}
for arm in ("warmpool", "warmdelay", "docker", "flamed"):
    evs = samples.get(arm)
    if not evs:
        continue
    print(f"\n### {names[arm]} ({len(evs['call_start'])} rounds): ms after FLAME.call began, median (min-max)\n")
    print("| event | median ms | min | max | n |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for ev, v in sorted(evs.items(), key=lambda kv: st.median(kv[1])):
        print(f"| {ev} | {st.median(v):.1f} | {min(v):.1f} | {max(v):.1f} | {len(v)} |")

# The short table: consecutive segments per round (medians of the per-round spans),
# so that the rows add up to the call.
SEGMENTS = [
    ("the backend's steps before the engine call (gRPC connect; Docker version + image check)",
     ["call:Flamed.Client.boot/3", "call:FLAMEDockerBackend.DockerAPI.create_container/1"]),
    ("Boot / create + start until the command runs (warm: flamed-init's execve; cold: start answered)",
     ["init_execve", "ret:FLAMEDockerBackend.DockerAPI.start_container/1", "ret:Flamed.Client.boot/3"]),
    ("the image's start scripts (sh, elixir, erl, erlexec) until the VM starts", ["runner_vm_start"]),
    ("the VM and Elixir boot until the -e code runs", ["runner_e_start"]),
    ("ensure_all_started: the apps before :flame", ["runner_call:Elixir.FLAME.Terminator.init/1"]),
    ("FLAME.Terminator.init until it connects", ["runner_call:net_kernel.connect_node/1"]),
    ("connecting back: DNS, epmd, distribution handshake (parent's nodeup)", ["parent_nodeup"]),
    ("remote_up, FLAME's remote call and the call itself", ["call_done"]),
]
print("\n### Segments (median of each round's span, ms)\n")
arms = [a for a in ("warmpool", "warmdelay", "docker", "flamed") if any(k[0] == a for k in rounds)]
print("| segment | " + " | ".join(names[a] for a in arms) + " |")
print("| --- |" + " ---: |" * len(arms))
per = {}
for (arm, rnd), evs in rounds.items():
    t = {}
    for ev, us, _ in evs:
        t.setdefault(ev, us)
    prev, spans = t["call_start"], []
    for label, ends in SEGMENTS:
        end = next((t[e] for e in ends if e in t), None)
        if end is None:
            spans.append(None)
            continue
        spans.append((end - prev) / 1000)
        prev = end
    spans.append((t["call_done"] - t["call_start"]) / 1000)
    extra = {}
    if "ret:Flamed.Client.boot/3" in t:
        extra["Boot answered to the backend (after call start)"] = (t["ret:Flamed.Client.boot/3"] - t["call_start"]) / 1000
    per.setdefault(arm, []).append((spans, extra))
labels = [s[0] for s in SEGMENTS] + ["**the cold FLAME.call**"]
for i, label in enumerate(labels):
    cells = []
    for a in arms:
        v = [sp[i] for sp, _ in per[a] if sp[i] is not None]
        cells.append(f"{st.median(v):.1f}" if v else "-")
    print(f"| {label} | " + " | ".join(cells) + " |")
for key in ["Boot answered to the backend (after call start)"]:
    cells = []
    for a in arms:
        v = [ex[key] for _, ex in per[a] if key in ex]
        cells.append(f"{st.median(v):.1f}" if v else "-")
    print(f"| {key} | " + " | ".join(cells) + " |")
refill = {a: [s for s in samples.get(a, {}).get("flamed:refill_make_start", [])] for a in arms}
for a in arms:
    if refill[a]:
        r0 = st.median(refill[a])
        r1 = st.median(samples[a]["flamed:refill_ready"])
        print(f"\n{names[a]}: the refill's make ran from {r0:.0f} to {r1:.0f} ms after the call began (medians).")
