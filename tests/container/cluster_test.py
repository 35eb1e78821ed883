#!/usr/bin/env python3
"""Container tests: a registry and three nodes in Docker (docker/compose.yml plus
tests/container/compose.test.yml), driven from the host, faults injected with the docker CLI.

    cluster_test.py images              build the images from $ACTOR_BUILD_DIR (the ctest fixture)
    cluster_test.py SCENARIO            bring a cluster up, run SCENARIO, take the cluster down
    cluster_test.py --list              the scenarios

Exit status: 0 passed, 1 failed, 77 skipped (no Docker engine answers: ctest's SKIP_RETURN_CODE).

The driver is the Python Bridge (clients/python), a *client* of the wire protocol: it only connects
out, and replies come back on the same connection, so it works from the host through the ports the
containers publish on 127.0.0.1. Refs carry the nodes' container-network addresses
(tcp://node1:7100), which the host cannot resolve: the driver sends to the published port of that
node instead (a node routes by the ref's incarnation and id, not by the address in it). Refs handed
to a node inside a message keep their container address, so a forwarder on node2 really makes
node2's process connect to node1 across containers.

Every run has its own compose project (actortest-<pid>-<random>), hence its own network and
containers, and removes them at the end, pass or fail (also on SIGTERM, e.g. a ctest timeout);
projects left behind by a run that was SIGKILLed are removed by the next run. Nothing sleeps in
place of synchronization: waits poll a condition until a deadline. Times measured are printed as
``MEASURED <key> <seconds>`` lines.
"""

import os
import secrets
import signal
import subprocess
import sys
import time

try:  # clients/python, on PYTHONPATH (ctest sets it); checked in main(), after the Docker check
    from libactor_client import ActorError, Bridge, NodeDown, NoSuchActor, Ref
    from libactor_client.wire import read_ref
    IMPORT_ERROR = None
except ImportError as ex:
    IMPORT_ERROR = ex

SOURCE_DIR = os.environ.get("ACTOR_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD_DIR = os.environ.get("ACTOR_BUILD_DIR") or os.path.join(SOURCE_DIR, "build")
TAG = os.environ.get("ACTOR_IMAGE_TAG", "latest")
SKIP = 77

# The cluster's timing, as configured in docker/compose.yml and by actor-node's defaults.
HEARTBEAT = 0.5  # s between heartbeats (node to node, node to registry)
DOWN_AFTER = 2.0  # s of silence before a peer is down and requests to it fail with node_down
LEASE = 2.0  # s: a node's names lapse this long after its last heartbeat (swept every LEASE / 4)
# Room for a busy 2-core machine on top of the bounds above (ACTOR_CONTAINER_SLACK overrides).
SLACK = float(os.environ.get("ACTOR_CONTAINER_SLACK", "1.5"))
NODE_DOWN_BOUND = DOWN_AFTER + SLACK
NAMES_GONE_BOUND = LEASE * 1.25 + HEARTBEAT + SLACK
NODES = ("node1", "node2", "node3")
NAMES = {n: [f"counter-{n[-1]}", f"fwd-{n[-1]}", f"kv-{n[-1]}"] for n in NODES}
PORTS = {"registry": 7000, "node1": 7100, "node2": 7100, "node3": 7100}


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def measured(key, seconds):
    print(f"MEASURED {key} {seconds:.2f} s", flush=True)
    path = os.environ.get("ACTOR_CONTAINER_MEASUREMENTS")
    if path:  # scripts/container-test.sh prints them all at the end
        with open(path, "a") as f:
            f.write(f"{key:<48} {seconds:6.2f}\n")


def fail(msg):
    raise AssertionError(msg)


def poll_until(pred, limit, pause=0.05):
    """pred() until it returns something true or `limit` seconds passed: (result, seconds taken)."""
    start = time.monotonic()
    while True:
        result = pred()
        elapsed = time.monotonic() - start
        if result or elapsed >= limit:
            return result, elapsed
        time.sleep(pause)  # a pause between tries of a condition, not a stand-in for one


def run(args, check=True, timeout=120, env=None):
    """Runs a command; its stdout (stripped). Raises with its output when it fails and check."""
    p = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout, env=env)
    if check and p.returncode != 0:
        fail(f"{' '.join(args)} exited {p.returncode}:\n{p.stdout}{p.stderr}")
    return p.stdout.strip() if check else p


def docker_answers():
    """None when a Docker engine answers, else why not."""
    try:
        p = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        return "no docker command"
    except subprocess.TimeoutExpired:
        return "docker info did not answer within 30 s"
    if p.returncode != 0:
        return "docker info failed: " + (p.stderr.strip().splitlines() or ["?"])[-1]
    return None


def compose_command():
    """docker-compose (v1, Debian's), else `docker compose` (v2), else None."""
    for cmd in (["docker-compose"], ["docker", "compose"]):
        try:
            if subprocess.run(cmd + ["version"], capture_output=True, timeout=30).returncode == 0:
                return cmd
        except (FileNotFoundError, subprocess.TimeoutExpired):
            pass
    return None


def skip(why):
    print(f"SKIPPED: {why}", flush=True)
    sys.exit(SKIP)


# ---- the cluster --------------------------------------------------------------------------------

class Cluster:
    """One compose project: docker/compose.yml + tests/container/compose.test.yml."""

    def __init__(self, compose):
        self.project = f"actortest-{os.getpid()}-{secrets.token_hex(3)}"
        self.network = f"{self.project}_cluster"
        self.compose = compose + ["-p", self.project,
                                  "-f", os.path.join(SOURCE_DIR, "docker", "compose.yml"),
                                  "-f", os.path.join(SOURCE_DIR, "tests", "container", "compose.test.yml")]
        self.env = dict(os.environ)
        self.env["ACTOR_IMAGE_TAG"] = TAG
        for var in ("ACTOR_REGISTRY_PORT", "ACTOR_NODE1_PORT", "ACTOR_NODE2_PORT", "ACTOR_NODE3_PORT"):
            self.env[var] = ""  # publish on a free port of 127.0.0.1, so runs never collide
        self._ids = {}
        self._host = {}
        self.bridge = None

    def run_compose(self, *args, timeout=180, check=True):
        return run(self.compose + list(args), timeout=timeout, env=self.env, check=check)

    def up(self):
        log(f"compose project {self.project}: up")
        start = time.monotonic()
        self.run_compose("up", "-d", timeout=300)
        self.wait_healthy(["registry", *NODES], 60)
        measured("up.cluster_healthy", time.monotonic() - start)

    def down(self, failed):
        if self.bridge is not None:
            self.bridge.close()
            self.bridge = None
        if failed:
            p = self.run_compose("logs", "--no-color", "--tail", "80", check=False, timeout=60)
            print("---- container logs (last 80 lines each) ----\n" + p.stdout + p.stderr, flush=True)
        self.run_compose("down", "--volumes", "--remove-orphans", "--timeout", "2", check=False, timeout=120)
        left = run(["docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={self.project}"],
                   check=False)
        if left.stdout.strip():
            run(["docker", "rm", "-f", *left.stdout.split()], check=False)
        run(["docker", "network", "rm", self.network], check=False)
        log(f"compose project {self.project}: removed")

    def container(self, service):
        if service not in self._ids:
            # what `docker-compose ps -q SERVICE` says, without its second of start-up
            cid = run(["docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={self.project}",
                       "--filter", f"label=com.docker.compose.service={service}",
                       "--filter", "label=com.docker.compose.oneoff=False"])
            if not cid:
                fail(f"no container for {service}")
            self._ids[service] = cid.split()[0]
        return self._ids[service]

    def inspect(self, service, fmt):
        return run(["docker", "inspect", "-f", fmt, self.container(service)])

    def health(self, service):
        return self.inspect(service, "{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}")

    def wait_healthy(self, services, limit):
        def all_healthy():
            return all(self.health(s) == "healthy" for s in services)
        ok, took = poll_until(all_healthy, limit, pause=0.2)
        if not ok:
            fail("not healthy within %d s: %s" % (limit, {s: self.health(s) for s in services}))
        return took

    def ip(self, service):
        return self.inspect(service, "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}").strip() or "-"

    def host_address(self, service):
        """tcp://127.0.0.1:PORT: where the host reaches the service (its published port)."""
        if service not in self._host:
            out = run(["docker", "port", self.container(service), f"{PORTS[service]}/tcp"], check=False)
            lines = [line for line in out.stdout.split() if line.startswith("127.0.0.1:")]
            if not lines:
                return None  # not running, or not on its network: nothing published now
            self._host[service] = "tcp://" + lines[0]
        return self._host[service]

    def forget_ports(self, service):
        self._host.pop(service, None)  # a restarted or reconnected container may publish another port

    # faults, each through the docker CLI, on the container of a service
    def docker(self, verb, service, *extra):
        """Runs `docker VERB ... CONTAINER`: when the command was issued (time.monotonic()), so that
        times measured from it include the CLI's own latency (an upper bound)."""
        issued = time.monotonic()
        run(["docker", verb, *extra, self.container(service)], timeout=60)
        if verb in ("start", "unpause", "kill", "stop"):
            self.forget_ports(service)
        log(f"docker {verb} {service}: {time.monotonic() - issued:.2f} s")
        return issued

    def disconnect(self, service):
        run(["docker", "network", "disconnect", self.network, self.container(service)])
        self.forget_ports(service)

    def connect(self, service):
        # the service name is an alias on the network that compose set up; a reconnect must repeat it
        run(["docker", "network", "connect", "--alias", service, self.network, self.container(service)])
        self.forget_ports(service)

    # ---- calls, from the host -------------------------------------------------------------------

    def reset_bridge(self):
        if self.bridge is not None:
            self.bridge.close()
        self.bridge = Bridge(name="container-test")

    def via_host(self, ref):
        """The ref, addressed to the published port of its node (routing is by incarnation and id)."""
        service = ref.address.split("://", 1)[-1].split(":", 1)[0]
        host = self.host_address(service) if service in PORTS else None
        if host is None:
            raise NodeDown(f"{service} publishes no port now")
        return Ref(ref.node, host, ref.incarnation, ref.id)

    def via_host_or_dead(self, ref):
        """The ref at its node's published port, or at a port of 127.0.0.1 nothing listens on."""
        try:
            return self.via_host(ref)
        except NodeDown:
            return Ref(ref.node, "tcp://127.0.0.1:9", ref.incarnation, ref.id)

    def call(self, ref, type_, body=None, timeout=5.0):
        return self.bridge.call(self.via_host(ref), type_, body or {}, timeout=timeout)

    def registry_ref(self):
        host = self.host_address("registry")
        if host is None:
            raise NodeDown("the registry publishes no port now")
        return Ref("registry", host, 0, 1)

    def names(self, timeout=3.0):
        """The registry's table: {name: Ref}."""
        reply = self.bridge.call(self.registry_ref(), "actor.registry.list", {"prefix": ""}, timeout=timeout)
        return {e["name"]: read_ref(e["ref"]) for e in reply["entries"]}

    def names_or_none(self, timeout=2.0):
        try:
            return self.names(timeout)
        except ActorError:
            return None

    @staticmethod
    def manager_ref(service):
        """The manager of the node `service`, at its container address (call() sends it to the host port)."""
        return Ref(service, f"tcp://{service}:{PORTS[service]}", 0, 0)

    def ping(self, service, timeout=3.0):
        return self.bridge.call(Ref("", self.host_address(service), 0, 0), "actor.node.ping", {}, timeout=timeout).body

    def relay_incr(self, via, counter_ref, by=1, timeout=8.0):
        """Asks the forwarder on node `via` to request counter_incr of counter_ref: `via`'s process
        sends to the counter's node. The counter's value, or the error `via` got (raised)."""
        return self.call(self.refs[f"fwd-{via[-1]}"], "itest.relay_incr", {"counter": counter_ref, "by": by},
                         timeout=timeout)["value"]

    def relay_ping(self, via, target_node_address, timeout_ms=6000):
        """Asks the forwarder on `via` to ping the manager of the node at that (container) address."""
        return self.call(self.refs[f"fwd-{via[-1]}"], "itest.relay_ping",
                         {"target": Ref("", target_node_address, 0, 0), "timeout_ms": timeout_ms},
                         timeout=timeout_ms / 1000 + 3).body

    def expect_names(self, present, absent=(), limit=10.0):
        """Polls the registry until every name in `present` is there and none of `absent`: the table."""
        def ok():
            table = self.names_or_none()
            if table is None:
                return None
            return table if all(n in table for n in present) and not any(n in table for n in absent) else None
        table, took = poll_until(ok, limit, pause=0.05)
        if table is None:
            fail(f"registry: wanted {sorted(present)} and not {sorted(absent)} within {limit:.1f} s; "
                 f"has {sorted(self.names_or_none() or [])}")
        return table, took


# ---- scenarios ----------------------------------------------------------------------------------

def all_names():
    return [n for node in NODES for n in NAMES[node]]


def refresh_refs(c):
    c.refs, _ = c.expect_names(all_names(), limit=15)


def expect_error(kind, fn, limit, since=None):
    """fn() must raise `kind` (an ActorError class) within `limit` seconds of `since` (default: now,
    the call): (seconds since then, the error)."""
    start = time.monotonic() if since is None else since
    try:
        result = fn()
    except kind as ex:
        took = time.monotonic() - start
        if took > limit:
            fail(f"{kind.__name__} came {took:.2f} s after, beyond the bound of {limit:.2f} s: {ex}")
        return took, ex
    except ActorError as ex:
        fail(f"wanted {kind.__name__}, got {type(ex).__name__}: {ex}")
    fail(f"wanted {kind.__name__}, got a reply: {result!r}")


def others_keep_working(c, down):
    """Requests among the nodes other than `down`, node to node and from the host, all succeed."""
    alive = [n for n in NODES if n != down]
    for a in alive:
        for b in alive:
            if a != b:
                c.relay_incr(a, c.refs[f"counter-{b[-1]}"], timeout=5)
        c.call(c.refs[f"kv-{a[-1]}"], "actor.kv.put", {"key": "k", "value": "v"}, timeout=5)


def scenario_up(c):
    """The cluster comes up healthy; a call from the host reaches an actor on each node; requests
    from each node to actors on the others cross containers."""
    refresh_refs(c)
    for service in ("registry", *NODES):
        user = c.inspect(service, "{{.Config.User}}")
        if user.split(":")[0] in ("", "0", "root"):
            fail(f"{service} runs as root (user {user!r}), not as the image's user actor (10001)")
    for node in NODES:
        ref = c.refs[f"counter-{node[-1]}"]
        if ref.address != f"tcp://{node}:7100":
            fail(f"counter-{node[-1]} is {ref}: wanted a ref at tcp://{node}:7100")
        value = c.call(ref, "actor.counter.incr", {"by": 10})["value"]
        if value != 10:
            fail(f"counter on {node}: 10 expected, got {value}")
        pong = c.ping(node)
        log(f"host -> {node}: counter 10, ping {pong}")
    # node to node: node A's forwarder requests node B's counter; B's counter sees every increment
    for a in NODES:
        for b in NODES:
            if a != b:
                c.relay_incr(a, c.refs[f"counter-{b[-1]}"], by=1)
    for b in NODES:
        value = c.call(c.refs[f"counter-{b[-1]}"], "actor.counter.get")["value"]
        if value != 12:
            fail(f"counter on {b}: 12 expected after two relayed increments, got {value}")
        pong = c.relay_ping("node1" if b != "node1" else "node2", f"tcp://{b}:7100")
        if pong["node"] != b:
            fail(f"relayed ping of {b} answered by {pong}")
    log("node-to-node: each forwarder reached the counters and managers of the two other nodes")
    # a node's manager spawns, by the request of a client on the host, an actor that others then use
    spawned = read_ref(c.call(c.manager_ref("node3"), "actor.node.spawn",
                              {"type": "counter", "name": "spawned-3", "config": {"start": 100}})["ref"])
    if c.relay_incr("node1", spawned, by=1) != 101:
        fail("a counter spawned on node3 did not count from 100")
    c.expect_names(["spawned-3"], limit=5)


def scenario_kill(c):
    """docker kill of a node: its names vanish from the registry and requests to its actors fail
    with node_down within the bounds; the other nodes keep working; docker start brings it back
    with a new incarnation, and refs to the old one are stale."""
    refresh_refs(c)
    old_counter = c.refs["counter-1"]
    old_incarnation = c.ping("node1")["incarnation"]
    c.relay_incr("node2", old_counter)  # node2 talks to node1 now: a live peer of node2's

    killed_at = c.docker("kill", "node1")
    # a request node2 makes of node1 fails with node_down once node2 has not heard from node1 for
    # DOWN_AFTER: counted from the kill
    took, ex = expect_error(NodeDown, lambda: c.relay_incr("node2", old_counter, timeout=10), NODE_DOWN_BOUND,
                            since=killed_at)
    measured("kill.node_down_at_node2_after_kill", took)
    log(f"node2 -> killed node1: {ex}")
    _, took = c.expect_names(all_names_but("node1"), absent=NAMES["node1"], limit=NAMES_GONE_BOUND + 2)
    gone_after = time.monotonic() - killed_at
    measured("kill.names_gone_after_kill", gone_after)
    if gone_after > NAMES_GONE_BOUND:
        fail(f"node1's names went {gone_after:.2f} s after the kill, beyond {NAMES_GONE_BOUND:.2f} s")
    # new requests from node2 fail at once now that node1 is down
    took, _ = expect_error(NodeDown, lambda: c.relay_incr("node2", old_counter, timeout=10), 1.0)
    measured("kill.node_down_when_already_down", took)
    # and from the host (the Bridge's own liveness: DOWN_AFTER without an answer)
    took, _ = expect_error(NodeDown, lambda: c.bridge.call(c.via_host_or_dead(old_counter), "actor.counter.get",
                                                           {}, timeout=10), NODE_DOWN_BOUND)
    measured("kill.node_down_at_host_bridge", took)
    if c.inspect("node1", "{{.State.Running}}") != "false":
        fail("node1 runs again after docker kill: its restart policy should leave a killed node down")
    others_keep_working(c, "node1")
    log("node2 and node3 keep answering each other and the host")

    started_at = c.docker("start", "node1")
    table, _ = c.expect_names(NAMES["node1"], limit=15)
    measured("kill.names_back_after_start", time.monotonic() - started_at)
    new_counter = table["counter-1"]
    new_incarnation = c.ping("node1")["incarnation"]
    if new_incarnation == old_incarnation or new_counter.incarnation != new_incarnation:
        fail(f"node1 restarted with incarnation {new_incarnation:x} (was {old_incarnation:x}); "
             f"counter-1 now {new_counter}")
    log(f"node1 is back: incarnation {old_incarnation:016x} -> {new_incarnation:016x}")
    # node2 reaches the new counter (state starts over) and is told the old ref is stale
    value, took = poll_until(lambda: try_value(lambda: c.relay_incr("node2", new_counter, timeout=5)), 10)
    if value != 1:
        fail(f"node2 -> restarted node1's counter: 1 expected, got {value}")
    measured("kill.node2_reaches_new_node1_after_start", time.monotonic() - started_at)
    _, ex = expect_error(NoSuchActor, lambda: c.relay_incr("node2", old_counter, timeout=5), 5)
    log(f"the old ref via node2: {ex}")
    _, ex = expect_error(NoSuchActor, lambda: c.call(old_counter, "actor.counter.get"), 5)
    c.wait_healthy(["node1"], 30)


def scenario_pause(c):
    """docker pause of a node (every process frozen): detected as down, names gone; unpause: the
    same incarnation is back, names re-registered, requests get through again."""
    refresh_refs(c)
    counter = c.refs["counter-1"]
    incarnation = c.ping("node1")["incarnation"]
    c.relay_incr("node2", counter)
    paused_at = c.docker("pause", "node1")
    try:
        took, _ = expect_error(NodeDown, lambda: c.relay_incr("node2", counter, timeout=10), NODE_DOWN_BOUND,
                               since=paused_at)
        measured("pause.node_down_at_node2_after_pause", took)
        c.expect_names(all_names_but("node1"), absent=NAMES["node1"], limit=NAMES_GONE_BOUND + 2)
        gone_after = time.monotonic() - paused_at
        measured("pause.names_gone_after_pause", gone_after)
        if gone_after > NAMES_GONE_BOUND:
            fail(f"paused node1's names went {gone_after:.2f} s after the pause, beyond {NAMES_GONE_BOUND:.2f} s")
        others_keep_working(c, "node1")
    finally:
        unpaused_at = c.docker("unpause", "node1")
    table, _ = c.expect_names(NAMES["node1"], limit=10)
    measured("pause.names_back_after_unpause", time.monotonic() - unpaused_at)
    if table["counter-1"] != counter:
        fail(f"counter-1 after unpause is {table['counter-1']}, wanted the same ref {counter}")
    # 2, or 3: the increment that failed with node_down may still have reached the frozen node and
    # been handled once it thawed (at most once: the caller learns it may not have happened)
    value, _ = poll_until(lambda: try_value(lambda: c.relay_incr("node2", counter, timeout=5)), 10)
    if value not in (2, 3):
        fail(f"node2 -> unpaused node1's counter: 2 or 3 expected (state kept), got {value}")
    measured("pause.node2_reaches_node1_after_unpause", time.monotonic() - unpaused_at)
    if c.ping("node1")["incarnation"] != incarnation:
        fail("node1 has a new incarnation after unpause: it restarted")
    c.wait_healthy(["node1"], 30)


def scenario_partition(c):
    """docker network disconnect of a node for 10 s: the others detect it (node_down, names gone)
    and keep talking to each other; reconnecting heals it, with the same incarnation."""
    refresh_refs(c)
    counter = c.refs["counter-1"]
    c.relay_incr("node2", counter)
    ip_before = c.ip("node1")
    cut_at = time.monotonic()
    c.disconnect("node1")
    log(f"node1 ({ip_before}) disconnected from the cluster network")
    healed = False
    try:
        took, _ = expect_error(NodeDown, lambda: c.relay_incr("node2", counter, timeout=10), NODE_DOWN_BOUND,
                               since=cut_at)
        measured("partition.node_down_at_node2_after_cut", took)
        c.expect_names(all_names_but("node1"), absent=NAMES["node1"], limit=NAMES_GONE_BOUND + 2)
        gone_after = time.monotonic() - cut_at
        measured("partition.names_gone_after_cut", gone_after)
        if gone_after > NAMES_GONE_BOUND:
            fail(f"cut-off node1's names went {gone_after:.2f} s after the cut, beyond {NAMES_GONE_BOUND:.2f} s")
        # the rest of the cluster, for the rest of the 10 s: every request among them succeeds
        rounds, worst = 0, 0.0
        while time.monotonic() - cut_at < 10.0:
            start = time.monotonic()
            others_keep_working(c, "node1")
            worst = max(worst, time.monotonic() - start)
            rounds += 1
            time.sleep(0.05)  # pacing: a few rounds a second are proof enough, and leave the CPU to the nodes
        log(f"node2 <-> node3 during the cut: {rounds} rounds of 4 requests, all answered, slowest round {worst:.3f} s")
        measured("partition.slowest_round_among_the_rest", worst)
        healed_at = time.monotonic()
        c.connect("node1")
        healed = True
    finally:
        if not healed:
            run(["docker", "network", "connect", "--alias", "node1", c.network, c.container("node1")], check=False)
    log(f"node1 reconnected, now at {c.ip('node1')}")
    table, _ = c.expect_names(NAMES["node1"], limit=15)
    measured("partition.names_back_after_reconnect", time.monotonic() - healed_at)
    if table["counter-1"] != counter:
        fail(f"counter-1 after the cut is {table['counter-1']}, wanted the same ref {counter}")
    # 2, or 3 if the increment that failed with node_down got through after all (TCP retransmits it)
    value, _ = poll_until(lambda: try_value(lambda: c.relay_incr("node2", counter, timeout=5)), 15)
    if value not in (2, 3):
        fail(f"node2 -> node1's counter after the cut: 2 or 3 expected, got {value}")
    measured("partition.node2_reaches_node1_after_reconnect", time.monotonic() - healed_at)
    reply, _ = poll_until(lambda: try_value(lambda: c.call(counter, "actor.counter.get", timeout=3)), 15)
    if reply is None or reply["value"] != value:
        fail(f"host -> node1 after the cut: {reply}, wanted the value {value}")


def scenario_stop(c):
    """docker stop of a node: it exits 0 within its grace period, and its names are gone from the
    registry when docker stop returns (released, not lapsed)."""
    refresh_refs(c)
    grace = int(c.inspect("node3", "{{.Config.StopTimeout}}") or 10)
    start = time.monotonic()
    run(["docker", "stop", "-t", str(grace), c.container("node3")], timeout=grace + 30)
    took = time.monotonic() - start
    table = c.names()
    measured("stop.docker_stop_took", took)
    exit_code = c.inspect("node3", "{{.State.ExitCode}}")
    if exit_code != "0":
        fail(f"node3 exited {exit_code} on docker stop, not 0")
    if took >= grace:
        fail(f"docker stop took {took:.2f} s: the grace period ({grace} s) ran out (SIGKILL)")
    left = [n for n in NAMES["node3"] if n in table]
    if left:
        fail(f"node3's names {left} are still registered when docker stop returned")
    logs = c.run_compose("logs", "--no-color", "node3")
    if "event=stopped" not in logs:
        fail("node3's log has no event=stopped line")
    log(f"node3: exit 0 after {took:.2f} s (grace {grace} s); its names were released")
    # a request node1 makes of node3 now fails: node_down (connection refused, then silence)
    took, ex = expect_error(NodeDown, lambda: c.relay_incr("node1", c.refs["counter-3"], timeout=10),
                            NODE_DOWN_BOUND)
    measured("stop.node_down_at_node1_after_stop", took)
    log(f"node1 -> stopped node3: {ex}")
    others_keep_working(c, "node3")


def scenario_registry(c):
    """Killing the registry container: nodes keep talking with the refs they have; starting it again,
    every name is back within one lease period."""
    refresh_refs(c)
    c.docker("kill", "registry")
    others_keep_working(c, None)
    log("without the registry, requests between nodes go on")
    started = c.docker("start", "registry")
    _, took = poll_until(lambda: c.names_or_none(timeout=1.0) is not None, 15)
    answering = time.monotonic()
    measured("registry.answers_after_start", answering - started)
    table, _ = c.expect_names(all_names(), limit=LEASE + 10)
    back_after = time.monotonic() - answering
    measured("registry.names_back_after_it_answers", back_after)
    measured("registry.names_back_after_start", time.monotonic() - started)
    if back_after > LEASE + SLACK / 3:
        fail(f"the names came back {back_after:.2f} s after the registry answered: beyond one lease ({LEASE} s)")
    for name, ref in c.refs.items():
        if table.get(name) != ref:
            fail(f"{name} is {table.get(name)} after the registry restart, was {ref}")
    c.wait_healthy(["registry"], 30)


SCENARIOS = {
    "up": scenario_up,
    "kill": scenario_kill,
    "pause": scenario_pause,
    "partition": scenario_partition,
    "stop": scenario_stop,
    "registry": scenario_registry,
}


def all_names_but(node):
    return [n for other in NODES if other != node for n in NAMES[other]]


def try_value(fn):
    try:
        return fn()
    except ActorError:
        return None


# ---- main ---------------------------------------------------------------------------------------

def remove_abandoned_projects():
    """Compose projects of earlier runs whose process is gone (SIGKILLed): removed."""
    out = run(["docker", "ps", "-a", "--format", '{{.Label "com.docker.compose.project"}}',
               "--filter", "label=com.docker.compose.project"], check=False)
    for project in set(out.stdout.split()):
        parts = project.split("-")
        if len(parts) != 3 or parts[0] != "actortest" or not parts[1].isdigit():
            continue
        try:
            os.kill(int(parts[1]), 0)
            continue  # its run is still going
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        ids = run(["docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={project}"], check=False)
        if ids.stdout.split():
            run(["docker", "rm", "-f", *ids.stdout.split()], check=False)
        run(["docker", "network", "rm", f"{project}_cluster"], check=False)
        log(f"removed the abandoned compose project {project}")


def build_images():
    why = docker_answers()
    if why:
        skip(f"no Docker engine answers ({why}): the container images are not built")
    if os.environ.get("ACTOR_CONTAINER_IMAGES_READY") == "1":
        print("the images were just built by scripts/container-test.sh")
        return 0
    p = subprocess.run(["bash", os.path.join(SOURCE_DIR, "docker", "build-images.sh"), BUILD_DIR])
    return p.returncode


def main(argv):
    if len(argv) != 2 or argv[1] in ("-h", "--help"):
        print(__doc__)
        return 2
    if argv[1] == "--list":
        print("\n".join(SCENARIOS))
        return 0
    if argv[1] == "images":
        return build_images()
    scenario = SCENARIOS.get(argv[1])
    if scenario is None:
        print(f"no scenario {argv[1]!r}; there are: {', '.join(SCENARIOS)}", file=sys.stderr)
        return 2
    why = docker_answers()
    if why:
        skip(f"no Docker engine answers ({why})")
    compose = compose_command()
    if compose is None:
        skip("neither docker-compose nor `docker compose` is installed")
    if IMPORT_ERROR is not None:
        fail(f"the Python client does not import ({IMPORT_ERROR}): it needs PYTHONPATH=clients/python, "
             "python3-zmq and python3-msgpack (scripts/install-deps.sh)")
    for image in ("actor-registry", "actor-node", "actor-test-node"):
        if run(["docker", "image", "inspect", f"libactor/{image}:{TAG}"], check=False).returncode != 0:
            fail(f"no image libactor/{image}:{TAG}: run docker/build-images.sh (the test container.images does)")

    remove_abandoned_projects()
    # a ctest timeout sends SIGTERM: take the cluster down on the way out
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    cluster = Cluster(compose)
    failed = True
    start = time.monotonic()
    try:
        cluster.up()
        cluster.reset_bridge()
        log(f"scenario {argv[1]}: {scenario.__doc__.split(chr(10))[0]}")
        scenario(cluster)
        failed = False
    finally:
        cluster.down(failed)
        print(f"{'PASSED' if not failed else 'FAILED'}: scenario {argv[1]} ({time.monotonic() - start:.1f} s)",
              flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except AssertionError as ex:
        print(f"FAILED: {ex}", file=sys.stderr, flush=True)
        sys.exit(1)
