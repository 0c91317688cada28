#!/usr/bin/env bash
# t_kill9_boots.sh - kill -9 flamed during 20 concurrent Boots, restart it at
# once on the same socket: after things settle there are 0 orphans. Every
# container of this test labelled flamed.managed-by=flamed is either adopted
# (List shows it, by container id) or removed; none is left unlisted.
#
# Several rounds, each killing flamed at a different point of the Boots (after
# the first container exists, after half of them do, after all do), with the
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
  case $round in
    1) target=$((before + 1)) ;;
    2) target=$((before + N / 2)) ;;
    *) target=$((before + N)) ;;
  esac
  pids=()
  for i in $(seq 1 "$N"); do
    ctl --json boot -i "$FLT_IMAGE" --network "$RUN" -p "$RUN" -l "fltest.run=$RUN" \
      -l "fltest.round=$round" --boot-timeout 120000 -- "${FLT_CMD[@]}" \
      >"$TMPD/boot.$round.$i.out" 2>"$TMPD/boot.$round.$i.err" &
    pids+=($!)
    FLT_PIDS+=($!)
  done
  # Kill when the round's target number of containers exists (or after 60 s).
  wait_until 60 docker_count_ge "$target" || note "round $round: target $target not reached"
  at_kill=$(( $(docker_count) - before ))
  flamed_kill9
  t_kill=$(now_ms)
  flamed_start # at once, as a supervisor would
  note "round $round: killed flamed with $at_kill/$N new containers created; restarted, serving after $(( $(now_ms) - t_kill )) ms"
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
  now=$(docker_count)
  note "round $round: settled: Docker holds $now containers of this test, List shows $listed runners, 0 unlisted"
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
