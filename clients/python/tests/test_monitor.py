"""Bridge.monitor against real nodes: one DownReason per monitor (stopped, crashed with text and
error_type, noproc, node_down, node_restarted), none after cancel()."""

import os
import signal
import subprocess
import sys
import time
import unittest

from libactor_client import Bridge, DownReason, NodeDown, NoSuchActor, RemoteError, ShuttingDown, Timeout, wire

from nodes import SLOWDOWN, NodeTestCase, poll_until

FAST = ["--heartbeat-ms", str(100 * SLOWDOWN), "--suspect-after-ms", str(300 * SLOWDOWN),
        "--down-after-ms", str(600 * SLOWDOWN)]
DOWN_AFTER = 0.6 * SLOWDOWN  # the client's


class MonitorTest(NodeTestCase):
    def setUp(self):
        self.bridge = Bridge(name="pymon", heartbeat=0.1 * SLOWDOWN, down_after=DOWN_AFTER)
        self.addCleanup(self.bridge.close)

    def test_stopped_by_name_once(self):
        node = self.start_node("pymon-stop", *FAST)
        ref = self.bridge.spawn(node.address, "counter", "watched")
        m = self.bridge.monitor(f"watched@{node.address}")
        self.assertEqual(m.target, ref)
        with self.assertRaises(Timeout):
            m.wait(0.1)  # nothing yet; the monitor stays
        self.assertEqual(self.bridge.stop([ref]), {ref: "stopped"})
        reason = m.wait(5)
        self.assertEqual(reason, DownReason("stopped"))
        self.assertEqual(reason.to_dict(), {"what": "stopped", "text": "", "error_type": ""})
        self.assertIs(m.wait(0), reason)
        self.assertTrue(m.done())
        self.assertFalse(m.cancel())  # done: nothing to cancel

    def test_crashed_with_text_and_type(self):
        node = self.start_node("pymon-crash", *FAST, binary_var="ACTOR_TEST_NODE_BIN")
        ref = self.bridge.spawn(node.address, "crasher")
        m = self.bridge.monitor(ref)
        with self.assertRaises(RemoteError):
            self.bridge.call(ref, "itest.boom", {})
        reason = m.wait(5)
        self.assertEqual((reason.what, reason.error_type), ("crashed", "std::runtime_error"))
        self.assertTrue(reason.text.endswith("boom"), reason.text)  # the exception's message, in the core's words
        self.assertEqual(reason.describe(), "crashed: " + reason.text)
        self.assertTrue(reason.abnormal)

    def test_cancel_then_no_down(self):
        node = self.start_node("pymon-cancel", *FAST)
        ref = self.bridge.spawn(node.address, "counter")
        m = self.bridge.monitor(ref)
        self.assertTrue(m.cancel())
        self.assertFalse(m.cancel())
        kept = self.bridge.monitor(ref)
        self.bridge.stop([ref])
        self.assertEqual(kept.wait(5).what, "stopped")
        with self.assertRaises(ShuttingDown):
            m.wait(0.5)
        self.assertIsNone(m.reason)

    def test_a_name_nobody_holds_fails_at_once(self):
        node = self.start_node("pymon-noname", *FAST)
        start = time.monotonic()
        with self.assertRaises(NoSuchActor):
            self.bridge.monitor(f"nobody@{node.address}")
        self.assertLess(time.monotonic() - start, 2)

    def test_noproc_from_the_node(self):
        node = self.start_node("pymon-noproc", *FAST)
        ref = self.bridge.spawn(node.address, "counter")
        self.bridge.stop([ref])
        m = self.bridge.monitor(ref)
        reason = m.wait(3)  # answered by the node for the actor it no longer has
        self.assertEqual(reason.what, "noproc")

    def test_node_down_after_sigkill_within_the_down_bound(self):
        node = self.start_node("pymon-doomed", *FAST)
        refs = [self.bridge.spawn(node.address, "counter") for _ in range(10)]
        monitors = [self.bridge.monitor(r) for r in refs]
        monitors[0].sync()
        node.kill()
        killed = time.monotonic()
        reason = monitors[0].wait(DOWN_AFTER + 3)
        took = time.monotonic() - killed
        self.assertEqual(reason.what, "node_down")
        self.assertIn(node.address, reason.text)
        self.assertLess(took, DOWN_AFTER + 0.5 * SLOWDOWN)
        for m in monitors[1:]:  # the same connection: all of them at once
            self.assertEqual(m.wait(0).what, "node_down")

    def test_node_restarted_at_the_same_address(self):
        bridge = Bridge(name="pymon-restart", heartbeat=0.1 * SLOWDOWN, down_after=10.0)
        self.addCleanup(bridge.close)
        first = self.start_node("pymon-phoenix", *FAST)
        address = first.address
        ref = bridge.spawn(address, "counter")
        m = bridge.monitor(ref)
        m.sync()
        first.kill()
        self.start_node("pymon-phoenix", *FAST, "--listen", address)
        reason = m.wait(8)
        self.assertEqual(reason.what, "node_restarted")
        # the new run is served and monitored as any node
        ref2 = bridge.spawn(address, "counter")
        m2 = bridge.monitor(ref2)
        bridge.stop([ref2])
        self.assertEqual(m2.wait(5).what, "stopped")
        self.assertIs(m.wait(0), reason)

    def test_a_monitor_of_the_new_run_sent_before_the_restart_was_seen_hears_its_real_down(self):
        # the Bridge still speaks to the old run when it monitors an actor of the new one: the new
        # run drops that monitor (it does not know the client yet); the Bridge sends it again once it
        # sees the restart, and the actor's real reason comes (it once came as node_restarted)
        bridge = Bridge(name="pymon-newrun", heartbeat=0.1 * SLOWDOWN, down_after=10.0)
        self.addCleanup(bridge.close)
        first = self.start_node("pymon-newrun", *FAST)
        address = first.address
        old = bridge.monitor(bridge.spawn(address, "counter"))
        old.sync()
        first.kill()
        self.start_node("pymon-newrun", *FAST, "--listen", address)
        other = Bridge(name="pymon-other")
        self.addCleanup(other.close)
        fresh = other.spawn(address, "counter")
        m = bridge.monitor(fresh)
        try:
            m.sync()  # the ping may be the request that meets the restart
        except NodeDown:
            m.sync()
        self.assertEqual(old.wait(5).what, "node_restarted")
        self.assertIsNone(m.reason)
        other.stop([fresh])
        self.assertEqual(m.wait(5).what, "stopped")

    def test_a_frozen_node_gives_node_down_once(self):
        node = self.start_node("pymon-frozen", *FAST)
        ref = self.bridge.spawn(node.address, "counter")
        m = self.bridge.monitor(ref)
        m.sync()
        os.kill(node.pid, signal.SIGSTOP)
        try:
            reason = m.wait(DOWN_AFTER + 3)
        finally:
            os.kill(node.pid, signal.SIGCONT)
        self.assertEqual(reason.what, "node_down")
        # served again once it runs; the actor it kept stops now: no second down
        self.assertTrue(poll_until(lambda: self._pings(node.address), 10))
        self.assertEqual(self.bridge.stop([ref]), {ref: "stopped"})
        self.assertIs(m.wait(0), reason)

    def _pings(self, address):
        try:
            self.bridge.ping(address, timeout=0.5)
            return True
        except Exception:  # noqa: BLE001 (down until it answers)
            return False


# A monitoring client in its own process, so that it can be frozen (SIGSTOP) as a whole.
CLIENT = r"""
import sys
from libactor_client import Bridge
with Bridge(name="frozen-monitor", heartbeat=0.1, down_after=2.0) as b:
    m = b.monitor(sys.argv[1])
    m.sync()
    print("monitoring", flush=True)
    print(m.wait(60).what, flush=True)
"""


class FrozenClientTest(NodeTestCase):
    def test_a_client_frozen_past_the_node_down_bound_still_hears_the_down(self):
        node = self.start_node("pymon-forgets", "--heartbeat-ms", str(100 * SLOWDOWN), "--suspect-after-ms",
                               str(200 * SLOWDOWN), "--down-after-ms", str(300 * SLOWDOWN))
        observer = Bridge(name="observer", heartbeat=0.1)
        self.addCleanup(observer.close)
        ref = observer.spawn(node.address, "counter")
        env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(wire.__file__))))
        child = subprocess.Popen([sys.executable, "-c", CLIENT, str(ref)], stdout=subprocess.PIPE, env=env, text=True)
        self.addCleanup(child.wait)
        self.addCleanup(child.kill)
        self.assertEqual(child.stdout.readline().strip(), "monitoring")

        def clients():
            return observer.stats(node.address)["clients"]

        self.assertEqual(clients(), 2)
        os.kill(child.pid, signal.SIGSTOP)
        forgotten = poll_until(lambda: clients() == 1, 20 * SLOWDOWN, pause=0.05)
        os.kill(child.pid, signal.SIGCONT)
        self.assertTrue(forgotten, "the node never forgot the frozen client")
        # welcomed again, it sends its monitor again (the actor keeps one entry per watcher and id)
        self.assertTrue(poll_until(lambda: clients() == 2, 10, pause=0.05))
        self.assertEqual(observer.stop([ref]), {ref: "stopped"})
        self.assertEqual(child.stdout.readline().strip(), "stopped")


class DownReasonTest(unittest.TestCase):
    def test_from_wire_checks_the_map(self):
        self.assertEqual(DownReason.from_wire({"what": "noproc", "text": "", "error_type": ""}), DownReason("noproc"))
        for bad in (None, {}, {"what": 3}, {"what": "exploded"}, {"what": "crashed", "text": 5}):
            with self.assertRaises(ValueError):
                DownReason.from_wire(bad)


if __name__ == "__main__":
    unittest.main()
