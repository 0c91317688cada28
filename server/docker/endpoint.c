/*
 * server/docker/endpoint.c - where the Docker Engine is and how to reach it:
 * the docker CLI's DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH, and
 * flamed's flags that say the same. Pure: it reads files' existence only,
 * through a predicate the caller may replace.
 *
 * Follows: the docker CLI's environment (docs.docker.com/engine/reference/
 * commandline/cli/#environment-variables) and `dockerd --tlsverify`
 * (docs.docker.com/engine/security/protect-access/): ca.pem, cert.pem and
 * key.pem in DOCKER_CERT_PATH (default ~/.docker), TLS verification when
 * DOCKER_TLS_VERIFY is non-empty, port 2376 with TLS and 2375 without.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "docker_internal.h"

#define DOCKER__PORT_TLS 2376
#define DOCKER__PORT_PLAIN 2375

static int docker__readable(const char *path)
{
    return access(path, R_OK) == 0;
}

/* "invalid value" in main.c's words, so a bad --docker-host reads like any bad flag. */
static int docker__bad_host(char *err, size_t errlen, const char *source, const char *host,
                            const char *why)
{
    if (source[0] == '-')
        return docker__fail(err, errlen, FLAME_EINVALID,
                            "invalid value '%.300s' for %s: expected unix:///path/to/docker.sock "
                            "or tcp://HOST[:PORT]%s%s",
                            host, source, why ? " (" : "", why ? why : "");
    return docker__fail(err, errlen, FLAME_EINVALID,
                        "unsupported Docker host '%.300s' (from %s): expected "
                        "unix:///path/to/docker.sock or tcp://HOST[:PORT]%s%s",
                        host, source, why ? " (" : "", why ? why : "");
}

static int docker__host_char_ok(char ch, int bracketed)
{
    if (bracketed)
        return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F') ||
               ch == ':' || ch == '.';
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           ch == '.' || ch == '-' || ch == '_';
}

/*
 * "HOST", "HOST:PORT", "[V6]", "[V6]:PORT", with an optional trailing '/'.
 * No user info, path, query or fragment: dockerd serves the API at its root.
 * Port 0 means "not given".
 */
static int docker__parse_tcp(const char *rest, char *host, size_t hostlen, int *port)
{
    char buf[300];
    const char *h, *p = NULL;
    size_t n = strlen(rest), hn;
    int bracketed = 0;

    if (n > 0 && rest[n - 1] == '/')
        n--;
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, rest, n);
    buf[n] = '\0';
    if (buf[0] == '[') {
        char *close = strchr(buf, ']');
        if (!close || (close[1] && close[1] != ':'))
            return -1;
        *close = '\0';
        h = buf + 1;
        p = close[1] == ':' ? close + 2 : NULL;
        bracketed = 1;
    } else {
        char *colon = strchr(buf, ':');
        if (colon) {
            if (strchr(colon + 1, ':'))
                return -1; /* IPv6 needs brackets */
            *colon = '\0';
            p = colon + 1;
        }
        h = buf;
    }
    hn = strlen(h);
    if (hn == 0 || hn >= hostlen || hn > 253)
        return -1;
    for (size_t i = 0; i < hn; i++)
        if (!docker__host_char_ok(h[i], bracketed))
            return -1;
    *port = 0;
    if (p) {
        size_t pn = strlen(p);
        long v = 0;
        if (pn == 0 || pn > 5)
            return -1;
        for (size_t i = 0; i < pn; i++) {
            if (p[i] < '0' || p[i] > '9')
                return -1;
            v = v * 10 + (p[i] - '0');
        }
        if (v < 1 || v > 65535)
            return -1;
        *port = (int)v;
    }
    memcpy(host, h, hn + 1);
    return 0;
}

/* Name the TLS options that were given, for "applies only to tcp://" messages; "" if none. */
static const char *docker__tls_flag_given(const struct docker_endpoint_opts *o)
{
    if (o->tls_verify_flag)
        return "--docker-tls-verify";
    if (o->ca_flag)
        return "--docker-tls-ca";
    if (o->cert_flag)
        return "--docker-tls-cert";
    if (o->key_flag)
        return "--docker-tls-key";
    if (o->insecure)
        return "--docker-insecure";
    return "";
}

/* One TLS file: the flag's value (must be readable) or DIR/NAME (may be absent: ""). */
static int docker__tls_file(char *out, size_t outlen, const char *flag_name, const char *flag,
                            const char *dir, const char *name, int (*readable)(const char *),
                            char *err, size_t errlen)
{
    out[0] = '\0';
    if (flag) {
        if (!flag[0] || !readable(flag))
            return docker__fail(err, errlen, FLAME_EINVALID,
                                "cannot read %s '%.300s': give a readable PEM file", flag_name,
                                flag);
        if (docker__fmt(out, outlen, "%s", flag) < 0)
            return docker__fail(err, errlen, FLAME_EINVALID, "%s is too long", flag_name);
        return 0;
    }
    if (!dir)
        return 0;
    if (docker__fmt(out, outlen, "%s/%s", dir, name) < 0)
        return docker__fail(err, errlen, FLAME_EINVALID, "the certificate directory '%.200s' "
                            "is too long", dir);
    if (!readable(out))
        out[0] = '\0';
    return 0;
}

int docker_endpoint_resolve(struct docker_endpoint *out, const struct docker_endpoint_opts *o,
                            char *err, size_t errlen)
{
    static const char tcp_scheme[] = "tcp://";
    int (*readable)(const char *) = o->readable ? o->readable : docker__readable;
    const char *host = o->host_flag ? o->host_flag : o->host_env;
    const char *source = o->host_flag ? "--docker-host" : "$DOCKER_HOST";
    int verify = o->tls_verify_flag || (o->tls_verify_env && o->tls_verify_env[0]);
    char dirbuf[4096];
    const char *dir = NULL;
    int rc;

    memset(out, 0, sizeof *out);

    /* Anything but tcp:// is the unix socket, found exactly as before. */
    if (!host || !*host || strncmp(host, tcp_scheme, sizeof tcp_scheme - 1) != 0) {
        rc = docker_socket_detect(out->socket_path, sizeof out->socket_path, host, o->home,
                                  o->exists);
        if (rc == FLAME_EINVALID)
            return docker__bad_host(err, errlen, source, host ? host : "", NULL);
        const char *tls_flag = docker__tls_flag_given(o);
        if (tls_flag[0])
            return docker__fail(err, errlen, FLAME_EINVALID,
                                "%s applies to a tcp:// Docker host; flamed talks to the unix "
                                "socket %.300s (set --docker-host tcp://HOST:PORT, or drop %s)",
                                tls_flag, out->socket_path, tls_flag);
        snprintf(out->address, sizeof out->address, "%s", out->socket_path);
        return rc; /* 0 or FLAME_ENOTFOUND, as docker_socket_detect says */
    }

    out->tcp = 1;
    if (docker__parse_tcp(host + sizeof tcp_scheme - 1, out->host, sizeof out->host, &out->port) < 0)
        return docker__bad_host(err, errlen, source, host,
                                "HOST is a name or an address, [IPv6] in brackets; PORT 1-65535; "
                                "no path");
    if (verify && o->insecure)
        return docker__fail(err, errlen, FLAME_EINVALID,
                            "--docker-insecure contradicts TLS verification (%s): choose one",
                            o->tls_verify_flag ? "--docker-tls-verify" : "$DOCKER_TLS_VERIFY is set");
    if (!verify) {
        const char *f = o->ca_flag ? "--docker-tls-ca" : o->cert_flag ? "--docker-tls-cert"
                      : o->key_flag ? "--docker-tls-key" : NULL;
        if (f)
            return docker__fail(err, errlen, FLAME_EINVALID,
                                "%s needs TLS verification: add --docker-tls-verify (or set "
                                "DOCKER_TLS_VERIFY=1)", f);
        if (!o->insecure)
            return docker__fail(err, errlen, FLAME_EINVALID,
                                "refusing plain TCP to the Docker host %.300s (from %s): anyone "
                                "who can reach that port is root on the Docker host. Use TLS: "
                                "set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH to a directory "
                                "holding ca.pem, cert.pem and key.pem (or pass "
                                "--docker-tls-verify with --docker-tls-ca, --docker-tls-cert and "
                                "--docker-tls-key); or pass --docker-insecure to accept plain TCP",
                                host, source);
    }
    out->tls = verify;
    if (!out->port)
        out->port = verify ? DOCKER__PORT_TLS : DOCKER__PORT_PLAIN;
    if (docker__fmt(out->address, sizeof out->address,
                    strchr(out->host, ':') ? "tcp://[%s]:%d" : "tcp://%s:%d", out->host,
                    out->port) < 0)
        return docker__fail(err, errlen, FLAME_EINVALID, "the Docker host name is too long");
    if (!verify)
        return 0;

    /* The docker CLI's certificate directory: DOCKER_CERT_PATH, else its config directory. */
    if (o->cert_path_env && o->cert_path_env[0])
        dir = o->cert_path_env;
    else if (o->config_env && o->config_env[0])
        dir = o->config_env;
    else if (o->home && o->home[0] &&
             docker__fmt(dirbuf, sizeof dirbuf, "%s/.docker", o->home) == 0)
        dir = dirbuf;
    if ((rc = docker__tls_file(out->ca_file, sizeof out->ca_file, "--docker-tls-ca", o->ca_flag,
                               dir, "ca.pem", readable, err, errlen)) < 0 ||
        (rc = docker__tls_file(out->cert_file, sizeof out->cert_file, "--docker-tls-cert",
                               o->cert_flag, dir, "cert.pem", readable, err, errlen)) < 0 ||
        (rc = docker__tls_file(out->key_file, sizeof out->key_file, "--docker-tls-key",
                               o->key_flag, dir, "key.pem", readable, err, errlen)) < 0)
        return rc;
    if (!out->ca_file[0])
        return docker__fail(err, errlen, FLAME_EINVALID,
                            "TLS to %s needs the CA certificate that signed dockerd's: "
                            "%s%s is missing or unreadable (set DOCKER_CERT_PATH to the "
                            "directory holding ca.pem, cert.pem and key.pem, or pass "
                            "--docker-tls-ca FILE)",
                            out->address, dir ? dir : "$HOME/.docker", "/ca.pem");
    if (!out->cert_file[0] != !out->key_file[0])
        return docker__fail(err, errlen, FLAME_EINVALID,
                            "a client certificate goes with its key: flamed found %s '%.300s' "
                            "but no %s (pass both --docker-tls-cert and --docker-tls-key, or "
                            "put cert.pem and key.pem together in DOCKER_CERT_PATH)",
                            out->cert_file[0] ? "the certificate" : "the key",
                            out->cert_file[0] ? out->cert_file : out->key_file,
                            out->cert_file[0] ? "key" : "certificate");
    return 0;
}
