// The Bridge's deadline heap keeps no entries for calls that completed: its size
// follows the calls pending, not the calls ever made.
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <msgpack.hpp>
#include <zmq.hpp>

#include <catch2/catch.hpp>

#include "actor/actor.hpp"
#include "actor/node.hpp"
#include "bridge/io.hpp"
#include "test_support.hpp"

using namespace std::chrono_literals;
using actor::detail::bridge_io;
using actor::detail::bridge_io_options;

namespace {

bool wait_until(const std::function<bool()>& pred, std::chrono::seconds limit = 10s) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::yield();
  }
  return true;
}

}  // namespace

TEST_CASE("the Bridge's deadline heap forgets calls answered long before their deadline", "[bridge_io][deadlines]") {
  actor::actor_system sys;
  actor::node_options no;
  no.listen = "tcp://127.0.0.1:0";
  actor::node n(sys, no);
  bridge_io io(bridge_io_options{});
  const actor::detail::wire_ref manager{n.name(), n.address(), 0, 0};
  const std::string empty_map("\x80", 1);

  // 20,000 pings with 60 s deadlines, 500 in flight at a time, every one answered at once
  constexpr int calls = 20000;
  constexpr int window = 500;
  std::atomic<int> answered{0};
  std::atomic<int> failed{0};
  std::size_t most_entries = 0;
  for (int sent = 0; sent < calls; ++sent) {
    REQUIRE(wait_until([&] { return sent - answered.load() < window; }));
    io.request(manager, 1, "actor.node.ping", empty_map, std::chrono::steady_clock::now() + 60s,
               [&](actor::expected<actor::raw_message> r) {
                 if (!r) failed.fetch_add(1);
                 answered.fetch_add(1);
               });
    most_entries = std::max(most_entries, io.deadline_entries());
  }
  REQUIRE(wait_until([&] { return answered.load() == calls; }));
  CHECK(failed.load() == 0);
  CHECK(io.pending() == 0);
  // bounded by the calls in flight (compacted when done ones outnumber them), not by the calls made
  CHECK(most_entries <= 2 * window + 1024);
  CHECK(io.deadline_entries() <= 2 * window + 1024);
}

TEST_CASE("the Bridge's deadline heap forgets calls that failed or were cancelled", "[bridge_io][deadlines]") {
  bridge_io_options o;
  o.queue_limit = 64;  // calls beyond it fail at once with overloaded
  bridge_io io(o);
  // nothing listens there: calls wait for a handshake, or fail overloaded, or are cancelled
  const actor::detail::wire_ref nobody{"nobody", "tcp://127.0.0.1:1", 0, 16};
  std::atomic<int> done{0};
  constexpr int calls = 100000;
  for (int i = 0; i < calls; ++i) {
    const auto corr = io.request(nobody, 1, "actor.node.ping", std::string("\x80", 1),
                                 std::chrono::steady_clock::now() + 60s,
                                 [&](actor::expected<actor::raw_message>) { done.fetch_add(1); });
    if (i % 2 == 0) io.cancel(corr);
  }
  CHECK(io.pending() <= 2 * o.queue_limit);
  CHECK(io.deadline_entries() <= 2 * io.pending() + 1024 + 2 * o.queue_limit);
}

namespace {

// A fake node for the Bridge: a ROUTER that welcomes it and keeps the correlations of its requests.
struct fake_node {
  zmq::context_t ctx;
  zmq::socket_t router{ctx, zmq::socket_type::router};
  std::string address;
  std::string client;  // the Bridge's routing id
  std::vector<std::uint64_t> requests;

  fake_node() {
    router.set(zmq::sockopt::linger, 0);
    router.set(zmq::sockopt::rcvtimeo, 20);
    router.bind("tcp://127.0.0.1:0");
    address = router.get(zmq::sockopt::last_endpoint);
  }
  void send(const std::string& frame) {
    REQUIRE(router.send(zmq::buffer(client), zmq::send_flags::sndmore));
    REQUIRE(router.send(zmq::buffer(frame), zmq::send_flags::none));
  }
  void read_one() {
    zmq::message_t id, m;
    if (!router.recv(id) || !id.more() || !router.recv(m)) return;
    client = id.to_string();
    auto oh = msgpack::unpack(static_cast<const char*>(m.data()), m.size());
    const auto& f = oh.get().via.array;
    msgpack::sbuffer b;
    msgpack::packer<msgpack::sbuffer> pk(b);
    switch (f.ptr[0].as<int>()) {
      case 1:  // HELLO: WELCOME
        pk.pack_array(6);
        pk.pack(2);
        pk.pack(1);
        pk.pack(std::string("fake"));
        pk.pack(address);
        pk.pack(7);
        pk.pack(1 << 20);
        send({b.data(), b.size()});
        break;
      case 4:  // PING: PONG
        pk.pack_array(3);
        pk.pack(5);
        pk.pack(f.ptr[1]);
        pk.pack(7);
        send({b.data(), b.size()});
        break;
      case 6:
        for (std::uint32_t i = 1; i < f.size; ++i) requests.push_back(f.ptr[i].via.array.ptr[3].as<std::uint64_t>());
        break;
      default:
        break;
    }
  }
  // An answer (kind 2, type actor.node.pong) with correlation `corr`.
  void reply(std::uint64_t corr) {
    msgpack::sbuffer b;
    msgpack::packer<msgpack::sbuffer> pk(b);
    pk.pack_array(2);
    pk.pack(6);
    pk.pack_array(7);
    pk.pack(2);
    pk.pack_nil();
    pk.pack_array(4);
    pk.pack(client);
    pk.pack(std::string());
    pk.pack(0);
    pk.pack(1);
    pk.pack(corr);
    pk.pack(0);
    pk.pack(std::string("actor.node.pong"));
    pk.pack_map(0);
    send({b.data(), b.size()});
  }
};

}  // namespace

TEST_CASE("the Bridge completes a call only with an answer from the node it was sent to", "[bridge_io][identity]") {
  fake_node asked, other;
  bridge_io io(bridge_io_options{});
  std::atomic<int> asked_done{0};
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  const auto corr = io.request({"fake", asked.address, 0, 0}, 1, "actor.node.ping", std::string("\x80", 1), deadline,
                               [&](actor::expected<actor::raw_message> r) { asked_done = r ? 1 : 2; });
  io.request({"fake", other.address, 0, 0}, 1, "actor.node.ping", std::string("\x80", 1), deadline,
             [](actor::expected<actor::raw_message>) {});
  REQUIRE(wait_until([&] {
    asked.read_one();
    other.read_one();
    return !asked.requests.empty() && !other.requests.empty();
  }));
  REQUIRE(asked.requests.front() == corr);

  other.reply(corr);  // another node answers the call to `asked`: dropped
  REQUIRE(wait_until([&] { return io.stray_replies() == 1; }));
  CHECK(asked_done.load() == 0);

  asked.reply(corr);
  REQUIRE(wait_until([&] { return asked_done.load() != 0; }));
  CHECK(asked_done.load() == 1);
  CHECK(io.stray_replies() == 1);
}
