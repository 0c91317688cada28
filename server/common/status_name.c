/* The status name of a FLAME_E* code (status_name.h). */
#include "common/status_name.h"
#include "flame/error.h"

const char *status_name_of(int err) { return flame_grpc_status_name(flame_error_grpc_status(err)); }
