// Compiled (not run) by `npm run typecheck` and ./test: index.d.ts describes the API the way
// a TypeScript parent uses it. A wrong declaration fails this file.
import { Client, createDockerBackend, FlamedError, type Runner, type SpawnEvent } from '..';

async function example(): Promise<number> {
  const client = new Client('unix:/run/flamed/flamed.sock', { token: 't', timeoutMs: 5000 });
  const runner: Runner = await client.boot({
    image: 'app:latest', network: 'appnet', pool: 'p', env: { K: 'v' },
    hostConfig: { Memory: 512 * 2 ** 20, Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 2048 }] },
    mounts: [{ Type: 'volume', Source: 'v', Target: '/data' }], pullPolicy: 'never',
    maxLifetimeMs: 60_000n,
    placement: { constraints: ['node.role==worker'], preferences: [{ spread: 'node.labels.zone' }] },
  });
  for await (const ev of client.spawn(runner.id, ['echo', 'hi'], { timeoutMs: 1000 })) {
    const e: SpawnEvent = ev;
    if (e.kind === 'stdout') process.stdout.write(e.data);
    if (e.kind === 'exited') return e.exitCode;
  }
  const { stdout, exitCode } = await client.run(runner.id, ['true']);
  stdout.toString('utf8');
  const ac = new AbortController();
  for await (const ev of client.watch({ pool: 'p', includeExisting: true, signal: ac.signal })) {
    const seq: bigint = ev.sequence;
    if (ev.type === 'REMOVED' && seq > 0n) ac.abort();
  }
  try {
    await client.shutdown(runner.id, { timeoutMs: 100 });
  } catch (err) {
    if (err instanceof FlamedError && err.reason === 'RUNNER_NOT_FOUND') return err.grpcCode;
  }
  const backend = createDockerBackend({ client, image: 'app:latest', network: 'appnet', port: 4000 });
  const handle = await backend.spawn({ poolName: 'default' });
  const url: string = handle.url;
  await backend.terminate(handle);
  const renewed: number = (await client.renew('parent')).renewed;
  client.close();
  return exitCode + url.length + renewed + (await client.list({ pool: 'p' })).length;
}
void example;
