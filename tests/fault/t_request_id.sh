#!/usr/bin/env bash
# t_request_id.sh - Boot is idempotent by request_id, also across restarts.
#
# 1. 5 concurrent Boots with one request_id: one container; all 5 answers
#    carry the same runner id (and request_id).
# 2. flamed restarted (SIGTERM), then at once a Boot with that request_id:
#    the same runner, still one container. Some other runners exist too, so
#    that adopting them takes a moment (a Boot racing the adoption must not
#    make a second container).
# 3. The same after kill -9 and an immediate restart.
# 4. A different request_id makes a different runner.
#
# Environment: FLT_REQID_EXTRA (6) runners booted besides, to be adopted.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
flt_require

RID=req-$RUN
EXTRA=${FLT_REQID_EXTRA:-6}
flt_network_create
flamed_start

count_rid() { "${FLT_DOCKER[@]}" ps -aq --filter "label=flamed.request-id=$RID" | wc -l; }

# ---- 1. concurrent duplicates
pids=()
for i in 1 2 3 4 5; do
  ctl --json boot -i "$FLT_IMAGE" --network "$RUN" -p "$RUN" -l "fltest.run=$RUN" \
    --request-id "$RID" --boot-timeout 60000 -- "${FLT_CMD[@]}" >"$TMPD/b$i.json" 2>"$TMPD/b$i.err" &
  pids+=($!)
  FLT_PIDS+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a concurrent Boot failed: $(cat "$TMPD"/b*.err)"; done
ids=$(for i in 1 2 3 4 5; do json 'j["id"] + " " + j["request_id"] + " " + j["state"]' <"$TMPD/b$i.json"; done | sort -u)
[ "$(wc -l <<<"$ids")" = 1 ] || fail "5 Boots with one request_id answered different runners: $ids"
ID=$(cut -d' ' -f1 <<<"$ids")
[ "$(cut -d' ' -f2 <<<"$ids")" = "$RID" ] || fail "runner's request_id is not $RID: $ids"
[ "$(cut -d' ' -f3 <<<"$ids")" = RUNNING ] || fail "runner is not RUNNING: $ids"
[ "$(count_rid)" = 1 ] || fail "$(count_rid) containers for request_id $RID, expected 1"
note "5 concurrent Boots -> runner $ID, 1 container"

# Other runners, to be adopted along with it.
for i in $(seq 1 "$EXTRA"); do
  ctl boot -i "$FLT_IMAGE" --network "$RUN" -p "$RUN" -l "fltest.run=$RUN" --boot-timeout 60000 \
    -- "${FLT_CMD[@]}" >/dev/null 2>&1 &
  FLT_PIDS+=($!)
done
wait_until 120 docker_count_ge $((EXTRA + 1)) || fail "extra runners did not boot"
sleep 1

# again_after HOW: restart flamed (stop HOW), Boot with RID at once.
again_after() {
  if [ "$1" = kill9 ]; then flamed_kill9; else flamed_stop; fi
  flamed_start
  local t0 out id
  t0=$(now_ms)
  out=$(ctl --json boot -i "$FLT_IMAGE" --network "$RUN" -p "$RUN" -l "fltest.run=$RUN" \
    --request-id "$RID" --boot-timeout 60000 -- "${FLT_CMD[@]}") || fail "Boot with $RID after a restart ($1) failed"
  id=$(json 'j["id"]' <<<"$out")
  [ "$id" = "$ID" ] || fail "after a restart ($1), Boot with request_id $RID made runner $id, not $ID ($(count_rid) containers)"
  [ "$(count_rid)" = 1 ] || fail "after a restart ($1): $(count_rid) containers for request_id $RID"
  note "restart ($1): Boot with $RID answered the same runner $ID in $(($(now_ms) - t0)) ms; 1 container"
}

# ---- 2, 3
again_after sigterm
again_after kill9

# ---- 4. another request_id: another runner
other=$(boot_json --request-id "other-$RID" | json 'j["id"]')
[ "$other" != "$ID" ] || fail "a different request_id answered the same runner"

# Shutdown, then a Boot with the same request_id: the key belonged to a runner
# that is gone; flamed answers that (REMOVED) runner, not a new one.
ctl shutdown -t 2000 "$ID" >/dev/null || fail "shutdown $ID"
out=$(ctl --json boot -i "$FLT_IMAGE" --network "$RUN" -p "$RUN" -l "fltest.run=$RUN" \
  --request-id "$RID" --boot-timeout 60000 -- "${FLT_CMD[@]}") || fail "Boot with $RID after its Shutdown failed"
note "Boot with $RID after its runner's Shutdown: $(json 'j["id"] + " " + j["state"]' <<<"$out")"
[ "$(json 'j["id"]' <<<"$out")" = "$ID" ] || fail "Boot with a used request_id after Shutdown made a new runner"
flamed_stop
pass
