"""The Python Bridge through a client gateway (docs/protocol.md "Gateways"): actors on a node
the client never connects to, reached through a node started with --gateway-forwarding, as a
script on a host reaches a cluster in containers through its one published port. That the
client never reached the target node itself is checked on that node: it never had a client."""

import unittest

from libactor_client import Bridge, NodeDown, NoSuchActor
from nodes import SLOWDOWN, NodeTestCase, poll_until
from test_registry import DOWN_AFTER, HEARTBEAT, registered_at


class GatewayTest(NodeTestCase):
    def setUp(self):
        self.registry = self.start_registry("reg", "--gateway-forwarding")
        self.node = self.start_node("b", *registered_at(self.registry), "--spawn", "counter:c1")
        port = self.registry.address.rsplit(":", 1)[1]
        # another spelling of the registry's address: the gateway takes the one it was dialed by as its own
        self.outside = f"tcp://localhost:{port}"

    def bridge(self, gateways, registries):
        b = Bridge(registries, name="pytest-gw", heartbeat=HEARTBEAT, down_after=DOWN_AFTER, gateways=gateways)
        self.addCleanup(b.close)
        return b

    def resolves(self, bridge, name):
        def attempt():
            try:
                return bridge.lookup(name, timeout=1.0)
            except NoSuchActor:
                return None
        return poll_until(attempt, 5 * SLOWDOWN)

    def test_an_actor_is_called_by_name_through_a_gateway(self):
        b = self.bridge([self.outside], [self.outside])
        ref = self.resolves(b, "c1")
        self.assertIsNotNone(ref, "c1 never appeared in the registry")
        self.assertEqual(ref.address, self.node.address)  # refs stay the cluster's
        self.assertEqual(b.call("c1", "actor.counter.incr", {"by": 2})["value"], 2)
        self.assertEqual(b.call(ref, "actor.counter.get")["value"], 2)
        self.assertEqual(list(b._conns), [self.outside])  # the gateway only
        direct = Bridge(name="pytest-direct", heartbeat=HEARTBEAT, down_after=DOWN_AFTER)
        self.addCleanup(direct.close)
        stats = direct.stats(self.node.address)
        self.assertEqual(stats["clients"], 1)  # this one asking, never the gateway's client
        self.assertGreaterEqual(direct.stats(self.registry.address)["forwarded"], 4)

    def test_a_node_that_is_not_a_gateway_refuses_and_the_next_one_is_used(self):
        plain = self.start_node("plain")
        b = self.bridge([plain.address], [self.registry.address])
        with self.assertRaises(NodeDown) as cm:
            b.lookup("c1", timeout=5.0)
        self.assertIn("not a gateway", str(cm.exception))
        b2 = self.bridge([plain.address, self.registry.address], [self.registry.address])
        def works():
            try:
                return b2.call("c1", "actor.counter.get", timeout=2.0)["value"] == 0
            except NodeDown:
                return False
        self.assertTrue(poll_until(works, 10 * SLOWDOWN))


if __name__ == "__main__":
    unittest.main()
