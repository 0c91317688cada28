/*
 * server/common/log.h - one line per event, key=value (logfmt) or JSON lines.
 *
 * flamed_log(LOG_INFO, "boot_ok", "runner_id=%s pool=%s duration_ms=%ld", ...)
 * prints `ts=... level=info msg=boot_ok runner_id=... pool=...` to stderr.
 * With the JSON format the key=value pairs are converted to a JSON object
 * (values that parse as integers stay numbers).
 *
 * Thread-safety: safe from any thread; a line is written with one write(2).
 * Never pass secrets (tokens) to it.
 */
#ifndef FLAMED_LOG_H
#define FLAMED_LOG_H

#include <stddef.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };
enum log_format { LOG_FORMAT_TEXT = 0, LOG_FORMAT_JSON = 1 };

/** Set the threshold and format; call before threads start or at any time. */
void log_configure(enum log_level level, enum log_format format);

/** Parse "debug|info|warn|error". @return 0 or -1 for an unknown name. */
int log_level_parse(const char *name, enum log_level *out);

/** Is `level` enabled? Cheap; use to skip building expensive fields. */
int log_enabled(enum log_level level);

/**
 * Log one event. `msg` is a short snake_case event name; `fmt` builds
 * space-separated key=value pairs (may be NULL). Values with spaces must be
 * quoted by the caller with %s inside "..."; log_quote() helps.
 */
void flamed_log(enum log_level level, const char *msg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/**
 * Quote a value for a key=value line: wraps in double quotes and escapes
 * quotes, backslashes and control bytes. Output is truncated to outlen.
 * @return out.
 */
const char *log_quote(char *out, size_t outlen, const char *value);

#endif
