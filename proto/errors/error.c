/* The one error table's lookups; see flame/error.h. */
#include "flame/error.h"

#include <stddef.h>

struct err_row {
    int code;
    const char *name;
    int grpc_status;
    int exit_code;
};

static const struct err_row rows[] = {
#define FLAME__ERR_ROW(name, value, status, exitc, desc) {value, #name, status, exitc},
    FLAME_ERROR_TABLE(FLAME__ERR_ROW)
#undef FLAME__ERR_ROW
};

static const struct err_row *find(int err)
{
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        if (rows[i].code == err)
            return &rows[i];
    return &rows[1]; /* FLAME_ERROR */
}

const char *flame_error_name(int err) { return find(err)->name; }

int flame_error_grpc_status(int err) { return find(err)->grpc_status; }

int flame_error_exit_code(int err) { return find(err)->exit_code; }

int flame_error_from_grpc_status(int status)
{
    switch (status) {
    case 0: return FLAME_OK;
    case 1: return FLAME_ECANCELLED;
    case 3: return FLAME_EINVALID;
    case 4: return FLAME_ETIMEOUT;
    case 5: return FLAME_ENOTFOUND;
    case 6: return FLAME_EEXISTS;
    case 7: return FLAME_EPERM;
    case 8: return FLAME_EEXHAUSTED;
    case 9: return FLAME_EPRECONDITION;
    case 10: return FLAME_EABORTED;
    case 11: return FLAME_ERANGE;
    case 12: return FLAME_EUNIMPLEMENTED;
    case 14: return FLAME_EUNAVAILABLE;
    case 16: return FLAME_EUNAUTH;
    default: return FLAME_ERROR;
    }
}

const char *flame_grpc_status_name(int status)
{
    static const char *names[] = {
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
        "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL",
        "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
    };
    if (status < 0 || status >= (int)(sizeof(names) / sizeof(names[0])))
        return "UNKNOWN";
    return names[status];
}
