/*
 * tests/integration/support/harness_ext.h - additions to the integration
 * harness (harness.h) for the security tests (it_auth, it_tls, it_policy,
 * it_errors): flamed with extra flags (tokens, policy, TLS), more clients,
 * raw gRPC calls that report the `flame-reason` trailing metadata and can
 * carry a bearer token or speak TLS/mTLS, google.protobuf.Struct from JSON,
 * files in a per-test directory, and test certificates made with openssl.
 *
 * Use flx_begin() instead of fl_begin() and FLX_UNIT() instead of FL_UNIT():
 * flx_teardown() closes what this file opened (clients, temp dir) and then
 * runs fl_teardown(), which stops flamed and removes every container and the
 * network of the test.
 *
 *     static void t(void **state)
 *     {
 *         const char *args[] = {"--policy", path, NULL};
 *         fl_env *e = flx_begin(state, &(flx_flamed){.args = args});
 *         ...
 *         flx_pass(e);
 *     }
 *
 * Threads: everything runs on the test's thread.
 */
#ifndef FLTEST_HARNESS_EXT_H
#define FLTEST_HARNESS_EXT_H

#include <sys/types.h>

#include "harness.h"

#include "google/protobuf/struct.pb-c.h"

/* gRPC status codes, for readable assertions. */
enum {
    GS_OK = 0,
    GS_CANCELLED = 1,
    GS_UNKNOWN = 2,
    GS_INVALID_ARGUMENT = 3,
    GS_DEADLINE_EXCEEDED = 4,
    GS_NOT_FOUND = 5,
    GS_ALREADY_EXISTS = 6,
    GS_PERMISSION_DENIED = 7,
    GS_RESOURCE_EXHAUSTED = 8,
    GS_FAILED_PRECONDITION = 9,
    GS_ABORTED = 10,
    GS_UNIMPLEMENTED = 12,
    GS_INTERNAL = 13,
    GS_UNAVAILABLE = 14,
    GS_UNAUTHENTICATED = 16,
};

/** How to start flamed. Zero-initialise; everything optional. */
typedef struct flx_flamed {
    const char *const *args; /* extra flags, NULL-terminated (--policy F, --auth-tokens F, ...) */
    const char *token;       /* bearer token of e->client (and of the readiness List) */
    int tcp;                 /* also --listen 127.0.0.1:0; flx_port() tells the port */
} flx_flamed;

/** fl_begin() with flx_flamed (NULL: plain flamed). Skips without Docker. */
fl_env *flx_begin(void **state, const flx_flamed *f);
/** cmocka teardown for flx_begin() tests. */
int flx_teardown(void **state);
#define FLX_UNIT(name) cmocka_unit_test_setup_teardown(name, fl_setup, flx_teardown)
/** Mark the test passed (teardown then keeps quiet about flamed's log). */
static inline void flx_pass(fl_env *e) { e->passed = 1; }

/** Start flamed (e->flamed_pid must be 0) with f; waits until List answers. */
void flx_flamed_start(fl_env *e, const flx_flamed *f);
/**
 * Start bin with argv (NULL-terminated, argv[0] included): stdin /dev/null, stdout and
 * stderr appended to log_path (created 0644). Fails the test if posix_spawn fails.
 * @return the child's pid (the caller waits for it).
 */
pid_t flx_spawn_logged(const char *bin, const char *const *argv, const char *log_path);
/** Stop flamed (asserting a clean exit) and start it again with f. */
void flx_flamed_restart(fl_env *e, const flx_flamed *f);
/** The TCP port of the last start with f->tcp (from the log's listening_port line). */
int flx_port(fl_env *e);

/**
 * Run flamed with `args` (NULL-terminated, after the binary) expecting it to
 * exit by itself within timeout_ms; its stdout+stderr go to *out (free()).
 * @return the exit code; -1 when it did not exit (it is then killed).
 */
int flx_flamed_run(const char *const *args, char **out, int timeout_ms);

/** flamed's log so far (free()). */
char *flx_log(fl_env *e);

/** The test's private directory (created on first use, removed in teardown). */
const char *flx_dir(fl_env *e);
/** Write `content` to flx_dir(e)/name; returns the path (owned by the env). */
const char *flx_write(fl_env *e, const char *name, const char *content);
/** A path in flx_dir(e) (owned by the env). */
const char *flx_path(fl_env *e, const char *name);

/** Another libflame client on e->addr with this token (NULL: none); closed in teardown. */
flame_client *flx_client(fl_env *e, const char *token);

/** Containers (swarm: services) labelled flamed.managed-by=flamed and fltest.run=<tag>. */
int flx_count_managed(fl_env *e);
/** Wait up to timeout_ms for flx_count_managed(e) == want (Shutdown may answer REMOVED
 *  while the reaper's removal is still in progress); fails naming `what`. */
void flx_wait_managed(fl_env *e, int want, int timeout_ms, const char *what);
/** Assert flx_count_managed(e) == want, naming what was left. */
void flx_assert_managed(fl_env *e, int want, const char *what);

/** Assert code, reason and (optionally, may be NULL) a message fragment. */
#define flx_assert_st(code, st, want_code, want_reason, want_msg)                                \
    flx__assert_st((code), (st), (want_code), (want_reason), (want_msg), __FILE__, __LINE__)
void flx__assert_st(int code, const flame_status *st, int want_code, const char *want_reason,
                    const char *want_msg, const char *file, int line);

/* ------------------------------------------------------------ raw gRPC */

/** Where and how a raw call goes. Zero-initialise. */
typedef struct flx_target {
    const char *addr;  /* NULL: e->addr (the unix socket) */
    const char *token; /* "authorization: Bearer <token>"; NULL: none */
    const char *authorization; /* raw authorization value (overrides token); NULL: none */
    const char *ca;    /* PEM file: use TLS, trusting this CA (NULL: plaintext) */
    const char *cert, *key; /* PEM files: client certificate for mTLS */
    int timeout_ms;    /* 0: 60000 */
} flx_target;

/**
 * One call with one request message, reading every response message until
 * the status (unary and server-streaming methods). The request bytes are sent
 * as they are. @param[out] resp, resplen  the first response message's bytes
 * (malloc'd; may be NULL to discard). @param[out] n_msgs  messages received
 * (may be NULL). @return the gRPC status code; st gets message and reason.
 */
int flx_call(fl_env *e, const flx_target *t, const char *method, const void *req, size_t reqlen,
             void **resp, size_t *resplen, size_t *n_msgs, flame_status *st);

/** flx_call() with a protobuf-c request; the first response unpacked into *resp (may be NULL). */
int flx_unary(fl_env *e, const flx_target *t, const char *method, const ProtobufCMessage *req,
              const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
              flame_status *st);

/** grpc.health.v1.Health/Check of `service` (NULL: ""); *serving gets the status enum. */
int flx_health_check(fl_env *e, const flx_target *t, const char *service, int *serving,
                     flame_status *st);

/* ------------------------------------------------------------ requests */

/** google.protobuf.Struct from a JSON object (asserts it parses); free with flx_struct_free. */
Google__Protobuf__Struct *flx_struct_from_json(const char *json);
void flx_struct_free(Google__Protobuf__Struct *s);

/**
 * A BootRequest built by hand (for requests libflame would refuse itself).
 * flx_boot_new() fills libflame's defaults (fl_boot_req_init): image app,
 * e->network, e->pool, label fltest.run, a command that exits on SIGTERM.
 * Scalar fields of b->req may be pointed at any string that outlives the call.
 */
typedef struct flx_boot {
    Flame__V1__BootRequest req;
    /* owned storage */
    Flame__V1__BootRequest__EnvEntry **env;
    Flame__V1__BootRequest__LabelsEntry **labels;
    size_t env_cap, labels_cap;
    Google__Protobuf__Struct **mounts;
    size_t mounts_cap;
    char **strs;
    size_t n_strs, strs_cap;
} flx_boot;

flx_boot *flx_boot_new(fl_env *e);
void flx_boot_free(flx_boot *b);
void flx_boot_env(flx_boot *b, const char *key, const char *value);
void flx_boot_label(flx_boot *b, const char *key, const char *value);
/** Replace host_config with this JSON object (NULL: unset). */
void flx_boot_host_config(flx_boot *b, const char *json);
void flx_boot_mount(flx_boot *b, const char *json);
/** Send it (to t, NULL: e->addr). @param[out] runner_id  copied when OK (may be NULL). */
int flx_boot_call(fl_env *e, const flx_target *t, flx_boot *b, char *runner_id, size_t idlen,
                  flame_status *st);

/* ------------------------------------------------------------ certificates */

/** Paths of the test PKI made by flx_pki(). */
typedef struct flx_pki {
    char ca[256], server_cert[256], server_key[256];
    char client_cert[256], client_key[256];     /* signed by ca, CN=fltest-client */
    char other_ca[256], other_cert[256], other_key[256]; /* another CA's client */
} flx_pki;

/** Make a CA, a server certificate (SAN 127.0.0.1, localhost), a client
 *  certificate and another CA's client certificate in flx_dir(e) with openssl. */
void flx_make_pki(fl_env *e, flx_pki *pki);

/* ------------------------------------------------------------ more raw gRPC */

/**
 * One unary call to e->addr (plaintext) with the request bytes as they are
 * and exactly the metadata given: md holds n_md key/value pairs, sent in
 * order; a key may repeat (two `authorization` headers). No token is added.
 * @return the gRPC status code; st gets message and flame-reason.
 */
int flx_call_md(fl_env *e, const char *method, const char *const (*md)[2], size_t n_md,
                const void *req, size_t reqlen, flame_status *st);

#endif
