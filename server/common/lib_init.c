/* Library initialisation flamed can skip: see lib_init.h. */
#include "common/lib_init.h"

#include <openssl/ssl.h>

#include "flame/error.h"

int lib_init_openssl(int tls)
{
    if (tls)
        return 0; /* OpenSSL's own defaults, at libcurl's and gRPC's first init */
    /* Each NO_LOAD_* runs its init-once slot as "done, without": a later
     * OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG ...) from libcurl finds it run. */
    uint64_t opts = OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS |
                    OPENSSL_INIT_NO_LOAD_SSL_STRINGS;
    return OPENSSL_init_ssl(opts, NULL) == 1 ? 0 : FLAME_ERROR;
}

int _gnutls_global_init_skip(void)
{
    return 1;
}
