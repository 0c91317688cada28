# tests/fault/lib.sh - shared helpers of the fault tests (sourced by each t_*.sh).
#
# Every test gets a unique tag RUN=fltest-f<name>-<pid>-<hex>: it names the
# Docker network and the pool, and every runner carries the label
# fltest.run=$RUN. On exit (pass, fail or interrupt) the EXIT trap kills the
# processes the test started (by pid), removes every container labelled
# fltest.run=$RUN and the network, and tears down a private dockerd if the test
# started one. A test fails by calling `fail MSG` (exit 1); it ends with `pass`.
#
# Environment:
#   FLAMED_BIN, FLAMECTL_BIN  binaries (default: $FLTEST_BUILD_DIR/flamed, .../flamectl)
#   FLTEST_BUILD_DIR          build tree (default: <repo>/build)
#   FLTEST_KEEP_LOGS=1        keep $TMPD (logs) even when the test passes
#   FLTEST_VERBOSE=1          trace each command (set -x)
#
#   FLTEST_OWN_DOCKERD        1 (default): run against a private dockerd (below); 0: the machine's
#   FLTEST_DOCKER_HOST        unix:///... of a dockerd to use (tests/fault/run shares one)
#
# Docker: by default every test runs against a private dockerd it starts (or
# the one tests/fault/run shares), never the machine's: flamed adopts every
# container labelled flamed.managed-by=flamed on its daemon, so a flamed of a
# test would adopt (and reap, and retire on lease expiry) the runners of any
# other flamed on the same daemon, and be disturbed by them. t_dockerd_restart.sh
# restarts its dockerd and so always starts its own.

set -uo pipefail
[ "${FLTEST_VERBOSE:-0}" = 1 ] && set -x

FLT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
FLT_BUILD=${FLTEST_BUILD_DIR:-$FLT_ROOT/build}
FLAMED_BIN=${FLAMED_BIN:-$FLT_BUILD/flamed}
FLAMECTL_BIN=${FLAMECTL_BIN:-$FLT_BUILD/flamectl}
FLT_IMAGE=${FLT_IMAGE:-flamed-test/app:latest}
# The runner command: sleeps, exits 0 at once on SIGTERM (quick Shutdown).
FLT_CMD=(sh -c "trap 'exit 0' TERM; sleep 3600 & wait")

FLT_NAME=$(basename "${0%.sh}")
FLT_NAME=${FLT_NAME#t_}
RUN=fltest-f${FLT_NAME//_/}-$$-$(od -An -N2 -tx2 /dev/urandom | tr -d ' ')
RUN=${RUN:0:48}
TMPD=/tmp/$RUN
mkdir -p "$TMPD"
SOCK=$TMPD/flamed.sock
ADDR=unix:$SOCK
FLAMED_LOG=$TMPD/flamed.log
FLAMED_PID=
FLT_PIDS=()          # background processes to kill on exit
FLT_DOCKER=(docker)  # docker CLI, pointed at the private dockerd when one runs
FLT_DOCKER_HOST=     # unix:///... of the private dockerd, "" for the machine's
FLT_PRIV=            # private dockerd state (see flt_private_dockerd_start)
FLT_PRIV_EXTRA=()    # more dockerd arguments for a test's own private dockerd (e.g. TLS listeners)
FLT_PRIV_LIVE_RESTORE=1 # 0: the private dockerd runs without --live-restore (swarm mode refuses it)
FLT_SWARM=           # 1 while the private dockerd is in swarm mode (flt_swarm_init)
FLT_GWBR=            # the Linux bridge of that swarm's docker_gwbridge
FLT_FAILED=0
FLT_T0=$(date +%s%N)

# ------------------------------------------------------------ output

note() { printf '[%s %6.2fs] %s\n' "$FLT_NAME" "$(flt_elapsed)" "$*"; }
flt_elapsed() { awk -v a="$(date +%s%N)" -v b="$FLT_T0" 'BEGIN { printf "%.2f", (a - b) / 1e9 }'; }

fail() {
  FLT_FAILED=1
  printf '[%s] FAIL: %s\n' "$FLT_NAME" "$*" >&2
  if [ -n "$FLAMED_LOG" ] && [ -s "$FLAMED_LOG" ]; then
    printf -- '----- last 60 lines of flamed log %s -----\n' "$FLAMED_LOG" >&2
    tail -n 60 "$FLAMED_LOG" >&2
    printf -- '----- end of flamed log -----\n' >&2
  fi
  exit 1
}

pass() {
  note "PASS"
  exit 0
}

# ------------------------------------------------------------ cleanup

flt_cleanup() {
  local rc=$?
  set +e
  for p in "${FLT_PIDS[@]}"; do
    kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  if [ -n "$FLAMED_PID" ]; then
    kill -TERM "$FLAMED_PID" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$FLAMED_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$FLAMED_PID" 2>/dev/null
    wait "$FLAMED_PID" 2>/dev/null
  fi
  flt_swarm_cleanup
  flt_remove_containers
  "${FLT_DOCKER[@]}" network rm "$RUN" >/dev/null 2>&1
  local left
  left=$("${FLT_DOCKER[@]}" ps -aq --filter "label=fltest.run=$RUN" 2>/dev/null | wc -l)
  if [ "$left" -ne 0 ]; then
    echo "[$FLT_NAME] cleanup: $left container(s) labelled fltest.run=$RUN left behind" >&2
    rc=1
  fi
  if [ -n "$FLT_PRIV" ] && ! flt_private_dockerd_teardown; then
    rc=1
  fi
  # tests/fault/run's own dir (the shared dockerd's log) goes quietly: its
  # summary line must stay the last one.
  if { [ "$rc" -eq 0 ] || [ "$FLT_NAME" = run ]; } && [ "${FLTEST_KEEP_LOGS:-0}" != 1 ]; then
    rm -rf "$TMPD"
  else
    echo "[$FLT_NAME] logs kept in $TMPD" >&2
  fi
  exit "$rc"
}
trap flt_cleanup EXIT
trap 'exit 130' INT TERM

flt_remove_containers() {
  local ids
  ids=$("${FLT_DOCKER[@]}" ps -aq --filter "label=fltest.run=$RUN" 2>/dev/null)
  [ -n "$ids" ] && "${FLT_DOCKER[@]}" rm -f $ids >/dev/null 2>&1
  return 0
}

# ------------------------------------------------------------ checks

# flt_require [own]: check the binaries and Docker, and choose the dockerd:
# "own" (or FLTEST_OWN_DOCKERD=1, the default, without FLTEST_DOCKER_HOST):
# start a private one for this test; FLTEST_DOCKER_HOST=unix:///...: use that
# one (tests/fault/run starts one shared by all tests); FLTEST_OWN_DOCKERD=0:
# the machine's.
flt_require() {
  [ -x "$FLAMED_BIN" ] || fail "no flamed at $FLAMED_BIN: build first or set FLAMED_BIN / FLTEST_BUILD_DIR"
  [ -x "$FLAMECTL_BIN" ] || fail "no flamectl at $FLAMECTL_BIN"
  command -v python3 >/dev/null || fail "python3 is needed (JSON)"
  docker version >/dev/null 2>&1 || fail "dockerd does not answer: start it with scripts/dockerd-up"
  docker image inspect "$FLT_IMAGE" >/dev/null 2>&1 ||
    fail "test image $FLT_IMAGE is missing: run scripts/test-images"
  if [ "${1:-}" = own ]; then
    flt_private_dockerd_start
  elif [ -n "${FLTEST_DOCKER_HOST:-}" ]; then
    FLT_DOCKER_HOST=$FLTEST_DOCKER_HOST
    FLT_DOCKER=(docker -H "$FLT_DOCKER_HOST")
    "${FLT_DOCKER[@]}" version >/dev/null 2>&1 || fail "FLTEST_DOCKER_HOST=$FLT_DOCKER_HOST does not answer"
  elif [ "${FLTEST_OWN_DOCKERD:-1}" != 0 ]; then
    flt_private_dockerd_start
  fi
}

# wait_until SECONDS CMD...: run CMD every 0.2 s until it succeeds; 1 on timeout.
# CMD's arguments are expanded once, by the caller: use a function to recompute.
wait_until() {
  local until=$(($(date +%s%N) + $1 * 1000000000))
  shift
  while :; do
    "$@" && return 0
    [ "$(date +%s%N)" -ge "$until" ] && return 1
    sleep 0.2
  done
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# ------------------------------------------------------------ docker

flt_network_create() {
  "${FLT_DOCKER[@]}" network create --label "fltest.run=$RUN" "$@" "$RUN" >/dev/null ||
    fail "docker network create $RUN"
}

# Container ids (full) labelled with this run, one per line, sorted.
flt_docker_ids() {
  "${FLT_DOCKER[@]}" ps -a --no-trunc --filter "label=fltest.run=$RUN" --format '{{.ID}}' | sort
}

# Number of this run's containers; predicates for wait_until (its arguments
# are expanded once: never pass it "$(...)").
docker_count() { flt_docker_ids | sed '/^$/d' | wc -l; }
docker_count_ge() { [ "$(docker_count)" -ge "$1" ]; }
docker_count_eq() { [ "$(docker_count)" -eq "$1" ]; }

# ------------------------------------------------------------ flamed

# flamed_start [EXTRA FLAMED ARGS...]: start flamed on $SOCK (log appended to
# $FLAMED_LOG), wait until List answers ($FLT_START_TIMEOUT s, default 120:
# flamed listens at once, and List waits until it has adopted its existing
# containers, which can take long while Docker is loaded).
flamed_start() {
  rm -f "$SOCK"
  local dh=()
  [ -n "$FLT_DOCKER_HOST" ] && dh=(--docker-host "$FLT_DOCKER_HOST")
  echo "=== flamed start $(date +%T.%N) ${dh[*]} $*" >>"$FLAMED_LOG"
  "$FLAMED_BIN" --listen "$ADDR" --log-level debug --stop-timeout-ms 1000 \
    --shutdown-grace-ms 2000 "${dh[@]}" "$@" </dev/null >>"$FLAMED_LOG" 2>&1 &
  FLAMED_PID=$!
  local t0
  t0=$(now_ms)
  wait_until "${FLT_START_TIMEOUT:-120}" ctl ls >/dev/null 2>&1 ||
    fail "flamed did not answer List within ${FLT_START_TIMEOUT:-120} s"
  FLAMED_START_MS=$(($(now_ms) - t0))
}

# flamed_stop: SIGTERM and wait (15 s); fails unless it exits 0.
flamed_stop() {
  [ -n "$FLAMED_PID" ] || return 0
  kill -TERM "$FLAMED_PID"
  local i rc
  for i in $(seq 1 150); do kill -0 "$FLAMED_PID" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$FLAMED_PID" 2>/dev/null; then
    kill -KILL "$FLAMED_PID"
    wait "$FLAMED_PID" 2>/dev/null
    FLAMED_PID=
    fail "flamed did not exit within 15 s of SIGTERM"
  fi
  wait "$FLAMED_PID"
  rc=$?
  FLAMED_PID=
  [ "$rc" -eq 0 ] || fail "flamed exited $rc after SIGTERM (see its log)"
}

flamed_kill9() {
  [ -n "$FLAMED_PID" ] || return 0
  kill -KILL "$FLAMED_PID"
  wait "$FLAMED_PID" 2>/dev/null
  FLAMED_PID=
}

# ctl ARGS...: flamectl against this test's flamed.
ctl() { "$FLAMECTL_BIN" --addr "$ADDR" "$@"; }

# The boot options every runner of this test gets (image, network, pool, label).
flt_boot_opts() {
  printf '%s\n' -i "$FLT_IMAGE" --network "$RUN" -p "$RUN" -l "fltest.run=$RUN"
}

# boot [EXTRA BOOT OPTS...]: boot a runner with the test's defaults; prints the
# runner as JSON (one line). Fails the test on error.
boot_json() {
  local out
  out=$(ctl --json boot -i "$FLT_IMAGE" --network "$RUN" -p "$RUN" -l "fltest.run=$RUN" \
    --boot-timeout 60000 "$@" -- "${FLT_CMD[@]}") || fail "boot $* failed"
  printf '%s\n' "$out"
}

# List as JSON (an array); empty array on error.
ls_json() { ctl --json ls -p "$RUN" 2>/dev/null || echo '[]'; }

# json EXPR < JSON: evaluate a Python expression with `j` bound to the JSON.
json() { python3 -c "import json,sys; j=json.load(sys.stdin); r=($1); print(r if not isinstance(r,(list,dict)) else json.dumps(r))"; }

# Fields of a JSON-lines watch file (flamectl --json watch), one event a line:
# "SEQ TYPE RUNNER_ID STATE TIME_UNIX_MS ERROR_AS_JSON".
watch_lines() {
  python3 - "$1" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    line = line.strip()
    if not line.startswith('{'):
        continue
    try:
        e = json.loads(line)
    except ValueError:
        continue
    r = e.get('runner', {})
    print(e['sequence'], e['type'], r.get('id', '-'), r.get('state', '-'),
          e.get('time_unix_nano', 0) // 1000000, json.dumps(r.get('error', '')))
EOF
}

# watch_has FILE RUNNER_ID TYPE: the JSON-lines watch file has that event.
watch_has() { watch_lines "$1" | awk -v id="$2" -v t="$3" '$2 == t && $3 == id { f = 1 } END { exit !f }'; }

# watch_event FILE RUNNER_ID TYPE: that event's line (watch_lines format), or nothing.
watch_event() { watch_lines "$1" | awk -v id="$2" -v t="$3" '$2 == t && $3 == id { print; exit }'; }

# probe_boot [EXTRA BOOT OPTS...]: a Boot that fails at the network check (the
# network does not exist): flamed emits BOOTING and FAILED for it, and no
# container is made. Fails the test unless it answers FAILED_PRECONDITION.
probe_boot() {
  local rc=0
  ctl boot -i "$FLT_IMAGE" --network "fltest-nonet-$RUN" -p "$RUN" -l "fltest.run=$RUN" "$@" \
    >/dev/null 2>"$TMPD/probe.err" || rc=$?
  grep -q FAILED_PRECONDITION "$TMPD/probe.err" || fail "probe boot: expected FAILED_PRECONDITION, got rc=$rc $(cat "$TMPD/probe.err")"
}

# runner_state ID: the runner's state in List, or "GONE".
runner_state() { ls_json | json "next((r['state'] for r in j if r['id'] == '$1'), 'GONE')"; }

# Start a background process, tracked for cleanup; its pid in $BG_PID. (A
# shell function runs in a subshell: signal its children yourself.)
bg() {
  "$@" &
  BG_PID=$!
  FLT_PIDS+=("$BG_PID")
}

# bgctl ARGS...: flamectl in the background (the process itself: $BG_PID).
bgctl() {
  "$FLAMECTL_BIN" --addr "$ADDR" "$@" &
  BG_PID=$!
  FLT_PIDS+=("$BG_PID")
}

# ------------------------------------------------------------ private dockerd

# flt_private_dockerd_start: a dockerd of this test's own (unix socket, data and
# exec roots under /tmp, its own managed containerd, live-restore on) on a
# dedicated bridge created here, so that restarting it touches nothing else.
# Never `--bridge none`: on a second daemon that deletes the host's docker0.
# Sets FLT_DOCKER / FLT_DOCKER_HOST; flt_private_dockerd_restart stops and
# starts it; the EXIT trap tears everything down and checks docker0 survived.
flt_private_dockerd_start() {
  command -v dockerd >/dev/null || fail "dockerd not found"
  command -v ip >/dev/null || fail "ip (iproute2) not found"
  [ "$(id -u)" -eq 0 ] || fail "a private dockerd needs root"
  FLT_PRIV=/tmp/fltd-$$
  FLT_PRIV_BR=fltbr$$
  FLT_PRIV_BR=${FLT_PRIV_BR:0:15}
  FLT_PRIV_SOCK=$FLT_PRIV.sock
  FLT_DOCKER_HOST=unix://$FLT_PRIV_SOCK
  FLT_PRIV_LOG=$TMPD/dockerd.log
  FLT_DOCKER0_BEFORE=$(ip -o link show docker0 2>/dev/null | awk '{print $2}')
  FLT_PRIV_POOL=10.$((200 + $$ % 50)).0.0/16
  mkdir -p "$FLT_PRIV/data" "$FLT_PRIV/exec"
  # a private /24 for the bridge; the third octet from the pid keeps runs apart
  local o=$(( ($$ % 200) + 20 ))
  FLT_PRIV_NET=10.254.$o
  ip link add "$FLT_PRIV_BR" type bridge || fail "ip link add $FLT_PRIV_BR"
  ip addr add "$FLT_PRIV_NET.1/24" dev "$FLT_PRIV_BR" || fail "ip addr add on $FLT_PRIV_BR"
  ip link set "$FLT_PRIV_BR" up
  flt_private_dockerd_up
  FLT_DOCKER=(docker -H "$FLT_DOCKER_HOST")
  note "private dockerd on $FLT_DOCKER_HOST (bridge $FLT_PRIV_BR $FLT_PRIV_NET.0/24)"
  # The test image, from the machine's dockerd.
  if ! "${FLT_DOCKER[@]}" image inspect "$FLT_IMAGE" >/dev/null 2>&1; then
    docker save "$FLT_IMAGE" | "${FLT_DOCKER[@]}" load >/dev/null || fail "loading $FLT_IMAGE"
  fi
}

flt_private_dockerd_up() {
  echo "=== dockerd start $(date +%T.%N)" >>"$FLT_PRIV_LOG"
  dockerd --host "$FLT_DOCKER_HOST" --data-root "$FLT_PRIV/data" --exec-root "$FLT_PRIV/exec" \
    --pidfile "$FLT_PRIV.pid" --bridge "$FLT_PRIV_BR" --iptables=false --ip-masq=false \
    --ip-forward=false $([ "$FLT_PRIV_LIVE_RESTORE" = 1 ] && echo --live-restore) --default-address-pool "base=$FLT_PRIV_POOL,size=24" \
    --containerd-namespace "fltest$$" \
    --containerd-plugins-namespace "fltest$$-plugins" "${FLT_PRIV_EXTRA[@]}" \
    </dev/null >>"$FLT_PRIV_LOG" 2>&1 &
  FLT_PRIV_PID=$!
  wait_until 60 docker -H "$FLT_DOCKER_HOST" version >/dev/null 2>&1 || {
    tail -n 30 "$FLT_PRIV_LOG" >&2
    fail "private dockerd did not start within 60 s"
  }
}

# Stop the private dockerd (SIGTERM, wait for it to exit); live-restore keeps
# its containers running meanwhile.
flt_private_dockerd_down() {
  kill -TERM "$FLT_PRIV_PID" 2>/dev/null
  local i
  for i in $(seq 1 300); do kill -0 "$FLT_PRIV_PID" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$FLT_PRIV_PID" 2>/dev/null && fail "private dockerd did not stop within 30 s"
  wait "$FLT_PRIV_PID" 2>/dev/null
  FLT_PRIV_PID=
}

flt_private_dockerd_teardown() {
  set +e
  if [ -n "${FLT_PRIV_PID:-}" ] && kill -0 "$FLT_PRIV_PID" 2>/dev/null; then
    local ids
    ids=$(docker -H "$FLT_DOCKER_HOST" ps -aq 2>/dev/null)
    [ -n "$ids" ] && docker -H "$FLT_DOCKER_HOST" rm -f $ids >/dev/null 2>&1
    docker -H "$FLT_DOCKER_HOST" network prune -f >/dev/null 2>&1
    kill -TERM "$FLT_PRIV_PID"
    for _ in $(seq 1 300); do kill -0 "$FLT_PRIV_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$FLT_PRIV_PID" 2>/dev/null
    wait "$FLT_PRIV_PID" 2>/dev/null
  fi
  # its managed containerd exits with it; report (never kill by name) anything left
  local left
  left=$(grep -l -s "$FLT_PRIV/exe[c]" /proc/[0-9]*/cmdline 2>/dev/null | wc -l)
  [ "$left" -eq 0 ] || echo "[$FLT_NAME] note: $left process(es) still mention $FLT_PRIV" >&2
  grep -s " $FLT_PRIV/" /proc/mounts | awk '{print $2}' | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null
  done
  rm -rf "$FLT_PRIV" "$FLT_PRIV.sock" "$FLT_PRIV.pid" 2>/dev/null
  ip link del "$FLT_PRIV_BR" 2>/dev/null
  local after
  after=$(ip -o link show docker0 2>/dev/null | awk '{print $2}')
  FLT_PRIV=
  if [ "$after" != "$FLT_DOCKER0_BEFORE" ]; then
    echo "[$FLT_NAME] ERROR: docker0 changed: before '$FLT_DOCKER0_BEFORE' after '$after'" >&2
    return 1
  fi
  return 0
}

# ------------------------------------------------------------ swarm

# flt_swarm_init: a single-node swarm on the private dockerd (start it with
# FLT_PRIV_LIVE_RESTORE=0: swarm mode refuses --live-restore). Its
# docker_gwbridge is made first, on a Linux bridge named for this run (not the
# host-wide one); the swarm is advertised on the private bridge, on a free
# port, with its own VXLAN port and overlay address pool, so that it meets
# nothing of the machine's dockerd or of another run. The EXIT trap
# (flt_swarm_cleanup) removes every service, leaves the swarm and removes the
# bridge, even on failure.
flt_swarm_init() {
  [ -n "$FLT_PRIV" ] || fail "flt_swarm_init: start a private dockerd first (never the machine's)"
  FLT_GWBR=fltgw$$
  FLT_GWBR=${FLT_GWBR:0:15}
  "${FLT_DOCKER[@]}" network create -d bridge --opt "com.docker.network.bridge.name=$FLT_GWBR" \
    --opt com.docker.network.bridge.enable_icc=false \
    --opt com.docker.network.bridge.enable_ip_masquerade=false docker_gwbridge >/dev/null ||
    fail "creating docker_gwbridge on the private dockerd"
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  FLT_VXLAN_PORT=$((20000 + $$ % 10000))
  FLT_SWARM=1
  "${FLT_DOCKER[@]}" swarm init --advertise-addr "$FLT_PRIV_NET.1" --listen-addr "$FLT_PRIV_NET.1:$port" \
    --data-path-port "$FLT_VXLAN_PORT" --default-addr-pool "10.$((150 + $$ % 50)).0.0/16" \
    >"$TMPD/swarm-init.log" 2>&1 || fail "docker swarm init on the private dockerd: $(cat "$TMPD/swarm-init.log")"
  note "swarm on $FLT_DOCKER_HOST (advertised $FLT_PRIV_NET.1:$port, VXLAN port $FLT_VXLAN_PORT)"
}

# flt_swarm_cleanup: remove every service of the private swarm, this run's
# containers and network, leave the swarm, remove docker_gwbridge and its
# bridge. Quiet; safe to call twice.
flt_swarm_cleanup() {
  if [ -n "$FLT_SWARM" ] && [ -n "$FLT_DOCKER_HOST" ]; then
    local ids
    ids=$("${FLT_DOCKER[@]}" service ls -q 2>/dev/null)
    [ -n "$ids" ] && "${FLT_DOCKER[@]}" service rm $ids >/dev/null 2>&1
    # the swarm removes the services' containers afterwards
    wait_until 30 eval '[ -z "$("${FLT_DOCKER[@]}" ps -aq --filter label=com.docker.swarm.service.id 2>/dev/null)" ]'
    flt_remove_containers
    "${FLT_DOCKER[@]}" network rm "$RUN" >/dev/null 2>&1
    "${FLT_DOCKER[@]}" swarm leave --force >/dev/null 2>&1
    "${FLT_DOCKER[@]}" network rm docker_gwbridge >/dev/null 2>&1
    FLT_SWARM=
  fi
  [ -n "$FLT_GWBR" ] && ip link del "$FLT_GWBR" 2>/dev/null
  FLT_GWBR=
  return 0
}
