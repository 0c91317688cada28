/*
 * grpc_idle - the baseline of bench/idle_rss: the smallest gRPC core server,
 * what any C gRPC server pays before doing anything. grpc_init, one server
 * with insecure credentials on a unix socket, one completion queue (nothing
 * calls it: no method). It prints "ready" once it listens, then idles until
 * SIGTERM or SIGINT.
 *
 *   grpc_idle unix:/path
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: grpc_idle unix:/path\n");
        return 2;
    }
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    grpc_init();
    grpc_server *srv = grpc_server_create(NULL, NULL);
    grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);
    grpc_server_register_completion_queue(srv, cq, NULL);
    grpc_server_credentials *creds = grpc_insecure_server_credentials_create();
    int ok = grpc_server_add_http2_port(srv, argv[1], creds);
    grpc_server_credentials_release(creds);
    if (!ok) {
        fprintf(stderr, "grpc_idle: cannot listen on %s\n", argv[1]);
        return 1;
    }
    grpc_server_start(srv);
    printf("ready\n");
    fflush(stdout);
    int sig;
    sigwait(&sigs, &sig);
    grpc_server_shutdown_and_notify(srv, cq, NULL);
    grpc_server_cancel_all_calls(srv);
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type != GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_server_destroy(srv);
    grpc_completion_queue_destroy(cq);
    grpc_shutdown();
    return 0;
}
