"""flamed.Pool against a real flamed and dockerd."""

from __future__ import annotations

import threading
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

from support import IMAGE, docker, start_module_harness

import flamed

H = None

# Prints how many commands run in this runner right now (itself included), then
# holds its slot for a moment.
CONCURRENCY_PROBE = ["sh", "-c", 'touch /tmp/job.$$; n=$(ls /tmp/job.* | wc -l); sleep 1; '
                     'rm /tmp/job.$$; echo "$(hostname) $n"']


def setUpModule():
    global H
    H = start_module_harness()


class PoolTest(unittest.TestCase):
    def setUp(self):
        self.client = H.client
        self.name = H.pool_name()

    def make_pool(self, **kw):
        kw.setdefault("network", H.network)
        kw.setdefault("labels", H.labels)
        kw.setdefault("shutdown_timeout_ms", 100)
        pool = flamed.Pool(self.client, kw.pop("image", IMAGE), pool=self.name, **kw)
        self.addCleanup(pool.close, wait=False)
        return pool

    def listed(self):
        return self.client.list(pool=self.name)

    def wait_for_count(self, n, within):
        deadline = time.monotonic() + within
        while len(self.listed()) != n and time.monotonic() < deadline:
            time.sleep(0.1)
        return len(self.listed())

    def test_boots_on_demand_up_to_max_and_places_least_loaded(self):
        pool = self.make_pool(max=2, max_concurrency=2, idle_shutdown_after=None)
        self.assertEqual(self.listed(), [], "min=0 boots nothing up front")
        with ThreadPoolExecutor(6) as ex:
            results = list(ex.map(lambda _: pool.run(CONCURRENCY_PROBE), range(6)))
        self.assertTrue(all(r.exit_code == 0 for r in results), results)
        runners = self.listed()
        self.assertEqual(len(runners), 2)
        self.assertEqual({r.id for r in runners}, {r.id for r in pool.runners})
        seen = [r.stdout.decode().split() for r in results]
        hosts = [h for h, _ in seen]
        self.assertEqual(set(hosts), {r.name for r in runners})
        self.assertEqual(max(int(n) for _, n in seen), 2, "max_concurrency is used, not exceeded")
        # Least-loaded placement: two held slots land on two runners, though one
        # runner alone has room for both.
        with pool.checkout() as a, pool.checkout() as b:
            self.assertNotEqual(a.id, b.id)
            with pool.checkout() as c:
                self.assertIn(c.id, {a.id, b.id})
        self.assertEqual(len(self.listed()), 2)

    def test_callers_over_capacity_wait_then_time_out(self):
        pool = self.make_pool(max=1, max_concurrency=1, checkout_timeout=0.3)
        with pool.checkout() as runner:
            self.assertEqual(self.client.run(runner.id, ["true"]).exit_code, 0)
            t0 = time.monotonic()
            with self.assertRaises(flamed.PoolTimeoutError) as cm:
                pool.run(["true"])
            self.assertGreaterEqual(time.monotonic() - t0, 0.3)
            self.assertEqual(cm.exception.reason, "POOL_CHECKOUT_TIMEOUT")
            # A caller that waits longer gets the slot once the holder lets go.
            waiter = threading.Thread(
                target=lambda: setattr(self, "late", pool.run(["echo", "late"],
                                                              checkout_timeout=10)))
            waiter.start()
            time.sleep(0.3)
            self.assertTrue(waiter.is_alive())
        waiter.join(10)
        self.assertEqual(self.late.stdout, b"late\n")
        self.assertEqual(len(self.listed()), 1)

    def test_idle_runners_above_min_shut_down(self):
        pool = self.make_pool(min=1, max=2, max_concurrency=1, idle_shutdown_after=1.0)
        self.assertEqual(len(self.listed()), 1, "min runners boot with the pool")
        with pool.checkout() as a, pool.checkout() as b:  # the second slot boots a runner
            self.assertNotEqual(a.id, b.id)
            self.assertEqual(len(self.listed()), 2)
        self.assertEqual(self.wait_for_count(1, within=8), 1, "shrinks to min when idle")
        time.sleep(1.5)
        self.assertEqual(len(self.listed()), 1, "never below min")
        self.assertEqual(pool.run(["true"]).exit_code, 0)
        self.assertEqual([r.id for r in pool.runners], [r.id for r in self.listed()])

    def test_context_manager_shuts_everything_down(self):
        with flamed.Pool(self.client, IMAGE, network=H.network, pool=self.name,
                         labels=H.labels, min=2, max=3, shutdown_timeout_ms=100) as pool:
            self.assertEqual(len(self.listed()), 2)
            self.assertEqual(pool.run(["echo", "hi"]).stdout, b"hi\n")
            ids = [r.container_id for r in pool.runners]
        self.assertEqual(self.listed(), [])
        for cid in ids:
            self.assertEqual(docker("ps", "-aq", "--filter", f"id={cid}"), "")
        with self.assertRaises(flamed.PoolClosedError):
            pool.run(["true"])

    def test_a_runner_gone_on_its_own_leaves_the_pool(self):
        pool = self.make_pool(min=1, max=1, idle_shutdown_after=None)
        first = pool.runners[0]
        self.client.shutdown(first.id, timeout_ms=100)  # behind the pool's back
        deadline = time.monotonic() + 10
        while first in pool.runners and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertNotIn(first, pool.runners, "Watch told the pool the runner is gone")
        self.assertEqual(pool.run(["true"]).exit_code, 0)
        runners = self.listed()
        self.assertEqual(len(runners), 1)
        self.assertNotEqual(runners[0].id, first.id)

    def test_the_pool_holds_its_runners_leases(self):
        pool = self.make_pool(min=1, max=1, idle_shutdown_after=None, lease_ttl_ms=400)
        runner = pool.runners[0]
        self.assertEqual((runner.parent_id, runner.lease_ttl_ms), (pool.parent_id, 400))
        time.sleep(2.0)  # five leases long: only the pool's Watch and Renew keep it alive
        if [r.id for r in self.listed()] != [runner.id]:
            final = self.client.shutdown(runner.id, timeout_ms=100)
            self.assertNotIn("lease expired", final.error,
                             "flamed retired the runner: the pool did not hold its lease")
            # Every flamed adopts every flamed-labelled container when it starts, and
            # enforces the lease it finds there: another flamed started on this dockerd
            # meanwhile (a concurrent test run) stops leased runners it was never told of.
            self.skipTest(f"runner stopped by someone else ({final.state.name}, exit code "
                          f"{final.exit_code}): another flamed on this dockerd adopted it")
        self.assertEqual(pool.run(["true"]).exit_code, 0)

    def test_boot_failure_reaches_the_caller(self):
        pool = self.make_pool(image="flamed-test/no-such-image:latest", pull_policy="never",
                              max=1)
        for _ in range(2):  # the pool is not wedged by a failed boot
            with self.assertRaises(flamed.FlamedError) as cm:
                pool.run(["true"], checkout_timeout=5)
            self.assertEqual((cm.exception.code, cm.exception.reason),
                             ("NOT_FOUND", "IMAGE_NOT_FOUND"))
        self.assertEqual(self.listed(), [])

    def test_bad_options_are_refused_before_any_boot(self):
        with self.assertRaises(ValueError):
            flamed.Pool(self.client, IMAGE, min=3, max=2)
        with self.assertRaises(ValueError):
            flamed.Pool(self.client, IMAGE, max_concurrency=0)
        with self.assertRaises(TypeError):
            flamed.Pool(self.client, IMAGE, max=1, memory="512m")
        with self.assertRaises(TypeError):  # one key for every boot would be one runner
            flamed.Pool(self.client, IMAGE, max=1, request_id="x")


if __name__ == "__main__":
    unittest.main()
