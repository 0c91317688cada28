/* Logging: see log.h. Level and format are atomics so no lock is needed. */
#include "common/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "common/clock.h"

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

/* obj[key] = val: a JSON integer (already checked to be one) or a string. */
static int add_pair(cJSON *obj, const char *k, size_t klen, const char *val, int numeric)
{
    char key[256];
    cJSON *item;

    if (klen >= sizeof(key))
        klen = sizeof(key) - 1;
    memcpy(key, k, klen);
    key[klen] = '\0';
    /* raw: a 17-digit integer printed by cJSON as a double would lose digits */
    if (!(item = numeric ? cJSON_CreateRaw(val) : cJSON_CreateString(val)))
        return -1;
    cJSON_AddItemToObject(obj, key, item);
    return 0;
}

/* Add `k=v k2="v 2"` pairs to obj as "k":"v","k2":"v 2" (integers as numbers). */
static int kv_to_json(cJSON *obj, const char *kv)
{
    const char *p = kv;
    while (*p) {
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
        if (add_pair(obj, k, klen, val, numeric) < 0)
            return -1;
    }
    return 0;
}

/* The log line as one JSON object into line[0..cap), without the newline. Pairs
 * that do not fit are dropped whole, last first: a cut line stays valid JSON.
 * @return its length, or -1 (out of memory). */
static int json_line(char *line, size_t cap, const char *when, const char *level, const char *msg,
                     const char *kv)
{
    char msg_cut[1024];
    cJSON *obj = cJSON_CreateObject();
    int n = -1;

    /* escaped, even 1 KiB of msg fits a 4 KiB line with ts and level */
    snprintf(msg_cut, sizeof(msg_cut), "%s", msg);
    if (!obj || !cJSON_AddStringToObject(obj, "ts", when) ||
        !cJSON_AddStringToObject(obj, "level", level) ||
        !cJSON_AddStringToObject(obj, "msg", msg_cut) || kv_to_json(obj, kv) < 0)
        goto done;
    /* cJSON's estimate of the room it needs may be a few bytes high: keep 5 spare */
    while (!cJSON_PrintPreallocated(obj, line, (int)cap - 5, 0)) {
        int size = cJSON_GetArraySize(obj);

        if (size <= 3)
            goto done;
        cJSON_DeleteItemFromArray(obj, size - 1);
    }
    n = (int)strlen(line);
done:
    cJSON_Delete(obj);
    return n;
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
    int64_t now_ns = clock_unix_ns();
    time_t now_s = (time_t)(now_ns / 1000000000LL);
    struct tm tm;
    gmtime_r(&now_s, &tm);
    char when[64];
    snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)(now_ns % 1000000000LL / 1000000));
    char line[4096];
    size_t o;
    int jn;
    if (atomic_load(&log_format_cur) == LOG_FORMAT_JSON &&
        (jn = json_line(line, sizeof(line) - 1, when, names[level], msg, kv)) >= 0) {
        o = (size_t)jn;
    } else { /* also when out of memory for the JSON one: a line all the same */
        int n = snprintf(line, sizeof(line) - 1, "ts=%s level=%s msg=%s%s%s", when, names[level], msg,
                         kv[0] ? " " : "", kv);
        o = n < 0 ? 0 : ((size_t)n > sizeof(line) - 2 ? sizeof(line) - 2 : (size_t)n);
    }
    line[o++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, o);
    (void)w;
}
