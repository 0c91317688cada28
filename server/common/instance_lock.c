/* One flamed per instance and Docker host: an exclusive flock; see instance_lock.h. */
#include "common/instance_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flame/error.h"

struct instance_lock {
    int fd;
    char path[4096];
};

int instance_lock_default_dir(char *buf, size_t buflen)
{
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    int n;
    if (geteuid() == 0)
        n = snprintf(buf, buflen, "/run/flamed");
    else if (xdg && xdg[0] == '/')
        n = snprintf(buf, buflen, "%s/flamed", xdg);
    else
        n = snprintf(buf, buflen, "/tmp/flamed-%u", (unsigned)geteuid());
    return n < 0 || (size_t)n >= buflen ? FLAME_EINVALID : 0;
}

static uint64_t fnv1a(uint64_t h, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* The directory exists (made here if missing) and no other user can change
 * what is in it: a world-writable /tmp parent is why this is checked. */
static int prepare_dir(const char *dir, char *err, size_t errlen)
{
    mode_t mode = geteuid() == 0 ? 0755 : 0700;
    if (mkdir(dir, mode) == 0) {
        if (chmod(dir, mode) != 0) {
            snprintf(err, errlen, "cannot chmod lock directory %s: %s", dir, strerror(errno));
            return FLAME_EUNAVAILABLE;
        }
    } else if (errno != EEXIST) {
        snprintf(err, errlen,
                 "cannot create lock directory %s (%s): create it, or pass --lock-dir DIR "
                 "(a directory only flamed's user can write)",
                 dir, strerror(errno));
        return FLAME_EUNAVAILABLE;
    }
    struct stat st;
    if (lstat(dir, &st) != 0) {
        snprintf(err, errlen, "cannot use lock directory %s: %s", dir, strerror(errno));
        return FLAME_EUNAVAILABLE;
    }
    if (!S_ISDIR(st.st_mode) || (st.st_uid != geteuid() && st.st_uid != 0) ||
        (st.st_mode & (S_IWGRP | S_IWOTH))) {
        snprintf(err, errlen,
                 "lock directory %s is not safe (it must be a directory, not a symlink, owned by "
                 "uid %u or root, writable by no one else): fix it or pass --lock-dir DIR",
                 dir, (unsigned)geteuid());
        return FLAME_EUNAVAILABLE;
    }
    return 0;
}

/* The pid written by the holder, or 0 when unknown. */
static long holder_pid(int fd)
{
    char buf[64];
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    if (n <= 4)
        return 0;
    buf[n] = '\0';
    if (strncmp(buf, "pid=", 4) != 0)
        return 0;
    char *end;
    errno = 0;
    long pid = strtol(buf + 4, &end, 10);
    return errno || end == buf + 4 || pid <= 0 ? 0 : pid;
}

int instance_lock_acquire(instance_lock **out, const char *dir, const char *instance,
                          const char *docker_socket, char *err, size_t errlen)
{
    *out = NULL;
    if (!dir || dir[0] != '/' || !instance || !instance[0] || !docker_socket) {
        snprintf(err, errlen, "the lock directory must be an absolute path and the instance non-empty");
        return FLAME_EINVALID;
    }
    int rc = prepare_dir(dir, err, errlen);
    if (rc < 0)
        return rc;
    instance_lock *l = calloc(1, sizeof(*l));
    if (!l)
        return FLAME_ENOMEM;
    l->fd = -1;
    char safe[65];
    size_t n = 0;
    for (const char *p = instance; *p && n < sizeof(safe) - 1; p++) {
        unsigned char c = (unsigned char)*p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '-' || c == '_';
        safe[n++] = ok ? (char)c : '_';
    }
    safe[n] = '\0';
    uint64_t h = 14695981039346656037ULL;
    h = fnv1a(h, docker_socket, strlen(docker_socket) + 1); /* the NUL separates the two */
    h = fnv1a(h, instance, strlen(instance));
    int len = snprintf(l->path, sizeof(l->path), "%s/instance-%s-%016" PRIx64 ".lock", dir, safe, h);
    if (len < 0 || (size_t)len >= sizeof(l->path)) {
        snprintf(err, errlen, "lock directory path %s is too long", dir);
        rc = FLAME_EINVALID;
        goto fail;
    }
retry:
    l->fd = open(l->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (l->fd < 0) {
        snprintf(err, errlen, "cannot open lock file %s: %s (pass --lock-dir DIR to put it elsewhere)",
                 l->path, strerror(errno));
        rc = FLAME_EUNAVAILABLE;
        goto fail;
    }
    if (flock(l->fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK) {
            snprintf(err, errlen, "cannot lock %s: %s", l->path, strerror(errno));
            rc = FLAME_EUNAVAILABLE;
            goto fail;
        }
        long pid = holder_pid(l->fd);
        char who[48] = "another process";
        if (pid)
            snprintf(who, sizeof(who), "pid %ld", pid);
        snprintf(err, errlen,
                 "instance '%s' on Docker socket %s is already served by %s (lock file %s held): "
                 "two flamed would adopt and reap the same runners; stop that flamed first, or "
                 "start this one with another --instance",
                 instance, docker_socket, who, l->path);
        rc = FLAME_ECONFLICT;
        goto fail;
    }
    /* The holder before us unlinks the file on release: a lock on that inode
     * guards nothing, so lock the file that is at the path now. */
    struct stat held, now;
    if (fstat(l->fd, &held) != 0 || stat(l->path, &now) != 0 || held.st_ino != now.st_ino ||
        held.st_dev != now.st_dev) {
        close(l->fd);
        l->fd = -1;
        goto retry;
    }
    char line[160];
    int ln = snprintf(line, sizeof(line), "pid=%ld\n", (long)getpid());
    if (ftruncate(l->fd, 0) != 0 || pwrite(l->fd, line, (size_t)ln, 0) != ln) {
        /* Only the message loses the pid; the lock itself holds. */
    }
    *out = l;
    return 0;
fail:
    if (l->fd >= 0)
        close(l->fd);
    free(l);
    return rc;
}

const char *instance_lock_path(const instance_lock *lock) { return lock ? lock->path : ""; }

void instance_lock_release(instance_lock *lock)
{
    if (!lock)
        return;
    /* Unlinked while still held, so the next flamed never locks a file that is
     * about to disappear (see the inode check in instance_lock_acquire). */
    unlink(lock->path);
    close(lock->fd); /* drops the flock */
    free(lock);
}
