/* flame.v1.RunnerService's RPCs: gRPC paths to the service's functions. A
 * transport serves this table (one adapter for every entry, wired in
 * main.c).
 *
 * Every method reads the registry, so each goes through the gate (adopt.c):
 * while flamed adopts its runners after a start (or resyncs after losing
 * Docker) a call waits for the registry within its own deadline; while
 * Docker is away, the methods that need Docker's truth answer UNAVAILABLE /
 * DOCKER_UNAVAILABLE at once. Renew only extends leases in the registry: once
 * adopted, it goes on while Docker is away. Shutdown goes on too, for runners
 * the registry knows: it answers UNAVAILABLE / DOCKER_UNAVAILABLE from its own
 * Docker calls and leaves the runner to the reaper (see shutdown.c). */
#include "service/adopt.h"
#include "service/lease.h"
#include "service/service.h"

#define GATED(name, handler, need_docker)                                                          \
    static void name##_wait(svc_call *call) { service_gate_wait(call, handler, need_docker); }    \
    static void name(svc_call *call) { service_gate(call, handler, name##_wait, need_docker); }

GATED(gated_boot, service_boot, 1)
GATED(gated_spawn, service_spawn, 1)
GATED(gated_shutdown, service_shutdown, 0)
GATED(gated_watch, service_watch, 1)
GATED(gated_list, service_list, 1)
GATED(gated_renew, service_renew, 0)
GATED(gated_logs, service_logs, 1)
GATED(gated_spawn_stream, service_spawn_stream, 1)

const struct svc_method service_methods[] = {
    {.path = "/flame.v1.RunnerService/Boot", .request = &flame__v1__boot_request__descriptor, .fn = gated_boot},
    {.path = "/flame.v1.RunnerService/Spawn", .request = &flame__v1__spawn_request__descriptor, .server_streaming = 1, .fn = gated_spawn},
    {.path = "/flame.v1.RunnerService/Shutdown", .request = &flame__v1__shutdown_request__descriptor, .fn = gated_shutdown},
    {.path = "/flame.v1.RunnerService/Watch", .request = &flame__v1__watch_request__descriptor, .server_streaming = 1, .fn = gated_watch},
    {.path = "/flame.v1.RunnerService/List", .request = &flame__v1__list_request__descriptor, .fn = gated_list},
    {.path = "/flame.v1.RunnerService/Renew", .request = &flame__v1__renew_request__descriptor, .fn = gated_renew},
    {.path = "/flame.v1.RunnerService/Logs", .request = &flame__v1__logs_request__descriptor, .server_streaming = 1, .fn = gated_logs},
    {.path = "/flame.v1.RunnerService/SpawnStream", .request = &flame__v1__spawn_stream_request__descriptor, .server_streaming = 1, .client_streaming = 1, .fn = gated_spawn_stream},
};
const size_t service_n_methods = sizeof(service_methods) / sizeof(service_methods[0]);
