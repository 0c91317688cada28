/*
 * server/engine/swarm_nodes.h - the node -> Docker Engine map of `flamed
 * --engine swarm --swarm-nodes FILE`: where flamed reaches the engine of
 * each swarm node, so that exec, logs and the stop with a grace period of a
 * runner go to the node that runs its task (docs/engines.md).
 *
 * The file (strict JSON: at most SWARM_NODES_FILE_MAX bytes, no unknown or
 * repeated key, no NUL):
 *
 *   {"nodes": {"vm2": {"host": "tcp://10.0.0.2:2376"},
 *              "qay87q7jnjfqal9gqjmk4rrhf": {"host": "tcp://10.0.0.3:2376",
 *                                            "tls_ca": "/etc/flamed/n3/ca.pem"}}}
 *
 * A key is a node's ID or its hostname (Description.Hostname), 1-255 bytes
 * of [A-Za-z0-9._-]; the ID is looked up first. Each entry has "host" (as
 * --docker-host: tcp://HOST:PORT or unix:///PATH) and may set "tls_verify"
 * (bool), "tls_ca", "tls_cert", "tls_key" (files), "cert_path" (a directory
 * with ca.pem, cert.pem, key.pem) and "insecure" (bool: plain TCP): the
 * same settings as --docker-tls-verify, --docker-tls-ca, --docker-tls-cert,
 * --docker-tls-key, $DOCKER_CERT_PATH and --docker-insecure. What an entry
 * leaves out is --docker-host's (its flags, then the environment), so nodes
 * that share the manager's CA and client certificate need only "host".
 *
 * Thread-safety: immutable once made; the clients are thread-safe.
 * Follows: the docker CLI's DOCKER_HOST/DOCKER_TLS_VERIFY/DOCKER_CERT_PATH
 * (docker_endpoint_resolve()).
 */
#ifndef FLAMED_ENGINE_SWARM_NODES_H
#define FLAMED_ENGINE_SWARM_NODES_H

#include <stddef.h>

#include "docker/docker.h"

#define SWARM_NODES_FILE_MAX ((size_t)256 * 1024)
#define SWARM_NODES_MAX 1024

struct swarm_nodes;

/**
 * Read a node map from json[0..len) (see above). Makes one Docker client
 * per node (no I/O: a node that does not answer is known at its first use).
 * @param base  --docker-host's settings (borrowed); its host is replaced by
 *              each entry's "host", and its other settings by the entry's.
 * @param[out] out  free with swarm_nodes_free().
 * @return 0; FLAME_EINVALID naming the key or entry at fault (and the
 *         endpoint's own error for a bad host or TLS file); FLAME_ENOMEM.
 */
int swarm_nodes_parse(struct swarm_nodes **out, const char *json, size_t len,
                      const struct docker_endpoint_opts *base, char *err, size_t errlen);

/** swarm_nodes_parse() of the file at path (a regular file). FLAME_EINVALID
 *  also when it cannot be read, naming it. */
int swarm_nodes_load(struct swarm_nodes **out, const char *path,
                     const struct docker_endpoint_opts *base, char *err, size_t errlen);

/** Free a map (accepts NULL). No client may be in use. */
void swarm_nodes_free(struct swarm_nodes *m);

/** How many nodes the map names (0 for NULL). */
size_t swarm_nodes_count(const struct swarm_nodes *m);

/**
 * The client of the node with this ID, else of this hostname (either may be
 * NULL). Borrowed: valid for the map's life.
 * @param key  may be NULL; set to the entry's key (borrowed) when found.
 * @return the client, or NULL when the map (which may be NULL) names neither.
 */
docker_client *swarm_nodes_find(const struct swarm_nodes *m, const char *node_id,
                                const char *hostname, const char **key);

/** The client of the entry with exactly this key (for an exec id's node), or NULL. */
docker_client *swarm_nodes_by_key(const struct swarm_nodes *m, const char *key);

#endif
