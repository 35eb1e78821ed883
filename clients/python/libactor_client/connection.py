"""Connection: one ZeroMQ DEALER to one node, as a client of docs/protocol.md.

It says HELLO (role "client") as it connects, holds requests back until the node's WELCOME,
PINGs the node while the caller waits on it, and tells when the node is down: silent past the
down bound, refusing the handshake, or answering a PING from another incarnation (it restarted).
When the node answers HELLO_AGAIN (it forgot this client, say after the client was stopped past
the node's down bound), it says HELLO again and holds what is submitted until the new WELCOME;
take_forgotten() gives the requests the node listed as not delivered, for the Bridge to submit
again. It knows nothing of requests and replies: it hands over the envelopes that arrive and
leaves matching them to the Bridge. It does no locking: its owner uses it from one thread at a time.

    conn = Connection(ctx, "tcp://127.0.0.1:7100", name="python", incarnation=7,
                      routing_id=b"python/0000000000000007", heartbeat=0.5, down_after=2.0)
    conn.submit([wire.encode_envelope(request)])    # sent as one BATCH once WELCOME came
    failure, wake = conn.keep_alive(now, since)      # PING when due; NodeDown when silent too long
    envelopes, failure = conn.receive()             # what arrived, without blocking
    conn.close()
"""

import socket
import threading
import time

import zmq

from . import wire
from .errors import BadMessage, NodeDown, NodeRestarted


def normalize_address(address):
    """A node address with its scheme: ``host:port`` means ``tcp://host:port``."""
    return address if "://" in address else "tcp://" + address


RESOLVE_BOUND = 0.25  # seconds to wait for the resolver before connecting; a slower one leaves the name to ZeroMQ


def unresolvable(address, bound=RESOLVE_BOUND):
    """For a tcp:// address whose host is a name: the reason when the resolver says it does not
    exist ("cannot resolve nosuchhost (tcp://nosuchhost:7100): ..."), else None (resolved, an IP
    literal, not tcp://, or no answer within ``bound`` seconds). ZeroMQ connects asynchronously
    and retries a name it cannot resolve forever, so without this a call would wait for its
    deadline. The resolver runs on a thread of its own: the caller waits at most ``bound``."""
    if not address.startswith("tcp://"):
        return None
    rest = address[len("tcp://"):].rpartition(";")[2]
    host = rest.rpartition(":")[0]
    if not host or host == "*" or host.startswith("["):
        return None
    outcome = []

    def ask():
        try:
            socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
            outcome.append(None)
        except socket.gaierror as ex:
            outcome.append(ex)

    asker = threading.Thread(target=ask, daemon=True)
    asker.start()
    asker.join(bound)
    if not outcome or outcome[0] is None:
        return None
    ex = outcome[0]
    if ex.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME), socket.EAI_FAIL):
        return f"cannot resolve {host} ({address}): {ex.strerror}"
    return None  # a temporary failure: ZeroMQ retries


def refuses_connections(address, bound=RESOLVE_BOUND):
    """For a tcp://HOST:PORT address: the reason when a TCP connection to it is refused, that is
    when nothing listens there ("cannot connect to tcp://127.0.0.1:9: Connection refused (nothing
    listens there)"), else None (it connected, not tcp://, or no answer within ``bound`` seconds:
    ZeroMQ and the handshake bound decide then). Asked before connecting, so that a call to where
    nothing listens fails at once, not at the handshake bound."""
    if not address.startswith("tcp://"):
        return None
    rest = address[len("tcp://"):].rpartition(";")[2]
    host, _, port = rest.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not host or host == "*" or not port.isdigit():
        return None
    try:
        with socket.create_connection((host, int(port)), timeout=bound):
            return None
    except ConnectionRefusedError as ex:
        return f"cannot connect to {address}: {ex.strerror} (nothing listens there)"
    except OSError:
        return None  # no answer in time, unreachable, a name the resolver did not answer: not ours to judge


class Connection:
    """The DEALER to the node at ``address`` and what is known of that node.

    name, incarnation: who this client is (its HELLO and PINGs say so); routing_id: its ZeroMQ
    routing id. heartbeat: seconds between PINGs while keep_alive() is called. down_after: seconds
    of silence after which keep_alive() reports the node down. max_message_size: the largest
    frame accepted from the node, in bytes. gateway: say HELLO as a "gateway-client", one that
    sends everything through this node (docs/protocol.md "Gateways"). Raises NodeDown when ZeroMQ
    cannot even connect (a malformed address) or the host of a tcp:// address cannot be resolved.

    Attributes: ``address``; ``socket``, to poll for input (zmq.POLLIN) and nothing else;
    ``welcome``, the node's WELCOME frame once it came (None before).
    """

    def __init__(self, ctx, address, *, name, incarnation, routing_id, heartbeat=0.5, down_after=2.0,
                 max_message_size=16 << 20, gateway=False):
        why = unresolvable(address) or refuses_connections(address)
        if why is not None:
            raise NodeDown(why)
        self.address = address
        self.incarnation = incarnation
        self.heartbeat = heartbeat
        self.down_after = down_after
        self.socket = ctx.socket(zmq.DEALER)
        self.socket.setsockopt(zmq.ROUTING_ID, routing_id)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.setsockopt(zmq.MAXMSGSIZE, max_message_size)
        self.socket.setsockopt(zmq.RECONNECT_IVL, 100)
        self.socket.setsockopt(zmq.RECONNECT_IVL_MAX, 1000)
        ivl = max(1, int(heartbeat * 1000))
        self.socket.setsockopt(zmq.HEARTBEAT_IVL, ivl)
        self.socket.setsockopt(zmq.HEARTBEAT_TIMEOUT, 4 * ivl)
        try:
            self.socket.connect(address)
        except zmq.ZMQError as ex:
            self.socket.close(linger=0)  # an unclosed socket would hang the context's term()
            raise NodeDown(f"cannot connect to {address!r}: {ex}") from None
        # queued until connected; the node reads it before anything sent after it
        # a gateway client (docs/protocol.md "Gateways") names the address it dialed
        hello = wire.Hello("gateway-client", name, address, incarnation) if gateway else \
            wire.Hello("client", name, "", incarnation)
        self._hello = wire.encode(hello)
        self.socket.send(self._hello)
        self.welcome = None
        self._forgotten = []  # (sender id, correlation) the node listed in HELLO_AGAIN
        self._forgot_by = None  # the incarnation that forgot us (HELLO_AGAIN), until its WELCOME
        self._welcomed_again = False  # a WELCOME after it forgot us came: take_welcomed_again()
        self._last_heard = 0.0
        self._last_ping = 0.0
        self._seq = 0
        self._waiting = []  # encoded envelopes held back until WELCOME

    @property
    def ready(self):
        """Whether the node's WELCOME came."""
        return self.welcome is not None

    def submit(self, encoded_envelopes):
        """Queues envelopes (bytes from wire.encode_envelope) to go as one BATCH as soon as the node
        welcomed us: now, if it has. What ZeroMQ cannot take now (its queue is full) is kept and
        tried again at the next submit or WELCOME; its calls end at their deadline."""
        self._waiting.extend(encoded_envelopes)
        if self.ready:
            self._flush()

    def send_now(self, encoded_envelopes):
        """Sends envelopes as one BATCH at once, WELCOME or not (the HELLO is ahead of them in the
        queue, so the node reads it first). False when ZeroMQ's queue for the node is full."""
        return self._send(wire.encode_batch(list(encoded_envelopes)))

    def keep_alive(self, now, since):
        """Called while something waits on this node: PINGs it when a heartbeat is due. Returns
        (failure, wake): failure is NodeDown when nothing was heard from the node for ``down_after``
        seconds, counting from ``since`` at the earliest (when the wait began), else None; wake is
        the monotonic time by which keep_alive wants to be called again."""
        silent_since = max(self._last_heard, since)
        if now - silent_since > self.down_after:
            what = "did not answer the handshake" if self.welcome is None else "went silent"
            return NodeDown(f"node at {self.address} {what} for {self.down_after:g} s"), now
        if now - self._last_ping >= self.heartbeat:
            self._seq += 1
            self._send(wire.encode(wire.Ping(self._seq, self.incarnation)))
            self._last_ping = now
        return None, min(self._last_ping + self.heartbeat, silent_since + self.down_after)

    def receive(self):
        """Reads every frame waiting, without blocking. Returns (envelopes, failure): the envelopes
        of the BATCHes that came, in order, and NodeDown when the node refused the handshake or
        restarted (a PONG from another incarnation: NodeRestarted, a NodeDown), else None. After a failure the connection is
        of no more use: reading stops there, and its owner closes it."""
        envelopes = []
        while True:
            try:
                data = self.socket.recv(zmq.NOBLOCK)
            except zmq.Again:
                return envelopes, None
            try:
                frame = wire.decode(data)
            except BadMessage:
                continue  # a node never sends garbage; if one did, dropping it is all we can do
            self._last_heard = time.monotonic()
            if isinstance(frame, wire.Welcome):
                if self._forgot_by is not None:
                    if frame.incarnation != self._forgot_by:
                        return envelopes, NodeRestarted(f"node at {self.address} restarted: what was in flight is lost",
                                                        frame.incarnation)
                    self._welcomed_again = True
                    self._forgot_by = None
                self.welcome = frame
                self._flush()
            elif isinstance(frame, wire.Refuse):
                return envelopes, NodeDown(f"node at {self.address} refused the handshake: {frame.reason}")
            elif isinstance(frame, wire.Pong):
                if self.welcome is not None and frame.incarnation != self.welcome.incarnation:
                    return envelopes, NodeRestarted(f"node at {self.address} restarted: what was in flight is lost",
                                                    frame.incarnation)
            elif isinstance(frame, wire.HelloAgain):
                known = self.welcome.incarnation if self.welcome is not None else self._forgot_by
                if known is not None and frame.incarnation != known:
                    return envelopes, NodeRestarted(f"node at {self.address} restarted: what was in flight is lost",
                                                    frame.incarnation)
                # it forgot us: introduce ourselves again; what it lists was not delivered
                if self.welcome is not None:
                    self._forgot_by = self.welcome.incarnation
                self.welcome = None
                self._send(self._hello)
                self._forgotten.extend(frame.dropped)
            elif isinstance(frame, wire.Batch):
                envelopes.extend(frame.envelopes)

    def take_forgotten(self):
        """The (sender id, correlation) of the requests the node said it did not deliver, because
        it did not know this client (HELLO_AGAIN), since the last call; the Bridge submits them
        again, once."""
        forgotten, self._forgotten = self._forgotten, []
        return forgotten

    def take_welcomed_again(self):
        """Whether the node welcomed us again, as the same incarnation, after it forgot us
        (HELLO_AGAIN), since the last call: the Bridge sends its live monitors again."""
        again, self._welcomed_again = self._welcomed_again, False
        return again

    def close(self, linger_ms=0):
        """Closes the socket; what was sent but not yet written gets ``linger_ms``."""
        self.socket.close(linger=linger_ms)

    def _send(self, data):
        try:
            self.socket.send(data, zmq.NOBLOCK)
            return True
        except zmq.Again:
            return False

    def _flush(self):
        if self._waiting and self._send(wire.encode_batch(self._waiting)):
            self._waiting = []
