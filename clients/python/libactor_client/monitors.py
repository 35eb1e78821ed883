"""Monitors from Python: ``bridge.monitor(target)`` (docs/protocol.md "Monitors and links").

A monitor is an ``actor.monitor`` envelope (kind send, body ``{}``) from the Bridge's monitor id
``[name, "", 0, 2]`` with the monitor's id as its correlation; the target's node answers with
``actor.down`` (kind send, same correlation, body ``{"monitor", "who", "reason"}``) when the actor
is gone. Exactly one reason per monitor, the same rules as the C++ Bridge:

- the actor's own: stopped, normal, crashed (text + error_type), shutdown, linked, noproc;
- node_down when this client declares the node down (silent past ``down_after`` while something
  waits on it, refusing, unreachable);
- node_restarted when the node answers as another incarnation;
- after the node forgot this client (HELLO_AGAIN of the same incarnation), the live monitors are
  sent again once it welcomes us (the actor keeps one entry per watcher and id).

The client is synchronous: downs are read while something waits on the node (``Monitor.wait``,
or any call to it), and kept until asked for.

    m = bridge.monitor("worker@tcp://127.0.0.1:7100")
    m.sync()                      # optional: in place at the target before going on
    reason = m.wait(timeout=10)   # DownReason(what="crashed", text="boom", error_type="std::runtime_error")
"""

import math
import time

import zmq

from . import wire
from .errors import ActorError, NodeDown, NodeRestarted, ShuttingDown, Timeout

MONITOR_SENDER_ID = 2  # the Bridge's id that sends actor.monitor/demonitor and receives actor.down
KINDS = ("normal", "stopped", "crashed", "shutdown", "linked", "noproc", "node_down", "node_restarted")


class DownReason:
    """Why a monitored actor is gone: ``what`` (one of KINDS), ``text``, ``error_type`` (the
    exception's type for crashed). As on the wire: ``to_dict()`` gives ``{"what", "text",
    "error_type"}``."""

    __slots__ = ("what", "text", "error_type")

    def __init__(self, what, text="", error_type=""):
        self.what = what
        self.text = text
        self.error_type = error_type

    @classmethod
    def from_wire(cls, value):
        """The reason map of an actor.down body; ValueError when it is not one."""
        if not isinstance(value, dict) or value.get("what") not in KINDS:
            raise ValueError(f"not a down reason: {value!r}")
        text, error_type = value.get("text", ""), value.get("error_type", "")
        if not isinstance(text, str) or not isinstance(error_type, str):
            raise ValueError(f"not a down reason: {value!r}")
        return cls(value["what"], text, error_type)

    def to_dict(self):
        return {"what": self.what, "text": self.text, "error_type": self.error_type}

    @property
    def abnormal(self):
        """All but normal and stopped (what stops linked actors)."""
        return self.what not in ("normal", "stopped")

    def describe(self):
        """"crashed: boom", or the kind alone when there is no text (as C++ down_reason::describe)."""
        return f"{self.what}: {self.text}" if self.text else self.what

    def __eq__(self, other):
        return isinstance(other, DownReason) and self.to_dict() == other.to_dict()

    def __repr__(self):
        return f"DownReason({self.what!r}, {self.text!r}, {self.error_type!r})"


class Monitor:
    """A monitor on one actor, from Bridge.monitor(). ``id`` (the correlation on the wire),
    ``target`` (the Ref monitored), ``reason`` (None until the down came)."""

    def __init__(self, bridge, id_, target, route):
        self._bridge = bridge
        self.id = id_
        self.target = target
        self.route = route  # the connection's address
        self.reason = None
        self.closed = None  # an ActorError when cancelled or the Bridge closed before a down

    def wait(self, timeout=5.0):
        """The DownReason, reading from the node up to ``timeout`` seconds for it. Raises Timeout
        when none came yet (the monitor stays: wait again), ShuttingDown when it was cancelled or
        the Bridge closed. Once it came, returns it at once."""
        return self._bridge._wait_monitor(self, timeout)

    def sync(self, timeout=5.0):
        """Waits until the monitor is in place: a ping of the target's node, sent after the
        actor.monitor on the same connection, is answered; a stop caused afterwards from anywhere
        gives its real reason (not noproc). Raises what Bridge.ping raises."""
        if self.reason is None:
            self._bridge.ping(self.target.address, timeout)

    def done(self):
        """Whether the down came (no reading from the node)."""
        return self.reason is not None

    def cancel(self):
        """Ends the monitor: no down afterwards; actor.demonitor goes to the node (best effort).
        True when it was still waiting for its down."""
        return self._bridge._cancel_monitor(self)

    def __repr__(self):
        return f"Monitor({self.id}, {self.target}, reason={self.reason!r})"


class MonitorsMixin:
    """The Bridge's side of monitors (bridge.py mixes it in). Uses the Bridge's lock,
    connections and _drop()."""

    def _init_monitors(self):
        self._monitors = {}  # id -> Monitor, live ones
        self._monitor_ids = iter(range(1, 1 << 63))
        self._monitor_sender = wire.Ref(self.name, "", 0, MONITOR_SENDER_ID)

    def monitor(self, target, timeout=5.0):
        """Monitors the actor ``target`` names (a Ref, or text: NAME, NAME@ADDRESS, a printed ref;
        names are resolved first, raising NoSuchActor when nobody holds them) and returns a
        Monitor. Its down comes once: the actor's reason, noproc when it is gone already (answered
        by its node), node_down or node_restarted. A node known to be unreachable gives a Monitor
        completed with node_down at once."""
        deadline = time.monotonic() + timeout
        with self._locked(deadline):
            ref = self._resolve(target, deadline)
            self._envelope(wire.SEND, self._monitor_sender, ref, 0, 0, "actor.monitor", {})  # BadMessage for a bad ref
            mon = Monitor(self, next(self._monitor_ids), ref, self._route(ref.address))
            try:
                conn = self._connection(ref.address)
            except NodeDown as ex:
                mon.reason = DownReason("node_down", str(ex))
                return mon
            self._monitors[mon.id] = mon
            self._send_watch(conn, "actor.monitor", mon)
            return mon

    # ---- inside the Bridge's lock ---------------------------------------------------------------

    def _send_watch(self, conn, type_, mon):
        env = wire.encode_envelope(wire.Envelope(wire.SEND, self._monitor_sender, mon.target, mon.id, 0, type_, {}))
        conn.send_now([env])  # after the HELLO in the queue; a full queue: the node is gone or far behind

    def _on_send(self, env):
        """A kind-send envelope that came to this client: an actor.down completes its monitor."""
        if env.type != "actor.down" or not isinstance(env.receiver, wire.Ref) or \
                env.receiver.id != MONITOR_SENDER_ID:
            return
        mon = self._monitors.get(env.correlation)
        if mon is None:
            return  # cancelled, completed already (node_down), or a second down
        body = env.body if isinstance(env.body, dict) else {}
        try:
            reason = DownReason.from_wire(body.get("reason"))
        except ValueError:
            return  # malformed: a node never sends one
        del self._monitors[mon.id]
        mon.reason = reason

    def _monitors_lost(self, conn, failure):
        """conn was given up (failure, a NodeDown): its monitors complete with node_down, or
        node_restarted when the node came back as another incarnation."""
        restarted = isinstance(failure, NodeRestarted)
        new_run = getattr(failure, "incarnation", None) if restarted else None
        text = str(failure) if failure is not None else ""
        again = []
        for mon in [m for m in self._monitors.values() if m.route == conn.address]:
            if restarted and mon.target.address != conn.address:
                # through a gateway that restarted: the nodes behind it forgot what it carried
                reason = DownReason("node_down", f"gateway {conn.address} restarted")
            elif restarted and new_run is not None and mon.target.incarnation in (0, new_run):
                again.append(mon)  # an actor of the new run (or a service): it lives; monitor it there
                continue
            else:
                reason = DownReason("node_restarted" if restarted else "node_down", text)
            del self._monitors[mon.id]
            mon.reason = reason
        if again and not self._closed:
            fresh = self._connection(conn.address)  # the node's new run: HELLO, then the monitors
            for mon in again:
                mon.route = fresh.address
                self._send_watch(fresh, "actor.monitor", mon)

    def _monitors_welcomed_again(self, conn):
        """The node forgot us and welcomed us again (same incarnation): the live monitors go again."""
        for mon in [m for m in self._monitors.values() if m.route == conn.address]:
            self._send_watch(conn, "actor.monitor", mon)

    def _close_monitors(self):
        for mon in list(self._monitors.values()):
            conn = self._conns.get(mon.route)
            if conn is not None:
                self._send_watch(conn, "actor.demonitor", mon)
            mon.closed = ShuttingDown("the Bridge is closed")
        self._monitors.clear()

    # ---- Monitor's methods ------------------------------------------------------------------------

    def _cancel_monitor(self, mon):
        with self._lock:
            if self._monitors.pop(mon.id, None) is None:
                return False
            mon.closed = ShuttingDown("the monitor was cancelled")
            conn = self._conns.get(mon.route)
            if conn is not None and not self._closed:
                self._send_watch(conn, "actor.demonitor", mon)
            return True

    def _wait_monitor(self, mon, timeout):
        # known already: at once, whoever holds the Bridge
        if mon.reason is not None:
            return mon.reason
        if mon.closed is not None:
            raise mon.closed
        deadline = time.monotonic() + timeout
        with self._locked(deadline):
            if not self._read_while(mon, lambda: False, deadline):
                raise Timeout(f"no down within {timeout:g} s")
        if mon.reason is not None:
            return mon.reason
        raise mon.closed if isinstance(mon.closed, ActorError) else ShuttingDown("the monitor ended")

    def _read_while(self, mon, done, deadline):
        """Inside the lock: reads from mon's node (keeping it alive, handling what arrives) until
        done(), mon's down or its end (reason or closed set), or the deadline. True unless the
        deadline passed first. Also what observations wait with (observations.py)."""
        started = last_turn = time.monotonic()
        while mon.reason is None and mon.closed is None and not done():
            conn = self._conns.get(mon.route)
            if conn is None:  # given up without its monitors knowing: cannot happen, but never hang
                self._monitors.pop(mon.id, None)
                mon.reason = DownReason("node_down", f"the connection to {mon.route} is gone")
                break
            now = time.monotonic()
            if now >= deadline:
                return False
            if now - last_turn > max(self.down_after / 2, 3 * self.heartbeat):
                started = now  # we did not run for a while (stopped, starved): the silence was ours
            last_turn = now
            failure, wake = conn.keep_alive(now, started)
            if failure is None:
                poller = zmq.Poller()
                poller.register(conn.socket, zmq.POLLIN)
                poller.poll(max(1, math.ceil((min(wake, deadline) - time.monotonic()) * 1000)))
                envelopes, failure = conn.receive()
                for env in envelopes:
                    self._answer_stray(env)
            if failure is not None:
                self._drop(conn, failure)
                continue
            conn.take_forgotten()  # requests of calls that are over: nobody waits for them
            if conn.take_welcomed_again():
                self._monitors_welcomed_again(conn)
        return True

    def _answer_stray(self, env):
        if env.kind == wire.SEND:
            self._on_send(env)
