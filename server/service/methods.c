/* flame.v1.RunnerService's method table: gRPC paths to handlers. */
#include "service/service.h"

const struct rpc_method service_methods[] = {
    {"/flame.v1.RunnerService/Boot", &flame__v1__boot_request__descriptor, 0, service_boot},
    {"/flame.v1.RunnerService/Spawn", &flame__v1__spawn_request__descriptor, 1, service_spawn},
    {"/flame.v1.RunnerService/Shutdown", &flame__v1__shutdown_request__descriptor, 0, service_shutdown},
    {"/flame.v1.RunnerService/Watch", &flame__v1__watch_request__descriptor, 1, service_watch},
    {"/flame.v1.RunnerService/List", &flame__v1__list_request__descriptor, 0, service_list},
};
const size_t service_n_methods = sizeof(service_methods) / sizeof(service_methods[0]);
