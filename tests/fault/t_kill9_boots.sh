#!/usr/bin/env bash
# t_kill9_boots.sh - kill -9 flamed during 20 concurrent Boots, restart it at
# once on the same socket: after things settle there are 0 orphans. Every
# container of this test labelled flamed.managed-by=flamed is either adopted
# (List shows it, by container id) or removed; none is left unlisted.
#
# Several rounds, each killing flamed at a different point of the Boots (at
# Docker's first container create event, at the 10th, at the 10th start), with the
# runners adopted in earlier rounds re-adopted by every restart. Then every
# listed runner is shut down and Docker must hold none of this test's
# containers.
#
# Environment: FLT_KILL9_BOOTS (20), FLT_KILL9_ROUNDS (3).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
flt_require

N=${FLT_KILL9_BOOTS:-20}
ROUNDS=${FLT_KILL9_ROUNDS:-3}
SETTLE_S=90

flt_network_create
flamed_start

# Docker container ids of this run not in List (should become empty).
unlisted() {
  local listed
  listed=$(ls_json | json '"\n".join(sorted(r["container_id"] for r in j if r["container_id"]))')
  comm -23 <(flt_docker_ids) <(printf '%s\n' "$listed" | sed '/^$/d' | sort)
}

# Settled: nothing unlisted, nothing BOOTING, and every listed runner's
# container exists.
settled() {
  local js
  js=$(ls_json)
  [ -z "$(unlisted)" ] || return 1
  [ "$(printf '%s' "$js" | json 'sum(1 for r in j if r["state"] == "BOOTING")')" = 0 ] || return 1
  local ids
  ids=$(flt_docker_ids)
  printf '%s' "$js" | python3 -c '
import json, sys
ids = set(sys.argv[1].split())
j = json.load(sys.stdin)
sys.exit(0 if all(r["container_id"] in ids for r in j if r["container_id"]) else 1)' "$ids"
}


total_adopted=0
for round in $(seq 1 "$ROUNDS"); do
  before=$(docker_count)
  # Kill on Docker's own events (pushed, so the kill lands where intended):
  # round 1 at the first container created, round 2 at the 10th, round 3 at
  # the 10th started.
  case $round in
    1) kill_on=create kill_n=1 ;;
    2) kill_on=create kill_n=$((N / 2)) ;;
    *) kill_on=start kill_n=$((N / 2)) ;;
  esac
  evf=$TMPD/events.$round
  "${FLT_DOCKER[@]}" events --filter "label=fltest.run=$RUN" --filter event=create \
    --filter event=start --format '{{.Action}}' >"$evf" 2>/dev/null &
  evpid=$!
  FLT_PIDS+=($evpid)
  sleep 1 # the events stream is open
  pids=()
  for i in $(seq 1 "$N"); do
    ctl --json boot -i "$FLT_IMAGE" --network "$RUN" -p "$RUN" -l "fltest.run=$RUN" \
      -l "fltest.round=$round" --boot-timeout 120000 -- "${FLT_CMD[@]}" \
      >"$TMPD/boot.$round.$i.out" 2>"$TMPD/boot.$round.$i.err" &
    pids+=($!)
    FLT_PIDS+=($!)
  done
  # Kill when the round's event count is reached (or after 120 s).
  seen() { [ "$(grep -c "^$kill_on" "$evf")" -ge "$kill_n" ]; }
  t_boots=$(now_ms)
  while ! seen && [ $(($(now_ms) - t_boots)) -lt 120000 ]; do sleep 0.02; done
  seen || note "round $round: only $(grep -c "^$kill_on" "$evf") $kill_on events within 120 s"
  flamed_kill9
  kill "$evpid" 2>/dev/null
  flt_docker_ids >"$TMPD/ids.kill.$round"
  at_kill="$(grep -c '^create' "$evf") created, $(grep -c '^start' "$evf") started"
  t_kill=$(now_ms)
  flamed_start # at once, as a supervisor would
  note "round $round: killed flamed at the ${kill_n}th $kill_on ($at_kill of $N); restarted, serving after $(( $(now_ms) - t_kill )) ms"
  ok=0
  for p in "${pids[@]}"; do
    wait "$p" && ok=$((ok + 1))
  done
  note "round $round: $ok/$N Boots answered OK before the kill"
  if ! wait_until "$SETTLE_S" settled; then
    note "unlisted containers:"
    for c in $(unlisted); do
      "${FLT_DOCKER[@]}" inspect -f '{{.Id}} {{.State.Status}} {{.Created}} {{index .Config.Labels "flamed.runner-id"}}' "$c"
    done
    fail "round $round: not settled within ${SETTLE_S} s (orphans: containers labelled by flamed that List does not show)"
  fi
  listed=$(ls_json | json 'len(j)')
  states=$(ls_json | json '" ".join("%s=%d" % (s, sum(1 for r in j if r["state"] == s)) for s in sorted(set(r["state"] for r in j)))')
  now=$(docker_count)
  removed=$(comm -23 "$TMPD/ids.kill.$round" <(flt_docker_ids) | wc -l)
  note "round $round: settled: Docker holds $now containers of this test, List shows $listed ($states), 0 unlisted; $removed removed by flamed since the kill"
  # Every Boot that answered OK must be a listed runner (never lost).
  for i in $(seq 1 "$N"); do
    f=$TMPD/boot.$round.$i.out
    [ -s "$f" ] || continue
    id=$(json 'j["id"]' <"$f")
    ls_json | json "any(r['id'] == '$id' for r in j)" | grep -q True ||
      fail "round $round: runner $id (Boot answered OK) is not listed after the restart"
  done
  total_adopted=$listed
done

# Shut every listed runner down: nothing of this test may remain in Docker.
for id in $(ls_json | json '" ".join(r["id"] for r in j)'); do
  ctl shutdown -t 2000 "$id" >/dev/null || fail "shutdown of adopted runner $id failed"
done
wait_until 30 docker_count_eq 0 || fail "$(docker_count) containers left after shutting every listed runner down"
note "$total_adopted adopted runners shut down; 0 containers left"
flamed_stop
pass
