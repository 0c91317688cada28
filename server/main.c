/*
 * flamed: boots, runs work on, watches and shuts down FLAME runners as Docker
 * containers, over gRPC. This file holds flags, configuration and signals:
 * nothing else. See docs/architecture.md.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <grpc/grpc.h>

#include "common/instance_lock.h"
#include "common/lib_init.h"
#include "common/log.h"
#include "common/malloc_tune.h"
#include "common/mem_trim.h"
#include "common/metrics.h"
#include "common/metrics_http.h"
#include "common/startup_pages.h"
#include "docker/docker.h"
#include "docker/observe.h"
#include "engine/docker_engine.h"
#include "engine/swarm_engine.h"
#include "engine/swarm_nodes.h"
#include "flame/error.h"
#include "rpc/auth.h"
#include "rpc/health.h"
#include "rpc/reflection.h"
#include "rpc/rpc.h"
#include "rpc/service_adapter.h"
#include "rpc/unix_listen.h"
#include "service/docker_health.h"
#include "service/lifecycle.h"
#include "service/metrics_source.h"
#include "service/service.h"
#include "service/warm_pools.h"

#ifndef FLAMED_INIT_PATH
#define FLAMED_INIT_PATH "/usr/local/libexec/flamed/flamed-init"
#endif

#define DEFAULT_LISTEN "unix:/run/flamed/flamed.sock"

/* The service's serving state, told to grpc.health.v1 (ud: the rpc_health). */
static void serving_to_health(void *ud, int serving)
{
    rpc_health_set(ud, serving ? RPC_HEALTH_SERVING : RPC_HEALTH_NOT_SERVING);
}
#define MAX_LISTEN 8

extern const unsigned char flamed_descriptor_set[];
extern const unsigned long flamed_descriptor_set_len;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: flamed [options]\n"
            "\n"
            "Boot, run work on, watch and shut down FLAME runners as Docker containers, over gRPC\n"
            "(service flame.v1.RunnerService).\n"
            "\n"
            "  --listen ADDR           gRPC address, repeatable: unix:/path (default %s),\n"
            "                          127.0.0.1:50051, [::]:50051 (plaintext: use a unix socket or\n"
            "                          a private network)\n"
            "  --socket-mode MODE      octal mode of unix sockets (default 0660)\n"
            "  --socket-group GROUP    group of unix sockets (default: flamed's)\n"
            "  --instance NAME         this flamed's name on the Docker host: it adopts and follows\n"
            "                          only runners labelled flamed.instance=NAME, so several flamed\n"
            "                          can share a dockerd (default: the first --listen address).\n"
            "                          One flamed per instance and Docker socket: a second one\n"
            "                          refuses to start (an flock in --lock-dir)\n"
            "  --lock-dir DIR          where instance locks live (default /run/flamed as root, else\n"
            "                          $XDG_RUNTIME_DIR/flamed, else /tmp/flamed-UID)\n"
            "  --auth-tokens FILE      require `authorization: Bearer TOKEN`; FILE holds\n"
            "                          name:token[:pool,pool] lines (scoped to those pools)\n"
            "  --auth-health          require a token for grpc.health.v1 too (default: open)\n"
            "  --tls-cert FILE, --tls-key FILE\n"
            "                          serve TLS on TCP addresses (PEM)\n"
            "  --tls-client-ca FILE    require client certificates signed by this CA (mTLS)\n"
            "  --docker-host URL       the Docker Engine: unix:///path of its socket, or\n"
            "                          tcp://HOST[:PORT] (default $DOCKER_HOST, else the socket\n"
            "                          /var/run/docker.sock, ~/.docker/run/docker.sock,\n"
            "                          /mnt/wsl/shared-docker/docker.sock). tcp:// needs TLS\n"
            "                          verification (port 2376) or --docker-insecure (port 2375)\n"
            "  --docker-tls-verify     TLS to a tcp:// Docker host, dockerd's certificate checked\n"
            "                          against the CA (default: on when $DOCKER_TLS_VERIFY is\n"
            "                          non-empty, as the docker CLI)\n"
            "  --docker-tls-ca FILE    that CA, PEM (default $DOCKER_CERT_PATH/ca.pem, where\n"
            "                          DOCKER_CERT_PATH defaults to ~/.docker)\n"
            "  --docker-tls-cert FILE, --docker-tls-key FILE\n"
            "                          flamed's client certificate and key, PEM (default\n"
            "                          $DOCKER_CERT_PATH/cert.pem and key.pem, when present)\n"
            "  --docker-insecure       accept a tcp:// Docker host without TLS (logs a warning:\n"
            "                          whoever reaches that port is root on the Docker host)\n"
            "  --engine ENGINE         what runs runners: docker (the default: one container per runner)\n"
            "                          or swarm (one Swarm service per runner, on the swarm manager\n"
            "                          at --docker-host; experimental: docs/engines.md)\n"
            "  --swarm-nodes FILE      with --engine swarm: each node's Docker Engine (JSON: node ID or\n"
            "                          hostname -> {\"host\": \"tcp://...\", TLS settings}), so that Spawn,\n"
            "                          Logs and Shutdown reach runners on other nodes (docs/engines.md)\n"
            "  --policy FILE           Boot policy (JSON): image/network allowlists, what HostConfig\n"
            "                          may ask for, resource defaults and ceilings, quotas, limits\n"
            "                          (default: built-in, denies host-escaping settings)\n"
            "  --pools FILE            warm pools (JSON, docs/warm.md): runners made ahead of their\n"
            "                          Boot; a matching Boot into a pool takes one (off by default)\n"
            "  --init-path FILE        flamed-init, bind-mounted read-only into warm runners: a regular\n"
            "                          file not writable by group or others (default %s)\n"
            "  --boot-timeout-ms MS    default Boot timeout (default 30000)\n"
            "  --boot-settle-ms MS     Boot looks again once the container has run this long (from\n"
            "                          Docker's StartedAt), so a command that fails at once fails\n"
            "                          the Boot (default 25; 0: off)\n"
            "  --stop-timeout-ms MS    default Shutdown grace (default 10000)\n"
            "  --watch-queue N         events a slow watcher may lag before it is dropped (default 1024)\n"
            "  --cq-threads N          gRPC completion-queue threads (default 2)\n"
            "  --max-calls N           concurrent Boot/Spawn/Shutdown calls (default 512)\n"
            "  --shutdown-grace-ms MS  on SIGTERM, wait this long for calls before cancelling (default 5000)\n"
            "  --log-level LEVEL       debug, info, warn, error (default info)\n"
            "  --log-format FORMAT     text (key=value) or json (default text)\n"
            "  --metrics-listen ADDR   serve Prometheus metrics at http://ADDR/metrics\n"
            "                          (127.0.0.1:9464; plaintext, no auth: keep it private)\n"
            "  --release-startup-pages-ms MS\n"
            "                          this long after it listens, flamed unmaps the library pages\n"
            "                          only its start touched (they stay in the page cache; a first\n"
            "                          call faults back what it needs) (default 2000; 0: keep them)\n"
            "  --version, --help\n",
            DEFAULT_LISTEN, FLAMED_INIT_PATH);
}

/* What each flag with a checked value accepts, for "invalid value" messages. */
static const char *flag_accepts(int ch)
{
    switch (ch) {
    case 'l': return "unix:/absolute/path (at most 107 bytes), HOST:PORT or [IPv6]:PORT (port 0-65535)";
    case 'm': return "an octal mode from 0 to 0777, e.g. 0660";
    case 'G': return "the name of an existing group";
    case 'I': return "a non-empty name of at most 255 bytes without control characters";
    case 'D': return "an absolute directory path";
    case 'S': return "milliseconds from 0 to 10000 (0: off)";
    case 'b': return "milliseconds from 1 to 1800000";
    case 's': return "milliseconds from 0 to 3600000";
    case 'w': return "a count from 1 to 1000000";
    case 't': return "a count from 1 to 64";
    case 'c': return "a count from 1 to 100000";
    case 'g': return "milliseconds from 0 to 3600000";
    case 'L': return "debug, info, warn or error";
    case 'F': return "text or json";
    case 'd': return "unix:///path/to/docker.sock or tcp://HOST[:PORT]";
    case 'E': return "docker or swarm";
    case 'r': return "milliseconds from 0 to 3600000 (0: keep the pages)";
    default: return "see flamed --help";
    }
}

/*
 * --init-path: flamed-init is bind-mounted into every warm runner of every
 * caller, so a file someone else could replace would run in all of them.
 * Accepted: a regular file (symlinks resolved), owned by root or by flamed's
 * user, not writable by group or others, executable. *out: its absolute path.
 */
static int init_path_check(const char *path, char *out, size_t outlen, char *err, size_t errlen)
{
    char real[PATH_MAX];
    struct stat st;
    if (!realpath(path, real) || stat(real, &st) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode))
        snprintf(err, errlen, "%.900s is not a regular file", real);
    else if (st.st_uid != 0 && st.st_uid != geteuid())
        snprintf(err, errlen, "%.900s is owned by uid %u, neither root nor flamed's user", real,
                 (unsigned)st.st_uid);
    else if (st.st_mode & (S_IWGRP | S_IWOTH))
        snprintf(err, errlen, "%.900s is writable by its group or others (mode %04o): chmod go-w it",
                 real, (unsigned)(st.st_mode & 07777));
    else if (!(st.st_mode & S_IXUSR))
        snprintf(err, errlen, "%.900s is not executable (mode %04o)", real, (unsigned)(st.st_mode & 07777));
    else if (strlen(real) >= outlen)
        snprintf(err, errlen, "%.900s: path too long", real);
    else {
        snprintf(out, outlen, "%s", real);
        return 0;
    }
    return -1;
}

/* A --listen address flamed can try to bind: unix:/abs/path, or ...:PORT. */
static int listen_ok(const char *addr)
{
    const char *path = rpc_unix_listen_path(addr);
    if (path)
        return path[0] == '/' && strlen(path) < 108;
    const char *colon = strrchr(addr, ':');
    if (!colon || colon == addr || !colon[1])
        return 0;
    for (const char *p = colon + 1; *p; p++)
        if (*p < '0' || *p > '9')
            return 0;
    return strlen(colon + 1) <= 5 && strtol(colon + 1, NULL, 10) <= 65535;
}

static int instance_ok(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > 255)
        return 0;
    for (const char *p = name; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 0);
    if (errno || *end || end == s || v > max || s[0] == '-')
        return -1;
    *out = v;
    return 0;
}

/*
 * Wait for SIGTERM or SIGINT; release_ms after the call (flamed listening,
 * adoption under way or done), unmap the start-up-only library pages once
 * (common/startup_pages.h). 0: never. Returns the signal.
 */
static int wait_releasing_pages(const sigset_t *sigs, long release_ms)
{
    if (release_ms > 0) {
        struct timespec ts = {.tv_sec = release_ms / 1000, .tv_nsec = (release_ms % 1000) * 1000000L};
        int sig;
        while ((sig = sigtimedwait(sigs, NULL, &ts)) < 0 && errno == EINTR)
            ;
        if (sig > 0)
            return sig;
        struct startup_pages_result r;
        if (startup_pages_release(&r) < 0)
            flamed_log(LOG_WARN, "startup_pages_not_released", "error=\"cannot read /proc/self/smaps\"");
        else
            flamed_log(LOG_DEBUG, "startup_pages_released", "mappings=%zu rss_kb=%zu", r.mappings,
                       r.released_kb);
    }
    int sig = 0;
    sigwait(sigs, &sig);
    return sig;
}

int main(int argc, char **argv)
{
    /* glibc malloc for a long-running server that gives memory back after a
     * burst (common/malloc_tune.h): first a second exec without the
     * per-thread cache, then one arena and the thresholds, before any thread. */
    malloc_tune_reexec(argv);
    malloc_tune_apply();
    const char *listen[MAX_LISTEN + 1] = {0};
    int n_listen = 0;
    const char *docker_host = NULL; /* --docker-host; $DOCKER_HOST is read below */
    unsigned long boot_settle = 25, socket_mode = 0660, boot_timeout = 30000, stop_timeout = 10000, watch_queue = 1024,
                  cq_threads = 2, max_calls = 512, grace_ms = 5000, release_pages_ms = 2000;
    const char *metrics_listen = NULL;
    const char *socket_group = NULL, *auth_tokens = NULL, *tls_cert = NULL, *tls_key = NULL,
               *tls_client_ca = NULL;
    int auth_health = 0, docker_tls_verify = 0, docker_insecure = 0, swarm = 0;
    const char *docker_tls_ca = NULL, *docker_tls_cert = NULL, *docker_tls_key = NULL;
    const char *policy_file = NULL, *instance = NULL, *lock_dir = NULL;
    const char *swarm_nodes_file = NULL; /* --swarm-nodes */
    const char *pools_file = NULL, *init_path = FLAMED_INIT_PATH;
    enum log_level level = LOG_INFO;
    enum log_format format = LOG_FORMAT_TEXT;
    static const struct option opts[] = {
        {"listen", required_argument, 0, 'l'},
        {"socket-mode", required_argument, 0, 'm'},
        {"socket-group", required_argument, 0, 'G'},
        {"policy", required_argument, 0, 'P'},
        {"pools", required_argument, 0, 'W'},
        {"init-path", required_argument, 0, 'N'},
        {"instance", required_argument, 0, 'I'},
        {"lock-dir", required_argument, 0, 'D'},
        {"boot-settle-ms", required_argument, 0, 'S'},
        {"auth-tokens", required_argument, 0, 'A'},
        {"auth-health", no_argument, 0, 'H'},
        {"tls-cert", required_argument, 0, 'C'},
        {"tls-key", required_argument, 0, 'K'},
        {"tls-client-ca", required_argument, 0, 'R'},
        {"docker-host", required_argument, 0, 'd'},
        {"docker-tls-verify", no_argument, 0, 'T'},
        {"docker-tls-ca", required_argument, 0, 'a'},
        {"docker-tls-cert", required_argument, 0, 'e'},
        {"docker-tls-key", required_argument, 0, 'k'},
        {"docker-insecure", no_argument, 0, 'i'},
        {"engine", required_argument, 0, 'E'},
        {"swarm-nodes", required_argument, 0, 'O'},
        {"boot-timeout-ms", required_argument, 0, 'b'},
        {"stop-timeout-ms", required_argument, 0, 's'},
        {"watch-queue", required_argument, 0, 'w'},
        {"cq-threads", required_argument, 0, 't'},
        {"max-calls", required_argument, 0, 'c'},
        {"shutdown-grace-ms", required_argument, 0, 'g'},
        {"log-level", required_argument, 0, 'L'},
        {"log-format", required_argument, 0, 'F'},
        {"metrics-listen", required_argument, 0, 'M'},
        {"release-startup-pages-ms", required_argument, 0, 'r'},
        {"version", no_argument, 0, 'V'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "hV", opts, NULL)) != -1) {
        int bad = 0;
        switch (ch) {
        case 'l':
            if (n_listen == MAX_LISTEN) {
                fprintf(stderr, "flamed: at most %d --listen addresses\n", MAX_LISTEN);
                return 64;
            }
            listen[n_listen++] = optarg;
            bad = !listen_ok(optarg);
            break;
        case 'm': {
            char *end;
            errno = 0;
            socket_mode = strtoul(optarg, &end, 8);
            bad = errno || *end || end == optarg || optarg[0] == '-' || socket_mode > 0777;
            break;
        }
        case 'd': docker_host = optarg; break;
        case 'T': docker_tls_verify = 1; break;
        case 'a': docker_tls_ca = optarg; break;
        case 'e': docker_tls_cert = optarg; break;
        case 'k': docker_tls_key = optarg; break;
        case 'i': docker_insecure = 1; break;
        case 'E':
            swarm = strcmp(optarg, "swarm") == 0;
            bad = !swarm && strcmp(optarg, "docker") != 0;
            break;
        case 'G':
            socket_group = optarg;
            bad = getgrnam(optarg) == NULL;
            break;
        case 'P': policy_file = optarg; break;
        case 'O': swarm_nodes_file = optarg; break;
        case 'W': pools_file = optarg; break;
        case 'N': init_path = optarg; break;
        case 'I':
            instance = optarg;
            bad = !instance_ok(optarg);
            break;
        case 'D':
            lock_dir = optarg;
            bad = optarg[0] != '/';
            break;
        case 'S': bad = parse_uint(optarg, 10000, &boot_settle); break;
        case 'A': auth_tokens = optarg; break;
        case 'H': auth_health = 1; break;
        case 'C': tls_cert = optarg; break;
        case 'K': tls_key = optarg; break;
        case 'R': tls_client_ca = optarg; break;
        case 'b': bad = parse_uint(optarg, 1800000, &boot_timeout) || boot_timeout == 0; break;
        case 's': bad = parse_uint(optarg, 3600000, &stop_timeout); break;
        case 'w': bad = parse_uint(optarg, 1000000, &watch_queue) || watch_queue == 0; break;
        case 't': bad = parse_uint(optarg, 64, &cq_threads) || cq_threads == 0; break;
        case 'c': bad = parse_uint(optarg, 100000, &max_calls) || max_calls == 0; break;
        case 'g': bad = parse_uint(optarg, 3600000, &grace_ms); break;
        case 'L': bad = log_level_parse(optarg, &level) != 0; break;
        case 'M': metrics_listen = optarg; break;
        case 'r': bad = parse_uint(optarg, 3600000, &release_pages_ms); break;
        case 'F':
            if (strcmp(optarg, "text") == 0)
                format = LOG_FORMAT_TEXT;
            else if (strcmp(optarg, "json") == 0)
                format = LOG_FORMAT_JSON;
            else
                bad = 1;
            break;
        case 'V': printf("flamed %s\n", FLAMED_VERSION); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 64;
        }
        if (bad) {
            const char *name = "?";
            for (const struct option *o = opts; o->name; o++)
                if (o->val == ch)
                    name = o->name;
            fprintf(stderr, "flamed: invalid value '%s' for --%s: expected %s\n", optarg, name,
                    flag_accepts(ch));
            return 64;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "flamed: unexpected argument '%s'\n", argv[optind]);
        return 64;
    }
    if (n_listen == 0)
        listen[n_listen++] = DEFAULT_LISTEN;
    /* Files are read again when used; checked here so a typo fails before adoption. */
    const char *const files[][2] = {{"--tls-cert", tls_cert}, {"--tls-key", tls_key},
                                    {"--tls-client-ca", tls_client_ca}};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        if (files[i][1] && access(files[i][1], R_OK) != 0) {
            fprintf(stderr, "flamed: cannot read %s %s: %s\n", files[i][0], files[i][1], strerror(errno));
            return 64;
        }
    if ((tls_cert != NULL) != (tls_key != NULL) || (tls_client_ca && !tls_cert)) {
        fprintf(stderr, "flamed: --tls-cert and --tls-key go together; --tls-client-ca needs them\n");
        return 64;
    }
    log_configure(level, format);

    /* Where Docker is: the docker CLI's environment, flags first (docs/engines.md). */
    static struct docker_endpoint dep; /* static: 17 KB, read until exit */
    const struct docker_endpoint_opts deo = {
        .host_flag = docker_host,
        .host_env = getenv("DOCKER_HOST"),
        .tls_verify_flag = docker_tls_verify,
        .tls_verify_env = getenv("DOCKER_TLS_VERIFY"),
        .ca_flag = docker_tls_ca,
        .cert_flag = docker_tls_cert,
        .key_flag = docker_tls_key,
        .cert_path_env = getenv("DOCKER_CERT_PATH"),
        .config_env = getenv("DOCKER_CONFIG"),
        .home = getenv("HOME"),
        .insecure = docker_insecure,
    };
    char derr[1024] = "";
    int rc = docker_endpoint_resolve(&dep, &deo, derr, sizeof(derr));
    if (rc == FLAME_EINVALID) {
        fprintf(stderr, "flamed: %s\n", derr);
        return 64;
    }
    const char *sock = dep.address; /* the socket path, or tcp://HOST:PORT */
    if (rc == FLAME_ENOTFOUND)
        flamed_log(LOG_WARN, "docker_socket_missing", "path=%s hint=\"start dockerd or pass --docker-host\"", sock);
    if (dep.tcp && !dep.tls)
        flamed_log(LOG_WARN, "docker_insecure",
                   "address=%s hint=\"plain TCP (--docker-insecure): anyone who can reach this port is root "
                   "on the Docker host, and the traffic can be read and changed; use TLS (DOCKER_TLS_VERIFY=1, "
                   "docs/engines.md)\"", sock);
    if (dep.tls)
        flamed_log(LOG_INFO, "docker_tls", "address=%s ca=%s cert=%s key=%s", sock, dep.ca_file,
                   dep.cert_file[0] ? dep.cert_file : "none", dep.key_file[0] ? dep.key_file : "none");

    /* Signals go to the main thread only: block them before any thread starts. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (mem_trim_start() < 0)
        flamed_log(LOG_WARN, "mem_trim_unavailable", "hint=\"freed Watch memory stays in the heap\"");

    /* Without TLS anywhere, OpenSSL skips openssl.cnf and its error strings
     * (common/lib_init.h: ~1 MiB of idle RSS); it must come before libcurl's. */
    if (lib_init_openssl(tls_cert != NULL || dep.tls) < 0) {
        fprintf(stderr, "flamed: OpenSSL failed to initialise\n");
        return 70;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "flamed: libcurl failed to initialise\n");
        return 70;
    }
    grpc_init();
    metrics_set_build_info(FLAMED_VERSION, grpc_version_string());
    docker_set_request_hook(metrics_docker_request);
    metrics_http *metrics = NULL;
    int exit_code = 0;
    docker_client *docker = NULL;
    struct engine *engine = NULL;
    struct swarm_nodes *swarm_nodes = NULL;
    struct service *svc = NULL;
    rpc_server *srv = NULL;
    rpc_health *health = NULL;
    rpc_adapter *adapter = NULL;
    rpc_reflection *reflection = NULL;
    rpc_auth *auth = NULL;
    struct policy *policy = NULL, *pools_policy = NULL;
    struct warm_pools *pools = NULL;
    static char init_real[PATH_MAX];
    instance_lock *lock = NULL;
    char err[1024] = "";
    if (policy_file && policy_load(&policy, policy_file, sock, err, sizeof(err)) < 0) {
        fprintf(stderr, "flamed: --policy %s: %s\n", policy_file, err);
        exit_code = 64;
        goto done;
    }
    /* The swarm's nodes: the same TLS settings as --docker-host unless an entry says otherwise. */
    if (swarm_nodes_file) {
        if (!swarm) {
            fprintf(stderr, "flamed: --swarm-nodes needs --engine swarm\n");
            exit_code = 64;
            goto done;
        }
        if (swarm_nodes_load(&swarm_nodes, swarm_nodes_file, &deo, err, sizeof(err)) < 0) {
            fprintf(stderr, "flamed: %s\n", err);
            exit_code = 64;
            goto done;
        }
        flamed_log(LOG_INFO, "swarm_nodes", "file=%s nodes=%zu", swarm_nodes_file,
                   swarm_nodes_count(swarm_nodes));
    }
    /* Warm pools: every spec passes the policy Boots get (the built-in one
     * without --policy), and flamed-init must be safe to mount, or flamed
     * does not start. */
    if (pools_file) {
        if (swarm) {
            fprintf(stderr, "flamed: --pools: warm runners are not supported with --engine swarm "
                            "(a Swarm task's stdin cannot be attached): use --engine docker\n");
            exit_code = 64;
            goto done;
        }
        if (init_path_check(init_path, init_real, sizeof(init_real), err, sizeof(err)) < 0) {
            fprintf(stderr, "flamed: --init-path %s\n", err);
            exit_code = 64;
            goto done;
        }
        if (!policy && policy_parse(&pools_policy, NULL, sock, err, sizeof(err)) < 0) {
            fprintf(stderr, "flamed: the built-in policy: %s\n", err);
            exit_code = 70;
            goto done;
        }
        /* A prefix a Boot may bind read-write must not hold flamed-init: a
         * runner could replace it for every warm runner of every pool. */
        const char *in_pool = NULL;
        const char *cover = policy_host_binds_covering(policy ? policy : pools_policy, init_real,
                                                       &in_pool);
        if (cover) {
            fprintf(stderr, "flamed: --init-path %s lies under %s%s%sallow.host_binds '%s': a "
                            "runner could bind it read-write and replace flamed-init for every "
                            "warm runner: install flamed-init outside every host_binds prefix\n",
                    init_real, in_pool ? "pools." : "", in_pool ? in_pool : "", in_pool ? "." : "",
                    cover);
            exit_code = 64;
            goto done;
        }
        if (warm_pools_load(&pools, pools_file, policy ? policy : pools_policy, err, sizeof(err)) < 0) {
            fprintf(stderr, "flamed: --pools %s: %s\n", pools_file, err);
            exit_code = 64;
            goto done;
        }
        flamed_log(LOG_INFO, "warm_pools_loaded", "file=%s pools=%zu init_path=%s", pools_file,
                   pools->n, init_real);
    }
    if (auth_tokens && rpc_auth_load(&auth, auth_tokens, err, sizeof(err)) < 0) {
        fprintf(stderr, "flamed: --auth-tokens %s: %s\n", auth_tokens, err);
        exit_code = 64;
        goto done;
    }
    if (auth)
        flamed_log(LOG_INFO, "auth_tokens_loaded", "count=%zu file=%s", rpc_auth_count(auth), auth_tokens);
    /* One flamed per socket and instance, checked before adoption: a second
     * flamed must not adopt (and later reap) the first one's runners, nor take
     * its socket. See docs/architecture.md "Startup". */
    for (int i = 0; i < n_listen; i++) {
        const char *path = rpc_unix_listen_path(listen[i]);
        if (path && rpc_unix_listen_prepare(path, err, sizeof(err)) < 0) {
            fprintf(stderr, "flamed: %s\n", err);
            exit_code = 69;
            goto done;
        }
    }
    char lock_dir_buf[4096];
    if (!lock_dir && instance_lock_default_dir(lock_dir_buf, sizeof(lock_dir_buf)) == 0)
        lock_dir = lock_dir_buf;
    if (instance_lock_acquire(&lock, lock_dir, instance ? instance : listen[0], sock, err,
                              sizeof(err)) < 0) {
        fprintf(stderr, "flamed: %s\n", err);
        exit_code = 69;
        goto done;
    }
    flamed_log(LOG_DEBUG, "instance_locked", "lock=%s", instance_lock_path(lock));
    if (docker_client_new_endpoint(&docker, &dep) < 0) {
        exit_code = 71;
        goto done;
    }
    /* A remote engine that fails now is most likely misconfigured (certificates,
     * address): say so at error level. Either way flamed serves, NOT_SERVING
     * until Docker answers (service/docker_health.c). */
    if (docker_ping(docker, err, sizeof(err)) < 0)
        flamed_log(dep.tcp ? LOG_ERROR : LOG_WARN, "docker_unavailable", "%s=%s error=\"%s\"",
                   dep.tcp ? "address" : "socket", sock, err);
    else
        flamed_log(LOG_INFO, "docker_ok", "%s=%s api_version=%s", dep.tcp ? "address" : "socket",
                   sock, docker_client_api_version(docker));
    struct service_config cfg = {
        .default_boot_timeout_ms = (unsigned)boot_timeout,
        .default_stop_timeout_ms = (unsigned)stop_timeout,
        .watch_queue_max = watch_queue,
        .policy = policy,
        .instance = instance ? instance : listen[0],
        .boot_settle_ms = (unsigned)boot_settle,
        .pools = pools,
        .init_path = pools ? init_real : NULL,
    };
    if (swarm) {
        /* Not fatal, as an unreachable Docker is not: Boot says the same until fixed. */
        if (swarm_engine_check(docker, err, sizeof(err)) < 0)
            flamed_log(LOG_ERROR, "swarm_unavailable", "address=%s error=\"%s\"", sock, err);
        else
            flamed_log(LOG_INFO, "engine_swarm", "address=%s hint=\"one service per runner: see "
                       "docs/engines.md\"", sock);
    }
    if ((swarm ? swarm_engine_new(&engine, docker, swarm_nodes) : docker_engine_new(&engine, docker)) < 0 ||
        service_start(&svc, engine, &cfg) < 0) {
        exit_code = 71;
        goto done;
    }
    static const char *const served[] = {"flame.v1.RunnerService", NULL};
    if (rpc_health_new(&health, served) < 0 ||
        rpc_reflection_new(&reflection, flamed_descriptor_set, flamed_descriptor_set_len) < 0 ||
        service_health_start(svc, serving_to_health, health) < 0) {
        fprintf(stderr, "flamed: cannot set up health and reflection services\n");
        exit_code = 70;
        goto done;
    }
    service_metrics_register(svc);
    if (metrics_listen) {
        int metrics_port = 0;
        int mrc = metrics_http_start(&metrics, metrics_listen, &metrics_port, err, sizeof(err));
        if (mrc < 0) {
            fprintf(stderr, "flamed: %s\n", err);
            exit_code = mrc == FLAME_EINVALID ? 64 : 69;
            goto done;
        }
        flamed_log(LOG_INFO, "metrics_listening", "addr=%s port=%d", metrics_listen, metrics_port);
    }
    /* One method table: flame.v1.RunnerService, grpc.health.v1, grpc.reflection v1/v1alpha. */
    struct rpc_method methods[16];
    size_t n_methods = 0;
    if (rpc_adapter_new(&adapter, service_methods, service_n_methods, svc, methods) < 0) {
        fprintf(stderr, "flamed: out of memory\n");
        exit_code = 70;
        goto done;
    }
    n_methods += service_n_methods;
    size_t health_at = n_methods;
    n_methods += rpc_health_methods(health, methods + n_methods);
    for (size_t i = health_at; i < n_methods; i++)
        methods[i].public_method = !auth_health;
    n_methods += rpc_reflection_methods(reflection, methods + n_methods);
    struct rpc_server_options ro = {
        .listen = listen,
        .cq_threads = (int)cq_threads,
        .max_workers = (int)max_calls,
        .context = svc,
        .methods = methods,
        .n_methods = n_methods,
        .unix_socket_mode = (int)socket_mode,
        .unix_socket_group = socket_group,
        .auth = auth,
        .tls_cert = tls_cert,
        .tls_key = tls_key,
        .tls_client_ca = tls_client_ca,
        .max_receive_bytes = policy ? policy->max_request_bytes : 0,
        .max_depth = policy ? policy->max_depth : 0,
    };
    flamed_log(LOG_DEBUG, "malloc", "tcache=%s", malloc_tune_tcache_off() ? "off" : "on");
    int port = 0;
    if (rpc_server_start(&srv, &ro, &port, err, sizeof(err)) < 0) {
        fprintf(stderr, "flamed: %s\n", err);
        exit_code = 69;
        goto done;
    }
    for (int i = 0; i < n_listen; i++)
        flamed_log(LOG_INFO, "listening", "addr=%s", listen[i]);
    if (port)
        flamed_log(LOG_INFO, "listening_port", "port=%d", port);

    int sig = wait_releasing_pages(&sigs, (long)release_pages_ms);
    flamed_log(LOG_INFO, "shutting_down", "signal=%s active_calls=%d", sig == SIGTERM ? "SIGTERM" : "SIGINT",
               rpc_server_active_calls(srv));
    service_close_watches(svc);
    rpc_health_close(health);
    rpc_server_shutdown(srv, (long)grace_ms);
done:
    metrics_http_stop(metrics);
    service_metrics_unregister();
    rpc_server_free(srv);
    rpc_adapter_free(adapter);
    service_stop(svc);
    rpc_health_free(health);
    rpc_reflection_free(reflection);
    rpc_auth_free(auth);
    policy_free(policy);
    policy_free(pools_policy);
    warm_pools_free(pools);
    if (swarm)
        swarm_engine_free(engine);
    else
        docker_engine_free(engine);
    swarm_nodes_free(swarm_nodes);
    docker_client_free(docker);
    grpc_shutdown();
    curl_global_cleanup();
    mem_trim_stop();
    instance_lock_release(lock);
    if (exit_code == 0)
        flamed_log(LOG_INFO, "stopped", NULL);
    return exit_code;
}
