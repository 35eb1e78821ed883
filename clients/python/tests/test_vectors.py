"""The protocol vectors (tests/vectors/protocol_vectors.json, written by libactor's C++ encoder)
against the Python codec: each decodes to the value the file states, and encoding that value
gives exactly the same bytes. tests/unit/vectors_test.cpp checks the same file from C++."""

import json
import os
import re
import unittest

import msgpack

from libactor_client import wire
from libactor_client.wire import Batch, Envelope, Hello, HelloAgain, Ping, Pong, Ref, Refuse, Welcome

VECTORS = os.environ.get("ACTOR_VECTORS") or os.path.join(
    os.path.dirname(__file__), "..", "..", "..", "tests", "vectors", "protocol_vectors.json")


MALFORMED = os.path.join(os.path.dirname(VECTORS), "malformed_vectors.json")


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


class ProtocolDocumentTest(unittest.TestCase):
    """docs/protocol.md's frames byte by byte are the vectors they say they are."""

    def test_the_hex_examples_in_the_protocol_document_are_the_vectors(self):
        doc = os.path.join(os.path.dirname(VECTORS), "..", "..", "docs", "protocol.md")
        with open(doc, encoding="utf-8") as f:
            text = f.read()
        section = text.split("## Three frames, byte by byte", 1)[1].split("\n## ", 1)[0]
        blocks = re.findall(r"```\n(.*?)```", section, re.S)
        with open(VECTORS, encoding="utf-8") as f:
            by_name = {v["name"]: v["hex"] for v in json.load(f)}
        names = ["hello_client", "batch_request_with_ttl", "batch_error"]
        self.assertEqual(len(blocks), len(names))
        for block, name in zip(blocks, names):
            hex_bytes = ""
            for line in block.splitlines():  # the leading two-digit hex tokens of each line
                for token in line.split():
                    if not re.fullmatch(r"[0-9a-f]{2}", token):
                        break
                    hex_bytes += token
            self.assertEqual(hex_bytes, by_name[name], name)


class MonitorVectorsTest(unittest.TestCase):
    """The monitor vectors as the Python client reads them (monitors.py), and docs/protocol.md's
    "Monitors and links" bytes are the vectors they say they are."""

    @classmethod
    def setUpClass(cls):
        with open(VECTORS, encoding="utf-8") as f:
            cls.by_name = {v["name"]: v["hex"] for v in json.load(f)}

    def only_envelope(self, name):
        frame = wire.decode(bytes.fromhex(self.by_name[name]))
        self.assertIsInstance(frame, Batch)
        self.assertEqual(len(frame.envelopes), 1)
        env = frame.envelopes[0]
        self.assertEqual(env.kind, wire.SEND)
        return env

    def test_monitor_and_down_decode(self):
        from libactor_client.monitors import MONITOR_SENDER_ID, DownReason
        monitor = self.only_envelope("batch_monitor")
        self.assertEqual((monitor.type, monitor.correlation, monitor.body), ("actor.monitor", 11, {}))
        self.assertEqual(monitor.sender.id, MONITOR_SENDER_ID)
        self.assertEqual(self.only_envelope("batch_demonitor").type, "actor.demonitor")
        down = self.only_envelope("batch_down")
        self.assertEqual((down.type, down.correlation, down.receiver.id), ("actor.down", 11, MONITOR_SENDER_ID))
        self.assertEqual(down.body["monitor"], 11)
        self.assertEqual(wire.read_ref(down.body["who"]), Ref("n1", "tcp://127.0.0.1:7100", 0x1122334455667788, 16))
        self.assertEqual(DownReason.from_wire(down.body["reason"]),
                         DownReason("crashed", "boom", "std::runtime_error"))
        noproc = self.only_envelope("batch_down_noproc")
        self.assertIsNone(noproc.body["who"])
        self.assertEqual(DownReason.from_wire(noproc.body["reason"]).what, "noproc")
        exit_ = self.only_envelope("batch_exit")
        self.assertEqual((exit_.type, exit_.correlation), ("actor.exit", 5))
        self.assertEqual(DownReason.from_wire(exit_.body["reason"]).error_type, "std::runtime_error")
        # what a Bridge sends is the vector, byte for byte
        again = wire.encode_batch([wire.encode_envelope(monitor)])
        self.assertEqual(again.hex(), self.by_name["batch_monitor"])

    def test_the_monitor_bytes_in_the_protocol_document_are_the_vectors(self):
        doc = os.path.join(os.path.dirname(VECTORS), "..", "..", "docs", "protocol.md")
        with open(doc, encoding="utf-8") as f:
            text = f.read()
        section = text.split("### Monitor and down, byte by byte", 1)[1].split("\n## ", 1)[0]
        blocks = re.findall(r"```\n(.*?)```", section, re.S)
        names = ["batch_monitor", "batch_down"]
        self.assertEqual(len(blocks), len(names))
        for block, name in zip(blocks, names):
            hex_bytes = ""
            for line in block.splitlines():  # the leading two-digit hex tokens of each line
                for token in line.split():
                    if not re.fullmatch(r"[0-9a-f]{2}", token):
                        break
                    hex_bytes += token
            self.assertEqual(hex_bytes, self.by_name[name], name)


class MalformedVectorsTest(unittest.TestCase):
    """tests/vectors/malformed_vectors.json: frames every reader must reject (or, for a BATCH,
    read no envelope from), cheaply: the Python codec raises BadMessage for each."""

    def test_every_malformed_vector_is_refused(self):
        with open(MALFORMED, encoding="utf-8") as f:
            vectors = json.load(f)
        self.assertGreaterEqual(len(vectors), 10)
        for v in vectors:
            with self.subTest(vector=v["name"]):
                with self.assertRaises(wire.BadMessage):
                    frame = wire.decode(bytes.fromhex(v["hex"]))
                    if isinstance(frame, Batch) and not frame.envelopes:
                        raise wire.BadMessage("no envelope")


if __name__ == "__main__":
    unittest.main()
