/* Shared between rpc/server.c and rpc/call.c only. */
#ifndef FLAMED_RPC_INTERNAL_H
#define FLAMED_RPC_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include <grpc/grpc.h>

#include "rpc/rpc.h"

enum rpc_tag_kind { TAG_REQUEST, TAG_GENERIC, TAG_CLOSE, TAG_SEND, TAG_RECV, TAG_FINISH, TAG_SHUTDOWN };

/* Every tag handed to grpc_call_start_batch / request_call is one of these. */
struct rpc_tag {
    enum rpc_tag_kind kind;
    void *owner;
};

struct rpc_call {
    atomic_int refs;
    rpc_server *srv;
    const struct rpc_method *method;
    grpc_call *call;
    gpr_timespec deadline;
    grpc_metadata_array md;
    ProtobufCMessage *request;
    int64_t start_ns;

    struct rpc_tag t_close, t_send, t_recv, t_finish;
    int close_cancelled;     /* written by core for RECV_CLOSE_ON_SERVER */
    atomic_int cancelled;
    atomic_int closed;

    pthread_mutex_t mu;      /* guards everything below */
    pthread_cond_t cv;
    int send_in_flight;
    int send_ok;             /* result of the last send; 0 once a send failed */
    int initial_md_sent;
    int finished;
    grpc_byte_buffer *send_buf;
    grpc_byte_buffer *recv_buf;  /* RECV_MESSAGE out-pointer */
    int recv_in_flight;
    int recv_ok;
    void (*on_send_done)(rpc_call *call, int ok);
    void (*on_close)(rpc_call *call);
    int close_seen;          /* the close notification arrived */
    int close_fired;         /* on_close has been (or is being) called */
    grpc_byte_buffer *finish_buf;
    grpc_slice finish_details;
    grpc_metadata finish_md[1];
    size_t finish_md_n;
    int finish_status;

    void *state;
    void (*state_free)(void *);

    struct caller_identity identity;
    char subject[256];          /* TLS client certificate subject, when any */
};

struct rpc_server {
    grpc_server *server;
    grpc_completion_queue *cq;
    pthread_t *threads;
    int n_threads;
    struct rpc_server_options opts;
    void **method_handles;
    atomic_int active_calls;
    atomic_int workers;
    atomic_int shutting_down;
    struct rpc_tag t_shutdown;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int shutdown_done;
    char **unix_paths;
    size_t n_unix_paths;
};

/* call.c */
rpc_call *rpc__call_new(rpc_server *srv, const struct rpc_method *m, grpc_call *call,
                        gpr_timespec deadline, grpc_metadata_array *md);
void rpc__call_start(rpc_call *c, grpc_byte_buffer *payload);
void rpc__call_on_tag(struct rpc_tag *tag, int success);

#endif
