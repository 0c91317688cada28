"""flamed.Client: a typed, thread-safe client of flame.v1.RunnerService.

It wraps the generated stubs (flamed._gen) and speaks only Python values: dataclasses
from flamed.types in, out, and FlamedError for every failed call.
"""

from __future__ import annotations

import threading
from typing import Callable, Generic, Mapping, Optional, Sequence, TypeVar, Union

import grpc
from google.protobuf import struct_pb2

from . import _generate

_generate.ensure()

from ._gen.flame.v1 import runner_service_pb2 as pb  # noqa: E402
from ._gen.flame.v1 import runner_service_pb2_grpc as pb_grpc  # noqa: E402
from .types import (  # noqa: E402
    Event, EventType, FlamedError, PullPolicy, PullProgress, Renewal, Result, Runner, RunnerState, SpawnEvent)

T = TypeVar("T")

REASON_KEY = "flame-reason"
# flamed's defaults for boot_timeout_ms and Shutdown's grace: the client's timeout is
# added to them to make those calls' deadlines.
_DEFAULT_BOOT_TIMEOUT_MS = 30000
_DEFAULT_STOP_TIMEOUT_MS = 10000


def _error(e: grpc.RpcError) -> FlamedError:
    """Convert a grpc.RpcError (unary or stream) into a FlamedError."""
    code = e.code() if hasattr(e, "code") else None
    details = e.details() if hasattr(e, "details") else None
    reason = None
    try:
        for key, value in e.trailing_metadata() or ():
            if key == REASON_KEY:
                reason = value
    except Exception:  # no trailing metadata on this error kind
        pass
    return FlamedError(code.name if code is not None else "UNKNOWN", details or str(e), reason)


def runner_from_pb(r: "pb.Runner") -> Runner:
    """Convert a flame.v1.Runner message into a Runner."""
    return Runner(
        id=r.id, container_id=r.container_id, name=r.name, pool=r.pool, image=r.image,
        network=r.network, ip_address=r.ip_address, state=RunnerState(r.state),
        labels=dict(r.labels), exit_code=r.exit_code, oom_killed=r.oom_killed,
        keep_runner=r.keep_runner, created_unix_nano=r.created_unix_nano, error=r.error,
        request_id=r.request_id, parent_id=r.parent_id, lease_ttl_ms=r.lease_ttl_ms,
        warm=r.warm)


def event_from_pb(m: "pb.WatchResponse") -> Event:
    """Convert a flame.v1.WatchResponse into an Event."""
    pull = None
    if m.HasField("pull"):
        p = m.pull
        pull = PullProgress(image=p.image, bytes_done=p.bytes_done, bytes_total=p.bytes_total,
                            layers=p.layers, layers_done=p.layers_done)
    return Event(type=EventType(m.type), runner=runner_from_pb(m.runner),
                 sequence=m.sequence, time_unix_nano=m.time_unix_nano, pull=pull)


def logs_event_from_pb(m: "pb.LogsResponse") -> SpawnEvent:
    """Convert a flame.v1.LogsResponse into a SpawnEvent of kind "stdout" or "stderr"."""
    kind = m.WhichOneof("event")
    if kind == "stdout":
        return SpawnEvent("stdout", data=m.stdout)
    if kind == "stderr":
        return SpawnEvent("stderr", data=m.stderr)
    raise FlamedError("INTERNAL", "LogsResponse without an event (newer flamed?)")


def spawn_event_from_pb(m: "pb.SpawnResponse") -> SpawnEvent:
    """Convert a flame.v1.SpawnResponse into a SpawnEvent."""
    kind = m.WhichOneof("event")
    if kind == "started":
        return SpawnEvent("started", exec_id=m.started.exec_id)
    if kind == "stdout":
        return SpawnEvent("stdout", data=m.stdout)
    if kind == "stderr":
        return SpawnEvent("stderr", data=m.stderr)
    if kind == "exited":
        return SpawnEvent("exited", exit_code=m.exited.exit_code)
    raise FlamedError("INTERNAL", "SpawnResponse without an event (newer flamed?)")


# The most stdin bytes one SpawnStreamRequest carries (flamed refuses more).
STDIN_CHUNK_MAX = 64 * 1024


def _stdin_chunks(stdin):
    """Chunks of at most STDIN_CHUNK_MAX bytes from bytes, a file-like or an iterable."""
    if isinstance(stdin, (bytes, bytearray, memoryview)):
        data = bytes(stdin)
        for i in range(0, len(data), STDIN_CHUNK_MAX):
            yield data[i:i + STDIN_CHUNK_MAX]
        return
    if hasattr(stdin, "read"):
        while True:
            chunk = stdin.read(STDIN_CHUNK_MAX)
            if not chunk:
                return
            if isinstance(chunk, str):
                raise TypeError("stdin must be a binary file (open it with 'rb')")
            yield chunk
    for piece in stdin:
        if not isinstance(piece, (bytes, bytearray, memoryview)):
            raise TypeError(f"stdin must yield bytes, not {type(piece).__name__}")
        piece = bytes(piece)
        for i in range(0, len(piece), STDIN_CHUNK_MAX):
            yield piece[i:i + STDIN_CHUNK_MAX]


def _spawn_stream_requests(req: "pb.SpawnRequest", stdin):
    """SpawnStream's client stream: start, the stdin chunks, close_stdin."""
    yield pb.SpawnStreamRequest(start=req)
    for chunk in _stdin_chunks(stdin):
        if chunk:
            yield pb.SpawnStreamRequest(stdin=chunk)
    yield pb.SpawnStreamRequest(close_stdin=True)


def to_struct(value: Mapping, what: str) -> struct_pb2.Struct:
    """Convert a JSON-like dict into a google.protobuf.Struct (numbers become doubles)."""
    if not isinstance(value, Mapping):
        raise TypeError(f"{what} must be a dict (JSON object), not {type(value).__name__}")
    s = struct_pb2.Struct()
    try:
        s.update(value)
    except (ValueError, TypeError) as e:
        raise TypeError(f"{what}: only JSON values (dict, list, str, int, float, bool, "
                        f"None) fit in a Struct: {e}") from None
    return s


def _pull_policy(value: Union[None, str, int, PullPolicy]) -> int:
    if value is None:
        return PullPolicy.UNSPECIFIED
    if isinstance(value, str):
        try:
            return PullPolicy[value.upper().replace("-", "_")]
        except KeyError:
            raise ValueError(f"pull_policy {value!r}: use 'if_not_present', 'always' or "
                             "'never'") from None
    return PullPolicy(int(value))


def _placement(value: Mapping) -> "pb.Placement":
    """{"constraints": [str], "preferences": [{"spread": str}]} -> flame.v1.Placement."""
    if not isinstance(value, Mapping):
        raise TypeError(f"placement must be a dict, not {type(value).__name__}")
    unknown = set(value) - {"constraints", "preferences"}
    if unknown:
        raise ValueError(f"placement: unknown key(s) {sorted(unknown)}: use 'constraints' "
                         "and 'preferences'")
    prefs = []
    for i, p in enumerate(value.get("preferences") or ()):
        if not isinstance(p, Mapping) or set(p) != {"spread"}:
            raise ValueError(f"placement.preferences[{i}] must be {{'spread': "
                             "'node.labels.KEY'}")
        prefs.append(pb.PlacementPreference(spread=p["spread"]))
    return pb.Placement(constraints=list(value.get("constraints") or ()), preferences=prefs)


class Stream(Generic[T]):
    """An iterator over a server-streaming call's messages, converted to T.

    Iterating raises FlamedError when the call fails. cancel() (also close(), and
    leaving a `with` block) ends the call from any thread; iteration then stops
    quietly. Not safe to iterate from two threads at once.
    """

    def __init__(self, call, convert: Callable[[object], T]):
        self._call = call
        self._convert = convert
        self._cancelled = threading.Event()

    def __iter__(self) -> "Stream[T]":
        return self

    def __next__(self) -> T:
        try:
            msg = next(self._call)
        except grpc.RpcError as e:
            if self._cancelled.is_set() and e.code() == grpc.StatusCode.CANCELLED:
                raise StopIteration from None
            raise _error(e) from None
        return self._convert(msg)

    def cancel(self) -> None:
        """End the call (flamed kills a Spawn's command, drops a Watch). Idempotent."""
        self._cancelled.set()
        self._call.cancel()

    close = cancel

    def __enter__(self) -> "Stream[T]":
        return self

    def __exit__(self, *exc) -> None:
        self.cancel()


class Client:
    """A client of flamed's flame.v1.RunnerService. Thread-safe; share one per process.

    Args:
        addr: flamed's address: "unix:/path/to.sock" or "host:port".
        token: bearer token sent as `authorization: Bearer <token>` on every call
            (flamed's --auth-tokens); None sends none.
        timeout: deadline in seconds for List and the margin added to Boot's and
            Shutdown's server-side timeouts; None: no deadline.
        options: extra grpc channel options, e.g. [("grpc.max_receive_message_length", n)].

    Use as a context manager, or call close(), to release the channel.
    """

    def __init__(self, addr: str, token: Optional[str] = None, timeout: Optional[float] = 30.0,
                 options: Sequence[tuple] = ()):
        self.addr = addr
        self.timeout = timeout
        self._metadata = (("authorization", f"Bearer {token}"),) if token else ()
        self._channel = grpc.insecure_channel(addr, options=list(options))
        self._stub = pb_grpc.RunnerServiceStub(self._channel)

    def close(self) -> None:
        """Close the channel; calls in flight are cancelled."""
        self._channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _deadline(self, server_ms: int, explicit: Optional[float]) -> Optional[float]:
        if explicit is not None:
            return explicit
        if self.timeout is None:
            return None
        return server_ms / 1000.0 + self.timeout

    def boot(self, image: str, *, network: str = "", pool: str = "",
             env: Optional[Mapping[str, str]] = None, cmd: Optional[Sequence[str]] = None,
             entrypoint: Optional[Sequence[str]] = None,
             host_config: Optional[Mapping] = None, mounts: Optional[Sequence[Mapping]] = None,
             labels: Optional[Mapping[str, str]] = None, boot_timeout_ms: int = 0,
             keep_runner: bool = False,
             pull_policy: Union[None, str, PullPolicy] = None, user: str = "",
             working_dir: str = "", request_id: str = "", parent_id: str = "",
             lease_ttl_ms: int = 0, max_lifetime_ms: int = 0, idle_shutdown_after_ms: int = 0,
             placement: Optional[Mapping] = None,
             timeout: Optional[float] = None) -> Runner:
        """Boot a runner and wait until its container is running (and healthy).

        Args:
            image: image reference, e.g. "app:latest".
            network: user-defined Docker network (DNS between parent and runners);
                "" for Docker's default bridge.
            pool: FLAME pool name ([A-Za-z0-9][A-Za-z0-9_.-]*, <= 63 bytes); "" is "default".
            env: container environment; FLAME_PARENT is passed byte-for-byte and
                PHX_SERVER=false is added unless set.
            cmd, entrypoint: Docker's Cmd and Entrypoint; None: the image's.
            host_config: a Docker HostConfig as a dict with Engine API names, e.g.
                {"Memory": 512 * 2**20, "NanoCpus": 1_500_000_000}.
            mounts: Docker Mount dicts ({"Type": "volume", "Source": "v", "Target": "/d"}).
            labels: extra Docker labels; keys under "flamed." are reserved.
            boot_timeout_ms: how long flamed waits for the runner to run, in ms;
                0: flamed's default (30000).
            keep_runner: keep the container after it exits (debugging).
            pull_policy: "if_not_present" (default), "always", "never" or a PullPolicy.
            user, working_dir: Docker's User and WorkingDir; "": the image's.
            request_id: idempotency key (<= 128 bytes of [A-Za-z0-9_.:@/-]): a retried
                Boot with the same request_id returns the same runner, also across a
                flamed restart.
            parent_id: the parent that owns the runner (e.g. "host-1/pid-42").
            lease_ttl_ms: with parent_id: flamed shuts the runner down when the parent
                neither keeps a watch(parent_id=...) open nor calls renew() for this
                long, in ms (>= 100); 0: no lease. FLAME's Terminator failsafe.
            max_lifetime_ms: hard cap on the runner's life in ms; 0: none.
            idle_shutdown_after_ms: flamed shuts the runner down after this long with
                no Spawn running, in ms; 0: never.
            placement: where the runner may run, for `flamed --engine swarm` only
                (Docker Swarm's TaskTemplate.Placement, needs the policy's
                allow.placement): {"constraints": ["node.role==worker"],
                "preferences": [{"spread": "node.labels.zone"}]}; None: anywhere.
                Another engine answers a non-empty placement INVALID_ARGUMENT.
            timeout: the call's deadline in seconds; default boot_timeout_ms plus the
                client's timeout.

        Returns: the Runner, RUNNING, with container_id and ip_address.
        Raises:
            FlamedError: INVALID_ARGUMENT (INVALID_REQUEST: a bad field or key, named in
                the message, e.g. a misspelled or repeated host_config key;
                LIMIT_EXCEEDED; DOCKER_REFUSED; START_FAILED), PERMISSION_DENIED
                (POLICY_DENIED: the policy does not allow a field or value, named with
                its switch; POOL_NOT_ALLOWED), NOT_FOUND (IMAGE_NOT_FOUND),
                FAILED_PRECONDITION (NETWORK_NOT_FOUND), ABORTED (RUNNER_EXITED during
                boot; NAME_CONFLICT), DEADLINE_EXCEEDED (BOOT_TIMEOUT), UNAVAILABLE
                (flamed or Docker unreachable: DOCKER_UNAVAILABLE; IMAGE_PULL_FAILED).
                docs/security.md lists what the policy allows.
            TypeError: host_config or mounts hold values that are not JSON.
            ValueError: placement has a key other than constraints and preferences,
                or a preference without "spread".
        Follows: FLAME.Backend.remote_boot/1; Docker ContainerCreate/ContainerStart
        (ServiceCreate's TaskTemplate.Placement on a swarm).
        """
        req = pb.BootRequest(
            image=image, network=network, pool=pool, env=dict(env or {}),
            cmd=list(cmd or ()), entrypoint=list(entrypoint or ()),
            labels=dict(labels or {}), boot_timeout_ms=boot_timeout_ms,
            keep_runner=keep_runner, pull_policy=_pull_policy(pull_policy), user=user,
            working_dir=working_dir, request_id=request_id, parent_id=parent_id,
            lease_ttl_ms=lease_ttl_ms, max_lifetime_ms=max_lifetime_ms,
            idle_shutdown_after_ms=idle_shutdown_after_ms)
        if host_config is not None:
            req.host_config.CopyFrom(to_struct(host_config, "host_config"))
        for i, m in enumerate(mounts or ()):
            req.mounts.append(to_struct(m, f"mounts[{i}]"))
        if placement is not None:
            req.placement.CopyFrom(_placement(placement))
        deadline = self._deadline(boot_timeout_ms or _DEFAULT_BOOT_TIMEOUT_MS, timeout)
        try:
            resp = self._stub.Boot(req, timeout=deadline, metadata=self._metadata)
        except grpc.RpcError as e:
            raise _error(e) from None
        return runner_from_pb(resp.runner)

    def spawn(self, runner_id: str, argv: Sequence[str], *,
              env: Optional[Mapping[str, str]] = None, working_dir: str = "",
              user: str = "", timeout_ms: int = 0,
              timeout: Optional[float] = None, stdin=None) -> Stream[SpawnEvent]:
        """Run a command in a runner and stream its events as they happen.

        Args:
            runner_id: the runner's id (Runner.id).
            argv: command and arguments, run without a shell.
            env: extra environment for the command.
            working_dir, user: "" for the container's.
            timeout_ms: flamed kills the command after this many ms (0: no limit); the
                stream then raises FlamedError DEADLINE_EXCEEDED (SPAWN_TIMEOUT).
            timeout: the call's deadline in seconds (None: none); cancelling the stream
                or passing the deadline also kills the command.
            stdin: the command's stdin (the SpawnStream RPC): bytes, a binary file-like
                object (read until b""), or an iterable of bytes; sent in chunks of at
                most 64 KiB, one in flight (gRPC flow control paces a large input),
                then closed: the command reads EOF. None: no stdin (Spawn; EOF at once).

        Returns: a Stream of SpawnEvent: "started", then "stdout"/"stderr" chunks in
            order, then "exited" with the exit code.
        Raises (while iterating): FlamedError NOT_FOUND (RUNNER_NOT_FOUND),
            FAILED_PRECONDITION (RUNNER_NOT_RUNNING), INVALID_ARGUMENT (INVALID_REQUEST,
            e.g. empty argv), DEADLINE_EXCEEDED (SPAWN_TIMEOUT), UNAVAILABLE.
        Follows: FLAME.Backend.remote_spawn_monitor/2, for parents that are not BEAM
            nodes; Docker ExecCreate/ExecStart.
        """
        req = pb.SpawnRequest(runner_id=runner_id, argv=list(argv), env=dict(env or {}),
                              working_dir=working_dir, user=user, timeout_ms=timeout_ms)
        if stdin is not None:
            call = self._stub.SpawnStream(_spawn_stream_requests(req, stdin), timeout=timeout,
                                          metadata=self._metadata)
            return Stream(call, spawn_event_from_pb)
        call = self._stub.Spawn(req, timeout=timeout, metadata=self._metadata)
        return Stream(call, spawn_event_from_pb)

    def logs(self, runner_id: str, follow: bool = False, tail: Optional[int] = None,
             since: Optional[float] = None, *, timestamps: bool = False,
             timeout: Optional[float] = None) -> Stream[SpawnEvent]:
        """Stream a runner's container output (the Logs RPC), stdout and stderr apart.

        Args:
            runner_id: the runner's id (Runner.id).
            follow: go on until the runner's container stops (the stream then ends).
            tail: only the last `tail` lines of past output, stdout and stderr
                counted together (Docker's tail; None or 0: all).
            since: only output at or after this time, in seconds since the Unix epoch
                (fractions allowed; None: all).
            timestamps: prefix each line with Docker's RFC 3339 time and a space.
            timeout: the call's deadline in seconds (None: none).

        Returns: a Stream of SpawnEvent of kind "stdout" or "stderr" (data set), in
            order per stream.
        Raises (while iterating): FlamedError NOT_FOUND (RUNNER_NOT_FOUND: unknown, or
            another pool's runner for a pool-scoped token), FAILED_PRECONDITION
            (RUNNER_NOT_RUNNING: its container is gone), UNAVAILABLE.
        Follows: Docker ContainerLogs.
        """
        req = pb.LogsRequest(runner_id=runner_id, follow=follow, tail_lines=int(tail or 0),
                             since_unix_nano=int(round((since or 0) * 1e9)),
                             timestamps=timestamps)
        call = self._stub.Logs(req, timeout=timeout, metadata=self._metadata)
        return Stream(call, logs_event_from_pb)

    def run(self, runner_id: str, argv: Sequence[str], **kwargs) -> Result:
        """Run a command to its end and collect its output (spawn() without streaming).

        Takes spawn()'s arguments. Returns a Result(stdout, stderr, exit_code); a
        non-zero exit code is a result, not an error.
        Raises: what spawn() raises; FlamedError INTERNAL if the stream ended without
            an exit code.
        """
        out, err = bytearray(), bytearray()
        with self.spawn(runner_id, argv, **kwargs) as stream:
            for ev in stream:
                if ev.kind == "stdout":
                    out += ev.data
                elif ev.kind == "stderr":
                    err += ev.data
                elif ev.kind == "exited":
                    return Result(bytes(out), bytes(err), ev.exit_code)
        raise FlamedError("INTERNAL", "Spawn stream ended without an exited event")

    def shutdown(self, runner_id: str, *, timeout_ms: int = 0,
                 timeout: Optional[float] = None) -> Runner:
        """Stop a runner (SIGTERM, SIGKILL after timeout_ms) and remove its container.

        Idempotent: a runner already gone answers with its final state.

        Args:
            runner_id: the runner's id.
            timeout_ms: grace between SIGTERM and SIGKILL in ms; 0: flamed's default
                (--stop-timeout-ms, 10000).
            timeout: the call's deadline in seconds; default the grace plus the
                client's timeout.

        Returns: the runner's final state, usually REMOVED (EXITED when kept).
        Raises: FlamedError NOT_FOUND (RUNNER_NOT_FOUND), FAILED_PRECONDITION
            (RUNNER_BOOTING), UNAVAILABLE.
        Follows: FLAME's system_shutdown/0 seen from the parent; Docker ContainerStop
            and ContainerDelete.
        """
        req = pb.ShutdownRequest(runner_id=runner_id, timeout_ms=timeout_ms)
        deadline = self._deadline(timeout_ms or _DEFAULT_STOP_TIMEOUT_MS, timeout)
        try:
            resp = self._stub.Shutdown(req, timeout=deadline, metadata=self._metadata)
        except grpc.RpcError as e:
            raise _error(e) from None
        return runner_from_pb(resp.runner)

    def watch(self, *, pool: str = "", runner_id: str = "", include_existing: bool = False,
              after_sequence: int = 0, parent_id: str = "") -> Stream[Event]:
        """Stream runner lifecycle events, in order, until cancelled.

        Args:
            pool, runner_id: only this pool's / this runner's events ("" matches all).
            include_existing: first one EXISTING event per current matching runner.
            after_sequence: resume: first replay the events after this sequence from
                flamed's bounded history (0: live events only).
            parent_id: while the stream is open, the leases of this parent's runners
                hold (see boot(lease_ttl_ms=...)).

        Returns: a Stream of Event (no deadline); cancel() it, or leave its `with`
            block, to stop.
        Raises (while iterating): FlamedError RESOURCE_EXHAUSTED (WATCH_TOO_SLOW: the
            reader fell behind; list() then watch again), OUT_OF_RANGE
            (WATCH_HISTORY_GONE: after_sequence is too old; list() then watch again),
            UNAVAILABLE (SHUTTING_DOWN).
        Follows: FLAME.Backend.handle_info/2 for runner exits; Docker's event stream.
        """
        req = pb.WatchRequest(pool=pool, runner_id=runner_id, include_existing=include_existing,
                              after_sequence=after_sequence, parent_id=parent_id)
        call = self._stub.Watch(req, metadata=self._metadata)
        return Stream(call, event_from_pb)

    def list(self, *, pool: str = "", timeout: Optional[float] = None) -> list[Runner]:
        """The runners flamed tracks now, oldest first; only `pool`'s when given.

        Raises: FlamedError UNAVAILABLE (flamed unreachable).
        """
        try:
            resp = self._stub.List(pb.ListRequest(pool=pool),
                                   timeout=timeout if timeout is not None else self.timeout,
                                   metadata=self._metadata)
        except grpc.RpcError as e:
            raise _error(e) from None
        return [runner_from_pb(r) for r in resp.runners]

    def renew(self, parent_id: str, *, timeout: Optional[float] = None) -> Renewal:
        """Renew the leases of a parent's runners (those booted with lease_ttl_ms).

        A parent that keeps a watch(parent_id=...) open need not call this.
        Returns: Renewal(renewed, lease_ttl_ms).
        Raises: FlamedError INVALID_ARGUMENT (INVALID_REQUEST: empty or bad parent_id),
            UNAVAILABLE.
        Follows: FLAME.Terminator's parent monitoring, as a lease.
        """
        try:
            resp = self._stub.Renew(pb.RenewRequest(parent_id=parent_id),
                                    timeout=timeout if timeout is not None else self.timeout,
                                    metadata=self._metadata)
        except grpc.RpcError as e:
            raise _error(e) from None
        return Renewal(renewed=resp.renewed, lease_ttl_ms=resp.lease_ttl_ms)
