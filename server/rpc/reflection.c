/* Server reflection over an embedded FileDescriptorSet; see reflection.h. */
#include "rpc/reflection.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "flame/error.h"
#include "google/protobuf/descriptor.pb-c.h"
#include "grpc/reflection/v1/reflection.pb-c.h"

#define MAX_FILES 64

struct refl_file {
    const uint8_t *bytes; /* serialized FileDescriptorProto, borrowed from the set */
    size_t len;
    Google__Protobuf__FileDescriptorProto *fd;
};

struct refl_symbol {
    char *name;   /* fully qualified, no leading '.' */
    size_t file;
};

struct rpc_reflection {
    struct refl_file files[MAX_FILES];
    size_t n_files;
    struct refl_symbol *syms;
    size_t n_syms, cap_syms;
    char **services;
    size_t n_services;
};

static int read_varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*pos >= len)
            return -1;
        uint8_t b = p[(*pos)++];
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return 0;
    }
    return -1;
}

static int add_sym(rpc_reflection *r, const char *scope, const char *name, size_t file)
{
    if (r->n_syms == r->cap_syms) {
        size_t cap = r->cap_syms ? r->cap_syms * 2 : 128;
        struct refl_symbol *s = realloc(r->syms, cap * sizeof(*s));
        if (!s)
            return FLAME_ENOMEM;
        r->syms = s;
        r->cap_syms = cap;
    }
    size_t len = strlen(scope) + 1 + strlen(name) + 1;
    char *full = malloc(len);
    if (!full)
        return FLAME_ENOMEM;
    snprintf(full, len, "%s%s%s", scope, scope[0] ? "." : "", name);
    r->syms[r->n_syms++] = (struct refl_symbol){full, file};
    return 0;
}

static int index_message(rpc_reflection *r, const char *scope,
                         const Google__Protobuf__DescriptorProto *m, size_t file, int depth)
{
    if (depth > 32 || add_sym(r, scope, m->name, file) < 0)
        return FLAME_ENOMEM;
    char inner[512];
    snprintf(inner, sizeof(inner), "%s%s%s", scope, scope[0] ? "." : "", m->name);
    for (size_t i = 0; i < m->n_nested_type; i++)
        if (index_message(r, inner, m->nested_type[i], file, depth + 1) < 0)
            return FLAME_ENOMEM;
    for (size_t i = 0; i < m->n_enum_type; i++)
        if (add_sym(r, inner, m->enum_type[i]->name, file) < 0)
            return FLAME_ENOMEM;
    return 0;
}

static int index_file(rpc_reflection *r, size_t fi)
{
    const Google__Protobuf__FileDescriptorProto *fd = r->files[fi].fd;
    const char *pkg = fd->package ? fd->package : "";
    for (size_t i = 0; i < fd->n_message_type; i++)
        if (index_message(r, pkg, fd->message_type[i], fi, 0) < 0)
            return FLAME_ENOMEM;
    for (size_t i = 0; i < fd->n_enum_type; i++)
        if (add_sym(r, pkg, fd->enum_type[i]->name, fi) < 0)
            return FLAME_ENOMEM;
    for (size_t i = 0; i < fd->n_service; i++) {
        const Google__Protobuf__ServiceDescriptorProto *s = fd->service[i];
        if (add_sym(r, pkg, s->name, fi) < 0)
            return FLAME_ENOMEM;
        char svc[512];
        snprintf(svc, sizeof(svc), "%s%s%s", pkg, pkg[0] ? "." : "", s->name);
        char **ns = realloc(r->services, (r->n_services + 1) * sizeof(*ns));
        if (!ns)
            return FLAME_ENOMEM;
        r->services = ns;
        if (!(r->services[r->n_services] = strdup(svc)))
            return FLAME_ENOMEM;
        r->n_services++;
        for (size_t j = 0; j < s->n_method; j++)
            if (add_sym(r, svc, s->method[j]->name, fi) < 0)
                return FLAME_ENOMEM;
    }
    return 0;
}

int rpc_reflection_new(rpc_reflection **out, const uint8_t *set, size_t len)
{
    rpc_reflection *r = calloc(1, sizeof(*r));
    if (!r)
        return FLAME_ENOMEM;
    int rc = 0;
    size_t pos = 0;
    /* FileDescriptorSet: repeated FileDescriptorProto file = 1. Kept as raw bytes to answer with. */
    while (pos < len) {
        uint64_t key, flen;
        if (read_varint(set, len, &pos, &key) < 0 || key != ((1 << 3) | 2) ||
            read_varint(set, len, &pos, &flen) < 0 || flen > len - pos || r->n_files == MAX_FILES) {
            rc = FLAME_EINVALID;
            goto done;
        }
        struct refl_file *f = &r->files[r->n_files];
        f->bytes = set + pos;
        f->len = (size_t)flen;
        f->fd = google__protobuf__file_descriptor_proto__unpack(NULL, f->len, f->bytes);
        if (!f->fd) {
            rc = FLAME_EINVALID;
            goto done;
        }
        r->n_files++;
        pos += (size_t)flen;
    }
    for (size_t i = 0; i < r->n_files; i++)
        if ((rc = index_file(r, i)) < 0)
            goto done;
done:
    if (rc < 0) {
        rpc_reflection_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

void rpc_reflection_free(rpc_reflection *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_files; i++)
        google__protobuf__file_descriptor_proto__free_unpacked(r->files[i].fd, NULL);
    for (size_t i = 0; i < r->n_syms; i++)
        free(r->syms[i].name);
    free(r->syms);
    for (size_t i = 0; i < r->n_services; i++)
        free(r->services[i]);
    free(r->services);
    free(r);
}

static long find_file(const rpc_reflection *r, const char *name)
{
    for (size_t i = 0; i < r->n_files; i++)
        if (strcmp(r->files[i].fd->name, name) == 0)
            return (long)i;
    return -1;
}

size_t rpc_reflection_lookup(const rpc_reflection *r, const char *name, int by_symbol,
                             const uint8_t **files, size_t *lens, size_t max)
{
    long start = -1;
    if (by_symbol) {
        if (name[0] == '.')
            name++;
        for (size_t i = 0; i < r->n_syms && start < 0; i++)
            if (strcmp(r->syms[i].name, name) == 0)
                start = (long)r->syms[i].file;
    } else {
        start = find_file(r, name);
    }
    if (start < 0 || max == 0)
        return 0;
    /* Breadth-first over imports, each file once, the requested one first. */
    size_t order[MAX_FILES], n = 0;
    int seen[MAX_FILES] = {0};
    order[n++] = (size_t)start;
    seen[start] = 1;
    for (size_t k = 0; k < n; k++) {
        const Google__Protobuf__FileDescriptorProto *fd = r->files[order[k]].fd;
        for (size_t d = 0; d < fd->n_dependency; d++) {
            long j = find_file(r, fd->dependency[d]);
            if (j >= 0 && !seen[j]) {
                seen[j] = 1;
                order[n++] = (size_t)j;
            }
        }
    }
    if (n > max)
        n = max;
    for (size_t k = 0; k < n; k++) {
        files[k] = r->files[order[k]].bytes;
        lens[k] = r->files[order[k]].len;
    }
    return n;
}

const char *const *rpc_reflection_services(const rpc_reflection *r, size_t *n)
{
    *n = r->n_services;
    return (const char *const *)r->services;
}

/* Answer one request into resp; the memory it points to lives in the arrays passed in. */
static void answer(rpc_reflection *r, const Grpc__Reflection__V1__ServerReflectionRequest *req,
                   Grpc__Reflection__V1__ServerReflectionResponse *resp,
                   Grpc__Reflection__V1__FileDescriptorResponse *fdr, ProtobufCBinaryData *blobs,
                   Grpc__Reflection__V1__ListServiceResponse *lsr,
                   Grpc__Reflection__V1__ServiceResponse *svcs, Grpc__Reflection__V1__ServiceResponse **svcp,
                   Grpc__Reflection__V1__ErrorResponse *er, char *msg, size_t msglen)
{
    resp->valid_host = req->host ? req->host : "";
    resp->original_request = (Grpc__Reflection__V1__ServerReflectionRequest *)req;
    const char *name = NULL;
    int by_symbol = 0;
    switch (req->message_request_case) {
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES: {
        size_t n;
        const char *const *names = rpc_reflection_services(r, &n);
        for (size_t i = 0; i < n && i < MAX_FILES; i++) {
            grpc__reflection__v1__service_response__init(&svcs[i]);
            svcs[i].name = (char *)names[i];
            svcp[i] = &svcs[i];
        }
        lsr->n_service = n < MAX_FILES ? n : MAX_FILES;
        lsr->service = svcp;
        resp->message_response_case =
            GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_LIST_SERVICES_RESPONSE;
        resp->list_services_response = lsr;
        return;
    }
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_BY_FILENAME:
        name = req->file_by_filename;
        break;
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL:
        name = req->file_containing_symbol;
        by_symbol = 1;
        break;
    default:
        break;
    }
    if (name) {
        const uint8_t *files[MAX_FILES];
        size_t lens[MAX_FILES];
        size_t n = rpc_reflection_lookup(r, name, by_symbol, files, lens, MAX_FILES);
        if (n) {
            for (size_t i = 0; i < n; i++)
                blobs[i] = (ProtobufCBinaryData){lens[i], (uint8_t *)files[i]};
            fdr->n_file_descriptor_proto = n;
            fdr->file_descriptor_proto = blobs;
            resp->message_response_case =
                GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_FILE_DESCRIPTOR_RESPONSE;
            resp->file_descriptor_response = fdr;
            return;
        }
        snprintf(msg, msglen, "%s not found: %s", by_symbol ? "symbol" : "file", name);
        er->error_code = 5; /* NOT_FOUND */
    } else {
        snprintf(msg, msglen, "this request kind is not supported (flamed defines no extensions)");
        er->error_code = 12; /* UNIMPLEMENTED */
    }
    er->error_message = msg;
    resp->message_response_case =
        GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE;
    resp->error_response = er;
}

static void reflection_worker(rpc_call *call)
{
    rpc_reflection *r = rpc_call_context(call);
    int rc = 0;
    for (;;) {
        ProtobufCMessage *m = NULL;
        rc = rpc_call_recv(call, &grpc__reflection__v1__server_reflection_request__descriptor, &m);
        if (rc < 0 || !m)
            break;
        Grpc__Reflection__V1__ServerReflectionResponse resp =
            GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__INIT;
        Grpc__Reflection__V1__FileDescriptorResponse fdr =
            GRPC__REFLECTION__V1__FILE_DESCRIPTOR_RESPONSE__INIT;
        Grpc__Reflection__V1__ListServiceResponse lsr = GRPC__REFLECTION__V1__LIST_SERVICE_RESPONSE__INIT;
        Grpc__Reflection__V1__ErrorResponse er = GRPC__REFLECTION__V1__ERROR_RESPONSE__INIT;
        ProtobufCBinaryData blobs[MAX_FILES];
        Grpc__Reflection__V1__ServiceResponse svcs[MAX_FILES];
        Grpc__Reflection__V1__ServiceResponse *svcp[MAX_FILES];
        char msg[300];
        answer(r, (Grpc__Reflection__V1__ServerReflectionRequest *)m, &resp, &fdr, blobs, &lsr,
               svcs, svcp, &er, msg, sizeof(msg));
        rc = rpc_call_send(call, &resp.base);
        protobuf_c_message_free_unpacked(m, NULL);
        if (rc < 0)
            break;
    }
    if (rc == FLAME_EINVALID)
        rpc_call_finish(call, rc, "BAD_REQUEST", "not a ServerReflectionRequest", NULL);
    else
        rpc_call_finish(call, rc, NULL, rc ? "the client went away" : NULL, NULL);
}

static void reflection_info(rpc_call *call)
{
    int rc = rpc_call_run_worker(call, reflection_worker);
    if (rc < 0)
        rpc_call_finish(call, rc, "TOO_MANY_CALLS", "flamed is at its limit of concurrent calls",
                        NULL);
}

size_t rpc_reflection_methods(rpc_reflection *r, struct rpc_method out[2])
{
    out[0] = (struct rpc_method){
        .path = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        .request = &grpc__reflection__v1__server_reflection_request__descriptor,
        .server_streaming = 1, .client_streaming = 1, .handler = reflection_info, .context = r};
    out[1] = out[0];
    out[1].path = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";
    return 2;
}
