/*
 * server/common/status_name.h - the status name a FLAME_E* code answers with
 * ("DEADLINE_EXCEEDED"), for log lines that name it without knowing the
 * transport's status codes.
 */
#ifndef FLAMED_COMMON_STATUS_NAME_H
#define FLAMED_COMMON_STATUS_NAME_H

/**
 * @param err  0 or a FLAME_E* code; unknown codes name INTERNAL.
 * @return a static string ("OK", "NOT_FOUND", ...). Thread-safe.
 * Follows: the error table (flame/error.h).
 */
const char *status_name_of(int err);

#endif
