"""Tasks (docs/tasks.md) from Python: a sequence of the built-in pulse task started on a node, its
state asked and changed, and a sequence whose second task is refused (the bad key named), the first
one stopped again."""

import unittest

from libactor_client import BadMessage, Bridge
from nodes import SLOWDOWN, NodeTestCase, poll_until

FAST = ["--heartbeat-ms", str(100 * SLOWDOWN), "--suspect-after-ms", str(300 * SLOWDOWN),
        "--down-after-ms", str(600 * SLOWDOWN)]


class TaskTest(NodeTestCase):
    def setUp(self):
        self.bridge = Bridge(name="pytask", heartbeat=0.1 * SLOWDOWN, down_after=0.6 * SLOWDOWN)
        self.addCleanup(self.bridge.close)

    def test_a_sequence_starts_and_the_state_is_asked_and_changed(self):
        node = self.start_node("pytask-a", *FAST)
        refs = self.bridge.start_tasks(node.address, [("pulse", "p1", {"interval_ms": 50}),
                                                      ("pulse", "p2", {"start": "paused"})])
        self.assertEqual(len(refs), 2)
        self.assertEqual(self.bridge.task_state(refs[0]),
                         {"state": "beating", "phase": "running", "states": ["beating", "paused"]})
        self.assertEqual(self.bridge.task_state(f"p2@{node.address}")["state"], "paused")
        self.assertEqual(self.bridge.call(refs[0], "actor.pulse.pause", {})["state"], "paused")
        self.assertEqual(self.bridge.task_state(refs[0])["state"], "paused")

    def test_a_refused_task_stops_the_sequence_and_names_the_key(self):
        node = self.start_node("pytask-b", *FAST)
        alive = self.bridge.stats(node.address)["actors_alive"]
        with self.assertRaises(BadMessage) as caught:
            self.bridge.start_tasks(node.address, [("pulse", "ok", {}), ("pulse", "bad", {"interval_ms": "soon"})])
        self.assertIn("task 2 of 2 (pulse 'bad'): spawn", str(caught.exception))
        self.assertIn("config key 'interval_ms' must be an integer", str(caught.exception))
        self.assertTrue(poll_until(lambda: self.bridge.stats(node.address)["actors_alive"] == alive, 5.0 * SLOWDOWN))


if __name__ == "__main__":
    unittest.main()
