#!/usr/bin/env bash
# t_adopt.sh - flamed serves while it adopts 100 runners, survives kill -9
# during adoption, and lists every runner exactly once with the right state.
#
# Against a private dockerd. 100 runners boot (98 plain, 2 kept); flamed is
# killed with SIGKILL; the 2 kept runners are killed behind its back (they must
# come back EXITED, 137). Then flamed starts behind slowproxy.py, which holds
# every container list 3 s, so adoption certainly takes that long:
#  1. flamed answers health at once, NOT_SERVING; a List with a 500 ms
#     deadline answers UNAVAILABLE [ADOPTING]; flamed is killed -9 during
#     adoption (no adoption_done in its log).
#  2. Started again (still behind the proxy): health NOT_SERVING, a List sent
#     at once waits and then returns all 100 runners, each once, 98 RUNNING and
#     2 EXITED (137); health turns SERVING.
#  3. Started again straight on dockerd: the same 100, each once; the
#     adoption time is printed (bench/adopt measures it).
# No container is removed by any of this.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
flt_require own

N=${FLT_ADOPT_N:-100}
flt_network_create
flamed_start

# ---- boot N runners, 8 at a time
boot_one() {
  ctl boot -i "$FLT_IMAGE" --network "$RUN" -p "$RUN" -l "fltest.run=$RUN" --boot-timeout 120000 \
    "$@" -- "${FLT_CMD[@]}" >>"$TMPD/ids" 2>>"$TMPD/boot.err" || echo x >>"$TMPD/bootfail"
}
t0=$(now_ms)
boot_one --keep
boot_one --keep
pids=()
for i in $(seq 3 "$N"); do
  boot_one &
  pids+=($!)
  if [ ${#pids[@]} -ge 8 ] || [ "$i" -eq "$N" ]; then
    wait "${pids[@]}" # never a bare wait: dockerd and flamed are children too
    pids=()
  fi
done
[ ! -s "$TMPD/bootfail" ] || fail "$(wc -l <"$TMPD/bootfail") boots failed: $(head -3 "$TMPD/boot.err")"
[ "$(sort -u "$TMPD/ids" | wc -l)" -eq "$N" ] || fail "expected $N runner ids, got $(sort -u "$TMPD/ids" | wc -l)"
note "$N runners booted in $(($(now_ms) - t0)) ms"
K1=$(sed -n 1p "$TMPD/ids")
K2=$(sed -n 2p "$TMPD/ids")

# ---- flamed dies; the kept runners exit while nobody watches
flamed_kill9
for k in "$K1" "$K2"; do
  cid=$("${FLT_DOCKER[@]}" ps -q --filter "label=flamed.runner-id=$k")
  [ -n "$cid" ] || fail "no container for kept runner $k"
  "${FLT_DOCKER[@]}" kill "$cid" >/dev/null || fail "docker kill $k"
done

# flamed_launch DOCKER_HOST: start flamed without waiting for anything.
flamed_launch() {
  rm -f "$SOCK"
  echo "=== flamed start $(date +%T.%N) --docker-host $1" >>"$FLAMED_LOG"
  "$FLAMED_BIN" --listen "$ADDR" --log-level debug --stop-timeout-ms 1000 \
    --shutdown-grace-ms 2000 --docker-host "$1" </dev/null >>"$FLAMED_LOG" 2>&1 &
  FLAMED_PID=$!
  FLAMED_LOG_FROM=$(wc -l <"$FLAMED_LOG")
}
log_since_start() { tail -n +"$((FLAMED_LOG_FROM + 1))" "$FLAMED_LOG"; }
health_is() { [ "$(ctl health --timeout 1000 2>/dev/null)" = "$1" ]; }
answers() { [ -S "$SOCK" ] && [ -n "$(ctl health --timeout 1000 2>/dev/null)" ]; }

PROXY=$TMPD/slow.sock
bg python3 "$(dirname "${BASH_SOURCE[0]}")/slowproxy.py" "$PROXY" "${FLT_DOCKER_HOST#unix://}" 3
PROXY_PID=$BG_PID
wait_until 10 test -S "$PROXY" || fail "slowproxy did not start"

# ---- 1. kill -9 during adoption
flamed_launch "unix://$PROXY"
t0=$(now_ms)
wait_until 2 answers || fail "flamed did not answer health within 2 s of its start (it must listen at once)"
h=$(ctl health --timeout 1000 2>/dev/null)
note "flamed answered health $(($(now_ms) - t0)) ms after start: $h"
[ "$h" = NOT_SERVING ] || fail "health during adoption is '$h', expected NOT_SERVING"
# A List whose deadline passes during adoption: UNAVAILABLE [ADOPTING] just before it.
t_ls=$(now_ms)
rc=0
ctl ls -p "$RUN" --timeout 500 >/dev/null 2>"$TMPD/adopting.err" || rc=$?
ls_ms=$(($(now_ms) - t_ls))
note "List with a 500 ms deadline during adoption: exit $rc in $ls_ms ms: $(cat "$TMPD/adopting.err")"
grep -q "UNAVAILABLE.*still adopting.*\[ADOPTING\]" "$TMPD/adopting.err" ||
  fail "List past its deadline during adoption: expected UNAVAILABLE [ADOPTING]: $(cat "$TMPD/adopting.err")"
log_since_start | grep -q adoption_done && fail "adoption finished before the kill: the proxy did not hold it"
flamed_kill9
note "flamed killed -9 during adoption"

# ---- 2. restart: List during adoption waits, then lists all
flamed_launch "unix://$PROXY"
t0=$(now_ms)
wait_until 2 answers || fail "flamed did not answer health within 2 s of its restart"
h=$(ctl health --timeout 1000 2>/dev/null)
[ "$h" = NOT_SERVING ] || fail "health during the second adoption is '$h', expected NOT_SERVING"
t_ls=$(now_ms)
ctl --json ls -p "$RUN" >"$TMPD/ls1.json" 2>"$TMPD/ls1.err" || fail "List during adoption failed: $(cat "$TMPD/ls1.err")"
ls_ms=$(($(now_ms) - t_ls))
note "List sent during adoption answered after $ls_ms ms"
log_since_start | grep -q adoption_done || fail "List answered before adoption was done"
wait_until 10 health_is SERVING || fail "health did not turn SERVING after adoption: $(ctl health 2>&1)"
note "health SERVING $(($(now_ms) - t0)) ms after the restart"

check_list() { # FILE: every runner once, N-2 RUNNING, K1 K2 EXITED 137
  python3 - "$1" "$N" "$K1" "$K2" "$TMPD/ids" <<'PY' || fail "List after adoption is wrong (see above)"
import json, sys
rs = json.load(open(sys.argv[1])); n = int(sys.argv[2]); kept = sys.argv[3:5]
ids = [l.strip() for l in open(sys.argv[5]) if l.strip()]
seen = [r["id"] for r in rs]
bad = []
if sorted(seen) != sorted(ids):
    bad.append("ids differ: %d listed, %d distinct, %d booted" % (len(seen), len(set(seen)), len(ids)))
for r in rs:
    want = "EXITED" if r["id"] in kept else "RUNNING"
    if r.get("state") != want:
        bad.append("%s is %s, expected %s" % (r["id"], r.get("state"), want))
    if r["id"] in kept and r.get("exit_code") != 137:
        bad.append("%s exit_code %s, expected 137" % (r["id"], r.get("exit_code")))
    if r["id"] not in kept and not r.get("ip_address"):
        bad.append("%s has no ip_address" % r["id"])
if bad: print("\n".join(bad[:10]))
sys.exit(1 if bad else 0)
PY
}
check_list "$TMPD/ls1.json"
kill -TERM "$FLAMED_PID"; wait "$FLAMED_PID"; FLAMED_PID=

# ---- 3. straight on dockerd: the adoption time
flamed_launch "$FLT_DOCKER_HOST"
wait_until 30 health_is SERVING || fail "health not SERVING within 30 s of a plain restart"
ctl --json ls -p "$RUN" >"$TMPD/ls2.json" || fail "List after a plain restart failed"
check_list "$TMPD/ls2.json"
note "plain restart: $(log_since_start | grep -m1 runners_adopted | sed 's/.*runners_adopted //') / $(log_since_start | grep -m1 adoption_done | sed 's/.*adoption_done //')"
[ "$(docker_count)" -eq "$N" ] || fail "Docker holds $(docker_count) containers of the test, expected $N"
flamed_stop
pass
