#!/usr/bin/env bash
# t_docker_tls.sh - flamed drives a Docker Engine over tcp:// with TLS, the
# docker CLI's way (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH, or the
# --docker-tls-* flags), and says clearly what is wrong when TLS cannot work.
#
# openssl makes a CA, a server certificate for 127.0.0.1 and localhost, a
# client certificate, and a second CA nobody trusts. This test's own private
# dockerd serves its API with --tlsverify on tcp://127.0.0.1:PORT and
# tcp://127.0.0.2:PORT (loopback; the certificate does not name 127.0.0.2),
# beside its unix socket. Then, one flamed at a time:
#   TLS through the environment (tcp://localhost): health SERVING; Watch, Boot,
#     Spawn `echo`, stdin (SpawnStream: `cat`, 4 MiB through sha256sum), Logs
#     and Shutdown work (the events stream, exec attach with stdin and the logs
#     stream all go over TLS);
#   TLS through the flags (tcp://127.0.0.1): SERVING, List answers;
#   a CA that did not sign dockerd's certificate, no client certificate, a host
#   name the certificate does not list, nothing listening: flamed serves,
#   health is NOT_SERVING, the log names the cause and the fix, and so does an
#   RPC that needs Docker;
#   plain tcp:// without --docker-insecure: exit 64 at start, saying why;
#   --docker-insecure: one warning at start (here against the TLS port:
#   NOT_SERVING, the log says dockerd wants TLS).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command -v openssl >/dev/null || fail "openssl is needed (scripts/deps installs it)"

# ---- certificates (ECDSA P-256: fast to make, and what dockerd accepts)
PKI=$TMPD/pki
mkdir -p "$PKI/good" "$PKI/badca" "$PKI/nocert" "$TMPD/home"
ossl() { openssl "$@" >>"$TMPD/openssl.log" 2>&1 || fail "openssl $1 failed: $(tail -n 5 "$TMPD/openssl.log")"; }
newkey=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
ossl req -x509 "${newkey[@]}" -keyout "$PKI/ca-key.pem" -out "$PKI/ca.pem" -days 2 -subj "/CN=fltest CA $RUN"
ossl req -x509 "${newkey[@]}" -keyout "$PKI/other-ca-key.pem" -out "$PKI/other-ca.pem" -days 2 \
  -subj "/CN=fltest untrusted CA $RUN"
ossl req "${newkey[@]}" -keyout "$PKI/server-key.pem" -out "$PKI/server.csr" -subj "/CN=localhost"
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$PKI/server.ext"
ossl x509 -req -in "$PKI/server.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca-key.pem" -CAcreateserial \
  -out "$PKI/server-cert.pem" -days 2 -extfile "$PKI/server.ext"
ossl req "${newkey[@]}" -keyout "$PKI/client-key.pem" -out "$PKI/client.csr" -subj "/CN=flamed"
printf 'extendedKeyUsage=clientAuth\n' >"$PKI/client.ext"
ossl x509 -req -in "$PKI/client.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca-key.pem" -CAcreateserial \
  -out "$PKI/client-cert.pem" -days 2 -extfile "$PKI/client.ext"
# DOCKER_CERT_PATH layouts: ca.pem, cert.pem, key.pem.
cp "$PKI/ca.pem" "$PKI/good/ca.pem"
cp "$PKI/client-cert.pem" "$PKI/good/cert.pem"
cp "$PKI/client-key.pem" "$PKI/good/key.pem"
cp "$PKI/other-ca.pem" "$PKI/badca/ca.pem"
cp "$PKI/client-cert.pem" "$PKI/badca/cert.pem"
cp "$PKI/client-key.pem" "$PKI/badca/key.pem"
cp "$PKI/ca.pem" "$PKI/nocert/ca.pem"

# ---- a private dockerd with TLS listeners on loopback
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
CLOSED_PORT=$(free_port)
FLT_PRIV_EXTRA=(--tlsverify --tlscacert "$PKI/ca.pem" --tlscert "$PKI/server-cert.pem"
  --tlskey "$PKI/server-key.pem" --host "tcp://127.0.0.1:$PORT" --host "tcp://127.0.0.2:$PORT")
flt_require own
# The docker CLI itself agrees that this is a working TLS endpoint.
docker -H "tcp://127.0.0.1:$PORT" --tlsverify --tlscacert "$PKI/ca.pem" --tlscert "$PKI/client-cert.pem" \
  --tlskey "$PKI/client-key.pem" version >/dev/null 2>"$TMPD/cli.err" ||
  fail "the docker CLI cannot reach the private dockerd over TLS: $(cat "$TMPD/cli.err")"
flt_network_create

# tls_flamed NAME [VAR=VALUE...] -- [FLAGS...]: start flamed with only that
# Docker configuration (the caller's DOCKER_* variables removed, HOME empty),
# its log in $TMPD/flamed-NAME.log; wait until it answers health.
health() { ctl health 2>/dev/null; }
health_answers() { case $(health) in SERVING | NOT_SERVING) return 0 ;; esac; return 1; }
health_is() { [ "$(health)" = "$1" ]; }
tls_flamed() {
  local name=$1 envs=()
  shift
  while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  FLAMED_LOG=$TMPD/flamed-$name.log
  rm -f "$SOCK"
  env -u DOCKER_HOST -u DOCKER_TLS_VERIFY -u DOCKER_CERT_PATH -u DOCKER_CONFIG HOME="$TMPD/home" \
    "${envs[@]}" "$FLAMED_BIN" --listen "$ADDR" --log-level debug --stop-timeout-ms 1000 \
    --shutdown-grace-ms 2000 "$@" </dev/null >>"$FLAMED_LOG" 2>&1 &
  FLAMED_PID=$!
  wait_until 20 health_answers || fail "$name: flamed did not answer health within 20 s"
}

# ---- TLS through the docker CLI's environment: the whole life of a runner
tls_flamed env DOCKER_HOST="tcp://localhost:$PORT" DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="$PKI/good"
wait_until 20 health_is SERVING || fail "env: health is $(health), expected SERVING over TLS"
grep -q "docker_tls.*address=tcp://localhost:$PORT.*cert=$PKI/good/cert.pem" "$FLAMED_LOG" ||
  fail "env: no docker_tls line naming the address and the client certificate"
bgctl --json watch -p "$RUN" >"$TMPD/watch.jsonl" 2>"$TMPD/watch.err"
W=$BG_PID
R=$(boot_json | json 'j["id"]')
out=$(ctl spawn "$R" -- echo hello-over-tls) || fail "env: Spawn in $R failed"
[ "$out" = hello-over-tls ] || fail "env: Spawn printed '$out', expected hello-over-tls"
# Stdin (SpawnStream) goes through the TLS session too: a short input, and
# 4 MiB (many chunks, more than the socket buffers) checked by its digest.
out=$(printf stdin-over-tls | ctl spawn "$R" -- cat) || fail "env: SpawnStream with stdin in $R failed"
[ "$out" = stdin-over-tls ] || fail "env: cat of stdin printed '$out', expected stdin-over-tls"
head -c $((4 * 1024 * 1024)) /dev/urandom >"$TMPD/stdin.bin"
want=$(sha256sum <"$TMPD/stdin.bin" | cut -d' ' -f1)
got=$(ctl spawn "$R" -- sha256sum <"$TMPD/stdin.bin" | cut -d' ' -f1) ||
  fail "env: SpawnStream of 4 MiB in $R failed"
[ "$got" = "$want" ] || fail "env: sha256sum in the runner saw $got, expected $want"
L=$(ctl --json boot -i "$FLT_IMAGE" --network "$RUN" -p "$RUN" -l "fltest.run=$RUN" --boot-timeout 60000 \
  -- sh -c "echo log-over-tls; trap 'exit 0' TERM; sleep 3600 & wait" | json 'j["id"]') || fail "env: second Boot failed"
logs_has() { ctl logs "$L" 2>/dev/null | grep -q log-over-tls; }
wait_until 10 logs_has || fail "env: Logs of $L did not show its output: $(ctl logs "$L" 2>&1 | head -c 300)"
wait_until 10 watch_has "$TMPD/watch.jsonl" "$R" STARTED || fail "env: Watch did not see $R start"
for id in "$R" "$L"; do
  ctl shutdown --timeout 1000 "$id" >/dev/null 2>"$TMPD/shutdown.err" ||
    fail "env: Shutdown of $id failed: $(cat "$TMPD/shutdown.err")"
done
wait_until 10 docker_count_eq 0 || fail "env: $(docker_count) container(s) left after Shutdown"
kill -TERM "$W"
wait "$W" 2>/dev/null
flamed_stop
note "TLS through DOCKER_HOST/DOCKER_TLS_VERIFY/DOCKER_CERT_PATH: boot, spawn, logs, watch, shutdown ok"

# ---- TLS through the flags (an IP address this time)
tls_flamed flags -- --docker-host "tcp://127.0.0.1:$PORT" --docker-tls-verify --docker-tls-ca "$PKI/ca.pem" \
  --docker-tls-cert "$PKI/client-cert.pem" --docker-tls-key "$PKI/client-key.pem"
wait_until 20 health_is SERVING || fail "flags: health is $(health), expected SERVING"
ctl ls -p "$RUN" >/dev/null 2>"$TMPD/ls.err" || fail "flags: List failed: $(cat "$TMPD/ls.err")"
flamed_stop
note "TLS through --docker-tls-verify/-ca/-cert/-key: SERVING"

# expect_down NAME PATTERN: flamed serves, health stays NOT_SERVING (checked
# over 3 s: more than a ping round), the log has a docker_unavailable line
# matching PATTERN, and List fails with UNAVAILABLE whose message names
# Docker's address.
expect_down() {
  local name=$1 pattern=$2 i
  for i in 1 2 3 4 5 6; do
    health_is NOT_SERVING || fail "$name: health is '$(health)', expected NOT_SERVING"
    sleep 0.5
  done
  grep -E "docker_unavailable.*$pattern" "$FLAMED_LOG" >/dev/null ||
    fail "$name: no docker_unavailable line matching '$pattern' at start"
  note "$name: $(grep -m1 -o 'docker_unavailable.*' "$FLAMED_LOG" | head -c 400)"
  local rc=0
  ctl ls -p "$RUN" >/dev/null 2>"$TMPD/$name.ls.err" || rc=$?
  [ "$rc" -ne 0 ] || fail "$name: List succeeded while Docker cannot be reached"
  grep -q UNAVAILABLE "$TMPD/$name.ls.err" || fail "$name: List: $(cat "$TMPD/$name.ls.err")"
  note "$name: List: $(head -c 300 "$TMPD/$name.ls.err")"
  flamed_stop
}

# ---- a CA that did not sign dockerd's certificate
tls_flamed badca DOCKER_HOST="tcp://127.0.0.1:$PORT" DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="$PKI/badca"
expect_down badca "not signed by the CA in $PKI/badca/ca.pem.*--docker-tls-ca"

# ---- no client certificate: dockerd --tlsverify requires one
tls_flamed nocert DOCKER_HOST="tcp://127.0.0.1:$PORT" DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="$PKI/nocert"
grep -q "docker_tls.*cert=none" "$FLAMED_LOG" || fail "nocert: the docker_tls line does not say cert=none"
expect_down nocert "requires a client certificate and flamed has none.*--docker-tls-cert"

# ---- a host name the certificate does not list (127.0.0.2 reaches the same dockerd)
tls_flamed hostname DOCKER_HOST="tcp://127.0.0.2:$PORT" DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="$PKI/good"
expect_down hostname "certificate is not for '127.0.0.2'"

# ---- nothing listens there
tls_flamed refused -- --docker-host "tcp://127.0.0.1:$CLOSED_PORT" --docker-tls-verify \
  --docker-tls-ca "$PKI/ca.pem" --docker-tls-cert "$PKI/client-cert.pem" --docker-tls-key "$PKI/client-key.pem"
expect_down refused "cannot reach Docker at tcp://127.0.0.1:$CLOSED_PORT.*is dockerd listening there"

# ---- plain tcp:// without --docker-insecure: refused at start
rc=0
env -u DOCKER_TLS_VERIFY -u DOCKER_CERT_PATH HOME="$TMPD/home" DOCKER_HOST="tcp://127.0.0.1:$PORT" \
  "$FLAMED_BIN" --listen "$ADDR" </dev/null >"$TMPD/plain.out" 2>&1 || rc=$?
[ "$rc" -eq 64 ] || fail "plain tcp:// without --docker-insecure: exit $rc, expected 64: $(cat "$TMPD/plain.out")"
grep -q "refusing plain TCP.*DOCKER_TLS_VERIFY=1.*--docker-insecure" "$TMPD/plain.out" ||
  fail "plain tcp://: the message does not say why and what to do: $(cat "$TMPD/plain.out")"
note "plain tcp:// refused: $(head -c 200 "$TMPD/plain.out")"

# ---- --docker-insecure: accepted with one warning (the TLS port does not speak plain HTTP)
tls_flamed insecure -- --docker-host "tcp://127.0.0.1:$PORT" --docker-insecure
[ "$(grep -c 'level=warn msg=docker_insecure .*root on the Docker host' "$FLAMED_LOG")" -eq 1 ] ||
  fail "insecure: expected exactly one docker_insecure warning"
expect_down insecure "serves TLS, and flamed spoke plain HTTP.*drop --docker-insecure"

pass
