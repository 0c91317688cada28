// Type declarations for @flamed/client: a client of flamed's flame.v1.RunnerService
// (proto/flame/v1/runner_service.proto, loaded at runtime) and a flame-js backend.
// Units are in the names: ...Ms is milliseconds. 64-bit integers are bigint.

import type { ChannelCredentials, ChannelOptions } from '@grpc/grpc-js';

/** Where a runner is in its life (flame.v1.RunnerState without its prefix). */
export type RunnerState =
  | 'UNSPECIFIED' | 'BOOTING' | 'RUNNING' | 'STOPPING' | 'EXITED' | 'REMOVED' | 'FAILED';

/** What happened to a runner (flame.v1.RunnerEventType without its prefix). */
export type RunnerEventType =
  | 'UNSPECIFIED' | 'EXISTING' | 'BOOTING' | 'STARTED' | 'EXITED' | 'REMOVED' | 'FAILED'
  | 'STOPPING' | 'PULLING';

/** When Boot pulls the image; unset: IF_NOT_PRESENT. Case-insensitive. */
export type PullPolicy = 'IF_NOT_PRESENT' | 'ALWAYS' | 'NEVER' | 'if_not_present' | 'always' | 'never';

/** A JSON value, as google.protobuf.Value carries it (numbers become doubles). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** One FLAME runner: one Docker container flamed booted (flame.v1.Runner). */
export interface Runner {
  /** flamed's id (16 lowercase hex digits). */
  id: string;
  /** Docker container id; empty until created. */
  containerId: string;
  /** Container name, also its hostname and DNS alias on `network`. */
  name: string;
  pool: string;
  image: string;
  network: string;
  /** IPv4 address on `network`; empty before running. */
  ipAddress: string;
  state: RunnerState;
  /** Docker labels: the caller's plus flamed's own (`flamed.*`). */
  labels: Record<string, string>;
  /** Main process exit code; meaningful when EXITED/REMOVED. */
  exitCode: number;
  oomKilled: boolean;
  keepRunner: boolean;
  /** When Boot was accepted, Unix time in ns. */
  createdUnixNano: bigint;
  /** Why Boot failed or flamed retired the runner, or Docker's State.Error. */
  error: string;
  requestId: string;
  parentId: string;
  leaseTtlMs: number;
  /** Made ahead from a warm pool (`flamed --pools`) and taken by its Boot. */
  warm: boolean;
}

/** One runner lifecycle event (flame.v1.WatchResponse). */
export interface RunnerEvent {
  type: RunnerEventType;
  /** The runner as it is after the event. */
  runner: Runner;
  /** Strictly increasing per flamed process. */
  sequence: bigint;
  timeUnixNano: bigint;
  /** Set on PULLING events only: how far the Boot's image pull has come. */
  pull?: PullProgress;
}

/** How far a Boot's image pull has come (flame.v1.PullProgress). */
export interface PullProgress {
  image: string;
  /** Bytes downloaded so far. */
  bytesDone: bigint;
  /** The layers' sizes as far as Docker has told them; 0 while none is known. */
  bytesTotal: bigint;
  /** Layers Docker has named, and of those the ones complete. */
  layers: number;
  layersDone: number;
}

/** One event of a spawned command, in order: started, output chunks, exited (last). */
export type SpawnEvent =
  | { kind: 'started'; execId: string }
  | { kind: 'stdout'; data: Buffer }
  | { kind: 'stderr'; data: Buffer }
  | { kind: 'exited'; exitCode: number };

/** A finished command's whole output and exit code (126: not executable, 127: not found
 *  by a shell, 128+N: killed by signal N). A non-zero exit code is not an error. */
export interface Result {
  stdout: Buffer;
  stderr: Buffer;
  exitCode: number;
}

export interface ClientOptions {
  /** Sent as `authorization: Bearer <token>` on every call. */
  token?: string;
  /** Deadline for List/Renew, and the margin added to Boot's and Shutdown's server-side
   *  timeouts, in ms. Default 30000; null: no deadlines. */
  timeoutMs?: number | null;
  /** Default: insecure (plaintext; use a unix socket). */
  credentials?: ChannelCredentials;
  channelOptions?: ChannelOptions;
}

export interface CallOptions {
  /** The call's deadline in ms from now. */
  deadlineMs?: number;
  /** Aborting cancels the call (a unary call then rejects with CANCELLED). */
  signal?: AbortSignal;
}

export interface BootOptions extends CallOptions {
  /** Image reference, e.g. 'app:latest'. Required. */
  image: string;
  /** User-defined Docker network (DNS between parent and runners); '' the default bridge. */
  network?: string;
  /** FLAME pool name ([A-Za-z0-9][A-Za-z0-9_.-]*, <= 63 bytes); '' is 'default'. */
  pool?: string;
  /** Container environment; FLAME_PARENT passes byte-for-byte, PHX_SERVER=false is added. */
  env?: Record<string, string>;
  /** Docker's Cmd / Entrypoint; empty: the image's. */
  cmd?: string[];
  entrypoint?: string[];
  /** A Docker HostConfig with Engine API names, e.g. { Memory: 512 * 2 ** 20 }. */
  hostConfig?: JsonObject;
  /** Docker Mount objects ({ Type: 'volume', Source: 'v', Target: '/data' }). */
  mounts?: JsonObject[];
  /** Extra Docker labels; keys under 'flamed.' are reserved. */
  labels?: Record<string, string>;
  /** How long flamed waits for the runner to run, in ms; 0: 30000. */
  bootTimeoutMs?: number;
  keepRunner?: boolean;
  pullPolicy?: PullPolicy;
  user?: string;
  workingDir?: string;
  /** Idempotency key: a retried Boot with the same requestId returns the same runner. */
  requestId?: string;
  /** The parent that owns the runner; needed for a lease. */
  parentId?: string;
  /** flamed shuts the runner down when the parent neither watches with its parentId nor
   *  renews for this long, in ms (>= 100); 0: no lease. */
  leaseTtlMs?: number;
  /** Hard cap on the runner's life, in ms; 0: none. */
  maxLifetimeMs?: number | bigint;
  /** Shut down after this long with no Spawn running, in ms; 0: never. */
  idleShutdownAfterMs?: number | bigint;
  /** Where the runner may run, `flamed --engine swarm` only (Docker Swarm's
   *  TaskTemplate.Placement; the policy's allow.placement). Another engine rejects a
   *  non-empty placement with INVALID_ARGUMENT. A bad shape is a TypeError. */
  placement?: Placement;
}

/** Docker Swarm placement with the Engine API's names. */
export interface Placement {
  /** 'ATTRIBUTE==VALUE' or 'ATTRIBUTE!=VALUE', e.g. 'node.role==worker'; at most 32. */
  constraints?: string[];
  /** Spread over a node attribute's values, e.g. { spread: 'node.labels.zone' }; at most 8. */
  preferences?: { spread: string }[];
}

export interface SpawnOptions extends CallOptions {
  /** Extra environment for the command. */
  env?: Record<string, string>;
  workingDir?: string;
  user?: string;
  /** flamed kills the command after this many ms (0: no limit); the stream then rejects
   *  with DEADLINE_EXCEEDED (SPAWN_TIMEOUT). */
  timeoutMs?: number;
  /** The command's stdin (the SpawnStream RPC): a Buffer or string, or a Readable / async
   *  iterable of them, sent in chunks of at most 64 KiB with the stream's backpressure,
   *  then closed (the command reads EOF). Unset: no stdin (Spawn; EOF at once). */
  stdin?: Buffer | Uint8Array | string | AsyncIterable<Buffer | Uint8Array | string> |
    Iterable<Buffer | Uint8Array | string>;
}

export interface ShutdownOptions extends CallOptions {
  /** Grace between SIGTERM and SIGKILL, in ms; 0: flamed's --stop-timeout-ms. */
  timeoutMs?: number;
}

export interface WatchOptions {
  /** Only this pool's / this runner's events. */
  pool?: string;
  runnerId?: string;
  /** First one EXISTING event per current matching runner. */
  includeExisting?: boolean;
  /** Resume: replay events after this sequence first (OUT_OF_RANGE if too old). */
  afterSequence?: number | bigint;
  /** While the stream is open, this parent's leases hold. */
  parentId?: string;
  /** Aborting ends the stream quietly. */
  signal?: AbortSignal;
}

/** A server-streaming call: iterate it once with for await. */
export declare class CallStream<T> implements AsyncIterable<T> {
  /** End the call (kills a Spawn's command); iteration then stops quietly. Idempotent. */
  cancel(): void;
  [Symbol.asyncIterator](): AsyncIterator<T>;
}

/**
 * A failed call. `code` is the gRPC status name ('NOT_FOUND', 'INVALID_ARGUMENT', ...),
 * `details` its message (flamed's say what to do), `reason` flamed's `flame-reason`
 * ('RUNNER_NOT_FOUND', 'INVALID_REQUEST', 'NETWORK_NOT_FOUND', ...), undefined when the
 * status did not come from flamed.
 */
export declare class FlamedError extends Error {
  constructor(code: string, details: string, reason?: string, grpcCode?: number);
  readonly code: string;
  readonly details: string;
  readonly reason: string | undefined;
  /** The numeric gRPC status code. */
  readonly grpcCode: number;
}

/** A client of flamed. Thread- (and concurrency-) safe: share one per process. */
export declare class Client {
  /** @param addr 'unix:/path/to.sock' or 'host:port'. */
  constructor(addr: string, opts?: ClientOptions);
  readonly addr: string;
  readonly timeoutMs: number | null;
  /** Boot a runner and wait until it is running (and healthy). Rejects with FlamedError:
   *  INVALID_ARGUMENT (INVALID_REQUEST, DOCKER_REFUSED, START_FAILED), NOT_FOUND
   *  (IMAGE_NOT_FOUND), FAILED_PRECONDITION (NETWORK_NOT_FOUND), ABORTED (RUNNER_EXITED),
   *  DEADLINE_EXCEEDED (BOOT_TIMEOUT), UNAVAILABLE. Follows FLAME.Backend.remote_boot/1. */
  boot(opts: BootOptions): Promise<Runner>;
  /** Run argv (no shell) in a runner and stream its events as they happen. Errors
   *  (NOT_FOUND RUNNER_NOT_FOUND, FAILED_PRECONDITION RUNNER_NOT_RUNNING, ...) reject
   *  the iteration. */
  spawn(runnerId: string, argv: string[], opts?: SpawnOptions): CallStream<SpawnEvent>;
  /** A runner's container output (Logs RPC), stdout and stderr apart. */
  logs(runnerId: string, opts?: { follow?: boolean; tail?: number; since?: Date | number;
    timestamps?: boolean; deadlineMs?: number; signal?: AbortSignal }):
    CallStream<{ kind: 'stdout' | 'stderr'; data: Buffer }>;
  /** spawn() to the end, collected. */
  run(runnerId: string, argv: string[], opts?: SpawnOptions): Promise<Result>;
  /** Stop (SIGTERM, SIGKILL after the grace) and remove a runner; idempotent. Resolves
   *  to its final state, usually REMOVED. */
  shutdown(runnerId: string, opts?: ShutdownOptions): Promise<Runner>;
  /** Stream runner lifecycle events until cancelled (no deadline). */
  watch(opts?: WatchOptions): CallStream<RunnerEvent>;
  /** The runners flamed tracks now, oldest first. */
  list(opts?: { pool?: string } & CallOptions): Promise<Runner[]>;
  /** Renew the leases of a parent's runners. */
  renew(parentId: string, opts?: CallOptions): Promise<{ renewed: number; leaseTtlMs: number }>;
  /** Close the channel. */
  close(): void;
}

/** flame-js's RunnerHandle. */
export interface RunnerHandle {
  id: string;
  url: string;
}

export interface DockerBackendOptions {
  client: Client;
  /** The app's image: runners are the same image, started in runner mode. */
  image: string;
  /** The Docker network parent and runners share (the url's name resolves there). */
  network?: string;
  /** flamed pool for every runner; default: flame-js's poolName made a valid pool name. */
  pool?: string;
  /** The runner's HTTP port in the url. Default 8080. */
  port?: number;
  /** Default 'http'. */
  scheme?: string;
  /** Runner environment; FLAME_MODE=runner unless set here. */
  env?: Record<string, string>;
  labels?: Record<string, string>;
  /** Boot runners with a lease renewed every third of it while this process lives: when
   *  the parent dies, flamed shuts its runners down. 0 (default): no lease. */
  leaseTtlMs?: number;
  /** The lease's owner; default 'flamed-node-<host>-<pid>-<random>'. */
  parentId?: string;
  /** Shutdown grace in ms; 0: flamed's default. */
  shutdownTimeoutMs?: number;
  /** More boot() options (hostConfig, cmd, mounts, bootTimeoutMs, ...). */
  bootOptions?: Partial<BootOptions>;
}

/** A flame-js Backend backed by flamed. */
export interface DockerBackend {
  readonly parentId: string;
  /** Boot a runner; resolves to { id, url: 'http://<name>:<port>' }. Rejects with FlamedError. */
  spawn(options: { poolName: string }): Promise<RunnerHandle>;
  /** Shut the runner down; resolves also when it is already gone. */
  terminate(runner: RunnerHandle): Promise<void>;
  /** True while flamed reports the runner RUNNING. */
  healthCheck(runner: RunnerHandle): Promise<boolean>;
  /** Stop renewing the lease (runners then lapse after leaseTtlMs). */
  close(): void;
}

export declare function createDockerBackend(opts: DockerBackendOptions): DockerBackend;

/** A flame-js pool name as a flamed pool name ('default' if nothing valid is left). */
export declare function flamedPoolName(poolName: string): string;

/** The directory the .proto files are loaded from. */
export declare function protoRoot(): string;
