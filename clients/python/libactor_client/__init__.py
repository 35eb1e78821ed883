"""libactor_client: call actors on libactor nodes from Python (python3-zmq + python3-msgpack).

    from libactor_client import Bridge

    with Bridge() as b:
        counter = b.spawn("tcp://127.0.0.1:7100", "counter")
        b.call(counter, "actor.counter.incr", {"by": 2})["value"]   # 2
        b.stop([counter])                                          # {counter: "stopped"}

Observing an actor's notifications (observations.py): ``for note in b.observe(counter): ...``.

See bridge.py for the API and docs/protocol.md for the wire protocol it speaks.
"""

from .bridge import Bridge, Reply
from .errors import (ActorError, ActorStopped, BadMessage, NameTaken, NodeDown, NodeRestarted, NoSuchActor,
                     Overloaded, RemoteError, ShuttingDown, Timeout, Unauthorized, UnknownType, error_for)
from .monitors import DownReason, Monitor
from .observations import Note, Observation
from .wire import PROTOCOL_VERSION, Ref

__all__ = [
    "Bridge", "Reply", "Ref", "PROTOCOL_VERSION", "error_for", "DownReason", "Monitor", "Note", "Observation",
    "NodeRestarted",
    "ActorError", "Timeout", "NoSuchActor", "ActorStopped", "NodeDown", "RemoteError", "Overloaded",
    "ShuttingDown", "BadMessage", "Unauthorized", "NameTaken", "UnknownType",
]
