#!/usr/bin/env bash
# t_swarm.sh - flamed --engine swarm against a single-node swarm on this
# test's own private dockerd (never the machine's: other tests run there).
#
# `docker swarm init` on the private dockerd (advertised on its private
# bridge, its own docker_gwbridge bridge name, overlay subnets and VXLAN
# port), an attachable overlay network, then flamed --engine swarm:
#   a bad --engine value: exit 64 naming the flag and the accepted values;
#   Boot: RUNNING; its container_id is a service with one replica,
#     RestartPolicy none, endpoint mode dnsrr, the runner's name as service name
#     and hostname, the runner's labels on the service and its container; the
#     task's container runs;
#   Spawn `echo` in it (exec in the task's container);
#   List shows it RUNNING;
#   a second runner on the overlay resolves the first by name (Spawn nslookup);
#   a restarted flamed adopts both (List RUNNING, Spawn works);
#   --swarm-nodes: a bad file (exit 64); the node mapped to its engine (Spawn,
#     Logs through the map); mapped to an address where nothing answers:
#     Spawn is FAILED_PRECONDITION (RUNNER_NODE_UNREACHABLE) naming the node
#     and the flag; not named: the --docker-host node as before;
#   Shutdown: the service is gone, and its container;
#   Boot of a missing image: fails with the swarm's task error, no service left;
#   pull_policy NEVER: INVALID_ARGUMENT, nothing made;
#   a drained node: its runner EXITED, then REMOVED and its service gone;
#   placement: PERMISSION_DENIED without allow.placement; with it, a
#     constraint no node satisfies fails Boot within its deadline with the
#     swarm's "no suitable node", one the node satisfies runs, and the
#     service's TaskTemplate.Placement holds what was asked (canonical form);
#   Boot p50 through flamed against `docker service create` of the same spec.
# The swarm is left and every service, network and bridge removed, even on failure.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ---- a bad --engine value (no Docker needed)
rc=0
"$FLAMED_BIN" --engine kubernetes --listen "$ADDR" >/dev/null 2>"$TMPD/badengine.err" || rc=$?
[ "$rc" -eq 64 ] || fail "--engine kubernetes: expected exit 64, got $rc"
grep -q -- "--engine" "$TMPD/badengine.err" && grep -q "docker or swarm" "$TMPD/badengine.err" ||
  fail "--engine kubernetes: the message does not name the flag and its values: $(cat "$TMPD/badengine.err")"

FLT_PRIV_LIVE_RESTORE=0 # swarm mode refuses --live-restore
flt_require own

# ---- a single-node swarm on the private dockerd
flt_swarm_init
flt_network_create -d overlay --attachable

flamed_start --engine swarm
grep -q "msg=engine_swarm" "$FLAMED_LOG" || fail "flamed did not log engine_swarm at start"

svc_json() { "${FLT_DOCKER[@]}" service inspect "$1" 2>/dev/null | json 'j[0]'; }
svc_count() { "${FLT_DOCKER[@]}" service ls -q --filter "label=fltest.run=$RUN" | sed '/^$/d' | wc -l; }

# ---- Boot
B=$(boot_json)
R=$(printf '%s' "$B" | json 'j["id"]')
NAME=$(printf '%s' "$B" | json 'j["name"]')
SID=$(printf '%s' "$B" | json 'j.get("container_id", "")')
[ "$(printf '%s' "$B" | json 'j["state"]')" = RUNNING ] || fail "Boot did not answer RUNNING: $B"
[ -n "$SID" ] || fail "Boot answered no container_id: $B"
S=$(svc_json "$SID")
[ -n "$S" ] || fail "no service $SID after Boot"
chk() { [ "$(printf '%s' "$S" | json "$1")" = "$2" ] || fail "service $SID: $1 is $(printf '%s' "$S" | json "$1"), expected $2"; }
chk 'j["Spec"]["Mode"]["Replicated"]["Replicas"]' 1
chk 'j["Spec"]["TaskTemplate"]["RestartPolicy"]["Condition"]' none
chk 'j["Spec"]["EndpointSpec"]["Mode"]' dnsrr
chk 'j["Spec"]["Name"]' "$NAME"
chk 'j["Spec"]["TaskTemplate"]["ContainerSpec"]["Hostname"]' "$NAME"
chk 'j["Spec"]["Labels"]["fltest.run"]' "$RUN"
chk 'j["Spec"]["TaskTemplate"]["ContainerSpec"]["Labels"]["fltest.run"]' "$RUN"
chk 'j["Spec"]["TaskTemplate"]["ContainerSpec"]["Labels"]["flamed.runner-id"]' "$R"
chk 'j["Spec"]["TaskTemplate"]["Networks"][0]["Target"] != ""' True
CID=$("${FLT_DOCKER[@]}" ps -q --no-trunc --filter "label=com.docker.swarm.service.id=$SID")
[ -n "$CID" ] || fail "the task's container of service $SID does not run"
[ "$("${FLT_DOCKER[@]}" inspect -f '{{.Config.Hostname}}' "$CID")" = "$NAME" ] ||
  fail "the task's container's hostname is not $NAME"
note "Boot: runner $R is service $SID (one replica, restart none, dnsrr), container ${CID:0:12}"

# ---- Spawn
out=$(ctl spawn "$R" -- echo hello-from-swarm) || fail "Spawn in $R failed: $out"
[ "$out" = hello-from-swarm ] || fail "Spawn in $R printed '$out'"

# ---- List
[ "$(runner_state "$R")" = RUNNING ] || fail "List does not show $R RUNNING: $(ls_json)"

# ---- another runner on the overlay resolves it by name
R2=$(boot_json | json 'j["id"]')
out=$(ctl spawn "$R2" -- nslookup "$NAME" 2>&1) || fail "runner $R2 could not resolve $NAME: $out"
printf '%s' "$out" | grep -A3 "Name:" | grep -q "Address" || fail "nslookup $NAME in $R2 gave no address: $out"
note "runner $R2 resolves $NAME on the overlay"

# ---- adoption: a restarted flamed lists both runners from their services' labels
flamed_stop
flamed_start --engine swarm
for id in "$R" "$R2"; do
  [ "$(runner_state "$id")" = RUNNING ] || fail "after a restart, List does not show $id RUNNING: $(ls_json)"
done
out=$(ctl spawn "$R" -- echo after-restart) || fail "Spawn in $R after a restart failed: $out"
[ "$out" = after-restart ] || fail "Spawn in $R after a restart printed '$out'"
note "a restarted flamed adopted $R and $R2"

# ---- --swarm-nodes: the map is used before --docker-host for a node it names
NODE_ID=$("${FLT_DOCKER[@]}" node ls -q | head -n 1)
NODE_HOST=$("${FLT_DOCKER[@]}" node inspect -f '{{.Description.Hostname}}' "$NODE_ID")
rc=0
printf '{"nodes": {"%s": {"host": "%s", "port": 1}}}\n' "$NODE_ID" "$FLT_DOCKER_HOST" >"$TMPD/nodes-bad.json"
"$FLAMED_BIN" --engine swarm --swarm-nodes "$TMPD/nodes-bad.json" --listen "$ADDR" >/dev/null 2>"$TMPD/nodes-bad.err" || rc=$?
[ "$rc" -eq 64 ] && grep -q "unknown key 'port'" "$TMPD/nodes-bad.err" ||
  fail "a --swarm-nodes file with an unknown key: expected exit 64 naming it, got $rc: $(cat "$TMPD/nodes-bad.err")"
# mapped by ID to its own engine: Spawn goes through the map
printf '{"nodes": {"%s": {"host": "%s"}}}\n' "$NODE_ID" "$FLT_DOCKER_HOST" >"$TMPD/nodes-ok.json"
flamed_stop
flamed_start --engine swarm --swarm-nodes "$TMPD/nodes-ok.json"
out=$(ctl spawn "$R" -- echo via-the-map) || fail "Spawn in $R through --swarm-nodes failed: $out"
[ "$out" = via-the-map ] || fail "Spawn in $R through --swarm-nodes printed '$out'"
ctl logs "$R" >/dev/null 2>"$TMPD/logs-map.err" || fail "Logs of $R through --swarm-nodes: $(cat "$TMPD/logs-map.err")"
# mapped by hostname to an address where no engine answers: FAILED_PRECONDITION naming the node and the flag
printf '{"nodes": {"%s": {"host": "tcp://127.0.0.1:1", "insecure": true}}}\n' "$NODE_HOST" >"$TMPD/nodes-away.json"
flamed_stop
flamed_start --engine swarm --swarm-nodes "$TMPD/nodes-away.json"
rc=0
ctl spawn "$R" -- echo x >/dev/null 2>"$TMPD/away.err" || rc=$?
[ "$rc" -ne 0 ] && grep -q "FAILED_PRECONDITION" "$TMPD/away.err" && grep -q "RUNNER_NODE_UNREACHABLE" "$TMPD/away.err" &&
  grep -q -- "--swarm-nodes" "$TMPD/away.err" && grep -q "$NODE_ID" "$TMPD/away.err" ||
  fail "Spawn on a node whose mapped engine does not answer: $(cat "$TMPD/away.err")"
note "unreachable node: $(head -c 400 "$TMPD/away.err")"
# a map that does not name the task's node: it runs on the node --docker-host reaches, used as before
printf '{"nodes": {"no-such-node": {"host": "tcp://127.0.0.1:1", "insecure": true}}}\n' >"$TMPD/nodes-other.json"
flamed_stop
flamed_start --engine swarm --swarm-nodes "$TMPD/nodes-other.json"
out=$(ctl spawn "$R" -- echo not-in-the-map) || fail "Spawn in $R on the --docker-host node, not in the map: $out"
[ "$out" = not-in-the-map ] || fail "Spawn in $R (not in the map) printed '$out'"
flamed_stop
flamed_start --engine swarm

# ---- Shutdown
ctl shutdown --timeout 1000 "$R" >/dev/null 2>"$TMPD/shutdown.err" || fail "Shutdown $R: $(cat "$TMPD/shutdown.err")"
"${FLT_DOCKER[@]}" service inspect "$SID" >/dev/null 2>&1 && fail "service $SID is still there after Shutdown"
ctr_gone() { [ -z "$("${FLT_DOCKER[@]}" ps -aq --filter "label=com.docker.swarm.service.id=$SID")" ]; }
wait_until 30 ctr_gone || fail "the task's container of $SID is still there 30 s after Shutdown"
wait_until 10 eval '[ "$(runner_state "$R")" = GONE ]' || fail "$R still listed after Shutdown: $(ls_json)"
ctl shutdown --timeout 1000 "$R2" >/dev/null 2>&1 || fail "Shutdown $R2"

# ---- a missing image: the task's error, and no service left
rc=0
ctl boot -i fltest-none/no-such-image:v0 --network "$RUN" -p "$RUN" -l "fltest.run=$RUN" --boot-timeout 60000 \
  -- sleep 1 >/dev/null 2>"$TMPD/noimage.err" || rc=$?
[ "$rc" -ne 0 ] || fail "Boot of a missing image succeeded"
grep -qi "no such image" "$TMPD/noimage.err" || fail "Boot of a missing image: the task's error is not in the answer: $(cat "$TMPD/noimage.err")"
no_svc() { [ "$(svc_count)" -eq 0 ]; }
wait_until 10 no_svc || fail "a service is left after the failed Boot: $("${FLT_DOCKER[@]}" service ls)"
note "missing image: $(head -c 300 "$TMPD/noimage.err")"

# ---- pull_policy NEVER cannot be honoured (the node pulls by itself): refused before anything is made
rc=0
ctl boot -i "$FLT_IMAGE" --network "$RUN" -p "$RUN" -l "fltest.run=$RUN" --pull never \
  -- "${FLT_CMD[@]}" >/dev/null 2>"$TMPD/never.err" || rc=$?
[ "$rc" -ne 0 ] && grep -q "INVALID_ARGUMENT" "$TMPD/never.err" && grep -q "pull_policy NEVER" "$TMPD/never.err" ||
  fail "pull_policy NEVER on swarm: $(cat "$TMPD/never.err")"
[ "$(svc_count)" -eq 0 ] || fail "a service was made for a pull_policy NEVER Boot"

# ---- a drained node: the swarm shuts the runner's task down; Watch sees it
# EXITED, then REMOVED (its service removed), and List drops it. (The task
# poll tells the swarm's reason, "... is drained", when it sees the end
# before this node's die event; on one node the event usually wins.)
bgctl --json watch -p "$RUN" >"$TMPD/drain.jsonl" 2>"$TMPD/drain.err"
B3=$(boot_json)
R3=$(printf '%s' "$B3" | json 'j["id"]')
SID3=$(printf '%s' "$B3" | json 'j["container_id"]')
NODE=$("${FLT_DOCKER[@]}" node ls -q)
"${FLT_DOCKER[@]}" node update --availability drain "$NODE" >/dev/null || fail "docker node update --availability drain"
undrain() { "${FLT_DOCKER[@]}" node update --availability active "$NODE" >/dev/null; }
wait_until 60 watch_has "$TMPD/drain.jsonl" "$R3" REMOVED || { undrain; fail "no REMOVED for $R3 within 60 s of the drain: $(watch_lines "$TMPD/drain.jsonl")"; }
undrain || fail "docker node update --availability active"
watch_has "$TMPD/drain.jsonl" "$R3" EXITED || fail "no EXITED for $R3 after the drain: $(watch_lines "$TMPD/drain.jsonl")"
"${FLT_DOCKER[@]}" service inspect "$SID3" >/dev/null 2>&1 && fail "service $SID3 is still there after its runner was reaped"
wait_until 10 eval '[ "$(runner_state "$R3")" = GONE ]' || fail "$R3 still listed after the drain: $(ls_json)"
note "drain: $R3 EXITED then REMOVED ($(watch_event "$TMPD/drain.jsonl" "$R3" EXITED | cut -d' ' -f6-))"

# ---- placement: denied without the policy's allow.placement; with it, a
# constraint no node satisfies fails Boot within its deadline with the
# swarm's reason (no service left), and one the node satisfies runs, its
# constraints and preferences in the service's TaskTemplate.Placement
rc=0
ctl boot -i "$FLT_IMAGE" --network "$RUN" -p "$RUN" -l "fltest.run=$RUN" --constraint node.role==manager \
  -- "${FLT_CMD[@]}" >/dev/null 2>"$TMPD/pl-denied.err" || rc=$?
[ "$rc" -ne 0 ] && grep -q "PERMISSION_DENIED" "$TMPD/pl-denied.err" && grep -q "allow.placement" "$TMPD/pl-denied.err" ||
  fail "a placement without allow.placement: $(cat "$TMPD/pl-denied.err")"
printf '{"allow": {"placement": true}}\n' >"$TMPD/policy-placement.json"
flamed_stop
flamed_start --engine swarm --policy "$TMPD/policy-placement.json"
rc=0
t0=$(now_ms)
ctl boot -i "$FLT_IMAGE" --network "$RUN" -p "$RUN" -l "fltest.run=$RUN" --boot-timeout 5000 \
  --constraint "node.labels.fltest-zone==nowhere" -- "${FLT_CMD[@]}" >/dev/null 2>"$TMPD/pl-none.err" || rc=$?
ms=$(($(now_ms) - t0))
[ "$rc" -ne 0 ] && grep -q "no suitable node" "$TMPD/pl-none.err" ||
  fail "a constraint no node satisfies: expected the swarm's reason, got rc $rc: $(cat "$TMPD/pl-none.err")"
[ "$ms" -lt 20000 ] || fail "a constraint no node satisfies took $ms ms to fail (boot timeout 5000)"
wait_until 10 no_svc || fail "a service is left after the unplaceable Boot: $("${FLT_DOCKER[@]}" service ls)"
note "unplaceable: failed after $ms ms: $(head -c 300 "$TMPD/pl-none.err")"
"${FLT_DOCKER[@]}" node update --label-add fltest-zone=here "$NODE_ID" >/dev/null || fail "docker node update --label-add"
B4=$(boot_json --constraint "node.labels.fltest-zone==here" --constraint " node.role != worker " \
  --placement-pref spread=node.labels.fltest-zone)
R4=$(printf '%s' "$B4" | json 'j["id"]')
S=$(svc_json "$(printf '%s' "$B4" | json 'j["container_id"]')")
chk 'j["Spec"]["TaskTemplate"]["Placement"]["Constraints"]' '["node.labels.fltest-zone==here", "node.role!=worker"]'
chk 'j["Spec"]["TaskTemplate"]["Placement"]["Preferences"][0]["Spread"]["SpreadDescriptor"]' node.labels.fltest-zone
ctl shutdown --timeout 1000 "$R4" >/dev/null 2>&1 || fail "Shutdown $R4"
note "placement: $R4 ran on the node labelled fltest-zone=here"
flamed_stop
flamed_start --engine swarm

# ---- figures: Boot p50 through flamed vs docker service create of the same spec
N=${FLT_SWARM_N:-5}
p50() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
task_running() { "${FLT_DOCKER[@]}" service ps --format '{{.CurrentState}}' "$1" 2>/dev/null | grep -q '^Running'; }
# Interleaved, so that load on the machine weighs on both alike.
for i in $(seq 1 "$N"); do
  t0=$(now_ms)
  id=$(boot_json | json 'j["id"]')
  echo $(($(now_ms) - t0)) >>"$TMPD/flamed.ms"
  ctl shutdown --timeout 1000 "$id" >/dev/null 2>&1 || fail "Shutdown $id"
  n=fltest-cli-$$-$i
  t0=$(now_ms)
  "${FLT_DOCKER[@]}" service create -d -q --name "$n" --hostname "$n" --restart-condition none \
    --endpoint-mode dnsrr --network "$RUN" --label "fltest.run=$RUN" --container-label "fltest.run=$RUN" \
    "$FLT_IMAGE" "${FLT_CMD[@]}" >/dev/null 2>&1 || fail "docker service create $n"
  wait_until 60 task_running "$n" || fail "docker service $n did not run"
  echo $(($(now_ms) - t0)) >>"$TMPD/cli.ms"
  "${FLT_DOCKER[@]}" service rm "$n" >/dev/null
done
note "FIGURES Boot p50 over $N (ms: $(tr "\n" " " <"$TMPD/flamed.ms")/ $(tr "\n" " " <"$TMPD/cli.ms")): flamed --engine swarm $(p50 <"$TMPD/flamed.ms") ms; docker service create -d + poll until Running $(p50 <"$TMPD/cli.ms") ms"

flamed_stop
pass
