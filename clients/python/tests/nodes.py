"""Test helpers: real node processes on 127.0.0.1 and waiting on conditions with a deadline.

Like tests/integration/harness.cpp: every process is killed (SIGKILL) and reaped by PID when
the test ends, pass or fail; a node is ready when it logs ``event=ready``, whose ``address=``
(the port was chosen at run time: --listen tcp://127.0.0.1:0) is parsed. Nothing sleeps in
place of synchronization: waits poll a condition until a deadline.
"""

import os
import re
import signal
import subprocess
import sys
import threading
import time
import unittest

SLOWDOWN = int(os.environ.get("ACTOR_TEST_SLOWDOWN", "1"))


def binary(var):
    path = os.environ.get(var)
    if not path or not os.path.exists(path):
        raise unittest.SkipTest(f"{var} does not name a built binary (run the tests with ctest)")
    return path


def poll_until(pred, limit, pause=0.005):
    """Tries pred() until it is true or `limit` seconds passed; the last result."""
    deadline = time.monotonic() + limit
    while True:
        result = pred()
        if result or time.monotonic() >= deadline:
            return result
        time.sleep(pause)  # a pause between tries of a condition, not a stand-in for one


class NodeProcess:
    """A node program (actor-node, actor-test-node, actor-registry) with its log captured; its
    ``event=ready`` line gives its address."""

    def __init__(self, args, ready_timeout=10.0):
        env = {k: v for k, v in os.environ.items() if not k.startswith("ACTOR_")}  # no leaking options
        self.args = args
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, env=env)
        self.pid = self.proc.pid
        self._lines = []
        self._cond = threading.Condition()
        self._eof = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        line = self.wait_for_line("event=ready", ready_timeout)
        fields = dict(re.findall(r" (\w+)=(\S+)", line or ""))
        self.address = fields.get("address")
        self.incarnation = int(fields.get("incarnation", "0"))
        if not self.address:
            log = self.log()
            self.close()
            raise RuntimeError(f"{' '.join(args)} was not ready within {ready_timeout} s; its log:\n{log}")

    def _read(self):
        for raw in self.proc.stdout:
            with self._cond:
                self._lines.append(raw.decode(errors="replace"))
                self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    def wait_for_line(self, needle, limit):
        """The first log line containing `needle`, waiting up to `limit` seconds; None if none came."""
        def found():
            return next((l for l in self._lines if needle in l), None)
        with self._cond:
            self._cond.wait_for(lambda: found() or self._eof, timeout=limit)
            return found()

    def log(self):
        with self._cond:
            return "".join(self._lines)

    @property
    def port(self):
        return int(self.address.rsplit(":", 1)[1])

    def kill(self):
        """SIGKILL (by PID) and reap."""
        if self.proc.returncode is None:
            os.kill(self.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)

    def close(self):
        self.kill()
        self._reader.join(timeout=5)
        self.proc.stdout.close()


def node_args(binary_path, name, *extra):
    args = [binary_path, "--name", name, "--workers", "2"]
    if "--listen" not in extra:
        args += ["--listen", "tcp://127.0.0.1:0"]
    return args + list(extra)


class NodeTestCase(unittest.TestCase):
    """Starts nodes that are killed and reaped when the test ends; prints their logs on failure
    (or always, with ITEST_VERBOSE set)."""

    def start_node(self, name, *extra, binary_var="ACTOR_NODE_BIN"):
        node = NodeProcess(node_args(binary(binary_var), name, *extra))
        self.addCleanup(self._stop_node, node)
        return node

    def start_registry(self, name, *extra):
        """An actor-registry with the fast liveness settings of the integration tests."""
        fast = ["--heartbeat-ms", str(100 * SLOWDOWN), "--suspect-after-ms", str(300 * SLOWDOWN),
                "--down-after-ms", str(600 * SLOWDOWN), "--lease-ms", str(600 * SLOWDOWN)]
        args = [binary("ACTOR_REGISTRY_BIN"), "--name", name]
        if "--listen" not in extra:
            args += ["--listen", "tcp://127.0.0.1:0"]
        registry = NodeProcess(args + fast + list(extra))
        self.addCleanup(self._stop_node, registry)
        return registry

    def _stop_node(self, node):
        node.close()
        if os.environ.get("ITEST_VERBOSE") or self._failed():
            sys.stderr.write(f"---- log of pid {node.pid}: {' '.join(node.args)} ----\n{node.log()}"
                             f"---- end of log of pid {node.pid} ----\n")

    def _failed(self):
        result = getattr(getattr(self, "_outcome", None), "result", None)
        if result is None:
            return False
        return any(test is self for test, _ in getattr(result, "errors", []) + getattr(result, "failures", []))
