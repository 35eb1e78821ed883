"""Bridge.observe against real nodes: the built-in counter's notifications (actor.counter.value) in
order and numbered, a types filter refused, the loss reported when the reader stops (queue bound),
the observed actor gone, a name followed to the next actor that holds it, and close()."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import unittest

from libactor_client import (ActorError, ActorStopped, BadMessage, Bridge, DownReason, Monitor, NodeDown, Note,
                             Observation, Ref, ShuttingDown, Timeout, targets, wire)
from libactor_client.observations import ack_every, observe_window

from nodes import SLOWDOWN, NodeTestCase, poll_until

FAST = ["--heartbeat-ms", str(100 * SLOWDOWN), "--suspect-after-ms", str(300 * SLOWDOWN),
        "--down-after-ms", str(600 * SLOWDOWN)]
DOWN_AFTER = 0.6 * SLOWDOWN  # the client's
INCR, VALUE = "actor.counter.incr", "actor.counter.value"
WAIT = 5.0 * SLOWDOWN  # a deadline for what must come


class ObserveTest(NodeTestCase):
    def setUp(self):
        self.bridge = Bridge(name="pyobs", heartbeat=0.1 * SLOWDOWN, down_after=DOWN_AFTER)
        self.addCleanup(self.bridge.close)

    def observers(self, node):
        return self.bridge.stats(node.address)["observers"]

    def test_notifications_in_order_numbered_and_kept_during_other_calls(self):
        node = self.start_node("pyobs-order", *FAST, "--spawn", "counter:hits")
        obs = self.bridge.observe(f"hits@{node.address}")
        self.assertEqual(obs.outputs, [VALUE])
        self.assertEqual(obs.target, self.bridge.lookup("hits", node=node.address))
        self.assertGreaterEqual(obs.id, 3000)
        # half one-way, half calls: the calls read the notifications, which wait for next()
        for i in range(50):
            if i % 2:
                self.bridge.send(obs.target, INCR, {"by": 1})
            else:
                self.assertEqual(self.bridge.call(obs.target, INCR, {"by": 1})["value"], i + 1)
        self.assertGreater(obs.pending(), 0)
        notes = [obs.next(WAIT) for _ in range(50)]
        self.assertTrue(all(isinstance(n, Note) for n in notes))
        self.assertEqual([n.seq for n in notes], list(range(1, 51)))
        self.assertEqual([n["value"] for n in notes], list(range(1, 51)))
        self.assertEqual({(n.type, n.sender, n.lost, n.restarted) for n in notes}, {(VALUE, obs.target, 0, False)})
        self.assertEqual(obs.lost, 0)
        with self.assertRaises(Timeout):
            obs.next(0.2)  # nothing more: the observation stays
        self.assertEqual(self.observers(node), 1)
        self.assertTrue(obs.close())
        self.assertFalse(obs.close())
        with self.assertRaises(ShuttingDown):
            obs.next(0)
        self.assertEqual(list(obs), [])  # iteration ends once closed
        # the unobserve reached the counter
        self.assertTrue(poll_until(lambda: self.observers(node) == 0, WAIT, pause=0.02))

    def test_iterating_and_types_filter(self):
        node = self.start_node("pyobs-types", *FAST)
        ref = self.bridge.spawn(node.address, "counter")
        with self.assertRaises(BadMessage) as cm:
            self.bridge.observe(ref, types=[VALUE, "actor.counter.nope"])
        self.assertIn("actor.counter.nope", str(cm.exception))
        with self.assertRaises(BadMessage):
            self.bridge.observe(ref, types=[3])  # not a type name: refused before anything is sent
        with self.assertRaises(BadMessage):
            self.bridge.observe(ref, queue=-1)
        with self.bridge.observe(ref, types=VALUE, queue=2) as obs:
            self.assertEqual(obs.outputs, [VALUE])
            values = []
            self.bridge.send(ref, INCR, {"by": 2})
            for note in obs:  # a window of 1: each note comes once the one before was acknowledged
                values.append(note["value"])
                if len(values) == 20:
                    break
                self.bridge.send(ref, INCR, {"by": 2})
            self.assertEqual(values, list(range(2, 41, 2)))
            self.assertEqual(obs.lost, 0)
        self.assertIsInstance(obs.closed, ShuttingDown)
        self.assertTrue(poll_until(lambda: self.observers(node) == 0, WAIT, pause=0.02))

    def test_a_reader_that_stops_loses_the_oldest_waiting_and_is_told(self):
        node = self.start_node("pyobs-lost", *FAST)
        ref = self.bridge.spawn(node.address, "counter")
        obs = self.bridge.observe(ref, queue=4)
        self.assertEqual((observe_window(4), ack_every(4)), (2, 1))
        for _ in range(100):
            self.bridge.send(ref, INCR, {"by": 1})
        # every incr handled, nothing taken: 1 and 2 are on their way (the window), 99 and 100 wait
        # at the counter (queue - window = 2), 3 to 98 were dropped there
        self.assertEqual(self.bridge.call(ref, "actor.counter.get")["value"], 100)
        self.assertLessEqual(obs.pending(), 2)
        notes = [obs.next(WAIT) for _ in range(4)]
        self.assertEqual([(n.seq, n["value"], n.lost) for n in notes], [(1, 1, 0), (2, 2, 0), (99, 99, 96), (100, 100, 0)])
        self.assertEqual(obs.lost, 96)
        with self.assertRaises(Timeout):
            obs.next(0.2)
        stats = self.bridge.stats(node.address)
        self.assertEqual(stats["notifications_dropped"], 96)
        self.assertEqual(stats["notifications_sent"], 4)
        # the stream goes on where it stands
        self.bridge.send(ref, INCR, {"by": 1})
        note = obs.next(WAIT)
        self.assertEqual((note.seq, note["value"], note.lost), (101, 101, 0))

    def test_the_observed_actor_stopped(self):
        node = self.start_node("pyobs-stop", *FAST)
        ref = self.bridge.spawn(node.address, "counter")
        obs = self.bridge.observe(ref)
        self.assertEqual(self.bridge.call(ref, INCR, {"by": 7})["value"], 7)
        self.assertEqual(self.bridge.stop([ref]), {ref: "stopped"})
        self.assertEqual(obs.next(WAIT)["value"], 7)  # what came before the down comes first
        with self.assertRaises(ActorStopped) as cm:
            obs.next(WAIT)
        self.assertIn("gone", str(cm.exception))
        self.assertIn("stopped", str(cm.exception))
        self.assertEqual(cm.exception.reason, DownReason("stopped"))
        self.assertEqual(obs.reason, DownReason("stopped"))
        with self.assertRaises(ActorStopped):
            obs.next(0)  # for good
        with self.assertRaises(ActorStopped):
            next(iter(obs))
        self.assertFalse(obs.close())
        # an actor gone before it answered
        with self.assertRaises(ActorStopped) as cm:
            self.bridge.observe(ref)
        self.assertEqual(cm.exception.reason.what, "noproc")

    def test_an_observed_name_is_followed_to_the_next_actor(self):
        node = self.start_node("pyobs-follow", *FAST, "--spawn", "counter:hits")
        name = f"hits@{node.address}"
        stop = threading.Event()
        pump_errors = []

        def pump():  # a publisher that keeps going: incr whoever holds the name
            with Bridge(name="pyobs-pump") as b:
                while not stop.is_set():
                    try:
                        b.call(name, INCR, {"by": 1}, timeout=1.0)
                    except ActorError as ex:  # the name between two actors
                        pump_errors.append(ex)
                        stop.wait(0.005)  # a pause between tries, not a synchronization

        obs = self.bridge.observe(name)
        first = obs.target
        self.assertEqual(obs.name, name)
        thread = threading.Thread(target=pump, daemon=True)
        thread.start()
        self.addCleanup(thread.join, 10)
        self.addCleanup(stop.set)
        notes = [obs.next(WAIT) for _ in range(3)]
        self.assertEqual([n.seq for n in notes], [1, 2, 3])
        self.assertEqual(self.bridge.stop([first]), {first: "stopped"})
        second = self.bridge.spawn(node.address, "counter", "hits", config={"start": 1000})
        while True:  # the rest of the first actor's, then the second's
            note = obs.next(WAIT)
            if note.sender != first:
                break
            self.assertFalse(note.restarted)
            self.assertLess(note["value"], 1000)
        self.assertTrue(note.restarted)
        self.assertEqual((note.sender, note.seq, note.lost), (second, 1, 0))
        self.assertGreater(note["value"], 1000)
        self.assertEqual((obs.target, obs.restarts, obs.reason), (second, 1, None))
        after = obs.next(WAIT)
        self.assertEqual((after.sender, after.seq, after.restarted), (second, 2, False))
        self.assertEqual(after["value"], note["value"] + 1)
        stop.set()
        thread.join(10)
        self.assertTrue(obs.close())

    def test_a_name_not_held_again_times_out_and_goes_on_looking(self):
        node = self.start_node("pyobs-wait", *FAST, "--spawn", "counter:hits")
        obs = self.bridge.observe(f"hits@{node.address}")
        first = obs.target
        self.bridge.stop([first])
        with self.assertRaises(Timeout) as cm:
            obs.next(0.3)  # nobody holds it: looked up every 10 ms doubling, until the deadline
        self.assertIn("hits", str(cm.exception))
        self.assertEqual(obs.reason, DownReason("stopped"))
        second = self.bridge.spawn(node.address, "counter", "hits")

        def followed():  # found and observed by next(); no notification yet
            with self.assertRaises(Timeout):
                obs.next(0.2)
            return obs.restarts

        self.assertTrue(poll_until(followed, WAIT, pause=0))
        self.assertEqual((obs.target, obs.restarts), (second, 1))
        self.bridge.send(second, INCR, {"by": 5})
        note = obs.next(WAIT)
        self.assertEqual((note["value"], note.seq, note.restarted, note.sender), (5, 1, True, second))

    def test_bridge_close_ends_the_observations(self):
        node = self.start_node("pyobs-close", *FAST)
        ref = self.bridge.spawn(node.address, "counter")
        other = Bridge(name="pyobs-other", heartbeat=0.1 * SLOWDOWN, down_after=DOWN_AFTER)
        self.addCleanup(other.close)
        obs = other.observe(ref)
        self.assertEqual(self.observers(node), 1)
        other.close()
        self.assertIsInstance(obs.closed, ShuttingDown)
        with self.assertRaises(ShuttingDown):
            obs.next(0)
        self.assertEqual(list(obs), [])
        self.assertTrue(poll_until(lambda: self.observers(node) == 0, WAIT, pause=0.02))
        with self.assertRaises(ShuttingDown):
            other.observe(ref)

    def test_the_observed_actors_node_killed(self):
        node = self.start_node("pyobs-doomed", *FAST)
        ref = self.bridge.spawn(node.address, "counter")
        obs = self.bridge.observe(ref)
        node.kill()
        killed = time.monotonic()
        with self.assertRaises(NodeDown) as cm:
            obs.next(DOWN_AFTER + 3)
        self.assertLess(time.monotonic() - killed, DOWN_AFTER + 0.5 * SLOWDOWN)
        self.assertEqual(cm.exception.reason.what, "node_down")
        self.assertIn("gone", str(cm.exception))


# An observing client in its own process, so that it can be frozen (SIGSTOP) as a whole.
CLIENT = r"""
import sys
from libactor_client import Bridge
with Bridge(name="frozen-observer", heartbeat=0.1, down_after=2.0) as b:
    obs = b.observe(sys.argv[1])
    print("observing", flush=True)
    for note in obs:
        print(note.seq, note["value"], flush=True)
"""


class FrozenObserverTest(NodeTestCase):
    def test_a_client_frozen_past_the_node_down_bound_observes_again(self):
        node = self.start_node("pyobs-forgets", "--heartbeat-ms", str(100 * SLOWDOWN), "--suspect-after-ms",
                               str(200 * SLOWDOWN), "--down-after-ms", str(300 * SLOWDOWN))
        bridge = Bridge(name="pyobs-driver", heartbeat=0.1)
        self.addCleanup(bridge.close)
        ref = bridge.spawn(node.address, "counter")
        env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(wire.__file__))))
        child = subprocess.Popen([sys.executable, "-c", CLIENT, str(ref)], stdout=subprocess.PIPE, env=env, text=True)
        self.addCleanup(child.stdout.close)
        self.addCleanup(child.wait)
        self.addCleanup(child.kill)
        self.assertEqual(child.stdout.readline().strip(), "observing")
        bridge.send(ref, INCR, {"by": 1})
        self.assertEqual(child.stdout.readline().split(), ["1", "1"])

        def stats():
            return bridge.stats(node.address)

        os.kill(child.pid, signal.SIGSTOP)
        # the node forgets the frozen client, and the counter its observer
        forgotten = poll_until(lambda: stats()["clients"] == 1 and stats()["observers"] == 0, 20 * SLOWDOWN,
                               pause=0.05)
        os.kill(child.pid, signal.SIGCONT)
        self.assertTrue(forgotten, f"the node never forgot the frozen observer: {stats()}")
        # welcomed again, the client observes again: the numbers start at 1
        self.assertTrue(poll_until(lambda: stats()["observers"] == 1, 10, pause=0.05))
        bridge.send(ref, INCR, {"by": 1})
        self.assertEqual(child.stdout.readline().split(), ["1", "2"])


class WireFormTest(unittest.TestCase):
    """The observe messages against tests/vectors/protocol_vectors.json (no node needed)."""

    COUNTER = Ref("n1", "tcp://127.0.0.1:7100", 0x1122334455667788, 16)
    CLIENT = Ref("script", "", 0, 3000)

    @classmethod
    def setUpClass(cls):
        path = os.environ.get("ACTOR_VECTORS")
        if not path or not os.path.exists(path):
            raise unittest.SkipTest("ACTOR_VECTORS does not name the protocol vectors (run the tests with ctest)")
        with open(path) as f:
            cls.by_name = {v["name"]: v["hex"] for v in json.load(f)}
        if "batch_observe" not in cls.by_name:
            raise unittest.SkipTest("the protocol vectors have no observe vectors")

    def test_the_control_messages_are_the_vectors(self):
        for name, type_, body in (("batch_observe", "actor.observe", {"types": [], "queue": 0}),
                                  ("batch_observe_ack", "actor.observe.ack", {"seq": 256})):
            env = wire.Envelope(wire.SEND, self.CLIENT, self.COUNTER, 21, 0, type_, body)
            self.assertEqual(wire.encode_batch([wire.encode_envelope(env)]).hex(), self.by_name[name], name)

    def test_a_notification_after_a_gap_tells_the_loss(self):
        with Bridge(name="script") as b:
            obs = Observation(b, 3000, targets.as_target(self.COUNTER), None, [], 0)
            obs.target, obs._monitor, obs._answered = self.COUNTER, Monitor(b, 1, self.COUNTER, ""), True
            b._observations[obs.id] = obs
            frame = wire.decode(bytes.fromhex(self.by_name["batch_notification"]))  # seq 3 to id 3000
            b._on_send(frame.envelopes[0])
            b._on_send(frame.envelopes[0])  # again: below the next expected, dropped
            self.assertEqual(obs.pending(), 1)
            note = obs._notes[0]
            self.assertEqual((note.type, note.body, note.seq, note.sender, note.lost),
                             ("actor.counter.value", {"value": 7}, 3, self.COUNTER, 2))
            self.assertEqual(obs.lost, 2)


if __name__ == "__main__":
    unittest.main()
