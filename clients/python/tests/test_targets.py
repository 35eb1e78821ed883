"""Targets: parse_target over the shared table tests/vectors/targets.json (valid and malformed
text), and a Bridge calling actors by NAME@ADDRESS and by printed ref, with no registry."""

import json
import os
import unittest

from libactor_client import BadMessage, Bridge, NoSuchActor, Ref, Reply
from libactor_client.targets import NAME, NAME_AT_NODE, REF, MalformedTarget, Target, as_target, parse_target
from nodes import SLOWDOWN, NodeTestCase

TARGET_VECTORS = os.environ.get("ACTOR_TARGET_VECTORS") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "tests", "vectors", "targets.json")


def load_cases():
    with open(TARGET_VECTORS, encoding="utf-8") as f:
        return json.load(f)


def parts(target):
    """A Target as the table states it."""
    if target.kind == REF:
        r = target.ref
        return {"kind": REF, "node": r.node, "address": r.address, "incarnation": r.incarnation, "id": r.id}
    if target.kind == NAME_AT_NODE:
        return {"kind": NAME_AT_NODE, "name": target.name, "address": target.address}
    return {"kind": NAME, "name": target.name}


class ParseTargetTest(unittest.TestCase):
    def test_the_table_covers_every_kind(self):
        kinds = {c["kind"] for c in load_cases()}
        self.assertEqual(kinds, {"name", "name_at_node", "ref", "error"})

    def test_every_case_of_the_table_parses_as_it_says(self):
        for case in load_cases():
            text = case["text"]
            with self.subTest(text=text):
                if case["kind"] == "error":
                    with self.assertRaises(ValueError) as caught:
                        parse_target(text)
                    self.assertIsInstance(caught.exception, MalformedTarget)
                    self.assertIn(repr(text), str(caught.exception))  # the message names the text
                    continue
                expected = {k: v for k, v in case.items() if k not in ("text", "why")}
                self.assertEqual(parts(parse_target(text)), expected)

    def test_a_valid_target_prints_as_text_that_parses_back_to_it(self):
        for case in load_cases():
            if case["kind"] == "error":
                continue
            with self.subTest(text=case["text"]):
                target = parse_target(case["text"])
                self.assertEqual(parse_target(str(target)), target)

    def test_a_malformed_target_is_a_value_error_and_a_bad_message_that_says_what_is_wrong(self):
        for text, why in (("", "empty"), ("a b", "whitespace"), ("@tcp://h:1", "name before '@' is empty"),
                          ("c1@", "address after '@' is empty"), ("c1@127.0.0.1:1", "lacks a scheme"),
                          ("n@tcp://h:1#5", "'/' is missing"), ("n@tcp://h:1#x/1", "INCARNATION 'x'"),
                          ("n@tcp://h:1#1/y", "ID 'y'"), (f"n@tcp://h:1#{2**64}/1", "64 bits")):
            with self.subTest(text=text), self.assertRaises(ValueError) as caught:
                parse_target(text)
            self.assertIn(why, str(caught.exception))
            self.assertIsInstance(caught.exception, BadMessage)
            self.assertEqual(caught.exception.code, 8)

    def test_refs_print_as_ref_targets_and_ref_parse_reads_the_same_grammar(self):
        ref = Ref("n1", "tcp://127.0.0.1:7100", 7733619457346, 16)
        self.assertEqual(parse_target(str(ref)), Target.of(ref))
        self.assertEqual(Ref.parse(str(ref)), ref)
        for text in ("c1", "c1@tcp://127.0.0.1:7100", "n1@tcp://h:1#1/x"):
            with self.subTest(text=text), self.assertRaises(ValueError):
                Ref.parse(text)

    def test_as_target_takes_targets_refs_and_text_and_nothing_else(self):
        ref = Ref("n1", "tcp://h:1", 1, 2)
        self.assertEqual(as_target(ref), Target.of(ref))
        self.assertEqual(as_target(Target.named("c1")), Target.named("c1"))
        self.assertEqual(as_target("c1@tcp://h:1"), Target.at("c1", "tcp://h:1"))
        for value in (None, 42, b"c1", ("n1", "tcp://h:1", 1, 2)):
            with self.subTest(value=value), self.assertRaises(TypeError):
                as_target(value)


class TargetsOnANodeTest(NodeTestCase):
    """A node and a Bridge without any registry: names are asked of the node (NAME@ADDRESS)."""

    def setUp(self):
        self.node = self.start_node("pyt")
        self.bridge = Bridge(name="pytest-targets", heartbeat=0.1 * SLOWDOWN, down_after=0.6 * SLOWDOWN)
        self.addCleanup(self.bridge.close)
        self.counter = self.bridge.spawn(self.node.address, "counter", name="c1", config={"start": 10})
        self.at = f"c1@{self.node.address}"

    def test_a_name_at_a_node_is_called_without_any_registry(self):
        self.assertEqual(self.bridge.registries, [])
        self.assertEqual(self.bridge.call(self.at, "actor.counter.incr", {"by": 2})["value"], 12)
        self.bridge.send(self.at, "actor.counter.incr", {"by": 3})  # one-way, then a request behind it
        self.assertEqual(self.bridge.call(self.counter, "actor.counter.get")["value"], 15)

    def test_a_printed_ref_is_called_as_the_ref_it_prints(self):
        text = str(self.counter)
        self.assertEqual(text, f"pyt@{self.node.address}#{self.node.incarnation}/{self.counter.id}")
        self.assertEqual(self.bridge.call(text, "actor.counter.get"), Reply("actor.counter.value", {"value": 10}))
        self.bridge.send(text, "actor.counter.incr", {"by": 1})
        self.assertEqual(self.bridge.call(Target.of(self.counter), "actor.counter.get")["value"], 11)

    def test_a_name_the_node_does_not_hold_and_a_stale_ref_are_no_such_actor(self):
        with self.assertRaises(NoSuchActor):
            self.bridge.call(f"nobody@{self.node.address}", "actor.counter.get", timeout=2)
        stale = Ref("pyt", self.node.address, self.node.incarnation + 1, self.counter.id)
        with self.assertRaises(NoSuchActor):
            self.bridge.call(str(stale), "actor.counter.get", timeout=2)

    def test_malformed_text_fails_before_anything_is_sent(self):
        for text in ("", "c1@", f"c1@{self.node.address.removeprefix('tcp://')}", "c1 "):
            with self.subTest(text=text), self.assertRaises(MalformedTarget):
                self.bridge.call(text, "actor.counter.get")
        with self.assertRaises(BadMessage):
            self.bridge.send("n@tcp://h:1#5", "actor.counter.incr", {"by": 1})
        self.assertEqual(self.bridge.call(self.counter, "actor.counter.get")["value"], 10)

    def test_multi_call_and_stop_take_every_form_and_fail_only_the_bad_ones(self):
        other = self.bridge.spawn(self.node.address, "counter", config={"start": 100})
        outcomes = self.bridge.multi_call([
            (self.at, "actor.counter.incr", {"by": 1}),
            (str(other), "actor.counter.incr", {"by": 1}),
            (f"nobody@{self.node.address}", "actor.counter.get", {}),
            ("c1@nowhere", "actor.counter.get", {}),
        ], timeout=5)
        self.assertEqual([o["value"] for o in outcomes[:2]], [11, 101])
        self.assertIsInstance(outcomes[2], NoSuchActor)
        self.assertIsInstance(outcomes[3], MalformedTarget)
        results = self.bridge.stop([self.at, str(other), "n@tcp://h:1#5"], timeout=5)
        self.assertEqual(results[self.at], "stopped")
        self.assertEqual(results[str(other)], "stopped")
        self.assertIsInstance(results["n@tcp://h:1#5"], MalformedTarget)
        with self.assertRaises(NoSuchActor):  # its name went with it
            self.bridge.call(self.at, "actor.counter.get", timeout=2)


if __name__ == "__main__":
    unittest.main()
