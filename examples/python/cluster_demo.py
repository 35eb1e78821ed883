#!/usr/bin/python3
"""Drives a running cluster from Python: reads and increments a counter by name, uses a
key-value store on another node, and spawns and stops three workers.

    /usr/bin/python3 examples/python/cluster_demo.py REGISTRY NODE2

Expects the actors that examples/cluster/drive_with_actorctl.sh setup made: a counter
named "hits" and a kv named "store". Needs python3-zmq and python3-msgpack.
"""

import argparse
import os
import sys

try:
    from libactor_client import ActorError, Bridge
except ImportError:  # run from a checkout: use the client next to this script
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "clients", "python"))
    from libactor_client import ActorError, Bridge


def say(text):
    print(f"[python]   {text}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("registry", help="the registry's address, e.g. tcp://127.0.0.1:7000")
    parser.add_argument("node", help="a node to spawn the workers on")
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds to wait for each answer")
    args = parser.parse_args()
    t = args.timeout

    try:
        with Bridge(registries=[args.registry], name="cluster-demo") as bridge:
            hits = bridge.lookup("hits", timeout=t)
            say(f"lookup hits -> {hits}")
            say(f"hits is at {bridge.call(hits, 'actor.counter.get', timeout=t)['value']}")
            say(f"incr hits by 10 -> {bridge.call('hits', 'actor.counter.incr', {'by': 10}, timeout=t)['value']}")

            greeting = bridge.call("store", "actor.kv.get", {"key": "greeting"}, timeout=t)
            say(f"store greeting -> {greeting['value']!r}")
            bridge.call("store", "actor.kv.put", {"key": "from", "value": "python"}, timeout=t)
            say(f"store keys -> {bridge.call('store', 'actor.kv.keys', timeout=t)['keys']}")

            workers = [bridge.spawn(args.node, "counter", f"worker.{i}", timeout=t) for i in (1, 2, 3)]
            say(f"spawned {', '.join(f'worker.{i}' for i in (1, 2, 3))} on {args.node}")
            say(f"registered names -> {sorted(bridge.list('', timeout=t))}")
            for worker, outcome in bridge.stop(workers, timeout=t).items():
                say(f"stop {worker} -> {outcome}")
    except ActorError as ex:  # Timeout, NodeDown, NoSuchActor, ... with ex.code as in docs/protocol.md
        print(f"cluster_demo: {ex}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
