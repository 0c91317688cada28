"""The hand-written parts (Client methods and keywords, dataclasses, enums) agree with
the proto as generated now: a proto change that adds an RPC, a field or an enum value
fails here until the binding covers it. No flamed needed."""

from __future__ import annotations

import dataclasses
import inspect
import unittest

import support  # noqa: F401  (puts the package on sys.path)

import flamed
from flamed import _generate
from flamed.client import pb


def fields(message) -> set:
    return {f.name for f in message.DESCRIPTOR.fields}


def params(method) -> set:
    return set(inspect.signature(method).parameters) - {"self"}


class ProtoAgreementTest(unittest.TestCase):
    def test_stubs_were_generated_from_the_current_proto(self):
        self.assertEqual(_generate._stamp(), _generate.proto_hash(_generate.proto_dir()))

    # RPCs a method of another name serves: SpawnStream is spawn(stdin=...).
    SERVED_BY = {"SpawnStream": "spawn"}

    def test_client_has_a_method_for_every_rpc(self):
        for method in pb.DESCRIPTOR.services_by_name["RunnerService"].methods:
            name = self.SERVED_BY.get(method.name, method.name.lower())
            self.assertTrue(callable(getattr(flamed.Client, name, None)),
                            f"Client.{name} for rpc {method.name}")

    def test_client_methods_take_every_request_field(self):
        self.assertLessEqual(fields(pb.BootRequest), params(flamed.Client.boot))
        self.assertLessEqual(fields(pb.SpawnRequest), params(flamed.Client.spawn))
        self.assertLessEqual(fields(pb.ShutdownRequest), params(flamed.Client.shutdown))
        self.assertLessEqual(fields(pb.WatchRequest), params(flamed.Client.watch))
        self.assertLessEqual(fields(pb.ListRequest), params(flamed.Client.list))
        self.assertLessEqual(fields(pb.RenewRequest), params(flamed.Client.renew))

    def test_dataclasses_carry_every_response_field(self):
        for cls, message in ((flamed.Runner, pb.Runner), (flamed.Event, pb.WatchResponse),
                             (flamed.Renewal, pb.RenewResponse),
                             (flamed.PullProgress, pb.PullProgress)):
            self.assertEqual({f.name for f in dataclasses.fields(cls)}, fields(message), cls)

    def test_python_enums_cover_the_proto_enums(self):
        for py, proto, prefix in ((flamed.RunnerState, pb.RunnerState, "RUNNER_STATE_"),
                                  (flamed.EventType, pb.RunnerEventType, "RUNNER_EVENT_TYPE_"),
                                  (flamed.PullPolicy, pb.PullPolicy, "PULL_POLICY_")):
            want = {name[len(prefix):]: number for name, number in proto.items()}
            self.assertEqual({m.name: m.value for m in py}, want)

    def test_a_pulling_event_carries_its_progress_and_others_none(self):
        from flamed.client import event_from_pb
        m = pb.WatchResponse(type=pb.RUNNER_EVENT_TYPE_PULLING, sequence=9,
                             runner=pb.Runner(id="0123456789abcdef", state=pb.RUNNER_STATE_BOOTING),
                             pull=pb.PullProgress(image="app:1", bytes_done=5, bytes_total=10,
                                                  layers=2, layers_done=1))
        ev = event_from_pb(m)
        self.assertEqual(ev.type, flamed.EventType.PULLING)
        self.assertEqual(ev.pull, flamed.PullProgress("app:1", 5, 10, 2, 1))
        m.ClearField("pull")
        m.type = pb.RUNNER_EVENT_TYPE_STARTED
        self.assertIsNone(event_from_pb(m).pull)

    def test_enums_print_as_their_names_and_compare_as_numbers(self):
        state = flamed.RunnerState(2)
        self.assertEqual(f"{state}", "RUNNING")
        self.assertEqual(str(state), "RUNNING")
        self.assertEqual(f"{state:>8}", " RUNNING")
        self.assertEqual(f"{flamed.EventType.EXITED}", "EXITED")
        self.assertEqual(state, 2)
        self.assertEqual(int(flamed.PullPolicy.NEVER), 3)
        self.assertEqual(repr(state), "<RunnerState.RUNNING: 2>")


if __name__ == "__main__":
    unittest.main()
