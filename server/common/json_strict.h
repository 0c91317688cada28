/*
 * server/common/json_strict.h - the strict reading of an operator's JSON
 * file (the --pools file, the --swarm-nodes file): one canonical reading,
 * refusing what cJSON and another JSON parser could read apart.
 *
 * cJSON cuts a string at "\u0000" and keeps every one of a repeated key,
 * while Go's encoding/json (and most readers) keep the last: so a NUL byte or
 * escape, a repeated key, text after the value and an unknown key are errors
 * here, each said with the file's name.
 *
 * Thread-safety: every function is reentrant.
 */
#ifndef FLAMED_COMMON_JSON_STRICT_H
#define FLAMED_COMMON_JSON_STRICT_H

#include <stddef.h>

#include <cjson/cJSON.h>

/**
 * Parse `len` bytes of `json` as one JSON value.
 *
 * @param[out] out  on 0: the value (cJSON_Delete()); NULL on error.
 * @param json, len the file's bytes (borrowed; need not be NUL-terminated).
 * @param max       the largest file taken, in bytes.
 * @param what      the file as a message names it, e.g. "the pool file".
 * @return 0; FLAME_EINVALID (larger than max, a NUL byte or "\u0000", not
 *         JSON (err says near which byte; also when cJSON runs out of
 *         memory), text after the value). err says why, starting with `what`.
 * Follows: RFC 8259 (one value, whitespace around it).
 */
int json_strict_parse(cJSON **out, const char *json, size_t len, size_t max, const char *what,
                      char *err, size_t errlen);

/**
 * Check an object's keys: each in `allowed`, none repeated (byte for byte).
 *
 * @param o        the object (borrowed).
 * @param where    the object as a message names it, e.g. "pools.web".
 * @param allowed  NULL-terminated allowlist; NULL: any key.
 * @return 0; FLAME_EINVALID naming the key ("unknown key", "is repeated").
 */
int json_strict_keys(const cJSON *o, const char *where, const char *const *allowed, char *err,
                     size_t errlen);

#endif
