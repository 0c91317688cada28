/*
 * server/common/identity.h - who is calling, as every layer sees it: the
 * transport's authentication (rpc/auth.c) produces it, the service reads it
 * for tenancy (which pools a caller may use) and audit lines. It holds no
 * secret: a token's name, never the token.
 *
 * Thread-safety: read-only once produced.
 */
#ifndef FLAMED_COMMON_IDENTITY_H
#define FLAMED_COMMON_IDENTITY_H

#include <stddef.h>

/** The caller of one call. Strings are borrowed from whoever produced it
 *  (the tokens file, the call's TLS peer) and live as long as the call. */
struct caller_identity {
    const char *name;               /* token name, certificate subject, or "anonymous" */
    const char *const *pools;       /* pools this caller may use; NULL: all */
    size_t n_pools;
    const char *via;                /* "token", "tls" or "none" */
};

/**
 * May this identity use `pool`? (NULL identity or no pool list: yes; a NULL
 * pool is ""). Thread-safe.
 */
int caller_identity_allows_pool(const struct caller_identity *id, const char *pool);

#endif
