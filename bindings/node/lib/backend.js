'use strict';
// createDockerBackend: a flame-js Backend ({ spawn({ poolName }) -> { id, url },
// terminate(runner), healthCheck(runner) }) that boots runners through flamed.
// The url is http://<container name>:<port>: the name is the runner's DNS alias
// on the user-defined network, so a parent on that network reaches it.

const crypto = require('node:crypto');
const os = require('node:os');

const POOL_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** A flame-js pool name as a flamed pool name ([A-Za-z0-9][A-Za-z0-9_.-]*, <= 63 bytes). */
function flamedPoolName(poolName) {
  let name = String(poolName || '').replace(/[^A-Za-z0-9_.-]/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  name = name.slice(0, 63);
  return POOL_RE.test(name) ? name : 'default';
}

function createDockerBackend(opts) {
  if (!opts || !opts.client || !opts.image) {
    throw new TypeError('createDockerBackend: client and image are required');
  }
  const {
    client, image, network = '', pool, port = 8080, scheme = 'http', env = {},
    labels = {}, leaseTtlMs = 0, shutdownTimeoutMs = 0, bootOptions = {},
  } = opts;
  const parentId = opts.parentId ||
    (leaseTtlMs ? `flamed-node-${os.hostname()}-${process.pid}-${crypto.randomBytes(4).toString('hex')}` : '');
  let renewTimer = null;

  function holdLease() {
    if (!leaseTtlMs || renewTimer) return;
    // unref: the timer does not keep the process alive; when the process
    // ends, the lease lapses and flamed shuts its runners down.
    renewTimer = setInterval(() => {
      client.renew(parentId, { deadlineMs: leaseTtlMs }).catch(() => {});
    }, Math.max(50, Math.floor(leaseTtlMs / 3)));
    renewTimer.unref();
  }

  return {
    parentId,

    async spawn({ poolName } = {}) {
      holdLease();
      const runner = await client.boot({
        ...bootOptions,
        image,
        network,
        pool: pool || flamedPoolName(poolName),
        env: { FLAME_MODE: 'runner', ...env },
        labels,
        parentId,
        leaseTtlMs,
      });
      return { id: runner.id, url: `${scheme}://${runner.name}:${port}` };
    },

    async terminate(runner) {
      try {
        await client.shutdown(runner.id, { timeoutMs: shutdownTimeoutMs });
      } catch (err) {
        if (err && err.reason === 'RUNNER_NOT_FOUND') return; // already gone
        throw err;
      }
    },

    async healthCheck(runner) {
      const runners = await client.list();
      const r = runners.find((x) => x.id === runner.id);
      return !!r && r.state === 'RUNNING';
    },

    close() {
      if (renewTimer) clearInterval(renewTimer);
      renewTimer = null;
    },
  };
}

module.exports = { createDockerBackend, flamedPoolName };
