/*
 * tests/unit/service/mem_engine.h - an in-memory struct engine for the
 * service's unit tests: containers are records in a list, events a queue,
 * exec output a script. Faults are scriptable per op: fail the Nth call with
 * a code, or block until the caller's view is cancelled or its deadline
 * passes. Started containers run, exit with a code, or go through health
 * states, as scripted.
 *
 * Thread-safety: every function may be called from any thread (one lock).
 */
#ifndef FLAMED_TESTS_MEM_ENGINE_H
#define FLAMED_TESTS_MEM_ENGINE_H

#include <stddef.h>

#include "engine/engine.h"

typedef struct mem_engine mem_engine;

/* The ops a fault can be put on. */
enum mem_op {
    MEM_PING, MEM_NETWORK, MEM_IMAGE_PRESENT, MEM_IMAGE_PULL, MEM_CREATE, MEM_START,
    MEM_INSPECT, MEM_STOP, MEM_REMOVE, MEM_LOGS, MEM_EXEC_CREATE, MEM_EXEC_START, MEM_LIST,
    MEM_DELIVER, MEM_N_OPS
};

/** A new engine; *e is its struct engine, *m the handle for scripting. Free with mem_engine_free(). */
int mem_engine_new(struct engine **e, mem_engine **m);
void mem_engine_free(struct engine *e);

/** The nth call from now of op (1: the next; 0: every one) fails with code and message. */
void mem_engine_fail(mem_engine *m, enum mem_op op, int nth, int code, const char *msg);
/** Calls of op block until their view is cancelled (FLAME_ECANCELLED) or its deadline passes
 *  (FLAME_ETIMEOUT); unbounded calls block until mem_engine_unblock(). */
void mem_engine_block(mem_engine *m, enum mem_op op);
void mem_engine_unblock(mem_engine *m, enum mem_op op);
/** Record execs (`/.flamed/init --print-record`) started from now on wait
 *  until n of them are in flight at once, then all go on; one whose view's
 *  deadline passes first fails FLAME_ETIMEOUT (an exec the container's own
 *  code stopped). n = 0: no barrier. */
void mem_engine_record_barrier(mem_engine *m, int n);
/** How many times op was called. */
int mem_engine_calls(mem_engine *m, enum mem_op op);

/** Images present (pull makes them present unless it fails); networks that exist. */
void mem_engine_add_image(mem_engine *m, const char *ref);
void mem_engine_add_network(mem_engine *m, const char *name);

/* What a container does once started. */
struct mem_script {
    int exits;             /* exits at once with exit_code instead of running */
    int exit_code;
    const char *health;    /* NULL: no health check; else the state it reaches (an event follows) */
    long health_after_ms;  /* how long it stays "starting" after start */
};
/** The script for containers started from now on. */
void mem_engine_script(mem_engine *m, const struct mem_script *s);

/** Exec output for execs started from now on, and their exit code. */
void mem_engine_exec_script(mem_engine *m, const char *out, const char *err, int exit_code);

/** Containers that exist (any state). */
size_t mem_engine_count(mem_engine *m);
/** Containers running. */
size_t mem_engine_running(mem_engine *m);

/**
 * Add a container as if another flamed had made it: labels is a NULL-terminated
 * key, value, key, value... list. @return its id (static for the engine's life).
 */
const char *mem_engine_add_container(mem_engine *m, const char *name, int running, int exit_code,
                                     const char *const *labels);

/** Drop every event from now on (1), or deliver them again (0): a lost stream's gap. */
void mem_engine_drop_events(mem_engine *m, int drop);

/**
 * What was delivered to a container's stdin (stdin_deliver: running
 * containers only, every delivery appended). *out: malloc'd copy with a NUL
 * after *len bytes, NULL when nothing was; the caller frees it.
 * @return 0, or FLAME_ENOTFOUND (no container with that id or name).
 */
int mem_engine_delivered(mem_engine *m, const char *id, char **out, size_t *len);
/**
 * Replace what a container was delivered (data NULL: nothing was). An exec of
 * `/.flamed/init --print-record PATH` prints it (exit 0) when the container's
 * Entrypoint has --record, as flamed-init keeps it; else it exits 2.
 * @return 0, FLAME_ENOTFOUND, FLAME_ENOMEM.
 */
int mem_engine_set_delivered(mem_engine *m, const char *id, const char *data, size_t len);
/** The Entrypoint its create asked for, space-joined ("" for the image's). FLAME_ENOTFOUND. */
int mem_engine_entrypoint(mem_engine *m, const char *id, char *buf, size_t buflen);

/** A running container exits on its own with code (a `die` event follows). */
int mem_engine_exit(mem_engine *m, const char *id, int exit_code);

#endif
