"""The Python codec on its own: frames, refs, malformed input and the error codes."""

import struct
import tracemalloc
import unittest

import msgpack

from libactor_client import errors, wire
from libactor_client.errors import BadMessage
from libactor_client.wire import Batch, Envelope, Hello, Ping, Pong, Ref, Refuse, Welcome

ADDR = "tcp://127.0.0.1:7100"
COUNTER = Ref("n1", ADDR, 2**64 - 1, 16)
CLIENT = Ref("script", "", 0, 1)


class FrameTest(unittest.TestCase):
    def test_every_frame_survives_encoding_and_decoding(self):
        for frame in (Hello("client", "script", "", 42), Hello("node", "n1", ADDR, 2**63),
                      Welcome("n1", ADDR, 7, 16 << 20), Refuse("no"), Ping(1, 2), Pong(2**64 - 1, 0),
                      Batch((Envelope(wire.REQUEST, CLIENT, COUNTER, 3, 1500, "actor.counter.get", {}),
                             Envelope(wire.SEND, None, COUNTER, 0, 0, "actor.counter.incr", {"by": -3})))):
            with self.subTest(frame=frame):
                self.assertEqual(wire.decode(wire.encode(frame)), frame)

    def test_a_batch_header_is_always_an_array32(self):
        data = wire.encode(Batch(()))
        self.assertEqual(data, b"\xdd\x00\x00\x00\x01\x06")
        self.assertEqual(wire.decode(data), Batch(()))

    def test_a_ref_is_packed_as_an_array_of_four(self):
        self.assertEqual(msgpack.unpackb(msgpack.packb(COUNTER)), list(COUNTER))
        self.assertEqual(wire.read_ref(list(COUNTER)), COUNTER)
        self.assertEqual(Ref.manager(ADDR), Ref("", ADDR, 0, 0))

    def test_refs_are_equal_when_they_name_the_same_actor_whatever_their_node_name(self):
        self.assertEqual(COUNTER._replace(node=""), COUNTER)
        self.assertEqual({COUNTER: 1}[COUNTER._replace(node="")], 1)
        self.assertNotEqual(COUNTER._replace(id=17), COUNTER)
        self.assertNotEqual(COUNTER._replace(incarnation=1), COUNTER)

    def test_a_ref_reads_as_the_text_form_of_cpp_and_actorctl_and_back(self):
        self.assertEqual(str(COUNTER), f"n1@{ADDR}#{2**64 - 1}/16")
        self.assertEqual(str(Ref("", ADDR, 7, 0)), f"@{ADDR}#7/0")
        for ref in (COUNTER, Ref("", ADDR, 7, 0), Ref("n-2", "tcp://[::1]:5", 1, 2)):
            with self.subTest(ref=ref):
                parsed = Ref.parse(str(ref))
                self.assertEqual((parsed.node, *parsed[1:]), tuple(ref))
        for text in ("counter", f"n1@{ADDR}", f"n1@127.0.0.1:7100#1/2", f"n1@{ADDR}#1", f"n1@{ADDR}#x/2",
                     f"n1@{ADDR}#-1/2", f"n1@{ADDR}#{2**64}/2"):
            with self.subTest(text=text), self.assertRaises(ValueError):
                Ref.parse(text)

    def test_a_welcome_without_max_message_size_is_accepted(self):
        self.assertEqual(wire.decode(msgpack.packb([2, 1, "n1", ADDR, 5])), Welcome("n1", ADDR, 5, 0, 1))


class MalformedTest(unittest.TestCase):
    def assertBad(self, data):
        with self.assertRaises(BadMessage, msg=repr(data)):
            wire.decode(data)

    def test_anything_that_is_not_a_well_formed_frame_is_a_bad_message(self):
        env = [1, list(CLIENT), list(COUNTER), 3, 0, "t", {}]
        for data in (b"", b"\xc1", b"\x91\x04\x00",  # not MessagePack; trailing bytes
                     b"\xdd\xff\xff\xff\xff",  # claims 4 billion elements: no allocation, an error
                     b"\x91" * 5000 + b"\x04",  # nested deeper than any frame
                     msgpack.packb({"a": 1}), msgpack.packb([]), msgpack.packb([0]), msgpack.packb([7]),
                     msgpack.packb([-1]), msgpack.packb(["hello"]), msgpack.packb([True]),
                     msgpack.packb([1, 1, "node"]),  # a short HELLO
                     msgpack.packb([1, "1", "node", "n", "", 0]),  # a version that is a string
                     msgpack.packb([4, True, 1]),  # a bool is not an integer
                     msgpack.packb([4, -1, 1]),
                     msgpack.packb([6, env[:6]]),  # an envelope of 6
                     msgpack.packb([6, [4] + env[1:]]),  # an unknown kind
                     msgpack.packb([6, [1, "x"] + env[2:]]),  # a sender that is not a ref
                     msgpack.packb([6, env[:2] + [[1, 2, 3, 4]] + env[3:]]),  # a receiver that is not a ref
                     msgpack.packb([6, env[:3] + [-3] + env[4:]]),  # a negative correlation
                     msgpack.packb([6, env[:5] + [b"t"] + env[6:]]),  # a type that is bytes
                     b"\x92\x06\xa2\xff\xfe"):  # invalid UTF-8 in a string
            self.assertBad(data)

    def test_a_body_that_msgpack_cannot_encode_is_a_bad_message(self):
        with self.assertRaises(BadMessage):
            wire.encode(Batch((Envelope(wire.SEND, None, COUNTER, 0, 0, "t", {"x": object()}),)))


def nested_headers(marker, depth, claim=1 << 20):
    """``depth`` array32 (0xdd) or map32 (0xdf) headers, each claiming ``claim`` elements."""
    return (bytes([marker]) + struct.pack(">I", claim)) * depth


def envelope_with_body(body_bytes):
    """A BATCH of one envelope whose body is ``body_bytes`` (raw MessagePack)."""
    head = msgpack.packb([0, None, list(COUNTER), 0, 0, "t"])
    return b"\x92\x06" + bytes([head[0] + 1]) + head[1:] + body_bytes


class BoundedTest(unittest.TestCase):
    """The inputs libactor's bounded reader refuses, the Python client refuses too."""

    def assertBad(self, data, why):
        with self.assertRaises(BadMessage, msg=repr(data[:20])) as cm:
            wire.decode(data)
        self.assertIn(why, str(cm.exception))

    def test_nested_array32_and_map32_headers_are_refused_at_every_depth(self):
        for marker in (0xdd, 0xdf):
            for depth in range(1, wire.MAX_DEPTH + 1):
                with self.subTest(marker=marker, depth=depth):
                    headers = nested_headers(marker, depth)
                    self.assertBad(headers, "insufficient bytes")  # as a frame, before any handshake
                    self.assertBad(b"\x92\x06" + headers, "insufficient bytes")  # a BATCH element
                    self.assertBad(envelope_with_body(headers), "insufficient bytes")  # an envelope's body

    def test_headers_claiming_more_than_the_bytes_left_reserve_no_memory(self):
        # each header claims 65536 elements; 64 KiB of nil fill the innermost one only: msgpack.unpackb
        # alone reserved 512 KiB for each of the 32 levels before finding the bytes missing
        data = nested_headers(0xdd, 32, claim=65536) + b"\xc0" * 65536
        tracemalloc.start()
        try:
            self.assertBad(data, "insufficient bytes")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        self.assertLess(peak, 1 << 20)

    def test_containers_nest_at_most_max_depth_levels(self):
        deep_frame = [4, 1, 2] + [0]
        inner = deep_frame
        for _ in range(wire.MAX_DEPTH - 1):
            inner[-1] = [0]
            inner = inner[-1]
        self.assertEqual(wire.decode(msgpack.packb(deep_frame)), Ping(1, 2))  # 32 levels: the limit
        inner[-1] = [0]
        self.assertBad(msgpack.packb(deep_frame), "nests deeper than 32 levels")
        for depth, ok in ((30, True), (31, False)):  # a body sits two levels into its frame
            body = b"\x91" * depth + b"\x01"
            with self.subTest(body_depth=depth):
                if ok:
                    self.assertEqual(len(wire.decode(envelope_with_body(body)).envelopes), 1)
                else:
                    self.assertBad(envelope_with_body(body), "nests deeper than 32 levels")


class ErrorCodeTest(unittest.TestCase):
    def test_error_classes_carry_the_codes_of_the_protocol(self):
        table = {1: "Timeout", 2: "NoSuchActor", 3: "ActorStopped", 4: "NodeDown", 5: "RemoteError",
                 6: "Overloaded", 7: "ShuttingDown", 8: "BadMessage", 9: "Unauthorized", 10: "NameTaken",
                 11: "UnknownType"}
        for code, name in table.items():
            cls = getattr(errors, name)
            self.assertTrue(issubclass(cls, errors.ActorError))
            self.assertEqual(cls.code, code)
            err = errors.error_for(code, "why")
            self.assertIs(type(err), cls)
            self.assertEqual((err.code, err.text), (code, "why"))

    def test_an_unknown_code_keeps_its_number(self):
        err = errors.error_for(77, "from the future")
        self.assertIsInstance(err, errors.ActorError)
        self.assertEqual(err.code, 77)
        self.assertEqual(errors.ActorError.code, 0)  # the class is untouched

    def test_an_error_reads_as_its_name_and_text(self):
        self.assertEqual(str(errors.NodeDown("peer gone")), "node_down: peer gone")


if __name__ == "__main__":
    unittest.main()
