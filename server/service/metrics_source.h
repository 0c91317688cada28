/*
 * server/service/metrics_source.h - what the service tells /metrics at scrape
 * time: runners by pool and state (a walk of runner_registry_list), open
 * watchers, whether Docker answers, and the Docker client's retries.
 */
#ifndef FLAMED_SERVICE_METRICS_SOURCE_H
#define FLAMED_SERVICE_METRICS_SOURCE_H

struct service;

/**
 * Make svc the metrics' scrape-time source (metrics_set_source()). svc is
 * borrowed: call service_metrics_unregister() before service_stop().
 */
void service_metrics_register(struct service *svc);

/** Stop reporting svc; returns once no scrape uses it. */
void service_metrics_unregister(void);

#endif
