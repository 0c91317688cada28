/*
 * Boot when Docker fails: flamed talks to the real dockerd through a proxy on
 * a unix socket of this test (--docker-host), which passes every request on
 * except the one a case picks: that one it answers itself (a status and
 * Docker's {"message"}), drops (closes the connection unanswered) or holds
 * (never answers). Each case asserts the gRPC status and flame-reason Boot
 * answers (never a bare INTERNAL) and that Docker holds no container of the
 * test afterwards: a container created before a failed start is removed.
 * The messages are the ones dockerd 20.10 sends (see docs in server/docker).
 * The proxy can also play a pull's progress stream (STREAM): flamectl on a
 * terminal then shows it, with no registry involved.
 */
#include "harness_ext.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROXY_BUF (64 * 1024)

/* STREAM: a 200 whose body is `message`'s lines, one every 300 ms, then close
 * (a pull's progress, as dockerd streams it). */
enum action { PASS, REPLY, DROP, HOLD, STREAM };

/* What the proxy does with the first request whose request line starts with
 * `method` ("*": any) and contains `match` (and every later one, until changed). */
struct fault {
    const char *method, *match;
    enum action action;
    int status;
    const char *message; /* Docker's {"message"}; "%s" becomes the container id */
};

static struct {
    char path[108];     /* the proxy's socket */
    char upstream[108]; /* dockerd's */
    int lfd;
    pthread_t thread;
    atomic_int stop;
    atomic_int hits; /* requests the fault took */
    pthread_mutex_t mu;
    struct fault f; /* guarded by mu */
} P = {.lfd = -1, .mu = PTHREAD_MUTEX_INITIALIZER};

static void set_fault(const struct fault *f)
{
    pthread_mutex_lock(&P.mu);
    P.f = f ? *f : (struct fault){0};
    pthread_mutex_unlock(&P.mu);
    atomic_store(&P.hits, 0);
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* The fault for a chunk from flamed that starts a request, or NULL. */
static int matches(const char *buf, size_t n, struct fault *out, char *id, size_t idlen)
{
    char line[512];
    const char *eol = memchr(buf, '\r', n);
    size_t len = eol ? (size_t)(eol - buf) : 0;
    int hit = 0;

    if (!len || len >= sizeof line)
        return 0;
    memcpy(line, buf, len);
    line[len] = '\0';
    pthread_mutex_lock(&P.mu);
    *out = P.f;
    pthread_mutex_unlock(&P.mu);
    if (out->action != PASS &&
        (strcmp(out->method, "*") == 0 ||
         (strncmp(line, out->method, strlen(out->method)) == 0 &&
          line[strlen(out->method)] == ' ')) &&
        strstr(line, out->match))
        hit = 1;
    /* "POST /v1.41/containers/ID/start HTTP/1.1": the id, for messages that name it. */
    const char *c = strstr(line, "/containers/");
    id[0] = '\0';
    if (c) {
        c += strlen("/containers/");
        size_t k = strcspn(c, "/? ");
        snprintf(id, idlen, "%.*s", (int)(k < idlen ? k : idlen - 1), c);
    }
    return hit;
}

static void reply(int fd, const struct fault *f, const char *id)
{
    char msg[1024], esc[2048], body[2200], head[256];
    size_t k = 0;

    const char *pct = strstr(f->message, "%s"); /* at most one, for the id */
    if (pct)
        snprintf(msg, sizeof msg, "%.*s%s%s", (int)(pct - f->message), f->message, id, pct + 2);
    else
        snprintf(msg, sizeof msg, "%s", f->message);
    for (const char *p = msg; *p && k + 2 < sizeof esc; p++) {
        if (*p == '"' || *p == '\\')
            esc[k++] = '\\';
        esc[k++] = *p;
    }
    esc[k] = '\0';
    int n = snprintf(body, sizeof body, "{\"message\":\"%s\"}\n", esc);
    int h = snprintf(head, sizeof head,
                     "HTTP/1.1 %d Fault\r\nContent-Type: application/json\r\n"
                     "Content-Length: %d\r\nConnection: close\r\n\r\n",
                     f->status, n);
    send_all(fd, head, (size_t)h);
    send_all(fd, body, (size_t)n);
}

static void stream_lines(int fd, const char *lines)
{
    static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                               "Connection: close\r\n\r\n";
    send_all(fd, head, sizeof head - 1);
    for (const char *p = lines; *p && !atomic_load(&P.stop);) {
        size_t n = strcspn(p, "\n");
        fl_sleep_ms(300);
        if (send_all(fd, p, n) < 0 || send_all(fd, "\r\n", 2) < 0)
            return;
        p += n + (p[n] == '\n');
    }
}

static void *conn_main(void *arg)
{
    int c = (int)(intptr_t)arg, u = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char *b = malloc(PROXY_BUF);
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", P.upstream);
    if (!b || u < 0 || connect(u, (struct sockaddr *)&sa, sizeof sa) < 0)
        goto done;
    struct pollfd pf[2] = {{.fd = c, .events = POLLIN}, {.fd = u, .events = POLLIN}};
    while (!atomic_load(&P.stop)) {
        if (poll(pf, 2, 200) < 0 && errno != EINTR)
            break;
        if (pf[0].revents) {
            ssize_t n = read(c, b, PROXY_BUF);
            if (n <= 0)
                break;
            struct fault f;
            char id[128];
            if (matches(b, (size_t)n, &f, id, sizeof id)) {
                atomic_fetch_add(&P.hits, 1);
                if (f.action == REPLY)
                    reply(c, &f, id);
                if (f.action == STREAM)
                    stream_lines(c, f.message);
                if (f.action == HOLD) /* until flamed gives up and closes */
                    while (!atomic_load(&P.stop) && read(c, b, PROXY_BUF) > 0)
                        ;
                break;
            }
            if (send_all(u, b, (size_t)n) < 0)
                break;
        }
        if (pf[1].revents) {
            ssize_t n = read(u, b, PROXY_BUF);
            if (n <= 0 || send_all(c, b, (size_t)n) < 0)
                break;
        }
    }
done:
    free(b);
    if (u >= 0)
        close(u);
    close(c);
    return NULL;
}

static void *accept_main(void *arg)
{
    (void)arg;
    while (!atomic_load(&P.stop)) {
        int c = accept4(P.lfd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            break;
        }
        pthread_t t;
        if (pthread_create(&t, NULL, conn_main, (void *)(intptr_t)c) != 0) {
            close(c);
            continue;
        }
        pthread_detach(t);
    }
    return NULL;
}

static void proxy_start(void)
{
    char err[256];
    struct sockaddr_un sa = {.sun_family = AF_UNIX};

    assert_int_equal(docker_socket_detect(P.upstream, sizeof P.upstream, getenv("DOCKER_HOST"),
                                          getenv("HOME"), NULL),
                     0);
    snprintf(P.path, sizeof P.path, "/tmp/fltest-dproxy-%d.sock", (int)getpid());
    unlink(P.path);
    P.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(P.lfd >= 0);
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", P.path);
    if (bind(P.lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(P.lfd, 64) < 0) {
        snprintf(err, sizeof err, "%s", strerror(errno));
        fail_msg("proxy socket %s: %s", P.path, err);
    }
    atomic_store(&P.stop, 0);
    set_fault(NULL);
    assert_int_equal(pthread_create(&P.thread, NULL, accept_main, NULL), 0);
}

static void proxy_stop(void)
{
    atomic_store(&P.stop, 1);
    shutdown(P.lfd, SHUT_RDWR);
    pthread_join(P.thread, NULL);
    close(P.lfd);
    P.lfd = -1;
    unlink(P.path);
}

/* One case: the fault, the Boot's boot_timeout_ms (0: the default), and what Boot answers. */
struct fcase {
    const char *name;
    struct fault f;
    uint32_t boot_timeout_ms;
    int code;
    const char *reason, *msg;
};

/* A case with a pull policy, an image other than the harness's (NULL: its), and
 * no network (the default bridge: the pull comes first). */
struct pcase {
    struct fcase c;
    int pull_policy;
    const char *image;
};

#define REGISTRY_DOWN                                                                              \
    "Get \"https://registry-1.docker.io/v2/\": dial tcp: lookup registry-1.docker.io: no such host"
#define PULL(a, s, m) {.method = "POST", .match = "/images/create", .action = (a), .status = (s), .message = (m)}

#define CREATE(a, s, m) {.method = "POST", .match = "/containers/create", .action = (a), .status = (s), .message = (m)}
#define START(a, s, m) {.method = "POST", .match = "/start", .action = (a), .status = (s), .message = (m)}

static const struct fcase cases[] = {
    /* ------------------------------------------------------------ create */
    {"create: Docker's disk is full (500)",
     CREATE(REPLY, 500, "write /var/lib/docker/containers/x/config.v2.json: no space left on device"),
     0, GS_UNAVAILABLE, "DOCKER_UNAVAILABLE", "no space left on device"},
    {"create: connection closed unanswered", CREATE(DROP, 0, NULL), 0, GS_UNAVAILABLE,
     "DOCKER_UNAVAILABLE", "creating the container"},
    {"create: 20.10's 500 for a wrong field type",
     CREATE(REPLY, 500, "json: cannot unmarshal string into Go struct field "
                        "HostConfig.HostConfig.Memory of type int64"),
     0, GS_INVALID_ARGUMENT, "DOCKER_REFUSED", "cannot unmarshal"},
    {"create: 20.10's 500 for a truncated body", CREATE(REPLY, 500, "unexpected EOF"), 0,
     GS_INVALID_ARGUMENT, "DOCKER_REFUSED", "unexpected EOF"},
    {"create: 400", CREATE(REPLY, 400, "invalid CapAdd: unknown capability: \"CAP_NOPE\""), 0,
     GS_INVALID_ARGUMENT, "DOCKER_REFUSED", "unknown capability"},
    {"create: 404 for a volume plugin, not the image",
     CREATE(REPLY, 404, "create v: error looking up volume plugin nosuchdrv: plugin "
                        "\"nosuchdrv\" not found"),
     0, GS_INVALID_ARGUMENT, "DOCKER_REFUSED", "volume plugin"},
    {"create: 403 from an authorization plugin",
     CREATE(REPLY, 403, "authorization denied by plugin fltest-authz: no"), 0,
     GS_INVALID_ARGUMENT, "DOCKER_REFUSED", "authorization denied"},
    {"create: 404 no such image", CREATE(REPLY, 404, "No such image: flamed-test/app:latest"), 0,
     GS_NOT_FOUND, "IMAGE_NOT_FOUND", "No such image"},
    {"create: 409, the name held by a container not ours",
     CREATE(REPLY, 409, "Conflict. The container name is already in use by container x"),
     0, GS_ABORTED, "NAME_CONFLICT", "retry"},
    /* ------------------------------------------------------------ start */
    {"start: runc cannot set an rlimit (500)",
     START(REPLY, 500, "failed to create shim task: OCI runtime create failed: runc create "
                       "failed: unable to start container process: error during container "
                       "init: error setting rlimits for ready process: error setting rlimit "
                       "type 7: operation not permitted: unknown"),
     0, GS_INVALID_ARGUMENT, "START_FAILED", "rlimit"},
    {"start: containerd unreachable (500)",
     START(REPLY, 500, "failed to create shim task: connection error: desc = \"transport: "
                       "Error while dialing dial unix /run/containerd/containerd.sock: connect: "
                       "connection refused\": unavailable"),
     0, GS_UNAVAILABLE, "DOCKER_UNAVAILABLE", "containerd.sock"},
    {"start: 503 on every retry", START(REPLY, 503, "service unavailable"), 0, GS_UNAVAILABLE,
     "DOCKER_UNAVAILABLE", "service unavailable"},
    {"start: connection closed unanswered", START(DROP, 0, NULL), 0, GS_UNAVAILABLE,
     "DOCKER_UNAVAILABLE", "starting runner"},
    {"start: the container is gone (404)", START(REPLY, 404, "No such container: %s"), 0,
     GS_ABORTED, "RUNNER_EXITED", "removed before it started"},
    {"start: a container its config names is gone (404)",
     START(REPLY, 404, "No such container: fltest-other"), 0, GS_INVALID_ARGUMENT,
     "START_FAILED", "fltest-other"},
    {"start: the container is being removed (409)",
     START(REPLY, 409, "container is marked for removal and cannot be started"), 0, GS_ABORTED,
     "RUNNER_EXITED", "marked for removal"},
    {"start: never answers", START(HOLD, 0, NULL), 1500, GS_DEADLINE_EXCEEDED, "BOOT_TIMEOUT",
     "within boot_timeout"},
    {"start: missing network (404)", START(REPLY, 404, "network fltest-gone not found"), 0,
     GS_FAILED_PRECONDITION, "NETWORK_NOT_FOUND", "docker network create"},
    /* ------------------------------------------------------------ before create */
    {"network inspect: 500",
     {.method = "GET", .match = "/networks/", .action = REPLY, .status = 500,
      .message = "error while reading network store"},
     0, GS_UNAVAILABLE, "DOCKER_UNAVAILABLE", "network store"},
    {"image inspect: connection closed",
     {.method = "GET", .match = "/images/", .action = DROP}, 0, GS_UNAVAILABLE,
     "DOCKER_UNAVAILABLE", "inspecting image"},
};

static const struct pcase pull_cases[] = {
    {{"Docker away, pull_policy ALWAYS: no pull was tried",
      {.method = "*", .match = "/", .action = DROP}, 0, GS_UNAVAILABLE, "DOCKER_UNAVAILABLE",
      "Docker does not answer (no pull was tried"},
     FLAME_PULL_ALWAYS, NULL},
    {{"Docker away, pull_policy IF_NOT_PRESENT", {.method = "*", .match = "/", .action = DROP}, 0,
      GS_UNAVAILABLE, "DOCKER_UNAVAILABLE", "inspecting image"},
     FLAME_PULL_IF_NOT_PRESENT, NULL},
    {{"Docker away, pull_policy NEVER", {.method = "*", .match = "/", .action = DROP}, 0,
      GS_UNAVAILABLE, "DOCKER_UNAVAILABLE", "inspecting image"},
     FLAME_PULL_NEVER, NULL},
    {{"pull_policy ALWAYS, the registry unreachable: the pull was tried",
      PULL(REPLY, 500, REGISTRY_DOWN), 0, GS_UNAVAILABLE, "IMAGE_PULL_FAILED",
      "pulling image 'flamed-test/app:latest' (pull_policy ALWAYS) failed"},
     FLAME_PULL_ALWAYS, NULL},
    {{"an image not in the local Docker, the registry unreachable", PULL(REPLY, 500, REGISTRY_DOWN),
      0, GS_UNAVAILABLE, "IMAGE_PULL_FAILED",
      "image 'fltest-absent/none:v1' is not in the local Docker, and pulling it failed"},
     FLAME_PULL_IF_NOT_PRESENT, "fltest-absent/none:v1"},
};

static void boot_fails_as_documented_when_docker_fails(void **state)
{
    fl_env *e0 = *state;
    FL_SKIP_IF_NO_DOCKER(e0);
    proxy_start();
    char host[160];
    snprintf(host, sizeof host, "unix://%s", P.path);
    const char *args[] = {"--docker-host", host, NULL};
    fl_env *e = flx_begin(state, &(flx_flamed){.args = args});

    int failed = 0;
    size_t n_cases = sizeof cases / sizeof cases[0];
    size_t n_all = n_cases + sizeof pull_cases / sizeof pull_cases[0];
    for (size_t i = 0; i < n_all; i++) {
        const struct pcase *pc = i >= n_cases ? &pull_cases[i - n_cases] : NULL;
        const struct fcase *c = pc ? &pc->c : &cases[i];
        flame_boot_request req;
        fl_boot_req_init(e, &req);
        if (c->boot_timeout_ms)
            req.boot_timeout_ms = c->boot_timeout_ms;
        if (pc) {
            req.pull_policy = pc->pull_policy;
            req.network = NULL;
            if (pc->image)
                req.image = pc->image;
        }
        set_fault(&c->f);
        flame_runner *r = NULL;
        flame_status st;
        int64_t t0 = fl_now_ms();
        int rc = flame_client_boot(e->client, &req, &r, &st);
        int64_t took = fl_now_ms() - t0;
        int hits = atomic_load(&P.hits);
        set_fault(NULL);
        flame_runner_free(r);
        if (rc == 0 || st.code != c->code || strcmp(st.reason, c->reason) != 0 ||
            !strstr(st.message, c->msg) || hits == 0) {
            print_error("case %zu \"%s\": expected %s reason=%s message~\"%s\"; got %s "
                        "reason=\"%s\" message=\"%s\" (the fault took %d requests)\n",
                        i, c->name, flame_grpc_status_name(c->code), c->reason, c->msg,
                        flame_grpc_status_name(st.code), st.reason, st.message, hits);
            failed++;
        } else {
            print_message("case %zu \"%s\": %s %s in %lld ms\n", i, c->name,
                          flame_grpc_status_name(st.code), st.reason, (long long)took);
        }
        /* Whatever was created is gone (the reaper may still be at it). */
        int64_t until = fl_now_ms() + 10000;
        int k;
        while ((k = fl_count_labelled(e, e->run_label)) != 0 && fl_now_ms() < until)
            fl_sleep_ms(50);
        if (k != 0) {
            print_error("case %zu \"%s\": %d container(s) left behind\n", i, c->name, k);
            failed++;
        }
    }
    print_message("%zu Docker fault cases run, %d failed\n", n_all, failed);
    assert_int_equal(failed, 0);

    /* The proxy passes everything else on: a plain Boot through it works. */
    flame_boot_request req;
    fl_boot_req_init(e, &req);
    flame_runner *r = fl_boot(e, &req);
    fl_shutdown(e, r->id);
    flame_runner_free(r);
    flx_pass(e);
}

/* Docker's socket goes away under a running flamed: Boot answers UNAVAILABLE
 * DOCKER_UNAVAILABLE whatever the pull policy, never IMAGE_PULL_FAILED (no pull
 * was tried), and says that Docker does not answer. */
static void boot_answers_docker_unavailable_when_nobody_listens(void **state)
{
    fl_env *e0 = *state;
    FL_SKIP_IF_NO_DOCKER(e0);
    proxy_start();
    char host[160];
    snprintf(host, sizeof host, "unix://%s", P.path);
    const char *args[] = {"--docker-host", host, NULL};
    fl_env *e = flx_begin(state, &(flx_flamed){.args = args});
    proxy_stop(); /* the socket path is gone: nobody listens there */

    static const int policies[] = {FLAME_PULL_DEFAULT, FLAME_PULL_IF_NOT_PRESENT,
                                   FLAME_PULL_ALWAYS, FLAME_PULL_NEVER};
    for (size_t i = 0; i < sizeof policies / sizeof policies[0]; i++) {
        for (int with_network = 0; with_network < 2; with_network++) {
            flame_boot_request req;
            fl_boot_req_init(e, &req);
            req.pull_policy = policies[i];
            if (!with_network)
                req.network = NULL;
            flame_runner *r = NULL;
            flame_status st;
            int rc = flame_client_boot(e->client, &req, &r, &st);
            flame_runner_free(r);
            print_message("pull_policy %d, %s: %s %s: %s\n", policies[i],
                          with_network ? "network" : "default bridge",
                          flame_grpc_status_name(st.code), st.reason, st.message);
            assert_int_not_equal(rc, 0);
            assert_int_equal(st.code, GS_UNAVAILABLE);
            assert_string_equal(st.reason, "DOCKER_UNAVAILABLE");
            fl_assert_contains(st.message, "cannot reach Docker");
        }
    }
    flx_pass(e);
}

/* Docker's pull stream for one 2 MB layer of flamed-test/app:latest. */
static const char pull_stream[] =
    "{\"status\":\"Pulling from flamed-test/app\",\"id\":\"latest\"}\n"
    "{\"status\":\"Pulling fs layer\",\"progressDetail\":{},\"id\":\"aaaaaaaaaaaa\"}\n"
    "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":1000000,\"total\":2000000},"
    "\"id\":\"aaaaaaaaaaaa\"}\n"
    "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":1500000,\"total\":2000000},"
    "\"id\":\"aaaaaaaaaaaa\"}\n"
    "{\"status\":\"Download complete\",\"progressDetail\":{},\"id\":\"aaaaaaaaaaaa\"}\n"
    "{\"status\":\"Pull complete\",\"progressDetail\":{},\"id\":\"aaaaaaaaaaaa\"}\n"
    "{\"status\":\"Digest: sha256:0123\"}\n"
    "{\"status\":\"Status: Downloaded newer image for flamed-test/app:latest\"}\n";

/* On a terminal, `flamectl boot` shows the pull's progress (bytes and layers,
 * from flamed's PULLING events), then that it creates and starts the runner;
 * with -q it shows nothing. The pull is Docker's stream as the proxy plays it (no
 * registry needed), the image itself the local one. */
static void flamectl_shows_pull_progress_on_a_terminal(void **state)
{
    fl_env *e0 = *state;
    FL_SKIP_IF_NO_DOCKER(e0);
    proxy_start();
    char host[160];
    snprintf(host, sizeof host, "unix://%s", P.path);
    const char *args[] = {"--docker-host", host, NULL};
    fl_env *e = flx_begin(state, &(flx_flamed){.args = args});
    struct fault f = {.method = "POST", .match = "/images/create", .action = STREAM,
                      .message = pull_stream};

    for (int quiet = 0; quiet < 2; quiet++) {
        char cmd[1024], id[17] = "";
        set_fault(&f);
        snprintf(cmd, sizeof cmd,
                 "script -qec '%s --addr %s%s boot --pull always --image %s --network %s "
                 "--pool %s --label %s' /dev/null </dev/null",
                 getenv("FLAMECTL_BIN"), e->addr, quiet ? " -q" : "", FL_IMAGE_APP, e->network,
                 e->pool, e->run_label);
        FILE *p = popen(cmd, "r");
        assert_non_null(p);
        char *tty = calloc(1, 65536);
        assert_non_null(tty);
        size_t n = 0, got;
        while (n < 65535 && (got = fread(tty + n, 1, 65535 - n, p)) > 0)
            n += got;
        int status = pclose(p);
        int hits = atomic_load(&P.hits);
        set_fault(NULL);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || hits == 0)
            fail_msg("flamectl boot exited %d (the pull fault took %d requests): %s",
                     WIFEXITED(status) ? WEXITSTATUS(status) : -1, hits, tty);
        /* the runner's id: the last line, after the progress line was erased */
        for (const char *q = tty; (q = strpbrk(q, "0123456789abcdef")); q++)
            if (strspn(q, "0123456789abcdef") == 16 && (q == tty || !isalnum((unsigned char)q[-1])) &&
                !isalnum((unsigned char)q[16])) {
                snprintf(id, sizeof id, "%.16s", q);
                q += 15;
            }
        if (quiet) {
            if (strstr(tty, "flamectl:"))
                fail_msg("-q: flamectl still showed progress: %s", tty);
        } else {
            print_message("terminal: %s\n", tty);
            /* a line while it downloads (PULLING comes at most every 250 ms, so
             * 1.0 or 1.5 MB), and the last one */
            if (!strstr(tty, "flamectl: pulling " FL_IMAGE_APP ": 1.") ||
                !strstr(tty, " MB of 2.0 MB, 0 of 1 layers") ||
                !strstr(tty, "flamectl: pulling " FL_IMAGE_APP ": 2.0 MB of 2.0 MB, 1 of 1 layers; "
                             "creating and starting "))
                fail_msg("no pull progress line on the terminal: %s", tty);
        }
        free(tty);
        assert_int_equal(strlen(id), 16);
        assert_int_equal(fl_shutdown(e, id), FLAME_RUNNER_REMOVED);
    }
    flx_pass(e);
}

/* flamed keeps using the proxy until the harness has stopped it. */
static int faults_teardown(void **state)
{
    int rc = flx_teardown(state);
    if (P.lfd >= 0)
        proxy_stop();
    return rc;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(boot_fails_as_documented_when_docker_fails, fl_setup,
                                        faults_teardown),
        cmocka_unit_test_setup_teardown(boot_answers_docker_unavailable_when_nobody_listens,
                                        fl_setup, faults_teardown),
        cmocka_unit_test_setup_teardown(flamectl_shows_pull_progress_on_a_terminal, fl_setup,
                                        faults_teardown),
    };
    return FL_RUN("docker_faults", tests);
}
