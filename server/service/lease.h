/*
 * server/service/lease.h - runners must not outlive their purpose (lease.c):
 * the janitor thread (parent leases, max lifetime, idle shutdown) and the
 * Renew RPC.
 */
#ifndef FLAMED_LEASE_H
#define FLAMED_LEASE_H

#include "service/call.h"

struct service;

/** The Renew RPC handler. */
void service_renew(svc_call *call);

/**
 * Start the janitor thread (svc->janitor_thread): 5 times a second it stops
 * the runners the registry says are due. It runs until svc->stopping is set.
 * @return 0 or FLAME_ENOMEM (no thread).
 */
int service_janitor_start(struct service *svc);

#endif
