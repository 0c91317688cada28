'use strict';

const grpc = require('@grpc/grpc-js');

const REASON_KEY = 'flame-reason';
const STATUS_NAMES = Object.fromEntries(
  Object.entries(grpc.status).filter(([, v]) => typeof v === 'number').map(([k, v]) => [v, k]));

/**
 * A failed call: the gRPC status (by name, e.g. 'NOT_FOUND'), its message and
 * flamed's `flame-reason` trailing metadata (e.g. 'RUNNER_NOT_FOUND'), which is
 * undefined when the status did not come from flamed (e.g. nothing listens).
 */
class FlamedError extends Error {
  constructor(code, details, reason, grpcCode) {
    super(`${code}: ${details}${reason ? ` [${reason}]` : ''}`);
    this.name = 'FlamedError';
    this.code = code;
    this.details = details;
    this.reason = reason;
    this.grpcCode = grpcCode ?? grpc.status[code] ?? grpc.status.UNKNOWN;
  }
}

/** Convert a grpc-js ServiceError (or anything thrown) into a FlamedError. */
function toFlamedError(err) {
  if (err instanceof FlamedError) return err;
  if (err && typeof err.code === 'number') {
    let reason;
    const values = err.metadata && typeof err.metadata.get === 'function'
      ? err.metadata.get(REASON_KEY) : [];
    if (values.length) reason = values[0].toString();
    return new FlamedError(STATUS_NAMES[err.code] || 'UNKNOWN', err.details || err.message,
      reason, err.code);
  }
  return new FlamedError('UNKNOWN', err && err.message ? err.message : String(err));
}

module.exports = { FlamedError, toFlamedError, REASON_KEY };
