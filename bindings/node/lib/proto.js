'use strict';
// Loads flame.v1.RunnerService from the .proto files at runtime (no generated
// code): inside the repository from ../../proto, so a proto change needs no
// regeneration step; from a packed package, from the proto/ copied by prepack.

const fs = require('node:fs');
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const PROTO_FILE = 'flame/v1/runner_service.proto';

/** The directory holding flame/v1/runner_service.proto, or throws. */
function protoRoot() {
  const candidates = [
    process.env.FLAMED_PROTO_DIR,
    path.resolve(__dirname, '..', '..', '..', 'proto'), // the repository's proto/
    path.resolve(__dirname, '..', 'proto'), // a packed package's copy
  ].filter(Boolean);
  for (const dir of candidates) {
    if (fs.existsSync(path.join(dir, PROTO_FILE))) return dir;
  }
  throw new Error(`@flamed/client: ${PROTO_FILE} not found in ${candidates.join(', ')}; ` +
    'set FLAMED_PROTO_DIR to the flamed repository\'s proto/ directory');
}

let loaded;

/**
 * The loaded service: { RunnerService (a grpc-js client constructor), definition
 * (proto-loader's package definition), root }.
 * Loaded once per process. google/protobuf/struct.proto comes with protobufjs.
 */
function load() {
  if (!loaded) {
    const root = protoRoot();
    const def = protoLoader.loadSync(PROTO_FILE, {
      includeDirs: [root],
      keepCase: false, // camelCase field names
      longs: String, // 64-bit integers as decimal strings; converted to bigint
      enums: String, // enum values by name
      defaults: true,
      oneofs: true, // SpawnResponse.event names the field that is set
    });
    const pkg = grpc.loadPackageDefinition(def);
    loaded = { RunnerService: pkg.flame.v1.RunnerService, definition: def, root };
  }
  return loaded;
}

module.exports = { load, protoRoot };
