/*
 * units.c - Docker's size and CPU notations ("512m", "1.5") as integers.
 *
 * Fixed-point arithmetic only: "0.1" CPUs must be exactly 100000000 nano
 * CPUs, which a double does not guarantee.
 */
#include <ctype.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

/* digits ['.' digits]: integer part and up to 9 fraction digits, scaled to 1e9. */
static int parse_fixed(const char **pp, uint64_t *ip, uint64_t *frac_nano)
{
    const char *p = *pp;
    uint64_t i = 0, f = 0, scale = 100000000u;

    if (!isdigit((unsigned char)*p))
        return FLAME_EINVALID; /* ".5" and "-1" are not Docker's syntax either */
    while (isdigit((unsigned char)*p)) {
        unsigned d = (unsigned)(*p++ - '0');

        if (i > (UINT64_MAX - d) / 10)
            return FLAME_EINVALID;
        i = i * 10 + d;
    }
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return FLAME_EINVALID;
        while (isdigit((unsigned char)*p)) {
            if (scale == 0)
                return FLAME_EINVALID; /* finer than a nano unit */
            f += (uint64_t)(*p++ - '0') * scale;
            scale /= 10;
        }
    }
    *pp = p;
    *ip = i;
    *frac_nano = f;
    return 0;
}

int flame_parse_memory_bytes(const char *text, int64_t *out_bytes)
{
    static const struct {
        char c;
        uint64_t mult;
    } units[] = {
        {'b', 1},
        {'k', 1024ull},
        {'m', 1024ull * 1024},
        {'g', 1024ull * 1024 * 1024},
        {'t', 1024ull * 1024 * 1024 * 1024},
    };
    const char *p = text;
    uint64_t ip, frac, mult = 1;
    int has_unit = 0;

    if (!text || !out_bytes || parse_fixed(&p, &ip, &frac) < 0)
        return FLAME_EINVALID;
    if (*p) {
        size_t u;

        for (u = 0; u < sizeof(units) / sizeof(units[0]); u++)
            if (tolower((unsigned char)*p) == units[u].c)
                break;
        if (u == sizeof(units) / sizeof(units[0]))
            return FLAME_EINVALID;
        mult = units[u].mult;
        has_unit = units[u].c != 'b';
        p++;
        /* "512m", "512mb", "512MiB" all mean 512 * 2^20, as in `docker run -m`. */
        if (has_unit && (strcasecmp(p, "b") == 0 || strcasecmp(p, "ib") == 0))
            p += strlen(p);
        if (*p)
            return FLAME_EINVALID;
    }
    if (frac && !has_unit)
        return FLAME_EINVALID; /* "1.5" bytes */
    if (ip > (uint64_t)INT64_MAX / mult)
        return FLAME_EINVALID;
    ip *= mult;
    if (frac) {
        /* floor(frac * mult / 1e9) exactly: mult is 2^10..2^40 here, so
         * q = frac * (mult / 1024) < 2^60 and q * 1024 is split by 1e9. */
        uint64_t q = frac * (mult / 1024);

        frac = q / 1000000000u * 1024 + q % 1000000000u * 1024 / 1000000000u;
    }
    if (ip > (uint64_t)INT64_MAX - frac)
        return FLAME_EINVALID;
    *out_bytes = (int64_t)(ip + frac);
    return 0;
}

int flame_parse_nano_cpus(const char *text, int64_t *out_nano_cpus)
{
    const char *p = text;
    uint64_t ip, frac;

    if (!text || !out_nano_cpus || parse_fixed(&p, &ip, &frac) < 0 || *p)
        return FLAME_EINVALID;
    if (ip > ((uint64_t)INT64_MAX - frac) / 1000000000u)
        return FLAME_EINVALID;
    *out_nano_cpus = (int64_t)(ip * 1000000000u + frac);
    return 0;
}
