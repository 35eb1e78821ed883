#!/usr/bin/env python3
"""Container test of client gateways (docs/protocol.md "Gateways"): the compose cluster driven from
the host by name, with no address remapping, as a new user would: actorctl and the Python Bridge
send everything through a published port (the registry's, then a node's), which forwards by the
refs' container addresses (tcp://node1:7100), unreachable from the host.

    gateway_test.py gateway        bring a cluster up (cluster_test.py's), run the scenario, take it down

Exit status as cluster_test.py's: 0 passed, 1 failed, 77 skipped (no Docker engine answers).
"""

import json
import os
import sys

import cluster_test as ct


def actorctl(*args, env=None):
    """Runs the build's actorctl on the host: (exit code, stdout, stderr)."""
    binary = os.path.join(ct.BUILD_DIR, "tools", "actorctl")
    full = {k: v for k, v in os.environ.items() if not k.startswith("ACTOR_")}
    full.update(env or {})
    p = ct.run([binary, "--timeout", "8000", *args], check=False, timeout=60, env=full)
    return p.returncode, p.stdout.strip(), p.stderr.strip()


def scenario_gateway(c):
    """actorctl and Python on the host call actors by name through a gateway"""
    reg = c.host_address("registry")
    node1 = c.host_address("node1")
    # the refs the registry gives are the cluster's
    ct.poll_until(lambda: len(c.names_or_none() or {}) >= 9, 30)
    code, out, err = actorctl("--registry", reg, "list")
    assert code == 0 and "tcp://node1:7100" in out, f"actorctl list: {code} {out} {err}"

    # actorctl, the registry as gateway (--gateway, then ACTOR_GATEWAY)
    code, out, err = actorctl("--registry", reg, "--gateway", reg, "call", "counter-1", "actor.counter.incr",
                              '{"by":1}')
    assert code == 0, f"actorctl call through the gateway exited {code}: {out} {err}"
    first = json.loads(out)["value"]
    code, out, err = actorctl("call", "counter-1", "actor.counter.incr", '{"by":1}',
                              env={"ACTOR_REGISTRY": reg, "ACTOR_GATEWAY": reg})
    assert code == 0 and json.loads(out)["value"] == first + 1, f"ACTOR_GATEWAY: {code} {out} {err}"
    # a node as gateway, the registry named by its cluster address (forwarded by node1)
    code, out, err = actorctl("--registry", "tcp://registry:7000", "--gateway", node1, "call", "kv-3",
                              "actor.kv.put", '{"key":"a","value":"1"}')
    assert code == 0, f"actorctl through node1: {code} {out} {err}"
    # spawn on node3 through the gateway, by its manager's cluster address
    code, out, err = actorctl("--registry", reg, "--gateway", reg, "--node", "tcp://node3:7100", "spawn", "counter",
                              "gw-counter")
    assert code == 0 and "tcp://node3:7100" in out, f"actorctl spawn through the gateway: {code} {out} {err}"
    ct.log("actorctl: list, call (flag and environment), call through a node, spawn: all through a gateway")

    # Python, by name, with two gateways (the first is used while it is up)
    with ct.Bridge(registries=[reg], gateways=[reg, node1], name="gateway-test") as b:
        v = b.call("counter-2", "actor.counter.incr", {"by": 5}, timeout=8.0)["value"]
        assert v == 5, v
        assert b.call("kv-3", "actor.kv.get", {"key": "a"}, timeout=8.0)["value"] == "1"
        ok, _ = ct.poll_until(lambda: ct.try_value(lambda: b.call("gw-counter", "actor.counter.get", {}, timeout=3.0)),
                              10)
        assert ok is not None
    stats = c.bridge.call(c.registry_ref()._replace(id=0), "actor.node.stats", {}, timeout=5.0).body
    assert stats["forwarded"] >= 8, stats["forwarded"]
    ct.log(f"python: calls by name through the gateway; the registry forwarded {stats['forwarded']} envelopes")


if __name__ == "__main__":
    ct.SCENARIOS = {"gateway": scenario_gateway}
    try:
        sys.exit(ct.main(sys.argv))
    except AssertionError as ex:
        print(f"FAILED: {ex}", file=sys.stderr, flush=True)
        sys.exit(1)
