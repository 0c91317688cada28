'use strict';
// @flamed/client: a Node client for flamed (flame.v1.RunnerService) and a
// flame-js backend adapter. Types: index.d.ts.

const { Client, CallStream } = require('./lib/client');
const { FlamedError } = require('./lib/errors');
const { createDockerBackend, flamedPoolName } = require('./lib/backend');
const { protoRoot } = require('./lib/proto');

module.exports = {
  Client, CallStream, FlamedError, createDockerBackend, flamedPoolName, protoRoot,
};
