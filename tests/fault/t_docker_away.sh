#!/usr/bin/env bash
# t_docker_away.sh - while Docker is away, every RPC that needs Docker's truth
# answers UNAVAILABLE [DOCKER_UNAVAILABLE] with a message a person can act on;
# once it is back, everything works and the registry is reconciled.
#
# Against a private dockerd, stopped and started again here. Runners A, E and
# K (kept) run. dockerd stops; E's process is SIGKILLed from the host
# meanwhile. Each call's status and reason, and that it fails fast:
#   List, Watch (a new one), Spawn, Boot, Shutdown of an unknown runner:
#     UNAVAILABLE [DOCKER_UNAVAILABLE], the message names dockerd;
#   Shutdown of A: UNAVAILABLE [DOCKER_UNAVAILABLE], flamed keeps trying;
#   Renew: OK (leases live in flamed's registry).
# dockerd is back: health SERVING, List answers and is reconciled (A removed by
# the reaper, E not RUNNING, K RUNNING), Spawn in K, Watch and Boot work.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
flt_require own

flt_network_create
flamed_start
health_is() { [ "$(ctl health 2>/dev/null)" = "$1" ]; }
wait_until 10 health_is SERVING || fail "health is not SERVING at start"

A=$(boot_json | json 'j["id"]')
E=$(boot_json | json 'j["id"] + " " + j["container_id"]')
K=$(boot_json --keep | json 'j["id"]')
E_CID=${E#* } E=${E%% *}
E_PID=$("${FLT_DOCKER[@]}" inspect -f '{{.State.Pid}}' "$E_CID")
[ "${E_PID:-0}" -gt 0 ] || fail "no host pid for runner $E"

# ---- Docker goes away
flt_private_dockerd_down
wait_until 10 health_is NOT_SERVING || fail "health did not turn NOT_SERVING within 10 s"
kill -KILL "$E_PID"

# expect_away NAME CMD...: CMD fails within 5 s with UNAVAILABLE [DOCKER_UNAVAILABLE]
# and a message naming dockerd.
expect_away() {
  local name=$1 rc=0 t0
  shift
  t0=$(now_ms)
  "$@" >/dev/null 2>"$TMPD/$name.err" </dev/null || rc=$?
  local ms=$(($(now_ms) - t0))
  note "$name while Docker is away: exit $rc in $ms ms: $(head -c 300 "$TMPD/$name.err")"
  [ "$rc" -ne 0 ] || fail "$name succeeded while Docker was away"
  grep -q "UNAVAILABLE.*\[DOCKER_UNAVAILABLE\]" "$TMPD/$name.err" ||
    fail "$name: expected UNAVAILABLE [DOCKER_UNAVAILABLE]: $(cat "$TMPD/$name.err")"
  grep -qi "dockerd\|docker" "$TMPD/$name.err" || fail "$name: the message does not say Docker is the cause"
  [ "$ms" -le 5000 ] || fail "$name took $ms ms: not failing fast"
}
expect_away list ctl ls -p "$RUN"
expect_away watch ctl watch -p "$RUN"
expect_away spawn ctl spawn "$K" -- echo hi
expect_away boot ctl boot -i "$FLT_IMAGE" --network "$RUN" -p "$RUN" -l "fltest.run=$RUN" -- "${FLT_CMD[@]}"
expect_away shutdown_unknown ctl shutdown 0123456789abcdef
expect_away shutdown ctl shutdown "$A"
grep -q "keeps trying to remove it" "$TMPD/shutdown.err" || fail "Shutdown of $A does not say flamed keeps trying"
ctl renew p-away >/dev/null 2>"$TMPD/renew.err" || fail "Renew while Docker is away failed: $(cat "$TMPD/renew.err")"

# ---- Docker is back
t_up=$(now_ms)
flt_private_dockerd_up
wait_until 30 health_is SERVING || fail "health not SERVING within 30 s of dockerd's return"
note "health SERVING $(($(now_ms) - t_up)) ms after dockerd came back"
ls_ok() { ctl --json ls -p "$RUN" >"$TMPD/ls.json" 2>"$TMPD/ls.err"; }
wait_until 10 ls_ok || fail "List after Docker came back: $(cat "$TMPD/ls.err")"
a_gone() { [ "$(runner_state "$A")" = GONE ] || [ "$(runner_state "$A")" = REMOVED ]; }
wait_until 30 a_gone || fail "runner $A (Shutdown during the outage) is $(runner_state "$A"), expected removed"
e_state=$(runner_state "$E")
case $e_state in EXITED | REMOVED | GONE) ;; *) fail "runner $E, killed during the outage, is $e_state after the resync" ;; esac
[ "$(runner_state "$K")" = RUNNING ] || fail "kept runner $K is $(runner_state "$K") after the resync"
out=$(ctl spawn "$K" -- echo back) || fail "Spawn in $K after Docker came back failed"
[ "$out" = back ] || fail "Spawn in $K printed '$out'"
bgctl --json watch -p "$RUN" >"$TMPD/watch.jsonl" 2>"$TMPD/watch.err"
W=$BG_PID
B=$(boot_json | json 'j["id"]')
wait_until 10 watch_has "$TMPD/watch.jsonl" "$B" STARTED ||
  fail "a Watch opened after Docker came back did not see $B boot: $(head -c 500 "$TMPD/watch.jsonl")"
kill -TERM "$W"
wait "$W" 2>/dev/null
ctl shutdown "$K" >/dev/null || fail "Shutdown of $K failed"
flamed_stop
pass
