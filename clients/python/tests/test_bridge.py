"""The Bridge against real actor-node processes on 127.0.0.1."""

import socket
import threading
import time
import unittest

import msgpack
import zmq

from libactor_client import (ActorError, ActorStopped, BadMessage, Bridge, NameTaken, NodeDown, NoSuchActor, Ref, Reply,
                             Timeout, UnknownType)
from nodes import SLOWDOWN, NodeTestCase, poll_until

DOWN_AFTER = 0.6 * SLOWDOWN  # the Bridge's silence bound in these tests
HEARTBEAT = 0.1 * SLOWDOWN


def unused_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BridgeTest(NodeTestCase):
    def setUp(self):
        self.node = self.start_node("py1")
        self.bridge = Bridge(name="pytest", heartbeat=HEARTBEAT, down_after=DOWN_AFTER)
        self.addCleanup(self.bridge.close)

    def test_echo_answers_with_the_same_message(self):
        echo = self.bridge.spawn(self.node.address, "echo")
        reply = self.bridge.call(echo, "actor.kv.put", {"key": "k", "value": "v"})
        self.assertEqual(reply, Reply("actor.kv.put", {"key": "k", "value": "v"}))

    def test_a_counter_counts_what_it_is_sent_and_asked(self):
        counter = self.bridge.spawn(self.node.address, "counter", config={"start": 10})
        self.assertEqual(self.bridge.call(counter, "actor.counter.incr", {"by": 5})["value"], 15)
        self.bridge.send(counter, "actor.counter.incr", {"by": -2})  # one-way, then a request behind it
        reply = self.bridge.call(counter, "actor.counter.get")
        self.assertEqual((reply.type, reply["value"]), ("actor.counter.value", 13))

    def test_threads_may_share_a_bridge(self):
        counter = self.bridge.spawn(self.node.address, "counter")
        errors = []

        def work():
            try:
                for _ in range(50):
                    self.bridge.call(counter, "actor.counter.incr", {"by": 1})
            except Exception as ex:  # reported below: an assertion in a thread would go unseen
                errors.append(ex)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual(errors, [])
        self.assertEqual(self.bridge.call(counter, "actor.counter.get")["value"], 200)

    def test_multi_call_answers_every_call_in_order(self):
        counters = [self.bridge.spawn(self.node.address, "counter", config={"start": i * 100}) for i in range(3)]
        ghost = Ref("py1", self.node.address, self.node.incarnation, 999999)
        calls = [(c, "actor.counter.incr", {"by": 1}) for c in counters] + [(ghost, "actor.counter.get", {})]
        outcomes = self.bridge.multi_call(calls, timeout=5)
        self.assertEqual([o["value"] for o in outcomes[:3]], [1, 101, 201])
        self.assertIsInstance(outcomes[3], NoSuchActor)

    def test_kv_puts_gets_and_lists_sorted_keys(self):
        kv = self.bridge.spawn(self.node.address, "kv")
        self.assertFalse(self.bridge.call(kv, "actor.kv.put", {"key": "b", "value": "2"})["existed"])
        self.assertFalse(self.bridge.call(kv, "actor.kv.put", {"key": "a", "value": "1"})["existed"])
        self.assertTrue(self.bridge.call(kv, "actor.kv.put", {"key": "a", "value": "one"})["existed"])
        self.assertEqual(self.bridge.call(kv, "actor.kv.get", {"key": "a"}).body, {"found": True, "value": "one"})
        self.assertFalse(self.bridge.call(kv, "actor.kv.get", {"key": "zz"})["found"])
        self.assertEqual(self.bridge.call(kv, "actor.kv.keys")["keys"], ["a", "b"])
        self.assertTrue(self.bridge.call(kv, "actor.kv.delete", {"key": "b"})["existed"])
        self.assertEqual(self.bridge.call(kv, "actor.kv.keys")["keys"], ["a"])

    def test_a_spawned_actor_is_reachable_through_its_ref_and_its_name(self):
        ref = self.bridge.spawn(self.node.address, "counter", name="c1")
        self.assertEqual((ref.node, ref.address, ref.incarnation), ("py1", self.node.address, self.node.incarnation))
        self.assertEqual(self.bridge.call(ref, "actor.counter.incr", {"by": 3})["value"], 3)
        self.assertEqual(self.bridge.lookup("c1", node=self.node.address), ref)
        with self.assertRaises(NameTaken) as cm:
            self.bridge.spawn(self.node.address, "counter", name="c1")
        self.assertEqual(cm.exception.code, 10)
        with self.assertRaises(UnknownType) as cm:
            self.bridge.spawn(self.node.address, "no_such_type")
        self.assertEqual(cm.exception.code, 11)

    def test_stopping_three_actors_answers_stopped_for_each(self):
        alive = self.bridge.stats(self.node.address)["actors_alive"]  # the node's manager counts too
        refs = [self.bridge.spawn(self.node.address, t) for t in ("echo", "counter", "kv")]
        self.assertEqual(self.bridge.stats(self.node.address)["actors_alive"], alive + 3)
        self.assertEqual(self.bridge.stop(refs), {r: "stopped" for r in refs})
        with self.assertRaises((ActorStopped, NoSuchActor)):  # the latter once the node forgot it
            self.bridge.call(refs[1], "actor.counter.get")
        # `stopped` comes just before the actor leaves the node's count
        self.assertTrue(poll_until(lambda: self.bridge.stats(self.node.address)["actors_alive"] == alive, 5))

    def test_stop_reports_the_error_of_each_target_that_fails(self):
        alive = self.bridge.spawn(self.node.address, "echo")
        gone = Ref("py1", self.node.address, self.node.incarnation, 9999)
        result = self.bridge.stop([alive, gone])
        self.assertEqual(result[alive], "stopped")
        self.assertIsInstance(result[gone], NoSuchActor)

    def test_an_unknown_actor_or_a_stale_ref_is_no_such_actor(self):
        with self.assertRaises(NoSuchActor) as cm:
            self.bridge.call(Ref("py1", self.node.address, self.node.incarnation, 9999), "actor.counter.get")
        self.assertEqual(cm.exception.code, 2)
        echo = self.bridge.spawn(self.node.address, "echo")
        with self.assertRaisesRegex(NoSuchActor, "stale"):
            self.bridge.call(echo._replace(incarnation=echo.incarnation ^ 1), "actor.counter.get")
        with self.assertRaises(NoSuchActor):
            self.bridge.lookup("nobody", node=self.node.address)

    def test_ping_and_stats_describe_the_node(self):
        self.assertEqual(self.bridge.ping(self.node.address),
                         {"node": "py1", "address": self.node.address, "incarnation": self.node.incarnation})
        stats = self.bridge.stats(self.node.address)
        self.assertEqual(stats["node"], "py1")
        self.assertGreaterEqual(stats["messages_received"], 1)
        self.assertIn("malformed", stats["dropped"])

    def test_a_body_that_does_not_fit_its_type_is_a_bad_message(self):
        counter = self.bridge.spawn(self.node.address, "counter")
        with self.assertRaises(BadMessage) as cm:
            self.bridge.call(counter, "actor.counter.incr", {"by": "many"})
        self.assertEqual(cm.exception.code, 8)
        with self.assertRaisesRegex(BadMessage, "unknown message type"):
            self.bridge.call(counter, "no.such.type", {})
        with self.assertRaises(BadMessage):  # no handler for it
            self.bridge.call(counter, "actor.kv.keys")
        with self.assertRaisesRegex(BadMessage, "does not fit"):  # positional arguments: a receiver's, not a counter's
            self.bridge.call(counter, "actor.counter.incr", [1, 2])
        # refused before anything is sent
        with self.assertRaisesRegex(BadMessage, "a list of positional arguments"):
            self.bridge.call(counter, "actor.counter.incr", 42)
        with self.assertRaises(BadMessage):
            self.bridge.call(counter, "actor.counter.incr", {"by": object()})
        with self.assertRaisesRegex(BadMessage, "nest at most 30"):  # a node would drop the whole frame
            deep = 1
            for _ in range(30):  # 30 lists in the body: 31 levels
                deep = [deep]
            self.bridge.call(counter, "actor.counter.incr", {"by": 1, "x": deep})
        self.assertEqual(self.bridge.call(counter, "actor.counter.get")["value"], 0)

    def test_a_client_that_reads_slowly_still_gets_every_reply(self):
        # a raw client asks 4000 requests, one frame each, and reads nothing until the node has
        # had them all: its replies wait for it at the node (ZeroMQ's own queue holds 64 frames)
        from libactor_client import wire
        counter = self.bridge.spawn(self.node.address, "counter")
        before = self.bridge.stats(self.node.address)
        n = 4000
        ctx = zmq.Context()
        raw = ctx.socket(zmq.DEALER)
        try:
            raw.setsockopt(zmq.LINGER, 0)
            raw.setsockopt(zmq.ROUTING_ID, b"slow-reader/0000000000000007")
            raw.connect(self.node.address)
            raw.send(wire.encode(wire.Hello("client", "slow-reader", "", 7)))
            me = Ref("slow-reader", "", 0, 1)
            for corr in range(1, n + 1):
                env = wire.Envelope(wire.REQUEST, me, counter, corr, 60000, "actor.counter.incr", {"by": 1})
                raw.send(wire.encode_batch([wire.encode_envelope(env)]))

            def handled():
                return self.bridge.stats(self.node.address)["messages_received"] - before["messages_received"] >= n
            self.assertTrue(poll_until(handled, 10 * SLOWDOWN), "the node did not take every request")
            replies = set()
            deadline = time.monotonic() + 10 * SLOWDOWN
            while len(replies) < n and raw.poll(max(1, int((deadline - time.monotonic()) * 1000))):
                frame = wire.decode(raw.recv())
                if isinstance(frame, wire.Batch):
                    replies.update(e.correlation for e in frame.envelopes if e.kind == wire.REPLY)
        finally:
            raw.close()
            ctx.term()
        self.assertEqual(len(replies), n)
        after = self.bridge.stats(self.node.address)
        for reason in ("client_gone", "overloaded"):
            self.assertEqual(after["dropped"][reason], before["dropped"][reason], reason)

    def test_garbage_on_the_wire_is_counted_and_dropped_and_the_node_carries_on(self):
        before = self.bridge.stats(self.node.address)
        ctx = zmq.Context()
        raw = ctx.socket(zmq.DEALER)
        try:
            raw.setsockopt(zmq.LINGER, 0)
            raw.connect(self.node.address)
            raw.send(b"\xc1 not MessagePack")
            raw.send(b"\xdd\xff\xff\xff\xff")  # an array claiming 4 billion elements
            raw.send(msgpack.packb([99, 1, 2]))  # an unknown frame tag
            raw.send(msgpack.packb([6, [0, None]]))  # a batch before any HELLO
            raw.send_multipart([b"\x93\x04\x01\x02", b"more"])  # two frames in one message
            raw.send(msgpack.packb([4, 1, 2]))  # then a good PING, answered
            self.assertTrue(raw.poll(5000 * SLOWDOWN), "no answer to the batch before HELLO")
            self.assertEqual(msgpack.unpackb(raw.recv())[0], 7)  # HELLO_AGAIN: say HELLO first
            self.assertTrue(raw.poll(5000 * SLOWDOWN), "no PONG after the garbage")
            self.assertEqual(msgpack.unpackb(raw.recv())[:2], [5, 1])
        finally:
            raw.close()
            ctx.term()
        after = self.bridge.stats(self.node.address)
        self.assertGreaterEqual(after["dropped"]["malformed"] - before["dropped"]["malformed"], 4)
        self.assertGreaterEqual(after["dropped"]["no_handshake"] - before["dropped"]["no_handshake"], 1)
        self.assertEqual(self.bridge.ping(self.node.address)["node"], "py1")

    def test_an_unreachable_node_is_node_down_after_the_silence_bound(self):
        start = time.monotonic()
        with self.assertRaises(NodeDown) as cm:
            self.bridge.ping(f"tcp://127.0.0.1:{unused_port()}", timeout=10)
        self.assertEqual(cm.exception.code, 4)
        self.assertLess(time.monotonic() - start, DOWN_AFTER + 1.0)

    def test_a_target_name_without_a_registry_is_a_usage_error(self):
        with self.assertRaises(ValueError):
            self.bridge.call("c1", "actor.counter.get")


class TimingTest(NodeTestCase):
    """Needs actor-test-node's "sink", which never answers."""

    def setUp(self):
        self.node = self.start_node("py2", binary_var="ACTOR_TEST_NODE_BIN")
        self.bridge = Bridge(name="pytest", heartbeat=HEARTBEAT, down_after=DOWN_AFTER)
        self.addCleanup(self.bridge.close)
        self.sink = self.bridge.spawn(self.node.address, "sink")

    def test_a_request_nobody_answers_times_out_at_its_deadline(self):
        for timeout in (0.2, 0.5):
            start = time.monotonic()
            with self.assertRaises(Timeout) as cm:
                self.bridge.call(self.sink, "itest.hold", timeout=timeout)
            elapsed = time.monotonic() - start
            self.assertEqual(cm.exception.code, 1)
            self.assertGreaterEqual(elapsed, timeout)
            self.assertLess(elapsed, timeout + 0.05 * SLOWDOWN)
        self.assertEqual(self.bridge.ping(self.node.address)["node"], "py2")  # a late answer would not confuse it

    def test_a_call_waiting_for_another_threads_call_still_ends_at_its_own_deadline(self):
        slow = threading.Thread(target=lambda: self.assertRaises(Timeout, self.bridge.call, self.sink, "itest.hold",
                                                                 timeout=3 * SLOWDOWN))
        slow.start()
        self.addCleanup(slow.join)
        self.assertTrue(poll_until(lambda: self.bridge.pending() == 1, 5), "the slow call never became pending")
        start = time.monotonic()
        with self.assertRaises(Timeout):
            self.bridge.call(self.sink, "itest.hold", timeout=0.2)
        elapsed = time.monotonic() - start
        self.assertGreaterEqual(elapsed, 0.2)
        self.assertLess(elapsed, 0.2 + 0.05 * SLOWDOWN)

    def test_a_node_killed_mid_call_fails_the_call_with_node_down(self):
        outcome = {}

        def call():
            start = time.monotonic()
            try:
                self.bridge.call(self.sink, "itest.hold", timeout=30)
            except ActorError as ex:
                outcome["error"] = ex
            outcome["elapsed"] = time.monotonic() - start

        caller = threading.Thread(target=call)
        caller.start()
        self.assertTrue(poll_until(lambda: self.bridge.pending() == 1, 5), "the call never became pending")
        self.node.kill()
        caller.join(10)
        self.assertFalse(caller.is_alive())
        self.assertIsInstance(outcome.get("error"), NodeDown)
        self.assertLess(outcome["elapsed"], DOWN_AFTER + 1.0)

    def test_a_node_restarted_at_the_same_address_fails_the_call_then_serves_the_next(self):
        address = self.node.address
        self.node.kill()
        again = self.start_node("py2", "--listen", address, binary_var="ACTOR_TEST_NODE_BIN")
        with self.assertRaises(NodeDown):  # what was in flight to the old run is lost
            self.bridge.call(self.sink, "itest.hold", timeout=10)
        self.assertEqual(self.bridge.ping(address)["incarnation"], again.incarnation)


if __name__ == "__main__":
    unittest.main()
