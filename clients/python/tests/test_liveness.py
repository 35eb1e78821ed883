"""A client the node forgot (frozen past the node's down bound) is told so at once: HELLO_AGAIN."""

import os
import signal
import subprocess
import sys
import time
import unittest

import msgpack
import zmq

from libactor_client import Bridge, wire
from nodes import SLOWDOWN, NodeTestCase, poll_until

# the node's liveness: a client silent (and unreachable) past the down bound is forgotten
NODE_LIVENESS = ["--heartbeat-ms", str(100 * SLOWDOWN), "--suspect-after-ms", str(200 * SLOWDOWN),
                 "--down-after-ms", str(300 * SLOWDOWN)]

# A client in its own process, so that it can be frozen (SIGSTOP) as a whole: one ping per
# line on stdin, one outcome per line on stdout.
CLIENT = r"""
import sys, time
from libactor_client import Bridge, ActorError
node = sys.argv[1]
with Bridge(name="frozen", heartbeat=0.1, down_after=2.0) as b:
    for line in sys.stdin:
        start = time.monotonic()
        try:
            b.ping(node, timeout=5.0)
            outcome = "ok"
        except ActorError as ex:
            outcome = type(ex).__name__
        print(outcome, round(time.monotonic() - start, 3), flush=True)
"""


class ForgottenClientTest(NodeTestCase):
    def setUp(self):
        self.node = self.start_node("pyfz", *NODE_LIVENESS)
        self.observer = Bridge(name="observer", heartbeat=0.1)
        self.addCleanup(self.observer.close)

    def clients(self):
        return self.observer.stats(self.node.address)["clients"]

    def test_a_client_frozen_past_the_node_down_bound_is_served_at_once_when_resumed(self):
        env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(wire.__file__))))
        child = subprocess.Popen([sys.executable, "-c", CLIENT, self.node.address], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, env=env, text=True)
        self.addCleanup(child.wait)
        self.addCleanup(child.kill)

        def call():
            child.stdin.write("ping\n")
            child.stdin.flush()
            return child.stdout.readline().split()

        self.assertEqual(call()[0], "ok")
        self.assertTrue(poll_until(lambda: self.clients() == 2, 5), "the node never knew both clients")
        child.send_signal(signal.SIGSTOP)
        try:
            # frozen until the node forgot it: its connection gone past the down bound
            self.assertTrue(poll_until(lambda: self.clients() == 1, 20 * SLOWDOWN, pause=0.05),
                            "the node never forgot the frozen client")
        finally:
            child.send_signal(signal.SIGCONT)
        for _ in range(3):
            outcome, elapsed = call()
            self.assertEqual(outcome, "ok")
            self.assertLess(float(elapsed), 2.0 * SLOWDOWN)

    def test_a_batch_from_a_connection_the_node_does_not_know_is_answered_with_hello_again(self):
        ctx = zmq.Context()
        sock = ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.RCVTIMEO, int(2000 * SLOWDOWN))
        try:
            sock.connect(self.node.address)
            request = wire.Envelope(wire.REQUEST, wire.Ref("x", "", 0, 3), wire.Ref.manager(self.node.address), 42,
                                    1000, "actor.node.ping", {})
            sock.send(wire.encode(wire.Batch((request,))))  # no HELLO first
            frame = wire.decode(sock.recv())
            self.assertIsInstance(frame, wire.HelloAgain)
            self.assertEqual(frame.incarnation, self.node.incarnation)
            self.assertEqual(frame.dropped, ((3, 42),))
            # a flood is answered at most once per 100 ms, not once per frame
            start = time.monotonic()
            for _ in range(2000):
                sock.send(wire.encode(wire.Batch((request,))))
            answers = []
            sock.setsockopt(zmq.RCVTIMEO, int(500 * SLOWDOWN))
            try:
                while True:
                    answers.append(wire.decode(sock.recv()))
            except zmq.Again:
                pass
            elapsed = time.monotonic() - start
            self.assertGreaterEqual(len(answers), 1)
            self.assertLessEqual(len(answers), elapsed / 0.1 + 2)
            self.assertEqual(sum(len(a.dropped) for a in answers), 2000)  # every dropped request listed once
            # a PING from it gets its PONG, and HELLO_AGAIN: a PONG alone would say all is well
            time.sleep(0.1)  # past the rate limit's interval (not a synchronization)
            sock.send(wire.encode(wire.Ping(1, 5)))
            got = {type(wire.decode(sock.recv())), type(wire.decode(sock.recv()))}
            self.assertEqual(got, {wire.Pong, wire.HelloAgain})
        finally:
            sock.close()
            ctx.term()


class UnresolvableTest(unittest.TestCase):
    def test_a_call_to_a_host_that_cannot_be_resolved_fails_at_once_with_node_down_naming_it(self):
        from libactor_client import NodeDown
        with Bridge(name="resolver") as b:
            for _ in range(2):
                start = time.monotonic()
                with self.assertRaises(NodeDown) as cm:
                    b.ping("tcp://nosuchhost.invalid:7100", timeout=5.0)
                self.assertIn("cannot resolve nosuchhost.invalid", cm.exception.text)
                self.assertLess(time.monotonic() - start, 1.0)

    def test_a_call_to_where_nothing_listens_fails_at_once_with_node_down_naming_it(self):
        from libactor_client import NodeDown
        import socket
        with socket.socket() as s:  # a port nothing listens on once this is closed
            s.bind(("127.0.0.1", 0))
            address = "tcp://127.0.0.1:%d" % s.getsockname()[1]
        with Bridge(name="nowhere", down_after=5.0) as b:  # the handshake bound is not what fails it
            for _ in range(2):
                start = time.monotonic()
                with self.assertRaises(NodeDown) as cm:
                    b.ping(address, timeout=8.0)
                self.assertIn(address, cm.exception.text)
                self.assertIn("nothing listens", cm.exception.text)
                self.assertLess(time.monotonic() - start, 1.0)


if __name__ == "__main__":
    unittest.main()
