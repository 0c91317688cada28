/*
 * server/init/main.c - flamed-init: the first process of a warm runner.
 *
 *   flamed-init [--stdin | --file PATH | --fifo PATH] [--record PATH] -- COMMAND [ARG...]
 *   flamed-init --print-record PATH
 *
 * A warm runner's container is created and started before the Boot that
 * takes it, so the per-Boot env (FLAME_PARENT, the parent's extra env) cannot
 * be in its create-time Env. flamed-init runs as the container's PID 1, waits
 * for flamed to deliver that env as one frame (server/init/env_frame.h),
 * decodes it strictly, merges it over its own environ (the spec's env) and
 * execve()s COMMAND. The command then *is* PID 1: signals reach it and its
 * exit code is the container's, exactly as when it is booted cold.
 *
 * Channels (docs/warm.md says which flamed uses and why):
 *   --stdin      (default) read the frame from fd 0: the container is created
 *                with OpenStdin, flamed attaches to it and writes the frame.
 *                fd 0 is then replaced by /dev/null, as a cold runner has it.
 *   --file PATH  wait (inotify) for PATH to be written, e.g. by
 *                PUT /containers/{id}/archive, and read it (it stays).
 *   --fifo PATH  make a FIFO at PATH and read the frame a writer puts in it
 *                (e.g. an exec).
 *
 * --record PATH: before COMMAND runs, the frame as received (its bytes, env
 * and metadata) is written to PATH atomically (PATH.tmp, then rename), mode
 * 0400: flamed adds a small tmpfs for it, and a restarted flamed reads it
 * back with --print-record (an exec: the image needs no `cat`), so it knows
 * whose runner this is (docs/warm.md). A record that cannot be written ends
 * the runner (125) before COMMAND runs.
 *
 * --print-record PATH copies PATH (at most ENV_FRAME_BYTES_MAX bytes, a
 * regular file, not through a symlink) to stdout: exit 0; 2 when there is
 * none; 125 on any other error. flamed decodes what it prints.
 *
 * Exit codes before the command runs (after, they are the command's own):
 *   125  usage error, or the frame was malformed, cut short or could not be
 *        read, or the record could not be written
 *   126  COMMAND was found but could not be executed
 *   127  COMMAND was not found
 *   128+N  signal N (SIGTERM, SIGINT, SIGHUP, SIGQUIT) arrived while waiting:
 *          a warm runner that is drained stops at once. (As PID 1 a signal
 *          with no handler would be ignored, and `docker stop` would wait.)
 *
 * A static program with libc only (linked with -static): it runs in any
 * image, bind-mounted read-only from the host.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "env_frame.h"

#define EXIT_INIT 125
#define EXIT_NOEXEC 126
#define EXIT_NOTFOUND 127
/* runc's default when the container env has no PATH. */
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

extern char **environ;

static void die(int code, const char *what, const char *detail)
{
    fprintf(stderr, "flamed-init: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    exit(code);
}

static void on_signal(int sig)
{
    _exit(128 + sig);
}

static const int stop_signals[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT};

static void set_stop_handlers(void (*h)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = h;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
        sigaction(stop_signals[i], &sa, NULL);
}

/* Buffer for the frame: grows up to one byte past the largest frame. */
struct inbuf {
    char *data;
    size_t len, cap;
};

static int inbuf_read(struct inbuf *b, int fd)
{
    if (b->len == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        if (cap > ENV_FRAME_BYTES_MAX + 1)
            cap = ENV_FRAME_BYTES_MAX + 1;
        if (cap == b->cap)
            return 0; /* full: the decoder says the frame is too long */
        char *d = realloc(b->data, cap);
        if (!d)
            die(EXIT_INIT, "out of memory", NULL);
        b->data = d;
        b->cap = cap;
    }
    for (;;) {
        ssize_t r = read(fd, b->data + b->len, b->cap - b->len);
        if (r >= 0) {
            b->len += (size_t)r;
            return (int)(r > 0);
        }
        if (errno != EINTR)
            die(EXIT_INIT, "reading the env frame", strerror(errno));
    }
}

/*
 * Read from fd until a whole frame is there. trailing_ok: bytes after the
 * frame are left unread (a stream); otherwise they make the frame invalid.
 */
static void read_frame(int fd, struct env_frame *f, int trailing_ok, struct inbuf *raw)
{
    struct inbuf b = {0};
    char err[256];
    size_t used = 0;
    for (;;) {
        int more = inbuf_read(&b, fd);
        int rc = env_frame_decode(f, &used, b.data ? b.data : "", b.len, err, sizeof(err));
        if (rc < 0)
            die(EXIT_INIT, "invalid env frame", err);
        if (rc == 0)
            break;
        if (!more)
            die(EXIT_INIT, "the env frame was cut short", NULL);
    }
    if (!trailing_ok) {
        while (inbuf_read(&b, fd) > 0 && b.len <= ENV_FRAME_BYTES_MAX)
            ;
        if (b.len != used) {
            env_frame_free(f);
            die(EXIT_INIT, "invalid env frame", "bytes follow the end marker");
        }
    }
    b.len = used; /* what the frame took: the record */
    *raw = b;
}

static void from_stdin(struct env_frame *f, struct inbuf *raw)
{
    read_frame(STDIN_FILENO, f, 1, raw);
    /* The command gets what a cold runner gets: no stdin. */
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || dup2(fd, STDIN_FILENO) < 0)
        die(EXIT_INIT, "opening /dev/null", strerror(errno));
    if (fd != STDIN_FILENO)
        close(fd);
}

static void from_file(const char *path, struct env_frame *f, struct inbuf *raw)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash || !slash[1] || (size_t)(slash - path) + 2 > sizeof(dir))
        die(EXIT_INIT, "--file needs an absolute path to a file", path);
    size_t dl = slash == path ? 1 : (size_t)(slash - path);
    memcpy(dir, path, dl);
    dir[dl] = '\0';
    int in = inotify_init1(IN_CLOEXEC);
    if (in < 0 || inotify_add_watch(in, dir, IN_CLOSE_WRITE | IN_MOVED_TO) < 0)
        die(EXIT_INIT, "watching the directory of --file", strerror(errno));
    char ev[sizeof(struct inotify_event) + NAME_MAX + 1] __attribute__((aligned(8)));
    int fd;
    /* The watch is in place before the first look, so no write is missed. */
    while ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
        if (errno != ENOENT)
            die(EXIT_INIT, "opening --file", strerror(errno));
        if (read(in, ev, sizeof(ev)) < 0 && errno != EINTR)
            die(EXIT_INIT, "waiting for --file", strerror(errno));
    }
    close(in);
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
        die(EXIT_INIT, "--file is not a regular file", path);
    read_frame(fd, f, 0, raw);
    close(fd);
    /* Not unlinked: Docker's untar chowns and chmods the file after closing
     * it, and fails the PUT (500 "lchown ... no such file") when it is gone. */
}

static void from_fifo(const char *path, struct env_frame *f, struct inbuf *raw)
{
    if (mkfifo(path, 0600) < 0 && errno != EEXIST)
        die(EXIT_INIT, "making --fifo", strerror(errno));
    int fd;
    while ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        if (errno != EINTR)
            die(EXIT_INIT, "opening --fifo", strerror(errno));
    read_frame(fd, f, 0, raw);
    close(fd);
    unlink(path);
}

static int write_all(int fd, const char *data, size_t len)
{
    while (len) {
        ssize_t w = write(fd, data, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        data += w;
        len -= (size_t)w;
    }
    return 0;
}

/* PATH.tmp written whole, then renamed over PATH: a reader sees the whole
 * record or none. 0400: the runner's own user reads it, nobody writes it. */
static void write_record(const char *path, const char *data, size_t len)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        die(EXIT_INIT, "--record: the path is too long", path);
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0400);
    if (fd < 0)
        die(EXIT_INIT, "writing the boot record", strerror(errno));
    if (write_all(fd, data, len) < 0 || close(fd) < 0) {
        int e = errno;
        unlink(tmp);
        die(EXIT_INIT, "writing the boot record", strerror(e));
    }
    if (rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        die(EXIT_INIT, "writing the boot record", strerror(e));
    }
}

/* --print-record: PATH to stdout, bounded. 0, 2 (no record), 125. */
static int print_record(const char *path)
{
    /* O_NONBLOCK: the runner's code owns the record's directory, and an
     * open() of a FIFO put there would wait for a writer that never comes.
     * A regular file reads the same without it. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) {
        fprintf(stderr, "flamed-init: reading the boot record: %s\n", strerror(errno));
        return errno == ENOENT ? 2 : EXIT_INIT;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > ENV_FRAME_BYTES_MAX) {
        fprintf(stderr, "flamed-init: the boot record is not a regular file of at most %zu bytes\n",
                ENV_FRAME_BYTES_MAX);
        return EXIT_INIT;
    }
    char buf[65536];
    size_t total = 0;
    for (;;) {
        ssize_t r = read(fd, buf, sizeof(buf));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            fprintf(stderr, "flamed-init: reading the boot record: %s\n", strerror(errno));
            return EXIT_INIT;
        }
        if (r == 0)
            break;
        total += (size_t)r;
        if (total > ENV_FRAME_BYTES_MAX) {
            fprintf(stderr, "flamed-init: the boot record grew past %zu bytes\n", ENV_FRAME_BYTES_MAX);
            return EXIT_INIT;
        }
        if (write_all(STDOUT_FILENO, buf, (size_t)r) < 0)
            return EXIT_INIT;
    }
    return 0;
}

static const char *env_get(char *const *env, const char *name)
{
    size_t nl = strlen(name);
    for (; *env; env++)
        if (strncmp(*env, name, nl) == 0 && (*env)[nl] == '=')
            return *env + nl + 1;
    return NULL;
}

/*
 * execve COMMAND, searching the *merged* env's PATH as runc does for a cold
 * container (execvpe would search flamed-init's own PATH). Returns only on
 * failure, with the exit code to use.
 */
static int exec_command(char *const *argv, char *const *env)
{
    const char *cmd = argv[0];
    if (!cmd[0])
        return errno = ENOENT, EXIT_NOTFOUND;
    if (strchr(cmd, '/')) {
        execve(cmd, argv, env);
        return errno == ENOENT || errno == ENOTDIR ? EXIT_NOTFOUND : EXIT_NOEXEC;
    }
    const char *path = env_get(env, "PATH");
    if (!path)
        path = DEFAULT_PATH;
    int seen_eacces = 0;
    size_t cl = strlen(cmd);
    for (const char *p = path;; p++) {
        const char *end = strchr(p, ':');
        size_t dl = end ? (size_t)(end - p) : strlen(p);
        char full[PATH_MAX];
        if (dl + 1 + cl + 1 <= sizeof(full)) {
            if (dl == 0) { /* an empty element is the current directory */
                memcpy(full, cmd, cl + 1);
            } else {
                memcpy(full, p, dl);
                full[dl] = '/';
                memcpy(full + dl + 1, cmd, cl + 1);
            }
            execve(full, argv, env);
            if (errno == EACCES)
                seen_eacces = 1;
            else if (errno != ENOENT && errno != ENOTDIR)
                return EXIT_NOEXEC;
        }
        if (!end)
            break;
        p = end;
    }
    if (seen_eacces)
        return errno = EACCES, EXIT_NOEXEC;
    return errno = ENOENT, EXIT_NOTFOUND;
}

#ifdef FLAMED_INIT_TRACE
#include <time.h>
/* Measurement builds only (bench/flame/timeline): one line "EVENT UNIX_NS" per
 * step appended to /.flamed/run/trace; failures are ignored. */
static void trace_mark(const char *ev)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char line[96];
    int n = snprintf(line, sizeof(line), "%s %lld\n", ev,
                     (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
    int fd = open("/.flamed/run/trace", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0 && n > 0) {
        (void)write_all(fd, line, (size_t)n);
        close(fd);
    }
}
#else
#define trace_mark(ev) ((void)0)
#endif

static void usage(void)
{
    die(EXIT_INIT, "usage", "flamed-init [--stdin | --file PATH | --fifo PATH] [--record PATH] -- "
                            "COMMAND [ARG...] | flamed-init --print-record PATH");
}

int main(int argc, char **argv)
{
    const char *file = NULL, *fifo = NULL, *record = NULL;
    int i = 1;
    if (argc == 3 && strcmp(argv[1], "--print-record") == 0)
        return print_record(argv[2]);
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--stdin") == 0) {
            file = fifo = NULL;
        } else if (strcmp(argv[i], "--file") == 0 && i + 1 < argc) {
            file = argv[++i];
        } else if (strcmp(argv[i], "--fifo") == 0 && i + 1 < argc) {
            fifo = argv[++i];
        } else if (strcmp(argv[i], "--record") == 0 && i + 1 < argc) {
            record = argv[++i];
        } else {
            usage();
        }
    }
    if (i + 1 >= argc || (file && fifo))
        usage();
    char **cmd = argv + i + 1;

    set_stop_handlers(on_signal);
    struct env_frame f = {0}, merged = {0};
    struct inbuf raw = {0};
    if (file)
        from_file(file, &f, &raw);
    else if (fifo)
        from_fifo(fifo, &f, &raw);
    else
        from_stdin(&f, &raw);
    trace_mark("frame_read");
    if (record)
        write_record(record, raw.data, raw.len);
    trace_mark("record_written");
    free(raw.data);
    if (env_frame_merge(&merged, environ, &f) < 0)
        die(EXIT_INIT, "out of memory", NULL);
    env_frame_free(&f);

    /* The stop handlers stay until execve, which resets them to the default:
     * a stop signal up to then ends the runner, as its sender wants. */
    trace_mark("execve");
    int code = exec_command(cmd, merged.entries);
    fprintf(stderr, "flamed-init: exec %s: %s\n", cmd[0], strerror(errno));
    return code;
}
