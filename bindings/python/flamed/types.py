"""Plain Python values for flame.v1 messages: enums, dataclasses and FlamedError.

Every value here is converted from (or to) a generated pb2 type in flamed.client; the
names are the proto's, without their prefixes (RUNNER_STATE_RUNNING -> RunnerState.RUNNING).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Mapping, Optional


class _ProtoEnum(enum.IntEnum):
    """An int (compares and packs as the proto's number) that prints as its name:
    f"{runner.state}" and str(runner.state) give "RUNNING", not "2" (Python 3.11's
    IntEnum formats as the number)."""

    def __str__(self) -> str:
        return self.name

    def __format__(self, spec: str) -> str:
        return format(self.name, spec)

    @classmethod
    def _missing_(cls, value):  # a value from a newer proto: keep going as UNSPECIFIED
        return cls(0)


class RunnerState(_ProtoEnum):
    """Where a runner is in its life (flame.v1.RunnerState)."""
    UNSPECIFIED = 0
    BOOTING = 1   #: Boot accepted: the container is being pulled, created or started.
    RUNNING = 2   #: The container is running (and healthy, if it has a HEALTHCHECK).
    STOPPING = 3  #: Shutdown asked Docker to stop the container.
    EXITED = 4    #: The main process exited; exit_code and oom_killed are set.
    REMOVED = 5   #: The container was removed.
    FAILED = 6    #: Boot failed.


class EventType(_ProtoEnum):
    """What happened to a runner (flame.v1.RunnerEventType)."""
    UNSPECIFIED = 0
    EXISTING = 1  #: Sent first, once per runner, when watch(include_existing=True).
    BOOTING = 2
    STARTED = 3
    EXITED = 4
    REMOVED = 5
    FAILED = 6
    STOPPING = 7
    PULLING = 8   #: Boot is pulling the image: Event.pull says how far.


class PullPolicy(_ProtoEnum):
    """When Boot pulls the image (flame.v1.PullPolicy); UNSPECIFIED means IF_NOT_PRESENT."""
    UNSPECIFIED = 0
    IF_NOT_PRESENT = 1
    ALWAYS = 2
    NEVER = 3


@dataclass(frozen=True)
class Runner:
    """One FLAME runner: one Docker container flamed booted (flame.v1.Runner)."""
    id: str                      #: flamed's id (16 lowercase hex digits).
    container_id: str            #: Docker container id; empty until created.
    name: str                    #: Container name, hostname and DNS alias on `network`.
    pool: str
    image: str
    network: str
    ip_address: str              #: IPv4 address on `network`; empty before running.
    state: RunnerState
    labels: Mapping[str, str] = field(default_factory=dict)
    exit_code: int = 0           #: Main process exit code; meaningful when EXITED/REMOVED.
    oom_killed: bool = False
    keep_runner: bool = False
    created_unix_nano: int = 0   #: When Boot was accepted, Unix time in ns.
    error: str = ""              #: Why Boot failed or flamed retired it, or Docker's State.Error.
    request_id: str = ""         #: Boot's idempotency key, as booted.
    parent_id: str = ""          #: The parent that owns the runner (for its lease).
    lease_ttl_ms: int = 0        #: The lease's length in ms; 0: no lease.
    warm: bool = False           #: Made ahead from a warm pool (flamed --pools) and taken by its Boot.


@dataclass(frozen=True)
class PullProgress:
    """How far a Boot's image pull has come (flame.v1.PullProgress)."""
    image: str
    bytes_done: int    #: Bytes downloaded so far.
    bytes_total: int   #: The layers' sizes as far as Docker has told them; 0: none yet.
    layers: int        #: Layers Docker has named.
    layers_done: int   #: Of those, the layers complete.


@dataclass(frozen=True)
class Event:
    """One runner lifecycle event from watch() (flame.v1.WatchResponse)."""
    type: EventType
    runner: Runner               #: The runner as it is after the event.
    sequence: int                #: Strictly increasing per flamed process.
    time_unix_nano: int
    pull: Optional[PullProgress] = None  #: Set on PULLING events only.


@dataclass(frozen=True)
class Renewal:
    """What renew() renewed (flame.v1.RenewResponse)."""
    renewed: int        #: Live runners of the parent whose lease was renewed.
    lease_ttl_ms: int   #: The shortest lease among them, in ms (0 when none).


@dataclass(frozen=True)
class SpawnEvent:
    """One event of a command run by spawn(), in order: started, output..., exited.

    kind is "started" (exec_id set), "stdout" or "stderr" (data set) or "exited"
    (exit_code set; always the last event).
    """
    kind: str
    data: bytes = b""
    exec_id: str = ""
    exit_code: Optional[int] = None


@dataclass(frozen=True)
class Result:
    """What a finished command produced: all of its stdout and stderr and its exit code."""
    stdout: bytes
    stderr: bytes
    exit_code: int  #: 126: could not be executed, 127: not found, 128+N: killed by signal N.

    @property
    def ok(self) -> bool:
        """True when the command exited 0."""
        return self.exit_code == 0


class FlamedError(Exception):
    """A failed call: the gRPC status and flamed's `flame-reason` trailing metadata.

    Attributes:
        code: the gRPC status name ("NOT_FOUND", "INVALID_ARGUMENT", "UNAVAILABLE", ...).
        message: the status message; flamed's say what to do.
        reason: the stable reason to branch on ("RUNNER_NOT_FOUND", "INVALID_REQUEST",
            "NETWORK_NOT_FOUND", ...; see the flamed README's error table), or None when
            the status did not come from flamed (e.g. UNAVAILABLE: nothing listens).
    """

    def __init__(self, code: str, message: str, reason: Optional[str] = None):
        super().__init__(code, message, reason)
        self.code = code
        self.message = message
        self.reason = reason

    def __str__(self) -> str:
        tail = f" [{self.reason}]" if self.reason else ""
        return f"{self.code}: {self.message}{tail}"


class PoolClosedError(FlamedError):
    """The pool was closed: raised by run()/checkout() during or after close().

    code UNAVAILABLE, reason POOL_CLOSED (client-side; flamed never sends it).
    """

    def __init__(self, message: str = "the pool is closed"):
        super().__init__("UNAVAILABLE", message, "POOL_CLOSED")


class PoolTimeoutError(FlamedError):
    """No runner slot became free within the pool's checkout timeout.

    code DEADLINE_EXCEEDED, reason POOL_CHECKOUT_TIMEOUT (client-side).
    """

    def __init__(self, message: str):
        super().__init__("DEADLINE_EXCEEDED", message, "POOL_CHECKOUT_TIMEOUT")
