/*
 * server/common/lib_init.h - what the shared libraries flamed links
 * initialise at start, and what they may skip (issue 17: idle RSS).
 *
 * Most of an idle flamed's RSS is shared-library pages touched while loading
 * and initialising (bench/idle_rss, bench/RESULTS.md), not flamed's heap.
 * Two initialisations serve nothing in most deployments:
 * - GnuTLS. flamed never uses it: it is loaded as a dependency of libcurl's
 *   Debian build (librtmp, libldap) and of libmicrohttpd (HTTPS, which
 *   --metrics-listen never enables), and its library constructor runs
 *   gnutls_global_init() at load: ~0.9 MiB of RSS. GnuTLS skips that implicit
 *   initialisation when the program defines _gnutls_global_init_skip()
 *   returning non-zero (lib/global.c, the constructor's first check; the same
 *   as GNUTLS_NO_IMPLICIT_INIT=1 without touching the environment). Whoever
 *   does use GnuTLS calls gnutls_global_init() itself, as libcurl's GnuTLS
 *   backend and libmicrohttpd do, so nothing breaks if that changes.
 * - OpenSSL's configuration file and error strings. curl_global_init()
 *   initialises OpenSSL with openssl.cnf and every library's error strings
 *   (~1 MiB). Without TLS anywhere (no --tls-cert, Docker on a unix socket or
 *   plain tcp://) no TLS connection is ever made, so lib_init_openssl(0)
 *   initialises OpenSSL first without them (OPENSSL_init_ssl's NO_LOAD_*
 *   flags, which later initialisations cannot undo). With TLS, OpenSSL loads
 *   both as before: the system policy in openssl.cnf applies, and errors
 *   read "certificate verify failed", not "reason(134)".
 *
 * Thread-safety: call lib_init_openssl() from main() before
 * curl_global_init(), grpc_init() and any thread.
 */
#ifndef FLAMED_LIB_INIT_H
#define FLAMED_LIB_INIT_H

/**
 * Initialise OpenSSL for this process, before libcurl and gRPC do.
 * @param tls  non-zero when flamed may make or accept a TLS connection
 *             (--tls-cert, or a TLS Docker endpoint): OpenSSL's defaults
 *             (openssl.cnf, error strings). 0: neither.
 * @return 0, or FLAME_ERROR when OpenSSL fails to initialise.
 * Follows: OpenSSL 3 OPENSSL_init_ssl(3), OPENSSL_init_crypto(3).
 */
int lib_init_openssl(int tls);

/**
 * GnuTLS's hook, called by its library constructor before main(): non-zero
 * skips its implicit gnutls_global_init(). Exported from flamed's executable
 * (-Wl,--export-dynamic-symbol) so the dynamic linker binds GnuTLS's call to
 * it rather than to GnuTLS's own weak default. Not for flamed to call.
 * @return 1, always.
 */
int _gnutls_global_init_skip(void);

#endif
