#!/usr/bin/env python3
"""bench/report.py - turn one bench/run directory into the results table.

Reads DIR/{boot,unary,watch,spawn}.json (whichever ran), DIR/load.log
("epoch load1 load5 load15" every 2 s) and DIR/phases.log ("epoch bench start" /
"epoch bench end"), and writes:
  --md FILE      the markdown report (targets, tables, machine, load per bench)
  --json FILE    everything in one document (machine, targets, each bench's JSON)
  --plots        DIR/*.png through gnuplot (data files DIR/*.dat, scripts DIR/*.gp)
  --publish FILE the same markdown, for bench/RESULTS.md
Exit status 0 even when a target is missed: targets are reported, not enforced.
"""
import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys

TARGETS = {"boot_ratio_max": 1.05, "spawn_ratio_min": 0.8, "list_rps_c16_min": 10000,
           "idle_rss_mib_max": 12}


def sh(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine(flamed_bin):
    cpu = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = 0
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    rev = sh("git", "-C", root, "rev-parse", "--short", "HEAD")
    dirty = sh("git", "-C", root, "status", "--porcelain", "--untracked-files=no", "--", "server", "client", "proto")
    try:
        built = datetime.datetime.fromtimestamp(os.path.getmtime(flamed_bin), datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    except OSError:
        built = "?"
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu,
        "mem_gib": round(mem_kb / 1048576, 1),
        "kernel": platform.release(),
        "docker_server": sh("docker", "version", "--format", "{{.Server.Version}}"),
        "docker_api": sh("docker", "version", "--format", "{{.Server.APIVersion}}"),
        "flamed_bin": flamed_bin,
        "flamed_version": sh(flamed_bin, "--version"),
        "git_rev": rev + (" (server/client/proto modified in the work tree)" if dirty else ""),
        "flamed_built": built,
    }


def load_windows(d):
    """{bench: {"min","mean","max"} of the 1-min load average} from the logs."""
    samples = []
    try:
        for line in open(os.path.join(d, "load.log")):
            p = line.split()
            if len(p) >= 2:
                samples.append((int(p[0]), float(p[1])))
    except OSError:
        return {}, None
    windows, starts = {}, {}
    try:
        for line in open(os.path.join(d, "phases.log")):
            p = line.split()  # "epoch NAME start|end" (benches may overlap in a smoke run)
            if len(p) == 3 and p[2] == "start":
                starts[p[1]] = int(p[0])
            elif len(p) == 3 and p[2] == "end" and p[1] in starts:
                windows[p[1]] = (starts[p[1]], int(p[0]))
    except OSError:
        pass
    out = {}
    for name, (a, b) in windows.items():
        xs = [v for t, v in samples if a <= t <= b + 2]
        if xs:
            out[name] = {"min": min(xs), "mean": round(sum(xs) / len(xs), 2), "max": max(xs)}
    allx = [v for _, v in samples]
    whole = {"min": min(allx), "mean": round(sum(allx) / len(allx), 2), "max": max(allx)} if allx else None
    return out, whole


def fmt(x, nd=1):
    if x is None:
        return "–"
    if isinstance(x, float) and x != x:
        return "–"
    return f"{x:,.{nd}f}"


def load_str(lw):
    if not lw:
        return "–"
    return f"{lw['mean']:.1f} (min {lw['min']:.1f}, max {lw['max']:.1f})"


def verdict(ok):
    return "**met**" if ok else "**MISSED**"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--stamp", required=True)
    ap.add_argument("--mode", default="full")
    ap.add_argument("--flamed-bin", default="")
    ap.add_argument("--md", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--plots", action="store_true")
    ap.add_argument("--publish")
    a = ap.parse_args()

    benches = {}
    for name in ("boot", "unary", "watch", "spawn", "idlerss"):
        p = os.path.join(a.dir, name + ".json")
        if os.path.exists(p):
            benches[name] = json.load(open(p))
    lw, whole = load_windows(a.dir)
    mach = machine(a.flamed_bin)
    # bench/run records the work tree's revision when it starts (git.txt).
    try:
        mach["git_rev"] = open(os.path.join(a.dir, "git.txt")).read().strip() or mach["git_rev"]
    except OSError:
        pass
    targets = []
    md = []
    w = md.append
    w(f"# flamed benchmarks, {a.stamp} ({a.mode} run)")
    w("")
    w(f"Machine: {mach['nproc']} × {mach['cpu_model']}, {mach['mem_gib']} GiB, Linux {mach['kernel']}, "
      f"Docker {mach['docker_server']} (API {mach['docker_api']}), {mach['flamed_version'] or 'flamed ?'} "
      f"({mach['flamed_bin']}, built {mach['flamed_built']}; work tree at {mach['git_rev'] or '?'}).")
    if whole:
        w(f"Load average (1 min) over the run: mean {whole['mean']:.1f}, min {whole['min']:.1f}, "
          f"max {whole['max']:.1f}, on {mach['nproc']} cores shared with other work: absolute figures "
          "move with it; the ratios (each measured side by side in the same run, interleaved) are "
          "what to compare.")
    w("")

    # ------------------------------------------------------------ targets
    b = benches.get("boot")
    u = benches.get("unary")
    s = benches.get("spawn")
    if b:
        r = b["sequential"]["ratio_to_raw"]["flamed"]["boot"].get("p50")
        rc = b["concurrent"]["ratio_to_raw"]["flamed"]["boot"].get("p50")
        targets.append({"name": "boot ratio (flamed Boot p50 / raw create+start p50, sequential)",
                        "target": f"≤ {TARGETS['boot_ratio_max']}", "value": r,
                        "met": r is not None and r <= TARGETS["boot_ratio_max"],
                        "note": f"concurrent ({b['conc']} at once): {fmt(rc, 3)}", "load": lw.get("boot")})
    if s:
        r = s.get("throughput_ratio_p50")
        targets.append({"name": "spawn ratio (flamed Spawn MB/s / raw exec MB/s, p50)",
                        "target": f"≥ {TARGETS['spawn_ratio_min']}", "value": r,
                        "met": r is not None and r >= TARGETS["spawn_ratio_min"],
                        "note": f"{s['bytes'] >> 20} MiB per run", "load": lw.get("spawn")})
    if u:
        lv = next((x for x in u["levels"] if x["conc"] == 16), None)
        if lv:
            targets.append({"name": f"List RPS at c=16 ({u['runners_listed']} runners tracked)",
                            "target": f"≥ {TARGETS['list_rps_c16_min']:,}", "value": lv["rps"],
                            "met": lv["rps"] >= TARGETS["list_rps_c16_min"],
                            "note": f"flamed CPU {lv['flamed_cpu_pct']:.0f}%, loadgen CPU {lv['loadgen_cpu_pct']:.0f}%",
                            "load": lw.get("unary")})
    ir = benches.get("idlerss")
    if ir:
        m = ir["median"]
        v = m["flamed"]["VmRSS"] / 1024
        targets.append({"name": "flamed idle VmRSS, no warm runners (MiB)",
                        "target": f"≤ {TARGETS['idle_rss_mib_max']}", "value": v,
                        "met": v <= TARGETS["idle_rss_mib_max"],
                        "note": f"start-up pages kept: {m['flamed_kept']['VmRSS'] / 1024:.1f}; gRPC core server "
                                f"alone: {m['grpc_idle']['VmRSS'] / 1024:.1f}; after the first List: "
                                f"{m['flamed']['lists']['VmRSS_after'] / 1024:.1f}",
                        "load": lw.get("idlerss")})
    if targets:
        w("## Targets")
        w("")
        w("| target | wanted | measured | | notes | load (1 min) |")
        w("| --- | ---: | ---: | --- | --- | --- |")
        for t in targets:
            nd = 0 if "RPS" in t["name"] else 1 if "MiB" in t["name"] else 3
            w(f"| {t['name']} | {t['target']} | {fmt(t['value'], nd)} | {verdict(t['met'])} | {t['note']} | {load_str(t['load'])} |")
        if a.mode == "smoke":
            w("")
            w("Smoke run: a few samples each, only to prove every bench works; not a measurement.")
        w("")

    # ------------------------------------------------------------ boot
    if b:
        w(f"## Boot and Shutdown (image {b['image']}, network {b['network']})")
        w("")
        w(f"Sequential: {b['reps']} reps per path, one untimed warm-up, order rotated each rep. "
          f"Concurrent: {b['waves']} wave(s) of {b['conc']} released together per path. Times in ms, "
          "in-process (CLOCK_MONOTONIC). Load: " + load_str(lw.get("boot")) + ".")
        w("")
        w("| mode | path | n | p50 | p95 | p99 | ratio p50 | ratio p95 | ratio p99 |")
        w("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        labels = {
            ("boot", "raw"): "raw API create+start",
            ("boot", "flamed"): "flamed Boot",
            ("boot", "cli"): "docker run -d",
            ("teardown", "raw"): "raw API stop?t=0 + DELETE",
            ("teardown", "flamed"): "flamed Shutdown (timeout_ms 1)",
            ("teardown", "cli"): "docker rm -f",
        }
        for phase in ("boot", "teardown"):
            for mode in ("sequential", "concurrent"):
                m = b[mode]
                for path in ("raw", "flamed", "cli"):
                    st = m[path][phase + "_ms"]
                    if not st["n"]:
                        continue
                    if path == "raw":
                        rr = {"p50": 1.0, "p95": 1.0, "p99": 1.0}
                    else:
                        rr = m["ratio_to_raw"][path][phase]
                    w(f"| {mode} | {labels[(phase, path)]} | {st['n']} | {fmt(st['p50'])} | {fmt(st['p95'])} | "
                      f"{fmt(st['p99'])} | {fmt(rr.get('p50'), 3)} | {fmt(rr.get('p95'), 3)} | {fmt(rr.get('p99'), 3)} |")
        mk = b["concurrent"].get("boot_makespan_ms", {})
        if any(mk.values()):
            w("")
            w("Concurrent makespan (first start to last finish), ms: " + "; ".join(
                f"{p} boot {', '.join(fmt(x, 0) for x in mk[p])} / teardown "
                f"{', '.join(fmt(x, 0) for x in b['concurrent']['teardown_makespan_ms'][p])}" for p in ("raw", "flamed", "cli")) + ".")
        w("")
        w("What each path does: raw is two HTTP calls (create with flamed's body, start); flamed Boot is "
          "network inspect, image inspect, create, start, then inspect until running, plus gRPC; "
          "docker run -d is a CLI process. raw teardown is stop?t=0 + DELETE; flamed Shutdown with a "
          "1 ms grace is inspect (StopSignal), kill SIGTERM, wait?condition=not-running (1 ms), kill "
          "SIGKILL, wait, inspect, DELETE.")
        w("")
        if a.plots:
            w(f"![boot latency]({a.stamp}/boot.png) ![boot CDF]({a.stamp}/boot-cdf.png)")
            w("")

    # ------------------------------------------------------------ unary
    if u:
        w(f"## Unary: List with {u['runners_listed']} runners tracked")
        w("")
        nch = max((l.get("channels", 1) for l in u["levels"]), default=1)
        w(f"loadgen (libflame, c threads calling List back to back over up to {nch} connections, "
          f"one flame_client each); each level "
          f"{u['levels'][0]['seconds']:.0f} s after a warm-up. flamed CPU% = (utime+stime)/wall "
          f"(200% = both cores). Boot of the {u['runners_booted']} runners (8 at a time): "
          f"{fmt(u.get('boot_all_s'))} s.")
        if u.get("runners_foreign"):
            w(f"This flamed also tracked {u['runners_foreign']} runner(s) of other flamed instances on the same "
              "Docker (adopted at start: flamed adopts every container labelled flamed.managed-by=flamed); "
              f"List asks for pool \"{u.get('list_pool') or '(all)'}\" so each response holds exactly the "
              f"{u['runners_listed']} booted here ({u.get('runners_tracked', '?')} tracked in all at the end).")
        w("")
        w("| concurrency | RPS | p50 ms | p95 ms | p99 ms | flamed CPU % | flamed CPU µs/call | RPS per flamed CPU-second | loadgen CPU % | loadgen CPU µs/call | load (1 min) |")
        w("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
        for lv in u["levels"]:
            L = lv["latency_ms"]
            w(f"| {lv['conc']} | {fmt(lv['rps'], 0)} | {fmt(L['p50'], 3)} | {fmt(L['p95'], 3)} | {fmt(L['p99'], 3)} | "
              f"{fmt(lv['flamed_cpu_pct'], 0)} | {fmt(lv.get('flamed_cpu_us_per_call'), 1)} | {fmt(lv.get('rps_per_flamed_cpu_s'), 0)} | "
              f"{fmt(lv['loadgen_cpu_pct'], 0)} | {fmt(lv.get('loadgen_cpu_us_per_call'), 1)} | {lv['load_start'][0]:.1f} → {lv['load_end'][0]:.1f} |")
        w("")
        w("RPS per flamed CPU-second = calls / flamed's CPU seconds over the window: what flamed would "
          "answer with one whole core, whatever the load generator and the machine's other work took.")
        w("")
        if a.plots:
            w(f"![List RPS and latency]({a.stamp}/unary.png)")
            w("")

    # ------------------------------------------------------------ watch
    wb = benches.get("watch")
    if wb:
        d = wb["delay_ms"]
        w(f"## Watch: {wb['watchers']} streams, events of {wb['runners']} runners")
        w("")
        w(f"{wb['watchers']} Watch streams in one process (a thread each, one libflame channel), opened in "
          f"{fmt(wb['watch_open_s'], 2)} s; {wb['runners']} runners booted while watched "
          f"({fmt(wb['boot_all_s'])} s), then killed through Docker (POST /containers/ID/kill), so "
          "their exits reach flamed only through Docker's event stream. Delay = the watcher's "
          "receive time (CLOCK_REALTIME, in its callback) minus the reference time, per (watcher, runner) "
          "pair. Load: " + load_str(lw.get("watch")) + ".")
        w("")
        w("| delay | reference | n | p50 ms | p95 ms | p99 ms | max ms |")
        w("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
        rows = [
            ("EXITED fan-out (headline)", "Docker `die` event timeNano", "exited_from_docker_die"),
            ("REMOVED", "Docker `destroy` event timeNano", "removed_from_docker_destroy"),
            ("STARTED (includes Boot's post-start inspect)", "Docker `start` event timeNano", "started_from_docker_start"),
            ("any event, flamed → watcher", "WatchResponse.time_unix_nano", "hub_to_watcher"),
            ("Docker → flamed (per runner)", "die timeNano → EXITED time_unix_nano", "docker_to_flamed"),
            ("spread across watchers (per event)", "first watcher's receive", "spread"),
        ]
        for label, ref, k in rows:
            st = d[k]
            w(f"| {label} | {ref} | {st['n']} | {fmt(st.get('p50'), 2)} | {fmt(st.get('p95'), 2)} | "
              f"{fmt(st.get('p99'), 2)} | {fmt(st.get('max'), 2)} |")
        m = wb["memory"]
        w("")
        w(f"flamed RSS: {m['rss_before_kb'] / 1024:.1f} MiB before, {m['rss_watches_open_kb'] / 1024:.1f} MiB with "
          f"{wb['watchers']} watches open, peak {m['rss_peak_kb'] / 1024:.1f} MiB during the events, "
          f"{m['rss_end_kb'] / 1024:.1f} MiB at the end.")
        w("")
        if a.plots:
            w(f"![Watch fan-out CDF]({a.stamp}/watch.png)")
            w("")

    # ------------------------------------------------------------ spawn
    if s:
        w(f"## Spawn: `yes | head -c {s['bytes'] >> 20}M`")
        w("")
        w("flamed Spawn (libflame, bytes counted in on_output) vs raw exec: POST /containers/ID/exec, then "
          "POST /exec/ID/start on a plain unix socket, 64 KiB reads, frames demultiplexed, then exec "
          "inspect for the exit code. Each timed from its first request to the exit code; MB = 10^6 bytes. "
          f"{s['reps']} rep(s) each, alternating. Load: " + load_str(lw.get("spawn")) + ".")
        w("")
        w("| path | MB/s p50 | MB/s min | first byte p50 ms | `echo x` total p50 ms | `echo x` first byte p50 ms |")
        w("| --- | ---: | ---: | ---: | ---: | ---: |")
        for p in ("raw", "flamed"):
            x = s[p]
            w(f"| {p} | {fmt(x['throughput_mb_s'].get('p50'))} | {fmt(x['throughput_mb_s'].get('min'))} | "
              f"{fmt(x['first_byte_ms'].get('p50'), 2)} | {fmt(x['echo_total_ms'].get('p50'), 2)} | "
              f"{fmt(x['echo_first_byte_ms'].get('p50'), 2)} |")
        w(f"| ratio flamed/raw | {fmt(s.get('throughput_ratio_p50'), 3)} | | | {fmt(s.get('echo_ratio_p50'), 3)} | |")
        w("")
        if "flamed_cpu_s_per_gb" in s["flamed"]:
            w("CPU seconds per GB streamed (p50 over the reps; /proc utime+stime), and the stdout bytes "
              "per message (flamed: per SpawnResponse) or per Docker frame (raw):")
            w("")
            w("| path | flamed | client | dockerd | bytes per message/frame |")
            w("| --- | ---: | ---: | ---: | ---: |")
            for p in ("raw", "flamed"):
                x = s[p]
                w(f"| {p} | {fmt(x['flamed_cpu_s_per_gb'].get('p50'), 2)} | {fmt(x['client_cpu_s_per_gb'].get('p50'), 2)} | "
                  f"{fmt(x.get('dockerd_cpu_s_per_gb', {}).get('p50'), 2)} | {fmt(x['stdout_bytes_per_chunk'].get('p50'), 0)} |")
            w("")
        if a.plots:
            w(f"![Spawn throughput]({a.stamp}/spawn.png)")
            w("")

    # ------------------------------------------------------------ memory
    mem_rows = []
    if u:
        m = u["memory"]
        mem_rows.append(("idle RSS (fresh flamed, after one List)", f"{m['rss_idle_kb'] / 1024:.1f} MiB", "unary", "rss_idle_kb"))
        if "per_runner_kb" in m:
            mem_rows.append((f"per tracked runner ({u['runners_booted']} booted)", f"{m['per_runner_kb']:.1f} kB", "unary", ""))
    if wb:
        mem_rows.append((f"per open Watch ({wb['watchers']} open)", f"{wb['memory']['per_watch_kb']:.2f} kB", "watch", ""))
    if s and "memory" in s:
        m = s["memory"]
        mem_rows.append((f"per in-flight Spawn ({m['inflight']} × `sleep 60`)",
                         f"{m['per_spawn_kb']:.1f} kB (threads {m['threads_before']} → {m['threads_inflight']})", "spawn", ""))
    if mem_rows:
        w("## Memory (flamed VmRSS from /proc)")
        w("")
        w("| figure | value | measured in |")
        w("| --- | ---: | --- |")
        for label, val, where, _ in mem_rows:
            w(f"| {label} | {val} | {where} |")
        w("")
        w("Deltas are RSS after minus before, divided by the count: they include what glibc keeps "
          "(freed worker-thread stacks, arenas) and the gRPC/libcurl buffers the calls warmed up.")
        w("")

    # ------------------------------------------------------------ idle memory
    if ir:
        m = ir["median"]
        w("## Idle memory (bench/idle_rss)")
        w("")
        w(f"Each process fresh, SERVING (health) + {ir['settle_ms']} ms, no runner, no call but health; "
          f"median of {len(ir['reps'])} rep(s), kB. `flamed`: the defaults (start-up pages released "
          "2 s after it listens: `--release-startup-pages-ms`); `flamed_kept`: the same binary with "
          "`--release-startup-pages-ms 0`; `grpc_idle`: a gRPC core server and nothing else "
          "(bench/src/grpc_idle.c), the baseline. Load: " + load_str(lw.get("idlerss")) + ".")
        w("")
        w("| process | VmRSS | RssAnon | RssFile | Pss | Pss_Anon | Pss_File | threads |")
        w("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for name, x in m.items():
            w(f"| {name} | {x['VmRSS']:.0f} | {x['RssAnon']:.0f} | {x['RssFile']:.0f} | {x['Pss']:.0f} | "
              f"{x['Pss_Anon']:.0f} | {x['Pss_File']:.0f} | {x['Threads']:.0f} |")
        w("")
        w("The first calls after idle (a new connection; the Boot after the Lists), medians:")
        w("")
        w("| process | first List ms | its minor faults | second List ms | List p50 ms | VmRSS after Lists | "
          "first Boot ms | its minor faults | VmRSS after Boot |")
        w("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for name, x in m.items():
            if "lists" not in x:
                continue
            l, bt = x["lists"], x.get("boot") or {}
            w(f"| {name} | {fmt(l['first_ms'], 2)} | {l['first_minflt']:.0f} | {fmt(l['second_ms'], 2)} | "
              f"{fmt(l['p50_ms'], 3)} | {l['VmRSS_after']:.0f} | {fmt(bt.get('ms'), 0)} | "
              f"{fmt(bt.get('minflt'), 0)} | {fmt(bt.get('VmRSS_after'), 0)} |")
        w("")
        for name, x in m.items():
            w(f"- RSS by mapping, {name} (kB): " + ", ".join(f"{k} {kb}" for k, kb in x["by_mapping"]))
        w("")

    # bench/warm_boot's own Markdown (bench/run --only warm): warm vs cold vs raw Boot and
    # Boot + Spawn, the burst into a warm pool; it carries its own load figures.
    warm_md = os.path.join(a.dir, "warm.md")
    if os.path.exists(warm_md):
        w("## Warm runners (bench/warm_boot: flamed --pools, issue 17)")
        w("")
        w(open(warm_md).read().strip("\n"))
        w("")

    w("## Load during each bench (1-min load average, sampled every 2 s)")
    w("")
    w("| bench | mean | min | max |")
    w("| --- | ---: | ---: | ---: |")
    for name in ("boot", "unary", "watch", "spawn", "idlerss", "warm"):
        if name in lw:
            x = lw[name]
            w(f"| {name} | {x['mean']:.2f} | {x['min']:.2f} | {x['max']:.2f} |")
    w("")
    text = "\n".join(md) + "\n"
    open(a.md, "w").write(text)
    if a.publish:
        # bench/results/ is not in git: the published copy links plots copied
        # next to it (bench/plots/) and carries bench/PROFILE.md (the profile
        # findings, written by hand from bench/profile's output) at the end.
        pub_dir = os.path.dirname(os.path.abspath(a.publish))
        pub = text.replace(f"]({a.stamp}/", "](plots/")
        prof = os.path.join(pub_dir, "PROFILE.md")
        if os.path.exists(prof):
            pub += "\n" + open(prof).read()
        pending_publish = (a.publish, pub, os.path.join(pub_dir, "plots"))
    else:
        pending_publish = None

    doc = {"stamp": a.stamp, "mode": a.mode, "machine": mach, "load": {"whole": whole, "per_bench": lw},
           "targets": targets, "benches": benches}
    json.dump(doc, open(a.json, "w"), indent=1)

    if a.plots:
        plots(a.dir, benches)
    if pending_publish:
        path, pub, plot_dir = pending_publish
        if a.plots:
            import shutil
            os.makedirs(plot_dir, exist_ok=True)
            for f in os.listdir(a.dir):
                if f.endswith(".png"):
                    shutil.copy(os.path.join(a.dir, f), os.path.join(plot_dir, f))
        else:
            pub = "\n".join(l for l in pub.split("\n") if not l.startswith("![")) + "\n"
        # Sections other benchmarks record by hand (bench/flame) follow this marker:
        # keep them.
        marker = "<!-- kept by bench/report.py --publish: sections below -->"
        if os.path.exists(path):
            old = open(path).read()
            if marker in old:
                pub = pub.rstrip("\n") + "\n\n" + old[old.index(marker):]
        open(path, "w").write(pub)


def plots(d, benches):
    scripts = []
    b = benches.get("boot")
    if b:
        with open(os.path.join(d, "boot.dat"), "w") as f:
            for mode in ("sequential", "concurrent"):
                for q in ("p50", "p95", "p99"):
                    vals = [b[mode][p]["boot_ms"].get(q, 0) for p in ("raw", "flamed", "cli")]
                    f.write(f"{mode[:3]}-{q} " + " ".join(str(v) for v in vals) + "\n")
            for mode in ("sequential", "concurrent"):
                vals = [b[mode][p]["teardown_ms"].get("p50", 0) for p in ("raw", "flamed", "cli")]
                f.write(f"{mode[:3]}-down-p50 " + " ".join(str(v) for v in vals) + "\n")
        scripts.append(("boot", """
set terminal pngcairo size 900,480
set output 'boot.png'
set title 'Boot latency (ms): raw API vs flamed vs docker run; teardown p50'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set key top left
set ylabel 'ms'
set xtics rotate by -30
set grid ytics
plot 'boot.dat' using 2:xtic(1) title 'raw API', '' using 3 title 'flamed', '' using 4 title 'docker run / rm -f'
"""))
        for p in ("raw", "flamed", "cli"):
            xs = sorted(b["sequential"][p]["boot_ms"].get("samples", []))
            with open(os.path.join(d, f"boot-cdf-{p}.dat"), "w") as f:
                for i, x in enumerate(xs):
                    f.write(f"{x} {(i + 1) / len(xs)}\n")
        scripts.append(("boot-cdf", """
set terminal pngcairo size 900,480
set output 'boot-cdf.png'
set title 'Sequential boot latency, CDF'
set xlabel 'ms'
set ylabel 'fraction'
set key bottom right
set grid
plot 'boot-cdf-raw.dat' using 1:2 with steps lw 2 title 'raw create+start', \\
     'boot-cdf-flamed.dat' using 1:2 with steps lw 2 title 'flamed Boot', \\
     'boot-cdf-cli.dat' using 1:2 with steps lw 2 title 'docker run -d'
"""))
    u = benches.get("unary")
    if u:
        with open(os.path.join(d, "unary.dat"), "w") as f:
            for lv in u["levels"]:
                L = lv["latency_ms"]
                f.write(f"{lv['conc']} {lv['rps']} {L['p50']} {L['p99']} {lv['flamed_cpu_pct']}\n")
        scripts.append(("unary", """
set terminal pngcairo size 900,480
set output 'unary.png'
set title 'List: RPS and latency by concurrency'
set logscale x 2
set xlabel 'concurrent callers'
set ylabel 'RPS'
set yrange [0:*]
set y2range [0:*]
set y2label 'latency ms'
set ytics nomirror
set y2tics
set grid
set key top left
plot 'unary.dat' using 1:2 with linespoints lw 2 title 'RPS', \\
     '' using 1:3 axes x1y2 with linespoints title 'p50 ms', \\
     '' using 1:4 axes x1y2 with linespoints title 'p99 ms'
"""))
    wb = benches.get("watch")
    if wb and wb.get("exited_cdf_ms"):
        with open(os.path.join(d, "watch.dat"), "w") as f:
            for i, x in enumerate(wb["exited_cdf_ms"]):
                f.write(f"{x} {(i + 1) / len(wb['exited_cdf_ms'])}\n")
        scripts.append(("watch", f"""
set terminal pngcairo size 900,480
set output 'watch.png'
set title 'Watch fan-out: Docker die event to each of {wb["watchers"]} watchers (EXITED), CDF'
set xlabel 'ms'
set ylabel 'fraction'
set grid
set key bottom right
plot 'watch.dat' using 1:2 with steps lw 2 title 'delay'
"""))
    s = benches.get("spawn")
    if s:
        with open(os.path.join(d, "spawn.dat"), "w") as f:
            f.write(f"raw {s['raw']['throughput_mb_s'].get('p50', 0)}\n")
            f.write(f"flamed {s['flamed']['throughput_mb_s'].get('p50', 0)}\n")
        scripts.append(("spawn", f"""
set terminal pngcairo size 640,420
set output 'spawn.png'
set title 'Spawn stdout throughput, yes | head -c {s["bytes"] >> 20}M (p50)'
set style data histograms
set style fill solid 0.8 border -1
set ylabel 'MB/s'
set yrange [0:*]
set grid ytics
set boxwidth 0.6
plot 'spawn.dat' using 2:xtic(1) notitle
"""))
    for name, gp in scripts:
        p = os.path.join(d, name + ".gp")
        open(p, "w").write(gp)
        r = subprocess.run(["gnuplot", name + ".gp"], cwd=d, capture_output=True, text=True)
        if r.returncode != 0:
            sys.stderr.write(f"bench/report.py: gnuplot {name}.gp failed:\n{r.stderr}\n")
            sys.exit(1)


if __name__ == "__main__":
    main()
