/*
 * server/docker/socket.c - where the Docker socket is, the way the docker CLI
 * looks for it.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "docker_internal.h"

static int docker__path_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* Copy a candidate into out; 0 or FLAME_EINVALID when it does not fit. */
static int docker__socket_put(char *out, size_t outlen, const char *path)
{
    return docker__fmt(out, outlen, "%s", path);
}

int docker_socket_detect(char *out, size_t outlen, const char *docker_host, const char *home,
                         int (*exists)(const char *path))
{
    static const char unix_scheme[] = "unix://";
    static const char default_path[] = "/var/run/docker.sock";
    static const char wsl_path[] = "/mnt/wsl/shared-docker/docker.sock";
    char candidate[4096];
    const char *path;
    int rc = 0;

    if (!out || outlen == 0)
        return FLAME_EINVALID;
    out[0] = '\0';
    if (!exists)
        exists = docker__path_exists;

    if (docker_host && *docker_host) {
        if (strncmp(docker_host, unix_scheme, sizeof unix_scheme - 1) == 0)
            path = docker_host + sizeof unix_scheme - 1;
        else if (docker_host[0] == '/')
            path = docker_host;
        else
            return FLAME_EINVALID; /* tcp://, ssh://, npipe://: not supported yet */
        if (path[0] != '/')
            return FLAME_EINVALID; /* "unix://" alone or a relative path */
        if (docker__socket_put(out, outlen, path) < 0) {
            out[0] = '\0';
            return FLAME_EINVALID;
        }
        return 0;
    }

    if (exists(default_path))
        return docker__socket_put(out, outlen, default_path);
    if (home && *home &&
        docker__fmt(candidate, sizeof candidate, "%s/.docker/run/docker.sock", home) == 0 &&
        exists(candidate) && docker__socket_put(out, outlen, candidate) == 0)
        return 0;
    if (exists(wsl_path) && docker__socket_put(out, outlen, wsl_path) == 0)
        return 0;
    /* None found: report the conventional path so the message names it. */
    rc = docker__socket_put(out, outlen, default_path);
    return rc < 0 ? FLAME_EINVALID : FLAME_ENOTFOUND;
}
