"""The wire format of docs/protocol.md: frames and envelopes to and from bytes.

Every ZeroMQ message is one frame, a MessagePack array whose first element is a tag:

    HELLO   [1, version, role, name, address, incarnation]
    WELCOME [2, version, name, address, incarnation, max_message_size]
    REFUSE  [3, version, reason]
    PING    [4, seq, incarnation]
    PONG    [5, seq, incarnation]
    BATCH   [6, envelope, ...]        envelope = [kind, sender, receiver, correlation, ttl_ms, type, body]
    HELLO_AGAIN [7, incarnation, reason, [[sender_id, correlation], ...]]
                                      the node does not know this connection: say HELLO again

The encoder writes the same bytes as libactor's C++ encoder (libactor/src/wire.cpp): the
smallest MessagePack form for every value, except a BATCH's array header, which is always
the 5-byte array32 form (C++ writes it before it knows how many envelopes follow).
tests/vectors/protocol_vectors.json holds examples that both encoders must reproduce.
"""

import struct
from dataclasses import dataclass
from typing import Any, NamedTuple, Optional, Tuple

import msgpack

from .errors import BadMessage

PROTOCOL_VERSION = 1

HELLO, WELCOME, REFUSE, PING, PONG, BATCH, HELLO_AGAIN = range(1, 8)
SEND, REQUEST, REPLY, ERROR = range(4)
KIND_NAMES = ("send", "request", "reply", "error")

ERROR_TYPE = "actor.error"


class Ref(NamedTuple):
    """An actor's address: ``[node, address, incarnation, id]`` on the wire.

    ``node`` is the node's name, ``address`` its advertised ZeroMQ address, ``incarnation`` the
    node run the actor belongs to and ``id`` the actor's id there. Refs are values, hashable and
    packed as the 4-element array the protocol expects; two are equal when they name the same
    actor (same address, incarnation and id), whatever their ``node`` says.
    """

    node: str
    address: str
    incarnation: int
    id: int

    # Two refs name the same actor when address, incarnation and id agree: the node's name only
    # informs (a registry's refs may carry "" there).
    def __eq__(self, other):
        return self[1:] == other[1:] if isinstance(other, Ref) else NotImplemented

    def __ne__(self, other):
        return not self == other if isinstance(other, Ref) else NotImplemented

    def __hash__(self):
        return hash(self[1:])

    @classmethod
    def manager(cls, address):
        """The manager (id 0) of whatever node runs at ``address`` now."""
        return cls("", address, 0, 0)

    def __str__(self):
        """The text form shared with C++ (actor::format_ref) and actorctl:
        ``NODE@ADDRESS#INCARNATION/ID``, e.g. ``n1@tcp://127.0.0.1:7100#81985529216486895/16``."""
        return f"{self.node}@{self.address}#{self.incarnation}/{self.id}"

    @classmethod
    def parse(cls, text):
        """Reads the text form back (what ``str(ref)`` and actorctl print); ValueError with the
        reason for anything else. The grammar is parsed in one place, targets.parse_target."""
        from .targets import REF, parse_target  # targets imports this module
        target = parse_target(text)
        if target.kind != REF:
            raise ValueError(f"{text!r} is not a ref: expected NODE@ADDRESS#INCARNATION/ID")
        return target.ref


@dataclass(frozen=True)
class Hello:
    role: str  # "node", "client" or "gateway-client" (docs/protocol.md "Gateways")
    name: str
    address: str  # "" for a client
    incarnation: int
    version: int = PROTOCOL_VERSION


@dataclass(frozen=True)
class Welcome:
    name: str
    address: str
    incarnation: int
    max_message_size: int = 0  # the largest frame the node accepts; 0: not said
    version: int = PROTOCOL_VERSION


@dataclass(frozen=True)
class Refuse:
    reason: str
    version: int = PROTOCOL_VERSION


@dataclass(frozen=True)
class Ping:
    seq: int
    incarnation: int


@dataclass(frozen=True)
class Pong:
    seq: int
    incarnation: int


@dataclass(frozen=True)
class HelloAgain:
    """The node does not know this connection (it forgot the client, or restarted): say HELLO
    again. ``dropped``: the (sender id, correlation) of the requests it did not deliver."""
    incarnation: int
    reason: str
    dropped: Tuple[Tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Envelope:
    kind: int  # SEND, REQUEST, REPLY or ERROR
    sender: Optional[Ref]  # None: anonymous
    receiver: Ref
    correlation: int
    ttl_ms: int
    type: str
    body: Any


@dataclass(frozen=True)
class Batch:
    envelopes: Tuple[Envelope, ...]


# ---- encoding -------------------------------------------------------------------------------

def _pack(value):
    try:
        return msgpack.packb(value, use_bin_type=True)
    except (TypeError, ValueError, OverflowError) as ex:
        raise BadMessage(f"cannot encode as MessagePack: {ex}") from None


def encode_envelope(e):
    """One envelope's bytes (an element of a BATCH)."""
    sender = None if e.sender is None else tuple(e.sender)
    return _pack([e.kind, sender, tuple(e.receiver), e.correlation, e.ttl_ms, e.type, e.body])


def encode_batch(encoded_envelopes):
    """A BATCH frame around envelopes already encoded with encode_envelope."""
    return b"\xdd" + struct.pack(">I", len(encoded_envelopes) + 1) + bytes([BATCH]) + b"".join(encoded_envelopes)


def encode(frame):
    """The bytes of a frame (Hello, Welcome, Refuse, Ping, Pong, Batch or HelloAgain)."""
    if isinstance(frame, Batch):
        return encode_batch([encode_envelope(e) for e in frame.envelopes])
    if isinstance(frame, Hello):
        return _pack([HELLO, frame.version, frame.role, frame.name, frame.address, frame.incarnation])
    if isinstance(frame, Welcome):
        return _pack([WELCOME, frame.version, frame.name, frame.address, frame.incarnation, frame.max_message_size])
    if isinstance(frame, Refuse):
        return _pack([REFUSE, frame.version, frame.reason])
    if isinstance(frame, Ping):
        return _pack([PING, frame.seq, frame.incarnation])
    if isinstance(frame, Pong):
        return _pack([PONG, frame.seq, frame.incarnation])
    if isinstance(frame, HelloAgain):
        return _pack([HELLO_AGAIN, frame.incarnation, frame.reason, [list(d) for d in frame.dropped]])
    raise TypeError(f"not a frame: {frame!r}")


# ---- decoding -------------------------------------------------------------------------------

def _is_uint(v):
    return type(v) is int and v >= 0  # bool is an int subclass: not a MessagePack integer


def _is_str(v):
    return type(v) is str


MAX_DEPTH = 32  # levels of containers in a frame, as nodes count them (docs/protocol.md, "Sizes and depth")


def _depth(value):
    """The number of nested container levels in a decoded value (a scalar: 0)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        v, level = stack.pop()
        if type(v) is list:
            children = v
        elif type(v) is dict:
            children = [x for kv in v.items() for x in kv]
        else:
            continue
        deepest = max(deepest, level)
        if level <= MAX_DEPTH:
            stack.extend((c, level + 1) for c in children if type(c) in (list, dict))
    return deepest


def check_complete(data):
    """Raises BadMessage unless ``data`` holds one whole MessagePack value and nothing after it.

    msgpack.unpackb reserves a container's elements when it reads its header, before it finds
    the bytes missing: a short run of nested array32/map32 headers reserves memory for elements
    that are not there. Skipping the value first (msgpack's C parser, building nothing) refuses
    any header that claims more elements than the bytes left hold, as libactor's bounded reader
    does; after it, unpackb reserves only for elements that are there.
    """
    u = msgpack.Unpacker(max_buffer_size=max(len(data), 1))
    u.feed(data)
    try:
        u.skip()
    except msgpack.OutOfData:
        raise BadMessage("not valid MessagePack: insufficient bytes (a header claims more "
                         "than the bytes left hold, or the value is cut short)") from None
    except Exception as ex:  # FormatError, StackError...
        raise BadMessage(f"not valid MessagePack: {ex}") from None
    if u.tell() != len(data):
        raise BadMessage("not valid MessagePack: trailing bytes after the value")


def unpack(data, max_depth=MAX_DEPTH):
    """One MessagePack value filling all of ``data``; BadMessage otherwise.

    Bounded as a node's reader is: no container may claim more elements than the bytes left
    hold (check_complete, before anything is built).
    A value nesting more than ``max_depth`` containers is refused, as nodes refuse it.
    """
    check_complete(data)
    try:
        value = msgpack.unpackb(data, raw=False, strict_map_key=False)
    except Exception as ex:  # ExtraData, FormatError, StackError, UnicodeDecodeError, unhashable keys...
        raise BadMessage(f"not valid MessagePack: {ex}") from None
    if _depth(value) > max_depth:
        raise BadMessage(f"nests deeper than {max_depth} levels")
    return value


def read_ref(v):
    """A Ref from its decoded form ``[node, address, incarnation, id]``; BadMessage otherwise."""
    if (type(v) is list and len(v) == 4 and _is_str(v[0]) and _is_str(v[1]) and _is_uint(v[2])
            and _is_uint(v[3])):
        return Ref(*v)
    raise BadMessage(f"not a ref [node, address, incarnation, id]: {v!r}")


def read_envelope(v):
    """An Envelope from its decoded form; BadMessage when it is not a well-formed envelope."""
    if type(v) is not list or len(v) != 7:
        raise BadMessage("an envelope is an array of 7")
    kind, sender, receiver, correlation, ttl_ms, type_, body = v
    if not _is_uint(kind) or kind > ERROR:
        raise BadMessage(f"unknown envelope kind {kind!r}")
    if not _is_uint(correlation) or not _is_uint(ttl_ms):
        raise BadMessage("correlation and ttl_ms must be unsigned integers")
    if not _is_str(type_):
        raise BadMessage("type must be a string")
    return Envelope(kind, None if sender is None else read_ref(sender), read_ref(receiver), correlation, ttl_ms,
                    type_, body)


def decode(data):
    """The frame in ``data`` (one ZeroMQ message); BadMessage for anything malformed."""
    items = unpack(data)
    if type(items) is not list or not items:
        raise BadMessage("a frame must be a non-empty array")
    tag = items[0]
    if not _is_uint(tag) or not HELLO <= tag <= HELLO_AGAIN:
        raise BadMessage(f"unknown frame tag {tag!r}")
    if tag == BATCH:
        return Batch(tuple(read_envelope(e) for e in items[1:]))
    fields = items[1:]

    def check(name, *kinds):  # the leading fields, by type: "u" unsigned, "s" string
        if len(fields) < len(kinds) or not all((_is_uint if k == "u" else _is_str)(f) for k, f in zip(kinds, fields)):
            raise BadMessage(f"malformed {name}")

    if tag == HELLO:
        check("HELLO", "u", "s", "s", "s", "u")
        version, role, name, address, incarnation = fields[:5]
        return Hello(role, name, address, incarnation, version)
    if tag == WELCOME:
        check("WELCOME", "u", "s", "s", "u")
        max_size = 0
        if len(fields) > 4:
            check("WELCOME", "u", "s", "s", "u", "u")
            max_size = fields[4]
        version, name, address, incarnation = fields[:4]
        return Welcome(name, address, incarnation, max_size, version)
    if tag == REFUSE:
        check("REFUSE", "u", "s")
        return Refuse(fields[1], fields[0])
    if tag == HELLO_AGAIN:
        check("HELLO_AGAIN", "u", "s")
        dropped = fields[2] if len(fields) > 2 else None
        if type(dropped) is not list or not all(
                type(d) is list and len(d) == 2 and _is_uint(d[0]) and _is_uint(d[1]) for d in dropped):
            raise BadMessage("malformed HELLO_AGAIN: dropped holds [sender id, correlation] pairs")
        return HelloAgain(fields[0], fields[1], tuple((d[0], d[1]) for d in dropped))
    check("PING/PONG", "u", "u")
    return (Ping if tag == PING else Pong)(fields[0], fields[1])
