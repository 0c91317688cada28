/*
 * server/docker/transport.c - HTTP to dockerd over its unix socket with libcurl:
 * the client object, the easy-handle pool, version negotiation, plain requests,
 * streams, and the HTTP status -> FLAME_E* mapping.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "docker_internal.h"
#include "observe.h"

#ifndef FLAMED_VERSION
#define FLAMED_VERSION "0"
#endif

#define DOCKER__USER_AGENT "flamed/" FLAMED_VERSION
#define DOCKER__CONNECT_TIMEOUT_MS 10000L

/* Negotiated versions point here: the string must outlive every client. */
static const char docker__version_max[] = DOCKER_API_VERSION_MAX;

/* Inside functions that have `rc`, `err`, `errlen` and a `done:` label. */
#define DOCKER__SETOPT(h, opt, val)                                                                \
    do {                                                                                           \
        CURLcode cc_ = curl_easy_setopt((h), (opt), (val));                                        \
        if (cc_ != CURLE_OK) {                                                                     \
            rc =                                                                                   \
                docker__fail(err, errlen, cc_ == CURLE_OUT_OF_MEMORY ? FLAME_ENOMEM : FLAME_ERROR, \
                             "libcurl refused option %s: %s", #opt, curl_easy_strerror(cc_));      \
            goto done;                                                                             \
        }                                                                                          \
    } while (0)

/* ================================================================ errors */

int docker__fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    va_list ap;

    if (err && errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* Docker 20.10 answers 500 for a body it cannot decode; that is the caller's fault.
 * Go's own wording only: "json: " alone would take ".../config.v2.json: no space left
 * on device" for one. */
static int docker__is_malformed_body(const char *message)
{
    static const char *const markers[] = {
        "cannot unmarshal",
        "invalid character",
        "unexpected end of JSON",
        "unexpected EOF", /* a truncated body */
        "json: cannot unmarshal",
        "json: unknown field",
    };
    size_t i;

    if (!message)
        return 0;
    for (i = 0; i < sizeof markers / sizeof markers[0]; i++)
        if (strstr(message, markers[i]))
            return 1;
    return 0;
}

int docker__is_unavailable(const char *message)
{
    static const char *const markers[] = {
        "containerd.sock", "transport is closing", "connection refused", "connection reset",
        "broken pipe",
    };
    size_t i, n;

    if (!message)
        return 0;
    for (i = 0; i < sizeof markers / sizeof markers[0]; i++)
        if (strstr(message, markers[i]))
            return 1;
    /* containerd's gRPC errors end with their code: ": unavailable". */
    n = strlen(message);
    return n >= 13 && strcmp(message + n - 13, ": unavailable") == 0;
}

int docker__status_code(long status, const char *message)
{
    if (status < 300 || status == 304)
        return 0;
    switch (status) {
    case 400:
        return FLAME_EINVALID;
    case 401:
        return FLAME_EUNAUTH;
    case 403:
        return FLAME_EPERM;
    case 404:
        return FLAME_ENOTFOUND;
    case 409:
        return FLAME_ECONFLICT;
    case 500:
        return docker__is_malformed_body(message) ? FLAME_EINVALID : FLAME_ERROR;
    default:
        return FLAME_ERROR;
    }
}

/* ================================================================ buffers */

void docker__buf_reset(struct docker__buf *b)
{
    b->len = 0;
    b->overflow = 0;
    if (b->data)
        b->data[0] = '\0';
}

void docker__sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

unsigned long docker_client_retries(const docker_client *c)
{
    return atomic_load(&c->root->retries);
}

int docker__buf_append(struct docker__buf *b, const char *p, size_t n)
{
    size_t need, cap;
    char *d;

    if (b->max && (n > b->max || b->len > b->max - n)) {
        b->overflow = 1;
        return FLAME_EEXHAUSTED;
    }
    need = b->len + n + 1;
    if (need > b->cap) {
        cap = b->cap ? b->cap : 1024;
        while (cap < need)
            cap *= 2;
        d = realloc(b->data, cap);
        if (!d)
            return FLAME_ENOMEM;
        b->data = d;
        b->cap = cap;
    }
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

void docker__buf_free(struct docker__buf *b)
{
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* ================================================================ text helpers */

int docker__fmt(char *out, size_t outlen, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (!out || outlen == 0)
        return FLAME_EINVALID;
    va_start(ap, fmt);
    n = vsnprintf(out, outlen, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= outlen)
        return FLAME_EINVALID;
    return 0;
}

/* curl_easy_escape does the encoding (RFC 3986: all but A-Za-z0-9-._~); only
 * the runs between `keep` characters go through it. */
int docker__escape(const char *s, const char *keep, char *out, size_t outlen)
{
    size_t o = 0;

    if (!out || outlen == 0)
        return FLAME_EINVALID;
    for (;;) {
        size_t n = keep ? strcspn(s, keep) : strlen(s);

        if (n > INT_MAX)
            return FLAME_EINVALID;
        if (n > 0) {
            char *e = curl_easy_escape(NULL, s, (int)n); /* the handle is unused */
            size_t en;

            if (!e)
                return FLAME_ENOMEM;
            en = strlen(e);
            if (o + en >= outlen) {
                curl_free(e);
                return FLAME_EINVALID;
            }
            memcpy(out + o, e, en);
            o += en;
            curl_free(e);
        }
        s += n;
        if (!*s)
            break;
        if (o + 1 >= outlen)
            return FLAME_EINVALID;
        out[o++] = *s++; /* a `keep` character, as it is */
    }
    out[o] = '\0';
    return 0;
}

int docker__add_strv(cJSON *obj, const char *key, const char *const *v)
{
    cJSON *arr = cJSON_AddArrayToObject(obj, key), *s;

    if (!arr)
        return FLAME_ENOMEM;
    for (size_t i = 0; v[i]; i++) {
        if (!(s = cJSON_CreateString(v[i])))
            return FLAME_ENOMEM;
        if (!cJSON_AddItemToArray(arr, s)) {
            cJSON_Delete(s);
            return FLAME_ENOMEM;
        }
    }
    return 0;
}

void docker__copy_string(char *out, size_t outlen, const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (outlen == 0)
        return;
    snprintf(out, outlen, "%s", cJSON_IsString(v) && v->valuestring ? v->valuestring : "");
}

int docker__check_name(const char *what, const char *value, char *err, size_t errlen)
{
    const unsigned char *p;

    if (!value || !*value)
        return docker__fail(err, errlen, FLAME_EINVALID, "%s is empty", what);
    if (strlen(value) > 512)
        return docker__fail(err, errlen, FLAME_EINVALID, "%s is longer than 512 bytes", what);
    for (p = (const unsigned char *)value; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return docker__fail(err, errlen, FLAME_EINVALID, "%s contains a control character",
                                what);
    return 0;
}

/* ================================================================ client */

int docker_client_new(docker_client **out, const char *socket_path)
{
    struct docker_endpoint *ep;
    int rc;

    *out = NULL;
    if (!socket_path || !*socket_path)
        return FLAME_EINVALID;
    if (!(ep = calloc(1, sizeof *ep)))
        return FLAME_ENOMEM;
    if (docker__fmt(ep->socket_path, sizeof ep->socket_path, "%s", socket_path) < 0) {
        free(ep);
        return FLAME_EINVALID;
    }
    snprintf(ep->address, sizeof ep->address, "%s", socket_path);
    rc = docker_client_new_endpoint(out, ep);
    free(ep);
    return rc;
}

int docker_client_new_endpoint(docker_client **out, const struct docker_endpoint *ep)
{
    docker_client *c = NULL;
    char url[320];
    int rc = 0;

    *out = NULL;
    if (!ep || (ep->tcp ? !ep->host[0] || ep->port <= 0 : !ep->socket_path[0]))
        return FLAME_EINVALID;
    if (!ep->tcp)
        snprintf(url, sizeof url, "http://localhost");
    else if (docker__fmt(url, sizeof url, strchr(ep->host, ':') ? "%s://[%s]:%d" : "%s://%s:%d",
                         ep->tls ? "https" : "http", ep->host, ep->port) < 0)
        return FLAME_EINVALID;
    c = calloc(1, sizeof *c);
    if (!c) {
        rc = FLAME_ENOMEM;
        goto done;
    }
    c->ep = malloc(sizeof *c->ep);
    c->base_url = strdup(url);
    if (!c->ep || !c->base_url) {
        rc = FLAME_ENOMEM;
        goto done;
    }
    memcpy(c->ep, ep, sizeof *c->ep);
    if (pthread_mutex_init(&c->pool_lock, NULL) != 0) {
        rc = FLAME_ENOMEM;
        goto done;
    }
    atomic_init(&c->api_version, docker__version_max);
    c->root = c;
    *out = c;
    c = NULL;
done:
    if (c) {
        free(c->ep);
        free(c->base_url);
        free(c);
    }
    return rc;
}

void docker_client_free(docker_client *c)
{
    size_t i;

    if (!c)
        return;
    if (c->root != c) { /* a bounded view owns nothing but itself */
        free(c);
        return;
    }
    for (i = 0; i < c->pool_len; i++)
        curl_easy_cleanup(c->pool[i]);
    pthread_mutex_destroy(&c->pool_lock);
    free(c->ep);
    free(c->base_url);
    free(c);
}

const char *docker_client_socket_path(const docker_client *c)
{
    return c->ep->tcp ? "" : c->ep->socket_path;
}

const char *docker_client_address(const docker_client *c)
{
    return c->ep->address;
}

int64_t docker_now_ms(void)
{
    return clock_mono_ms();
}

int docker_client_bounded(docker_client **out, docker_client *parent,
                          const struct docker_bounds *bounds)
{
    docker_client *v;

    *out = NULL;
    v = calloc(1, sizeof *v);
    if (!v)
        return FLAME_ENOMEM;
    v->root = parent->root;
    v->ep = parent->root->ep;
    v->base_url = parent->root->base_url;
    /* A view of a view keeps the tighter deadline; its own cancel wins. */
    v->deadline_ms = parent->deadline_ms;
    v->cancelled = parent->cancelled;
    v->cancel_ud = parent->cancel_ud;
    if (bounds) {
        if (bounds->deadline_ms > 0 && (!v->deadline_ms || bounds->deadline_ms < v->deadline_ms))
            v->deadline_ms = bounds->deadline_ms;
        if (bounds->cancelled) {
            v->cancelled = bounds->cancelled;
            v->cancel_ud = bounds->ud;
        }
    }
    *out = v;
    return 0;
}

int docker__is_cancelled(const docker_client *c)
{
    return c->cancelled && c->cancelled(c->cancel_ud);
}

enum docker__pace docker__stream_pace(const docker_client *c, long (*hold_us)(void *ud),
                                      long (*next_poll_ms)(void *ud), void *ud,
                                      long default_ms, long *wait_ms)
{
    if (docker__is_cancelled(c))
        return DOCKER__PACE_CANCELLED;
    if (c->deadline_ms && clock_mono_ms() >= c->deadline_ms)
        return DOCKER__PACE_DEADLINE;
    long hold = hold_us ? hold_us(ud) : 0;
    if (hold > 0) {
        struct timespec ts = {hold / 1000000, (hold % 1000000) * 1000L};
        nanosleep(&ts, NULL);
        return DOCKER__PACE_AGAIN; /* read what came meanwhile */
    }
    long w = next_poll_ms ? next_poll_ms(ud) : 0;
    if (w <= 0)
        w = default_ms;
    if (c->cancelled && w > 50)
        w = 50;
    if (c->deadline_ms) {
        int64_t to_deadline = c->deadline_ms - clock_mono_ms();
        if (to_deadline < w)
            w = to_deadline > 1 ? (long)to_deadline : 1;
    }
    *wait_ms = w;
    return DOCKER__PACE_WAIT;
}

int docker__bound_timeout(const docker_client *c, long timeout_ms, const char *method,
                          const char *path, long *out, char *err, size_t errlen)
{
    int64_t left;

    *out = timeout_ms;
    if (docker__is_cancelled(c))
        return docker__fail(err, errlen, FLAME_ECANCELLED, "cancelled before %s %s", method, path);
    if (!c->deadline_ms)
        return 0;
    left = c->deadline_ms - clock_mono_ms();
    if (left <= 0)
        return docker__fail(err, errlen, FLAME_ETIMEOUT,
                            "the deadline passed before %s %s was sent to Docker", method, path);
    if (timeout_ms <= 0 || left < timeout_ms)
        *out = (long)left;
    return 0;
}

const char *docker_client_api_version(const docker_client *c)
{
    return atomic_load(&c->root->api_version);
}

/* A handle from the pool, or a new one. NULL only when libcurl is out of memory. */
static CURL *docker__pool_get(docker_client *c)
{
    CURL *h = NULL;

    c = c->root;
    pthread_mutex_lock(&c->pool_lock);
    if (c->pool_len > 0)
        h = c->pool[--c->pool_len];
    pthread_mutex_unlock(&c->pool_lock);
    if (!h)
        h = curl_easy_init();
    return h;
}

/* Reset keeps the handle's connection cache, so the next request reuses the
 * open socket to dockerd. */
static void docker__pool_put(docker_client *c, CURL *h)
{
    if (!h)
        return;
    curl_easy_reset(h);
    c = c->root;
    pthread_mutex_lock(&c->pool_lock);
    if (c->pool_len < DOCKER__POOL_MAX) {
        c->pool[c->pool_len++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&c->pool_lock);
    if (h)
        curl_easy_cleanup(h);
}

/* ================================================================ transport errors */

/*
 * A TCP failure that TLS explains, as a detail naming the cause and the fix;
 * 0 when it is not one (the caller words it). `why` is libcurl's error text:
 * with OpenSSL, a chain that does not lead to our CA says "certificate
 * problem", a certificate for another name says "subject name", and dockerd
 * refusing flamed's certificate (or its absence) arrives as a TLS alert,
 * during the handshake (TLS 1.2) or at the first read (TLS 1.3).
 */
static int docker__tls_error(const docker_client *c, CURLcode cc, const char *why, char *err,
                             size_t errlen)
{
    const struct docker_endpoint *ep = c->ep;

    if (cc == CURLE_COULDNT_RESOLVE_HOST) {
        docker__fail(err, errlen, FLAME_EUNAVAILABLE,
                     "cannot resolve the Docker host '%s' of %s: %s (check --docker-host or "
                     "DOCKER_HOST)",
                     ep->host, ep->address, why);
        return 1;
    }
    if (!ep->tls) {
        if (cc == CURLE_WEIRD_SERVER_REPLY) { /* not HTTP: TLS bytes, or not dockerd */
            docker__fail(err, errlen, FLAME_EUNAVAILABLE,
                         "Docker at %s did not answer in plain HTTP: %s (does dockerd serve TLS "
                         "there? then drop --docker-insecure and set DOCKER_TLS_VERIFY=1 with "
                         "its certificates)",
                         ep->address, why);
            return 1;
        }
        return 0;
    }
    if (cc == CURLE_PEER_FAILED_VERIFICATION && (strstr(why, "subject name") ||
                                                 strstr(why, "host name"))) {
        docker__fail(err, errlen, FLAME_EUNAVAILABLE,
                     "TLS to Docker at %s failed: dockerd's certificate is not for '%s' (%s): "
                     "reach dockerd by a name or address its certificate lists (subjectAltName), "
                     "or reissue dockerd's --tlscert for this one",
                     ep->address, ep->host, why);
        return 1;
    }
    if (cc == CURLE_PEER_FAILED_VERIFICATION) {
        docker__fail(err, errlen, FLAME_EUNAVAILABLE,
                     "TLS to Docker at %s failed: dockerd's certificate is not signed by the CA "
                     "in %s (%s): give flamed the CA that signed dockerd's --tlscert "
                     "(DOCKER_CERT_PATH/ca.pem or --docker-tls-ca)",
                     ep->address, ep->ca_file, why);
        return 1;
    }
    if (cc == CURLE_SSL_CACERT_BADFILE) {
        docker__fail(err, errlen, FLAME_EUNAVAILABLE,
                     "TLS to Docker at %s: cannot use the CA certificate %s (%s): it must be a "
                     "PEM certificate (DOCKER_CERT_PATH/ca.pem or --docker-tls-ca)",
                     ep->address, ep->ca_file, why);
        return 1;
    }
    if (cc == CURLE_SSL_CERTPROBLEM) {
        docker__fail(err, errlen, FLAME_EUNAVAILABLE,
                     "TLS to Docker at %s: cannot use the client certificate %s with key %s (%s): "
                     "they must be a PEM certificate and its unencrypted PEM key",
                     ep->address, ep->cert_file, ep->key_file, why);
        return 1;
    }
    if ((cc == CURLE_SSL_CONNECT_ERROR || cc == CURLE_RECV_ERROR || cc == CURLE_SEND_ERROR) &&
        (strstr(why, "alert certificate required") || strstr(why, "alert bad certificate") ||
         strstr(why, "alert unknown ca") || strstr(why, "alert handshake failure") ||
         strstr(why, "alert certificate unknown"))) {
        if (!ep->cert_file[0])
            docker__fail(err, errlen, FLAME_EUNAVAILABLE,
                         "TLS to Docker at %s failed: dockerd requires a client certificate and "
                         "flamed has none (%s): put cert.pem and key.pem, signed by the CA of "
                         "dockerd's --tlscacert, in DOCKER_CERT_PATH, or pass --docker-tls-cert "
                         "and --docker-tls-key",
                         ep->address, why);
        else
            docker__fail(err, errlen, FLAME_EUNAVAILABLE,
                         "TLS to Docker at %s failed: dockerd refused flamed's client certificate "
                         "%s (%s): it must be signed by the CA of dockerd's --tlscacert",
                         ep->address, ep->cert_file, why);
        return 1;
    }
    if (cc == CURLE_SSL_CONNECT_ERROR) {
        docker__fail(err, errlen, FLAME_EUNAVAILABLE,
                     "TLS handshake with Docker at %s failed: %s (does dockerd serve TLS there, "
                     "started with --tlsverify --tlscacert --tlscert --tlskey?)",
                     ep->address, why);
        return 1;
    }
    return 0;
}

/* A transport failure as an actionable detail. */
static int docker__curl_error(const docker_client *c, CURLcode cc, const char *curl_err,
                              const char *method, const char *path, long timeout_ms, char *err,
                              size_t errlen)
{
    const char *why = (curl_err && *curl_err) ? curl_err : curl_easy_strerror(cc);

    switch (cc) {
    case CURLE_OUT_OF_MEMORY:
        return docker__fail(err, errlen, FLAME_ENOMEM, "out of memory talking to Docker");
    case CURLE_OPERATION_TIMEDOUT:
        if (timeout_ms > 0)
            return docker__fail(err, errlen, FLAME_ETIMEOUT,
                                "Docker did not answer %s %s within %ld ms", method, path,
                                timeout_ms);
        return docker__fail(err, errlen, FLAME_ETIMEOUT, "Docker timed out on %s %s: %s", method,
                            path, why);
    case CURLE_COULDNT_CONNECT:
        if (c->ep->tcp)
            return docker__fail(err, errlen, FLAME_EUNAVAILABLE,
                                "cannot reach Docker at %s: %s (is dockerd listening there, on "
                                "port %d of that host? check --docker-host or DOCKER_HOST, and "
                                "any firewall on the way)",
                                c->ep->address, why, c->ep->port);
        if (access(c->ep->socket_path, F_OK) != 0)
            return docker__fail(err, errlen, FLAME_EUNAVAILABLE,
                                "cannot reach Docker at %s: no such socket (is dockerd running? "
                                "set DOCKER_HOST if it listens elsewhere)",
                                c->ep->socket_path);
        if (access(c->ep->socket_path, R_OK | W_OK) != 0 && errno == EACCES)
            return docker__fail(err, errlen, FLAME_EUNAVAILABLE,
                                "cannot reach Docker at %s: permission denied (run flamed as a "
                                "member of the 'docker' group)",
                                c->ep->socket_path);
        return docker__fail(err, errlen, FLAME_EUNAVAILABLE,
                            "cannot reach Docker at %s: %s (is dockerd running?)", c->ep->socket_path,
                            curl_easy_strerror(cc));
    default:
        if (c->ep->tcp && docker__tls_error(c, cc, why, err, errlen))
            return FLAME_EUNAVAILABLE;
        return docker__fail(err, errlen, FLAME_EUNAVAILABLE,
                            "connection to Docker at %s failed during %s %s: %s (is dockerd "
                            "running?)",
                            c->ep->address, method, path, why);
    }
}

/* ================================================================ responses */

void docker__response_free(struct docker__response *r)
{
    if (!r)
        return;
    cJSON_Delete(r->json);
    r->json = NULL;
    docker__buf_free(&r->body);
}

const char *docker__response_message(const struct docker__response *r)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(r->json, "message");

    if (cJSON_IsString(m) && m->valuestring)
        return m->valuestring;
    if (!r->json && r->body.data)
        return r->body.data;
    return "";
}

int docker__response_error(const struct docker__response *r, char *err, size_t errlen,
                           const char *fmt, ...)
{
    char context[512];
    const char *msg = docker__response_message(r);
    size_t n = strlen(msg);
    int code;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(context, sizeof context, fmt, ap);
    va_end(ap);
    while (n > 0 && isspace((unsigned char)msg[n - 1]))
        n--;
    if (n > 1024)
        n = 1024;
    code = docker__status_code(r->status, msg);
    if (code == 0)
        code = FLAME_ERROR;
    if (n == 0)
        return docker__fail(err, errlen, code, "%s: Docker answered HTTP %ld", context, r->status);
    return docker__fail(err, errlen, code, "%s: %.*s", context, (int)n, msg);
}

/* ================================================================ plain requests */

static size_t docker__body_cb(char *p, size_t size, size_t nmemb, void *ud)
{
    struct docker__buf *b = ud;
    size_t n = size * nmemb;

    if (docker__buf_append(b, p, n) < 0)
        return 0; /* CURLE_WRITE_ERROR; b->overflow tells why */
    return n;
}

/* Keep the Api-Version header (what /_ping negotiates with). */
static size_t docker__header_cb(char *p, size_t size, size_t nitems, void *ud)
{
    struct docker__response *r = ud;
    size_t n = size * nitems;
    static const char name[] = "api-version:";
    size_t k = sizeof name - 1, end;

    if (n > k && strncasecmp(p, name, k) == 0) {
        while (k < n && (p[k] == ' ' || p[k] == '\t'))
            k++;
        end = n;
        while (end > k && isspace((unsigned char)p[end - 1]))
            end--;
        if (end - k < sizeof r->api_version) {
            memcpy(r->api_version, p + k, end - k);
            r->api_version[end - k] = '\0';
        }
    }
    return n;
}

int docker__setup_conn(const docker_client *c, CURL *h, char *err, size_t errlen)
{
    const struct docker_endpoint *ep = c->ep;
    int rc = 0;

    if (!ep->tcp) {
        DOCKER__SETOPT(h, CURLOPT_UNIX_SOCKET_PATH, ep->socket_path);
    } else if (ep->tls) {
        /* dockerd's certificate must chain to ep's CA alone (not the system's
         * CAs: anyone a public CA certifies is not our dockerd) and name the
         * host; flamed proves itself with its client certificate. */
        DOCKER__SETOPT(h, CURLOPT_CAINFO, ep->ca_file);
        DOCKER__SETOPT(h, CURLOPT_CAPATH, (char *)NULL);
        DOCKER__SETOPT(h, CURLOPT_SSL_VERIFYPEER, 1L);
        DOCKER__SETOPT(h, CURLOPT_SSL_VERIFYHOST, 2L);
        if (ep->cert_file[0]) {
            DOCKER__SETOPT(h, CURLOPT_SSLCERT, ep->cert_file);
            DOCKER__SETOPT(h, CURLOPT_SSLKEY, ep->key_file);
        }
    }
done:
    return rc;
}

/* Options every request shares. */
static int docker__setup(docker_client *c, CURL *h, const char *url, char *curl_err, char *err,
                         size_t errlen)
{
    int rc = 0;

    if ((rc = docker__setup_conn(c, h, err, errlen)) < 0)
        goto done;
    DOCKER__SETOPT(h, CURLOPT_URL, url);
    DOCKER__SETOPT(h, CURLOPT_NOSIGNAL, 1L);
    DOCKER__SETOPT(h, CURLOPT_USERAGENT, DOCKER__USER_AGENT);
    DOCKER__SETOPT(h, CURLOPT_CONNECTTIMEOUT_MS, DOCKER__CONNECT_TIMEOUT_MS);
    DOCKER__SETOPT(h, CURLOPT_ERRORBUFFER, curl_err);
    curl_err[0] = '\0';
done:
    return rc;
}

/* The body as JSON text (cJSON_free) and the method/body options. */
static int docker__setup_method(CURL *h, const char *method, const cJSON *body, char **json_text,
                                struct curl_slist **hdrs, char *err, size_t errlen)
{
    struct curl_slist *t;
    int rc = 0;

    *json_text = NULL;
    t = curl_slist_append(*hdrs, "Expect:");
    if (!t) {
        rc = docker__fail(err, errlen, FLAME_ENOMEM, "out of memory");
        goto done;
    }
    *hdrs = t;
    if (body) {
        *json_text = cJSON_PrintUnformatted(body);
        if (!*json_text) {
            rc = docker__fail(err, errlen, FLAME_ENOMEM, "out of memory printing a request body");
            goto done;
        }
        t = curl_slist_append(*hdrs, "Content-Type: application/json");
    } else if (strcmp(method, "POST") == 0) {
        t = curl_slist_append(*hdrs, "Content-Type:"); /* no form-urlencoded default */
    }
    if (!t) {
        rc = docker__fail(err, errlen, FLAME_ENOMEM, "out of memory");
        goto done;
    }
    *hdrs = t;
    if (strcmp(method, "GET") == 0 && !body) {
        DOCKER__SETOPT(h, CURLOPT_HTTPGET, 1L);
    } else {
        if (body || strcmp(method, "POST") == 0) {
            DOCKER__SETOPT(h, CURLOPT_POSTFIELDSIZE, (long)(*json_text ? strlen(*json_text) : 0));
            DOCKER__SETOPT(h, CURLOPT_POSTFIELDS, *json_text ? *json_text : "");
        }
        if (strcmp(method, "HEAD") == 0)
            DOCKER__SETOPT(h, CURLOPT_NOBODY, 1L);
        else if (strcmp(method, "POST") != 0)
            DOCKER__SETOPT(h, CURLOPT_CUSTOMREQUEST, method);
    }
    DOCKER__SETOPT(h, CURLOPT_HTTPHEADER, *hdrs);
done:
    return rc;
}

static int docker__url(const docker_client *c, const char *path, char *url, size_t urllen,
                       char *err, size_t errlen)
{
    int rc;

    if (strncmp(path, "/_ping", 6) == 0)
        rc = docker__fmt(url, urllen, "%s%s", c->base_url, path);
    else
        rc = docker__fmt(url, urllen, "%s/v%s%s", c->base_url, docker_client_api_version(c), path);
    if (rc < 0)
        return docker__fail(err, errlen, FLAME_EINVALID, "request path too long: %.64s...", path);
    return 0;
}

/*
 * curl_easy_perform, or, when the caller can cancel, the same transfer driven
 * by a private multi handle that polls the cancel every 50 ms (easy_perform
 * would only call a progress callback about once a second while Docker is
 * silent). Sets *cancelled when the cancel aborted the transfer; the
 * connection is then closed, never reused.
 */
static CURLcode docker__perform(docker_client *c, CURL *h, int *cancelled)
{
    CURLM *m;
    CURLMsg *msg;
    CURLcode cc = CURLE_OK;
    int running = 1, msgs;

    *cancelled = 0;
    if (!c->cancelled)
        return curl_easy_perform(h);
    if (!(m = curl_multi_init()))
        return CURLE_OUT_OF_MEMORY;
    if (curl_multi_add_handle(m, h) != CURLM_OK) {
        curl_multi_cleanup(m);
        return CURLE_OUT_OF_MEMORY;
    }
    for (;;) {
        if (curl_multi_perform(m, &running) != CURLM_OK) {
            cc = CURLE_RECV_ERROR;
            break;
        }
        if (!running) {
            while ((msg = curl_multi_info_read(m, &msgs)) != NULL)
                if (msg->msg == CURLMSG_DONE && msg->easy_handle == h)
                    cc = msg->data.result;
            break;
        }
        if (docker__is_cancelled(c)) {
            *cancelled = 1;
            cc = CURLE_ABORTED_BY_CALLBACK;
            break;
        }
        if (curl_multi_poll(m, NULL, 0, 50, NULL) != CURLM_OK) {
            cc = CURLE_RECV_ERROR;
            break;
        }
    }
    curl_multi_remove_handle(m, h);
    curl_multi_cleanup(m);
    return cc;
}

int docker__do(docker_client *c, const char *method, const char *path, const cJSON *body,
               long timeout_ms, struct docker__response *r, char *err, size_t errlen)
{
    int was_cancelled = 0;
    char url[DOCKER__PATH_MAX + 320];
    char curl_err[CURL_ERROR_SIZE];
    struct curl_slist *hdrs = NULL;
    char *json_text = NULL;
    CURL *h = NULL;
    CURLcode cc;
    int rc;

    memset(r, 0, sizeof *r);
    r->body.max = DOCKER__BODY_MAX;
    if ((rc = docker__bound_timeout(c, timeout_ms, method, path, &timeout_ms, err, errlen)) < 0)
        goto done;
    if ((rc = docker__url(c, path, url, sizeof url, err, errlen)) < 0)
        goto done;
    h = docker__pool_get(c);
    if (!h) {
        rc = docker__fail(err, errlen, FLAME_ENOMEM, "out of memory creating a libcurl handle");
        goto done;
    }
    if ((rc = docker__setup(c, h, url, curl_err, err, errlen)) < 0)
        goto done;
    if ((rc = docker__setup_method(h, method, body, &json_text, &hdrs, err, errlen)) < 0)
        goto done;
    DOCKER__SETOPT(h, CURLOPT_WRITEFUNCTION, docker__body_cb);
    DOCKER__SETOPT(h, CURLOPT_WRITEDATA, &r->body);
    DOCKER__SETOPT(h, CURLOPT_HEADERFUNCTION, docker__header_cb);
    DOCKER__SETOPT(h, CURLOPT_HEADERDATA, r);

    /*
     * Transient failures are retried with backoff within the call's timeout: a
     * connection dropped mid-exchange (reset, nothing received) and 502/503/504.
     * Permanent answers (4xx, other 5xx) and a socket that refuses connections
     * (dockerd is down: fail fast, UNAVAILABLE) are not. A POST that is retried
     * may have taken effect once: callers handle the 409 that can follow.
     */
    int64_t t_start = clock_mono_ms();
    long backoff_ms = 50;
    for (int attempt = 1;; attempt++) {
        long left = timeout_ms;
        if (timeout_ms > 0) {
            left = timeout_ms - (long)(clock_mono_ms() - t_start);
            if (left < 1)
                left = 1;
            DOCKER__SETOPT(h, CURLOPT_TIMEOUT_MS, left);
        }
        docker__buf_reset(&r->body);
        r->status = 0;
        cc = docker__perform(c, h, &was_cancelled);
        docker__observe(h, method, path); /* the request hook (metrics): every attempt */
        if (was_cancelled)
            break;
        int transient = (cc == CURLE_SEND_ERROR || cc == CURLE_RECV_ERROR ||
                         cc == CURLE_GOT_NOTHING || cc == CURLE_PARTIAL_FILE);
        if (cc == CURLE_OK && curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status) == CURLE_OK)
            transient = r->status == 502 || r->status == 503 || r->status == 504;
        /* dockerd refusing flamed's certificate (a TLS alert at the first read)
         * is an answer, not a dropped connection. */
        if (transient && c->ep->tls && strstr(curl_err, " alert "))
            transient = 0;
        if (!transient || attempt >= DOCKER__RETRIES)
            break;
        if (timeout_ms > 0 && (long)(clock_mono_ms() - t_start) + backoff_ms >= timeout_ms)
            break;
        docker__sleep_ms(backoff_ms);
        if (docker__is_cancelled(c)) {
            was_cancelled = 1;
            break;
        }
        backoff_ms *= 2;
        atomic_fetch_add(&c->root->retries, 1);
    }
    if (was_cancelled) {
        rc = docker__fail(err, errlen, FLAME_ECANCELLED,
                          "cancelled while waiting for Docker's answer to %s %s", method, path);
        goto done;
    }
    if (cc == CURLE_WRITE_ERROR && r->body.overflow) {
        rc = docker__fail(err, errlen, FLAME_ERROR,
                          "Docker's answer to %s %s is larger than %zu bytes", method, path,
                          (size_t)DOCKER__BODY_MAX);
        goto done;
    }
    if (cc == CURLE_WRITE_ERROR) {
        rc = docker__fail(err, errlen, FLAME_ENOMEM, "out of memory reading Docker's answer");
        goto done;
    }
    if (cc != CURLE_OK) {
        rc = docker__curl_error(c, cc, curl_err, method, path, timeout_ms, err, errlen);
        goto done;
    }
    if ((cc = curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status)) != CURLE_OK) {
        rc = docker__fail(err, errlen, FLAME_ERROR, "libcurl: %s", curl_easy_strerror(cc));
        goto done;
    }
    if (r->body.len > 0)
        r->json = cJSON_ParseWithLength(r->body.data, r->body.len); /* NULL: not JSON */
done:
    if (h) {
        /* The handle must not keep pointers into this frame. */
        docker__pool_put(c, h);
    }
    curl_slist_free_all(hdrs);
    cJSON_free(json_text);
    return rc;
}

int docker__inspect(docker_client *c, const char *path, const char *kind, const char *name,
                    cJSON **out, char *err, size_t errlen)
{
    struct docker__response r;
    int rc;

    memset(&r, 0, sizeof r);
    if (out)
        *out = NULL;
    if ((rc = docker__do(c, "GET", path, NULL, 30000, &r, err, errlen)) < 0)
        goto done;
    if (r.status != 200) {
        rc = docker__response_error(&r, err, errlen, "inspect %s '%s'", kind, name);
        goto done;
    }
    if (!cJSON_IsObject(r.json)) {
        rc = docker__fail(err, errlen, FLAME_ERROR, "inspect %s '%s': Docker sent no JSON object",
                          kind, name);
        goto done;
    }
    if (out) {
        *out = r.json;
        r.json = NULL;
    }
done:
    docker__response_free(&r);
    return rc;
}

int docker_request(docker_client *c, const char *method, const char *path, const cJSON *body,
                   long timeout_ms, long *status, cJSON **response, char *err, size_t errlen)
{
    struct docker__response r;
    int rc;

    if (status)
        *status = 0;
    if (response)
        *response = NULL;
    if (!method || !path || path[0] != '/')
        return docker__fail(err, errlen, FLAME_EINVALID,
                            "docker_request: path must start with '/'");
    if ((rc = docker__do(c, method, path, body, timeout_ms, &r, err, errlen)) < 0)
        goto done;
    if (status)
        *status = r.status;
    if (response) {
        *response = r.json;
        r.json = NULL;
    }
done:
    docker__response_free(&r);
    return rc;
}

/* ================================================================ ping */

/* "1.41" -> 141-style comparable number; -1 when malformed. */
static long docker__version_number(const char *v)
{
    char *end;
    long major, minor;

    errno = 0;
    major = strtol(v, &end, 10);
    if (end == v || *end != '.' || errno)
        return -1;
    v = end + 1;
    minor = strtol(v, &end, 10);
    if (end == v || errno || minor < 0 || minor > 9999 || major < 0 || major > 9999)
        return -1;
    return major * 10000 + minor;
}

int docker_ping(docker_client *c, char *err, size_t errlen)
{
    struct docker__response r;
    long theirs, ours = docker__version_number(docker__version_max);
    int rc;

    if ((rc = docker__do(c, "GET", "/_ping", NULL, 10000, &r, err, errlen)) < 0) {
        /* A bounded view's own deadline stays a timeout: Docker may be fine. */
        if (rc == FLAME_ETIMEOUT && (!c->deadline_ms || clock_mono_ms() < c->deadline_ms))
            rc = docker__fail(err, errlen, FLAME_EUNAVAILABLE,
                              "Docker at %s did not answer GET /_ping within 10 s (is dockerd "
                              "stuck?)",
                              c->ep->address);
        goto done;
    }
    if (r.status != 200 && c->ep->tcp && !c->ep->tls &&
        strstr(docker__response_message(&r), "HTTPS server")) {
        rc = docker__fail(err, errlen, FLAME_EUNAVAILABLE,
                          "Docker at %s serves TLS, and flamed spoke plain HTTP "
                          "(--docker-insecure): drop --docker-insecure and set DOCKER_TLS_VERIFY=1 "
                          "with dockerd's CA and a client certificate in DOCKER_CERT_PATH",
                          c->ep->address);
        goto done;
    }
    if (r.status != 200) {
        rc = docker__response_error(&r, err, errlen,
                                    "Docker at %s answered GET /_ping with HTTP %ld",
                                    c->ep->address, r.status);
        rc = FLAME_EUNAVAILABLE;
        goto done;
    }
    if (r.api_version[0]) {
        theirs = docker__version_number(r.api_version);
        if (theirs < 0) {
            rc = docker__fail(err, errlen, FLAME_ERROR,
                              "Docker at %s sent a malformed Api-Version header '%s'",
                              c->ep->address, r.api_version);
            goto done;
        }
        if (theirs < ours) {
            rc = docker__fail(err, errlen, FLAME_EPRECONDITION,
                              "Docker at %s speaks Engine API %s; flamed needs %s or newer "
                              "(upgrade Docker to 20.10 or later)",
                              c->ep->address, r.api_version, docker__version_max);
            goto done;
        }
    }
    /* min(ours, theirs) is ours: older daemons are refused above. */
    atomic_store(&c->root->api_version, docker__version_max);
done:
    docker__response_free(&r);
    return rc;
}

/* ================================================================ streams */

struct docker__stream_state {
    const struct docker__stream *s;
    struct docker__response *resp;
    long status; /* status line of the current header block */
    int phase;   /* 0 headers, 1 streaming, 2 error body */
    int cb_code; /* on_data's non-zero return */
    int stopped; /* should_stop said so */
    int cancelled; /* the bounded view's caller cancelled */
    int nomem;
    docker_client *c;
};

static size_t docker__stream_header_cb(char *p, size_t size, size_t nitems, void *ud)
{
    struct docker__stream_state *st = ud;
    size_t n = size * nitems;
    const char *sp;

    if (n >= 5 && memcmp(p, "HTTP/", 5) == 0) {
        sp = memchr(p, ' ', n);
        st->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        return n;
    }
    if ((n == 2 && p[0] == '\r' && p[1] == '\n') || (n == 1 && p[0] == '\n')) {
        if (st->status >= 100 && st->status < 200 && st->status != 101)
            return n; /* an interim block (100 Continue); the real one follows */
        st->resp->status = st->status;
        if ((st->status >= 200 && st->status < 300) || st->status == 101) {
            st->phase = 1;
            if (st->s->on_open)
                st->s->on_open(st->s->ud, st->status);
        } else {
            st->phase = 2;
        }
    }
    return n;
}

static size_t docker__stream_write_cb(char *p, size_t size, size_t nmemb, void *ud)
{
    struct docker__stream_state *st = ud;
    size_t n = size * nmemb;
    int rc;

    if (st->phase == 1) {
        rc = st->s->on_data ? st->s->on_data(st->s->ud, p, n) : 0;
        if (rc) {
            st->cb_code = rc;
            return 0;
        }
        return n;
    }
    /* An error body (or no header block at all): keep it for the message. */
    rc = docker__buf_append(&st->resp->body, p, n);
    if (rc == FLAME_ENOMEM) {
        st->nomem = 1;
        return 0;
    }
    return n; /* over the cap: drop the rest */
}

static int docker__stream_xferinfo_cb(void *ud, curl_off_t dltotal, curl_off_t dlnow,
                                      curl_off_t ultotal, curl_off_t ulnow)
{
    struct docker__stream_state *st = ud;

    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    if (st->s->should_stop && st->s->should_stop(st->s->ud)) {
        st->stopped = 1;
        return 1;
    }
    if (docker__is_cancelled(st->c)) {
        st->cancelled = 1;
        return 1;
    }
    return 0;
}

/*
 * A private multi handle drives the transfer so that should_stop is polled
 * every poll_ms even when the stream is idle (curl_easy_perform only wakes up
 * once a second then). The xferinfo callback polls as well while bytes flow.
 */
int docker__stream_run(docker_client *c, const struct docker__stream *s,
                       struct docker__response *errresp, int *stopped, char *err, size_t errlen)
{
    struct docker__stream_state st;
    char url[DOCKER__PATH_MAX + 320];
    char curl_err[CURL_ERROR_SIZE];
    struct curl_slist *hdrs = NULL, *t;
    char *json_text = NULL;
    CURL *h = NULL;
    CURLM *m = NULL;
    int added = 0, running = 1, rc = 0, msgs;
    CURLcode cc = CURLE_OK;
    CURLMcode mc;
    CURLMsg *msg;
    size_t i;

    memset(errresp, 0, sizeof *errresp);
    errresp->body.max = DOCKER__ERRBODY_MAX;
    long bound_ms = 0;
    memset(&st, 0, sizeof st);
    st.s = s;
    st.resp = errresp;
    st.c = c;
    if (stopped)
        *stopped = 0;
    if ((rc = docker__bound_timeout(c, 0, s->method, s->path, &bound_ms, err, errlen)) < 0)
        goto done;
    if ((rc = docker__url(c, s->path, url, sizeof url, err, errlen)) < 0)
        goto done;
    h = curl_easy_init();
    m = curl_multi_init();
    if (!h || !m) {
        rc = docker__fail(err, errlen, FLAME_ENOMEM, "out of memory creating libcurl handles");
        goto done;
    }
    if ((rc = docker__setup(c, h, url, curl_err, err, errlen)) < 0)
        goto done;
    for (i = 0; s->headers && s->headers[i]; i++) {
        t = curl_slist_append(hdrs, s->headers[i]);
        if (!t) {
            rc = docker__fail(err, errlen, FLAME_ENOMEM, "out of memory");
            goto done;
        }
        hdrs = t;
    }
    if ((rc = docker__setup_method(h, s->method, s->body, &json_text, &hdrs, err, errlen)) < 0)
        goto done;
    DOCKER__SETOPT(h, CURLOPT_WRITEFUNCTION, docker__stream_write_cb);
    DOCKER__SETOPT(h, CURLOPT_WRITEDATA, &st);
    DOCKER__SETOPT(h, CURLOPT_HEADERFUNCTION, docker__stream_header_cb);
    DOCKER__SETOPT(h, CURLOPT_HEADERDATA, &st);
    DOCKER__SETOPT(h, CURLOPT_NOPROGRESS, 0L);
    DOCKER__SETOPT(h, CURLOPT_XFERINFOFUNCTION, docker__stream_xferinfo_cb);
    DOCKER__SETOPT(h, CURLOPT_XFERINFODATA, &st);
    /* Streams never reuse a connection (an exec start hijacks its socket). */
    DOCKER__SETOPT(h, CURLOPT_FORBID_REUSE, 1L);
    if (s->buffer_size > 0)
        DOCKER__SETOPT(h, CURLOPT_BUFFERSIZE, s->buffer_size);
    if (s->low_speed_time_s > 0) {
        DOCKER__SETOPT(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        DOCKER__SETOPT(h, CURLOPT_LOW_SPEED_TIME, s->low_speed_time_s);
    }
    if ((mc = curl_multi_add_handle(m, h)) != CURLM_OK) {
        rc = docker__fail(err, errlen, FLAME_ERROR, "libcurl: %s", curl_multi_strerror(mc));
        goto done;
    }
    added = 1;

    for (;;) {
        if ((mc = curl_multi_perform(m, &running)) != CURLM_OK) {
            rc = docker__fail(err, errlen, FLAME_ERROR, "libcurl: %s", curl_multi_strerror(mc));
            goto done;
        }
        if (!running)
            break;
        if (s->should_stop && s->should_stop(s->ud)) {
            st.stopped = 1;
            break;
        }
        long wait_ms = 0;
        enum docker__pace pace = docker__stream_pace(c, s->hold_us, s->next_poll_ms, s->ud,
                                                     s->poll_ms > 0 ? s->poll_ms : 100, &wait_ms);
        if (pace == DOCKER__PACE_CANCELLED) {
            st.cancelled = 1;
            break;
        }
        if (pace == DOCKER__PACE_DEADLINE) {
            rc = docker__fail(err, errlen, FLAME_ETIMEOUT,
                              "the deadline passed while streaming %s %s from Docker", s->method,
                              s->path);
            goto done;
        }
        if (pace == DOCKER__PACE_AGAIN)
            continue;
        mc = curl_multi_poll(m, NULL, 0, (int)wait_ms, NULL);
        if (mc != CURLM_OK) {
            rc = docker__fail(err, errlen, FLAME_ERROR, "libcurl: %s", curl_multi_strerror(mc));
            goto done;
        }
    }
    if (!running) {
        cc = CURLE_OK;
        while ((msg = curl_multi_info_read(m, &msgs)) != NULL)
            if (msg->msg == CURLMSG_DONE && msg->easy_handle == h)
                cc = msg->data.result;
    }

    if (st.stopped) {
        if (stopped)
            *stopped = 1;
        rc = 0;
    } else if (st.cancelled) {
        rc = docker__fail(err, errlen, FLAME_ECANCELLED, "cancelled while streaming %s %s",
                          s->method, s->path);
    } else if (st.cb_code == FLAME_ENOMEM) {
        rc = docker__fail(err, errlen, FLAME_ENOMEM, "out of memory reading a Docker stream");
    } else if (st.cb_code) {
        rc = st.cb_code;
    } else if (st.nomem || cc == CURLE_OUT_OF_MEMORY) {
        rc = docker__fail(err, errlen, FLAME_ENOMEM, "out of memory reading a Docker stream");
    } else if (cc == CURLE_OPERATION_TIMEDOUT && s->low_speed_time_s > 0) {
        rc = docker__fail(err, errlen, FLAME_ETIMEOUT, "no data from Docker for %ld s on %s %s",
                          s->low_speed_time_s, s->method, s->path);
    } else if (cc != CURLE_OK) {
        rc = docker__curl_error(c, cc, curl_err, s->method, s->path, 0, err, errlen);
    } else if (st.phase == 0) {
        rc = docker__fail(err, errlen, FLAME_EUNAVAILABLE,
                          "Docker at %s closed the connection before answering %s %s",
                          c->ep->address, s->method, s->path);
    } else if (st.phase == 2 && errresp->body.len > 0) {
        errresp->json = cJSON_ParseWithLength(errresp->body.data, errresp->body.len);
    }
done:
    if (added)
        curl_multi_remove_handle(m, h);
    if (h)
        curl_easy_cleanup(h);
    if (m)
        curl_multi_cleanup(m);
    curl_slist_free_all(hdrs);
    cJSON_free(json_text);
    return rc;
}
