/*
 * tests/integration/it_startup.c - one flamed per socket and instance, flag
 * errors, and the socket directory (docs/architecture.md "Startup").
 *
 *  - startup_live_socket_is_refused: a second flamed on the first one's socket
 *    exits non-zero naming the path; the socket file stays and the first
 *    flamed still answers List.
 *  - startup_stale_socket_is_replaced: a socket file nobody listens on (a
 *    crashed flamed's) is replaced and the new flamed serves on it.
 *  - startup_non_socket_is_refused: a regular file at the --listen path is
 *    refused and left as it was.
 *  - startup_same_instance_is_locked: a second flamed with the same --instance
 *    on another socket is refused naming the instance, the lock file and the
 *    holder's pid; after kill -9 of the holder it starts.
 *  - startup_flag_errors_name_their_flag: each bad flag value is named as that
 *    flag with what it accepts (exit 64, before anything else happens).
 *  - startup_creates_socket_dir: a missing socket directory is created 0755;
 *    a missing grandparent is refused with the mkdir to run.
 *  - startup_tcp_port_in_use: a taken TCP port gets one actionable line, not
 *    gRPC core's error dump.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "harness_ext.h"

/* Start flamed with args (after the binary), output appended to log_path. */
static pid_t spawn_flamed(const char *const *args, const char *log_path)
{
    const char *bin = getenv("FLAMED_BIN");
    if (!bin || !bin[0])
        fail_msg("FLAMED_BIN is not set: run the integration tests through ctest");
    const char *argv[24] = {bin};
    size_t n = 1;
    for (const char *const *a = args; *a && n < 23; a++)
        argv[n++] = *a;
    argv[n] = NULL;
    return flx_spawn_logged(bin, argv, log_path);
}

/* Does something accept connections on the unix socket at path? */
static int socket_answers(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    int ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return ok;
}

/* Wait (30 s: flamed adopts before it listens) until flamed `pid` answers List on addr. */
static void wait_serving(pid_t pid, const char *addr, const char *log_path)
{
    int64_t until = fl_now_ms() + 30000;
    flame_client *c = NULL;
    flame_client_options opts = {.timeout_ms = 5000};
    assert_int_equal(flame_client_open(&c, addr, &opts), 0);
    for (;;) {
        int ws;
        if (waitpid(pid, &ws, WNOHANG) == pid)
            fail_msg("flamed on %s exited during start-up (wait status 0x%x); log %s", addr, ws,
                     log_path);
        flame_runner **rs = NULL;
        size_t n = 0;
        flame_status st;
        if (flame_client_list(c, NULL, &rs, &n, &st) == 0) {
            flame_runner_list_free(rs, n);
            break;
        }
        if (fl_now_ms() >= until) {
            kill(pid, SIGKILL);
            waitpid(pid, &ws, 0);
            fail_msg("flamed on %s did not answer List within 30 s; log %s", addr, log_path);
        }
        fl_sleep_ms(50);
    }
    flame_client_close(c);
}

/* SIGTERM and assert exit 0 within 10 s. */
static void stop_flamed(pid_t pid)
{
    kill(pid, SIGTERM);
    int ws = 0;
    for (int i = 0; i < 1000; i++) {
        if (waitpid(pid, &ws, WNOHANG) == pid) {
            assert_true(WIFEXITED(ws));
            assert_int_equal(WEXITSTATUS(ws), 0);
            return;
        }
        fl_sleep_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &ws, 0);
    fail_msg("flamed (pid %d) did not exit within 10 s of SIGTERM", (int)pid);
}

static void assert_socket_file(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        fail_msg("%s is gone: %s", path, strerror(errno));
    assert_true(S_ISSOCK(st.st_mode));
}

static void assert_list_ok(fl_env *e)
{
    flame_runner **rs = NULL;
    size_t n = 0;
    flame_status st;
    int rc = flame_client_list(e->client, NULL, &rs, &n, &st);
    if (rc != 0)
        fail_msg("the first flamed no longer answers List: %s", st.message);
    flame_runner_list_free(rs, n);
}

static void startup_live_socket_is_refused(void **state)
{
    fl_env *e = flx_begin(state, NULL);
    /* Once with the default instance (the address: the socket check speaks
     * first) and once with an instance of its own (only the socket check). */
    const char *args1[] = {"--listen", e->addr, NULL};
    const char *args2[] = {"--listen", e->addr, "--instance", e->tag, NULL};
    const char *const *cases[] = {args1, args2};
    for (size_t i = 0; i < 2; i++) {
        char *out = NULL;
        int code = flx_flamed_run(cases[i], &out, 20000);
        if (code <= 0 || !strstr(out, e->sock_path) || !strstr(out, "in use")) {
            print_error("case %zu: flamed exited %d; expected non-zero and a message naming %s "
                        "as in use:\n%s\n", i, code, e->sock_path, out);
            free(out);
            fail();
        }
        assert_null(strstr(out, "adopt")); /* refused before it looked at any runner */
        free(out);
        assert_socket_file(e->sock_path);
        assert_list_ok(e);
    }
    flx_pass(e);
}

static void startup_stale_socket_is_replaced(void **state)
{
    fl_env *e = flx_begin(state, NULL);
    const char *path = flx_path(e, "stale.sock");
    /* A socket file that nobody listens on, as a kill -9'd flamed leaves it. */
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(fd);
    assert_socket_file(path);
    assert_false(socket_answers(path));

    char addr[160];
    snprintf(addr, sizeof(addr), "unix:%s", path);
    const char *args[] = {"--listen", addr, "--log-level", "warn", NULL};
    pid_t pid = spawn_flamed(args, flx_path(e, "stale.log"));
    wait_serving(pid, addr, flx_path(e, "stale.log"));
    assert_socket_file(path);
    stop_flamed(pid);
    flx_pass(e);
}

static void startup_non_socket_is_refused(void **state)
{
    fl_env *e = flx_begin(state, NULL);
    const char *path = flx_write(e, "notasocket.sock", "keep me\n");
    char addr[160];
    snprintf(addr, sizeof(addr), "unix:%s", path);
    const char *args[] = {"--listen", addr, NULL};
    char *out = NULL;
    int code = flx_flamed_run(args, &out, 20000);
    if (code <= 0 || !strstr(out, path) || !strstr(out, "not a socket")) {
        print_error("flamed exited %d; expected non-zero naming %s as not a socket:\n%s\n", code,
                    path, out);
        free(out);
        fail();
    }
    free(out);
    /* Left exactly as it was. */
    char buf[32] = "";
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(buf, sizeof(buf), f));
    fclose(f);
    assert_string_equal(buf, "keep me\n");
    flx_pass(e);
}

static void startup_same_instance_is_locked(void **state)
{
    fl_env *e = flx_begin(state, NULL);
    char addr[160];
    snprintf(addr, sizeof(addr), "unix:%s", flx_path(e, "second.sock"));
    /* e's flamed runs with the default instance, its address. */
    const char *args[] = {"--listen", addr, "--instance", e->addr, "--log-level", "warn", NULL};
    char *out = NULL;
    int code = flx_flamed_run(args, &out, 20000);
    char pid_text[32];
    snprintf(pid_text, sizeof(pid_text), "pid %d", (int)e->flamed_pid);
    if (code <= 0 || !strstr(out, e->addr) || !strstr(out, "lock file") ||
        !strstr(out, pid_text)) {
        print_error("flamed exited %d; expected non-zero naming instance %s, the lock file and "
                    "%s:\n%s\n", code, e->addr, pid_text, out);
        free(out);
        fail();
    }
    free(out);
    assert_false(socket_answers(addr + 5));
    assert_list_ok(e);

    /* kill -9 releases the lock: the same instance starts on the other socket. */
    int ws;
    kill(e->flamed_pid, SIGKILL);
    waitpid(e->flamed_pid, &ws, 0);
    e->flamed_pid = 0;
    pid_t pid = spawn_flamed(args, flx_path(e, "second.log"));
    wait_serving(pid, addr, flx_path(e, "second.log"));
    stop_flamed(pid);
    flx_pass(e);
}

static void startup_flag_errors_name_their_flag(void **state)
{
    fl_env *e = flx_begin(state, NULL);
    static const struct {
        const char *flag, *value, *accepts;
    } cases[] = {
        {"--listen", "nowhere", "unix:/absolute/path"},
        {"--listen", "unix:relative.sock", "unix:/absolute/path"},
        {"--listen", "127.0.0.1:99999", "port 0-65535"},
        {"--socket-mode", "999", "octal mode"},
        {"--socket-mode", "rw", "octal mode"},
        {"--socket-group", "fltest-no-such-group", "existing group"},
        {"--instance", "", "non-empty"},
        {"--instance", "a\tb", "control characters"},
        {"--lock-dir", "relative/dir", "absolute directory"},
        {"--boot-settle-ms", "10001", "0 to 10000"},
        {"--boot-timeout-ms", "abc", "1 to 1800000"},
        {"--boot-timeout-ms", "0", "1 to 1800000"},
        {"--stop-timeout-ms", "-5", "0 to 3600000"},
        {"--watch-queue", "0", "1 to 1000000"},
        {"--cq-threads", "65", "1 to 64"},
        {"--max-calls", "lots", "1 to 100000"},
        {"--shutdown-grace-ms", "1e3", "0 to 3600000"},
        {"--log-level", "chatty", "debug, info, warn or error"},
        {"--log-format", "yaml", "text or json"},
        {"--docker-host", "ssh://me@docker.example", "unix:///path/to/docker.sock or tcp://"},
        {"--docker-host", "tcp://127.0.0.1:99999", "tcp://HOST[:PORT]"},
        {"--docker-host", "tcp://127.0.0.1:2375", "--docker-insecure"},
        {"--docker-tls-ca", "/nonexistent/fltest-ca.pem", "/nonexistent/fltest-ca.pem"},
        {"--metrics-listen", "nonsense", "HOST:PORT"},
        {"--policy", "/nonexistent/fltest-policy.json", "/nonexistent/fltest-policy.json"},
        {"--auth-tokens", "/nonexistent/fltest-tokens", "/nonexistent/fltest-tokens"},
        {"--tls-cert", "/nonexistent/fltest-cert.pem", "/nonexistent/fltest-cert.pem"},
        {"--tls-client-ca", "/nonexistent/fltest-ca.pem", "/nonexistent/fltest-ca.pem"},
    };
    char addr[160];
    snprintf(addr, sizeof(addr), "unix:%s", flx_path(e, "flags.sock"));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *args[8] = {"--listen", addr, cases[i].flag, cases[i].value, NULL};
        if (strcmp(cases[i].flag, "--tls-cert") == 0) {
            args[4] = "--tls-key";
            args[5] = cases[i].value;
            args[6] = NULL;
        }
        if (strcmp(cases[i].flag, "--docker-tls-ca") == 0) { /* read only for a TLS host */
            args[4] = "--docker-host";
            args[5] = "tcp://127.0.0.1:2376";
            args[6] = "--docker-tls-verify";
            args[7] = NULL;
        }
        char *out = NULL;
        int code = flx_flamed_run(args, &out, 20000);
        if (code != 64 || !strstr(out, cases[i].flag) || !strstr(out, cases[i].accepts) ||
            (strcmp(cases[i].flag, "--listen") != 0 && strstr(out, "for --listen"))) {
            print_error("%s '%s': flamed exited %d; expected 64 and a message naming %s and "
                        "\"%s\":\n%s\n", cases[i].flag, cases[i].value, code, cases[i].flag,
                        cases[i].accepts, out);
            free(out);
            fail();
        }
        free(out);
    }
    flx_pass(e);
}

static void startup_creates_socket_dir(void **state)
{
    fl_env *e = flx_begin(state, NULL);
    const char *dir = flx_path(e, "run-flamed");
    char path[160], addr[176];
    snprintf(path, sizeof(path), "%s/flamed.sock", dir);
    snprintf(addr, sizeof(addr), "unix:%s", path);
    const char *log = flx_path(e, "dir.log");
    mode_t old = umask(0077); /* the mode is set, not left to the umask */
    const char *args[] = {"--listen", addr, "--log-level", "warn", NULL};
    pid_t pid = spawn_flamed(args, log);
    umask(old);
    wait_serving(pid, addr, log);
    struct stat st;
    assert_int_equal(stat(dir, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0755);
    assert_socket_file(path);
    stop_flamed(pid);

    /* One level only: a missing grandparent is an error that says what to run. */
    char deep[200];
    snprintf(deep, sizeof(deep), "unix:%s/missing/run/flamed.sock", flx_dir(e));
    const char *args2[] = {"--listen", deep, NULL};
    char *out = NULL;
    int code = flx_flamed_run(args2, &out, 20000);
    if (code <= 0 || !strstr(out, "mkdir -p") || strstr(out, "chttp2")) {
        print_error("flamed exited %d; expected non-zero with the mkdir to run and no gRPC core "
                    "log line:\n%s\n", code, out);
        free(out);
        fail();
    }
    free(out);
    flx_pass(e);
}

static void startup_tcp_port_in_use(void **state)
{
    fl_env *e = flx_begin(state, NULL);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(listen(fd, 1), 0);
    socklen_t len = sizeof(sin);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    char tcp[64], addr[160];
    snprintf(tcp, sizeof(tcp), "127.0.0.1:%d", ntohs(sin.sin_port));
    snprintf(addr, sizeof(addr), "unix:%s", flx_path(e, "tcp.sock"));
    const char *args[] = {"--listen", addr, "--listen", tcp, NULL};
    char *out = NULL;
    int code = flx_flamed_run(args, &out, 20000);
    close(fd);
    if (code <= 0 || !strstr(out, tcp) || !strstr(out, "in use") || strstr(out, "chttp2")) {
        print_error("flamed exited %d; expected non-zero naming %s as in use and no gRPC core "
                    "log line:\n%s\n", code, tcp, out);
        free(out);
        fail();
    }
    free(out);
    flx_pass(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FLX_UNIT(startup_live_socket_is_refused),
        FLX_UNIT(startup_stale_socket_is_replaced),
        FLX_UNIT(startup_non_socket_is_refused),
        FLX_UNIT(startup_same_instance_is_locked),
        FLX_UNIT(startup_flag_errors_name_their_flag),
        FLX_UNIT(startup_creates_socket_dir),
        FLX_UNIT(startup_tcp_port_in_use),
    };
    return FL_RUN("startup", tests);
}
