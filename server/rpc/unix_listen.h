/*
 * server/rpc/unix_listen.h - make a unix socket path safe to bind: one flamed
 * per socket.
 *
 * Before flamed binds unix:/path it asks what is there:
 *   - nothing: the path is free (a missing parent directory is created, one
 *     level only, mode 0755);
 *   - a socket that answers a connect: another server (a live flamed) owns it;
 *     flamed refuses and leaves the file alone;
 *   - a socket that refuses a connect (ECONNREFUSED): stale, left by a flamed
 *     that died; it is removed so the bind can succeed;
 *   - anything else (a file, a directory, a symlink): refused, never unlinked.
 * Thread-safety: no shared state; safe from any thread. The check and the
 * bind are separate steps: two flamed started in the same instant on the same
 * path are kept apart by the instance lock (common/instance_lock.h) when they
 * share an instance, which they do by default (the instance is the first
 * --listen address).
 */
#ifndef FLAMED_RPC_UNIX_LISTEN_H
#define FLAMED_RPC_UNIX_LISTEN_H

#include <stddef.h>

/** Mode of a socket directory flamed creates: see rpc_unix_listen_prepare(). */
#define RPC_UNIX_DIR_MODE 0755

/**
 * The filesystem path of a gRPC unix address.
 * @param addr  "unix:/p" or "unix:///p" (borrowed).
 * @return a pointer into addr (borrowed, lives as long as addr), or NULL when
 *         addr is not a "unix:" address.
 */
const char *rpc_unix_listen_path(const char *addr);

/**
 * Make `path` ready for a unix-socket bind (see the file comment).
 * A parent directory that is missing is created with RPC_UNIX_DIR_MODE: 0755,
 * not 0777, so that only flamed's user can create, replace or remove entries
 * in it (nobody else can put a socket of their own where clients look for
 * flamed's), and not 0700, so that callers in --socket-group can still reach
 * the socket, whose own mode (--socket-mode, default 0660) is the access check.
 *
 * @param path    absolute socket path (borrowed).
 * @param err     receives an actionable message on failure (NUL-terminated).
 * @param errlen  size of err in bytes.
 * @return 0 (path is free now), FLAME_ECONFLICT (a server answers on path),
 *         FLAME_EINVALID (path is not a socket, not absolute, or longer than a
 *         sockaddr_un holds), FLAME_EUNAVAILABLE (the directory is missing and
 *         cannot be created, or is not writable; a stale socket cannot be
 *         removed).
 * Follows: unix(7) (connect on a socket file without a listener gives
 *          ECONNREFUSED); systemd RuntimeDirectoryMode's default of 0755.
 */
int rpc_unix_listen_prepare(const char *path, char *err, size_t errlen);

#endif
