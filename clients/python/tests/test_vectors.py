"""The protocol vectors (tests/vectors/protocol_vectors.json, written by libactor's C++ encoder)
against the Python codec: each decodes to the value the file states, and encoding that value
gives exactly the same bytes. tests/unit/vectors_test.cpp checks the same file from C++."""

import json
import os
import unittest

import msgpack

from libactor_client import wire
from libactor_client.wire import Batch, Envelope, Hello, HelloAgain, Ping, Pong, Ref, Refuse, Welcome

VECTORS = os.environ.get("ACTOR_VECTORS") or os.path.join(
    os.path.dirname(__file__), "..", "..", "..", "tests", "vectors", "protocol_vectors.json")


def ref_value(ref):
    return None if ref is None else list(ref)


def to_value(frame):
    """A decoded frame as the file's "value" describes it."""
    if isinstance(frame, Hello):
        return {"frame": "hello", "version": frame.version, "role": frame.role, "name": frame.name,
                "address": frame.address, "incarnation": frame.incarnation}
    if isinstance(frame, Welcome):
        return {"frame": "welcome", "version": frame.version, "name": frame.name, "address": frame.address,
                "incarnation": frame.incarnation, "max_message_size": frame.max_message_size}
    if isinstance(frame, Refuse):
        return {"frame": "refuse", "version": frame.version, "reason": frame.reason}
    if isinstance(frame, (Ping, Pong)):
        return {"frame": "ping" if isinstance(frame, Ping) else "pong", "seq": frame.seq,
                "incarnation": frame.incarnation}
    if isinstance(frame, HelloAgain):
        return {"frame": "hello_again", "incarnation": frame.incarnation, "reason": frame.reason,
                "dropped": [list(d) for d in frame.dropped]}
    return {"frame": "batch", "envelopes": [
        {"kind": wire.KIND_NAMES[e.kind], "sender": ref_value(e.sender), "receiver": ref_value(e.receiver),
         "correlation": e.correlation, "ttl_ms": e.ttl_ms, "type": e.type, "body": e.body}
        for e in frame.envelopes]}


def from_value(v):
    """The frame a "value" describes, built from scratch."""
    kind = v["frame"]
    if kind == "hello":
        return Hello(v["role"], v["name"], v["address"], v["incarnation"], v["version"])
    if kind == "welcome":
        return Welcome(v["name"], v["address"], v["incarnation"], v["max_message_size"], v["version"])
    if kind == "refuse":
        return Refuse(v["reason"], v["version"])
    if kind in ("ping", "pong"):
        return (Ping if kind == "ping" else Pong)(v["seq"], v["incarnation"])
    if kind == "hello_again":
        return HelloAgain(v["incarnation"], v["reason"], tuple(tuple(d) for d in v["dropped"]))
    return Batch(tuple(
        Envelope(wire.KIND_NAMES.index(e["kind"]), None if e["sender"] is None else Ref(*e["sender"]),
                 Ref(*e["receiver"]), e["correlation"], e["ttl_ms"], e["type"], e["body"])
        for e in v["envelopes"]))


class VectorTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(VECTORS, encoding="utf-8") as f:
            cls.vectors = json.load(f)

    def test_every_vector_decodes_to_its_value_and_encodes_back_to_its_bytes(self):
        self.assertGreater(len(self.vectors), 10)
        for v in self.vectors:
            with self.subTest(vector=v["name"]):
                data = bytes.fromhex(v["hex"])
                value = v["value"]
                if "frame" in value:
                    frame = wire.decode(data)
                    self.assertEqual(to_value(frame), value)
                    self.assertEqual(wire.encode(frame).hex(), v["hex"])
                    self.assertEqual(wire.encode(from_value(value)).hex(), v["hex"])
                elif "ref" in value:
                    ref = wire.read_ref(wire.unpack(data))
                    self.assertEqual(list(ref), value["ref"])
                    self.assertEqual(msgpack.packb(Ref(*value["ref"])).hex(), v["hex"])
                else:
                    self.assertEqual(wire.unpack(data), value["body"])
                    self.assertEqual(msgpack.packb(value["body"]).hex(), v["hex"])

    def test_every_vector_has_a_name_and_a_meaning(self):
        names = [v["name"] for v in self.vectors]
        self.assertEqual(len(names), len(set(names)))
        for v in self.vectors:
            self.assertTrue(v["meaning"], v["name"])


if __name__ == "__main__":
    unittest.main()
