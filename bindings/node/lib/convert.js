'use strict';
// Wire objects (proto-loader's camelCase plain objects) to and from the public
// values: enums lose their prefixes, 64-bit integers become bigint, Structs
// become plain JSON values.

const { FlamedError } = require('./errors');

function stripPrefix(value, prefix) {
  return typeof value === 'string' && value.startsWith(prefix)
    ? value.slice(prefix.length) : 'UNSPECIFIED';
}

function big(value) {
  return BigInt(value || 0);
}

/** flame.v1.Runner -> Runner. */
function runnerFromPb(r) {
  return {
    id: r.id,
    containerId: r.containerId,
    name: r.name,
    pool: r.pool,
    image: r.image,
    network: r.network,
    ipAddress: r.ipAddress,
    state: stripPrefix(r.state, 'RUNNER_STATE_'),
    labels: { ...(r.labels || {}) },
    exitCode: r.exitCode,
    oomKilled: r.oomKilled,
    keepRunner: r.keepRunner,
    createdUnixNano: big(r.createdUnixNano),
    error: r.error,
    requestId: r.requestId || '',
    parentId: r.parentId || '',
    leaseTtlMs: r.leaseTtlMs || 0,
    warm: !!r.warm,
  };
}

/** flame.v1.WatchResponse -> RunnerEvent. */
function eventFromPb(m) {
  const ev = {
    type: stripPrefix(m.type, 'RUNNER_EVENT_TYPE_'),
    runner: runnerFromPb(m.runner || {}),
    sequence: big(m.sequence),
    timeUnixNano: big(m.timeUnixNano),
  };
  if (m.pull) {
    ev.pull = {
      image: m.pull.image || '',
      bytesDone: big(m.pull.bytesDone),
      bytesTotal: big(m.pull.bytesTotal),
      layers: m.pull.layers || 0,
      layersDone: m.pull.layersDone || 0,
    };
  }
  return ev;
}

/** flame.v1.LogsResponse -> { kind: 'stdout'|'stderr', data: Buffer }. */
function logsEventFromPb(m) {
  switch (m.event) {
    case 'stdout': return { kind: 'stdout', data: m.stdout };
    case 'stderr': return { kind: 'stderr', data: m.stderr };
    default: throw new FlamedError('INTERNAL', 'LogsResponse without an event (newer flamed?)');
  }
}

/** flame.v1.SpawnResponse -> SpawnEvent. */
function spawnEventFromPb(m) {
  switch (m.event) {
    case 'started': return { kind: 'started', execId: m.started.execId };
    case 'stdout': return { kind: 'stdout', data: m.stdout };
    case 'stderr': return { kind: 'stderr', data: m.stderr };
    case 'exited': return { kind: 'exited', exitCode: m.exited.exitCode };
    default: throw new FlamedError('INTERNAL', 'SpawnResponse without an event (newer flamed?)');
  }
}

function toValue(v, where) {
  if (v === null) return { nullValue: 'NULL_VALUE' };
  switch (typeof v) {
    case 'number':
      if (!Number.isFinite(v)) throw new TypeError(`${where}: ${v} is not a JSON number`);
      return { numberValue: v };
    case 'bigint': return { numberValue: Number(v) };
    case 'string': return { stringValue: v };
    case 'boolean': return { boolValue: v };
    case 'object':
      if (Array.isArray(v)) {
        return { listValue: { values: v.map((x, i) => toValue(x, `${where}[${i}]`)) } };
      }
      return { structValue: toStruct(v, where) };
    default:
      throw new TypeError(`${where}: a ${typeof v} is not a JSON value`);
  }
}

/** A plain JSON object -> google.protobuf.Struct (numbers become doubles). */
function toStruct(obj, where = 'struct') {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new TypeError(`${where} must be a plain object (JSON object)`);
  }
  const fields = {};
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined) continue;
    fields[k] = toValue(v, `${where}.${k}`);
  }
  return { fields };
}

const PULL_POLICIES = new Set(['UNSPECIFIED', 'IF_NOT_PRESENT', 'ALWAYS', 'NEVER']);

function pullPolicy(p) {
  if (p === undefined || p === null || p === '') return 'PULL_POLICY_UNSPECIFIED';
  const name = String(p).toUpperCase().replace(/-/g, '_').replace(/^PULL_POLICY_/, '');
  if (!PULL_POLICIES.has(name)) {
    throw new TypeError(`pullPolicy '${p}': use 'IF_NOT_PRESENT', 'ALWAYS' or 'NEVER'`);
  }
  return `PULL_POLICY_${name}`;
}

/**
 * BootOptions.placement ({ constraints: string[], preferences: [{ spread }] }) ->
 * flame.v1.Placement; undefined stays unset (no placement).
 */
function placement(p) {
  if (p === undefined || p === null) return undefined;
  if (typeof p !== 'object' || Array.isArray(p)) throw new TypeError('placement must be an object');
  const unknown = Object.keys(p).filter((k) => k !== 'constraints' && k !== 'preferences');
  if (unknown.length) {
    throw new TypeError(`placement: unknown key(s) ${unknown.join(', ')}: use constraints and preferences`);
  }
  const preferences = (p.preferences || []).map((x, i) => {
    if (!x || typeof x !== 'object' || Object.keys(x).join() !== 'spread' || typeof x.spread !== 'string') {
      throw new TypeError(`placement.preferences[${i}] must be { spread: 'node.labels.KEY' }`);
    }
    return { spread: x.spread };
  });
  return { constraints: (p.constraints || []).map(String), preferences };
}

/** A uint64 option (number, bigint or decimal string) as proto-loader takes it. */
function u64(v, where) {
  if (v === undefined || v === null) return '0';
  const s = typeof v === 'string' ? v : BigInt(v).toString();
  if (!/^\d+$/.test(s)) throw new TypeError(`${where} must be a non-negative integer`);
  return s;
}

module.exports = {
  runnerFromPb, eventFromPb, spawnEventFromPb, logsEventFromPb, toStruct, pullPolicy, placement, u64,
};
