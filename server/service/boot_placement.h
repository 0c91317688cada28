/*
 * server/service/boot_placement.h - the canonical reading of
 * BootRequest.placement (Docker Swarm's TaskTemplate.Placement), as
 * boot_config.h reads host_config: flamed never passes the caller's strings
 * on, but parses each constraint and prints it again from its parts, so what
 * the policy allowed is what the swarm reads.
 *
 * A constraint is ATTRIBUTE OP VALUE, OP "==" or "!=" (once), spaces around
 * the parts dropped; ATTRIBUTE one of node.id, node.hostname, node.role,
 * node.platform.os, node.platform.arch, node.labels.KEY, engine.labels.KEY
 * (spelled so: swarmkit lowercases the fixed ones, so another case would be
 * a second spelling of the same), KEY 1+ bytes of [A-Za-z0-9_.-]; VALUE 1+
 * bytes of swarmkit's value characters without white space
 * ([A-Za-z0-9:_.*()?+[]\^$|/-]); node.role's value manager or worker. A
 * preference's spread is node.labels.KEY or engine.labels.KEY. Bounds: 32
 * constraints and 8 preferences of at most 256 bytes each.
 *
 * Thread-safety: no state; safe from any thread.
 * Follows: Docker Engine API v1.41 TaskTemplate.Placement (Constraints,
 * Preferences[].Spread.SpreadDescriptor); swarmkit manager/constraint
 * (Parse: its key and value patterns, operators == and !=).
 */
#ifndef FLAMED_BOOT_PLACEMENT_H
#define FLAMED_BOOT_PLACEMENT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "flame/v1/runner_service.pb-c.h"

#define BOOT_PLACEMENT_CONSTRAINTS_MAX 32
#define BOOT_PLACEMENT_PREFERENCES_MAX 8
#define BOOT_PLACEMENT_ITEM_MAX 256

/**
 * Read a placement into its canonical Engine API object
 * {"Constraints": ["node.labels.zone==a", ...], "Preferences": [{"Spread":
 * {"SpreadDescriptor": "node.labels.zone"}}]} (keys present only when
 * non-empty).
 * @param[out] out  owned by the caller (cJSON_Delete); NULL when p is NULL or
 *                  empty (no placement).
 * @param p         the request's placement (borrowed; may be NULL).
 * @return 0; FLAME_EINVALID naming the entry ("placement.constraints[2]: ...");
 *         FLAME_ENOMEM.
 */
int boot_placement_read(cJSON **out, const Flame__V1__Placement *p, char *err, size_t errlen);

/** Does the request ask for a placement (any constraint or preference)? 1 or 0. */
int boot_placement_given(const Flame__V1__Placement *p);

#endif
