#!/usr/bin/env bash
# t_slow_watcher.sh - a watcher that stops reading is dropped, and nobody else
# notices.
#
# flamed runs with --watch-queue 8. A slow watcher (flamectl watch, frozen
# with SIGSTOP: it reads nothing, like a callback that sleeps) and a normal
# watcher follow the pool; then 30 events happen (15 probe Boots, each
# BOOTING + FAILED). Each event carries ~128 KiB of labels: a client that does
# not read is only visible to flamed once gRPC's flow-control window and the
# socket buffers (~450 KiB on a unix socket here) are full, so 30 small events
# would all fit there and nothing would overflow. flamed finishes the stream
# only once its message in flight is delivered, so the status reaches the slow
# watcher when it reads again. Then:
#  - flamed logs watch_overflow; the slow watcher, resumed (SIGCONT), gets what
#    was queued, then RESOURCE_EXHAUSTED with reason WATCH_TOO_SLOW naming the
#    last sequence it received, which is the last event it printed;
#  - the normal watcher got all 30 events, in order;
#  - the probe Boots and a real Boot run while the slow watcher is stuck take
#    about as long as before (latency unaffected);
#  - resuming with --after <that sequence> gives exactly the events it missed.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
flt_require

flt_network_create
flamed_start --watch-queue 8

big=$(head -c 3900 /dev/zero | tr '\0' x)
BIG=()
for i in $(seq 1 "${FLT_SLOW_LABELS:-32}"); do BIG+=(-l "fltest.big$i=$big"); done

# Baseline latencies (no watcher yet): probes, and one real Boot (+ Shutdown).
t0=$(now_ms)
for i in 1 2 3; do probe_boot "${BIG[@]}"; done
base_probe=$(( ($(now_ms) - t0) / 3 ))
t0=$(now_ms)
R0=$(boot_json | json 'j["id"]')
base_boot=$(( $(now_ms) - t0 ))
ctl shutdown -t 1000 "$R0" >/dev/null || fail "shutdown $R0"
note "baseline: probe Boot $base_probe ms, real Boot $base_boot ms"

bgctl --json watch -p "$RUN" >"$TMPD/slow.jsonl" 2>"$TMPD/slow.err"
SLOW=$BG_PID
bgctl --json watch -p "$RUN" >"$TMPD/fast.jsonl" 2>"$TMPD/fast.err"
FAST=$BG_PID
# Both subscribed: a probe's FAILED reaches both.
probe_n() { watch_lines "$1" | awk '$2 == "FAILED"' | wc -l; }
synced() { [ "$(probe_n "$TMPD/slow.jsonl")" -ge 1 ] && [ "$(probe_n "$TMPD/fast.jsonl")" -ge 1 ]; }
for _ in $(seq 1 20); do
  probe_boot
  wait_until 2 synced && break
done
synced || fail "the watchers did not see a probe within 40 s"
kill -STOP "$SLOW"
slow_before=$(watch_lines "$TMPD/slow.jsonl" | wc -l)
fast_before=$(watch_lines "$TMPD/fast.jsonl" | wc -l)

# 30 events while the slow watcher is frozen.
t0=$(now_ms)
for i in $(seq 1 15); do probe_boot "${BIG[@]}"; done
stuck_probe=$(( ($(now_ms) - t0) / 15 ))
t0=$(now_ms)
R1=$(boot_json | json 'j["id"]')
stuck_boot=$(( $(now_ms) - t0 ))
note "while a watcher is stuck: probe Boot $stuck_probe ms, real Boot $stuck_boot ms"
# 5 more events after the runner started (STARTED was #32): STOPPING, EXITED, REMOVED
ctl shutdown -t 1000 "$R1" >/dev/null || fail "shutdown $R1"

# The normal watcher got every event, in order.
want=$((fast_before + 30 + 5))
fast_has() { [ "$(watch_lines "$TMPD/fast.jsonl" | wc -l)" -ge "$1" ]; }
wait_until 20 fast_has "$want" || fail "the normal watcher got $(watch_lines "$TMPD/fast.jsonl" | wc -l) events, expected $want"
watch_lines "$TMPD/fast.jsonl" | awk '{print $1}' | sort -c -n || fail "the normal watcher's sequences are not in order"
kill -0 "$FAST" || fail "the normal watcher's stream ended"

# Latency: within 3x the baseline plus 2 s of noise (this machine may be busy).
[ "$stuck_probe" -le $((base_probe * 3 + 2000)) ] || fail "probe Boots slowed down: $stuck_probe ms vs $base_probe ms"
[ "$stuck_boot" -le $((base_boot * 3 + 2000)) ] || fail "Boot slowed down: $stuck_boot ms vs $base_boot ms"

# The slow watcher, resumed: drains, then RESOURCE_EXHAUSTED / WATCH_TOO_SLOW.
kill -CONT "$SLOW"
rc=0
wait "$SLOW" || rc=$?
[ "$rc" -ne 0 ] || fail "the slow watcher's stream ended OK"
grep -q "RESOURCE_EXHAUSTED" "$TMPD/slow.err" || fail "slow watcher: not RESOURCE_EXHAUSTED: $(cat "$TMPD/slow.err")"
grep -q "\[WATCH_TOO_SLOW\]" "$TMPD/slow.err" || fail "slow watcher: reason is not WATCH_TOO_SLOW: $(cat "$TMPD/slow.err")"
grep -q watch_overflow "$FLAMED_LOG" || fail "flamed did not log watch_overflow"
note "flamed: $(grep -o 'msg=watch_overflow.*' "$FLAMED_LOG" | head -1)"
seq=$(grep -o 'after sequence [0-9]*' "$TMPD/slow.err" | awk '{print $3}')
last=$(watch_lines "$TMPD/slow.jsonl" | tail -n 1 | awk '{print $1}')
got=$(( $(watch_lines "$TMPD/slow.jsonl" | wc -l) - slow_before ))
note "slow watcher: got $got of the 35 events, then: $(cat "$TMPD/slow.err")"
[ -n "$seq" ] || fail "no sequence in the slow watcher's status"
[ "$seq" = "$last" ] || fail "status names sequence $seq, but the last event received was $last"
[ "$got" -lt 35 ] || fail "the slow watcher got every event: nothing overflowed"

# Resume from that sequence: exactly the missed events, in order. (More were
# missed than --watch-queue holds: the replay must be paced by the client's
# reading, not pushed into the bounded queue at once.)
missed=$(watch_lines "$TMPD/fast.jsonl" | awk -v s="$seq" '$1 > s' | wc -l)
ctl --json watch -p "$RUN" --after "$seq" --timeout 3000 >"$TMPD/resume.jsonl" 2>"$TMPD/resume.err" ||
  fail "resume --after $seq ($missed missed events, --watch-queue 8) failed: $(cat "$TMPD/resume.err")
    (server bug: event_hub_replay() pushes the whole replay into the watcher's bounded queue at
    once, so a resume of more than --watch-queue events overflows at once, every time)"
diff <(watch_lines "$TMPD/fast.jsonl" | awk -v s="$seq" '$1 > s {print $1, $2, $3}') \
  <(watch_lines "$TMPD/resume.jsonl" | awk '{print $1, $2, $3}') >"$TMPD/resume.diff" ||
  fail "resume --after $seq differs from what the normal watcher got: $(head -20 "$TMPD/resume.diff")"
note "resume --after $seq replayed the $(watch_lines "$TMPD/resume.jsonl" | wc -l) missed events exactly"
kill -TERM "$FAST"
wait "$FAST"
flamed_stop
pass
