'use strict';
// @flamed/client's Client against a real flamed and dockerd.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Client, FlamedError } = require('..');
const { Harness, IMAGE, docker, collect } = require('./harness');

const h = new Harness();
before(() => h.start());
after(() => h.stop());

/** Boot a labelled runner in `pool`; the caller shuts it down (h.stop() is the backstop). */
function boot(pool, opts = {}) {
  return h.client.boot({ image: IMAGE, network: h.network, pool, labels: h.labels, ...opts });
}

async function shutdownQuietly(id) {
  try {
    await h.client.shutdown(id, { timeoutMs: 100 });
  } catch {
    // already gone
  }
}

async function rejectsWith(promise, code, reason) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof FlamedError, `not a FlamedError: ${err}`);
    assert.equal(err.code, code, err.message);
    assert.equal(err.reason, reason, err.message);
    return true;
  });
}

describe('round trip', () => {
  it('boots, runs a command, lists and shuts down a runner', async () => {
    const pool = h.poolName();
    const runner = await boot(pool, { env: { GREETING: 'hello' }, hostConfig: { Memory: 64 * 2 ** 20 } });
    try {
      assert.equal(runner.state, 'RUNNING');
      assert.match(runner.id, /^[0-9a-f]{16}$/);
      assert.match(runner.containerId, /^[0-9a-f]{64}$/);
      assert.deepEqual([runner.pool, runner.network, runner.image], [pool, h.network, IMAGE]);
      assert.ok(runner.ipAddress);
      assert.equal(runner.labels['fltest.run'], h.tag);
      assert.equal(typeof runner.createdUnixNano, 'bigint');
      assert.deepEqual((await h.client.list({ pool })).map((r) => r.id), [runner.id]);
      // hostConfig, a plain object, reached Docker through a google.protobuf.Struct.
      assert.equal(docker('inspect', '--format', '{{.HostConfig.Memory}}', runner.containerId),
        String(64 * 2 ** 20));

      const res = await h.client.run(runner.id, ['sh', '-c', 'echo "$GREETING from $(hostname)"']);
      assert.deepEqual(res, { stdout: Buffer.from(`hello from ${runner.name}\n`), stderr: Buffer.alloc(0), exitCode: 0 });
    } finally {
      const final = await h.client.shutdown(runner.id);
      assert.equal(final.state, 'REMOVED');
    }
    assert.deepEqual(await h.client.list({ pool }), []);
    assert.equal(docker('ps', '-aq', '--filter', `id=${runner.containerId}`), '');
    assert.equal((await h.client.shutdown(runner.id)).state, 'REMOVED', 'Shutdown is idempotent');
  });
});

describe('spawn', () => {
  let runner;
  before(async () => { runner = await boot(h.poolName()); });
  after(() => shutdownQuietly(runner.id));

  it('collects stdout, stderr (bytes) and the exit code', async () => {
    const res = await h.client.run(runner.id, ['sh', '-c', "printf 'out\\000\\377'; printf err >&2; exit 3"]);
    assert.deepEqual(res.stdout, Buffer.from([0x6f, 0x75, 0x74, 0x00, 0xff]));
    assert.equal(res.stderr.toString(), 'err');
    assert.equal(res.exitCode, 3);
  });

  it('logs: the container output, stdout and stderr apart', async () => {
    await h.client.run(runner.id, ['sh', '-c', 'echo hi > /proc/1/fd/1; echo oops > /proc/1/fd/2']);
    let out = '';
    let err = '';
    for (let i = 0; i < 50; i++) {
      out = '';
      err = '';
      for await (const ev of h.client.logs(runner.id)) {
        if (ev.kind === 'stdout') out += ev.data.toString();
        else err += ev.data.toString();
      }
      if (out.includes('hi\n') && err.includes('oops\n')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(out.includes('hi\n'), out);
    assert.ok(err.includes('oops\n'), err);
  });

  it('stdin: a Buffer, a Readable and an async iterable reach the command, then EOF', async () => {
    const data = Buffer.alloc(300000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
    let res = await h.client.run(runner.id, ['cat'], { stdin: data });
    assert.deepEqual(res.stdout, data);
    res = await h.client.run(runner.id, ['cat'], { stdin: require('stream').Readable.from([data]) });
    assert.deepEqual(res.stdout, data);
    async function* pieces() { yield 'ab'; yield Buffer.from('cde'); }
    res = await h.client.run(runner.id, ['wc', '-c'], { stdin: pieces() });
    assert.equal(res.stdout.toString().trim(), '5');
    // A command that does not read its stdin still exits.
    res = await h.client.run(runner.id, ['true'], { stdin: data });
    assert.equal(res.exitCode, 0);
  });

  it('passes env and working directory', async () => {
    const res = await h.client.run(runner.id, ['sh', '-c', 'echo "$A"; pwd'], { env: { A: 'two words' }, workingDir: '/tmp' });
    assert.equal(res.stdout.toString(), 'two words\n/tmp\n');
  });

  it('streams events in order, as they arrive', async () => {
    const t0 = Date.now();
    const events = [];
    const times = [];
    for await (const ev of h.client.spawn(runner.id, ['sh', '-c', 'echo one; sleep 1; echo two >&2; echo three; exit 5'])) {
      events.push(ev);
      times.push(Date.now() - t0);
    }
    const kinds = events.map((e) => e.kind);
    assert.equal(kinds[0], 'started');
    assert.match(events[0].execId, /^[0-9a-f]{64}$/);
    assert.equal(kinds.at(-1), 'exited');
    assert.equal(events.at(-1).exitCode, 5);
    assert.equal(Buffer.concat(events.filter((e) => e.kind === 'stdout').map((e) => e.data)).toString(), 'one\nthree\n');
    assert.equal(Buffer.concat(events.filter((e) => e.kind === 'stderr').map((e) => e.data)).toString(), 'two\n');
    const first = kinds.indexOf('stdout');
    assert.equal(events[first].data.toString(), 'one\n');
    assert.ok(times[first] < times.at(-1) - 500, `"one" arrived at ${times[first]} ms, the end at ${times.at(-1)} ms`);
    assert.ok(first < kinds.indexOf('stderr'));
  });

  it('ends quietly when the loop breaks or the signal aborts, and the runner still works', async () => {
    const seen = [];
    for await (const ev of h.client.spawn(runner.id, ['sh', '-c', 'echo ready; sleep 30'])) {
      seen.push(ev.kind);
      if (ev.kind === 'stdout') break;
    }
    assert.deepEqual(seen, ['started', 'stdout']);
    const ac = new AbortController();
    const kinds = [];
    for await (const ev of h.client.spawn(runner.id, ['sh', '-c', 'echo ready; sleep 30'], { signal: ac.signal })) {
      kinds.push(ev.kind);
      if (ev.kind === 'stdout') ac.abort();
    }
    assert.deepEqual(kinds, ['started', 'stdout']);
    assert.equal((await h.client.run(runner.id, ['true'])).exitCode, 0);
  });

  it('kills a command past its timeoutMs: DEADLINE_EXCEEDED SPAWN_TIMEOUT', async () => {
    const t0 = Date.now();
    await rejectsWith(h.client.run(runner.id, ['sleep', '30'], { timeoutMs: 300 }), 'DEADLINE_EXCEEDED', 'SPAWN_TIMEOUT');
    assert.ok(Date.now() - t0 < 10000);
  });

  it('refuses an empty argv: INVALID_ARGUMENT INVALID_REQUEST naming argv', async () => {
    await assert.rejects(h.client.run(runner.id, []), (err) => {
      assert.deepEqual([err.code, err.reason], ['INVALID_ARGUMENT', 'INVALID_REQUEST']);
      assert.match(err.details, /argv/);
      return true;
    });
  });
});

describe('errors', () => {
  it('unknown runner: NOT_FOUND RUNNER_NOT_FOUND from spawn and shutdown', async () => {
    await rejectsWith(h.client.run('0123456789abcdef', ['true']), 'NOT_FOUND', 'RUNNER_NOT_FOUND');
    await rejectsWith(h.client.shutdown('0123456789abcdef'), 'NOT_FOUND', 'RUNNER_NOT_FOUND');
  });

  it('bad boot fields: INVALID_ARGUMENT INVALID_REQUEST naming the field', async () => {
    const pool = h.poolName();
    const cases = [
      [{ pool: 'not a pool!' }, /pool/],
      [{ hostConfig: { memory: 1 } }, /host_config/],
      [{ image: '' }, /image/],
    ];
    for (const [opts, field] of cases) {
      await assert.rejects(boot(pool, opts), (err) => {
        assert.deepEqual([err.code, err.reason], ['INVALID_ARGUMENT', 'INVALID_REQUEST'], err.message);
        assert.match(err.details, field);
        return true;
      });
    }
    assert.deepEqual(await h.client.list({ pool }), []);
  });

  it('placement reaches flamed, which refuses it off a swarm; an empty one is none', async () => {
    const pool = h.poolName();
    await assert.rejects(boot(pool, {
      placement: { constraints: ['node.role==worker'], preferences: [{ spread: 'node.labels.zone' }] },
    }), (err) => {
      assert.deepEqual([err.code, err.reason], ['INVALID_ARGUMENT', 'INVALID_REQUEST'], err.message);
      assert.match(err.details, /--engine swarm/);
      return true;
    });
    const runner = await boot(pool, { placement: {} });
    await shutdownQuietly(runner.id);
    assert.equal(runner.state, 'RUNNING');
    await assert.rejects(h.client.boot({ image: IMAGE, placement: { constraint: [] } }), TypeError);
    await assert.rejects(h.client.boot({ image: IMAGE, placement: { preferences: ['x'] } }), TypeError);
  });

  it('missing network: FAILED_PRECONDITION NETWORK_NOT_FOUND', async () => {
    await rejectsWith(boot(h.poolName(), { network: `${h.tag}-missing` }), 'FAILED_PRECONDITION', 'NETWORK_NOT_FOUND');
  });

  it('missing image with pullPolicy never: NOT_FOUND IMAGE_NOT_FOUND', async () => {
    await rejectsWith(boot(h.poolName(), { image: 'flamed-test/no-such-image:latest', pullPolicy: 'never' }),
      'NOT_FOUND', 'IMAGE_NOT_FOUND');
  });

  it('nothing listening: UNAVAILABLE without a reason', async () => {
    const c = new Client(`unix:${h.sock}.nothing-here`, { timeoutMs: 2000 });
    try {
      await rejectsWith(c.list(), 'UNAVAILABLE', undefined);
    } finally {
      c.close();
    }
  });

  it('non-JSON hostConfig and unknown pullPolicy are TypeErrors before any call', async () => {
    await assert.rejects(h.client.boot({ image: IMAGE, hostConfig: { Memory: () => 1 } }), TypeError);
    await assert.rejects(h.client.boot({ image: IMAGE, hostConfig: [1] }), TypeError);
    await assert.rejects(h.client.boot({ image: IMAGE, pullPolicy: 'sometimes' }), TypeError);
  });
});

describe('watch', () => {
  it('streams lifecycle events in order with increasing sequences', async () => {
    const pool = h.poolName();
    const existing = await boot(pool);
    const stream = h.client.watch({ pool, includeExisting: true });
    const q = collect(stream);
    try {
      const first = await q.next();
      assert.deepEqual([first.type, first.runner.id], ['EXISTING', existing.id]);
      const runner = await boot(pool);
      await h.client.shutdown(runner.id, { timeoutMs: 100 });
      const events = [first];
      while (events.at(-1).type !== 'REMOVED') events.push(await q.next());
      assert.deepEqual(events.slice(1).map((e) => e.type), ['BOOTING', 'STARTED', 'STOPPING', 'EXITED', 'REMOVED']);
      assert.ok(events.slice(1).every((e) => e.runner.id === runner.id));
      assert.equal(events[2].runner.state, 'RUNNING');
      for (let i = 1; i < events.length; i++) assert.ok(events[i].sequence > events[i - 1].sequence);
      assert.ok(events.every((e) => typeof e.timeUnixNano === 'bigint' && e.timeUnixNano > 0n));
      stream.cancel();
      assert.equal(await q.next(5000), null, 'a cancelled watch ends quietly');
    } finally {
      stream.cancel();
      await shutdownQuietly(existing.id);
    }
  });

  it('reports a runner that exits on its own, with its exit code', async () => {
    const runner = await boot(h.poolName(), { cmd: ['sh', '-c', 'until [ -e /tmp/go ]; do sleep 0.1; done; exit 7'] });
    const stream = h.client.watch({ runnerId: runner.id, includeExisting: true });
    const q = collect(stream);
    try {
      assert.equal((await q.next()).type, 'EXISTING');
      await h.client.run(runner.id, ['touch', '/tmp/go']);
      const seen = [];
      while (!seen.length || seen.at(-1).type !== 'REMOVED') seen.push(await q.next());
      const exited = seen.filter((e) => e.type === 'EXITED');
      assert.equal(exited.length, 1);
      assert.equal(exited[0].runner.exitCode, 7);
    } finally {
      stream.cancel();
    }
  });
});

describe('leases and idempotency', () => {
  it('a repeated requestId returns the same runner; renew renews its lease', async () => {
    const pool = h.poolName();
    const parentId = `${h.tag}-parent`;
    const opts = { requestId: `${pool}-boot-1`, parentId, leaseTtlMs: 60000 };
    const runner = await boot(pool, opts);
    try {
      assert.deepEqual([runner.requestId, runner.parentId, runner.leaseTtlMs], [opts.requestId, parentId, 60000]);
      assert.equal((await boot(pool, opts)).id, runner.id);
      assert.equal((await h.client.list({ pool })).length, 1);
      assert.deepEqual(await h.client.renew(parentId), { renewed: 1, leaseTtlMs: 60000 });
    } finally {
      await shutdownQuietly(runner.id);
    }
  });
});
