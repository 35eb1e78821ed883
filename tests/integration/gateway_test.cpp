// Client gateways (docs/protocol.md "Gateways"): the C++ Bridge and actorctl reach actors on
// a node they never connect to, through a node started with --gateway-forwarding, as a script
// on a host reaches a cluster in containers through its one published port. That the client
// never reached the target node itself is checked on the node: it never had a client.
#include <catch2/catch.hpp>
#include <msgpack.hpp>
#include <zmq.hpp>

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

// A client written from docs/protocol.md alone: one DEALER, frames packed by hand.
struct raw_client {
  zmq::context_t ctx{1};
  zmq::socket_t s{ctx, zmq::socket_type::dealer};

  raw_client(const std::string& gateway, const std::string& routing_id) {
    s.set(zmq::sockopt::routing_id, routing_id);
    s.set(zmq::sockopt::linger, 0);
    s.connect(gateway);
    msgpack::sbuffer b;
    msgpack::packer<msgpack::sbuffer> pk(b);
    pk.pack_array(6);
    pk.pack(1);
    pk.pack(1);
    pk.pack(std::string("gateway-client"));
    pk.pack(std::string("raw"));
    pk.pack(gateway);
    pk.pack(7);
    s.send(zmq::buffer(b.data(), b.size()));
  }
  // [6, [1, [raw, "", 0, from], [node, address, incarnation, 0], correlation, 5000, "actor.node.ping", {}]]
  void ping(std::uint64_t from, const std::string& node, const std::string& address, std::uint64_t incarnation,
            std::uint64_t correlation) {
    msgpack::sbuffer b;
    msgpack::packer<msgpack::sbuffer> pk(b);
    pk.pack_array(2);
    pk.pack(6);
    pk.pack_array(7);
    pk.pack(1);
    pk.pack_array(4);
    pk.pack(std::string("raw"));
    pk.pack(std::string());
    pk.pack(0);
    pk.pack(from);
    pk.pack_array(4);
    pk.pack(node);
    pk.pack(address);
    pk.pack(incarnation);
    pk.pack(0);
    pk.pack(correlation);
    pk.pack(5000);
    pk.pack(std::string("actor.node.ping"));
    pk.pack_map(0);
    s.send(zmq::buffer(b.data(), b.size()));
  }
  // The next envelope of a BATCH, within 5 s (frames before it, WELCOME and PONGs, skipped).
  std::optional<msgpack::object_handle> next_envelope() {
    const auto deadline = steady::now() + 5s;
    while (steady::now() < deadline) {
      zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, std::chrono::milliseconds(100));
      if ((item.revents & ZMQ_POLLIN) == 0) continue;
      zmq::message_t m;
      if (!s.recv(m, zmq::recv_flags::dontwait)) continue;
      auto h = msgpack::unpack(static_cast<const char*>(m.data()), m.size());
      const auto& f = h.get();
      if (f.type != msgpack::type::ARRAY || f.via.array.size < 2 || f.via.array.ptr[0].as<int>() != 6) continue;
      msgpack::object_handle e(msgpack::clone(f.via.array.ptr[1]));
      return e;
    }
    return std::nullopt;
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

TEST_CASE("a gateway's answers, on the wire: the receiver is the client's own ref; ids of 2^32 and up are refused",
          "[integration][gateway]") {
  cluster c;
  raw_client raw(c.reg.address(), "raw/1");
  // to b's manager through the gateway, from the client's id 5
  raw.ping(5, "b", c.b.address(), c.b.incarnation(), 9);
  auto reply = raw.next_envelope();
  REQUIRE(reply);
  const auto& r = reply->get().via.array;
  REQUIRE(reply->get().via.array.size == 7);
  CHECK(r.ptr[0].as<int>() == 2);  // a reply
  CHECK(r.ptr[1].via.array.ptr[1].as<std::string>() == c.b.address());  // from b's manager
  const auto& to = r.ptr[2].via.array;
  CHECK(to.ptr[0].as<std::string>() == "raw/1");  // the client's ref: routing id, "", 0, its id
  CHECK(to.ptr[1].as<std::string>().empty());
  CHECK(to.ptr[2].as<std::uint64_t>() == 0);
  CHECK(to.ptr[3].as<std::uint64_t>() == 5);
  CHECK(r.ptr[3].as<std::uint64_t>() == 9);
  CHECK(r.ptr[5].as<std::string>() == "actor.node.pong");

  raw.ping(1ULL << 40, "b", c.b.address(), c.b.incarnation(), 10);
  auto refused = raw.next_envelope();
  REQUIRE(refused);
  const auto& e = refused->get().via.array;
  REQUIRE(e.size == 7);
  CHECK(e.ptr[0].as<int>() == 3);  // an error
  CHECK(e.ptr[3].as<std::uint64_t>() == 10);
  CHECK(e.ptr[6].via.map.ptr[0].val.as<int>() == static_cast<int>(errc::bad_message));
}

TEST_CASE("a bridge's watch works through a gateway, past the registry's lease, and spawns go by manager address",
          "[integration][gateway][bridge][registry]") {
  cluster c;
  actor::bridge br(via({c.reg.address()}, {c.reg.address()}));
  REQUIRE(resolves(br, "c1"));
  auto w = br.watch("w/", 5s);
  REQUIRE(w);
  auto quiet = w->next(3 * fast_lease);  // the bridge's heartbeats keep the watch alive through the gateway
  REQUIRE_FALSE(quiet);
  CHECK(quiet.error().code == errc::timeout);
  auto one = br.spawn(c.b.address(), "counter", "w/one", {}, 5s);  // b's manager, through the gateway
  REQUIRE(one);
  auto appeared = w->next(5s);
  REQUIRE(appeared);
  CHECK(appeared->name == "w/one");
  CHECK(appeared->event == "appeared");
  CHECK(c.clients_of_b() == 0);
}
