// Client gateways (docs/protocol.md "Gateways"): the C++ Bridge and actorctl reach actors on
// a node they never connect to, through a node started with --gateway-forwarding, as a script
// on a host reaches a cluster in containers through its one published port. That the client
// never reached the target node itself is checked on the node: it never had a client.
#include <catch2/catch.hpp>

#include "actor/bridge.hpp"
#include "actor/builtins.hpp"
#include "actor/node.hpp"
#include "harness.hpp"

using namespace itest;
using Catch::Matchers::Contains;
using steady = std::chrono::steady_clock;
using actor::errc;

namespace {

actor::bridge_options via(std::vector<std::string> gateways, std::vector<std::string> registries) {
  actor::bridge_options o;
  o.name = "itest-gateway";
  o.registries = std::move(registries);
  o.gateways = std::move(gateways);
  o.heartbeat = fast_heartbeat;
  o.down_after = fast_down_after;
  return o;
}

// The registry, a gateway, and node "b" holding counter "c1" behind it.
struct cluster {
  node_process reg{registry_argv("reg", {"--gateway-forwarding"})};
  node_process b{registered_node_argv("b", {reg.address()}, {"--spawn", "counter:c1"})};
  local_node me;

  // The registry's address as a client outside may know it: another spelling of 127.0.0.1.
  [[nodiscard]] std::string outside_address() const {
    const auto& a = reg.address();
    return "tcp://localhost" + a.substr(a.rfind(':'));
  }
  [[nodiscard]] std::uint64_t forwarded() {
    auto s = me.stats_at(reg.address());
    return s ? s->forwarded : 0;
  }
  [[nodiscard]] std::uint64_t clients_of_b() {
    auto s = me.stats_at(b.address());
    return s ? s->clients : 999;
  }
};

bool resolves(actor::bridge& br, const std::string& name) {
  return poll_until([&] { return br.lookup(name, 1s).has_value(); }, 5s);
}

}  // namespace

TEST_CASE("a bridge calls an actor by name on a node it never connects to, through a gateway",
          "[integration][gateway][bridge]") {
  cluster c;
  // the registry and the gateway named by an address that is not the one they advertise:
  // the gateway takes it as its own (HELLO's address), not as a node to forward to
  actor::bridge br(via({c.outside_address()}, {c.outside_address()}));
  REQUIRE(resolves(br, "c1"));
  auto ref = br.lookup("c1", 5s);
  REQUIRE(ref);
  CHECK_THAT(actor::format_ref(*ref), Contains(c.b.address()));  // refs stay the cluster's

  const auto before = c.forwarded();
  auto v = br.call<actor::counter_value>("c1", actor::counter_incr{3}, 5s);
  REQUIRE(v);
  CHECK(v->value == 3);
  auto w = br.call<actor::counter_value>(*ref, actor::counter_get{}, 5s);
  REQUIRE(w);
  CHECK(w->value == 3);
  CHECK(c.forwarded() >= before + 4);  // two requests there, two replies back
  CHECK(c.clients_of_b() == 0);        // b never saw this client
  // a one-way send goes the same way
  REQUIRE(br.send(*ref, actor::counter_incr{1}));
  CHECK(poll_until(
      [&] {
        auto x = br.call<actor::counter_value>(*ref, actor::counter_get{}, 2s);
        return x && x->value == 4;
      },
      5s));
}

TEST_CASE("a gateway answers for a node it cannot reach with node_down, before the deadline",
          "[integration][gateway][bridge][liveness]") {
  cluster c;
  actor::bridge br(via({c.reg.address()}, {c.reg.address()}));
  reserved_port gone;
  const auto start = steady::now();
  auto r = br.call<actor::counter_value>("c1@tcp://127.0.0.1:" + std::to_string(gone.port()),
                                         actor::counter_get{}, 10s);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::node_down);  // the gateway's own error, sent back to the client
  CHECK(steady::now() - start < 8s);
}

TEST_CASE("a node without --gateway-forwarding refuses a gateway client, and the next gateway is used",
          "[integration][gateway][bridge]") {
  cluster c;
  node_process plain(fast_node_argv(ACTOR_NODE_BIN, "plain"));
  {
    actor::bridge br(via({plain.address()}, {c.reg.address()}));
    auto r = br.lookup("c1", 5s);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::node_down);
    CHECK_THAT(r.error().text, Contains("not a gateway"));
  }
  // the first gateway refuses: calls go to the second
  actor::bridge br(via({plain.address(), c.reg.address()}, {c.reg.address()}));
  CHECK(poll_until([&] { return br.call<actor::counter_value>("c1", actor::counter_get{}, 2s).has_value(); }, 10s));
}

TEST_CASE("actorctl calls an actor by name through a gateway (--gateway and ACTOR_GATEWAY)",
          "[integration][gateway][actorctl]") {
  cluster c;
  {
    actor::bridge br(via({c.reg.address()}, {c.reg.address()}));
    REQUIRE(resolves(br, "c1"));
  }
  child_process flag({ACTORCTL_BIN, "--registry", c.outside_address(), "--gateway", c.outside_address(), "call", "c1",
                      "actor.counter.incr", R"({"by":2})"});
  auto st = flag.wait_exit(30s);
  INFO(flag.log());
  REQUIRE(st);
  CHECK(st->exited);
  CHECK(st->code == 0);
  CHECK_THAT(flag.log(), Contains("\"value\":2"));

  child_process env({ACTORCTL_BIN, "call", "c1", "actor.counter.incr", R"({"by":1})"},
                    {{"ACTOR_REGISTRY", c.outside_address()}, {"ACTOR_GATEWAY", c.outside_address()}});
  auto st2 = env.wait_exit(30s);
  INFO(env.log());
  REQUIRE(st2);
  CHECK(st2->code == 0);
  CHECK_THAT(env.log(), Contains("\"value\":3"));
  CHECK(c.clients_of_b() == 0);
}
