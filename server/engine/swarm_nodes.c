/*
 * The node -> Docker Engine map of --engine swarm (swarm_nodes.h): a strict
 * reading of the --swarm-nodes file, one client per node.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "common/json_strict.h"
#include "engine/swarm_nodes.h"

struct node {
    char key[256];
    docker_client *dk;
};

struct swarm_nodes {
    struct node *v;
    size_t n;
};

static int fail(int code, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(int code, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return code;
}

/* A node ID (25 lowercase letters and digits) or a hostname. */
static int key_ok(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > 255)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = k[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* entry[key]: absent (NULL out), or a string (a bool for the flags). */
static int opt_str(const cJSON *entry, const char *key, const char *where, const char **out,
                   char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(entry, key);
    *out = NULL;
    if (!v)
        return 0;
    if (!cJSON_IsString(v) || !v->valuestring[0] || strlen(v->valuestring) >= 4096)
        return fail(FLAME_EINVALID, err, errlen, "%s: %s must be a non-empty string (a path or URL)",
                    where, key);
    *out = v->valuestring;
    return 0;
}

static int opt_bool(const cJSON *entry, const char *key, const char *where, int *out, char *err,
                    size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(entry, key);
    *out = -1;
    if (!v)
        return 0;
    if (!cJSON_IsBool(v))
        return fail(FLAME_EINVALID, err, errlen, "%s: %s must be true or false", where, key);
    *out = cJSON_IsTrue(v);
    return 0;
}

/* One entry: its endpoint from base with the entry's settings, and its client. */
static int parse_node(struct node *nd, const char *key, const cJSON *entry,
                      const struct docker_endpoint_opts *base, char *err, size_t errlen)
{
    static const char *const entry_keys[] = {"host",      "tls_verify", "tls_ca", "tls_cert",
                                             "tls_key",   "cert_path",  "insecure", NULL};
    char where[320];
    const char *host, *ca, *cert, *key_file, *cert_path;
    int verify, insecure, rc;
    snprintf(where, sizeof(where), "--swarm-nodes: node '%.255s'", key);
    if (!key_ok(key))
        return fail(FLAME_EINVALID, err, errlen,
                    "--swarm-nodes: '%.64s' is not a node ID or hostname (1-255 bytes of "
                    "[A-Za-z0-9._-])", key);
    if (!cJSON_IsObject(entry))
        return fail(FLAME_EINVALID, err, errlen, "%s: must be an object {\"host\": \"tcp://HOST:PORT\"}",
                    where);
    if ((rc = json_strict_keys(entry, where, entry_keys, err, errlen)) < 0 ||
        (rc = opt_str(entry, "host", where, &host, err, errlen)) < 0 ||
        (rc = opt_str(entry, "tls_ca", where, &ca, err, errlen)) < 0 ||
        (rc = opt_str(entry, "tls_cert", where, &cert, err, errlen)) < 0 ||
        (rc = opt_str(entry, "tls_key", where, &key_file, err, errlen)) < 0 ||
        (rc = opt_str(entry, "cert_path", where, &cert_path, err, errlen)) < 0 ||
        (rc = opt_bool(entry, "tls_verify", where, &verify, err, errlen)) < 0 ||
        (rc = opt_bool(entry, "insecure", where, &insecure, err, errlen)) < 0)
        return rc;
    if (!host)
        return fail(FLAME_EINVALID, err, errlen, "%s: host is required (tcp://HOST:PORT or unix:///PATH)",
                    where);
    struct docker_endpoint_opts o = *base;
    o.host_flag = host;
    o.host_env = NULL;
    if (strncmp(host, "unix://", 7) == 0 || host[0] == '/') {
        /* A socket takes no TLS: --docker-host's TCP settings are not this node's. */
        o.tls_verify_flag = 0, o.tls_verify_env = NULL, o.ca_flag = o.cert_flag = o.key_flag = NULL;
        o.insecure = 0;
    }
    if (verify >= 0)
        o.tls_verify_flag = verify, o.tls_verify_env = NULL;
    if (insecure >= 0)
        o.insecure = insecure;
    if (ca)
        o.ca_flag = ca;
    if (cert)
        o.cert_flag = cert;
    if (key_file)
        o.key_flag = key_file;
    if (cert_path)
        o.cert_path_env = cert_path;
    struct docker_endpoint *ep = malloc(sizeof(*ep));
    char eerr[1024] = "";
    if (!ep)
        return fail(FLAME_ENOMEM, err, errlen, "out of memory");
    rc = docker_endpoint_resolve(ep, &o, eerr, sizeof(eerr));
    if (rc == FLAME_ENOTFOUND)
        rc = 0; /* a socket path that does not exist yet: its first use says so */
    if (rc < 0) {
        free(ep);
        return fail(FLAME_EINVALID, err, errlen, "%s: %s", where, eerr);
    }
    snprintf(nd->key, sizeof(nd->key), "%s", key);
    rc = docker_client_new_endpoint(&nd->dk, ep);
    free(ep);
    return rc < 0 ? fail(rc, err, errlen, "%s: cannot make its Docker client", where) : 0;
}

int swarm_nodes_parse(struct swarm_nodes **out, const char *json, size_t len,
                      const struct docker_endpoint_opts *base, char *err, size_t errlen)
{
    static const char *const top_keys[] = {"nodes", NULL};
    struct swarm_nodes *m = NULL;
    cJSON *root = NULL;
    int rc = 0;

    *out = NULL;
    if ((rc = json_strict_parse(&root, json, len, SWARM_NODES_FILE_MAX, "--swarm-nodes: the file",
                                err, errlen)) < 0)
        return rc;
    if (!cJSON_IsObject(root)) {
        rc = fail(FLAME_EINVALID, err, errlen,
                  "--swarm-nodes: the file must be an object {\"nodes\": {\"NODE\": {\"host\": ...}}}");
        goto done;
    }
    if ((rc = json_strict_keys(root, "--swarm-nodes", top_keys, err, errlen)) < 0)
        goto done;
    const cJSON *nodes = cJSON_GetObjectItemCaseSensitive(root, "nodes");
    if (!cJSON_IsObject(nodes)) {
        rc = fail(FLAME_EINVALID, err, errlen, "--swarm-nodes: nodes must be an object of node: {\"host\": ...}");
        goto done;
    }
    if ((rc = json_strict_keys(nodes, "--swarm-nodes: nodes", NULL, err, errlen)) < 0)
        goto done;
    size_t n = (size_t)cJSON_GetArraySize(nodes);
    if (n > SWARM_NODES_MAX) {
        rc = fail(FLAME_EINVALID, err, errlen, "--swarm-nodes: %zu nodes, at most %d are allowed", n,
                  SWARM_NODES_MAX);
        goto done;
    }
    if (!(m = calloc(1, sizeof(*m))) || !(m->v = calloc(n ? n : 1, sizeof(*m->v)))) {
        rc = fail(FLAME_ENOMEM, err, errlen, "out of memory");
        goto done;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, nodes)
    {
        if ((rc = parse_node(&m->v[m->n], e->string, e, base, err, errlen)) < 0)
            goto done;
        m->n++;
    }
done:
    cJSON_Delete(root);
    if (rc < 0) {
        swarm_nodes_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

int swarm_nodes_load(struct swarm_nodes **out, const char *path,
                     const struct docker_endpoint_opts *base, char *err, size_t errlen)
{
    *out = NULL;
    FILE *f = fopen(path, "r");
    if (!f)
        return fail(FLAME_EINVALID, err, errlen, "--swarm-nodes: cannot read %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return fail(FLAME_EINVALID, err, errlen, "--swarm-nodes: %s is not a regular file", path);
    }
    char *buf = malloc(SWARM_NODES_FILE_MAX + 1);
    if (!buf) {
        fclose(f);
        return fail(FLAME_ENOMEM, err, errlen, "out of memory");
    }
    size_t len = fread(buf, 1, SWARM_NODES_FILE_MAX + 1, f);
    int bad = ferror(f);
    fclose(f);
    int rc;
    if (bad)
        rc = fail(FLAME_EINVALID, err, errlen, "--swarm-nodes: cannot read %s", path);
    else if (len > SWARM_NODES_FILE_MAX)
        rc = fail(FLAME_EINVALID, err, errlen, "--swarm-nodes: %s is larger than %zu bytes", path,
                  SWARM_NODES_FILE_MAX);
    else
        rc = swarm_nodes_parse(out, buf, len, base, err, errlen);
    free(buf);
    return rc;
}

void swarm_nodes_free(struct swarm_nodes *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++)
        docker_client_free(m->v[i].dk);
    free(m->v);
    free(m);
}

size_t swarm_nodes_count(const struct swarm_nodes *m) { return m ? m->n : 0; }

docker_client *swarm_nodes_by_key(const struct swarm_nodes *m, const char *key)
{
    for (size_t i = 0; m && key && i < m->n; i++)
        if (strcmp(m->v[i].key, key) == 0)
            return m->v[i].dk;
    return NULL;
}

docker_client *swarm_nodes_find(const struct swarm_nodes *m, const char *node_id,
                                const char *hostname, const char **key)
{
    const char *try[2] = {node_id, hostname};
    for (int t = 0; t < 2; t++) {
        if (!try[t] || !try[t][0])
            continue;
        for (size_t i = 0; m && i < m->n; i++)
            if (strcmp(m->v[i].key, try[t]) == 0) {
                if (key)
                    *key = m->v[i].key;
                return m->v[i].dk;
            }
    }
    return NULL;
}
