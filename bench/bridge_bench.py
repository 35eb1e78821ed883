#!/usr/bin/python3
"""The Python Bridge (clients/python) against a node: the Python twin of actor_bridge_bench.

    /usr/bin/python3 bench/bridge_bench.py [ACTOR_NODE] [COUNT] [WINDOW]

Starts its own actor-node (ACTOR_NODE, default build/node/actor-node) on tcp://127.0.0.1:0, ended
by PID, spawns a counter there through the bridge, then prints RESULT lines:
  python_bridge.call_rtt.*      one call at a time: mean/p50/p99 in us
  python_bridge.calls.per_s     multi_call batches of WINDOW (256) calls, COUNT (50000) in all
"""

import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "clients", "python"))

from libactor_client import Bridge  # noqa: E402


def result(key, value, unit):
    print(f"RESULT {key} {value:.3f} {unit}", flush=True)


def start_node(binary):
    """The node process and its address, from its event=ready log line (10 s at most)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACTOR_")}
    proc = subprocess.Popen([binary, "--name", "py-bench-node", "--listen", "tcp://127.0.0.1:0"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=env, text=True)
    deadline = time.monotonic() + 10
    for line in proc.stdout:  # the node logs a line per event; ready comes within a second
        match = re.search(r"event=ready .*address=(\S+)", line)
        if match:
            return proc, match.group(1)
        if time.monotonic() > deadline:
            break
    proc.kill()
    proc.wait()
    raise SystemExit(f"bridge_bench.py: {binary} did not become ready")


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "build", "node", "actor-node")
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 50000
    window = int(sys.argv[3]) if len(sys.argv) > 3 else 256
    proc, address = start_node(binary)
    try:
        with Bridge(name="py-bench") as bridge:
            counter = bridge.spawn(address, "counter", timeout=10)
            for _ in range(1000):  # warm up
                bridge.call(counter, "actor.counter.get")
            rtt = []
            for _ in range(min(count, 10000)):
                start = time.perf_counter_ns()
                bridge.call(counter, "actor.counter.get", timeout=10)
                rtt.append((time.perf_counter_ns() - start) / 1000)
            rtt.sort()
            result("python_bridge.call_rtt.mean_us", statistics.fmean(rtt), "us")
            result("python_bridge.call_rtt.p50_us", rtt[len(rtt) // 2], "us")
            result("python_bridge.call_rtt.p99_us", rtt[len(rtt) * 99 // 100], "us")

            batch = [(counter, "actor.counter.incr", {"by": 1})] * window
            done, start = 0, time.perf_counter()
            while done < count:
                for outcome in bridge.multi_call(batch, timeout=30):
                    if isinstance(outcome, Exception):
                        raise SystemExit(f"bridge_bench.py: a call failed: {outcome}")
                done += window
            result("python_bridge.calls.per_s", done / (time.perf_counter() - start), "calls/s")
            final = bridge.call(counter, "actor.counter.get")["value"]
            if final != done:
                raise SystemExit(f"bridge_bench.py: the counter holds {final}, expected {done}")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    main()
