"""flamed.Client against a real flamed and dockerd."""

from __future__ import annotations

import io
import queue
import threading
import time
import unittest

from support import IMAGE, docker, start_module_harness

import flamed
from flamed.types import EventType, RunnerState

H = None


def setUpModule():
    global H
    H = start_module_harness()


class ClientTest(unittest.TestCase):
    def setUp(self):
        self.client = H.client
        self.pool = H.pool_name()

    def boot(self, **kw):
        """Boot a labelled runner in this test's pool; shut it down at cleanup."""
        kw.setdefault("network", H.network)
        kw.setdefault("pool", self.pool)
        kw.setdefault("labels", H.labels)
        runner = self.client.boot(IMAGE, **kw)
        self.addCleanup(self._shutdown_quietly, runner.id)
        return runner

    def _shutdown_quietly(self, runner_id):
        try:
            self.client.shutdown(runner_id, timeout_ms=100)
        except flamed.FlamedError:
            pass

    # ------------------------------------------------------------ round trips

    def test_logs_returns_the_container_output_apart(self):
        import time
        runner = self.boot()
        self.client.run(runner.id, ["sh", "-c", "echo hi > /proc/1/fd/1; echo oops > /proc/1/fd/2"])
        for _ in range(50):
            with self.client.logs(runner.id) as stream:
                events = list(stream)
            out = b"".join(e.data for e in events if e.kind == "stdout")
            err = b"".join(e.data for e in events if e.kind == "stderr")
            if out == b"hi\n" and err == b"oops\n":
                break
            time.sleep(0.1)
        self.assertEqual((out, err), (b"hi\n", b"oops\n"))
        with self.assertRaises(flamed.FlamedError) as cm:
            list(self.client.logs("0123456789abcdef"))
        self.assertEqual((cm.exception.code, cm.exception.reason), ("NOT_FOUND", "RUNNER_NOT_FOUND"))


    def test_boot_spawn_shutdown_round_trip(self):
        runner = self.boot(env={"GREETING": "hello"},
                           host_config={"Memory": 64 * 2**20, "PidsLimit": 100})
        self.assertEqual(runner.state, RunnerState.RUNNING)
        self.assertRegex(runner.id, r"^[0-9a-f]{16}$")
        self.assertRegex(runner.container_id, r"^[0-9a-f]{64}$")
        self.assertEqual((runner.pool, runner.network, runner.image),
                         (self.pool, H.network, IMAGE))
        self.assertTrue(runner.ip_address)
        self.assertEqual(runner.labels["fltest.run"], H.tag)
        self.assertEqual([r.id for r in self.client.list(pool=self.pool)], [runner.id])
        # host_config, a dict, reached Docker through a google.protobuf.Struct.
        got = docker("inspect", "--format", "{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}}",
                     runner.container_id)
        self.assertEqual(got, f"{64 * 2**20} 100")

        result = self.client.run(runner.id, ["sh", "-c", 'echo "$GREETING from $(hostname)"'])
        self.assertEqual(result, flamed.Result(f"hello from {runner.name}\n".encode(), b"", 0))

        final = self.client.shutdown(runner.id)
        self.assertEqual(final.id, runner.id)
        self.assertEqual(final.state, RunnerState.REMOVED)
        self.assertEqual(self.client.list(pool=self.pool), [])
        self.assertEqual(docker("ps", "-aq", "--filter", f"id={runner.container_id}"), "")
        # Idempotent: the tombstone answers with the final state.
        self.assertEqual(self.client.shutdown(runner.id).state, RunnerState.REMOVED)

    def test_request_id_makes_boot_idempotent_and_leases_renew(self):
        parent = f"{H.tag}-parent"
        runner = self.boot(request_id=f"{self.pool}-boot-1", parent_id=parent,
                           lease_ttl_ms=60000)
        self.assertEqual((runner.request_id, runner.parent_id, runner.lease_ttl_ms),
                         (f"{self.pool}-boot-1", parent, 60000))
        again = self.boot(request_id=f"{self.pool}-boot-1", parent_id=parent, lease_ttl_ms=60000)
        self.assertEqual(again.id, runner.id)
        self.assertEqual(len(self.client.list(pool=self.pool)), 1)
        self.assertEqual(self.client.renew(parent), flamed.Renewal(renewed=1, lease_ttl_ms=60000))
        self.assertEqual(self.client.renew(f"{parent}-other").renewed, 0)

    def test_a_lapsed_lease_shuts_the_runner_down(self):
        runner = self.boot(parent_id=f"{H.tag}-gone", lease_ttl_ms=300)
        stream = self.client.watch(runner_id=runner.id, include_existing=True)
        self.addCleanup(stream.cancel)
        q = self._collect(stream)
        last = self._next(q)
        while last.type != EventType.REMOVED:
            last = self._next(q)
        self.assertIn("lease expired", last.runner.error)

    # ------------------------------------------------------------ errors

    def test_unknown_runner_is_not_found(self):
        for call in (lambda: self.client.run("0123456789abcdef", ["true"]),
                     lambda: self.client.shutdown("0123456789abcdef")):
            with self.assertRaises(flamed.FlamedError) as cm:
                call()
            self.assertEqual((cm.exception.code, cm.exception.reason),
                             ("NOT_FOUND", "RUNNER_NOT_FOUND"))
            self.assertIn("0123456789abcdef", cm.exception.message)

    def test_bad_boot_fields_are_invalid_argument_naming_the_field(self):
        cases = [
            (dict(pool="Not A Pool"), "pool"),
            (dict(host_config={"memory": 1}), "host_config"),
            (dict(host_config={"NetworkMode": "host"}), "NetworkMode"),
            (dict(image=""), "image"),
        ]
        for overrides, field in cases:
            with self.subTest(field=field):
                kw = dict(image=IMAGE, network=H.network, pool=self.pool, labels=H.labels)
                kw.update(overrides)
                with self.assertRaises(flamed.FlamedError) as cm:
                    self.client.boot(kw.pop("image"), **kw)
                self.assertEqual((cm.exception.code, cm.exception.reason),
                                 ("INVALID_ARGUMENT", "INVALID_REQUEST"))
                self.assertIn(field, cm.exception.message)
        self.assertEqual(self.client.list(pool=self.pool), [])

    def test_placement_reaches_flamed_which_refuses_it_off_swarm(self):
        # This flamed runs on one Docker Engine: a placement it received is refused,
        # naming the engine that takes it; an empty one is no placement.
        with self.assertRaises(flamed.FlamedError) as cm:
            self.boot(placement={"constraints": ["node.role==worker"],
                                 "preferences": [{"spread": "node.labels.zone"}]})
        self.assertEqual((cm.exception.code, cm.exception.reason),
                         ("INVALID_ARGUMENT", "INVALID_REQUEST"))
        self.assertIn("--engine swarm", cm.exception.message)
        self.assertEqual(self.boot(placement={}).state, RunnerState.RUNNING)
        with self.assertRaises(ValueError):
            self.client.boot(IMAGE, placement={"constraint": ["node.role==worker"]})
        with self.assertRaises(ValueError):
            self.client.boot(IMAGE, placement={"preferences": ["node.labels.zone"]})

    def test_missing_network_is_failed_precondition(self):
        with self.assertRaises(flamed.FlamedError) as cm:
            self.client.boot(IMAGE, network=f"{H.tag}-missing", pool=self.pool, labels=H.labels)
        self.assertEqual((cm.exception.code, cm.exception.reason),
                         ("FAILED_PRECONDITION", "NETWORK_NOT_FOUND"))
        self.assertIn("docker network create", cm.exception.message)

    def test_missing_image_with_pull_never_is_not_found(self):
        with self.assertRaises(flamed.FlamedError) as cm:
            self.client.boot("flamed-test/no-such-image:latest", network=H.network,
                             pool=self.pool, labels=H.labels, pull_policy="never")
        self.assertEqual((cm.exception.code, cm.exception.reason),
                         ("NOT_FOUND", "IMAGE_NOT_FOUND"))

    def test_unreachable_flamed_is_unavailable_without_reason(self):
        with flamed.Client(f"unix:{H.sock}.nothing-here", timeout=2.0) as client:
            with self.assertRaises(flamed.FlamedError) as cm:
                client.list()
        self.assertEqual((cm.exception.code, cm.exception.reason), ("UNAVAILABLE", None))

    def test_non_json_host_config_is_a_type_error(self):
        with self.assertRaises(TypeError):
            self.client.boot(IMAGE, host_config={"Memory": object()})
        with self.assertRaises(TypeError):
            self.client.boot(IMAGE, host_config=[1, 2])
        with self.assertRaises(ValueError):
            self.client.boot(IMAGE, pull_policy="sometimes")

    # ------------------------------------------------------------ watch

    def _collect(self, stream):
        """Read a watch stream on a thread; return a queue of its events (None at end)."""
        q = queue.Queue()

        def pump():
            try:
                for ev in stream:
                    q.put(ev)
            except flamed.FlamedError as e:
                q.put(e)
            q.put(None)
        threading.Thread(target=pump, daemon=True).start()
        return q

    def _next(self, q, timeout=60):
        item = q.get(timeout=timeout)
        if isinstance(item, Exception):
            raise item
        return item

    def test_watch_streams_lifecycle_events_in_order(self):
        existing = self.boot()
        stream = self.client.watch(pool=self.pool, include_existing=True)
        self.addCleanup(stream.cancel)
        q = self._collect(stream)
        first = self._next(q)
        self.assertEqual((first.type, first.runner.id), (EventType.EXISTING, existing.id))

        runner = self.boot()
        self.client.shutdown(runner.id)
        events = [first]
        while events[-1].type != EventType.REMOVED:
            events.append(self._next(q))
        self.assertEqual([e.type for e in events[1:]],
                         [EventType.BOOTING, EventType.STARTED, EventType.STOPPING,
                          EventType.EXITED, EventType.REMOVED])
        self.assertTrue(all(e.runner.id == runner.id for e in events[1:]))
        self.assertEqual(events[2].runner.state, RunnerState.RUNNING)
        seqs = [e.sequence for e in events]
        self.assertEqual(seqs, sorted(set(seqs)), "sequences strictly increase")
        self.assertTrue(all(e.time_unix_nano > 0 for e in events))

        stream.cancel()  # a cancelled watch ends quietly
        self.assertIsNone(q.get(timeout=5))

    def test_watch_reports_a_runner_exiting_on_its_own(self):
        runner = self.boot(cmd=["sh", "-c", "until [ -e /tmp/go ]; do sleep 0.1; done; exit 7"])
        stream = self.client.watch(runner_id=runner.id, include_existing=True)
        self.addCleanup(stream.cancel)
        q = self._collect(stream)
        seen = [self._next(q)]
        self.assertEqual(seen[0].type, EventType.EXISTING)
        self.client.run(runner.id, ["touch", "/tmp/go"])
        while not seen or seen[-1].type != EventType.REMOVED:
            seen.append(self._next(q))
        exited = [e for e in seen if e.type == EventType.EXITED]
        self.assertEqual(len(exited), 1)
        self.assertEqual(exited[0].runner.exit_code, 7)
        self.assertEqual(self.client.list(pool=self.pool), [])


class SpawnTest(unittest.TestCase):
    """Spawn behaviours, sharing one runner (boots cost a second or two each)."""

    @classmethod
    def setUpClass(cls):
        cls.client = H.client
        cls.runner = H.client.boot(IMAGE, network=H.network, pool=H.pool_name(), labels=H.labels)
        cls.addClassCleanup(H.client.shutdown, cls.runner.id, timeout_ms=100)

    def test_run_collects_stdout_stderr_and_exit_code(self):
        runner = self.runner
        result = self.client.run(
            runner.id, ["sh", "-c", r"printf 'out\000\377'; printf err >&2; exit 3"])
        self.assertEqual(result.stdout, b"out\x00\xff")
        self.assertEqual(result.stderr, b"err")
        self.assertEqual(result.exit_code, 3)
        self.assertFalse(result.ok)
        # A shell reports a missing command as 127; Docker's exec (no shell) as 126.
        self.assertEqual(self.client.run(runner.id, ["sh", "-c", "no-such-command"]).exit_code,
                         127)
        self.assertEqual(self.client.run(runner.id, ["no-such-command"]).exit_code, 126)

    def test_spawn_passes_env_and_working_dir(self):
        runner = self.runner
        result = self.client.run(runner.id, ["sh", "-c", 'echo "$A $B"; pwd'],
                                 env={"A": "1", "B": "two words"}, working_dir="/tmp")
        self.assertEqual(result.stdout, b"1 two words\n/tmp\n")

    def test_spawn_streams_events_in_order_as_they_arrive(self):
        runner = self.runner
        events, times = [], []
        t0 = time.monotonic()
        with self.client.spawn(runner.id, ["sh", "-c", "echo one; sleep 1; echo two >&2; "
                                           "echo three; exit 5"]) as stream:
            for ev in stream:
                events.append(ev)
                times.append(time.monotonic() - t0)
        kinds = [e.kind for e in events]
        self.assertEqual(kinds[0], "started")
        self.assertRegex(events[0].exec_id, r"^[0-9a-f]{64}$")
        self.assertEqual(kinds[-1], "exited")
        self.assertEqual(events[-1].exit_code, 5)
        self.assertEqual(b"".join(e.data for e in events if e.kind == "stdout"), b"one\nthree\n")
        self.assertEqual(b"".join(e.data for e in events if e.kind == "stderr"), b"two\n")
        first_out = kinds.index("stdout")
        self.assertEqual(events[first_out].data, b"one\n")
        # "one" arrives while the command still sleeps, not when it ends.
        self.assertLess(times[first_out], times[-1] - 0.5)
        self.assertLess(kinds.index("stdout"), kinds.index("stderr"))

    def test_spawn_with_stdin_bytes_file_and_iterable(self):
        runner = self.runner
        data = bytes(range(256)) * 1000  # 256000 bytes: several 64 KiB chunks
        self.assertEqual(self.client.run(runner.id, ["cat"], stdin=data).stdout, data)
        self.assertEqual(self.client.run(runner.id, ["cat"], stdin=io.BytesIO(data)).stdout, data)
        self.assertEqual(self.client.run(runner.id, ["wc", "-c"],
                                         stdin=iter([b"ab", b"", b"cde"])).stdout.strip(), b"5")
        # A command that does not read its stdin still exits.
        self.assertEqual(self.client.run(runner.id, ["true"], stdin=data).exit_code, 0)

    def test_spawn_timeout_kills_the_command(self):
        runner = self.runner
        t0 = time.monotonic()
        with self.assertRaises(flamed.FlamedError) as cm:
            self.client.run(runner.id, ["sleep", "30"], timeout_ms=300)
        self.assertEqual((cm.exception.code, cm.exception.reason),
                         ("DEADLINE_EXCEEDED", "SPAWN_TIMEOUT"))
        self.assertLess(time.monotonic() - t0, 10)

    def test_cancelled_spawn_ends_quietly(self):
        runner = self.runner
        stream = self.client.spawn(runner.id, ["sh", "-c", "echo ready; sleep 30"])
        seen = []
        for ev in stream:
            seen.append(ev.kind)
            if ev.kind == "stdout":
                stream.cancel()
        self.assertEqual(seen, ["started", "stdout"])
        # The runner still takes work after the cancel.
        self.assertEqual(self.client.run(runner.id, ["true"]).exit_code, 0)

    def test_empty_argv_is_invalid_argument(self):
        with self.assertRaises(flamed.FlamedError) as cm:
            self.client.run(self.runner.id, [])
        self.assertEqual((cm.exception.code, cm.exception.reason),
                         ("INVALID_ARGUMENT", "INVALID_REQUEST"))
        self.assertIn("argv", cm.exception.message)


if __name__ == "__main__":
    unittest.main()
