#!/usr/bin/env bash
# t_lease.sh - parent leases (FLAME's Terminator failsafe, server-side).
#
# 1. Watch holds the lease: Boot A with parent P and lease_ttl_ms 1500, keep a
#    Watch with parent_id P open for 3 s (twice the TTL): A stays RUNNING. Close
#    that Watch: within TTL + 1 s flamed decides to shut A down (its STOPPING
#    event), A becomes EXITED and REMOVED, an observer Watch saw the events, and
#    the runner's error says the lease expired.
# 2. Renew holds the lease: Boot B with parent Q and TTL 3000, no Watch; call
#    Renew (flamectl renew, 0.2 s apart) for 4 s: B stays RUNNING (Renew
#    answers 1). Stop renewing: B is retired within TTL + 1 s.
# 3. Other parents do not hold it: a Watch with parent_id P, open all along,
#    does not keep Q's runner B alive.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
flt_require

TTL=${FLT_LEASE_TTL:-1500}
# Part 2 renews with one flamectl process per Renew (0.2 s apart): on a busy
# machine a process takes a while to start, so its TTL leaves room for that.
TTL_RENEW=${FLT_LEASE_TTL_RENEW:-3000}
P=parent-p-$RUN
Q=parent-q-$RUN
flt_network_create
flamed_start

# An observer watch over the whole pool (no parent: holds no lease).
bgctl --json watch -p "$RUN" >"$TMPD/observer.jsonl" 2>"$TMPD/observer.err"

# retired_within ID FROM_MS TO_MS: the lease's last holder left (Watch closed,
# last Renew) somewhere between FROM_MS and TO_MS (client clock, before and
# after the act). Assert the runner's STOPPING came no earlier than FROM_MS +
# TTL and no later than TO_MS + TTL + 1000, and that it then exited and was
# removed, with an error naming the lease.
retired_within() {
  local id=$1 from_ms=$2 close_ms=$3 ttl=$4 line t err
  wait_until 30 watch_has "$TMPD/observer.jsonl" "$id" REMOVED ||
    fail "runner $id was not REMOVED within 30 s of its lease ending (state $(runner_state "$id"))"
  line=$(watch_event "$TMPD/observer.jsonl" "$id" STOPPING)
  [ -n "$line" ] || fail "no STOPPING event for $id"
  t=$(awk '{print $5}' <<<"$line")
  local late=$((t - close_ms)) early=$((t - from_ms))
  note "runner $id: STOPPING $late..$early ms after its lease's last holder left (TTL $ttl ms)"
  [ "$early" -ge $((ttl - 20)) ] || fail "runner $id retired too early: $early ms < TTL $ttl"
  [ "$late" -le $((ttl + 1000)) ] || fail "runner $id retired too late: $late ms > TTL + 1000"
  watch_has "$TMPD/observer.jsonl" "$id" EXITED || fail "no EXITED event for $id"
  err=$(watch_event "$TMPD/observer.jsonl" "$id" REMOVED | cut -d' ' -f6-)
  grep -q "lease expired" <<<"$err" || fail "REMOVED event's error does not mention the lease: $err"
  note "runner $id: error $err"
}

# ---- 1. a Watch with parent_id holds the lease (opened first, as a FLAME
# parent does: it is watching when it boots)
bgctl --json watch -p "$RUN" --parent "$P" >"$TMPD/parent.jsonl" 2>"$TMPD/parent.err"
PW=$BG_PID
A=$(boot_json --parent "$P" --lease-ttl "$TTL" | json 'j["id"]')
sleep 3 # 2 x TTL
[ "$(ls_json | json "[r['lease_ttl_ms'] for r in j if r['id'] == '$A'][0]")" = "$TTL" ] ||
  fail "List does not report lease_ttl_ms $TTL for $A"
[ "$(runner_state "$A")" = RUNNING ] || fail "runner $A is $(runner_state "$A") while its parent watches"
note "runner $A still RUNNING after 3 s with its parent's Watch open"
kill_ms=$(now_ms)
kill -TERM "$PW" # flamectl ends the Watch (cancels the call) on SIGTERM
wait "$PW" 2>/dev/null
close_ms=$(now_ms)
retired_within "$A" "$kill_ms" "$close_ms" "$TTL"

# ---- 2. Renew holds the lease: a renewer loop (started before the Boot)
# ---- 3. meanwhile another parent's Watch (P) is open: it must not hold Q's lease
bgctl --json watch -p "$RUN" --parent "$P" >"$TMPD/parent2.jsonl" 2>&1
renewer() {
  local t0
  while [ ! -e "$TMPD/renew.stop" ]; do
    t0=$(now_ms)
    n=$(ctl renew "$Q") || n=ERR
    echo "$(now_ms) $n $t0" >>"$TMPD/renew.log"
    sleep 0.2
  done
}
bg renewer
RW=$BG_PID
B=$(boot_json --parent "$Q" --lease-ttl "$TTL_RENEW" | json 'j["id"]')
t_booted=$(now_ms)
sleep 4
[ "$(runner_state "$B")" = RUNNING ] || fail "runner $B is $(runner_state "$B") while renewed"
touch "$TMPD/renew.stop"
wait "$RW"
grep -q ERR "$TMPD/renew.log" && fail "a Renew failed: $(grep ERR "$TMPD/renew.log" | head -1)"
renewed=$(awk -v t="$t_booted" '$1 > t && $2 == 1' "$TMPD/renew.log" | wc -l)
[ "$renewed" -ge 3 ] || fail "expected Renew to answer 1 at least 4 times after the Boot: $(cat "$TMPD/renew.log")"
last_renew=$(tail -n 1 "$TMPD/renew.log" | awk '{print $1}')
last_renew_start=$(tail -n 1 "$TMPD/renew.log" | awk '{print $3}')
note "runner $B still RUNNING after 4 s of Renew (TTL $TTL_RENEW ms; $renewed renews answered 1)"
retired_within "$B" "$last_renew_start" "$last_renew" "$TTL_RENEW"
[ "$(ctl renew "$Q")" = 0 ] || fail "renew after retirement should renew 0"
ctl renew "" >/dev/null 2>&1 && fail "renew with an empty parent_id must fail"

flamed_stop
pass
