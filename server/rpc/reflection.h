/*
 * server/rpc/reflection.h - gRPC server reflection (grpc.reflection.v1 and
 * v1alpha, one handler: the wire format is the same), so grpcurl and
 * `buf curl` can list, describe and call flamed without .proto files.
 *
 * The descriptors come from a FileDescriptorSet that protoc writes at build
 * time (protoc --include_imports --descriptor_set_out) and the build embeds
 * (cmake/embed.cmake): never hand-written.
 *
 * Thread-safety: an rpc_reflection is read-only after rpc_reflection_new().
 * Follows: https://github.com/grpc/grpc/blob/master/doc/server-reflection.md
 */
#ifndef FLAMED_RPC_REFLECTION_H
#define FLAMED_RPC_REFLECTION_H

#include <stddef.h>
#include <stdint.h>

#include "rpc/rpc.h"

typedef struct rpc_reflection rpc_reflection;

/**
 * Index a serialized FileDescriptorSet (borrowed: must outlive the result).
 * @param[out] out  free with rpc_reflection_free().
 * @return 0; FLAME_EINVALID (not a FileDescriptorSet); FLAME_ENOMEM.
 */
int rpc_reflection_new(rpc_reflection **out, const uint8_t *set, size_t len);
void rpc_reflection_free(rpc_reflection *r);

/**
 * The file descriptors (serialized FileDescriptorProto, borrowed) that answer
 * a file_by_filename (by_symbol = 0) or file_containing_symbol (by_symbol = 1)
 * request: the file itself first, then its transitive imports.
 * @param[out] files, lens  up to max entries. @return the count, 0 when not found.
 */
size_t rpc_reflection_lookup(const rpc_reflection *r, const char *name, int by_symbol,
                             const uint8_t **files, size_t *lens, size_t max);

/** Names of the services in the set ("flame.v1.RunnerService"), borrowed; count in *n. */
const char *const *rpc_reflection_services(const rpc_reflection *r, size_t *n);

/**
 * The two ServerReflectionInfo methods (v1 and v1alpha), with r as context.
 * @return 2; fills out[0..1].
 */
size_t rpc_reflection_methods(rpc_reflection *r, struct rpc_method out[2]);

#endif
