'use strict';
// Client: a typed, promise- and async-iterator-based client of
// flame.v1.RunnerService over @grpc/grpc-js. Public types are in ../index.d.ts.

const grpc = require('@grpc/grpc-js');
const { load } = require('./proto');
const { FlamedError, toFlamedError } = require('./errors');
const {
  runnerFromPb, eventFromPb, spawnEventFromPb, logsEventFromPb, toStruct, pullPolicy, placement, u64,
} = require('./convert');

// flamed's defaults for boot_timeout_ms and Shutdown's grace: the client's
// timeoutMs is added to them to make those calls' deadlines.
const DEFAULT_BOOT_TIMEOUT_MS = 30000;
const DEFAULT_STOP_TIMEOUT_MS = 10000;

/**
 * A server-streaming call as an async iterable of converted messages.
 * cancel() (or an aborted signal, or leaving a for-await loop early) ends the
 * call; iteration then stops quietly. A failed call rejects with FlamedError.
 */
/** The most stdin bytes one SpawnStreamRequest carries (flamed refuses more). */
const STDIN_CHUNK_MAX = 64 * 1024;

/** Write stdin (Buffer, string, Uint8Array, or an async/sync iterable of them, e.g. a
 *  Readable) to a SpawnStream call in chunks of at most STDIN_CHUNK_MAX, then close it. */
async function pumpStdin(call, stdin) {
  const source = (typeof stdin === 'string' || stdin instanceof Uint8Array) ? [stdin] : stdin;
  let ended = false;
  call.on('close', () => { ended = true; });
  call.on('finish', () => { ended = true; });
  for await (const piece of source) {
    const buf = typeof piece === 'string' ? Buffer.from(piece) : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    for (let i = 0; i < buf.length && !ended; i += STDIN_CHUNK_MAX) {
      const chunk = buf.subarray(i, i + STDIN_CHUNK_MAX);
      if (!call.write({ stdin: chunk })) {
        await new Promise((resolve) => {
          const done = () => { call.off('drain', done); call.off('close', done); call.off('status', done); resolve(); };
          call.on('drain', done);
          call.on('close', done);
          call.on('status', done);
        });
      }
    }
    if (ended) return; // the command exited: the rest is not read
  }
  if (!ended) {
    call.write({ closeStdin: true });
    call.end();
  }
}

class CallStream {
  constructor(call, convert, signal) {
    this._call = call;
    this._convert = convert;
    this._cancelled = false;
    this._iterated = false;
    // grpc-js emits 'error' on failure; with no listener left (e.g. after the
    // loop ended) that would crash the process.
    call.on('error', () => {});
    if (signal) {
      if (signal.aborted) this.cancel();
      else signal.addEventListener('abort', () => this.cancel(), { once: true });
    }
  }

  /** End the call (flamed kills a Spawn's command, drops a Watch). Idempotent. */
  cancel() {
    this._cancelled = true;
    this._call.cancel();
  }

  async* [Symbol.asyncIterator]() {
    if (this._iterated) throw new Error('a flamed stream can be iterated only once');
    this._iterated = true;
    let done = false;
    try {
      for await (const msg of this._call) yield this._convert(msg);
      done = true;
    } catch (err) {
      done = true;
      if (this._cancelled && err && err.code === grpc.status.CANCELLED) return;
      throw toFlamedError(err);
    } finally {
      if (!done) this.cancel();
    }
  }
}

/** BootOptions -> flame.v1.BootRequest (camelCase, as proto-loader takes it). */
function bootRequest(opts) {
  if (!opts || typeof opts !== 'object') throw new TypeError('boot(opts): opts.image is required');
  const req = {
    image: opts.image || '',
    network: opts.network || '',
    pool: opts.pool || '',
    env: { ...(opts.env || {}) },
    cmd: [...(opts.cmd || [])],
    entrypoint: [...(opts.entrypoint || [])],
    labels: { ...(opts.labels || {}) },
    bootTimeoutMs: opts.bootTimeoutMs || 0,
    keepRunner: !!opts.keepRunner,
    pullPolicy: pullPolicy(opts.pullPolicy),
    user: opts.user || '',
    workingDir: opts.workingDir || '',
    requestId: opts.requestId || '',
    parentId: opts.parentId || '',
    leaseTtlMs: opts.leaseTtlMs || 0,
    maxLifetimeMs: u64(opts.maxLifetimeMs, 'maxLifetimeMs'),
    idleShutdownAfterMs: u64(opts.idleShutdownAfterMs, 'idleShutdownAfterMs'),
    mounts: (opts.mounts || []).map((m, i) => toStruct(m, `mounts[${i}]`)),
    placement: placement(opts.placement),
  };
  if (opts.hostConfig !== undefined) req.hostConfig = toStruct(opts.hostConfig, 'hostConfig');
  return req;
}

class Client {
  /**
   * @param {string} addr 'unix:/path/to.sock' or 'host:port'.
   * @param {import('../index').ClientOptions} [opts]
   */
  constructor(addr, opts = {}) {
    const { RunnerService } = load();
    this.addr = addr;
    this.timeoutMs = opts.timeoutMs === undefined ? 30000 : opts.timeoutMs;
    this._token = opts.token;
    this._stub = new RunnerService(addr, opts.credentials || grpc.credentials.createInsecure(),
      opts.channelOptions || {});
  }

  /** Close the channel; calls in flight are cancelled. */
  close() {
    this._stub.close();
  }

  _metadata() {
    const md = new grpc.Metadata();
    if (this._token) md.set('authorization', `Bearer ${this._token}`);
    return md;
  }

  _deadline(explicitMs, serverMs) {
    let ms = explicitMs;
    if (ms === undefined || ms === null) {
      if (this.timeoutMs === null || this.timeoutMs === Infinity) return Infinity;
      ms = (serverMs || 0) + this.timeoutMs;
    }
    return ms === Infinity ? Infinity : new Date(Date.now() + ms);
  }

  _unary(method, req, deadline, signal) {
    return new Promise((resolve, reject) => {
      const call = this._stub[method](req, this._metadata(), { deadline }, (err, resp) => {
        if (err) reject(toFlamedError(err));
        else resolve(resp);
      });
      if (signal) {
        if (signal.aborted) call.cancel();
        else signal.addEventListener('abort', () => call.cancel(), { once: true });
      }
    });
  }

  /** Boot a runner and wait until it runs. See index.d.ts for every option. */
  async boot(opts) {
    const req = bootRequest(opts);
    const deadline = this._deadline(opts.deadlineMs, opts.bootTimeoutMs || DEFAULT_BOOT_TIMEOUT_MS);
    const resp = await this._unary('Boot', req, deadline, opts.signal);
    return runnerFromPb(resp.runner);
  }


  /** Run a command in a runner; an async iterable of its events. */
  spawn(runnerId, argv, opts = {}) {
    const req = {
      runnerId,
      argv: [...(argv || [])],
      env: { ...(opts.env || {}) },
      workingDir: opts.workingDir || '',
      timeoutMs: opts.timeoutMs || 0,
      user: opts.user || '',
    };
    const deadline = opts.deadlineMs === undefined ? Infinity : this._deadline(opts.deadlineMs);
    if (opts.stdin !== undefined && opts.stdin !== null) {
      // SpawnStream: start, the stdin chunks (one write at a time, waiting for
      // 'drain': gRPC's flow control paces a large input), close_stdin.
      const call = this._stub.SpawnStream(this._metadata(), { deadline });
      const stream = new CallStream(call, spawnEventFromPb, opts.signal);
      call.write({ start: req });
      pumpStdin(call, opts.stdin).catch(() => call.cancel());
      return stream;
    }
    const call = this._stub.Spawn(req, this._metadata(), { deadline });
    return new CallStream(call, spawnEventFromPb, opts.signal);
  }

  /**
   * Read a runner's container output (Logs RPC); an async iterable of
   * { kind: 'stdout'|'stderr', data: Buffer } in order per stream.
   * opts: follow (bool: go on until the runner's container stops), tail (last N
   * lines, both streams together; undefined/0: all), since (Date or ms since the epoch; output at or
   * after it), timestamps (bool), deadlineMs, signal (AbortSignal).
   * Errors: FlamedError NOT_FOUND / RUNNER_NOT_FOUND (unknown runner, or another
   * pool's for a pool-scoped token); FAILED_PRECONDITION / RUNNER_NOT_RUNNING
   * (its container is gone).
   */
  logs(runnerId, opts = {}) {
    let sinceNs = 0n;
    if (opts.since !== undefined && opts.since !== null) {
      const ms = opts.since instanceof Date ? opts.since.getTime() : Number(opts.since);
      sinceNs = BigInt(Math.round(ms)) * 1000000n;
    }
    const req = {
      runnerId,
      follow: !!opts.follow,
      tailLines: opts.tail || 0,
      sinceUnixNano: sinceNs.toString(),
      timestamps: !!opts.timestamps,
    };
    const deadline = opts.deadlineMs === undefined ? Infinity : this._deadline(opts.deadlineMs);
    const call = this._stub.Logs(req, this._metadata(), { deadline });
    return new CallStream(call, logsEventFromPb, opts.signal);
  }

  /** Run a command to its end; resolves to { stdout, stderr, exitCode }. */
  async run(runnerId, argv, opts = {}) {
    const out = [];
    const err = [];
    for await (const ev of this.spawn(runnerId, argv, opts)) {
      if (ev.kind === 'stdout') out.push(ev.data);
      else if (ev.kind === 'stderr') err.push(ev.data);
      else if (ev.kind === 'exited') {
        return { stdout: Buffer.concat(out), stderr: Buffer.concat(err), exitCode: ev.exitCode };
      }
    }
    throw new FlamedError('INTERNAL', 'Spawn stream ended without an exited event');
  }

  /** Stop and remove a runner; resolves to its final state. Idempotent. */
  async shutdown(runnerId, opts = {}) {
    const req = { runnerId, timeoutMs: opts.timeoutMs || 0 };
    const deadline = this._deadline(opts.deadlineMs, opts.timeoutMs || DEFAULT_STOP_TIMEOUT_MS);
    const resp = await this._unary('Shutdown', req, deadline, opts.signal);
    return runnerFromPb(resp.runner);
  }

  /** Stream runner lifecycle events until cancelled. */
  watch(opts = {}) {
    const req = {
      pool: opts.pool || '',
      runnerId: opts.runnerId || '',
      includeExisting: !!opts.includeExisting,
      afterSequence: u64(opts.afterSequence, 'afterSequence'),
      parentId: opts.parentId || '',
    };
    const call = this._stub.Watch(req, this._metadata(), { deadline: Infinity });
    return new CallStream(call, eventFromPb, opts.signal);
  }

  /** The runners flamed tracks now, oldest first. */
  async list(opts = {}) {
    const resp = await this._unary('List', { pool: opts.pool || '' },
      this._deadline(opts.deadlineMs, 0), opts.signal);
    return (resp.runners || []).map(runnerFromPb);
  }

  /** Renew the leases of a parent's runners. */
  async renew(parentId, opts = {}) {
    const resp = await this._unary('Renew', { parentId }, this._deadline(opts.deadlineMs, 0),
      opts.signal);
    return { renewed: resp.renewed, leaseTtlMs: resp.leaseTtlMs };
  }
}

module.exports = { Client, CallStream, bootRequest };
