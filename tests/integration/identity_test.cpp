// Time and identity: a node's request deadlines follow its system's clock (a manual_clock
// here), ttl_ms is the time left when the frame is written, answers complete only requests
// sent on the connection they arrive on, a node speaks only for its own actors, and one
// node address has one peer slot whatever its spelling.
#include <catch2/catch.hpp>

#include <msgpack.hpp>
#include <zmq.hpp>

#include "harness.hpp"

using namespace itest;

namespace {

using packer = msgpack::packer<msgpack::sbuffer>;

template <class F>
std::string packed(F&& write) {
  msgpack::sbuffer b;
  packer pk(b);
  write(pk);
  return {b.data(), b.size()};
}

struct ref {
  std::string node, address;
  std::uint64_t incarnation = 0, id = 0;
};

void pack_ref(packer& pk, const ref& r) {
  pk.pack_array(4);
  pk.pack(r.node);
  pk.pack(r.address);
  pk.pack(r.incarnation);
  pk.pack(r.id);
}

ref read_ref(const msgpack::object& o) {
  const auto& a = o.via.array;
  return {a.ptr[0].as<std::string>(), a.ptr[1].as<std::string>(), a.ptr[2].as<std::uint64_t>(),
          a.ptr[3].as<std::uint64_t>()};
}

// An envelope of a BATCH, as the fake node reads it.
struct seen_envelope {
  int kind = 0;
  ref sender;
  std::uint64_t correlation = 0, ttl_ms = 0;
  std::string type;
};

// A fake node: a ROUTER at its own address that welcomes the real node's DEALER, answers its
// PINGs and keeps the envelopes of its BATCH frames; and a DEALER of its own to the real node,
// for what it sends as a node would (HELLO first).
struct fake_node {
  zmq::context_t ctx;
  zmq::socket_t router{ctx, zmq::socket_type::router};
  zmq::socket_t dealer{ctx, zmq::socket_type::dealer};
  std::string name;
  std::uint64_t incarnation;
  std::string address;
  std::string peer_id;  // the real node's DEALER
  bool welcome_hellos = true;
  std::uint64_t pong_incarnation;
  int hellos = 0, pings = 0;
  std::vector<seen_envelope> envelopes;

  fake_node(std::string n, std::uint64_t inc) : name(std::move(n)), incarnation(inc), pong_incarnation(inc) {
    router.set(zmq::sockopt::linger, 0);
    router.set(zmq::sockopt::rcvtimeo, 20);
    router.bind("tcp://127.0.0.1:0");
    address = router.get(zmq::sockopt::last_endpoint);
    dealer.set(zmq::sockopt::linger, 0);
    dealer.set(zmq::sockopt::rcvtimeo, 500);
    dealer.set(zmq::sockopt::routing_id, name + "/000000000000000" + std::to_string(inc % 10));
  }

  void to_peer(const std::string& frame) {
    REQUIRE(router.send(zmq::buffer(peer_id), zmq::send_flags::sndmore));
    REQUIRE(router.send(zmq::buffer(frame), zmq::send_flags::none));
  }
  void welcome() {
    to_peer(packed([&](packer& pk) {
      pk.pack_array(6);
      pk.pack(2);
      pk.pack(1);
      pk.pack(name);
      pk.pack(address);
      pk.pack(incarnation);
      pk.pack(std::uint64_t{1} << 20);
    }));
  }
  void pong(std::uint64_t seq, std::uint64_t inc) {
    to_peer(packed([&](packer& pk) {
      pk.pack_array(3);
      pk.pack(5);
      pk.pack(seq);
      pk.pack(inc);
    }));
  }

  // Reads one frame from the real node, if one comes within 20 ms, and answers it.
  void read_one() {
    zmq::message_t id, m;
    if (!router.recv(id) || !id.more() || !router.recv(m)) return;
    peer_id = id.to_string();
    auto oh = msgpack::unpack(static_cast<const char*>(m.data()), m.size());
    const auto& f = oh.get().via.array;
    switch (f.ptr[0].as<int>()) {
      case 1:
        ++hellos;
        if (welcome_hellos) welcome();
        break;
      case 4:
        ++pings;
        pong(f.ptr[1].as<std::uint64_t>(), pong_incarnation);
        break;
      case 6:
        for (std::uint32_t i = 1; i < f.size; ++i) {
          const auto& e = f.ptr[i].via.array;
          REQUIRE(e.size == 7);  // no repeats: they are not offered
          seen_envelope s;
          s.kind = e.ptr[0].as<int>();
          if (!e.ptr[1].is_nil()) s.sender = read_ref(e.ptr[1]);
          s.correlation = e.ptr[3].as<std::uint64_t>();
          s.ttl_ms = e.ptr[4].as<std::uint64_t>();
          s.type = e.ptr[5].as<std::string>();
          envelopes.push_back(s);
        }
        break;
      default:
        break;
    }
  }
  // Reads and answers until pred holds or limit passes.
  bool pump_until(const std::function<bool()>& pred, ms limit) {
    return poll_until(
        [&] {
          read_one();
          return pred();
        },
        limit);
  }
  void pump_for(ms d) {
    const auto until = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < until) read_one();
  }
  // The first envelope of type `type` seen, if any.
  const seen_envelope* find(const std::string& type) const {
    for (const auto& e : envelopes) {
      if (e.type == type) return &e;
    }
    return nullptr;
  }

  // Connects the DEALER to the real node and says HELLO as a node; the first frame back.
  msgpack::object_handle hello_to(const std::string& node_address, const std::string& claimed_address) {
    dealer.connect(node_address);
    const auto hello = packed([&](packer& pk) {
      pk.pack_array(6);
      pk.pack(1);
      pk.pack(1);
      pk.pack(std::string("node"));
      pk.pack(name);
      pk.pack(claimed_address);
      pk.pack(incarnation);
    });
    REQUIRE(dealer.send(zmq::buffer(hello), zmq::send_flags::none));
    zmq::message_t m;
    msgpack::object_handle oh;
    REQUIRE(poll_until(
        [&] {
          if (!dealer.recv(m)) return false;
          oh = msgpack::unpack(static_cast<const char*>(m.data()), m.size());
          const int tag = oh.get().via.array.ptr[0].as<int>();
          return tag == 2 || tag == 3;  // WELCOME or REFUSE (not a beacon PONG)
        },
        10s));
    return oh;
  }
  // Sends one envelope in a BATCH on the DEALER.
  void send_envelope(int kind, const ref* sender, const ref& receiver, std::uint64_t correlation,
                     const std::string& type, const std::function<void(packer&)>& body) {
    const auto batch = packed([&](packer& pk) {
      pk.pack_array(2);
      pk.pack(6);
      pk.pack_array(7);
      pk.pack(kind);
      if (sender != nullptr) {
        pack_ref(pk, *sender);
      } else {
        pk.pack_nil();
      }
      pack_ref(pk, receiver);
      pk.pack(correlation);
      pk.pack(kind == 1 ? 5000 : 0);
      pk.pack(type);
      body(pk);
    });
    REQUIRE(dealer.send(zmq::buffer(batch), zmq::send_flags::none));
  }
};

void empty_map(packer& pk) { pk.pack_map(0); }

// A node on the default liveness settings (the fake answers its pings between steps).
actor::node_options plain_options(const std::string& name) {
  actor::node_options o;
  o.name = name;
  o.listen = "tcp://127.0.0.1:0";
  return o;
}

actor::system_options on_clock(std::shared_ptr<actor::clock> c) {
  actor::system_options so;
  so.workers = 2;
  so.clock = std::move(c);
  return so;
}

std::uint64_t dropped(const actor::node& n, const std::string& why) {
  const auto s = n.stats();
  auto it = s.dropped.find(why);
  return it == s.dropped.end() ? 0 : it->second;
}

std::string port_of(const std::string& address) { return address.substr(address.rfind(':') + 1); }

}  // namespace

TEST_CASE("a node on a manual clock: a request's deadline passes only when the clock is stepped",
          "[integration][identity][clock]") {
  auto mc = std::make_shared<actor::manual_clock>();
  actor::actor_system sys(on_clock(mc));
  actor::node n(sys, plain_options("timed"));
  fake_node peer("peer", 41);

  auto f = sys.request<actor::ping_reply>(n.manager_at(peer.address), actor::ping_request{}, 60s);
  REQUIRE(peer.pump_until([&] { return peer.find("actor.node.ping") != nullptr; }, 10s));
  CHECK(peer.find("actor.node.ping")->ttl_ms == 60000);  // the clock has not moved
  peer.pump_for(300ms);  // real time passes, the clock does not: still pending
  CHECK(f.wait_for(0s) == std::future_status::timeout);
  mc->advance(59s);
  peer.pump_for(100ms);
  CHECK(f.wait_for(0s) == std::future_status::timeout);
  mc->advance(1s);
  REQUIRE(f.wait_for(5s) == std::future_status::ready);
  auto r = f.get();
  REQUIRE_FALSE(r);
  CHECK(r.error().code == actor::errc::timeout);
}

TEST_CASE("ttl_ms is the time left when the frame is written, not when the request was queued",
          "[integration][identity][clock]") {
  auto mc = std::make_shared<actor::manual_clock>();
  actor::actor_system sys(on_clock(mc));
  actor::node n(sys, plain_options("timed"));
  fake_node peer("peer", 42);
  peer.welcome_hellos = false;  // the request waits in the node's backlog

  auto f = sys.request<actor::ping_reply>(n.manager_at(peer.address), actor::ping_request{}, 60s);
  REQUIRE(peer.pump_until([&] { return peer.hellos > 0; }, 10s));
  mc->advance(20s);  // queued for 20 s of the system's clock
  peer.welcome();
  REQUIRE(peer.pump_until([&] { return peer.find("actor.node.ping") != nullptr; }, 10s));
  CHECK(peer.find("actor.node.ping")->ttl_ms == 40000);
  CHECK(f.wait_for(0s) == std::future_status::timeout);
}

TEST_CASE("requests in flight on a manual clock are kept until their deadline on that clock",
          "[integration][identity][clock]") {
  // a clock far behind the steady clock: a deadline on it compared with steady time has long passed
  auto mc = std::make_shared<actor::manual_clock>(actor::time_point{});
  actor::actor_system sys(on_clock(mc));
  actor::node n(sys, plain_options("timed"));
  fake_node peer("peer", 43);

  auto f = sys.request<actor::ping_reply>(n.manager_at(peer.address), actor::ping_request{}, 60s);
  REQUIRE(peer.pump_until([&] { return peer.find("actor.node.ping") != nullptr; }, 10s));
  const int pings = peer.pings;
  REQUIRE(peer.pump_until([&] { return peer.pings >= pings + 2; }, 10s));  // the node's tick ran since
  peer.pong_incarnation = 4343;
  peer.pong(0, 4343);  // the peer restarted: what was in flight to it fails at once
  REQUIRE(f.wait_for(5s) == std::future_status::ready);
  auto r = f.get();
  REQUIRE_FALSE(r);
  CHECK(r.error().code == actor::errc::node_down);
  CHECK_THAT(r.error().text, Catch::Matchers::Contains("restarted"));
}

TEST_CASE("a reply from another node than the one asked is dropped and counted",
          "[integration][identity][forgery]") {
  local_node me(plain_options("asker"));
  fake_node asked("asked", 51);
  fake_node other("other", 52);

  auto f = me.sys.request<actor::ping_reply>(me.node.manager_at(asked.address), actor::ping_request{}, 10s);
  REQUIRE(asked.pump_until([&] { return asked.find("actor.node.ping") != nullptr; }, 10s));
  const auto req = *asked.find("actor.node.ping");
  auto answer = [&](packer& pk) {
    pk.pack_map(3);
    pk.pack(std::string("node"));
    pk.pack(std::string("forged"));
    pk.pack(std::string("address"));
    pk.pack(std::string("tcp://127.0.0.1:1"));
    pk.pack(std::string("incarnation"));
    pk.pack(7);
  };

  REQUIRE(other.hello_to(me.node.address(), other.address).get().via.array.ptr[0].as<int>() == 2);
  other.send_envelope(2, nullptr, req.sender, req.correlation, "actor.node.pong", answer);
  REQUIRE(asked.pump_until([&] { return dropped(me.node, "stray_reply") == 1; }, 10s));
  CHECK(f.wait_for(0s) == std::future_status::timeout);

  // the node asked answers: that completes it
  REQUIRE(asked.hello_to(me.node.address(), asked.address).get().via.array.ptr[0].as<int>() == 2);
  asked.send_envelope(2, nullptr, req.sender, req.correlation, "actor.node.pong", answer);
  REQUIRE(f.wait_for(5s) == std::future_status::ready);
  auto r = f.get();
  REQUIRE(r);
  CHECK(r->node == "forged");
  CHECK(dropped(me.node, "stray_reply") == 1);
}

TEST_CASE("an envelope from a node whose sender names another node is dropped and counted",
          "[integration][identity][forgery]") {
  local_node me(plain_options("target"));
  fake_node sender("sender", 61);
  fake_node victim("victim", 62);
  REQUIRE(sender.hello_to(me.node.address(), sender.address).get().via.array.ptr[0].as<int>() == 2);
  const ref manager{me.node.name(), me.node.address(), 0, 0};

  // a request in the victim's name: not answered to the victim, counted
  const ref forged{victim.name, victim.address, victim.incarnation, 99};
  sender.send_envelope(1, &forged, manager, 1, "actor.node.ping", empty_map);
  // the sender's own actor under another incarnation than its HELLO's: the same
  const ref other_incarnation{sender.name, sender.address, sender.incarnation + 1, 99};
  sender.send_envelope(1, &other_incarnation, manager, 2, "actor.node.ping", empty_map);
  REQUIRE(victim.pump_until([&] { return dropped(me.node, "wrong_sender") == 2; }, 10s));

  // its own actor (under another spelling of its address): answered
  const ref own{sender.name, "tcp://localhost:" + port_of(sender.address), sender.incarnation, 99};
  sender.send_envelope(1, &own, manager, 3, "actor.node.ping", empty_map);
  REQUIRE(sender.pump_until(
      [&] {
        for (const auto& e : sender.envelopes) {
          if (e.kind == 2 && e.correlation == 3) return true;
        }
        return false;
      },
      10s));
  victim.pump_for(100ms);
  CHECK(victim.envelopes.empty());
  CHECK(victim.hellos == 0);
  CHECK(dropped(me.node, "wrong_sender") == 2);
}

TEST_CASE("a HELLO as a node that claims the node's own address, or none, is refused", "[integration][identity][forgery]") {
  local_node me(plain_options("me"));
  const std::vector<std::pair<std::string, std::string>> claims = {
      {me.node.address(), "this node's own"},
      {"tcp://localhost:" + port_of(me.node.address()), "this node's own"},
      {"", "must name the address"}};
  for (const auto& [claimed, why] : claims) {
    fake_node impostor("impostor", 71);
    auto answer = impostor.hello_to(me.node.address(), claimed);
    const auto& f = answer.get().via.array;
    REQUIRE(f.ptr[0].as<int>() == 3);  // REFUSE
    CHECK_THAT(f.ptr[2].as<std::string>(), Catch::Matchers::Contains(why));
  }
}

TEST_CASE("tcp://localhost:P and tcp://127.0.0.1:P reach one peer slot, and one's own address is local",
          "[integration][identity][addresses]") {
  local_node a(plain_options("a"));
  local_node b(plain_options("b"));
  const std::string b_port = port_of(b.node.address());
  for (const std::string& spelling : {b.node.address(), "tcp://localhost:" + b_port, "tcp://LocalHost:" + b_port}) {
    auto r = a.ask<actor::ping_reply>(a.node.manager_at(spelling), actor::ping_request{});
    REQUIRE(r);
    CHECK(r->incarnation == b.node.incarnation());
  }
  CHECK(a.node.stats().peers.size() == 1);

  // a's own address under another spelling: its own manager, no peer slot, no frame
  const auto frames = a.node.stats().frames_sent;
  auto self = a.node.manager_at("tcp://localhost:" + port_of(a.node.address()));
  CHECK(self == a.node.manager());
  auto r = a.ask<actor::ping_reply>(self, actor::ping_request{});
  REQUIRE(r);
  CHECK(r->incarnation == a.node.incarnation());
  CHECK(a.node.stats().peers.size() == 1);
  CHECK(a.node.stats().frames_sent == frames);
}

TEST_CASE("a reply from the node asked completes the request even when it names itself by another address",
          "[integration][identity][forgery]") {
  // asked by IP, the node introduces itself under a host name (as with --advertise): the same node,
  // known by the incarnation its WELCOME said
  local_node me(plain_options("asker"));
  fake_node asked("asked", 81);
  auto f = me.sys.request<actor::ping_reply>(me.node.manager_at(asked.address), actor::ping_request{}, 10s);
  REQUIRE(asked.pump_until([&] { return asked.find("actor.node.ping") != nullptr; }, 10s));
  const auto req = *asked.find("actor.node.ping");
  REQUIRE(asked.hello_to(me.node.address(), "tcp://asked.example:" + port_of(asked.address)).get().via.array.ptr[0].as<int>() == 2);
  asked.send_envelope(2, nullptr, req.sender, req.correlation, "actor.node.pong", [](packer& pk) {
    pk.pack_map(3);
    pk.pack(std::string("node"));
    pk.pack(std::string("asked"));
    pk.pack(std::string("address"));
    pk.pack(std::string("tcp://asked.example:1"));
    pk.pack(std::string("incarnation"));
    pk.pack(81);
  });
  REQUIRE(f.wait_for(5s) == std::future_status::ready);
  auto r = f.get();
  REQUIRE(r);
  CHECK(r->node == "asked");
  CHECK(dropped(me.node, "stray_reply") == 0);
}
