#!/usr/bin/env bash
# t_dockerd_restart.sh - dockerd restarts during an open Watch.
#
# Always against a private dockerd started here (restarting the machine's
# would take every other user's containers down), with live-restore on, so
# runners outlive the daemon. Runners A, B and C run, a Watch is open. Then:
#  1. dockerd stops (SIGTERM). flamed's health turns NOT_SERVING; a Boot fails
#     fast with UNAVAILABLE; so does List (DOCKER_UNAVAILABLE: it cannot vouch
#     for a registry that no longer follows Docker).
#  2. During the outage A's main process is SIGKILLed (from the host): Docker
#     is not there to see it, so no event can report it.
#  3. dockerd starts again. flamed reconnects, resumes the events stream and
#     reconciles: the open Watch (never interrupted) reports A EXITED (137) and
#     REMOVED; B still runs and Spawn works in it; health is SERVING again.
#  4. docker kill C: the Watch reports C EXITED, so Docker events flow again.
# And D: its Shutdown during the outage fails fast (UNAVAILABLE) and says
# flamed keeps trying; once dockerd is back the reaper removes it (REMOVED on
# the Watch, no container left): a failed Shutdown leaves nothing running.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
flt_require own

flt_network_create
flamed_start

have_health=0
ctl help health >/dev/null 2>&1 && have_health=1
health_is() { [ "$(ctl health 2>/dev/null)" = "$1" ]; }
if [ "$have_health" = 1 ]; then
  wait_until 10 health_is SERVING || fail "health is not SERVING at start: $(ctl health 2>&1)"
fi

A=$(boot_json | json 'j["id"] + " " + j["container_id"]')
B=$(boot_json | json 'j["id"]')
C=$(boot_json | json 'j["id"] + " " + j["container_id"]')
D=$(boot_json | json 'j["id"] + " " + j["container_id"]')
A_CID=${A#* } A=${A%% *}
C_CID=${C#* } C=${C%% *}
D_CID=${D#* } D=${D%% *}
bgctl --json watch -p "$RUN" >"$TMPD/watch.jsonl" 2>"$TMPD/watch.err"
W=$BG_PID
# Subscribed once a probe's FAILED shows up.
synced() { watch_lines "$TMPD/watch.jsonl" | grep -q " FAILED "; }
for _ in $(seq 1 20); do
  probe_boot
  wait_until 2 synced && break
done
synced || fail "the Watch saw no probe within 40 s"
A_PID=$("${FLT_DOCKER[@]}" inspect -f '{{.State.Pid}}' "$A_CID")
[ "${A_PID:-0}" -gt 0 ] || fail "no host pid for runner $A"

# ---- 1. dockerd goes away
t_down=$(now_ms)
flt_private_dockerd_down
note "private dockerd stopped in $(($(now_ms) - t_down)) ms; runner $A (pid $A_PID) still running: $(kill -0 "$A_PID" && echo yes)"
if [ "$have_health" = 1 ]; then
  t0=$(now_ms)
  wait_until 10 health_is NOT_SERVING || fail "health did not turn NOT_SERVING within 10 s: $(ctl health 2>&1)"
  note "health NOT_SERVING $(($(now_ms) - t0)) ms after dockerd stopped"
fi
t0=$(now_ms)
rc=0
ctl boot -i "$FLT_IMAGE" --network "$RUN" -p "$RUN" -l "fltest.run=$RUN" --boot-timeout 60000 \
  -- "${FLT_CMD[@]}" >/dev/null 2>"$TMPD/outage-boot.err" || rc=$?
boot_ms=$(($(now_ms) - t0))
note "Boot during the outage: exit $rc in $boot_ms ms: $(cat "$TMPD/outage-boot.err")"
grep -q UNAVAILABLE "$TMPD/outage-boot.err" || fail "Boot during the outage did not fail with UNAVAILABLE"
[ "$boot_ms" -le 10000 ] || fail "Boot during the outage took $boot_ms ms: not failing fast"
rc=0
ctl ls -p "$RUN" >/dev/null 2>"$TMPD/outage-ls.err" || rc=$?
grep -q "UNAVAILABLE.*\[DOCKER_UNAVAILABLE\]" "$TMPD/outage-ls.err" ||
  fail "List during the outage: expected UNAVAILABLE [DOCKER_UNAVAILABLE], got rc=$rc $(cat "$TMPD/outage-ls.err")"
t0=$(now_ms)
rc=0
ctl shutdown "$D" >/dev/null 2>"$TMPD/outage-shutdown.err" || rc=$?
note "Shutdown of $D during the outage: exit $rc in $(($(now_ms) - t0)) ms: $(cat "$TMPD/outage-shutdown.err")"
[ "$rc" != 0 ] || fail "Shutdown of $D succeeded while dockerd was down"
grep -q UNAVAILABLE "$TMPD/outage-shutdown.err" || fail "Shutdown during the outage did not fail with UNAVAILABLE"
grep -q "keeps trying to remove it" "$TMPD/outage-shutdown.err" ||
  fail "Shutdown during the outage does not say flamed keeps trying to remove the runner"

# ---- 2. A dies while nobody is watching
kill -KILL "$A_PID"
gone() { ! kill -0 "$A_PID" 2>/dev/null; }
wait_until 10 gone || fail "runner $A's process $A_PID did not die"
sleep 1

# ---- 3. dockerd is back
t_up=$(now_ms)
flt_private_dockerd_up
note "private dockerd back after $(($(now_ms) - t_down)) ms of outage"
wait_until 30 watch_has "$TMPD/watch.jsonl" "$A" EXITED ||
  fail "the Watch did not report runner $A EXITED within 30 s of dockerd's return (state $(runner_state "$A"))"
note "runner $A: EXITED reported $(($(now_ms) - t_up)) ms after dockerd came back: $(watch_event "$TMPD/watch.jsonl" "$A" EXITED)"
exit_code=$(grep "\"id\":\"$A\"" "$TMPD/watch.jsonl" | grep '"type":"EXITED"' | head -1 | json 'j["runner"]["exit_code"]')
[ "$exit_code" = 137 ] || fail "runner $A exit code $exit_code, expected 137 (SIGKILL)"
wait_until 30 watch_has "$TMPD/watch.jsonl" "$A" REMOVED || fail "runner $A was not REMOVED (reaped)"
wait_until 30 watch_has "$TMPD/watch.jsonl" "$D" REMOVED ||
  fail "runner $D (its Shutdown failed during the outage) was not REMOVED after dockerd came back (state $(runner_state "$D"))"
d_gone() { ! "${FLT_DOCKER[@]}" inspect "$D_CID" >/dev/null 2>&1; }
wait_until 10 d_gone || fail "runner $D's container $D_CID is still in Docker"
note "runner $D: removed by the reaper $(($(now_ms) - t_up)) ms after dockerd came back"
kill -0 "$W" || fail "the Watch ended during the outage: $(cat "$TMPD/watch.err")"
[ "$(runner_state "$B")" = RUNNING ] || fail "runner $B is $(runner_state "$B") after the restart"
out=$(ctl spawn "$B" -- echo still-here) || fail "Spawn in $B after the restart failed"
[ "$out" = still-here ] || fail "Spawn in $B printed '$out'"
if [ "$have_health" = 1 ]; then
  wait_until 10 health_is SERVING || fail "health not SERVING again within 10 s"
  note "health SERVING again"
fi

# ---- 4. Docker events flow again
t0=$(now_ms)
"${FLT_DOCKER[@]}" kill "$C_CID" >/dev/null || fail "docker kill $C"
wait_until 20 watch_has "$TMPD/watch.jsonl" "$C" EXITED || fail "the Watch did not report runner $C EXITED after docker kill"
note "runner $C: docker kill -> EXITED on the Watch in $(($(now_ms) - t0)) ms"
grep -q docker_events_lost "$FLAMED_LOG" || fail "flamed did not log losing the Docker events stream"
kill -TERM "$W"
wait "$W"
flamed_stop
pass
