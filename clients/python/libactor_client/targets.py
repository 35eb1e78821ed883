"""Targets: what a Bridge call is addressed to, and the one parser of their text form.

The grammar is the one of actorctl (tools/actorctl_options.cpp) and C++ ``actor::parse_target``:

    NAME                          the actor registered as NAME, resolved through the registries
    NAME@ADDRESS                  the actor registered as NAME on the node at ADDRESS, asked of
                                  that node (its manager's actor.node.lookup): no registry needed
    NODE@ADDRESS#INCARNATION/ID   a ref, as str(ref), actorctl and C++ format_ref print it
                                  (e.g. n1@tcp://127.0.0.1:7100#7733619457346/16)

ADDRESS is a ZeroMQ address with its scheme (``tcp://host:port``, ``ipc://path``); NODE may be
empty (refs from a registry may not name their node); INCARNATION and ID are unsigned 64-bit
decimal numbers. A target never contains whitespace. tests/vectors/targets.json lists valid and
malformed examples with what they mean.
"""

import re
from dataclasses import dataclass
from typing import Optional

from .errors import BadMessage
from .wire import Ref

NAME = "name"
NAME_AT_NODE = "name_at_node"
REF = "ref"

GRAMMAR = "NAME, NAME@ADDRESS or NODE@ADDRESS#INCARNATION/ID"

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_UINT = re.compile(r"[0-9]+")  # ASCII digits only: str.isdigit() also takes '²' and friends


@dataclass(frozen=True)
class Target:
    """A parsed target. ``kind`` is NAME, NAME_AT_NODE or REF; ``name`` is set for the first two,
    ``address`` for the last two, ``ref`` for REF. Build one with parse_target(), Target.named(),
    Target.at() or Target.of()."""

    kind: str
    name: str = ""
    address: str = ""
    ref: Optional[Ref] = None

    @classmethod
    def named(cls, name):
        """NAME: resolved through the registries."""
        return cls(NAME, name=name)

    @classmethod
    def at(cls, name, address):
        """NAME@ADDRESS: the actor registered as ``name`` on the node at ``address``."""
        return cls(NAME_AT_NODE, name=name, address=address)

    @classmethod
    def of(cls, ref):
        """A Ref, as it is."""
        return cls(REF, address=ref.address, ref=ref)

    def __str__(self):
        """The text form, which parse_target reads back."""
        if self.kind == REF:
            return str(self.ref)
        if self.kind == NAME_AT_NODE:
            return f"{self.name}@{self.address}"
        return self.name


class MalformedTarget(BadMessage, ValueError):
    """Text that is not a target: a ValueError, and a BadMessage (code 8, as C++ parse_target says
    bad_message), so that Bridge.multi_call() and stop() report it for its target alone."""


def _malformed(text, why):
    return MalformedTarget(f"malformed target {text!r}: {why} (use {GRAMMAR})")


def _uint64(text, what, digits):
    if not _UINT.fullmatch(digits):
        raise _malformed(text, f"{what} {digits!r} after the address is not an unsigned decimal number")
    value = int(digits)
    if value >= 1 << 64:
        raise _malformed(text, f"{what} {digits} does not fit in 64 bits")
    return value


def parse_target(text):
    """The Target that ``text`` names; MalformedTarget (a ValueError) saying what is wrong for
    malformed text; TypeError when ``text`` is not a str."""
    if not isinstance(text, str):
        raise TypeError(f"a target's text is a str, not {text!r}")
    if not text:
        raise _malformed(text, "it is empty")
    if any(c.isspace() for c in text):
        raise _malformed(text, "it contains whitespace")
    before, at, rest = text.partition("@")
    if not at:
        return Target.named(text)
    address, hash_, tail = rest.rpartition("#")
    if not hash_:
        address = rest
    if not address:
        raise _malformed(text, "the address after '@' is empty")
    scheme = _SCHEME.match(address)
    if scheme is None:
        raise _malformed(text, f"the address {address!r} after '@' lacks a scheme: expected one like tcp://host:port")
    if scheme.end() == len(address):
        raise _malformed(text, f"the address {address!r} after '@' has nothing after its scheme")
    if not hash_:
        if not before:
            raise _malformed(text, "the name before '@' is empty")
        return Target.at(before, address)
    incarnation, slash, id_ = tail.partition("/")
    if not slash:
        raise _malformed(text, "expected #INCARNATION/ID after the address: the '/' is missing")
    ref = Ref(before, address, _uint64(text, "INCARNATION", incarnation), _uint64(text, "ID", id_))
    return Target.of(ref)


def as_target(value):
    """A Target from what Bridge methods take as a target: a Target, a Ref or a str (parsed).
    ValueError for malformed text; TypeError for anything else."""
    if isinstance(value, Target):
        return value
    if isinstance(value, Ref):
        return Target.of(value)
    if isinstance(value, str):
        return parse_target(value)
    raise TypeError(f"a target is a Ref, a Target or a str ({GRAMMAR}), not {value!r}")
