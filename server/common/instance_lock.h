/*
 * server/common/instance_lock.h - one flamed per instance on a Docker host.
 *
 * The instance name (--instance) selects the containers a flamed adopts,
 * follows and reaps (label flamed.instance=NAME). Two flamed with the same
 * instance on the same dockerd would both reap the same runners, so flamed
 * takes an exclusive flock(2) on a lock file before it adopts anything:
 *
 *     LOCK_DIR/instance-<NAME, filename-safe, cut at 64>-<16 hex>.lock
 *
 * where the hex is FNV-1a 64 of the Docker socket path and the instance name
 * (an instance name is per Docker host: the same name on two dockerd is two
 * instances). The file holds "pid=N" of the holder, for the error message.
 * The kernel drops a flock when its holder exits, also on kill -9, so no stale
 * lock survives a crash. A clean exit removes the file while still holding
 * the lock; a flamed that locked the removed file notices (the inode at the
 * path differs) and tries again, so two never hold "the" lock at once.
 *
 * Thread-safety: instance_lock_* have no shared state; call from one thread.
 */
#ifndef FLAMED_INSTANCE_LOCK_H
#define FLAMED_INSTANCE_LOCK_H

#include <stddef.h>

typedef struct instance_lock instance_lock;

/**
 * The default lock directory: /run/flamed as root, else $XDG_RUNTIME_DIR/flamed
 * when that is set and absolute, else /tmp/flamed-UID.
 * @param buf     receives the path (NUL-terminated).
 * @param buflen  size of buf in bytes.
 * @return 0, or FLAME_EINVALID when buf is too small.
 */
int instance_lock_default_dir(char *buf, size_t buflen);

/**
 * Take the instance lock, without waiting.
 * The directory is created when missing (one level; 0755 for /run/flamed or
 * any directory given as root, 0700 otherwise) and must then be a directory,
 * not a symlink, owned by this user or root, not writable by group or others
 * (else anyone could swap lock files). The lock file is created 0600 so that
 * no other user can open it and hold the lock.
 *
 * @param[out] out  the held lock; release with instance_lock_release().
 * @param dir       absolute lock directory (borrowed; see instance_lock_default_dir()).
 * @param instance  the instance name (borrowed, non-empty).
 * @param docker_socket  path of the Docker socket (borrowed).
 * @param err, errlen  receive an actionable message on failure.
 * @return 0; FLAME_ECONFLICT when another process holds it (err names the
 *         instance, the lock file and the holder's pid when known);
 *         FLAME_EUNAVAILABLE when the directory or file cannot be made or
 *         opened, or is unsafe; FLAME_EINVALID for a bad argument;
 *         FLAME_ENOMEM.
 * Follows: flock(2) (locks belong to the open file description and go away
 *          when the last descriptor closes, including at process death).
 */
int instance_lock_acquire(instance_lock **out, const char *dir, const char *instance,
                          const char *docker_socket, char *err, size_t errlen);

/** The lock file's path (borrowed from the lock, valid until release). */
const char *instance_lock_path(const instance_lock *lock);

/** Release the lock and free it; NULL is fine. */
void instance_lock_release(instance_lock *lock);

#endif
