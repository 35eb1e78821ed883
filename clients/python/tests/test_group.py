"""Groups (docs/groups.md) from Python: members listed by the registry and by a node, a publish that
reaches each member once (built-in counters that joined from their spawn config), a member gone
with its node, and bad group names refused before anything is sent."""

import unittest

from libactor_client import BadMessage, Bridge
from nodes import SLOWDOWN, NodeTestCase, poll_until

FAST = ["--heartbeat-ms", str(100 * SLOWDOWN), "--suspect-after-ms", str(300 * SLOWDOWN),
        "--down-after-ms", str(600 * SLOWDOWN)]
INCR, GET = "actor.counter.incr", "actor.counter.get"
TALLY = '={"groups": ["tally"]}'


class GroupTest(NodeTestCase):
    def bridge(self, *registries):
        b = Bridge([r.address for r in registries], name="pygroup", heartbeat=0.1 * SLOWDOWN,
                   down_after=0.6 * SLOWDOWN)
        self.addCleanup(b.close)
        return b

    def value(self, bridge, name, node):
        return bridge.call(bridge.lookup(name, node=node.address), GET, {})["value"]

    def test_publish_reaches_each_member_once_and_a_killed_nodes_members_go(self):
        registry = self.start_registry("pg-reg")
        reg_args = FAST + ["--registry", registry.address]
        a = self.start_node("pg-a", *reg_args, "--spawn", "counter:a1" + TALLY, "--spawn", "counter:a2" + TALLY)
        b = self.start_node("pg-b", *reg_args, "--spawn", "counter:b1" + TALLY)
        bridge = self.bridge(registry)
        self.assertTrue(poll_until(lambda: len(bridge.members("tally")) == 3, 5.0 * SLOWDOWN))
        for _ in range(4):
            out = bridge.publish("tally", INCR, {"by": 2})
            self.assertEqual((out["members"], out["sent"], out["failed"]), (3, 3, []))
        for name, node in (("a1", a), ("a2", a), ("b1", b)):
            self.assertTrue(poll_until(lambda: self.value(bridge, name, node) == 8, 5.0 * SLOWDOWN), name)
        # a node's view of the group is the same
        self.assertEqual(sorted(map(str, bridge.members("tally", node=a.address))),
                         sorted(map(str, bridge.members("tally"))))
        b.kill()
        self.assertTrue(poll_until(lambda: len(bridge.members("tally")) == 2, 5.0 * SLOWDOWN))
        out = bridge.publish("tally", INCR, {"by": 1})
        self.assertEqual((out["members"], out["sent"]), (2, 2))
        self.assertTrue(poll_until(lambda: self.value(bridge, "a1", a) == 9, 5.0 * SLOWDOWN))

    def test_bad_group_names_are_refused(self):
        bridge = Bridge([], name="pygroup-bad")
        self.addCleanup(bridge.close)
        for bad in ("", "a/b", "x" * 201):
            with self.assertRaises(BadMessage):
                bridge.publish(bad, INCR, {"by": 1})


if __name__ == "__main__":
    unittest.main()
