/* Unix socket paths before bind: refuse a live one, replace a stale one; see unix_listen.h. */
#include "rpc/unix_listen.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "flame/error.h"

const char *rpc_unix_listen_path(const char *addr)
{
    if (!addr || strncmp(addr, "unix:", 5) != 0)
        return NULL;
    const char *path = addr + 5;
    if (strncmp(path, "//", 2) == 0)
        path += 2;
    return path;
}

/* Does a server accept connections on this socket file? 1 yes, 0 no (stale),
 * -1 cannot tell (errno set). A full backlog (EAGAIN) means a live server. */
static int socket_answers(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    int saved = errno;
    close(fd);
    if (rc == 0 || saved == EAGAIN || saved == EINPROGRESS)
        return 1;
    if (saved == ECONNREFUSED || saved == ENOENT)
        return 0;
    errno = saved;
    return -1;
}

/* The parent directory of path must exist (created here if missing, one level)
 * and be writable: the bind creates the socket file in it. */
static int prepare_dir(const char *path, char *err, size_t errlen)
{
    char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
    const char *slash = strrchr(path, '/');
    size_t len = (size_t)(slash - path);
    if (len == 0)
        return 0; /* "/x.sock": the root directory */
    memcpy(dir, path, len);
    dir[len] = '\0';
    struct stat st;
    if (stat(dir, &st) != 0) {
        if (errno != ENOENT) {
            snprintf(err, errlen, "cannot use socket directory %s: %s", dir, strerror(errno));
            return FLAME_EUNAVAILABLE;
        }
        if (mkdir(dir, RPC_UNIX_DIR_MODE) != 0 && errno != EEXIST) {
            snprintf(err, errlen,
                     "socket directory %s does not exist and cannot be created (%s): create it "
                     "(mkdir -p -m 0755 %s), run flamed as a user who may, or choose another "
                     "--listen path (e.g. unix:$XDG_RUNTIME_DIR/flamed.sock)",
                     dir, strerror(errno), dir);
            return FLAME_EUNAVAILABLE;
        }
        /* The umask may have taken bits away; set exactly the documented mode. */
        if (chmod(dir, RPC_UNIX_DIR_MODE) != 0) {
            snprintf(err, errlen, "cannot chmod socket directory %s: %s", dir, strerror(errno));
            return FLAME_EUNAVAILABLE;
        }
        return 0;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "cannot listen on %s: %s is not a directory", path, dir);
        return FLAME_EINVALID;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        snprintf(err, errlen,
                 "cannot create a socket in %s (%s): run flamed as a user who may write there, "
                 "or choose another --listen path",
                 dir, strerror(errno));
        return FLAME_EUNAVAILABLE;
    }
    return 0;
}

int rpc_unix_listen_prepare(const char *path, char *err, size_t errlen)
{
    if (!path || path[0] != '/') {
        snprintf(err, errlen, "unix socket path '%s' is not absolute: use unix:/path/to/flamed.sock",
                 path ? path : "");
        return FLAME_EINVALID;
    }
    if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        snprintf(err, errlen, "unix socket path %s is longer than %zu bytes: choose a shorter one",
                 path, sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
        return FLAME_EINVALID;
    }
    int rc = prepare_dir(path, err, errlen);
    if (rc < 0)
        return rc;
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "cannot use %s: %s", path, strerror(errno));
        return FLAME_EUNAVAILABLE;
    }
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(err, errlen,
                 "%s exists and is not a socket: flamed leaves it alone; remove it yourself or "
                 "choose another --listen path",
                 path);
        return FLAME_EINVALID;
    }
    int live = socket_answers(path);
    if (live == 1) {
        snprintf(err, errlen,
                 "%s is in use: another flamed (or another server) answers on it; stop that one "
                 "first, or give this flamed another --listen path (and --instance)",
                 path);
        return FLAME_ECONFLICT;
    }
    if (live < 0) {
        snprintf(err, errlen, "cannot tell whether %s is in use (%s): not replacing it", path,
                 strerror(errno));
        return FLAME_EUNAVAILABLE;
    }
    if (unlink(path) != 0 && errno != ENOENT) {
        snprintf(err, errlen, "cannot remove the stale socket %s: %s", path, strerror(errno));
        return FLAME_EUNAVAILABLE;
    }
    return 0;
}
