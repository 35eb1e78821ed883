"""Supervisors from Python (docs/supervisors.md): a supervisor spawned by type name with its spec as
a config map; its child, crashed through a call, is heard of through a monitor and restarted under
its name; the stats say so; a bad spec is refused with the key named."""

import unittest

from libactor_client import BadMessage, Bridge, NoSuchActor, RemoteError

from nodes import SLOWDOWN, NodeTestCase, poll_until

SPEC = {"strategy": "one_for_one", "backoff_min_ms": 0, "backoff_max_ms": 0,
        "children": [{"type": "crasher", "name": "fragile", "restart": "permanent"}]}


class SupervisorTest(NodeTestCase):
    def setUp(self):
        self.bridge = Bridge(name="pysup")
        self.addCleanup(self.bridge.close)

    def find(self, name, node):
        try:
            return self.bridge.lookup(name, node=node.address)
        except NoSuchActor:
            return None  # not (yet, or again) registered

    def stats(self, sup):
        return self.bridge.call(sup, "actor.supervisor.stats", {}, timeout=5).body

    def test_a_crashed_child_comes_back_under_its_name(self):
        node = self.start_node("pysup", binary_var="ACTOR_TEST_NODE_BIN")
        sup = self.bridge.spawn(node.address, "supervisor", "sup", SPEC)
        first = poll_until(lambda: self.find("fragile", node), 5 * SLOWDOWN)
        self.assertIsNotNone(first)
        m = self.bridge.monitor(first)
        m.sync()
        with self.assertRaises(RemoteError):
            self.bridge.call(first, "itest.boom", {})
        reason = m.wait(5 * SLOWDOWN)
        self.assertEqual((reason.what, reason.error_type), ("crashed", "std::runtime_error"))

        def restarted():
            child = self.stats(sup)["children"][0]
            return child if child["restarts"] == 1 and child["state"] == "running" else None
        child = poll_until(restarted, 5 * SLOWDOWN)
        self.assertIsNotNone(child, self.stats(sup))
        self.assertTrue(child["last_reason"].startswith("crashed"), child)
        again = poll_until(lambda: (lambda r: r if r not in (None, first) else None)(self.find("fragile", node)),
                              5 * SLOWDOWN)
        self.assertIsNotNone(again)
        with self.assertRaises(RemoteError):  # the new child answers (by crashing, as it does)
            self.bridge.call("fragile@" + node.address, "itest.boom", {})

    def test_a_bad_spec_is_refused_naming_the_key(self):
        node = self.start_node("pysup-bad", binary_var="ACTOR_TEST_NODE_BIN")
        with self.assertRaises(BadMessage) as caught:
            self.bridge.spawn(node.address, "supervisor", "", {"strategy": "one_for_none", "children": []})
        self.assertIn("strategy", str(caught.exception))


if __name__ == "__main__":
    unittest.main()
