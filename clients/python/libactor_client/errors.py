"""Errors, with the numeric codes of the wire protocol (docs/protocol.md, "Error codes").

Every failure of a Bridge call is an ActorError; its subclass and ``.code`` say which one,
with the same numbers as C++'s ``actor::errc``.
"""


class ActorError(Exception):
    """A failed call: ``.code`` is the protocol's error code, ``.text`` the explanation."""

    code = 0
    name = "error"

    def __init__(self, text=""):
        super().__init__(text)
        self.text = text

    def __str__(self):
        return f"{self.name}: {self.text}" if self.text else self.name

    def __repr__(self):
        return f"{type(self).__name__}({self.text!r})"


class Timeout(ActorError):
    """The deadline passed before a reply arrived."""
    code, name = 1, "timeout"


class NoSuchActor(ActorError):
    """The target does not exist, or the ref belongs to an earlier incarnation of its node."""
    code, name = 2, "no_such_actor"


class ActorStopped(ActorError):
    """The target stopped before it handled the message."""
    code, name = 3, "actor_stopped"


class NodeDown(ActorError):
    """The target's node is unreachable, down, restarted or refused the handshake."""
    code, name = 4, "node_down"


class NodeRestarted(NodeDown):
    """A NodeDown because the node answered as another incarnation: what was in flight is lost.
    ``incarnation`` is the new one, when known."""

    def __init__(self, text="", incarnation=None):
        super().__init__(text)
        self.incarnation = incarnation


class RemoteError(ActorError):
    """The target failed (threw) while handling the request; the text says why."""
    code, name = 5, "remote_error"


class Overloaded(ActorError):
    """A bounded queue on the way was full."""
    code, name = 6, "overloaded"


class ShuttingDown(ActorError):
    """The node or system is stopping."""
    code, name = 7, "shutting_down"


class BadMessage(ActorError):
    """Malformed, unexpected or undecodable input, or no handler for the type."""
    code, name = 8, "bad_message"


class Unauthorized(ActorError):
    """Not allowed."""
    code, name = 9, "unauthorized"


class NameTaken(ActorError):
    """A live actor already holds that name."""
    code, name = 10, "name_taken"


class UnknownType(ActorError):
    """No actor type (or message type) is registered under that name."""
    code, name = 11, "unknown_type"


_BY_CODE = {cls.code: cls for cls in (Timeout, NoSuchActor, ActorStopped, NodeDown, RemoteError, Overloaded,
                                      ShuttingDown, BadMessage, Unauthorized, NameTaken, UnknownType)}


def error_for(code, text=""):
    """The exception for a wire error code; an unknown code gives a plain ActorError carrying it."""
    cls = _BY_CODE.get(code)
    if cls is not None:
        return cls(text)
    err = ActorError(text)
    err.code = code
    err.name = f"error {code}"
    return err
