/* The caller's identity (identity.h). */
#include <string.h>

#include "common/identity.h"

int caller_identity_allows_pool(const struct caller_identity *id, const char *pool)
{
    if (!id || !id->pools)
        return 1;
    for (size_t i = 0; i < id->n_pools; i++)
        if (strcmp(id->pools[i], pool ? pool : "") == 0)
            return 1;
    return 0;
}
