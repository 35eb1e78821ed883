"""Observations from Python: ``bridge.observe(target)`` (docs/protocol.md "Observe and notify",
docs/observe.md).

An observation receives the notifications of one actor's declared outputs (the built-in counter's
``actor.counter.value``, say), in notify order, as Notes. On the wire, everything is a send (kind 0):

- the Bridge picks the observation's id ``OBS`` (3000, 3001, ...: a sender id of its own per
  observation, below 2^32 so that it passes gateways), sends ``actor.monitor`` from its monitor id
  (monitors.py: the observed actor's death ends or, for a name, moves the observation) and then
  ``actor.observe`` ``{"types", "queue"}`` from ``[name, "", 0, OBS]``, correlation ``OBS``;
- the observed actor answers ``actor.observe.reply`` ``{"outputs", "error"}`` (error not empty: refused,
  raised as BadMessage) and monitors the observer (an ``actor.monitor`` to ``[.., OBS]``, ignored here);
- notifications come to ``[.., OBS]`` from the observed actor, correlation = sequence number 1, 2, ...;
  a gap (number ``n`` after ``m``, n > m + 1) means ``n - m - 1`` were dropped at the observed actor
  (its queue was full): the Note after the gap says so in ``.lost``;
- ``actor.observe.ack`` ``{"seq": n}`` says that the *user* has taken every notification up to number
  ``n`` (or it was lost), every ``ack_every(queue)`` of them: a script that stops calling
  next() stops the stream at the observed actor's queue bound, and memory stays bounded on both sides;
- ``actor.unobserve`` ``{}`` (and ``actor.demonitor`` for the monitor) ends it.

The client is synchronous: notifications are read while something waits on the observed actor's node
(``Observation.next``, or any call to that node) and kept, per observation, until taken.

    with bridge.observe("hits@tcp://127.0.0.1:7100", queue=64) as obs:
        for note in obs:                         # blocks until the next one
            print(note.seq, note.body["value"], note.lost, note.restarted)
"""

import collections
import itertools
import time

from . import wire
from .errors import ActorError, ActorStopped, BadMessage, NodeDown, Overloaded, ShuttingDown, Timeout
from .monitors import DownReason, Monitor
from . import targets

FIRST_OBSERVATION_ID = 3000  # the Bridge's sender ids for observations count up from here
DEFAULT_QUEUE = 1024  # queue 0 means this (C++ actor::default_observe_queue)
FIRST_RETRY, LAST_RETRY = 0.010, 1.0  # looking a name up again: 10 ms doubling to 1 s


def observe_window(queue):
    """Notifications on their way at most (sent, not yet acknowledged) for queue bound ``queue``
    (0: DEFAULT_QUEUE); the rest wait at the observed actor, at most ``max(1, queue - window)``."""
    q = queue or DEFAULT_QUEUE
    return 1 if q < 2 else q // 2


def ack_every(queue):
    """How many notifications the user takes between two acknowledgements."""
    w = observe_window(queue)
    return 1 if w < 2 else w // 2


class Note:
    """One notification: ``type`` (the output's type name), ``body`` (the message, a dict),
    ``seq`` (its sequence number in this observation of ``sender``), ``sender`` (the Ref of the
    observed actor that notified it), ``lost`` (notifications lost just before this one: dropped at
    the observed actor because the queue was full; 0 usually) and ``restarted`` (True for the first
    Note taken after the observed name moved to another actor, ``sender``). ``note["value"]``
    reads the body."""

    __slots__ = ("type", "body", "seq", "sender", "lost", "restarted")

    def __init__(self, type_, body, seq, sender, lost=0, restarted=False):
        self.type = type_
        self.body = body
        self.seq = seq
        self.sender = sender
        self.lost = lost
        self.restarted = restarted

    def __getitem__(self, key):
        return self.body[key]

    def get(self, key, default=None):
        return self.body.get(key, default) if isinstance(self.body, dict) else default

    def __repr__(self):
        extra = (f", lost={self.lost}" if self.lost else "") + (", restarted=True" if self.restarted else "")
        return f"Note({self.type!r}, {self.body!r}, seq={self.seq}{extra})"


class Observation:
    """An observation of one actor, from Bridge.observe(); an iterator of Notes and a context manager.

    Attributes: ``id`` (the observation id: its sender id and correlation on the wire); ``target``
    (the Ref observed now: another one after a name moved); ``name`` (the text target when it was
    a name, NAME or NAME@ADDRESS, followed across restarts; None for a ref); ``types`` and ``queue``
    (as asked); ``outputs`` (the types the observed actor said it will send); ``lost`` (notifications
    lost in all); ``restarts`` (how many times a name moved to another actor); ``reason`` (the
    DownReason of the last observed actor gone, None while it lives).

    Contract:

    - Notes come in notify order, each once; ``note.lost`` counts those dropped just before it
      (``obs.lost`` in all): at most ``queue`` notifications are outstanding (on their way or
      waiting at the observed actor), past that the oldest waiting one is dropped there.
    - A Note counts as handled when next() (or the iterator) returns it: the acknowledgements that
      let the observed actor send more follow the user, not the socket.
    - When the observed actor is gone (stopped, crashed, its node down or restarted), the Notes
      that arrived before are still returned first; then, for a ref, next() raises ActorStopped
      (NodeDown when its node is down or restarted) saying "the observed actor is gone: REASON", with
      ``.reason`` the DownReason, and again at every later call. For a name, next() looks the name up
      again (every 10 ms doubling to 1 s, within its timeout; Timeout when nobody else holds it yet,
      the next call goes on looking), observes the new holder (``target`` changes, ``restarts`` grows)
      and its first Note carries ``restarted=True``.
    - close() (or leaving the ``with``, or Bridge.close()) ends it: ``actor.unobserve`` and
      ``actor.demonitor`` go to the node; what was not taken is dropped; next() raises ShuttingDown
      and iteration stops.
    """

    def __init__(self, bridge, id_, spec, name, types, queue):
        self._bridge = bridge
        self.id = id_
        self._spec = spec  # the targets.Target it was asked for
        self.name = name
        self.types = types
        self.queue = queue
        self.target = None
        self.outputs = None
        self.lost = 0
        self.restarts = 0
        self.reason = None
        self.closed = None  # the ActorError next() raises from now on (closed, refused, gone for good)
        self._sender = wire.Ref(bridge.name, "", 0, id_)
        self._monitor = None  # the Monitor of the actor observed now
        self._answered = False  # its actor.observe.reply came
        self._refusal = None
        self._notes = collections.deque()  # arrived, not yet taken
        self._next_seq = 1
        self._unacked = 0  # Notes taken since the last acknowledgement
        self._last_taken = 0  # the number of the last Note taken
        self._restarted = False  # the next Note is the first since the name moved

    def next(self, timeout=5.0):
        """The next Note, reading from the node up to ``timeout`` seconds for it. Raises Timeout
        when none came (the observation stays: call again), ActorStopped / NodeDown when the observed
        actor is gone (and was not observed by name), BadMessage when the new holder of an observed
        name refused, ShuttingDown after close()."""
        return self._bridge._next_note(self, timeout)

    def close(self):
        """Ends the observation: ``actor.unobserve`` and ``actor.demonitor`` go to the node (best
        effort). True when it was still running. Idempotent."""
        return self._bridge._close_observation(self, ShuttingDown("the observation was closed"))

    def pending(self):
        """How many Notes arrived and wait to be taken (no reading from the node)."""
        return len(self._notes)

    def __iter__(self):
        return self

    def __next__(self):
        """Blocks until the next Note; StopIteration once closed; raises what next() raises
        when the observed actor is gone."""
        while True:
            try:
                return self.next(60.0)
            except Timeout:
                continue  # no notification yet (or a name not held again yet): keep waiting
            except ShuttingDown:
                if self.closed is not None:
                    raise StopIteration from None
                raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"Observation({self.id}, {self.target}, lost={self.lost}, restarts={self.restarts})"


def _gone_error(reason):
    """The error an observation of a ref ends with when its actor is gone (as the C++ Bridge's)."""
    cls = NodeDown if reason.what in ("node_down", "node_restarted") else ActorStopped
    err = cls(f"the observed actor is gone: {reason.describe()}")
    err.reason = reason
    return err


class ObservationsMixin:
    """The Bridge's side of observations (bridge.py mixes it in, before MonitorsMixin, whose
    Monitors it uses to learn when an observed actor is gone)."""

    def _init_observations(self):
        self._observations = {}  # id -> Observation, live ones
        self._observation_ids = itertools.count(FIRST_OBSERVATION_ID)

    def observe(self, target, types=None, queue=0, timeout=5.0):
        """Observes the actor ``target`` names (a Ref, or text: NAME, NAME@ADDRESS, a printed ref)
        and returns an Observation once the actor answered, within ``timeout`` seconds.

        types: the outputs wanted, by type name (a list, or one str); None or []: every output the
            actor declares. queue: the queue bound, notifications outstanding at most (0: 1,024).

        Raises what resolving the target raises (NoSuchActor for a name nobody holds, ...);
        BadMessage when the actor refused (a type that is not one of its outputs: the message names
        it); ActorStopped / NodeDown when the actor is gone before it answered; Timeout; ShuttingDown
        when the Bridge is closed. A target given as a name is followed across restarts
        (Observation.next)."""
        if types is None:
            types = []
        elif isinstance(types, str):
            types = [types]
        types = list(types)
        if not all(isinstance(t, str) and t for t in types):
            raise BadMessage(f"types is a list of type names, not {types!r}")
        if type(queue) is not int or not 0 <= queue < 1 << 64:
            raise BadMessage(f"queue is an unsigned integer (0: {DEFAULT_QUEUE}), not {queue!r}")
        spec = targets.as_target(target)  # MalformedTarget (a BadMessage) for malformed text
        name = None if spec.kind == targets.REF else str(spec)
        deadline = time.monotonic() + timeout
        with self._locked(deadline):
            ref = self._resolve(spec, deadline)
            obs = Observation(self, next(self._observation_ids), spec, name, types, queue)
            if obs.id >= 1 << 32:
                raise Overloaded("this Bridge made 2^32 observations: no observation id is left")
            self._subscribe(obs, ref)
            try:
                if not self._read_while(obs._monitor, lambda: obs._answered, deadline):
                    raise Timeout(f"{ref} did not answer the observation within {timeout:g} s")
                if obs._refusal is not None:
                    raise obs._refusal
                if not obs._answered:
                    mon = obs._monitor
                    raise _gone_error(mon.reason) if mon.reason is not None else \
                        (mon.closed or ShuttingDown("the observation ended"))
            except ActorError as ex:
                self._close_observation(obs, ex)
                raise
            return obs

    # ---- inside the Bridge's lock ---------------------------------------------------------------

    def _subscribe(self, obs, ref):
        """Monitors ``ref`` and asks it for obs's notifications (the first time, or after a name moved)."""
        env = self._envelope(wire.SEND, obs._sender, ref, obs.id, 0, "actor.observe",
                             {"types": obs.types, "queue": obs.queue})  # BadMessage for a bad ref
        conn = self._connection(ref.address)  # NodeDown when unreachable, ShuttingDown when closed
        mon = Monitor(self, next(self._monitor_ids), ref, conn.address)
        self._monitors[mon.id] = mon
        self._send_watch(conn, "actor.monitor", mon)  # before the observe: its down covers it
        if not conn.send_now([env]):
            self._cancel_monitor(mon)
            raise Overloaded(f"the connection to {ref.address} is full: the observation was not sent")
        obs.target = ref
        obs._monitor = mon
        obs._answered = False
        obs._refusal = None
        obs.reason = None
        obs._next_seq = 1
        obs._unacked = obs._last_taken = 0
        self._observations[obs.id] = obs

    def _send_control(self, obs, type_, body):
        """actor.observe.ack / actor.unobserve / actor.observe (again) to the actor observed now,
        on the connection of its monitor (best effort: none when it is gone)."""
        conn = self._conns.get(obs._monitor.route) if obs._monitor is not None else None
        if conn is None or obs.target is None:
            return
        env = wire.encode_envelope(wire.Envelope(wire.SEND, obs._sender, obs.target, obs.id, 0, type_, body))
        conn.send_now([env])

    def _on_send(self, env):
        """A kind-send envelope that came to this client: what comes to an observation's id is
        its reply or a notification; the rest goes to the monitors."""
        obs = self._observations.get(env.receiver.id) if isinstance(env.receiver, wire.Ref) else None
        if obs is None:
            super()._on_send(env)
            return
        if env.sender != obs.target:
            return  # from an actor observed before (a name that moved), or not ours at all
        if env.type == "actor.observe.reply":
            if env.correlation != obs.id or obs._answered:
                return
            body = env.body if isinstance(env.body, dict) else {}
            obs._answered = True
            error, outputs = body.get("error", ""), body.get("outputs", [])
            obs.outputs = list(outputs) if isinstance(outputs, list) else []
            if error:
                obs._refusal = BadMessage(str(error))
                if self._observations.get(obs.id) is obs and obs.closed is None and obs.restarts:
                    self._close_observation(obs, obs._refusal)  # a new holder refused: ends it
            return
        if env.type in ("actor.monitor", "actor.demonitor") or env.correlation == 0:
            return  # the observed actor watching us: a client's connection is its life
        seq = env.correlation
        if not obs._answered or seq < obs._next_seq or obs._monitor is None or obs._monitor.reason is not None:
            return  # from before this observation's answer (an earlier one's), or after the down
        lost = seq - obs._next_seq
        obs._next_seq = seq + 1
        obs.lost += lost
        obs._notes.append(Note(env.type, env.body, seq, env.sender, lost))

    def _monitors_welcomed_again(self, conn):
        """The node forgot us (and so did the observed actors: they watch this client) and welcomed
        us again: the monitors go again, and so do the observations, whose numbers start at 1."""
        super()._monitors_welcomed_again(conn)
        for obs in [o for o in self._observations.values()
                    if o._monitor is not None and o._monitor.route == conn.address and o._monitor.reason is None]:
            obs._next_seq = 1
            obs._answered = False
            obs._unacked = obs._last_taken = 0
            self._send_control(obs, "actor.observe", {"types": obs.types, "queue": obs.queue})

    def _close_observations(self):
        """The Bridge closes: every observation ends (its unobserve goes before the connections close)."""
        for obs in list(self._observations.values()):
            self._close_observation(obs, ShuttingDown("the Bridge is closed"))

    # ---- Observation's methods ----------------------------------------------------------------

    def _close_observation(self, obs, why):
        with self._lock:
            if obs.closed is not None:
                return False
            running = self._observations.get(obs.id) is obs
            if running:
                if obs._monitor is not None and obs._monitor.reason is None and obs._refusal is None:
                    self._send_control(obs, "actor.unobserve", {})
                del self._observations[obs.id]
            if obs._monitor is not None:
                self._cancel_monitor(obs._monitor)  # actor.demonitor, unless its down came
            obs.closed = why
            obs._notes.clear()
            return running

    def _take(self, obs):
        """Pops the next Note; counts it handled and acknowledges when due."""
        note = obs._notes.popleft()
        if obs._restarted:
            note.restarted, obs._restarted = True, False
        obs._unacked += 1
        obs._last_taken = max(obs._last_taken, note.seq)
        if obs._unacked >= ack_every(obs.queue) and obs._monitor.reason is None:
            obs._unacked = 0
            self._send_control(obs, "actor.observe.ack", {"seq": obs._last_taken})
        return note

    def _next_note(self, obs, timeout):
        deadline = time.monotonic() + timeout
        with self._locked(deadline):
            retry = 0.0
            while True:
                if obs.closed is not None:
                    raise obs.closed
                if obs._notes:
                    return self._take(obs)
                mon = obs._monitor
                if mon.reason is None and mon.closed is None:
                    if not self._read_while(mon, lambda: bool(obs._notes) or obs.closed is not None, deadline):
                        raise Timeout(f"no notification within {timeout:g} s")
                    continue
                # the observed actor is gone, and what it sent before was taken
                obs.reason = mon.reason or DownReason("node_down", str(mon.closed))
                if obs.name is None:
                    err = _gone_error(obs.reason)
                    self._close_observation(obs, err)
                    raise err
                retry = self._follow(obs, deadline, retry)

    def _follow(self, obs, deadline, retry):
        """obs's name names another actor now? Then observe that one (and return); else wait the
        next retry (10 ms doubling to 1 s) and return its length; Timeout past the deadline."""
        try:
            ref = self._resolve(obs._spec, deadline)
        except Timeout:
            ref = None
        except ActorError:
            ref = None  # not held yet, its node or the registries unreachable for now: look again
        if ref is not None and ref != obs.target:
            try:
                self._subscribe(obs, ref)
            except (NodeDown, Overloaded):
                ref = None
            else:
                obs.restarts += 1
                obs._restarted = True
                return 0.0
        retry = min(max(retry * 2, FIRST_RETRY), LAST_RETRY)
        left = deadline - time.monotonic()
        if left <= 0:
            raise Timeout(f"{obs.name!r} is not held by another actor yet")
        time.sleep(min(retry, left))  # the pause between two lookups (the Bridge does one thing at a time)
        return retry
