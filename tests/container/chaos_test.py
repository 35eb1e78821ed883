#!/usr/bin/env python3
"""Chaos soak (issue 18): a supervised service in the container cluster, a load generator calling it
by name through the Python Bridge, and a chaos loop that kills, pauses and disconnects the nodes
the service runs on, at random, for CHAOS_SECONDS (default 120: the CI form; 900 is the long form).

    chaos_test.py chaos        bring a cluster up (cluster_test.py's), soak, take it down

The service: a supervisor on node1 (the control plane; the soak does not fault it) with one
permanent child, a counter registered as `svc` on node2, with node3 as its fallback. When node2 is
killed, paused or cut off, the supervisor hears node_down, restarts the child on node3 (or node2 once
it is back), and the name `svc` follows.

The checker counts every request: each one got a reply or a typed error (ActorError), none returned
later than its deadline + HANG_SLACK, and around each fault (from the last reply before it to the
first reply after the cluster is healthy again) the service never went RECOVERY_BOUND seconds
without a reply. Figures are printed as MEASURED lines and written to
$CHAOS_REPORT (JSON) when set.

Exit status as cluster_test.py's: 0 passed, 1 failed, 77 skipped (no Docker engine answers).
"""

import datetime
import json
import os
import random
import re
import sys
import threading
import time

import cluster_test as ct

CHAOS_SECONDS = float(os.environ.get("CHAOS_SECONDS", "120"))
CALL_TIMEOUT = 1.0      # s: each request's deadline
HANG_SLACK = 1.0        # s: a call that returns later than its deadline + this hung
RECOVERY_BOUND = 5.0    # s: the longest time without a reply around a fault (the target)
# The gate: the target, plus a registry lease (a paused node's claim on `svc` holds until its lease
# lapses, and the restarted child's claim waits for that: seen 6.8 s once in CI), plus the container
# tests' room for a busy 2-core machine (ACTOR_CONTAINER_SLACK). Faults over the target but within
# the gate are reported (WARN), not failed.
OUTAGE_GATE = RECOVERY_BOUND + ct.LEASE + ct.SLACK
FAULT_TARGETS = ("node2", "node3")
SUPERVISOR_CONFIG = {
    "strategy": "one_for_one",
    "intensity": 1000,  # the soak restarts far more often than a service should
    "period_ms": 5000,
    "backoff_min_ms": 50,
    "backoff_max_ms": 250,  # retries of a name still held by a paused node's lease come often
    "spawn_timeout_ms": 1000,  # a paused node is given up on after this, for the fallback
    "children": [{
        "type": "counter",
        "name": "svc",
        "restart": "permanent",
        "node": "tcp://node2:7100",
        "fallback_nodes": ["tcp://node3:7100"],
    }],
}


class Load:
    """Calls `svc` by name in a loop on its own thread and records every outcome."""

    def __init__(self, cluster):
        self.c = cluster
        self.bridge = ct.Bridge(name="chaos-load")
        self.ref = None
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.outcomes = {}          # "ok" or an error class name -> count
        self.hung = []              # (started, took, what)
        self.successes = []         # monotonic times of replies
        self.thread = threading.Thread(target=self.run, name="chaos-load", daemon=True)

    def resolve(self):
        """`svc` at the registry, asked on this thread's own Bridge; None while nobody holds it."""
        reply = self.bridge.call(self.c.registry_ref(), "actor.registry.list", {"prefix": "svc"},
                                 timeout=CALL_TIMEOUT)
        refs = [ct.read_ref(e["ref"]) for e in reply["entries"] if e["name"] == "svc"]
        self.ref = self.c.via_host(refs[0]) if refs else None

    def one(self):
        started = time.monotonic()
        what = "ok"
        try:
            if self.ref is None:
                self.resolve()
            if self.ref is None:
                what = "NoSuchActor"  # the name is between two holders
            else:
                self.bridge.call(self.ref, "actor.counter.incr", {"by": 1}, timeout=CALL_TIMEOUT)
        except ct.ActorError as ex:
            what = type(ex).__name__
            self.ref = None  # look the name up again
        took = time.monotonic() - started
        with self.lock:
            self.outcomes[what] = self.outcomes.get(what, 0) + 1
            if took > CALL_TIMEOUT * 2 + HANG_SLACK:  # a resolve and a call, each bounded
                self.hung.append((started, took, what))
            if what == "ok":
                self.successes.append(time.monotonic())
        if what == "NoSuchActor":
            self.stop.wait(0.02)  # the registry is being asked: do not spin on it

    def run(self):
        while not self.stop.is_set():
            self.one()

    def longest_gap(self, t0, t1):
        """The longest time without a reply around [t0, t1]: from the last reply before t0, through
        the replies in between, to the first reply after t1 (None: no reply came after t0)."""
        with self.lock:
            before = [s for s in self.successes if s <= t0]
            inside = [s for s in self.successes if t0 < s <= t1]
            after = [s for s in self.successes if s > t1]
        if not inside and not after:
            return None
        points = [before[-1] if before else t0] + inside + ([after[0]] if after else [])
        return max(b - a for a, b in zip(points, points[1:]))


STAMP = re.compile(r"^(?:\S+\s+\|\s+)?(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z")


def show_logs_around(c, slow, limit=300):
    """The services' log lines (node1 holds the supervisor) from each slow fault's start to its end,
    to say where the time went."""
    p = c.run_compose("logs", "--no-color", check=False, timeout=120)
    lines = (p.stdout + p.stderr).splitlines()
    for f in slow[:5]:
        t0 = f["at"] - 0.5
        t1 = f["at"] + f["hold_s"] + (f["outage_s"] or 10) + 1.0
        shown = []
        for line in lines:
            m = STAMP.search(line)
            if not m:
                continue
            t = datetime.datetime.fromisoformat(m.group(1)).replace(tzinfo=datetime.timezone.utc).timestamp()
            if t0 <= t <= t1 and "component=supervisor" in line or (t0 <= t <= t1 and "component=registry" in line) \
                    or (t0 <= t <= t1 and ("peer_down" in line or "peer_up" in line or "claim" in line)):
                shown.append(line)
        ct.log(f"---- logs around {f} ({len(shown)} lines, at most {limit}) ----")
        for line in shown[:limit]:
            print(line, flush=True)


def fault(c, rng):
    """Injects one random fault on a random node the service may run on: (kind, node, start, undo)."""
    node = rng.choice(FAULT_TARGETS)
    kind = rng.choice(("kill", "pause", "disconnect"))
    hold = rng.uniform(1.0, 4.0)
    if kind == "kill":
        start = c.docker("kill", node)

        def undo():
            c.docker("start", node)
    elif kind == "pause":
        start = c.docker("pause", node)

        def undo():
            c.docker("unpause", node)
    else:
        start = time.monotonic()
        c.disconnect(node)

        def undo():
            c.connect(node)
    return kind, node, start, hold, undo


def scenario_chaos(c):
    """a supervised service answers through random kills, pauses and partitions of its nodes"""
    sup = c.call(c.manager_ref("node1"), "actor.node.spawn",
                 {"type": "supervisor", "name": "svc-sup", "config": SUPERVISOR_CONFIG})
    ct.log(f"supervisor: {sup}")
    c.expect_names(["svc"], limit=10)
    load = Load(c)
    load.thread.start()
    rng = random.Random(int(os.environ.get("CHAOS_SEED", str(int(time.time())))))
    faults = []
    deadline = time.monotonic() + CHAOS_SECONDS
    try:
        while time.monotonic() < deadline:
            wall = time.time()
            kind, node, start, hold, undo = fault(c, rng)
            time.sleep(max(0.0, start + hold - time.monotonic()))  # the fault's length, chosen at random
            undo()
            c.wait_healthy(["registry", *ct.NODES], 60)
            healthy = time.monotonic()
            # the outage this fault caused: the longest stretch without a reply around it
            ct.poll_until(lambda: load.longest_gap(start, healthy) is not None, RECOVERY_BOUND + 5, pause=0.05)
            recovery = load.longest_gap(start, healthy)
            faults.append({"kind": kind, "node": node, "hold_s": round(hold, 2),
                           "outage_s": None if recovery is None else round(recovery, 3), "at": round(wall, 3)})
            ct.log(f"fault {len(faults)}: {kind} {node} for {hold:.1f} s; longest time without a reply "
                   f"{'(no reply since)' if recovery is None else f'{recovery:.2f} s'}")
    finally:
        load.stop.set()
        load.thread.join(timeout=10)
        load.bridge.close()

    total = sum(load.outcomes.values())
    recoveries = [f["outage_s"] for f in faults if f["outage_s"] is not None]
    report = {"seconds": CHAOS_SECONDS, "requests": total, "outcomes": load.outcomes, "hung": len(load.hung),
              "faults": faults, "max_outage_s": max(recoveries) if recoveries else None,
              "faults_by_kind": {k: sum(1 for f in faults if f["kind"] == k) for k in ("kill", "pause", "disconnect")}}
    ct.log("report: " + json.dumps(report))
    if os.environ.get("CHAOS_REPORT"):
        with open(os.environ["CHAOS_REPORT"], "w") as f:
            json.dump(report, f, indent=2)
    ct.log(f"{total} requests: {load.outcomes}")
    ct.measured("chaos.max_outage", report["max_outage_s"] or 0)
    if load.hung:
        ct.fail(f"{len(load.hung)} requests hung past their deadline: {load.hung[:5]}")
    slow = [f for f in faults if f["outage_s"] is None or f["outage_s"] > RECOVERY_BOUND]
    if slow:
        show_logs_around(c, slow)
    over = [f for f in faults if f["outage_s"] is not None and RECOVERY_BOUND < f["outage_s"] <= OUTAGE_GATE]
    if over:
        ct.log(f"WARN: {len(over)} faults went over the {RECOVERY_BOUND} s target (within the gate of "
               f"{OUTAGE_GATE} s): {over}")
    late = [f for f in faults if f["outage_s"] is None or f["outage_s"] > OUTAGE_GATE]
    if late:
        ct.fail(f"the service went over {OUTAGE_GATE} s without a reply around {len(late)} faults: {late}")
    if not faults or load.outcomes.get("ok", 0) == 0:
        ct.fail(f"no fault injected or no reply at all: {report}")


if __name__ == "__main__":
    ct.SCENARIOS = {"chaos": scenario_chaos}
    try:
        sys.exit(ct.main(sys.argv))
    except AssertionError as ex:
        print(f"FAILED: {ex}", file=sys.stderr, flush=True)
        sys.exit(1)
