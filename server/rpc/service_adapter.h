/*
 * server/rpc/service_adapter.h - serve a transport-free service over gRPC.
 *
 * The service lists its RPCs as plain functions of a call (service/call.h:
 * struct svc_method). One adapter turns every entry into an rpc_method: it
 * runs the function on the CQ thread with the decoded request, lends it the
 * call's deadline, cancellation, identity and stream sink through struct
 * svc_call_ops, runs its blocking work on rpc workers, and finishes the gRPC
 * call with the function's result (status from the FLAME_E* code,
 * "flame-reason" trailing metadata, the detail as the status message).
 *
 * Thread-safety: an rpc_adapter is read-only after rpc_adapter_new(); the
 * methods it fills in may run on any CQ thread at once.
 */
#ifndef FLAMED_RPC_SERVICE_ADAPTER_H
#define FLAMED_RPC_SERVICE_ADAPTER_H

#include <stddef.h>

#include "rpc/rpc.h"
#include "service/call.h"

typedef struct rpc_adapter rpc_adapter;

/**
 * Adapt n service methods (borrowed: the table must outlive the adapter) whose
 * calls get `service` (borrowed) as their context, and fill out[0..n) with
 * their rpc_methods (the adapter is each one's context).
 * @param[out] a  free with rpc_adapter_free() after the server is shut down.
 * @return 0 or FLAME_ENOMEM.
 */
int rpc_adapter_new(rpc_adapter **a, const struct svc_method *methods, size_t n, void *service,
                    struct rpc_method *out);

/** Free an adapter. Accepts NULL. */
void rpc_adapter_free(rpc_adapter *a);

#endif
