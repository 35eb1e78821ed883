"""Receive-style actors from Python (docs/receivers.md): the node's printers (a coroutine receiver
and one on a thread of its own) take dynamic messages with positional arguments, as a script sends
them, answer calls, keep their order, refuse what they cannot read, and stop when asked."""

import unittest

from libactor_client import ActorStopped, BadMessage, Bridge, NoSuchActor

from nodes import SLOWDOWN, NodeTestCase


class ReceiverTest(NodeTestCase):
    def setUp(self):
        self.bridge = Bridge(name="pyrecv")
        self.addCleanup(self.bridge.close)

    def check_printer(self, kind):
        node = self.start_node("pyrecv-" + kind, "--spawn", kind + ":p1")
        p1 = "p1@" + node.address
        reply = self.bridge.call(p1, "printer.greeting", ["World"], timeout=5 * SLOWDOWN)
        self.assertEqual((reply.type, reply["line"]), ("printer.printed", "Hello World"))
        # sends, then a call: the printer handles them in order
        for who in ("a", "b", "c"):
            self.bridge.send(p1, "printer.farewell", [who])
        self.assertEqual(self.bridge.call(p1, "printer.greeting", {"who": "d"})["line"], "Hello d")
        lines = self.bridge.call(p1, "printer.lines", [])["lines"]
        self.assertEqual(lines, ["Hello World", "Goodbye a", "Goodbye b", "Goodbye c", "Hello d"])
        self.assertIn("Hello World", node.log())  # the seed's printer prints
        with self.assertRaises(BadMessage) as caught:
            self.bridge.call(p1, "printer.greeting", [])
        self.assertIn('["name"]', str(caught.exception))
        with self.assertRaises(BadMessage) as caught:
            self.bridge.call(p1, "printer.dance", [])
        self.assertIn("does not understand printer.dance", str(caught.exception))
        self.assertEqual(self.bridge.stop([p1], timeout=5 * SLOWDOWN)[p1], "stopped")
        with self.assertRaises((NoSuchActor, ActorStopped)):
            self.bridge.call(p1, "printer.lines", [])

    def test_a_coroutine_printer(self):
        self.check_printer("printer")

    def test_a_thread_printer(self):
        self.check_printer("thread_printer")


if __name__ == "__main__":
    unittest.main()
