/* Boot policy: an allowlist over the canonical reading of a Boot; see policy.h. */
#include "service/policy.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "flame/error.h"
#include "service/boot_config.h"
#include "service/request.h"

enum switch_kind { SW_BOOL, SW_LIST, SW_MAP };

static const struct {
    const char *name;
    enum switch_kind kind;
} switches[POLICY_SWITCHES] = {
    [POLICY_PRIVILEGED] = {"privileged", SW_BOOL},
    [POLICY_CAPABILITIES] = {"capabilities", SW_LIST},
    [POLICY_HOST_NAMESPACES] = {"host_namespaces", SW_BOOL},
    [POLICY_DEVICES] = {"devices", SW_BOOL},
    [POLICY_DEVICE_REQUESTS] = {"device_requests", SW_BOOL},
    [POLICY_HOST_BINDS] = {"host_binds", SW_LIST},
    [POLICY_VOLUME_DRIVERS] = {"volume_drivers", SW_BOOL},
    [POLICY_SECCOMP_PROFILES] = {"seccomp_profiles", SW_MAP},
    [POLICY_APPARMOR_PROFILES] = {"apparmor_profiles", SW_LIST},
    [POLICY_CGROUP] = {"cgroup", SW_BOOL},
    [POLICY_SYSCTLS] = {"sysctls", SW_LIST},
    [POLICY_RUNTIMES] = {"runtimes", SW_LIST},
    [POLICY_MASKED_PATHS] = {"masked_paths", SW_BOOL},
    [POLICY_PORT_BINDINGS] = {"port_bindings", SW_BOOL},
    [POLICY_LOG_DRIVERS] = {"log_drivers", SW_LIST},
    [POLICY_DNS] = {"dns", SW_BOOL},
    [POLICY_GROUP_ADD] = {"group_add", SW_BOOL},
    [POLICY_PLACEMENT] = {"placement", SW_BOOL},
};

/* Switches of earlier policy files: false still means what it meant; true needs a rewrite. */
static const struct {
    const char *name, *instead;
} retired[] = {
    {"cap_add", "allow.cap_add was replaced by allow.capabilities: list the capabilities a runner "
                "may add, e.g. \"capabilities\": [\"NET_ADMIN\"]"},
    {"docker_socket", "allow.docker_socket was removed: a runner never gets the Docker socket; "
                      "list the host directories runners may bind in allow.host_binds"},
    {"root_bind", "allow.root_bind was removed: a runner never binds the host's \"/\"; list the "
                  "host directories runners may bind in allow.host_binds"},
};

/* Built-in Ulimits ceilings (names runc knows; core and memlock need a policy). */
static const struct policy_ulimit builtin_ulimits[] = {
    {"nofile", 1048576}, {"nproc", 1048576}, {"stack", 67108864}};

/* Host paths no bind prefix may be, hold, or lie under (kernel views). */
static const char *const prefix_forbidden[] = {"/",    "/proc", "/sys", "/dev", "/etc", "/boot",
                                               "/root", "/run", "/var/run", "/var/lib/docker",
                                               "/var/lib/containerd", NULL};
static const char *const prefix_under_forbidden[] = {"/proc", "/sys", "/dev", "/etc", "/boot", "/root",
                                                     "/run/docker", "/run/containerd",
                                                     "/var/run/docker", "/var/run/containerd",
                                                     "/var/lib/docker", "/var/lib/containerd", NULL};
/* containerd's sockets: root on the host like Docker's own. */
static const char *const root_sockets[] = {"/run/containerd/containerd.sock",
                                           "/run/docker/containerd/containerd.sock",
                                           "/var/run/docker/containerd/containerd.sock", NULL};

static int deny(int code, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int deny(int code, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (errlen)
        vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return code;
}

const char *policy_switch_name(enum policy_switch sw)
{
    return sw < POLICY_SWITCHES ? switches[sw].name : "";
}

static void strv_free(char **v)
{
    for (char **q = v; q && *q; q++)
        free(*q);
    free(v);
}

static void allow_free(struct policy_allow *a)
{
    for (int i = 0; i < POLICY_SWITCHES; i++) {
        strv_free(a->list[i]);
        strv_free(a->values[i]);
    }
}

void policy_free(struct policy *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_images; i++)
        free(p->images[i]);
    free(p->images);
    for (size_t i = 0; i < p->n_networks; i++)
        free(p->networks[i]);
    free(p->networks);
    allow_free(&p->allow);
    for (size_t i = 0; i < p->n_pools; i++) {
        free(p->pools[i].name);
        allow_free(&p->pools[i].allow);
    }
    free(p->pools);
    free(p);
}

static int str_list(const cJSON *arr, const char *field, char ***out, size_t *n, char *err,
                    size_t errlen)
{
    if (!arr)
        return 0;
    if (!cJSON_IsArray(arr))
        return deny(FLAME_EINVALID, err, errlen, "policy: \"%s\" must be an array of strings", field);
    size_t k = (size_t)cJSON_GetArraySize(arr);
    char **v = calloc(k + 1, sizeof(char *));
    if (!v)
        return FLAME_ENOMEM;
    *out = v;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        if (!cJSON_IsString(it) || !it->valuestring[0])
            return deny(FLAME_EINVALID, err, errlen, "policy: \"%s\" must hold non-empty strings", field);
        if (!(v[*n] = strdup(it->valuestring)))
            return FLAME_ENOMEM;
        (*n)++;
    }
    return 0;
}

static int get_num(const cJSON *obj, const char *section, const char *key, int64_t *out, char *err,
                   size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v)
        return 0;
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 9.0e15 ||
        v->valuedouble != (double)(int64_t)v->valuedouble)
        return deny(FLAME_EINVALID, err, errlen, "policy: %s.%s must be a non-negative integer",
                    section, key);
    *out = (int64_t)v->valuedouble;
    return 0;
}

static int get_size(const cJSON *obj, const char *section, const char *key, size_t *out, char *err,
                    size_t errlen)
{
    int64_t v = 0;
    int rc = get_num(obj, section, key, &v, err, errlen);
    if (rc == 0 && cJSON_GetObjectItemCaseSensitive(obj, key))
        *out = (size_t)v;
    return rc;
}

/* Reject keys a section does not know (and repeated ones): a typo must not silently allow. */
static int known_keys(const cJSON *obj, const char *section, const char *const *keys, char *err,
                      size_t errlen)
{
    if (!obj)
        return 0;
    if (!cJSON_IsObject(obj))
        return deny(FLAME_EINVALID, err, errlen, "policy: \"%s\" must be an object", section);
    const cJSON *it, *before;
    cJSON_ArrayForEach(it, obj)
    {
        int ok = keys == NULL;
        for (const char *const *k = keys; k && *k && !ok; k++)
            ok = strcmp(*k, it->string) == 0;
        if (!ok)
            return deny(FLAME_EINVALID, err, errlen, "policy: unknown field \"%s%s%s\"", section,
                        section[0] ? "." : "", it->string);
        for (before = obj->child; before != it; before = before->next)
            if (strcmp(before->string, it->string) == 0)
                return deny(FLAME_EINVALID, err, errlen, "policy: \"%s%s%s\" is repeated", section,
                            section[0] ? "." : "", it->string);
    }
    return 0;
}

static int path_is_or_under(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    if (n == 1 && dir[0] == '/')
        return path[0] == '/';
    return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/*
 * Resolve a clean absolute path as the kernel will when Docker mounts it: the
 * longest existing ancestor through realpath(), the rest appended (Docker
 * creates a missing Binds source). Only components that do not exist at all
 * are stepped over: a dangling symlink, or one flamed may not follow (EACCES,
 * ELOOP, e.g. into /proc/1/root), would be followed by dockerd as root.
 * @param[out] out  malloc'd, owned by the caller.
 * @return 0; FLAME_EPERM (the path cannot be resolved here; *why says why);
 *         FLAME_ENOMEM.
 */
static int resolve_path(const char *clean, char **out, const char **why)
{
    char *head = strdup(clean), real[PATH_MAX];
    struct stat st;
    *out = NULL;
    if (!head)
        return FLAME_ENOMEM;
    size_t n = strlen(head);
    for (;;) {
        if (realpath(head, real)) {
            const char *rest = clean + strlen(head);
            size_t len = strlen(real) + strlen(rest) + 2;
            if ((*out = malloc(len)))
                snprintf(*out, len, "%s%s", strcmp(real, "/") == 0 && rest[0] ? "" : real, rest);
            free(head);
            return *out ? 0 : FLAME_ENOMEM;
        }
        if (errno != ENOENT || lstat(head, &st) == 0) {
            /* It exists (a dangling or unreadable symlink) or cannot be looked at. */
            *why = errno == ENOENT ? "it is or passes through a dangling symlink"
                                   : "flamed cannot resolve it (permission denied or a symlink loop)";
            free(head);
            return FLAME_EPERM;
        }
        while (n > 1 && head[n - 1] != '/')
            n--;
        if (n <= 1) {
            free(head);
            *out = strdup(clean); /* nothing exists here: flamed cannot see the host's tree */
            return *out ? 0 : FLAME_ENOMEM;
        }
        head[--n] = '\0';
    }
}

/* The Docker socket and containerd's sockets, as given and resolved (up to 8 paths). */
static size_t root_socket_paths(const struct policy *p, char out[][PATH_MAX], size_t max)
{
    size_t n = 0;
    const char *given[8];
    size_t g = 0;
    given[g++] = p->docker_socket;
    for (size_t i = 0; root_sockets[i]; i++)
        given[g++] = root_sockets[i];
    for (size_t i = 0; i < g && n + 2 <= max; i++) {
        snprintf(out[n++], PATH_MAX, "%s", given[i]);
        if (realpath(given[i], out[n]) && strcmp(out[n], given[i]) != 0)
            n++;
    }
    return n;
}

/* host_binds: absolute, cleaned, resolved; never a path that is or holds root's keys. */
static int parse_host_binds(const struct policy *p, char **list, const char *section, char *err,
                            size_t errlen)
{
    char socks[8][PATH_MAX];
    size_t ns = root_socket_paths(p, socks, 8);
    for (char **q = list; q && *q; q++) {
        if ((*q)[0] != '/')
            return deny(FLAME_EINVALID, err, errlen, "policy: %s.host_binds: '%s' must be an "
                                                     "absolute path", section, *q);
        char *clean = boot_config_clean_path(*q), *real = NULL;
        const char *why = "";
        int rrc = clean ? resolve_path(clean, &real, &why) : FLAME_ENOMEM;
        if (rrc < 0) {
            int rc = rrc == FLAME_ENOMEM ? rrc
                                         : deny(FLAME_EINVALID, err, errlen, "policy: %s.host_binds: "
                                                "'%s': %s", section, clean, why);
            free(clean);
            return rc;
        }
        const char *bad = NULL;
        for (size_t i = 0; prefix_forbidden[i] && !bad; i++)
            if (path_is_or_under(prefix_forbidden[i], clean) || path_is_or_under(prefix_forbidden[i], real))
                bad = prefix_forbidden[i];
        for (size_t i = 0; prefix_under_forbidden[i] && !bad; i++)
            if (path_is_or_under(clean, prefix_under_forbidden[i]) ||
                path_is_or_under(real, prefix_under_forbidden[i]))
                bad = prefix_under_forbidden[i];
        for (size_t i = 0; i < ns && !bad; i++)
            if (path_is_or_under(socks[i], clean) || path_is_or_under(socks[i], real))
                bad = socks[i];
        free(*q);
        *q = real;
        if (bad) {
            int rc = deny(FLAME_EINVALID, err, errlen,
                          "policy: %s.host_binds: '%s' is, holds or lies in '%s', which gives "
                          "root on the host: list a directory of your own (e.g. /srv/flame-data)",
                          section, clean, bad);
            free(clean);
            return rc;
        }
        free(clean);
    }
    return 0;
}

static char *read_small_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        deny(FLAME_EINVALID, err, errlen, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && !S_ISREG(st.st_mode)) {
        fclose(f);
        deny(FLAME_EINVALID, err, errlen, "%s is not a regular file", path);
        return NULL;
    }
    char *buf = malloc(1 << 20);
    size_t len = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    int big = buf && !feof(f);
    fclose(f);
    if (!buf)
        return NULL;
    if (big) {
        free(buf);
        deny(FLAME_EINVALID, err, errlen, "%s is larger than 1 MiB", path);
        return NULL;
    }
    buf[len] = '\0';
    return buf;
}

/* seccomp_profiles: {"name": "/path/profile.json"}; the profile is read and compacted now. */
static int parse_seccomp(struct policy_allow *a, const cJSON *obj, const char *section, char *err,
                         size_t errlen)
{
    if (!cJSON_IsObject(obj))
        return deny(FLAME_EINVALID, err, errlen, "policy: %s.seccomp_profiles must be an object "
                                                 "of name: profile file", section);
    char sub[128];
    snprintf(sub, sizeof(sub), "%s.seccomp_profiles", section);
    int rc = known_keys(obj, sub, NULL, err, errlen); /* repeats */
    if (rc < 0)
        return rc;
    size_t n = (size_t)cJSON_GetArraySize(obj), i = 0;
    a->list[POLICY_SECCOMP_PROFILES] = calloc(n + 1, sizeof(char *));
    a->values[POLICY_SECCOMP_PROFILES] = calloc(n + 1, sizeof(char *));
    if (!a->list[POLICY_SECCOMP_PROFILES] || !a->values[POLICY_SECCOMP_PROFILES])
        return FLAME_ENOMEM;
    const cJSON *it;
    cJSON_ArrayForEach(it, obj)
    {
        char ferr[300] = "";
        if (!it->string[0] || strpbrk(it->string, "{}\"=:, ") || strcmp(it->string, "unconfined") == 0)
            return deny(FLAME_EINVALID, err, errlen, "policy: %s.seccomp_profiles: '%s' is not a "
                                                     "usable profile name", section, it->string);
        if (!cJSON_IsString(it))
            return deny(FLAME_EINVALID, err, errlen, "policy: %s.seccomp_profiles.%s must be the "
                                                     "path of a profile file", section, it->string);
        char *text = read_small_file(it->valuestring, ferr, sizeof(ferr));
        cJSON *prof = text ? cJSON_Parse(text) : NULL;
        free(text);
        if (!cJSON_IsObject(prof)) {
            cJSON_Delete(prof);
            return deny(FLAME_EINVALID, err, errlen, "policy: %s.seccomp_profiles.%s: %s", section,
                        it->string, ferr[0] ? ferr : "not a JSON seccomp profile");
        }
        a->values[POLICY_SECCOMP_PROFILES][i] = cJSON_PrintUnformatted(prof);
        cJSON_Delete(prof);
        if (!a->values[POLICY_SECCOMP_PROFILES][i] ||
            !(a->list[POLICY_SECCOMP_PROFILES][i] = strdup(it->string)))
            return FLAME_ENOMEM;
        i++;
    }
    return 0;
}

/* One "allow" object, top level or a pool's. */
static int parse_allow(const struct policy *p, struct policy_allow *a, const cJSON *allow,
                       const char *section, char *err, size_t errlen)
{
    const cJSON *it;
    int rc;
    if (!allow)
        return 0;
    if (!cJSON_IsObject(allow))
        return deny(FLAME_EINVALID, err, errlen, "policy: \"%s\" must be an object", section);
    if ((rc = known_keys(allow, section, NULL, err, errlen)) < 0) /* repeats */
        return rc;
    cJSON_ArrayForEach(it, allow)
    {
        int sw = -1;
        for (int i = 0; i < POLICY_SWITCHES && sw < 0; i++)
            if (strcmp(switches[i].name, it->string) == 0)
                sw = i;
        if (sw < 0) {
            size_t r;
            for (r = 0; r < sizeof(retired) / sizeof(retired[0]); r++)
                if (strcmp(retired[r].name, it->string) == 0)
                    break;
            if (r == sizeof(retired) / sizeof(retired[0]))
                return deny(FLAME_EINVALID, err, errlen, "policy: unknown field \"%s.%s\"", section,
                            it->string);
            if (!cJSON_IsBool(it))
                return deny(FLAME_EINVALID, err, errlen, "policy: %s.%s must be true or false",
                            section, it->string);
            if (cJSON_IsTrue(it))
                return deny(FLAME_EINVALID, err, errlen, "policy: %s", retired[r].instead);
            continue; /* false: the default, as before */
        }
        a->set |= 1u << sw;
        if (switches[sw].kind == SW_BOOL) {
            if (!cJSON_IsBool(it))
                return deny(FLAME_EINVALID, err, errlen, "policy: %s.%s must be true or false",
                            section, it->string);
            a->on[sw] = cJSON_IsTrue(it);
        } else if (switches[sw].kind == SW_MAP) {
            if ((rc = parse_seccomp(a, it, section, err, errlen)) < 0)
                return rc;
        } else {
            char field[96];
            size_t n = 0;
            snprintf(field, sizeof(field), "%s.%s", section, it->string);
            if (!cJSON_IsArray(it))
                return deny(FLAME_EINVALID, err, errlen, "policy: %s must be an array of strings "
                                                         "(what it allows)", field);
            if ((rc = str_list(it, field, &a->list[sw], &n, err, errlen)) < 0)
                return rc;
            if (sw == POLICY_CAPABILITIES) {
                /* Docker reads "cap_net_admin" as CAP_NET_ADMIN: keep the one spelling. */
                for (char **q = a->list[sw]; *q; q++) {
                    char *c = *q;
                    for (char *s = c; *s; s++)
                        *s = (char)toupper((unsigned char)*s);
                    if (strncmp(c, "CAP_", 4) == 0)
                        memmove(c, c + 4, strlen(c + 4) + 1);
                }
            }
            if (sw == POLICY_HOST_BINDS &&
                (rc = parse_host_binds(p, a->list[sw], section, err, errlen)) < 0)
                return rc;
        }
    }
    return 0;
}

static int parse_ulimits(struct policy *p, const cJSON *obj, char *err, size_t errlen)
{
    const cJSON *it;
    if (!obj) {
        memcpy(p->ulimits, builtin_ulimits, sizeof(builtin_ulimits));
        p->n_ulimits = sizeof(builtin_ulimits) / sizeof(builtin_ulimits[0]);
        return 0;
    }
    static const char *const names[] = {"core",   "cpu",      "data",   "fsize",   "locks",
                                        "memlock", "msgqueue", "nice",   "nofile",  "nproc",
                                        "rss",    "rtprio",   "rttime", "sigpending", "stack", NULL};
    if (!cJSON_IsObject(obj))
        return deny(FLAME_EINVALID, err, errlen, "policy: ceilings.Ulimits must be an object of "
                                                 "name: ceiling");
    int rc = known_keys(obj, "ceilings.Ulimits", names, err, errlen);
    if (rc < 0)
        return rc;
    cJSON_ArrayForEach(it, obj)
    {
        int64_t v = 0;
        if ((rc = get_num(obj, "ceilings.Ulimits", it->string, &v, err, errlen)) < 0)
            return rc;
        snprintf(p->ulimits[p->n_ulimits].name, sizeof(p->ulimits[0].name), "%s", it->string);
        p->ulimits[p->n_ulimits++].max = v;
    }
    return 0;
}

int policy_parse(struct policy **out, const char *json, const char *docker_socket, char *err,
                 size_t errlen)
{
    struct policy *p = calloc(1, sizeof(*p));
    cJSON *root = NULL;
    int rc = 0;
    if (!p)
        return FLAME_ENOMEM;
    snprintf(p->docker_socket, sizeof(p->docker_socket), "%s",
             docker_socket && docker_socket[0] == '/' ? docker_socket : "/var/run/docker.sock");
    if (!json) {
        rc = parse_ulimits(p, NULL, err, errlen);
        goto done;
    }
    root = cJSON_Parse(json);
    if (!cJSON_IsObject(root)) {
        rc = deny(FLAME_EINVALID, err, errlen, "policy: not a JSON object");
        goto done;
    }
    static const char *const top[] = {"images", "networks", "allow", "pools", "defaults",
                                      "ceilings", "quotas", "limits", NULL};
    static const char *const res_keys[] = {"Memory", "NanoCpus", "PidsLimit", NULL};
    static const char *const ceil_keys[] = {"Memory", "NanoCpus", "PidsLimit", "ShmSize",
                                            "Ulimits", NULL};
    static const char *const quota_keys[] = {"max_runners", "max_runners_per_pool", NULL};
    static const char *const limit_keys[] = {"max_env_entries", "max_env_bytes", "max_labels",
                                             "max_argv", "max_request_bytes", "max_depth", NULL};
    static const char *const pool_keys[] = {"allow", NULL};
    const cJSON *allow = cJSON_GetObjectItemCaseSensitive(root, "allow");
    const cJSON *pools = cJSON_GetObjectItemCaseSensitive(root, "pools");
    const cJSON *defs = cJSON_GetObjectItemCaseSensitive(root, "defaults");
    const cJSON *ceil = cJSON_GetObjectItemCaseSensitive(root, "ceilings");
    const cJSON *quotas = cJSON_GetObjectItemCaseSensitive(root, "quotas");
    const cJSON *limits = cJSON_GetObjectItemCaseSensitive(root, "limits");
    if ((rc = known_keys(root, "", top, err, errlen)) < 0 ||
        (rc = known_keys(defs, "defaults", res_keys, err, errlen)) < 0 ||
        (rc = known_keys(ceil, "ceilings", ceil_keys, err, errlen)) < 0 ||
        (rc = known_keys(quotas, "quotas", quota_keys, err, errlen)) < 0 ||
        (rc = known_keys(limits, "limits", limit_keys, err, errlen)) < 0 ||
        (rc = known_keys(pools, "pools", NULL, err, errlen)) < 0)
        goto done;
    if ((rc = str_list(cJSON_GetObjectItemCaseSensitive(root, "images"), "images", &p->images,
                       &p->n_images, err, errlen)) < 0 ||
        (rc = str_list(cJSON_GetObjectItemCaseSensitive(root, "networks"), "networks",
                       &p->networks, &p->n_networks, err, errlen)) < 0)
        goto done;
    if ((rc = parse_allow(p, &p->allow, allow, "allow", err, errlen)) < 0)
        goto done;
    if (pools) {
        const cJSON *it;
        p->pools = calloc((size_t)cJSON_GetArraySize(pools) + 1, sizeof(*p->pools));
        if (!p->pools) {
            rc = FLAME_ENOMEM;
            goto done;
        }
        cJSON_ArrayForEach(it, pools)
        {
            char section[128], perr[200];
            if (request_pool_validate(it->string, perr, sizeof(perr)) < 0 || !it->string[0]) {
                rc = deny(FLAME_EINVALID, err, errlen, "policy: pools: '%.64s' is not a pool name",
                          it->string);
                goto done;
            }
            snprintf(section, sizeof(section), "pools.%s", it->string);
            if ((rc = known_keys(it, section, pool_keys, err, errlen)) < 0)
                goto done;
            struct policy_pool *pp = &p->pools[p->n_pools++];
            if (!(pp->name = strdup(it->string))) {
                rc = FLAME_ENOMEM;
                goto done;
            }
            snprintf(section, sizeof(section), "pools.%s.allow", it->string);
            if ((rc = parse_allow(p, &pp->allow, cJSON_GetObjectItemCaseSensitive(it, "allow"),
                                  section, err, errlen)) < 0)
                goto done;
        }
    }
    if ((rc = get_num(defs, "defaults", "Memory", &p->def_memory, err, errlen)) < 0 ||
        (rc = get_num(defs, "defaults", "NanoCpus", &p->def_nano_cpus, err, errlen)) < 0 ||
        (rc = get_num(defs, "defaults", "PidsLimit", &p->def_pids, err, errlen)) < 0 ||
        (rc = get_num(ceil, "ceilings", "Memory", &p->max_memory, err, errlen)) < 0 ||
        (rc = get_num(ceil, "ceilings", "NanoCpus", &p->max_nano_cpus, err, errlen)) < 0 ||
        (rc = get_num(ceil, "ceilings", "PidsLimit", &p->max_pids, err, errlen)) < 0 ||
        (rc = get_num(ceil, "ceilings", "ShmSize", &p->max_shm, err, errlen)) < 0 ||
        (rc = parse_ulimits(p, cJSON_GetObjectItemCaseSensitive(ceil, "Ulimits"), err, errlen)) < 0)
        goto done;
    const char *over = (p->max_memory && p->def_memory > p->max_memory)          ? "Memory"
                       : (p->max_nano_cpus && p->def_nano_cpus > p->max_nano_cpus) ? "NanoCpus"
                       : (p->max_pids && p->def_pids > p->max_pids)                ? "PidsLimit"
                                                                                   : NULL;
    if (over) {
        rc = deny(FLAME_EINVALID, err, errlen, "policy: defaults.%s is above ceilings.%s", over,
                  over);
        goto done;
    }
    if ((rc = get_size(quotas, "quotas", "max_runners", &p->max_runners, err, errlen)) < 0 ||
        (rc = get_size(quotas, "quotas", "max_runners_per_pool", &p->max_runners_per_pool, err, errlen)) < 0 ||
        (rc = get_size(limits, "limits", "max_env_entries", &p->max_env_entries, err, errlen)) < 0 ||
        (rc = get_size(limits, "limits", "max_env_bytes", &p->max_env_bytes, err, errlen)) < 0 ||
        (rc = get_size(limits, "limits", "max_labels", &p->max_labels, err, errlen)) < 0 ||
        (rc = get_size(limits, "limits", "max_argv", &p->max_argv, err, errlen)) < 0 ||
        (rc = get_size(limits, "limits", "max_request_bytes", &p->max_request_bytes, err, errlen)) < 0 ||
        (rc = get_size(limits, "limits", "max_depth", &p->max_depth, err, errlen)) < 0)
        goto done;
    if (p->max_depth && (p->max_depth < 8 || p->max_depth > 200)) {
        rc = deny(FLAME_EINVALID, err, errlen, "policy: limits.max_depth must be between 8 and 200");
        goto done;
    }
done:
    cJSON_Delete(root);
    if (rc < 0) {
        policy_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

int policy_load(struct policy **out, const char *path, const char *docker_socket, char *err,
                size_t errlen)
{
    char ferr[400] = "";
    char *buf = read_small_file(path, ferr, sizeof(ferr));
    if (!buf)
        return ferr[0] ? deny(FLAME_EINVALID, err, errlen, "policy file %s", ferr) : FLAME_ENOMEM;
    char perr[400] = "";
    int rc = policy_parse(out, buf, docker_socket, perr, sizeof(perr));
    if (rc < 0)
        snprintf(err, errlen, "%s: %s", path, perr);
    free(buf);
    return rc;
}

/* "app" and "app:latest" are the same image; digests and tags are kept. */
static void normalize_ref(const char *ref, char *out, size_t outlen)
{
    const char *slash = strrchr(ref, '/');
    const char *last = slash ? slash + 1 : ref;
    int has_tag = strchr(last, ':') != NULL || strchr(ref, '@') != NULL;
    snprintf(out, outlen, "%s%s", ref, has_tag ? "" : ":latest");
}

const char *policy_host_binds_covering(const struct policy *p, const char *path, const char **pool)
{
    if (pool)
        *pool = NULL;
    for (size_t s = 0; p && path && s <= p->n_pools; s++) {
        const struct policy_allow *a = s == 0 ? &p->allow : &p->pools[s - 1].allow;
        for (char **q = a->list[POLICY_HOST_BINDS]; q && *q; q++)
            if (path_is_or_under(path, *q)) {
                if (pool)
                    *pool = s == 0 ? NULL : p->pools[s - 1].name;
                return *q;
            }
    }
    return NULL;
}

int policy_image_allowed(const struct policy *p, const char *image)
{
    if (!p->images)
        return 1;
    char img[600], pat[600];
    normalize_ref(image, img, sizeof(img));
    for (size_t i = 0; i < p->n_images; i++) {
        const char *e = p->images[i];
        size_t n = strlen(e);
        if (n && e[n - 1] == '*') {
            if (strncmp(image, e, n - 1) == 0)
                return 1;
            continue;
        }
        normalize_ref(e, pat, sizeof(pat));
        if (strcmp(img, pat) == 0)
            return 1;
    }
    return 0;
}

/* ------------------------------------------------------------------ checks */

/* Each switch, taken from the pool's "allow" where it sets it, else the top level's. */
struct effective {
    const struct policy_allow *src[POLICY_SWITCHES];
    const char *pool;
    int pool_specific; /* the pool has its own "allow" */
};

static void effective_for(const struct policy *p, const char *pool, struct effective *e)
{
    const struct policy_pool *pp = NULL;
    for (size_t i = 0; i < p->n_pools && !pp; i++)
        if (strcmp(p->pools[i].name, pool) == 0)
            pp = &p->pools[i];
    e->pool = pool;
    e->pool_specific = pp != NULL;
    for (int sw = 0; sw < POLICY_SWITCHES; sw++)
        e->src[sw] = (pp && (pp->allow.set & (1u << sw))) ? &pp->allow : &p->allow;
}

static int sw_on(const struct effective *e, enum policy_switch sw) { return e->src[sw]->on[sw]; }
static char **sw_list(const struct effective *e, enum policy_switch sw) { return e->src[sw]->list[sw]; }

static int in_list(char **l, const char *s)
{
    for (char **q = l; q && *q; q++)
        if (strcmp(*q, s) == 0)
            return 1;
    return 0;
}

static int denied(const struct effective *e, enum policy_switch sw, char *err, size_t errlen,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int denied(const struct effective *e, enum policy_switch sw, char *err, size_t errlen,
                  const char *fmt, ...)
{
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return deny(FLAME_EPERM, err, errlen, "%s: denied by policy allow.%s (pool '%.64s'); an "
                                          "operator can turn it on in the policy file (docs/security.md)",
                what, switches[sw].name, e->pool);
}

/* The value Docker reads as "not set": false, "", 0, [], {}. */
static int is_zero(const cJSON *v)
{
    return cJSON_IsFalse(v) || (cJSON_IsString(v) && !v->valuestring[0]) ||
           (cJSON_IsNumber(v) && v->valuedouble == 0) ||
           ((cJSON_IsArray(v) || cJSON_IsObject(v)) && !v->child);
}

/* A host path a runner would bind: under allow.host_binds, never root's keys, no socket or device. */
static int check_host_path(const struct policy *p, const struct effective *e, const char *where,
                           const char *clean, char *err, size_t errlen)
{
    char **prefixes = sw_list(e, POLICY_HOST_BINDS);
    if (!prefixes || !prefixes[0])
        return denied(e, POLICY_HOST_BINDS, err, errlen, "%s binds the host path '%.200s'", where,
                      clean);
    char *real = NULL;
    const char *why = "";
    int rrc = resolve_path(clean, &real, &why);
    if (rrc == FLAME_EPERM)
        return deny(FLAME_EPERM, err, errlen, "%s: the host path '%.200s' is denied by policy: %s",
                    where, clean, why);
    if (rrc < 0)
        return rrc;
    char socks[8][PATH_MAX];
    size_t ns = root_socket_paths(p, socks, 8);
    int rc = 0;
    const char *sock = NULL;
    for (size_t i = 0; i < ns && !sock; i++)
        if (path_is_or_under(socks[i], clean) || path_is_or_under(socks[i], real))
            sock = socks[i];
    int under = 0;
    for (char **q = prefixes; *q && !under; q++)
        under = path_is_or_under(real, *q) && path_is_or_under(clean, "/") && strcmp(real, "/") != 0;
    struct stat st;
    if (sock) {
        rc = deny(FLAME_EPERM, err, errlen, "%s: the host path '%.200s' is or holds '%s', which "
                                            "gives root on the host: denied by policy", where, clean,
                  sock);
    } else if (!under) {
        rc = denied(e, POLICY_HOST_BINDS, err, errlen,
                    "%s: the host path '%.200s'%s%.200s%s is not under a prefix in allow.host_binds",
                    where, clean, strcmp(real, clean) ? " (resolved: '" : "",
                    strcmp(real, clean) ? real : "", strcmp(real, clean) ? "')" : "");
    } else if (stat(real, &st) == 0 && (S_ISSOCK(st.st_mode) || S_ISCHR(st.st_mode) ||
                                        S_ISBLK(st.st_mode))) {
        rc = deny(FLAME_EPERM, err, errlen, "%s: the host path '%.200s' is a %s: denied by policy "
                                            "(binds of sockets and device nodes are never allowed)",
                  where, clean, S_ISSOCK(st.st_mode) ? "socket" : "device node");
    }
    free(real);
    return rc;
}

/* "net_admin", "CAP_NET_ADMIN" and "cap_net_admin" are one capability to Docker: "CAP_NET_ADMIN". */
static int cap_normalize(const char *in, char *out, size_t outlen)
{
    char up[64];
    size_t n = strlen(in);
    if (n == 0 || n >= sizeof(up))
        return -1;
    for (size_t i = 0; i <= n; i++)
        up[i] = (char)toupper((unsigned char)in[i]);
    const char *name = strncmp(up, "CAP_", 4) == 0 ? up + 4 : up;
    if (!name[0])
        return -1;
    for (const char *s = name; *s; s++)
        if (!isupper((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '_')
            return -1;
    snprintf(out, outlen, "%s", name);
    return 0;
}

static int check_caps(const struct effective *e, cJSON *arr, int add, char *err, size_t errlen)
{
    cJSON *it;
    int i = 0;
    cJSON_ArrayForEach(it, arr)
    {
        char name[64], full[72];
        if (cap_normalize(it->valuestring, name, sizeof(name)) < 0)
            return deny(FLAME_EINVALID, err, errlen, "host_config.%s[%d] '%.64s' is not a "
                                                     "capability name", add ? "CapAdd" : "CapDrop",
                        i, it->valuestring);
        if (add && !in_list(sw_list(e, POLICY_CAPABILITIES), name))
            return denied(e, POLICY_CAPABILITIES, err, errlen, "host_config.CapAdd[%d] '%.64s'", i,
                          it->valuestring);
        snprintf(full, sizeof(full), "%s%s", strcmp(name, "ALL") ? "CAP_" : "", name);
        if (!cJSON_SetValuestring(it, full))
            return FLAME_ENOMEM;
        i++;
    }
    return 0;
}

/*
 * SecurityOpt, as dockerd's parseSecurityOpt reads it: "key=value", or
 * "key:value" when there is no '='. Allowed: no-new-privileges; seccomp and
 * apparmor profiles by name from the policy; "unconfined" and label=disable
 * only with allow.privileged. Everything else (inline seccomp JSON, SELinux
 * labels, systempaths=...) is denied.
 */
static int check_security_opt(const struct effective *e, cJSON *arr, char *err, size_t errlen)
{
    cJSON *it;
    int i = 0;
    cJSON_ArrayForEach(it, arr)
    {
        const char *opt = it->valuestring;
        char key[32] = "";
        const char *val = NULL;
        const char *eq = strchr(opt, '='), *colon = strchr(opt, ':');
        const char *sep = eq ? eq : colon;
        if (sep && (size_t)(sep - opt) < sizeof(key)) {
            memcpy(key, opt, (size_t)(sep - opt));
            key[sep - opt] = '\0';
            val = sep + 1;
        } else if (!sep && strlen(opt) < sizeof(key)) {
            snprintf(key, sizeof(key), "%s", opt);
        }
        char where[48];
        snprintf(where, sizeof(where), "host_config.SecurityOpt[%d]", i++);
        if (strcmp(key, "no-new-privileges") == 0) {
            if (val && strcmp(val, "true") && strcmp(val, "false") && strcmp(val, "1") &&
                strcmp(val, "0"))
                return deny(FLAME_EINVALID, err, errlen, "%s: no-new-privileges takes true or false",
                            where);
            continue;
        }
        if ((strcmp(key, "seccomp") == 0 || strcmp(key, "apparmor") == 0) && val &&
            strcmp(val, "unconfined") == 0) {
            if (!sw_on(e, POLICY_PRIVILEGED))
                return denied(e, POLICY_PRIVILEGED, err, errlen, "%s '%s=unconfined'", where, key);
            continue;
        }
        if (strcmp(key, "label") == 0 && val && strcmp(val, "disable") == 0) {
            if (!sw_on(e, POLICY_PRIVILEGED))
                return denied(e, POLICY_PRIVILEGED, err, errlen, "%s 'label=disable'", where);
            continue;
        }
        if (strcmp(key, "seccomp") == 0 && val) {
            char **names = sw_list(e, POLICY_SECCOMP_PROFILES);
            char **profiles = e->src[POLICY_SECCOMP_PROFILES]->values[POLICY_SECCOMP_PROFILES];
            for (size_t k = 0; names && names[k]; k++) {
                if (strcmp(names[k], val) == 0) {
                    size_t len = strlen(profiles[k]) + 9;
                    char *s = malloc(len);
                    if (!s)
                        return FLAME_ENOMEM;
                    snprintf(s, len, "seccomp=%s", profiles[k]);
                    cJSON *repl = cJSON_CreateString(s);
                    free(s);
                    if (!repl || !cJSON_ReplaceItemViaPointer(arr, it, repl)) {
                        cJSON_Delete(repl);
                        return FLAME_ENOMEM;
                    }
                    it = repl;
                    goto next;
                }
            }
            return denied(e, POLICY_SECCOMP_PROFILES, err, errlen,
                          "%s: the seccomp profile '%.40s%s' is not one the policy names "
                          "(profiles are allowed by name only, never inline)",
                          where, val, strlen(val) > 40 ? "..." : "");
        }
        if (strcmp(key, "apparmor") == 0 && val) {
            if (!in_list(sw_list(e, POLICY_APPARMOR_PROFILES), val))
                return denied(e, POLICY_APPARMOR_PROFILES, err, errlen,
                              "%s: the AppArmor profile '%.64s'", where, val);
            continue;
        }
        return deny(FLAME_EPERM, err, errlen, "%s '%.64s' is denied by policy: SecurityOpt allows "
                                              "no-new-privileges, seccomp=NAME and apparmor=NAME "
                                              "from the policy's lists (docs/security.md)",
                    where, opt);
    next:;
    }
    return 0;
}

static int check_binds(const struct policy *p, const struct effective *e, const cJSON *arr,
                       char *err, size_t errlen)
{
    const cJSON *it;
    int i = 0;
    cJSON_ArrayForEach(it, arr)
    {
        char where[48], src[PATH_MAX];
        snprintf(where, sizeof(where), "host_config.Binds[%d]", i++);
        const char *colon = strchr(it->valuestring, ':');
        size_t n = colon ? (size_t)(colon - it->valuestring) : strlen(it->valuestring);
        if (n >= sizeof(src))
            return deny(FLAME_EINVALID, err, errlen, "%s: source too long", where);
        memcpy(src, it->valuestring, n);
        src[n] = '\0';
        const char *mode = colon ? strchr(colon + 1, ':') : NULL;
        for (const char *m = mode ? mode + 1 : NULL; m && *m;) {
            size_t len = strcspn(m, ",");
            static const char *const bad[] = {"z", "Z", "shared", "rshared", NULL};
            for (const char *const *b = bad; *b; b++)
                if (strlen(*b) == len && strncmp(*b, m, len) == 0)
                    return deny(FLAME_EPERM, err, errlen, "%s: mode '%s' is denied by policy (%s)",
                                where, *b, (*b)[0] == 'z' || (*b)[0] == 'Z'
                                               ? "it relabels host files"
                                               : "it propagates mounts back to the host");
            m += len + (m[len] == ',');
        }
        int rc;
        if (src[0] == '/' && (rc = check_host_path(p, e, where, src, err, errlen)) < 0)
            return rc;
    }
    return 0;
}

static int check_ulimits(const struct policy *p, cJSON *arr, char *err, size_t errlen)
{
    cJSON *it;
    int i = 0;
    cJSON_ArrayForEach(it, arr)
    {
        cJSON *name = cJSON_GetObjectItemCaseSensitive(it, "Name");
        const cJSON *soft = cJSON_GetObjectItemCaseSensitive(it, "Soft");
        const cJSON *hard = cJSON_GetObjectItemCaseSensitive(it, "Hard");
        char lower[16] = "";
        if (!cJSON_IsString(name) || strlen(name->valuestring) >= sizeof(lower))
            return deny(FLAME_EINVALID, err, errlen, "host_config.Ulimits[%d] needs a Name "
                                                     "(e.g. \"nofile\")", i);
        for (size_t k = 0; name->valuestring[k]; k++)
            lower[k] = (char)tolower((unsigned char)name->valuestring[k]);
        const struct policy_ulimit *u = NULL;
        for (size_t k = 0; k < p->n_ulimits && !u; k++)
            if (strcmp(p->ulimits[k].name, lower) == 0)
                u = &p->ulimits[k];
        if (!u)
            return deny(FLAME_EPERM, err, errlen, "host_config.Ulimits[%d] '%.16s' is denied by "
                                                  "policy ceilings.Ulimits (it names the ulimits "
                                                  "runners may set)", i, name->valuestring);
        double s = cJSON_IsNumber(soft) ? soft->valuedouble : 0;
        double h = cJSON_IsNumber(hard) ? hard->valuedouble : 0;
        if (s < 0 || h < 0 || s > h)
            return deny(FLAME_EINVALID, err, errlen, "host_config.Ulimits[%d] %s: need 0 <= Soft "
                                                     "<= Hard (-1, unlimited, is never allowed)", i,
                        lower);
        if (h > (double)u->max)
            return deny(FLAME_EPERM, err, errlen, "host_config.Ulimits[%d] %s Hard %.0f is above "
                                                  "the policy ceiling ceilings.Ulimits.%s (%lld)",
                        i, lower, h, lower, (long long)u->max);
        const cJSON *before;
        for (before = arr->child; before != it; before = before->next)
            if (strcmp(cJSON_GetObjectItemCaseSensitive(before, "Name")->valuestring, lower) == 0)
                return deny(FLAME_EINVALID, err, errlen, "host_config.Ulimits: '%s' is repeated",
                            lower);
        if (!cJSON_SetValuestring(name, lower))
            return FLAME_ENOMEM;
        i++;
    }
    return 0;
}

/* Tmpfs options Docker passes to mount(2): no device files, no setuid. */
static int check_tmpfs_options(const char *where, const char *opts, char *err, size_t errlen)
{
    static const char *const flags[] = {"rw", "ro", "noexec", "exec", "nosuid", "nodev", NULL};
    static const char *const keyed[] = {"size=", "mode=", "uid=", "gid=", "nr_inodes=", NULL};
    for (const char *o = opts; *o;) {
        size_t len = strcspn(o, ",");
        int ok = 0;
        for (const char *const *f = flags; *f && !ok; f++)
            ok = strlen(*f) == len && strncmp(*f, o, len) == 0;
        for (const char *const *k = keyed; *k && !ok; k++) {
            size_t kl = strlen(*k);
            if (len > kl && strncmp(*k, o, kl) == 0) {
                ok = 1;
                for (size_t c = kl; c < len; c++)
                    if (!isalnum((unsigned char)o[c]) && o[c] != '%')
                        ok = 0;
            }
        }
        if (!ok)
            return deny(FLAME_EPERM, err, errlen, "%s: tmpfs option '%.*s' is denied by policy "
                                                  "(allowed: rw ro noexec exec nosuid nodev size= "
                                                  "mode= uid= gid= nr_inodes=)",
                        where, (int)(len > 40 ? 40 : len), o);
        o += len + (o[len] == ',');
    }
    return 0;
}

static int check_sysctls(const struct effective *e, cJSON **slot, char *err, size_t errlen)
{
    cJSON *in = *slot, *out = cJSON_CreateObject(), *it;
    if (!out)
        return FLAME_ENOMEM;
    cJSON_ArrayForEach(it, in)
    {
        char name[256];
        snprintf(name, sizeof(name), "%s", it->string);
        for (char *c = name; *c; c++)
            if (*c == '/')
                *c = '.'; /* runc reads net/ipv4/x as net.ipv4.x */
        int rc = 0;
        if (!in_list(sw_list(e, POLICY_SYSCTLS), name))
            rc = denied(e, POLICY_SYSCTLS, err, errlen, "host_config.Sysctls '%.100s'", it->string);
        else if (cJSON_GetObjectItemCaseSensitive(out, name))
            rc = deny(FLAME_EINVALID, err, errlen, "host_config.Sysctls: '%.100s' is repeated", name);
        else if (!cJSON_AddStringToObject(out, name, it->valuestring))
            rc = FLAME_ENOMEM;
        if (rc < 0) {
            cJSON_Delete(out);
            return rc;
        }
    }
    *slot = out;
    return 0;
}

enum hc_rule {
    R_OK,         /* resource and hygiene fields: allowed (ceilings below) */
    R_SWITCH,     /* allowed when zero, else needs the switch */
    R_PRESENT,    /* needs the switch whenever present ([] means "unmask all") */
    R_CPU_PERIOD, /* allowed unless ceilings.NanoCpus bounds CPU */
    R_ULIMITS,
    R_SHM,
    R_TMPFS,
    R_CAPADD,
    R_CAPDROP,
    R_SECOPT,
    R_BINDS,
    R_IPC,       /* private, shareable, none: allowed; else host_namespaces */
    R_CGROUPNS,  /* private: allowed; else host_namespaces */
    R_SYSCTLS,
    R_NAMED,     /* a string value named in the switch's list */
    R_LOG,
    R_DEVREQ,
};

/* Every HostConfig field the decoder reads, with its rule; a field not here is denied. */
static const struct {
    const char *field;
    enum hc_rule rule;
    enum policy_switch sw;
} hc_rules[] = {
    {"Memory", R_OK, 0},           {"MemoryReservation", R_OK, 0},
    {"MemorySwap", R_OK, 0},       {"MemorySwappiness", R_OK, 0},
    {"NanoCpus", R_OK, 0},         {"CpuShares", R_OK, 0},
    {"CpusetCpus", R_OK, 0},       {"CpusetMems", R_OK, 0},
    {"PidsLimit", R_OK, 0},        {"ReadonlyRootfs", R_OK, 0},
    {"Init", R_OK, 0},             {"CpuPeriod", R_CPU_PERIOD, 0},
    {"CpuQuota", R_CPU_PERIOD, 0}, {"Ulimits", R_ULIMITS, 0},
    {"ShmSize", R_SHM, 0},         {"Tmpfs", R_TMPFS, 0},
    {"CapDrop", R_CAPDROP, 0},     {"CapAdd", R_CAPADD, POLICY_CAPABILITIES},
    {"SecurityOpt", R_SECOPT, 0},  {"Binds", R_BINDS, POLICY_HOST_BINDS},
    {"Privileged", R_SWITCH, POLICY_PRIVILEGED},
    {"PidMode", R_SWITCH, POLICY_HOST_NAMESPACES},
    {"UTSMode", R_SWITCH, POLICY_HOST_NAMESPACES},
    {"UsernsMode", R_SWITCH, POLICY_HOST_NAMESPACES},
    {"IpcMode", R_IPC, POLICY_HOST_NAMESPACES},
    {"CgroupnsMode", R_CGROUPNS, POLICY_HOST_NAMESPACES},
    {"VolumesFrom", R_SWITCH, POLICY_HOST_NAMESPACES},
    {"Devices", R_SWITCH, POLICY_DEVICES},
    {"DeviceCgroupRules", R_SWITCH, POLICY_DEVICES},
    {"DeviceRequests", R_DEVREQ, POLICY_DEVICE_REQUESTS},
    {"VolumeDriver", R_SWITCH, POLICY_VOLUME_DRIVERS},
    {"CgroupParent", R_SWITCH, POLICY_CGROUP},
    {"Cgroup", R_SWITCH, POLICY_CGROUP},
    {"CpuRealtimePeriod", R_SWITCH, POLICY_CGROUP},
    {"CpuRealtimeRuntime", R_SWITCH, POLICY_CGROUP},
    {"BlkioWeight", R_SWITCH, POLICY_CGROUP},
    {"BlkioWeightDevice", R_SWITCH, POLICY_CGROUP},
    {"BlkioDeviceReadBps", R_SWITCH, POLICY_CGROUP},
    {"BlkioDeviceWriteBps", R_SWITCH, POLICY_CGROUP},
    {"BlkioDeviceReadIOps", R_SWITCH, POLICY_CGROUP},
    {"BlkioDeviceWriteIOps", R_SWITCH, POLICY_CGROUP},
    {"OomScoreAdj", R_SWITCH, POLICY_CGROUP},
    {"OomKillDisable", R_SWITCH, POLICY_CGROUP},
    {"Sysctls", R_SYSCTLS, POLICY_SYSCTLS},
    {"Runtime", R_NAMED, POLICY_RUNTIMES},
    {"MaskedPaths", R_PRESENT, POLICY_MASKED_PATHS},
    {"ReadonlyPaths", R_PRESENT, POLICY_MASKED_PATHS},
    {"PortBindings", R_SWITCH, POLICY_PORT_BINDINGS},
    {"PublishAllPorts", R_SWITCH, POLICY_PORT_BINDINGS},
    {"LogConfig", R_LOG, POLICY_LOG_DRIVERS},
    {"Dns", R_SWITCH, POLICY_DNS},
    {"DnsOptions", R_SWITCH, POLICY_DNS},
    {"DnsSearch", R_SWITCH, POLICY_DNS},
    {"ExtraHosts", R_SWITCH, POLICY_DNS},
    {"GroupAdd", R_SWITCH, POLICY_GROUP_ADD},
};

static int check_field(const struct policy *p, const struct effective *e, cJSON *hc, cJSON *v,
                       char *err, size_t errlen)
{
    const char *f = v->string;
    size_t i, n = sizeof(hc_rules) / sizeof(hc_rules[0]);
    for (i = 0; i < n; i++)
        if (strcmp(hc_rules[i].field, f) == 0)
            break;
    if (i == n)
        return deny(FLAME_EPERM, err, errlen, "host_config.%s is not in the policy's allowlist", f);
    enum policy_switch sw = hc_rules[i].sw;
    static const char *const nonneg[] = {"Memory", "MemoryReservation", "NanoCpus", "CpuShares",
                                         "CpuPeriod", "ShmSize", NULL};
    for (const char *const *k = nonneg; *k; k++)
        if (strcmp(*k, f) == 0 && v->valuedouble < 0)
            return deny(FLAME_EINVALID, err, errlen, "host_config.%s %.0f must not be negative "
                                                     "(0 means Docker's default)", f, v->valuedouble);
    if ((strcmp(f, "MemorySwap") == 0 && v->valuedouble < -1) ||
        (strcmp(f, "MemorySwappiness") == 0 && (v->valuedouble < -1 || v->valuedouble > 100)))
        return deny(FLAME_EINVALID, err, errlen, "host_config.%s %.0f is out of range (%s)", f,
                    v->valuedouble, strcmp(f, "MemorySwappiness") == 0 ? "-1 to 100"
                                                                       : "-1 for unlimited, or bytes");
    switch (hc_rules[i].rule) {
    case R_OK:
        return 0;
    case R_SWITCH:
        return is_zero(v) || sw_on(e, sw) ? 0 : denied(e, sw, err, errlen, "host_config.%s", f);
    case R_PRESENT:
        return sw_on(e, sw) ? 0 : denied(e, sw, err, errlen, "host_config.%s", f);
    case R_DEVREQ:
        return is_zero(v) || sw_on(e, POLICY_DEVICE_REQUESTS) || sw_on(e, POLICY_DEVICES)
                   ? 0
                   : denied(e, sw, err, errlen, "host_config.%s", f);
    case R_IPC:
        if (!strcmp(v->valuestring, "") || !strcmp(v->valuestring, "private") ||
            !strcmp(v->valuestring, "shareable") || !strcmp(v->valuestring, "none") || sw_on(e, sw))
            return 0;
        return denied(e, sw, err, errlen, "host_config.IpcMode '%.64s'", v->valuestring);
    case R_CGROUPNS:
        if (!strcmp(v->valuestring, "") || !strcmp(v->valuestring, "private") || sw_on(e, sw))
            return 0;
        return denied(e, sw, err, errlen, "host_config.CgroupnsMode '%.64s'", v->valuestring);
    case R_NAMED:
        if (!v->valuestring[0] || in_list(sw_list(e, sw), v->valuestring))
            return 0;
        return denied(e, sw, err, errlen, "host_config.%s '%.64s'", f, v->valuestring);
    case R_LOG: {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(v, "Type");
        const char *t = cJSON_IsString(type) ? type->valuestring : "";
        if (is_zero(v) || in_list(sw_list(e, sw), t))
            return 0;
        return denied(e, sw, err, errlen, "host_config.LogConfig with Type '%.64s'", t);
    }
    case R_CPU_PERIOD:
        if (p->max_nano_cpus && !is_zero(v))
            return deny(FLAME_EPERM, err, errlen, "host_config.%s is denied by policy: "
                                                  "ceilings.NanoCpus bounds CPU, so set NanoCpus "
                                                  "instead", f);
        return 0;
    case R_SHM:
        if (v->valuedouble < 0)
            return deny(FLAME_EINVALID, err, errlen, "host_config.ShmSize must not be negative");
        if (p->max_shm && v->valuedouble > (double)p->max_shm)
            return deny(FLAME_EPERM, err, errlen, "host_config.ShmSize %.0f is above the policy "
                                                  "ceiling ceilings.ShmSize (%lld)",
                        v->valuedouble, (long long)p->max_shm);
        return 0;
    case R_ULIMITS:
        return check_ulimits(p, v, err, errlen);
    case R_TMPFS: {
        const cJSON *it;
        cJSON_ArrayForEach(it, v)
        {
            char where[300];
            int rc;
            snprintf(where, sizeof(where), "host_config.Tmpfs['%.200s']", it->string);
            if (!strcmp(it->string, "/") || path_is_or_under(it->string, "/proc") ||
                path_is_or_under(it->string, "/sys"))
                return deny(FLAME_EPERM, err, errlen, "%s: a tmpfs cannot cover the root, "
                                                          "/proc or /sys", where);
            if ((rc = check_tmpfs_options(where, it->valuestring, err, errlen)) < 0)
                return rc;
        }
        return 0;
    }
    case R_CAPADD:
        return check_caps(e, v, 1, err, errlen);
    case R_CAPDROP:
        return check_caps(e, v, 0, err, errlen);
    case R_SECOPT:
        return check_security_opt(e, v, err, errlen);
    case R_BINDS:
        return check_binds(p, e, v, err, errlen);
    case R_SYSCTLS: {
        cJSON *slot = v;
        int rc = check_sysctls(e, &slot, err, errlen);
        if (rc == 0 && slot != v && !cJSON_ReplaceItemInObjectCaseSensitive(hc, "Sysctls", slot)) {
            cJSON_Delete(slot);
            return FLAME_ENOMEM;
        }
        return rc;
    }
    }
    return deny(FLAME_EPERM, err, errlen, "host_config.%s is not in the policy's allowlist", f);
}

static int check_mounts(const struct policy *p, const struct effective *e, const cJSON *mounts,
                        char *err, size_t errlen)
{
    const cJSON *m;
    int i = 0;
    cJSON_ArrayForEach(m, mounts)
    {
        char where[64];
        int rc;
        snprintf(where, sizeof(where), "mounts[%d]", i++);
        const char *type = cJSON_GetObjectItemCaseSensitive(m, "Type")->valuestring;
        const cJSON *src = cJSON_GetObjectItemCaseSensitive(m, "Source");
        if (strcmp(type, "bind") == 0) {
            const cJSON *prop = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(m, "BindOptions"), "Propagation");
            const char *pv = cJSON_IsString(prop) ? prop->valuestring : "";
            if (pv[0] && strcmp(pv, "private") && strcmp(pv, "rprivate") && strcmp(pv, "slave") &&
                strcmp(pv, "rslave"))
                return deny(FLAME_EPERM, err, errlen, "%s.BindOptions.Propagation '%.32s' is "
                                                      "denied by policy (allowed: private, "
                                                      "rprivate, slave, rslave)", where, pv);
            if ((rc = check_host_path(p, e, where, src->valuestring, err, errlen)) < 0)
                return rc;
        } else if (strcmp(type, "volume") == 0) {
            const cJSON *dc = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(m, "VolumeOptions"), "DriverConfig");
            if (dc && !is_zero(dc) && !sw_on(e, POLICY_VOLUME_DRIVERS))
                return denied(e, POLICY_VOLUME_DRIVERS, err, errlen,
                              "%s.VolumeOptions.DriverConfig (a volume driver or its options)", where);
        } else {
            const char *target = cJSON_GetObjectItemCaseSensitive(m, "Target")->valuestring;
            if (path_is_or_under(target, "/proc") || path_is_or_under(target, "/sys"))
                return deny(FLAME_EPERM, err, errlen, "%s: a tmpfs cannot cover /proc or /sys",
                            where);
            const cJSON *to = cJSON_GetObjectItemCaseSensitive(m, "TmpfsOptions");
            const cJSON *size = cJSON_GetObjectItemCaseSensitive(to, "SizeBytes");
            const cJSON *mode = cJSON_GetObjectItemCaseSensitive(to, "Mode");
            if ((size && size->valuedouble < 0) ||
                (mode && (mode->valuedouble < 0 || mode->valuedouble > 07777)))
                return deny(FLAME_EINVALID, err, errlen, "%s.TmpfsOptions: SizeBytes must not be "
                                                         "negative and Mode is 0 to 07777", where);
        }
    }
    return 0;
}

/* Apply a default when the field is absent or <= 0 (Docker's "unlimited"), then the ceiling. */
static int apply_resource(cJSON *hc, const char *field, int64_t def, int64_t max, char *err,
                          size_t errlen)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(hc, field);
    double cur = cJSON_IsNumber(v) ? v->valuedouble : 0;
    if (cur <= 0 && (def || max)) {
        double nv = (double)(def ? def : max);
        if (v)
            cJSON_SetNumberValue(v, nv);
        else if (!cJSON_AddNumberToObject(hc, field, nv))
            return FLAME_ENOMEM;
        return 0;
    }
    if (max && cur > (double)max)
        return deny(FLAME_EPERM, err, errlen, "host_config.%s %.0f is above the policy ceiling "
                                              "ceilings.%s (%lld)", field, cur, field, (long long)max);
    return 0;
}

static size_t limit(size_t policy_value, size_t builtin)
{
    return policy_value && policy_value < builtin ? policy_value : builtin;
}

int policy_check_limits(const struct policy *p, const Flame__V1__BootRequest *req, char *err,
                        size_t errlen)
{
    size_t env_bytes = 0;
    for (size_t i = 0; i < req->n_env; i++)
        env_bytes += strlen(req->env[i]->key) + strlen(req->env[i]->value) + 2;
    if (req->n_env > limit(p->max_env_entries, REQ_ENV_MAX))
        return deny(FLAME_EINVALID, err, errlen, "env has %zu entries; the limit is %zu "
                                                 "(policy limits.max_env_entries)",
                    req->n_env, limit(p->max_env_entries, REQ_ENV_MAX));
    if (env_bytes > limit(p->max_env_bytes, REQ_ENV_BYTES_MAX))
        return deny(FLAME_EINVALID, err, errlen, "env is %zu bytes; the limit is %zu (policy "
                                                 "limits.max_env_bytes)",
                    env_bytes, limit(p->max_env_bytes, REQ_ENV_BYTES_MAX));
    if (req->n_labels > limit(p->max_labels, REQ_LABELS_MAX))
        return deny(FLAME_EINVALID, err, errlen, "labels has %zu entries; the limit is %zu "
                                                 "(policy limits.max_labels)",
                    req->n_labels, limit(p->max_labels, REQ_LABELS_MAX));
    if (req->n_cmd > limit(p->max_argv, REQ_ARGV_MAX))
        return deny(FLAME_EINVALID, err, errlen, "cmd has %zu entries; the limit is %zu (policy "
                                                 "limits.max_argv)",
                    req->n_cmd, limit(p->max_argv, REQ_ARGV_MAX));
    return 0;
}

int policy_check_boot(const struct policy *p, const Flame__V1__BootRequest *req,
                      cJSON **host_config, const cJSON *mounts, char *err, size_t errlen)
{
    int rc;
    struct effective e;
    effective_for(p, (req->pool && req->pool[0]) ? req->pool : REQ_DEFAULT_POOL, &e);
    if (!policy_image_allowed(p, req->image))
        return deny(FLAME_EPERM, err, errlen, "image '%.200s' is not in the policy's images "
                                              "allowlist", req->image);
    if (p->networks) {
        const char *net = req->network ? req->network : "";
        size_t i;
        for (i = 0; i < p->n_networks; i++)
            if (strcmp(p->networks[i], net) == 0)
                break;
        if (i == p->n_networks)
            return deny(FLAME_EPERM, err, errlen, "network '%.64s' is not in the policy's "
                                                  "networks allowlist", net);
    }
    if ((rc = policy_check_limits(p, req, err, errlen)) < 0)
        return rc;
    if (req->network && (strcmp(req->network, "host") == 0 || strcmp(req->network, "none") == 0) &&
        !sw_on(&e, POLICY_HOST_NAMESPACES))
        return denied(&e, POLICY_HOST_NAMESPACES, err, errlen, "network '%s' (%s)", req->network,
                      req->network[0] == 'h' ? "the host's network namespace"
                                             : "no network: a runner must reach its parent");
    if ((req->placement && (req->placement->n_constraints || req->placement->n_preferences)) &&
        !sw_on(&e, POLICY_PLACEMENT))
        return denied(&e, POLICY_PLACEMENT, err, errlen, "placement (Swarm constraints and "
                                                         "preferences)");
    if (*host_config) {
        cJSON *v = (*host_config)->child;
        while (v) {
            cJSON *next = v->next; /* Sysctls may be replaced in place */
            if ((rc = check_field(p, &e, *host_config, v, err, errlen)) < 0)
                return rc;
            v = next;
        }
    }
    if ((rc = check_mounts(p, &e, mounts, err, errlen)) < 0)
        return rc;
    if (p->def_memory || p->max_memory || p->def_nano_cpus || p->max_nano_cpus || p->def_pids ||
        p->max_pids) {
        if (!*host_config && !(*host_config = cJSON_CreateObject()))
            return FLAME_ENOMEM;
        if ((rc = apply_resource(*host_config, "Memory", p->def_memory, p->max_memory, err, errlen)) < 0 ||
            (rc = apply_resource(*host_config, "NanoCpus", p->def_nano_cpus, p->max_nano_cpus, err, errlen)) < 0 ||
            (rc = apply_resource(*host_config, "PidsLimit", p->def_pids, p->max_pids, err, errlen)) < 0)
            return rc;
    }
    return 0;
}

int policy_check_spawn(const struct policy *p, const Flame__V1__SpawnRequest *req, char *err,
                       size_t errlen)
{
    if (req->n_argv > limit(p->max_argv, REQ_ARGV_MAX))
        return deny(FLAME_EINVALID, err, errlen, "argv has %zu entries; the limit is %zu (policy "
                                                 "limits.max_argv)",
                    req->n_argv, limit(p->max_argv, REQ_ARGV_MAX));
    if (req->n_env > limit(p->max_env_entries, REQ_ENV_MAX))
        return deny(FLAME_EINVALID, err, errlen, "env has %zu entries; the limit is %zu (policy "
                                                 "limits.max_env_entries)",
                    req->n_env, limit(p->max_env_entries, REQ_ENV_MAX));
    return 0;
}
