"""Names through real actor-registry processes: lookup, list, calls by name, failover."""

import time
import unittest

from libactor_client import Bridge, NoSuchActor
from nodes import SLOWDOWN, NodeTestCase, poll_until

DOWN_AFTER = 0.6 * SLOWDOWN
HEARTBEAT = 0.1 * SLOWDOWN
FAST = ["--heartbeat-ms", str(100 * SLOWDOWN), "--suspect-after-ms", str(300 * SLOWDOWN),
        "--down-after-ms", str(600 * SLOWDOWN)]


def registered_at(*registries):
    args = list(FAST)
    for r in registries:
        args += ["--registry", r.address]
    return args


class RegistryTest(NodeTestCase):
    def bridge(self, *registries):
        b = Bridge([r.address for r in registries], name="pytest", heartbeat=HEARTBEAT, down_after=DOWN_AFTER)
        self.addCleanup(b.close)
        return b

    def resolves(self, bridge, name, limit=5.0):
        """Waits until `name` resolves (names are registered in the background); its Ref or None."""
        def attempt():
            try:
                return bridge.lookup(name, timeout=1.0)
            except NoSuchActor:
                return None
        return poll_until(attempt, limit * SLOWDOWN)

    def test_a_name_a_node_registers_resolves_and_can_be_called_and_listed(self):
        registry = self.start_registry("r1")
        node = self.start_node("n1", *registered_at(registry), "--spawn", "counter:c1", "--spawn", "kv:cache")
        bridge = self.bridge(registry)
        ref = self.resolves(bridge, "c1")
        self.assertIsNotNone(ref, "c1 never appeared in the registry")
        # (the registry's refs may carry no node name: refs are equal by address, incarnation and id)
        self.assertEqual((ref.address, ref.incarnation), (node.address, node.incarnation))
        self.assertEqual(bridge.call("c1", "actor.counter.incr", {"by": 4})["value"], 4)
        self.assertEqual(bridge.call(ref, "actor.counter.get")["value"], 4)
        self.assertTrue(poll_until(lambda: "cache" in bridge.list(), 5 * SLOWDOWN))
        self.assertEqual(list(bridge.list()), ["c1", "cache"])  # sorted by name
        self.assertEqual(bridge.list("c1"), {"c1": ref})
        self.assertEqual(bridge.list("zz"), {})
        with self.assertRaises(NoSuchActor) as cm:
            bridge.lookup("nobody")
        self.assertEqual(cm.exception.code, 2)

    def test_a_name_given_at_spawn_is_registered_and_goes_when_its_actor_stops(self):
        registry = self.start_registry("r1")
        node = self.start_node("n1", *registered_at(registry))
        bridge = self.bridge(registry)
        ref = bridge.spawn(node.address, "kv", name="store")
        self.assertEqual(self.resolves(bridge, "store"), ref)
        self.assertEqual(bridge.stop(["store"]), {"store": "stopped"})
        self.assertTrue(poll_until(lambda: "store" not in bridge.list(), 5 * SLOWDOWN), "store stayed registered")

    def test_lookups_fail_over_to_the_next_registry_when_one_is_down(self):
        r1, r2 = self.start_registry("r1"), self.start_registry("r2")
        self.start_node("n1", *registered_at(r1, r2), "--spawn", "counter:c1")
        bridge = self.bridge(r1, r2)
        ref = self.resolves(bridge, "c1")
        self.assertIsNotNone(ref)
        r1.kill()
        start = time.monotonic()
        self.assertEqual(bridge.lookup("c1", timeout=10), ref)
        self.assertLess(time.monotonic() - start, DOWN_AFTER + 1.0)
        self.assertEqual(bridge.list("c"), {"c1": ref})  # r2, the one that answered, is asked first now
        self.assertLess(time.monotonic() - start, DOWN_AFTER + 1.0)

    def test_a_name_one_registry_does_not_know_is_asked_of_the_next(self):
        empty, full = self.start_registry("empty"), self.start_registry("full")
        self.start_node("n1", *registered_at(full), "--spawn", "counter:c1")
        self.assertIsNotNone(self.resolves(self.bridge(full), "c1"))
        bridge = self.bridge(empty, full)
        self.assertEqual(bridge.lookup("c1"), self.bridge(full).lookup("c1"))
        with self.assertRaises(NoSuchActor):  # nobody has it: a miss everywhere
            bridge.lookup("nobody")


if __name__ == "__main__":
    unittest.main()
