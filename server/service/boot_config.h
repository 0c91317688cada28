/*
 * server/service/boot_config.h - the one canonical reading of a Boot's
 * host_config and mounts (docs/security.md, "One canonical reading").
 *
 * A BootRequest carries HostConfig and each Mount as a google.protobuf.Struct:
 * a proto map, which may repeat a key on the wire. dockerd decodes the create
 * body with Go's encoding/json, where the last repeated key wins and a key
 * matches a field case-insensitively. So flamed never passes the client's
 * object on: it decodes it against its schema of the Engine API fields it
 * supports (moby api/types/container/hostconfig.go, api/types/mount/mount.go,
 * Engine API v1.41) into a new tree that holds only schema spellings and
 * values of the schema's types. The policy checks that tree, and the create
 * body is printed from it, so what is checked is byte for byte what Docker
 * receives.
 *
 * Refused, naming the key (FLAME_EINVALID): a key not spelled exactly as the
 * Engine API spells it, a key repeated in one object (maps included), a value
 * of the wrong type, an integer outside +-999,999,999,999,999 (cJSON prints
 * larger ones in exponent form, which Go will not read as an integer), a
 * field flamed owns or does not support, a string that is not valid UTF-8
 * (Go reads U+FFFD where flamed would read the byte). A null value means
 * "not set": nothing is sent for it.
 *
 * Thread-safety: the functions keep no state; safe from any thread.
 */
#ifndef FLAMED_BOOT_CONFIG_H
#define FLAMED_BOOT_CONFIG_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "google/protobuf/struct.pb-c.h"

/** Largest integer magnitude a HostConfig or Mount field may hold. */
#define BOOT_CONFIG_INT_MAX 999999999999999.0

/**
 * Decode a HostConfig Struct into its canonical form.
 *
 * @param[out] out  a new JSON object holding only schema fields (never NULL on
 *                  success; empty when s is NULL or empty); owned by the
 *                  caller, free with cJSON_Delete().
 * @param s         the request's host_config (borrowed; NULL: none).
 * @param err       message on failure, starting with "host_config".
 * @return 0, FLAME_EINVALID (see above; err names the key), FLAME_ENOMEM.
 * Follows: Docker Engine API v1.41 ContainerCreate HostConfig.
 */
int boot_config_host_config(cJSON **out, const Google__Protobuf__Struct *s, char *err,
                            size_t errlen);

/**
 * Decode one Mount Struct (BootRequest.mounts[index]) into its canonical form.
 * Besides the schema: Type is "bind", "volume" or "tmpfs"; Target is an
 * absolute path; a bind's Source is an absolute path and is sent cleaned
 * (boot_config_clean_path); a volume's Source is empty or a volume name; a
 * tmpfs has no Source; options belong to the mount's type.
 *
 * @param[out] out  a new JSON object; owned by the caller (cJSON_Delete()).
 * @param index     the position in mounts, for messages ("mounts[2].Type").
 * @return 0, FLAME_EINVALID (err names the key), FLAME_ENOMEM.
 * Follows: Docker Engine API v1.41 HostConfig.Mounts (mount.Mount).
 */
int boot_config_mount(cJSON **out, const Google__Protobuf__Struct *s, size_t index, char *err,
                      size_t errlen);

/**
 * Clean an absolute path lexically, as Go's path.Clean does ("//" and "."
 * go, ".." removes the previous component, never above "/", no trailing "/").
 * @return a malloc'd path owned by the caller (free()), or NULL (out of memory).
 */
char *boot_config_clean_path(const char *path);

/**
 * Is s a Docker object name (volume, network, pool): [A-Za-z0-9][A-Za-z0-9_.-]*,
 * ASCII whatever the locale? 1 or 0.
 */
int boot_config_docker_name_ok(const char *s);

/** Is s (NUL-terminated) valid UTF-8, without overlongs and surrogates? 1 or 0. */
int boot_config_utf8_valid(const char *s);

#endif
