/*
 * server/docker/image_ref.c - image references: Docker's grammar, checked
 * before a reference reaches Docker, and the split into repository and tag
 * for POST /images/create.
 *
 * The grammar is distribution/reference as dockerd 20.10 applies it
 * (reference.ParseNormalizedNamed, then go-digest for the digest):
 *
 *   reference        := name [':' tag] ['@' digest]
 *   name             := [domain '/'] path-component ('/' path-component)*
 *   domain           := domain-component ('.' domain-component)* [':' port-number]
 *   domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
 *   path-component   := [a-z0-9]+ (separator [a-z0-9]+)*
 *   separator        := [_.] | '__' | '-'+
 *   tag              := [\w][\w.-]{0,127}
 *   digest           := algorithm ':' hex
 *
 * What Docker decides beyond the regular expression, measured on 20.10.24:
 * - The first component is a domain only when it holds '.' or ':' or is
 *   "localhost"; otherwise it is a path component (and so lowercase). A
 *   candidate that is no valid domain is still accepted as a path component
 *   ("a_b.io/x" names docker.io/a_b.io/x).
 * - The 255-byte limit is on the name as Docker normalises it: "x" is
 *   "docker.io/library/x" (18 bytes more), "team/x" is "docker.io/team/x".
 * - Digests: only sha256 (64), sha384 (96) and sha512 (128 hex digits),
 *   lowercase; any other algorithm is "unsupported digest algorithm".
 * - Bracketed IPv6 registry addresses are refused ("invalid reference format").
 * flamed is stricter than Docker in one place: a registry port must be
 * 1-65535 (Docker takes any digits, which no registry can listen on).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker_internal.h"

#define REF_NAME_MAX 255 /* distribution/reference NameTotalLengthMax */
#define REF_TAG_MAX 128
#define REF_SHOW_MAX 120 /* bytes of a reference quoted in a message */

static const char ref_path_rule[] =
    "path components are lowercase ([a-z0-9] separated by '.', '_', '__' or '-'), and begin "
    "and end with a letter or digit";

static int ref_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int ref_alnum(char c)
{
    return ref_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static int ref_word(char c)
{
    return ref_alnum(c) || c == '_';
}

/* A reference quoted in a message: printable ASCII only, at most REF_SHOW_MAX bytes. */
static void ref_show(const char *s, size_t n, char *out, size_t outlen)
{
    size_t i, k = 0, max = n > REF_SHOW_MAX ? REF_SHOW_MAX : n;

    for (i = 0; i < max && k + 4 < outlen; i++)
        out[k++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (max < n && k + 4 < outlen) {
        memcpy(out + k, "...", 3);
        k += 3;
    }
    out[k] = '\0';
}

/* "image 'REF' is not a valid reference: DETAIL" into err; FLAME_EINVALID. */
static int ref_fail(char *err, size_t errlen, const char *ref, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int ref_fail(char *err, size_t errlen, const char *ref, const char *fmt, ...)
{
    char shown[REF_SHOW_MAX + 8], detail[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    ref_show(ref, strlen(ref), shown, sizeof shown);
    return docker__fail(err, errlen, FLAME_EINVALID, "image '%s' is not a valid reference: %s",
                        shown, detail);
}

/* [a-z0-9]+ (separator [a-z0-9]+)*, separator [_.] | '__' | '-'+. */
static int ref_is_path_component(const char *s, size_t n)
{
    size_t i = 0;

    for (;;) {
        if (i >= n || !ref_lower_alnum(s[i]))
            return 0;
        while (i < n && ref_lower_alnum(s[i]))
            i++;
        if (i == n)
            return 1;
        if (s[i] == '.') {
            i++;
        } else if (s[i] == '_') {
            i++;
            if (i < n && s[i] == '_')
                i++;
        } else if (s[i] == '-') {
            while (i < n && s[i] == '-')
                i++;
        } else {
            return 0;
        }
    }
}

/* [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9] */
static int ref_is_domain_component(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || !ref_alnum(s[0]) || !ref_alnum(s[n - 1]))
        return 0;
    for (i = 1; i + 1 < n; i++)
        if (!ref_alnum(s[i]) && s[i] != '-')
            return 0;
    return 1;
}

/* domain-component ('.' domain-component)* [':' 1-65535]; detail in err when not. */
static int ref_check_domain(const char *ref, const char *s, size_t n, char *err, size_t errlen)
{
    char shown[REF_SHOW_MAX + 8];
    const char *colon = memchr(s, ':', n);
    size_t host_n = colon ? (size_t)(colon - s) : n, start = 0, i, port_n;
    long port = 0;

    ref_show(s, n, shown, sizeof shown);
    if (n > 0 && s[0] == '[')
        return ref_fail(err, errlen, ref,
                        "registry '%s' is an IPv6 address, which Docker does not accept in an "
                        "image reference: use a host name",
                        shown);
    for (i = 0; i <= host_n; i++) {
        if (i < host_n && s[i] != '.')
            continue;
        if (!ref_is_domain_component(s + start, i - start))
            return ref_fail(err, errlen, ref,
                            "registry host '%s' is invalid: a host is names of [A-Za-z0-9-] "
                            "separated by '.', each beginning and ending with a letter or digit, "
                            "optionally followed by ':PORT'",
                            shown);
        start = i + 1;
    }
    if (!colon)
        return 0;
    port_n = n - host_n - 1;
    for (i = 0; i < port_n; i++) {
        if (colon[1 + i] < '0' || colon[1 + i] > '9' || port > 65535) {
            port = -1;
            break;
        }
        port = port * 10 + (colon[1 + i] - '0');
    }
    if (port_n == 0 || port < 1 || port > 65535)
        return ref_fail(err, errlen, ref,
                        "the port of registry '%s' is not a number from 1 to 65535 (write "
                        "HOST:PORT/NAME, e.g. localhost:5000/app)",
                        shown);
    return 0;
}

/* [\w][\w.-]{0,127} */
static int ref_check_tag(const char *ref, const char *s, size_t n, char *err, size_t errlen)
{
    char shown[REF_SHOW_MAX + 8];
    size_t i;

    if (n == 0)
        return ref_fail(err, errlen, ref,
                        "the tag after ':' is empty: leave out the ':' (meaning :latest) or "
                        "write NAME:TAG");
    ref_show(s, n, shown, sizeof shown);
    if (n > REF_TAG_MAX)
        return ref_fail(err, errlen, ref, "the tag is %zu bytes long, at most %d are allowed", n,
                        REF_TAG_MAX);
    for (i = 0; i < n; i++)
        if (!ref_word(s[i]) && (i == 0 || (s[i] != '.' && s[i] != '-')))
            return ref_fail(err, errlen, ref,
                            "tag '%s' is invalid: a tag is [A-Za-z0-9_.-] and begins with a "
                            "letter, digit or '_'%s",
                            shown,
                            s[i] == ':' ? " (':' may appear once before the tag, and in a "
                                          "registry host's port)"
                                        : "");
    return 0;
}

/* algorithm ':' hex: sha256, sha384 or sha512 with 64, 96 or 128 lowercase hex digits. */
static int ref_check_digest(const char *ref, const char *s, char *err, size_t errlen)
{
    static const struct {
        const char *name;
        size_t hex;
    } algs[] = {{"sha256", 64}, {"sha384", 96}, {"sha512", 128}};
    char shown[REF_SHOW_MAX + 8];
    const char *colon = strchr(s, ':');
    size_t alg_n, hex_n, i;

    ref_show(s, strlen(s), shown, sizeof shown);
    if (strchr(s, '@'))
        return ref_fail(err, errlen, ref, "it holds more than one '@' (write NAME@sha256:HEX)");
    alg_n = colon ? (size_t)(colon - s) : 0;
    /* algorithm := [a-z0-9]+ ([+._-] [a-z0-9]+)* */
    for (i = 0; i < alg_n; i++)
        if (!ref_lower_alnum(s[i]) &&
            (i == 0 || i + 1 == alg_n || !strchr("+._-", s[i]) || !ref_lower_alnum(s[i - 1])))
            break;
    if (!colon || alg_n == 0 || i < alg_n)
        return ref_fail(err, errlen, ref,
                        "digest '%s' is invalid: a digest is ALGORITHM:HEX, e.g. sha256: and "
                        "64 lowercase hex digits",
                        shown);
    for (i = 0; i < sizeof algs / sizeof algs[0]; i++)
        if (strlen(algs[i].name) == alg_n && memcmp(algs[i].name, s, alg_n) == 0)
            break;
    if (i == sizeof algs / sizeof algs[0])
        return ref_fail(err, errlen, ref,
                        "digest algorithm '%.*s' is not supported by Docker: use sha256, "
                        "sha384 or sha512",
                        (int)(alg_n > 32 ? 32 : alg_n), s);
    hex_n = strlen(colon + 1);
    if (hex_n != algs[i].hex || strspn(colon + 1, "0123456789abcdef") != hex_n)
        return ref_fail(err, errlen, ref,
                        "digest '%s' is invalid: a %s digest is %zu lowercase hex digits "
                        "([0-9a-f])",
                        shown, algs[i].name, algs[i].hex);
    return 0;
}

int docker_image_ref_validate(const char *ref, char *err, size_t errlen)
{
    char shown[REF_SHOW_MAX + 8];
    const char *at, *slash, *colon = NULL, *p, *first_end, *end;
    size_t len, name_n, first_n, norm_n, i;
    int rc, candidate = 0, has_domain = 0;

    if (!ref || !*ref)
        return docker__fail(err, errlen, FLAME_EINVALID,
                            "image is empty: give a reference such as 'busybox:1.36' or "
                            "'registry.example/team/app@sha256:HEX'");
    len = strlen(ref);
    at = strchr(ref, '@');
    end = at ? at : ref + len; /* end of name[:tag] */
    if (at && (rc = ref_check_digest(ref, at + 1, err, errlen)) < 0)
        return rc;

    /* The tag is after the last ':' that follows the last '/' (a ':' before a
     * '/' is a registry port). */
    slash = NULL;
    for (p = ref; p < end; p++)
        if (*p == '/')
            slash = p;
    for (p = slash ? slash + 1 : ref; p < end; p++)
        if (*p == ':')
            colon = p;
    if (colon && (rc = ref_check_tag(ref, colon + 1, (size_t)(end - colon - 1), err, errlen)) < 0)
        return rc;
    name_n = (size_t)((colon ? colon : end) - ref);
    if (name_n == 0)
        return ref_fail(err, errlen, ref, "the repository name is empty (write NAME[:TAG])");

    /* The first component: a registry when it looks like one, else a path component. */
    first_end = memchr(ref, '/', name_n);
    first_n = first_end ? (size_t)(first_end - ref) : name_n;
    if (first_end && first_n > 0 &&
        (memchr(ref, '.', first_n) || memchr(ref, ':', first_n) ||
         (first_n == 9 && memcmp(ref, "localhost", 9) == 0))) {
        char domain_err[REF_SHOW_MAX * 2 + 512];

        candidate = 1;
        if (ref_check_domain(ref, ref, first_n, domain_err, sizeof domain_err) == 0)
            has_domain = 1;
        else if (!ref_is_path_component(ref, first_n)) /* else Docker reads a path component */
            return docker__fail(err, errlen, FLAME_EINVALID, "%s", domain_err);
    }

    /* Path components, each checked. */
    for (p = has_domain ? first_end + 1 : ref; p <= ref + name_n; p = first_end + 1) {
        first_end = memchr(p, '/', (size_t)(ref + name_n - p));
        if (!first_end)
            first_end = ref + name_n;
        i = (size_t)(first_end - p);
        if (i == 0)
            return ref_fail(err, errlen, ref,
                            "a path component is empty (a '/' at the start or the end, or two "
                            "in a row)");
        if (!ref_is_path_component(p, i)) {
            ref_show(p, i, shown, sizeof shown);
            if (memchr(p, ':', i))
                return ref_fail(err, errlen, ref,
                                "':' may appear only before the tag (NAME:TAG) or in a "
                                "registry's port (HOST:PORT/NAME)");
            return ref_fail(err, errlen, ref, "path component '%s' is invalid: %s", shown,
                            ref_path_rule);
        }
    }

    /* Docker's limit counts the name as it normalises it: without a registry,
     * "docker.io/" goes in front, and "library/" too for a one-component name
     * (also after an explicit docker.io/). */
    norm_n = name_n;
    if (!candidate)
        norm_n += sizeof "docker.io/" - 1;
    if (!candidate ? !memchr(ref, '/', name_n)
                   : first_n == 9 && memcmp(ref, "docker.io", 9) == 0 &&
                         !memchr(ref + first_n + 1, '/', name_n - first_n - 1))
        norm_n += sizeof "library/" - 1;
    if (norm_n > REF_NAME_MAX)
        return ref_fail(err, errlen, ref,
                        "the repository name is %zu bytes as Docker reads it (with its "
                        "docker.io/ or docker.io/library/ prefix), at most %d are allowed",
                        norm_n, REF_NAME_MAX);
    return 0;
}

int docker_image_ref_split(const char *ref, char *repo, size_t repolen, char *tag, size_t taglen)
{
    const char *slash, *colon;
    size_t n;

    if (!ref || !*ref || !repo || repolen == 0 || !tag || taglen == 0)
        return FLAME_EINVALID;
    if (strchr(ref, '@')) {
        /* A digest pins the image: it goes into fromImage whole. */
        if (docker__fmt(repo, repolen, "%s", ref) < 0)
            return FLAME_EINVALID;
        tag[0] = '\0';
        return 0;
    }
    slash = strrchr(ref, '/');
    colon = strrchr(ref, ':');
    if (colon && (!slash || colon > slash)) {
        /* "host:5000/repo" has its colon before the last '/': that is a port. */
        n = (size_t)(colon - ref);
        if (n == 0 || colon[1] == '\0' || n >= repolen)
            return FLAME_EINVALID;
        if (docker__fmt(tag, taglen, "%s", colon + 1) < 0)
            return FLAME_EINVALID;
        memcpy(repo, ref, n);
        repo[n] = '\0';
        return 0;
    }
    if (docker__fmt(repo, repolen, "%s", ref) < 0 || docker__fmt(tag, taglen, "latest") < 0)
        return FLAME_EINVALID;
    return 0;
}
