"""flamed.Pool: a pool of runners that grows and shrinks with demand, after FLAME.Pool.

The pool places each call on the least-loaded runner with a free slot (at most
max_concurrency calls per runner), boots a runner when every slot is taken and fewer
than max runners exist (or are booting), queues callers beyond that (first come, first
served, up to checkout_timeout), and shuts down runners above min after they have been
idle for idle_shutdown_after seconds. FLAME shuts idle runners down from inside the
runner; here the parent does it, because a flamed runner need not run FLAME.

Threads: callers run commands on their own threads; one reaper thread does idle
shutdown and keeps min runners; one watcher thread follows Watch(pool) so a runner that
exits on its own (crash, OOM) leaves the pool. All state is guarded by one Condition.
"""

from __future__ import annotations

import collections
import contextlib
import inspect
import logging
import os
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from typing import Iterator, List, Mapping, Optional, Sequence

from .client import Client
from .types import (EventType, FlamedError, PoolClosedError, PoolTimeoutError, Result,
                    Runner)

log = logging.getLogger("flamed.pool")

# Client.boot() keywords a Pool passes through. request_id is per boot (one key for all
# would make every boot return the same runner); the lease is the pool's own.
_BOOT_OPTS = frozenset(inspect.signature(Client.boot).parameters) - {
    "self", "image", "network", "pool", "timeout", "request_id", "parent_id", "lease_ttl_ms"}
_GONE_EVENTS = (EventType.EXITED, EventType.REMOVED, EventType.FAILED)
_GONE_REASONS = ("RUNNER_NOT_FOUND", "RUNNER_NOT_RUNNING")
# After a failed refill boot (keeping min runners), wait this long before the next.
_REFILL_BACKOFF_S = 5.0


@dataclass
class _Slot:
    runner: Runner
    active: int = 0
    idle_since: Optional[float] = None  # time.monotonic() when active dropped to 0


class Pool:
    """A FLAME.Pool of flamed runners, for running commands with Pool.run().

    Args:
        client: a flamed.Client (borrowed; the pool does not close it).
        image: image every runner boots from.
        network: Docker network for the runners ("" for the default bridge).
        pool: FLAME pool name sent with Boot ([a-z0-9][a-z0-9_.-]*); also what the
            pool watches, so give each Pool its own.
        min: runners booted at start and kept however idle.
        max: most runners at once (booting ones count).
        max_concurrency: most concurrent calls per runner.
        idle_shutdown_after: seconds a runner above min may stay idle before it is
            shut down; None: never.
        checkout_timeout: seconds a call may wait for a free slot (FLAME's :timeout);
            None: forever. Boot time does not count against it.
        shutdown_timeout_ms: Shutdown's SIGTERM-to-SIGKILL grace, in ms; 0: flamed's.
        lease_ttl_ms: boot runners with a lease of this many ms (>= 100) that the pool
            holds while it lives (its Watch carries parent_id, and it calls Renew every
            third of the lease): if this process dies, flamed shuts its runners down
            after the lease (FLAME's Terminator failsafe). 0: no lease.
        parent_id: the lease's owner; default "flamed-py-<host>-<pid>-<random>".
        **boot_opts: more Client.boot() keywords for every runner (env, cmd, labels,
            host_config, mounts, boot_timeout_ms, pull_policy, ...).

    Boots min runners before returning (raising their FlamedError if one fails, after
    shutting down the others). Use as a context manager, or call close().
    Raises TypeError for unknown boot_opts, ValueError for inconsistent sizes.
    Follows: FLAME.Pool (min, max, max_concurrency, idle_shutdown_after, timeout).
    """

    def __init__(self, client: Client, image: str, *, network: str = "",
                 pool: str = "default", min: int = 0, max: int = 1,
                 max_concurrency: int = 100, idle_shutdown_after: Optional[float] = 30.0,
                 checkout_timeout: Optional[float] = 30.0, shutdown_timeout_ms: int = 0,
                 lease_ttl_ms: int = 0, parent_id: Optional[str] = None, **boot_opts):
        unknown = set(boot_opts) - _BOOT_OPTS
        if unknown:
            raise TypeError(f"Pool: unknown boot options {sorted(unknown)}; "
                            f"use any of {sorted(_BOOT_OPTS)}")
        if not (0 <= min <= max and max >= 1):
            raise ValueError(f"Pool: need 0 <= min <= max and max >= 1 (min={min}, max={max})")
        if max_concurrency < 1:
            raise ValueError(f"Pool: max_concurrency must be >= 1, not {max_concurrency}")
        if idle_shutdown_after is not None and idle_shutdown_after < 0:
            raise ValueError("Pool: idle_shutdown_after must be >= 0 seconds or None")
        self.client = client
        self.image = image
        self.network = network
        self.pool = pool
        self.min = min
        self.max = max
        self.max_concurrency = max_concurrency
        self.idle_shutdown_after = idle_shutdown_after
        self.checkout_timeout = checkout_timeout
        self.shutdown_timeout_ms = shutdown_timeout_ms
        self.lease_ttl_ms = lease_ttl_ms
        self.parent_id = parent_id or (
            f"flamed-py-{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(4)}"
            if lease_ttl_ms else "")
        self.boot_opts = dict(boot_opts)

        self._cond = threading.Condition()
        self._slots: List[_Slot] = []
        self._pending = 0       # boots in flight (callers' and refills')
        self._caller_boots = 0  # of those, boots a caller waits on for itself
        self._queue: collections.deque = collections.deque()  # waiting callers' tickets
        self._shutting: set = set()  # runner ids the pool is shutting down itself
        self._refill_not_before = 0.0
        self._next_renew = time.monotonic() + lease_ttl_ms / 3000.0
        self._closed = False
        self._close_done = False
        self._watch = None
        self._threads: List[threading.Thread] = []

        # The watch (which holds the lease) starts before the first boot; _pending
        # counts the min boots so the reaper does not boot them a second time.
        self._pending = min
        for target, name in ((self._reaper_loop, "reaper"), (self._watch_loop, "watch")):
            t = threading.Thread(target=target, name=f"flamed-pool-{pool}-{name}", daemon=True)
            t.start()
            self._threads.append(t)
        errors: List[BaseException] = []
        boots = [threading.Thread(target=self._boot_initial, args=(errors,),
                                  name=f"flamed-pool-{pool}-boot") for _ in range(min)]
        for t in boots:
            t.start()
        for t in boots:
            t.join()
        if errors:
            self.close(wait=False)
            raise errors[0]

    # ------------------------------------------------------------ public API

    def run(self, argv: Sequence[str], *, env: Optional[Mapping[str, str]] = None,
            working_dir: str = "", user: str = "", timeout_ms: int = 0,
            checkout_timeout: Optional[float] = None) -> Result:
        """Run a command on the least-loaded runner and collect its output. Thread-safe.

        Args:
            argv, env, working_dir, user, timeout_ms: as Client.spawn().
            checkout_timeout: seconds to wait for a free slot; None: the pool's.

        Returns: Result(stdout, stderr, exit_code).
        Raises: PoolTimeoutError (no slot in time), PoolClosedError, a Boot's
            FlamedError when this call booted a runner and Boot failed, or what
            Client.run() raises (a runner found gone leaves the pool).
        """
        with self.checkout(checkout_timeout) as runner:
            try:
                return self.client.run(runner.id, argv, env=env, working_dir=working_dir,
                                       user=user, timeout_ms=timeout_ms)
            except FlamedError as e:
                if e.reason in _GONE_REASONS:
                    self._forget(runner.id, f"spawn failed: {e.reason}")
                raise

    @contextlib.contextmanager
    def checkout(self, timeout: Optional[float] = None) -> Iterator[Runner]:
        """Hold one slot of the least-loaded runner for the `with` block (FLAME.call's
        placement) and yield its Runner, e.g. to stream with Client.spawn().

        Raises: as run(), before the block runs.
        """
        slot = self._checkout(self.checkout_timeout if timeout is None else timeout)
        try:
            yield slot.runner
        finally:
            self._checkin(slot)

    @property
    def runners(self) -> List[Runner]:
        """The pool's runners now (not those booting or being shut down)."""
        with self._cond:
            return [s.runner for s in self._slots]

    def close(self, wait: bool = True) -> None:
        """Shut down every runner of the pool and stop its threads. Idempotent.

        New and waiting calls raise PoolClosedError at once. With wait, calls that hold
        a slot finish first; without, their runners are shut down under them. Returns
        when every runner the pool booted (including boots in flight) is shut down.
        Shutdown failures are logged, not raised (flamed removes what it can).
        """
        with self._cond:
            if self._closed:
                while not self._close_done:
                    self._cond.wait()
                return
            self._closed = True
            self._cond.notify_all()
            while wait and any(s.active for s in self._slots):
                self._cond.wait()
            while self._pending:
                self._cond.wait()
            victims = [s.runner.id for s in self._slots]
            self._slots.clear()
            self._shutting.update(victims)
            watch = self._watch
        if watch is not None:
            watch.cancel()
        stops = [threading.Thread(target=self._shutdown_runner, args=(rid,)) for rid in victims]
        for t in stops:
            t.start()
        for t in stops + self._threads:
            t.join()
        with self._cond:
            self._close_done = True
            self._cond.notify_all()

    def __enter__(self) -> "Pool":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(wait=exc_type is None)

    # ------------------------------------------------------------ placement

    def _least_loaded(self) -> Optional[_Slot]:
        free = [s for s in self._slots if s.active < self.max_concurrency]
        return min(free, key=lambda s: s.active) if free else None

    def _checkout(self, timeout: Optional[float]) -> _Slot:
        """Take a slot: the least-loaded runner's when the caller is first in line; else
        boot one when FLAME.Pool would (below max, and the boots in flight cannot serve
        everyone waiting); else wait."""
        deadline = None if timeout is None else time.monotonic() + timeout
        ticket = object()
        with self._cond:
            self._queue.append(ticket)
            try:
                while True:
                    if self._closed:
                        raise PoolClosedError()
                    if self._queue[0] is ticket:
                        slot = self._least_loaded()
                        if slot is not None:
                            slot.active += 1
                            slot.idle_since = None
                            return slot
                    if (len(self._slots) + self._pending < self.max and
                            self._pending * self.max_concurrency
                            < len(self._queue) + self._caller_boots):
                        self._pending += 1
                        self._caller_boots += 1
                        self._queue.remove(ticket)
                        break
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        raise PoolTimeoutError(
                            f"pool {self.pool!r}: no free runner slot within {timeout} s "
                            f"({len(self._slots)} runners of max {self.max}, "
                            f"max_concurrency {self.max_concurrency})")
                    self._cond.wait(remaining)
            finally:
                if ticket in self._queue:
                    self._queue.remove(ticket)
                self._cond.notify_all()
        try:
            runner = self._boot()
        except BaseException:
            with self._cond:
                self._pending -= 1
                self._caller_boots -= 1
                self._cond.notify_all()
            raise
        with self._cond:
            self._caller_boots -= 1
            if not self._closed:
                self._pending -= 1
                slot = _Slot(runner, active=1)
                self._slots.append(slot)
                self._cond.notify_all()
                return slot
        self._shutdown_runner(runner.id)
        with self._cond:
            self._pending -= 1
            self._cond.notify_all()
        raise PoolClosedError()

    def _checkin(self, slot: _Slot) -> None:
        with self._cond:
            slot.active -= 1
            if slot.active == 0:
                slot.idle_since = time.monotonic()
            self._cond.notify_all()

    # ------------------------------------------------------------ boot and shutdown

    def _boot(self) -> Runner:
        return self.client.boot(self.image, network=self.network, pool=self.pool,
                                parent_id=self.parent_id, lease_ttl_ms=self.lease_ttl_ms,
                                **self.boot_opts)

    def _boot_initial(self, errors: List[BaseException]) -> None:
        try:
            runner = self._boot()
        except BaseException as e:  # noqa: BLE001 - handed to __init__'s thread
            with self._cond:
                errors.append(e)
                self._pending -= 1
                self._cond.notify_all()
            return
        with self._cond:
            self._slots.append(_Slot(runner, idle_since=time.monotonic()))
            self._pending -= 1
            self._cond.notify_all()

    def _refill(self) -> None:
        """Boot one runner to keep min (reaper-started thread; _pending counted it)."""
        try:
            runner = self._boot()
        except FlamedError as e:
            log.warning("pool %s: boot to keep min=%d failed: %s", self.pool, self.min, e)
            with self._cond:
                self._pending -= 1
                self._refill_not_before = time.monotonic() + _REFILL_BACKOFF_S
                self._cond.notify_all()
            return
        with self._cond:
            if not self._closed:
                self._slots.append(_Slot(runner, idle_since=time.monotonic()))
                self._pending -= 1
                self._cond.notify_all()
                return
        self._shutdown_runner(runner.id)
        with self._cond:
            self._pending -= 1
            self._cond.notify_all()

    def _shutdown_runner(self, runner_id: str) -> None:
        try:
            self.client.shutdown(runner_id, timeout_ms=self.shutdown_timeout_ms)
        except FlamedError as e:
            if e.reason != "RUNNER_NOT_FOUND":
                log.warning("pool %s: shutdown of runner %s failed: %s", self.pool, runner_id, e)
        finally:
            with self._cond:
                self._shutting.discard(runner_id)

    def _forget(self, runner_id: str, why: str) -> None:
        """Drop a runner that went away without the pool shutting it down."""
        with self._cond:
            if runner_id in self._shutting:
                return
            for s in self._slots:
                if s.runner.id == runner_id:
                    self._slots.remove(s)
                    log.info("pool %s: runner %s left the pool (%s)", self.pool, runner_id, why)
                    self._cond.notify_all()
                    return

    # ------------------------------------------------------------ background threads

    def _plan(self, now: float):
        """Under the lock: pick idle runners to shut down (longest idle first, never
        below min), how many boots keep min, and how long to sleep until the next
        idle deadline or lease renewal (None: until notified)."""
        victims: List[_Slot] = []
        wake = None
        if self.idle_shutdown_after is not None:
            idle = sorted((s for s in self._slots if s.active == 0 and s.idle_since is not None),
                          key=lambda s: s.idle_since)
            excess = len(self._slots) - self.min
            for s in idle:
                if excess <= 0:
                    break
                due = s.idle_since + self.idle_shutdown_after
                if due <= now:
                    victims.append(s)
                    excess -= 1
                else:
                    wake = due - now if wake is None else min(wake, due - now)
                    break  # sorted: later ones are due later still
        refill = 0
        if now >= self._refill_not_before:
            refill = max(0, self.min - (len(self._slots) - len(victims)) - self._pending)
        elif len(self._slots) + self._pending < self.min:
            backoff = self._refill_not_before - now
            wake = backoff if wake is None else min(wake, backoff)
        if self.lease_ttl_ms:
            renew_in = max(0.0, self._next_renew - now)
            wake = renew_in if wake is None else min(wake, renew_in)
        return victims, refill, wake

    def _reaper_loop(self) -> None:
        while True:
            with self._cond:
                if self._closed:
                    return
                now = time.monotonic()
                victims, refill, wake = self._plan(now)
                renew = bool(self.lease_ttl_ms) and now >= self._next_renew
                if renew:
                    self._next_renew = now + self.lease_ttl_ms / 3000.0
                if not victims and not refill and not renew:
                    self._cond.wait(wake)
                    continue
                for s in victims:
                    self._slots.remove(s)
                    self._shutting.add(s.runner.id)
                self._pending += refill
                self._cond.notify_all()
            if renew:
                try:
                    self.client.renew(self.parent_id, timeout=self.lease_ttl_ms / 3000.0 + 1)
                except FlamedError as e:
                    log.warning("pool %s: lease renewal failed: %s", self.pool, e)
            for _ in range(refill):
                threading.Thread(target=self._refill, name=f"flamed-pool-{self.pool}-refill",
                                 daemon=True).start()
            for s in victims:
                log.info("pool %s: shutting down runner %s, idle %.1f s", self.pool,
                         s.runner.id, time.monotonic() - (s.idle_since or 0))
                self._shutdown_runner(s.runner.id)

    def _watch_loop(self) -> None:
        while True:
            with self._cond:
                if self._closed:
                    return
                try:
                    self._watch = self.client.watch(pool=self.pool, parent_id=self.parent_id)
                except FlamedError as e:  # pragma: no cover - watch() itself does not call
                    log.warning("pool %s: watch failed: %s", self.pool, e)
                    self._watch = None
                stream = self._watch
            try:
                for ev in stream or ():
                    if ev.type in _GONE_EVENTS:
                        self._forget(ev.runner.id, f"{ev.type.name.lower()} "
                                     f"(exit code {ev.runner.exit_code})")
            except FlamedError as e:
                log.info("pool %s: watch ended (%s); watching again", self.pool, e)
            with self._cond:
                if not self._closed:
                    self._cond.wait(1.0)
