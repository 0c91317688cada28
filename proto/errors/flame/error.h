/*
 * flame/error.h - the one error table shared by flamed, libflame and flamectl.
 *
 * Every fallible function returns int: 0 on success or a negative FLAME_E*
 * code. Each code maps to exactly one gRPC status (what flamed sends and what
 * libflame maps back) and one flamectl exit code. Codes are numbered and never
 * reused. Detail text travels separately (a caller-supplied buffer on the
 * server, flame_client_last_error() in libflame).
 *
 * Thread-safety: the functions below are pure and thread-safe.
 * Follows: gRPC status codes (grpc/include/grpc/impl/codegen/status.h,
 * doc/statuscodes.md).
 */
#ifndef FLAME_ERROR_H
#define FLAME_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

/* X(name, value, grpc_status, cli_exit_code, short description) */
#define FLAME_ERROR_TABLE(X)                                                   \
    X(FLAME_OK, 0, 0, 0, "ok")                                                 \
    X(FLAME_ERROR, -1, 13, 70, "internal error")                               \
    X(FLAME_EINVALID, -2, 3, 64, "invalid argument")                           \
    X(FLAME_ENOTFOUND, -3, 5, 66, "not found")                                 \
    X(FLAME_EEXISTS, -4, 6, 73, "already exists")                              \
    X(FLAME_EPERM, -5, 7, 77, "permission denied")                             \
    X(FLAME_EUNAUTH, -6, 16, 77, "unauthenticated")                            \
    X(FLAME_EEXHAUSTED, -7, 8, 75, "resource exhausted")                       \
    X(FLAME_ETIMEOUT, -8, 4, 75, "deadline exceeded")                          \
    X(FLAME_EUNAVAILABLE, -9, 14, 69, "unavailable")                           \
    X(FLAME_EPRECONDITION, -10, 9, 65, "failed precondition")                  \
    X(FLAME_EABORTED, -11, 10, 70, "aborted")                                  \
    X(FLAME_ECANCELLED, -12, 1, 130, "cancelled")                              \
    X(FLAME_ENOMEM, -13, 8, 71, "out of memory")                               \
    X(FLAME_EUNIMPLEMENTED, -14, 12, 69, "unimplemented")                      \
    X(FLAME_ECONFLICT, -15, 10, 75, "conflict")                                \
    X(FLAME_ERANGE, -16, 11, 65, "out of range")                               \
    X(FLAME_EUNREACHABLE, -17, 9, 69, "engine unreachable")

enum flame_error {
#define FLAME__ERR_ENUM(name, value, status, exitc, desc) name = value,
    FLAME_ERROR_TABLE(FLAME__ERR_ENUM)
#undef FLAME__ERR_ENUM
};

/**
 * Name of an error code ("FLAME_ENOTFOUND").
 * @param err  a FLAME_E* code (or 0).
 * @return a static string; "FLAME_ERROR" for codes not in the table.
 */
const char *flame_error_name(int err);

/**
 * gRPC status code (grpc_status_code value) for an error code.
 * @param err  a FLAME_E* code; unknown codes map to 13 (INTERNAL).
 */
int flame_error_grpc_status(int err);

/**
 * Error code for a gRPC status code (the inverse of flame_error_grpc_status,
 * RESOURCE_EXHAUSTED maps to FLAME_EEXHAUSTED, ABORTED to FLAME_EABORTED).
 * @param status  a grpc_status_code value; 0 maps to 0.
 */
int flame_error_from_grpc_status(int status);

/**
 * flamectl exit code for an error code (sysexits.h style; 0 for 0).
 */
int flame_error_exit_code(int err);

/**
 * Name of a gRPC status code ("NOT_FOUND"); "UNKNOWN" when out of range.
 */
const char *flame_grpc_status_name(int status);

#ifdef __cplusplus
}
#endif
#endif
