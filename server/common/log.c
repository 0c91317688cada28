/* Logging: see log.h. Level and format are atomics so no lock is needed. */
#include "common/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int log_level_cur = LOG_INFO;
static atomic_int log_format_cur = LOG_FORMAT_TEXT;

void log_configure(enum log_level level, enum log_format format)
{
    atomic_store(&log_level_cur, (int)level);
    atomic_store(&log_format_cur, (int)format);
}

int log_level_parse(const char *name, enum log_level *out)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

int log_enabled(enum log_level level) { return (int)level >= atomic_load(&log_level_cur); }

const char *log_quote(char *out, size_t outlen, const char *value)
{
    size_t o = 0;
    if (outlen < 3) {
        if (outlen)
            out[0] = '\0';
        return out;
    }
    out[o++] = '"';
    for (const char *p = value ? value : ""; *p && o + 3 < outlen; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '"' || ch == '\\') {
            out[o++] = '\\';
            out[o++] = (char)ch;
        } else if (ch < 0x20) {
            out[o++] = ' ';
        } else {
            out[o++] = (char)ch;
        }
    }
    out[o++] = '"';
    out[o] = '\0';
    return out;
}

/* Append s[0..n) to buf as a JSON string body (no quotes). */
static size_t json_escape(char *buf, size_t cap, size_t o, const char *s, size_t n)
{
    for (size_t i = 0; i < n && o + 7 < cap; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)ch;
        } else if (ch < 0x20) {
            o += (size_t)snprintf(buf + o, cap - o, "\\u%04x", ch);
        } else {
            buf[o++] = (char)ch;
        }
    }
    return o;
}

/* Convert `k=v k2="v 2"` pairs into `,"k":"v","k2":"v 2"`. */
static size_t kv_to_json(char *buf, size_t cap, size_t o, const char *kv)
{
    const char *p = kv;
    while (*p && o + 16 < cap) {
        while (*p == ' ')
            p++;
        const char *k = p;
        while (*p && *p != '=' && *p != ' ')
            p++;
        size_t klen = (size_t)(p - k);
        if (klen == 0 || *p != '=') {
            while (*p && *p != ' ')
                p++;
            continue;
        }
        p++;
        char val[1024];
        size_t vl = 0;
        int quoted = 0;
        if (*p == '"') {
            quoted = 1;
            p++;
            while (*p && *p != '"') {
                if (*p == '\\' && p[1])
                    p++;
                if (vl + 1 < sizeof(val))
                    val[vl++] = *p;
                p++;
            }
            if (*p == '"')
                p++;
        } else {
            while (*p && *p != ' ') {
                if (vl + 1 < sizeof(val))
                    val[vl++] = *p;
                p++;
            }
        }
        val[vl] = '\0';
        /* A JSON integer: -?(0|[1-9][0-9]*). Ids stay strings even when all digits. */
        int numeric = !quoted && vl > 0 && vl < 19 && !(klen >= 2 && memcmp(k + klen - 2, "id", 2) == 0);
        size_t d = (numeric && val[0] == '-') ? 1 : 0;
        if (numeric && (d == vl || (val[d] == '0' && vl > d + 1)))
            numeric = 0;
        for (size_t i = d; numeric && i < vl; i++)
            if (val[i] < '0' || val[i] > '9')
                numeric = 0;
        /* Build the pair apart, and append it only whole: a cut line must stay valid JSON. */
        char pair[2 * sizeof(val) + 300];
        size_t q = 0;
        pair[q++] = ',';
        pair[q++] = '"';
        q = json_escape(pair, 256, q, k, klen);
        pair[q++] = '"';
        pair[q++] = ':';
        if (!numeric)
            pair[q++] = '"';
        q = json_escape(pair, sizeof(pair) - 2, q, val, vl);
        if (!numeric)
            pair[q++] = '"';
        if (o + q + 2 > cap)
            break;
        memcpy(buf + o, pair, q);
        o += q;
    }
    return o;
}

void flamed_log(enum log_level level, const char *msg, const char *fmt, ...)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    if (!log_enabled(level))
        return;
    char kv[2048] = "";
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(kv, sizeof(kv), fmt, ap);
        va_end(ap);
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[64];
    snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
    char line[4096];
    size_t o;
    if (atomic_load(&log_format_cur) == LOG_FORMAT_JSON) {
        o = (size_t)snprintf(line, sizeof(line), "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"", when,
                             names[level]);
        o = json_escape(line, sizeof(line), o, msg, strlen(msg));
        line[o++] = '"';
        o = kv_to_json(line, sizeof(line) - 3, o, kv);
        line[o++] = '}';
    } else {
        int n = snprintf(line, sizeof(line) - 1, "ts=%s level=%s msg=%s%s%s", when, names[level], msg,
                         kv[0] ? " " : "", kv);
        o = n < 0 ? 0 : ((size_t)n > sizeof(line) - 2 ? sizeof(line) - 2 : (size_t)n);
    }
    line[o++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, o);
    (void)w;
}
