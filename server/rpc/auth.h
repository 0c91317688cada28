/*
 * server/rpc/auth.h - who is calling: bearer tokens from a tokens file, or
 * the TLS client certificate's subject. Knows nothing of Docker; the service
 * layer reads the caller's identity (name, allowed pools) from the call.
 *
 * Tokens file (--auth-tokens FILE), one per line, '#' starts a comment:
 *     name:token                 the caller may use every pool
 *     name:token:pool-a,pool-b   the caller may use only these pools
 * Tokens are compared in constant time and never logged.
 *
 * Thread-safety: an rpc_auth is read-only after rpc_auth_load().
 * Follows: gRPC auth metadata ("authorization: Bearer <token>"), RFC 6750.
 */
#ifndef FLAMED_RPC_AUTH_H
#define FLAMED_RPC_AUTH_H

#include <stddef.h>

#include "common/identity.h"

typedef struct rpc_auth rpc_auth;

/* The caller of one call: struct caller_identity (common/identity.h). */

/**
 * Load a tokens file.
 * @param[out] out  free with rpc_auth_free().
 * @return 0; FLAME_EINVALID (unreadable file, malformed line: err names the
 *         line number, never the token); FLAME_ENOMEM.
 */
int rpc_auth_load(rpc_auth **out, const char *path, char *err, size_t errlen);
void rpc_auth_free(rpc_auth *a);

/** Number of tokens loaded. */
size_t rpc_auth_count(const rpc_auth *a);

/**
 * Check an "authorization" metadata value ("Bearer <token>"; NULL when absent).
 * Every token is compared, in constant time, whatever matches.
 * @param[out] id  the caller on success (borrowed from a).
 * @return 0; FLAME_EUNAUTH (missing, malformed or unknown token).
 */
int rpc_auth_check(const rpc_auth *a, const char *authorization, struct caller_identity *id);

/**
 * Check the "authorization" metadata of one call: exactly one value, which
 * passes rpc_auth_check(). Two or more are refused even when one of them is
 * valid: flamed and whatever sits in front of it could each read another.
 * @param n_headers  how many "authorization" values the call carries.
 * @param first      the first of them (NULL when there is none).
 * @param[out] id    the caller on success (borrowed from a).
 * @param[out] why   on FLAME_EUNAUTH, a static message for the status that
 *                   says what to send instead.
 * @return 0; FLAME_EUNAUTH (none, more than one, or a missing, malformed or
 *         unknown token).
 */
int rpc_auth_check_headers(const rpc_auth *a, size_t n_headers, const char *first,
                           struct caller_identity *id, const char **why);


#endif
