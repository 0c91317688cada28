#!/usr/bin/env bash
# t_watch_resume.sh - Watch resume with after_sequence.
#
# A reference watcher stays connected throughout. Watcher W sees some events,
# notes the last sequence S and disconnects; then events happen (a runner
# boots and is shut down, probe Boots fail); W reconnects with
# after_sequence = S and must receive exactly the events it missed (the same
# sequences, types and runners as the reference, in order), then live ones.
# after_sequence = 1 (older than the history), a sequence from the future,
# and S after a flamed restart (another process) all end with OUT_OF_RANGE,
# reason WATCH_HISTORY_GONE.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
flt_require

flt_network_create
flamed_start

bgctl --json watch -p "$RUN" >"$TMPD/ref.jsonl" 2>"$TMPD/ref.err"
REF=$BG_PID
bgctl --json watch -p "$RUN" >"$TMPD/w1.jsonl" 2>"$TMPD/w1.err"
W1=$BG_PID
n_failed() { watch_lines "$1" | awk '$2 == "FAILED"' | wc -l; }
synced() { [ "$(n_failed "$TMPD/ref.jsonl")" -ge 1 ] && [ "$(n_failed "$TMPD/w1.jsonl")" -ge 1 ]; }
for _ in $(seq 1 20); do
  probe_boot
  wait_until 2 synced && break
done
synced || fail "the watchers did not see a probe within 40 s"
probe_boot
w1_has2() { [ "$(n_failed "$TMPD/w1.jsonl")" -ge 2 ]; }
wait_until 10 w1_has2 || fail "W1 missed a probe"
kill -TERM "$W1"
wait "$W1" || fail "W1 did not end cleanly on SIGTERM"
S=$(watch_lines "$TMPD/w1.jsonl" | tail -n 1 | awk '{print $1}')
note "W1 disconnected after sequence $S"

# Events W1 misses: a runner's whole life, and 3 probes.
R=$(boot_json | json 'j["id"]')
ctl shutdown -t 1000 "$R" >/dev/null || fail "shutdown $R"
for _ in 1 2 3; do probe_boot; done
ref_has() { watch_has "$TMPD/ref.jsonl" "$R" REMOVED && [ "$(n_failed "$TMPD/ref.jsonl")" -ge $(( $(n_failed "$TMPD/w1.jsonl") + 3 )) ]; }
wait_until 10 ref_has || fail "the reference watcher did not see the events"

# Resume: the missed events, exactly, then live ones (a probe after 1 s).
bgctl --json watch -p "$RUN" --after "$S" >"$TMPD/w2.jsonl" 2>"$TMPD/w2.err"
W2=$BG_PID
sleep 1
probe_boot
ref_n() { watch_lines "$TMPD/ref.jsonl" | wc -l; }
w2_caught_up() { [ "$(watch_lines "$TMPD/w2.jsonl" | awk -v s="$S" '$1 > s' | wc -l)" -ge "$(watch_lines "$TMPD/ref.jsonl" | awk -v s="$S" '$1 > s' | wc -l)" ]; }
wait_until 10 w2_caught_up || true
kill -TERM "$W2"
wait "$W2" || fail "the resumed watch failed: $(cat "$TMPD/w2.err")"
diff <(watch_lines "$TMPD/ref.jsonl" | awk -v s="$S" '$1 > s {print $1, $2, $3, $4}') \
  <(watch_lines "$TMPD/w2.jsonl" | awk '{print $1, $2, $3, $4}') >"$TMPD/resume.diff" ||
  fail "resume after $S: not exactly the missed events:
$(cat "$TMPD/resume.diff")"
missed=$(watch_lines "$TMPD/w2.jsonl" | wc -l)
watch_lines "$TMPD/w2.jsonl" | awk -v s="$S" 'NR == 1 && $1 <= s { exit 1 }' || fail "replayed an event at or before $S"
note "resume after $S: $missed events (missed ones in order, then live), identical to the reference"

# out_of_range ARGS...: a watch that must end with OUT_OF_RANGE / WATCH_HISTORY_GONE.
out_of_range() {
  local rc=0
  ctl watch -p "$RUN" --timeout 5000 "$@" >/dev/null 2>"$TMPD/oor.err" || rc=$?
  grep -q "OUT_OF_RANGE" "$TMPD/oor.err" && grep -q "\[WATCH_HISTORY_GONE\]" "$TMPD/oor.err" ||
    fail "watch $* should end OUT_OF_RANGE/WATCH_HISTORY_GONE; got rc=$rc: $(cat "$TMPD/oor.err")"
  [ "$rc" -ne 0 ] || fail "watch $*: exit 0 on OUT_OF_RANGE"
}
out_of_range --after 1
LAST=$(watch_lines "$TMPD/ref.jsonl" | tail -n 1 | awk '{print $1}')
out_of_range --after $((LAST + 1000000))
note "after_sequence 1 and a future sequence: OUT_OF_RANGE [WATCH_HISTORY_GONE]"

# After a restart, sequences of the old process are too old.
kill -TERM "$REF"
wait "$REF"
flamed_stop
flamed_start
out_of_range --after "$LAST"
bgctl --json watch -p "$RUN" >"$TMPD/w3.jsonl" 2>"$TMPD/w3.err"
W3=$BG_PID
w3_synced() { [ "$(n_failed "$TMPD/w3.jsonl")" -ge 1 ]; }
for _ in $(seq 1 20); do
  probe_boot
  wait_until 2 w3_synced && break
done
kill -TERM "$W3"
wait "$W3"
NEW=$(watch_lines "$TMPD/w3.jsonl" | head -n 1 | awk '{print $1}')
[ -n "$NEW" ] && [ "$NEW" -gt "$LAST" ] || fail "sequences after a restart ($NEW) must exceed the old process's ($LAST)"
note "restarted: after_sequence $LAST of the old process -> OUT_OF_RANGE; new sequences ($NEW) are larger"
flamed_stop
pass
