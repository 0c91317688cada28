'use strict';
// Test harness: a real flamed (child process, own unix socket) and the real dockerd.
//
// Each test file starts one Harness in before() and stops it in after(). Its tag,
// "$FLAMED_TEST_TAG_PREFIX-<pid>-<hex>" (prefix default fltest-node), names the Docker
// network it creates and is the value of the label fltest.run that every runner a test
// boots must carry (h.labels), so stop() force-removes whatever a test left behind, even
// after a failed assertion, then removes the network and stops flamed with SIGTERM.
// Pools are per test (h.poolName()): other flamed processes may share this dockerd.
//
// Environment: FLAMED_BIN (default <repo>/build/flamed), FLAMED_TEST_IMAGE (default
// flamed-test/app:latest), FLAMED_TEST_KEEP_LOG=1 prints flamed's log at the end.

const { spawn, execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Client, FlamedError } = require('..');

const REPO = path.resolve(__dirname, '..', '..', '..');
const FLAMED_BIN = process.env.FLAMED_BIN || path.join(REPO, 'build', 'flamed');
const IMAGE = process.env.FLAMED_TEST_IMAGE || 'flamed-test/app:latest';
const RUN_LABEL = 'fltest.run';
// flamed adopts its containers and pings Docker before it listens, and takes SIGTERM
// only once serving: under a loaded dockerd both take a while (the C harness allows 45 s).
const START_ALLOWANCE_MS = 45000;
const STOP_ALLOWANCE_MS = 30000;

function docker(...args) {
  return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function dockerQuiet(...args) {
  try {
    return docker(...args);
  } catch {
    return '';
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

class Harness {
  constructor() {
    const prefix = process.env.FLAMED_TEST_TAG_PREFIX || 'fltest-node';
    this.tag = `${prefix}-${process.pid}-${crypto.randomBytes(3).toString('hex')}`;
    this.network = this.tag;
    this.labels = { [RUN_LABEL]: this.tag };
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flbind-'));
    this.sock = path.join(this.dir, 'flamed.sock');
    this.addr = `unix:${this.sock}`;
    this.logPath = path.join(this.dir, 'flamed.log');
    this.proc = null;
    this.client = null;
    this.pools = 0;
  }

  /** A pool name unique to this harness (pools filter List and Watch). */
  poolName() {
    this.pools += 1;
    return `${this.tag}-${this.pools}`;
  }

  async start() {
    fs.accessSync(FLAMED_BIN, fs.constants.X_OK);
    if (dockerQuiet('image', 'inspect', '--format', 'ok', IMAGE) !== 'ok') {
      throw new Error(`test image ${IMAGE} missing: run scripts/test-images`);
    }
    docker('network', 'create', '--label', `${RUN_LABEL}=${this.tag}`, this.network);
    const log = fs.openSync(this.logPath, 'w');
    this.proc = spawn(FLAMED_BIN, ['--listen', this.addr, '--stop-timeout-ms', '1000'],
      { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    this.exited = new Promise((resolve) => this.proc.once('exit', (code, signal) => resolve({ code, signal })));
    this.client = new Client(this.addr, { timeoutMs: 10000 });
    const deadline = Date.now() + START_ALLOWANCE_MS;
    for (;;) {
      if (this.proc.exitCode !== null) throw new Error(`flamed exited ${this.proc.exitCode}:\n${this.log()}`);
      try {
        await this.client.list({ deadlineMs: 1000 });
        return;
      } catch (err) {
        if (!(err instanceof FlamedError) || Date.now() > deadline) {
          throw new Error(`flamed did not answer List in ${START_ALLOWANCE_MS} ms (${err.message}):\n${this.log()}`);
        }
        await sleep(50);
      }
    }
  }

  log() {
    try {
      return fs.readFileSync(this.logPath, 'utf8');
    } catch {
      return '';
    }
  }

  /** Containers (any state) carrying this harness's label. */
  leftovers() {
    return dockerQuiet('ps', '-aq', '--filter', `label=${RUN_LABEL}=${this.tag}`).split(/\s+/).filter(Boolean);
  }

  /** Stop flamed (SIGTERM), force-remove labelled containers, remove the network.
   *  Throws when flamed did not exit 0 in time; cleans up regardless. */
  async stop() {
    const problems = [];
    if (this.client) this.client.close();
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.kill('SIGTERM');
      const res = await Promise.race([this.exited, sleep(STOP_ALLOWANCE_MS).then(() => null)]);
      if (!res) {
        this.proc.kill('SIGKILL');
        await this.exited;
        problems.push(`flamed did not exit within ${STOP_ALLOWANCE_MS} ms of SIGTERM`);
      } else if (res.code !== 0) {
        problems.push(`flamed exited ${res.code ?? res.signal} after SIGTERM`);
      }
    }
    const ids = this.leftovers();
    if (ids.length) dockerQuiet('rm', '-f', ...ids);
    dockerQuiet('network', 'rm', this.network);
    if (problems.length || process.env.FLAMED_TEST_KEEP_LOG) {
      process.stderr.write(`--- flamed log (${this.logPath})\n${this.log()}\n`);
    }
    if (problems.length) throw new Error(problems.join('; '));
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Collect a stream's items on the side; next(timeoutMs) resolves to the next one
 *  (null at the end) and rejects with the stream's error. */
function collect(stream) {
  const items = [];
  const waiters = [];
  let ended = false;
  let failure = null;
  const wake = () => { while (waiters.length) waiters.shift()(); };
  (async () => {
    try {
      for await (const item of stream) {
        items.push(item);
        wake();
      }
    } catch (err) {
      failure = err;
    }
    ended = true;
    wake();
  })();
  return {
    async next(timeoutMs = 60000) {
      const deadline = Date.now() + timeoutMs;
      while (!items.length && !ended) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no stream item within ${timeoutMs} ms`);
        await Promise.race([new Promise((resolve) => waiters.push(resolve)), sleep(left)]);
      }
      if (items.length) return items.shift();
      if (failure) throw failure;
      return null;
    },
  };
}

module.exports = { Harness, IMAGE, docker, dockerQuiet, sleep, collect };
