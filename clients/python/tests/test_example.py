"""examples/python/counter_demo.py run as a user would, against a real node."""

import os
import socket
import subprocess
import sys
import unittest

from nodes import NodeTestCase

DEMO = os.path.join(os.environ.get("ACTOR_EXAMPLES_DIR") or os.path.join(
    os.path.dirname(__file__), "..", "..", "..", "examples", "python"), "counter_demo.py")


def run_demo(*args):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # it must find the client itself
    return subprocess.run([sys.executable, DEMO, *args], capture_output=True, text=True, timeout=60, env=env)


class CounterDemoTest(NodeTestCase):
    def test_the_demo_counts_and_stops_its_counter(self):
        node = self.start_node("demo")
        done = run_demo(node.address, "--start", "100")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("incremented by 3: 106", done.stdout)
        self.assertIn("value: 116", done.stdout)
        self.assertIn("stop: stopped", done.stdout)

    def test_the_demo_reports_a_node_that_is_not_there(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        done = run_demo(f"tcp://127.0.0.1:{port}", "--timeout", "1")
        self.assertEqual(done.returncode, 1)
        self.assertRegex(done.stderr, "node_down|timeout")


if __name__ == "__main__":
    unittest.main()
