"""Bridge: call actors on libactor nodes from a Python script (the client API).

The Bridge speaks the wire protocol (docs/protocol.md) as a *client*: one Connection
(connection.py: a ZeroMQ DEALER, the handshake, heartbeats) per node it talks to; its requests
carry the sender ref ``[name, "", 0, 1]`` and the node answers on the same connection. Targets
(targets.py) are Refs or text: ``NAME`` (through the registries), ``NAME@ADDRESS`` (the name
registered on that node, asked of it) or a printed ref ``NODE@ADDRESS#INCARNATION/ID``.

Thread-safety: a Bridge may be shared between threads, but it does one thing at a time: every
public method holds an internal lock for its whole duration (ZeroMQ sockets must not be used
from two threads at once), and a call waiting for that lock still ends by its own timeout
(raising Timeout). For calls in parallel, use one Bridge per thread, or ``multi_call()``, which
sends all its requests before waiting for the answers, as ``stop()`` does.
"""

import contextlib
import itertools
import math
import random
import threading
import time

import zmq

from . import targets, wire
from .connection import Connection, normalize_address
from .errors import ActorError, BadMessage, NodeDown, NoSuchActor, Overloaded, ShuttingDown, Timeout, error_for
from .monitors import MonitorsMixin
from .observations import ObservationsMixin
from .wire import Ref

REGISTRY_ID = 1  # the registry's service actor answers at this well-known id (incarnation 0)
MAX_BODY_DEPTH = 30  # a node accepts frames nested 32 deep; the frame and the envelope take 2
_FAILOVER = (NodeDown, ShuttingDown, Overloaded)  # registry errors that make the next registry worth a try


class Reply:
    """A reply: its type name and its body (a dict; a receiver may answer any value). ``reply["value"]``
    reads the body."""

    __slots__ = ("type", "body")

    def __init__(self, type_, body):
        self.type = type_
        self.body = body

    def __getitem__(self, key):
        return self.body[key]

    def get(self, key, default=None):
        return self.body.get(key, default) if isinstance(self.body, dict) else default

    def __eq__(self, other):
        return isinstance(other, Reply) and (self.type, self.body) == (other.type, other.body)

    def __repr__(self):
        return f"Reply({self.type!r}, {self.body!r})"


def _nests_deeper(value, limit):
    """Whether value nests deeper than limit (a dict or list is one level), without recursion."""
    stack = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, dict):
            children = itertools.chain(v.keys(), v.values())
        elif isinstance(v, (list, tuple)):
            children = v
        else:
            continue
        if depth > limit:
            return True
        stack.extend((c, depth + 1) for c in children)
    return False


def _check_group(group):
    """Raises BadMessage unless ``group`` is a group name (actor/group.hpp: 1 to 200 bytes, no '/')."""
    if not isinstance(group, str) or not group:
        raise BadMessage("a group name must not be empty")
    if len(group.encode()) > 200:
        raise BadMessage(f"a group name has at most 200 bytes (this one {len(group.encode())})")
    if "/" in group:
        raise BadMessage(f"a group name must not contain '/' ('{group}')")


class Bridge(ObservationsMixin, MonitorsMixin):
    """A client of libactor nodes and registries.

    registries: addresses of actor-registry processes (tried in order, failing over when one
        is down), used to resolve names: NAME targets, lookup() and list().
    name: how this client introduces itself (its routing id is ``<name>/<random 16 hex digits>``).
    heartbeat: seconds between PINGs to a node while a call to it is pending.
    down_after: seconds of silence from a node after which its pending calls fail with NodeDown.
    max_message_size: the largest frame accepted from a node, in bytes.
    gateways: addresses of nodes started with ``--gateway-forwarding`` that this client can reach
        (docs/protocol.md "Gateways"). When given, everything goes to the first of them that is not
        down, which forwards it by the receiver's address inside the cluster: refs and registry
        addresses stay the cluster's (a registry may also be named by a gateway's address).

    A target (call, send, multi_call, stop) is a Ref, a targets.Target, or text: ``NAME``
    (resolved through the registries), ``NAME@ADDRESS`` (the actor registered as NAME on the node
    at ADDRESS, asked of that node: no registry needed) or ``NODE@ADDRESS#INCARNATION/ID`` (a ref
    as str(ref) and actorctl print it). Malformed text raises targets.MalformedTarget, a
    BadMessage and a ValueError; multi_call() and stop() return it for that target alone.

    Every call takes a ``timeout`` in seconds and raises an ActorError subclass when it fails
    (Timeout, NoSuchActor, NodeDown, RemoteError, BadMessage, ...), with the protocol's codes.

    ``monitor(target)`` returns a Monitor whose ``wait(timeout)`` gives the DownReason the actor
    is gone with (monitors.py). ``observe(target, types, queue)`` returns an Observation, an iterator
    of the actor's notifications (Notes), following a name across restarts (observations.py).
    """

    def __init__(self, registries=(), name="python", heartbeat=0.5, down_after=2.0,
                 max_message_size=16 << 20, gateways=()):
        if isinstance(registries, str):
            registries = [registries]
        self.registries = [normalize_address(a) for a in registries]
        if isinstance(gateways, str):
            gateways = [gateways]
        self.gateways = [normalize_address(a) for a in gateways]
        self._gateway_down = {}  # gateway address -> monotonic time until which it is passed over
        self.name = name
        self.incarnation = random.getrandbits(64)
        self.routing_id = f"{name}/{self.incarnation:016x}".encode()
        self.heartbeat = heartbeat
        self.down_after = down_after
        self.max_message_size = max_message_size
        self._sender = Ref(name, "", 0, 1)
        self._ctx = zmq.Context()
        self._conns = {}  # address -> Connection
        self._correlations = itertools.count(1)
        self._registry_index = 0  # the registry that answered last
        self._lock = threading.RLock()
        self._pending = 0
        self._closed = False
        self._init_monitors()
        self._init_observations()

    # ---- the public API -----------------------------------------------------------------------

    def call(self, target, type, body=None, timeout=5.0):
        """Sends a request of ``type`` with ``body`` (a dict) to ``target`` (a Ref, or text: NAME,
        NAME@ADDRESS or NODE@ADDRESS#INCARNATION/ID) and returns the Reply, or raises the error
        it got."""
        deadline = time.monotonic() + timeout
        with self._locked(deadline):
            ref = self._resolve(target, deadline)
            outcome = self._exchange([(ref, type, body)], deadline)[0]
        if isinstance(outcome, ActorError):
            raise outcome
        return outcome

    def multi_call(self, calls, timeout=5.0):
        """Sends every request of ``calls`` (an iterable of (target, type, body)) at once and waits
        for all of them, up to ``timeout`` in all. Returns one outcome per call, in order: the Reply,
        or the ActorError it got (raised errors are returned, not raised)."""
        calls = list(calls)
        deadline = time.monotonic() + timeout
        with self._locked(deadline):
            outcomes, requests, where = [None] * len(calls), [], []
            for i, (target, type, body) in enumerate(calls):
                try:
                    requests.append((self._resolve(target, deadline), type, body))
                    where.append(i)
                except ActorError as ex:
                    outcomes[i] = ex
            for i, outcome in zip(where, self._exchange(requests, deadline)):
                outcomes[i] = outcome
        return outcomes

    def send(self, target, type, body=None, timeout=5.0):
        """Sends a one-way message (anonymous: nobody can answer it). Delivery is at most once:
        returning means the message is on its way, not that it arrived. ``timeout`` bounds only
        the name lookup, when target is NAME or NAME@ADDRESS. Raises Overloaded when the node's connection
        cannot take more (ZeroMQ's send queue is full: the node is gone or far behind)."""
        deadline = time.monotonic() + timeout
        with self._locked(deadline):
            ref = self._resolve(target, deadline)
            env = self._envelope(wire.SEND, None, ref, 0, 0, type, body)
            conn = self._connection(ref.address)
            if not conn.send_now([env]):
                raise Overloaded(f"the connection to {ref.address} is full: the message was not sent")

    def stop(self, targets, timeout=5.0):
        """Asks each target to stop (``actor.stop``), all at once. Returns a dict from each target
        to ``"stopped"`` or the ActorError it got."""
        targets = list(targets)
        deadline = time.monotonic() + timeout
        with self._locked(deadline):
            results, requests = {}, []
            for t in targets:
                try:
                    requests.append((t, self._resolve(t, deadline)))
                except ActorError as ex:
                    results[t] = ex
            outcomes = self._exchange([(ref, "actor.stop", {}) for _, ref in requests], deadline)
            for (t, _), outcome in zip(requests, outcomes):
                results[t] = "stopped" if isinstance(outcome, Reply) else outcome
        return {t: results[t] for t in targets}

    def spawn(self, node, type, name="", config=None, timeout=5.0):
        """Spawns an actor of ``type`` on the node at address ``node`` (registering ``name`` there
        when not empty, with ``config``, a dict) and returns its Ref."""
        reply = self.call(self._manager(node), "actor.node.spawn",
                          {"type": type, "name": name, "config": config or {}}, timeout)
        return self._ref_in(reply)

    def lookup(self, name, timeout=5.0, node=None):
        """The Ref registered under ``name``: in the registries (a registry that is down, or does
        not know the name, passes the question to the next), or, with ``node``, on that node
        (``actor.node.lookup``). Raises NoSuchActor when nobody holds it."""
        if node is not None:
            return self._ref_in(self.call(self._manager(node), "actor.node.lookup", {"name": name}, timeout))
        reply = self._registry_call("actor.registry.lookup", {"name": name}, timeout, miss_is_final=False)
        return self._ref_in(reply)

    def list(self, prefix="", timeout=5.0):
        """The registry's entries whose name starts with ``prefix``: a dict name -> Ref, sorted by name."""
        reply = self._registry_call("actor.registry.list", {"prefix": prefix}, timeout)
        try:
            return {e["name"]: wire.read_ref(e["ref"]) for e in reply["entries"]}
        except (KeyError, TypeError) as ex:
            raise BadMessage(f"malformed registry entries: {reply.body!r}") from ex

    def task_state(self, target, timeout=5.0):
        """A task's state (docs/tasks.md): a dict {"state", "phase", "states"}."""
        return self.call(target, "actor.task.state", {}, timeout).body

    def start_tasks(self, node, tasks, step_timeout=5.0):
        """Starts tasks on the node at address ``node`` as one sequence (docs/tasks.md): every task is
        configured, then every task started, in order, each step within ``step_timeout`` seconds; a
        failing step stops them all and raises the error, which names the task and the step.
        ``tasks`` is a list of (type, name, config) tuples (name may be "", config a dict or None).
        Returns their Refs, in order."""
        specs = [{"type": t, "name": n or "", "config": c or {}} for t, n, c in tasks]
        reply = self.call(self._manager(node), "actor.node.start_tasks",
                          {"tasks": specs, "step_timeout_ms": max(1, int(step_timeout * 1000))},
                          step_timeout * (4 * len(specs) + 1))
        try:
            return [wire.read_ref(r) for r in reply["refs"]]
        except (KeyError, TypeError) as ex:
            raise BadMessage(f"malformed tasks_started: {reply.body!r}") from ex

    def members(self, group, timeout=5.0, node=None):
        """The members of ``group`` (docs/groups.md), a list of Refs: as the registries list them
        (the names under ``pg/GROUP/``), or, with ``node``, as that node knows them (without
        registries a node's groups are its own). Raises BadMessage for a bad group name."""
        _check_group(group)
        if node is not None:
            reply = self.call(self._manager(node), "actor.group.members", {"group": group}, timeout)
            try:
                return [wire.read_ref(r) for r in reply["members"]]
            except (KeyError, TypeError) as ex:
                raise BadMessage(f"malformed group members: {reply.body!r}") from ex
        return list(self.list(f"pg/{group}/", timeout).values())

    def publish(self, group, type, body=None, timeout=5.0, node=None):
        """Sends a one-way message to every member of ``group`` (``members``: the ones listed now),
        once each. Returns a dict {"members": n, "sent": n, "failed": [(Ref, ActorError)]}."""
        listed = self.members(group, timeout, node)
        failed = []
        for ref in listed:
            try:
                self.send(ref, type, body, timeout)
            except ActorError as ex:
                failed.append((ref, ex))
        return {"members": len(listed), "sent": len(listed) - len(failed), "failed": failed}

    def ping(self, node, timeout=5.0):
        """Asks the node at address ``node`` who it is: a dict {node, address, incarnation}."""
        return self.call(self._manager(node), "actor.node.ping", {}, timeout).body

    def stats(self, node, timeout=5.0):
        """The counters of the node at address ``node`` (a dict; see docs/protocol.md)."""
        return self.call(self._manager(node), "actor.node.stats", {}, timeout).body

    def pending(self):
        """How many requests await their answer right now (may be read from any thread)."""
        return self._pending

    def close(self):
        """Closes every connection (ending the observations and monitors first); messages sent but
        not yet written get up to 1 s. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._close_observations()  # their unobserves go within the linger
            self._close_monitors()  # their demonitors go within the linger
            self._closed = True
            for conn in self._conns.values():
                conn.close(linger_ms=1000)
            self._conns.clear()
            self._ctx.term()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- requests -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self, deadline):
        """Holds the Bridge's lock; Timeout when another thread holds it past ``deadline``."""
        if not self._lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise Timeout("another call on this Bridge held it until the deadline (use one Bridge per thread)")
        try:
            yield
        finally:
            self._lock.release()

    def _manager(self, node):
        return Ref.manager(normalize_address(node))

    @staticmethod
    def _ref_in(reply):
        try:
            return wire.read_ref(reply["ref"])
        except (KeyError, TypeError) as ex:
            raise BadMessage(f"{reply.type} without a ref: {reply.body!r}") from ex

    def _resolve(self, target, deadline):
        """The Ref that ``target`` names: a ref as it is; a name looked up in the registries, or
        on its node for NAME@ADDRESS (actor.node.lookup, as C++ bridge and actorctl do)."""
        t = targets.as_target(target)  # MalformedTarget (a BadMessage) for malformed text
        if t.kind == targets.REF:
            return t.ref
        timeout = max(0.0, deadline - time.monotonic())
        if t.kind == targets.NAME_AT_NODE:
            return self.lookup(t.name, timeout=timeout, node=t.address)
        return self.lookup(t.name, timeout=timeout)

    def _registry_call(self, type, body, timeout, miss_is_final=True):
        """Asks the registries in turn, starting with the one that answered last, until one answers.
        A registry that is down (or stopping, or overloaded) is skipped; so is one that does not
        know the name, unless miss_is_final. The answer, or the most telling error."""
        if not self.registries:
            raise ValueError("no registry configured: pass Bridge(registries=[...])")
        deadline = time.monotonic() + timeout
        with self._locked(deadline):
            n = len(self.registries)
            errors = []
            for i in range(n):
                index = (self._registry_index + i) % n
                ref = Ref("registry", self.registries[index], 0, REGISTRY_ID)
                outcome = self._exchange([(ref, type, body)], deadline)[0]
                if not isinstance(outcome, _FAILOVER):
                    self._registry_index = index  # it answered
                    if not isinstance(outcome, ActorError):
                        return outcome
                    if miss_is_final or not isinstance(outcome, NoSuchActor):
                        raise outcome
                errors.append(outcome)
                if time.monotonic() >= deadline:
                    break
            # a miss says more than a registry that was down; else the last failure
            raise next((e for e in errors if isinstance(e, NoSuchActor)), errors[-1])

    def _envelope(self, kind, sender, receiver, correlation, ttl_ms, type, body):
        if body is None:
            body = {}
        if not isinstance(type, str) or not type:
            raise BadMessage(f"a message type is a non-empty str, not {type!r}")
        if isinstance(body, tuple):
            body = list(body)
        if not isinstance(body, (dict, list)):
            raise BadMessage(f"a message body is a dict of its fields, or a list of positional arguments "
                             f"(for receive-style actors: docs/receivers.md), not {body!r}")
        if not isinstance(receiver, Ref) or not receiver.address:
            raise BadMessage(f"cannot send to {receiver!r}: not the ref of an actor on a node")
        if _nests_deeper(body, MAX_BODY_DEPTH):
            raise BadMessage(f"a message body may nest at most {MAX_BODY_DEPTH} levels (a node drops deeper frames)")
        return wire.encode_envelope(wire.Envelope(kind, sender, receiver, correlation, ttl_ms, type, body))

    def _route(self, address):
        """Where an envelope for ``address`` goes: there, or the first gateway not down."""
        if not self.gateways:
            return address
        now = time.monotonic()
        return next((g for g in self.gateways if self._gateway_down.get(g, 0.0) <= now), self.gateways[0])

    def _connection(self, address):
        if self._closed:
            raise ShuttingDown("the Bridge is closed")
        address = self._route(address)
        conn = self._conns.get(address)
        if conn is None:
            conn = Connection(self._ctx, address, name=self.name, incarnation=self.incarnation,
                              routing_id=self.routing_id, heartbeat=self.heartbeat, down_after=self.down_after,
                              max_message_size=self.max_message_size, gateway=bool(self.gateways))
            self._conns[address] = conn
        return conn

    def _drop(self, conn, failure=None):
        # forget the connection: the next call opens a fresh one and says HELLO again;
        # its monitors hear node_down (node_restarted when failure says so)
        if self._conns.get(conn.address) is conn:
            del self._conns[conn.address]
        self._monitors_lost(conn, failure)
        if conn.address in self.gateways:  # the next calls go to the next gateway for a while
            self._gateway_down[conn.address] = time.monotonic() + self.down_after
        conn.close()

    def _exchange(self, requests, deadline):
        """Sends requests [(ref, type, body)] and waits for their answers until the deadline:
        one outcome per request, in order, each a Reply or an ActorError."""
        outcomes = [None] * len(requests)
        pending = {}  # correlation -> (index, connection)
        sent = {}  # correlation -> encoded envelope, submitted again (once) when the node forgot us
        resent = set()
        now = time.monotonic()
        ttl_ms = max(1, int((deadline - now) * 1000))
        batches = {}
        for i, (ref, type, body) in enumerate(requests):
            try:
                corr = next(self._correlations)
                env = self._envelope(wire.REQUEST, self._sender, ref, corr, ttl_ms, type, body)
                conn = self._connection(ref.address)
            except ActorError as ex:
                outcomes[i] = ex
                continue
            pending[corr] = (i, conn)
            sent[corr] = env
            batches.setdefault(conn, []).append(env)
        for conn, envs in batches.items():
            conn.submit(envs)

        def fail(conn, error):  # every request pending on conn gets `error`; the connection goes
            for corr, (i, c) in list(pending.items()):
                if c is conn:
                    outcomes[i] = error
                    del pending[corr]
            self._drop(conn, error)

        started = now
        self._pending = len(pending)
        try:
            while pending:
                now = time.monotonic()
                if now >= deadline:
                    for i, conn in pending.values():
                        outcomes[i] = Timeout(f"no answer from {conn.address} within the deadline")
                    break
                wake = deadline
                for conn in {c for _, c in pending.values()}:
                    failure, when = conn.keep_alive(now, started)
                    if failure is not None:
                        fail(conn, failure)
                    else:
                        wake = min(wake, when)
                conns = {c for _, c in pending.values()}
                if not conns:
                    break
                poller = zmq.Poller()
                for conn in conns:
                    poller.register(conn.socket, zmq.POLLIN)
                wait_ms = max(1, math.ceil((wake - time.monotonic()) * 1000))
                for sock, _ in poller.poll(wait_ms):
                    conn = next(c for c in conns if c.socket is sock)
                    envelopes, failure = conn.receive()
                    for env in envelopes:
                        self._answer(env, pending, outcomes)
                    if failure is not None:
                        fail(conn, failure)
                        continue
                    if conn.take_welcomed_again():
                        self._monitors_welcomed_again(conn)
                    for _, corr in conn.take_forgotten():
                        # not delivered: the node did not know us; again (once) after its new WELCOME
                        if corr not in pending or pending[corr][1] is not conn:
                            continue
                        if corr in resent:
                            i, _ = pending.pop(corr)
                            outcomes[i] = NodeDown(f"node at {conn.address} did not know this client, twice: "
                                                   "the request was not delivered")
                            continue
                        resent.add(corr)
                        conn.submit([sent[corr]])
        finally:
            self._pending = 0
        return outcomes

    def _answer(self, env, pending, outcomes):
        if env.kind == wire.SEND:
            self._on_send(env)  # an actor.down for a monitor, a notification for an observation
            return
        if env.kind not in (wire.REPLY, wire.ERROR) or env.correlation not in pending:
            return  # a late answer to a request that timed out, or a message we do not take
        i, _ = pending.pop(env.correlation)
        if env.kind == wire.REPLY:
            outcomes[i] = Reply(env.type, env.body)
            return
        body = env.body
        if isinstance(body, dict) and type(body.get("code")) is int and isinstance(body.get("text", ""), str):
            outcomes[i] = error_for(body["code"], body.get("text", ""))
        else:
            outcomes[i] = BadMessage(f"malformed error body: {body!r}")
