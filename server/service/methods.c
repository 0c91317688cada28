/* flame.v1.RunnerService's method table: gRPC paths to handlers. */
#include "service/service.h"

const struct rpc_method service_methods[] = {
    {.path = "/flame.v1.RunnerService/Boot", .request = &flame__v1__boot_request__descriptor, .handler = service_boot},
    {.path = "/flame.v1.RunnerService/Spawn", .request = &flame__v1__spawn_request__descriptor, .server_streaming = 1, .handler = service_spawn},
    {.path = "/flame.v1.RunnerService/Shutdown", .request = &flame__v1__shutdown_request__descriptor, .handler = service_shutdown},
    {.path = "/flame.v1.RunnerService/Watch", .request = &flame__v1__watch_request__descriptor, .server_streaming = 1, .handler = service_watch},
    {.path = "/flame.v1.RunnerService/List", .request = &flame__v1__list_request__descriptor, .handler = service_list},
    {.path = "/flame.v1.RunnerService/Renew", .request = &flame__v1__renew_request__descriptor, .handler = service_renew},
};
const size_t service_n_methods = sizeof(service_methods) / sizeof(service_methods[0]);
