#!/usr/bin/python3
"""Spawns a counter on a libactor node, increments it, reads it and stops it.

    actor-node --name n1 --listen tcp://127.0.0.1:7100 &
    /usr/bin/python3 examples/python/counter_demo.py tcp://127.0.0.1:7100

Needs python3-zmq and python3-msgpack (apt-get install python3-zmq python3-msgpack) and the
libactor_client package (clients/python) on PYTHONPATH; run from a libactor checkout, it finds
the package by itself.
"""

import argparse
import os
import sys

try:
    from libactor_client import ActorError, Bridge
except ImportError:  # run from a checkout: use the client next to this script
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "clients", "python"))
    from libactor_client import ActorError, Bridge


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("node", help="the node's address, e.g. tcp://127.0.0.1:7100")
    parser.add_argument("--start", type=int, default=0, help="the counter's initial value")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for each answer")
    args = parser.parse_args()

    try:
        with Bridge(name="counter-demo") as bridge:
            counter = bridge.spawn(args.node, "counter", config={"start": args.start}, timeout=args.timeout)
            print(f"spawned counter {counter.id} on node {counter.node}")
            for by in (1, 2, 3):
                value = bridge.call(counter, "actor.counter.incr", {"by": by}, timeout=args.timeout)["value"]
                print(f"incremented by {by}: {value}")
            bridge.send(counter, "actor.counter.incr", {"by": 10})  # one-way: no answer
            value = bridge.call(counter, "actor.counter.get", timeout=args.timeout)["value"]
            print(f"value: {value}")
            print(f"stop: {bridge.stop([counter], timeout=args.timeout)[counter]}")
    except ActorError as ex:  # Timeout, NodeDown, ... with ex.code as in docs/protocol.md
        print(f"counter_demo: {ex}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
