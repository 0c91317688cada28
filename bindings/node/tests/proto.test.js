'use strict';
// The hand-written parts (Client methods, conversions, index.d.ts unions) agree with
// the proto as loaded now: a proto change that adds an RPC, a field or an enum value
// fails here until the binding covers it. No flamed needed.

const { it } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { Client } = require('..');
const { load } = require('../lib/proto');
const { bootRequest } = require('../lib/client');
const { runnerFromPb, eventFromPb } = require('../lib/convert');

const def = load().definition;
const camel = (s) => s.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());
const fields = (msg) => def[`flame.v1.${msg}`].type.field.map((f) => camel(f.name)).sort();
const dts = fs.readFileSync(path.join(__dirname, '..', 'index.d.ts'), 'utf8');

function dtsUnion(name) {
  const m = dts.match(new RegExp(`export type ${name} =([^;]+);`));
  assert.ok(m, `index.d.ts declares ${name}`);
  return [...m[1].matchAll(/'([A-Z_]+)'/g)].map((x) => x[1]).sort();
}

// RPCs a method of another name serves: SpawnStream is spawn(..., { stdin }).
const SERVED_BY = { SpawnStream: 'spawn' };

it('Client has a method for every RPC of RunnerService', () => {
  for (const method of Object.keys(def['flame.v1.RunnerService'])) {
    const name = SERVED_BY[method] || method[0].toLowerCase() + method.slice(1);
    assert.equal(typeof Client.prototype[name], 'function', `Client.${name} for rpc ${method}`);
  }
});

it('conversions carry every field of Runner and BootRequest', () => {
  assert.deepEqual(Object.keys(runnerFromPb({})).sort(), fields('Runner'));
  assert.deepEqual(Object.keys(bootRequest({ image: 'x', hostConfig: {} })).sort(), fields('BootRequest'));
});

it('index.d.ts enum unions list every proto enum value', () => {
  for (const [type, proto, prefix] of [['RunnerState', 'RunnerState', 'RUNNER_STATE_'],
    ['RunnerEventType', 'RunnerEventType', 'RUNNER_EVENT_TYPE_']]) {
    const want = def[`flame.v1.${proto}`].type.value.map((v) => v.name.slice(prefix.length)).sort();
    assert.deepEqual(dtsUnion(type), want, type);
  }
  const policies = def['flame.v1.PullPolicy'].type.value.map((v) => v.name.slice('PULL_POLICY_'.length))
    .filter((n) => n !== 'UNSPECIFIED').sort();
  assert.deepEqual(dtsUnion('PullPolicy'), policies);
});

it('a PULLING event carries its progress (every PullProgress field), others none', () => {
  const ev = eventFromPb({
    type: 'RUNNER_EVENT_TYPE_PULLING', sequence: '9', timeUnixNano: '1', runner: {},
    pull: { image: 'app:1', bytesDone: '5', bytesTotal: '10', layers: 2, layersDone: 1 },
  });
  assert.equal(ev.type, 'PULLING');
  assert.deepEqual(ev.pull, { image: 'app:1', bytesDone: 5n, bytesTotal: 10n, layers: 2, layersDone: 1 });
  assert.deepEqual(Object.keys(ev.pull).sort(), fields('PullProgress'));
  assert.equal(eventFromPb({ type: 'RUNNER_EVENT_TYPE_STARTED', runner: {} }).pull, undefined);
});
