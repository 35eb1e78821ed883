// Hostile input on a node's listening socket: counted, dropped, never a crash or unbounded memory.
#include <catch2/catch.hpp>

#include <random>

#include <msgpack.hpp>
#include <zmq.hpp>

#include "harness.hpp"
#include "test_actors.hpp"

using namespace itest;
using Catch::Matchers::Contains;

namespace {

using packer = msgpack::packer<msgpack::sbuffer>;
using steady = std::chrono::steady_clock;

template <class F>
std::string packed(F&& write) {
  msgpack::sbuffer b;
  packer pk(b);
  write(pk);
  return {b.data(), b.size()};
}

std::string hello_frame(std::uint32_t version, const std::string& role, const std::string& name) {
  return packed([&](packer& pk) {
    pk.pack_array(6);
    pk.pack(1);
    pk.pack(version);
    pk.pack(role);
    pk.pack(name);
    pk.pack(std::string(role == "node" ? "tcp://127.0.0.1:1" : ""));
    pk.pack(std::uint64_t{role == "node" ? 1u : 0u});
  });
}

// A node-side ref [node, address, incarnation, id].
void pack_ref(packer& pk, const std::string& node, const std::string& address, std::uint64_t incarnation,
              std::uint64_t id) {
  pk.pack_array(4);
  pk.pack(node);
  pk.pack(address);
  pk.pack(incarnation);
  pk.pack(id);
}

zmq::socket_t dealer(zmq::context_t& ctx, const std::string& address, const std::string& routing_id = {}) {
  zmq::socket_t s(ctx, zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 0);
  s.set(zmq::sockopt::rcvtimeo, 500);
  s.set(zmq::sockopt::sndtimeo, 5000);
  if (!routing_id.empty()) s.set(zmq::sockopt::routing_id, routing_id);
  s.connect(address);
  return s;
}

void send_frame(zmq::socket_t& s, const std::string& bytes) {
  REQUIRE(s.send(zmq::buffer(bytes), zmq::send_flags::none));
}

// Receives frames until one decodes to an array whose first element is `tag`, or `limit` passes.
std::optional<msgpack::object_handle> recv_tagged(zmq::socket_t& s, int tag, ms limit) {
  std::optional<msgpack::object_handle> out;
  poll_until(
      [&] {
        zmq::message_t m;
        if (!s.recv(m)) return false;  // rcvtimeo: try again until the deadline
        try {
          auto oh = msgpack::unpack(static_cast<const char*>(m.data()), m.size());
          const auto& o = oh.get();
          if (o.type == msgpack::type::ARRAY && o.via.array.size > 0 &&
              o.via.array.ptr[0].type == msgpack::type::POSITIVE_INTEGER && o.via.array.ptr[0].via.u64 == static_cast<std::uint64_t>(tag)) {
            out = std::move(oh);
            return true;
          }
        } catch (const std::exception&) {
        }
        return false;
      },
      limit);
  return out;
}

}  // namespace

TEST_CASE("garbage frames do not crash or balloon a node and show up in its stats", "[integration][robustness]") {
  node_process proc(node_argv(actor_node_path(), "target", {"--max-message-size", "65536"}));
  local_node me;
  const auto rss_before = proc.rss_kib();
  REQUIRE(rss_before);

  zmq::context_t ctx(1);
  std::uint64_t malformed_sent = 0;

  // 1. frames from a connection that never says HELLO
  auto raw = dealer(ctx, proc.address());
  {
    std::mt19937 rng(42);
    std::string random_bytes(256, '\0');
    for (auto& c : random_bytes) c = static_cast<char>(rng());
    const auto hello = hello_frame(1, "node", "x");
    const std::vector<std::string> garbage = {
        random_bytes,
        hello.substr(0, hello.size() / 2),                        // truncated MessagePack
        std::string("\xdd\xff\xff\xff\xff", 5),                   // array32 claiming 4 billion elements
        std::string("\xdf\xff\xff\xff\xff", 5),                   // map32 claiming 4 billion pairs
        std::string("\xdb\xff\xff\xff\xff", 5) + "abc",           // str32 claiming 4 GiB
        std::string("\xc6\xff\xff\xff\xff", 5) + "abc",           // bin32 claiming 4 GiB
        std::string(10000, '\x91') + std::string(1, '\xc0'),       // 10000 nested arrays
        packed([](packer& pk) {                                   // HELLO with wrong types
          pk.pack_array(6);
          pk.pack(1);
          pk.pack("one");
          pk.pack(2);
          pk.pack(3);
          pk.pack(4);
          pk.pack(5);
        }),
        packed([](packer& pk) {  // an unknown frame tag
          pk.pack_array(2);
          pk.pack(99);
          pk.pack(1);
        }),
        packed([](packer& pk) { pk.pack(std::string("not an array")); }),
        std::string(),  // an empty frame
    };
    for (const auto& g : garbage) send_frame(raw, g);
    malformed_sent += garbage.size();

    // a frame of two parts
    REQUIRE(raw.send(zmq::buffer(std::string("\x91\x01", 2)), zmq::send_flags::sndmore));
    REQUIRE(raw.send(zmq::buffer(std::string("\x91\x01", 2)), zmq::send_flags::none));
    malformed_sent += 1;

    // many frames near the size limit that claim huge containers
    std::string bomb("\xdd\xff\xff\xff\xff", 5);
    bomb += std::string(60000, '\xdf');  // each element a map32 header's first byte
    for (int i = 0; i < 200; ++i) send_frame(raw, bomb);
    malformed_sent += 200;

    // a HELLO with protocol version 99 is refused with [3, 1, reason]; it comes after
    // all of the above on this connection, so the node has read those by then
    send_frame(raw, hello_frame(99, "node", "intruder"));
    auto refuse = recv_tagged(raw, 3, 10s);
    REQUIRE(refuse);
    const auto& r = refuse->get();
    REQUIRE(r.via.array.size == 3);
    CHECK(r.via.array.ptr[1].as<int>() == 1);
    CHECK_THAT(r.via.array.ptr[2].as<std::string>(), Contains("99"));
  }

  // 2. a client that completes the handshake, then sends envelopes with wrong types
  auto client = dealer(ctx, proc.address(), "itest-client");
  {
    send_frame(client, hello_frame(1, "client", "itest-client"));
    auto welcome = recv_tagged(client, 2, 10s);
    REQUIRE(welcome);
    const auto& w = welcome->get();
    REQUIRE(w.via.array.size >= 5);  // WELCOME may carry max_message_size too
    const auto node_name = w.via.array.ptr[2].as<std::string>();
    const auto node_addr = w.via.array.ptr[3].as<std::string>();
    const auto incarnation = w.via.array.ptr[4].as<std::uint64_t>();
    CHECK(node_name == "target");
    CHECK(node_addr == proc.address());
    CHECK(incarnation == proc.incarnation());

    auto batch = packed([&](packer& pk) {
      pk.pack_array(5);
      pk.pack(6);
      // an envelope whose fields have the wrong types
      pk.pack_array(7);
      pk.pack(0);
      pk.pack_nil();
      pk.pack(std::string("not a ref"));
      pk.pack(std::string("x"));
      pk.pack(-1);
      pk.pack(5);
      pk.pack_map(0);
      // not even an array
      pk.pack(42);
      // a well-formed request to the manager whose body does not fit spawn_request
      pk.pack_array(7);
      pk.pack(1);
      pack_ref(pk, "anyone", "", 0, 7);
      pack_ref(pk, node_name, node_addr, incarnation, 0);
      pk.pack(1);
      pk.pack(5000);
      pk.pack(std::string("actor.node.spawn"));
      pk.pack_map(1);
      pk.pack(std::string("type"));
      pk.pack(42);
      // a good ping, answered after the above
      pk.pack_array(7);
      pk.pack(1);
      pack_ref(pk, "anyone", "", 0, 8);
      pack_ref(pk, node_name, node_addr, incarnation, 0);
      pk.pack(2);
      pk.pack(5000);
      pk.pack(std::string("actor.node.ping"));
      pk.pack_map(0);
    });
    send_frame(client, batch);
    malformed_sent += 2;

    // both requests are answered: correlation 1 with bad_message, 2 with a pong
    std::map<std::uint64_t, std::pair<std::string, msgpack::object_handle>> answers;
    poll_until(
        [&] {
          auto f = recv_tagged(client, 6, 500ms);
          if (!f) return answers.size() == 2;
          const auto& b = f->get();
          for (std::uint32_t i = 1; i < b.via.array.size; ++i) {
            const auto& e = b.via.array.ptr[i];
            if (e.type != msgpack::type::ARRAY || e.via.array.size != 7) continue;
            const auto corr = e.via.array.ptr[3].as<std::uint64_t>();
            msgpack::object_handle body(msgpack::clone(e.via.array.ptr[6]));
            answers[corr] = {e.via.array.ptr[5].as<std::string>(), std::move(body)};
          }
          return answers.size() == 2;
        },
        10s);
    REQUIRE(answers.count(1) == 1);
    REQUIRE(answers.count(2) == 1);
    CHECK(answers[1].first == "actor.error");
    auto err = answers[1].second.get().as<std::map<std::string, msgpack::object>>();
    CHECK(err.at("code").as<int>() == static_cast<int>(actor::errc::bad_message));
    CHECK(answers[2].first == "actor.node.pong");
    auto pong = answers[2].second.get().as<std::map<std::string, msgpack::object>>();
    CHECK(pong.at("incarnation").as<std::uint64_t>() == proc.incarnation());
  }

  // 3. a message over --max-message-size: the connection is dropped (by ZeroMQ); a
  //    HELLO sent afterwards is answered once the node has dealt with it
  auto big = dealer(ctx, proc.address());
  {
    send_frame(big, std::string(70000, '\x01'));
    const bool answered = poll_until(
        [&] {
          if (!big.send(zmq::buffer(hello_frame(99, "node", "big")), zmq::send_flags::dontwait)) return false;
          return recv_tagged(big, 3, 500ms).has_value();
        },
        10s);
    CHECK(answered);
  }

  // the node still works, and counted what it dropped
  auto ping = me.ask<actor::ping_reply>(me.node.manager_at(proc.address()), actor::ping_request{});
  REQUIRE(ping);
  CHECK(ping->node == "target");
  auto stats = me.stats_at(proc.address());
  REQUIRE(stats);
  INFO("decode_errors " << stats->decode_errors << ", dropped[malformed] " << stats->dropped["malformed"]
                        << ", sent " << malformed_sent);
  CHECK(stats->dropped["malformed"] >= malformed_sent);
  CHECK(stats->decode_errors >= malformed_sent + 1);  // + the spawn_request body that did not fit

  const auto rss_after = proc.rss_kib();
  REQUIRE(rss_after);
  INFO("VmRSS before " << *rss_before << " KiB, after " << *rss_after << " KiB");
  // a sanitizer's shadow memory and quarantine raise the node's baseline (ASan at -O1: ~100 MB
  // before any frame), not what the frames cost: the growth is the bound that matters
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  constexpr long rss_limit_kib = 200 * 1024;
#else
  constexpr long rss_limit_kib = 100 * 1024;
#endif
  CHECK(*rss_after < rss_limit_kib);
  CHECK(*rss_after - *rss_before < 50 * 1024);

  REQUIRE(proc.terminate());
  auto st = proc.wait_exit(5s);
  REQUIRE(st);
  CHECK(st->describe() == "exited with code 0");
}

TEST_CASE("a request with an absurdly long ttl_ms is answered, not silently dropped",
          "[integration][robustness][regression]") {
  // Regression test for a bug fixed in (router.cpp, deliver_inbound): `now + milliseconds(ttl_ms)` overflows for a
  // ttl_ms above ~2^43 (signed overflow in the conversion to nanoseconds, UB); the
  // deadline lands in the past and the actor drops the request without an answer.
  node_process proc(node_argv(actor_node_path(), "ttl-node"));
  zmq::context_t ctx(1);
  auto client = dealer(ctx, proc.address(), "itest-ttl");
  send_frame(client, hello_frame(1, "client", "itest-ttl"));
  auto welcome = recv_tagged(client, 2, 10s);
  REQUIRE(welcome);
  const auto& w = welcome->get();
  REQUIRE(w.via.array.size >= 5);  // [2, version, node, address, incarnation, max_message_size]
  const auto node_name = w.via.array.ptr[2].as<std::string>();
  const auto incarnation = w.via.array.ptr[4].as<std::uint64_t>();

  std::uint64_t correlation = 0;
  for (const std::uint64_t ttl : {std::uint64_t{5000}, std::uint64_t{1} << 40, std::uint64_t{1} << 50,
                                  std::uint64_t{1} << 62, ~std::uint64_t{0}}) {
    ++correlation;
    send_frame(client, packed([&](packer& pk) {
                 pk.pack_array(2);
                 pk.pack(6);
                 pk.pack_array(7);
                 pk.pack(1);
                 pack_ref(pk, "anyone", "", 0, correlation);
                 pack_ref(pk, node_name, proc.address(), incarnation, 0);
                 pk.pack(correlation);
                 pk.pack(ttl);
                 pk.pack(std::string("actor.node.ping"));
                 pk.pack_map(0);
               }));
    // the answer: a pong, or an error saying the ttl is not acceptable
    std::string type;
    poll_until(
        [&] {
          auto f = recv_tagged(client, 6, 200ms);
          if (!f) return false;
          const auto& b = f->get();
          for (std::uint32_t i = 1; i < b.via.array.size; ++i) {
            const auto& e = b.via.array.ptr[i];
            if (e.type == msgpack::type::ARRAY && e.via.array.size == 7 &&
                e.via.array.ptr[3].as<std::uint64_t>() == correlation) {
              type = e.via.array.ptr[5].as<std::string>();
            }
          }
          return !type.empty();
        },
        3s);
    INFO("ttl_ms " << ttl);
    CHECK((type == "actor.node.pong" || type == "actor.error"));
  }
}

TEST_CASE("a node that has talked to more than 1023 peers that went away can still reach a new one",
          "[integration][robustness][regression]") {
  // Regression test for a bug fixed in (transport.cpp): a peer, once known, is never forgotten: a down peer keeps its
  // DEALER (reconnecting forever) and its entry in peers_. A long-running node that has
  // talked to many nodes that are gone (restarts on new ports, crashed clients) runs into
  // ZeroMQ's 1023 sockets per context: open_dealer throws "Too many open files", the I/O
  // loop logs io_error, the rest of that outbound batch is lost (those requests time out
  // instead of failing), and no new peer can be reached.
  local_node me;
  // held for the whole test: a test running in parallel cannot start a node on one of them
  std::vector<reserved_port> ports(1100);
  std::vector<std::future<actor::expected<actor::ping_reply>>> fs;
  for (const auto& reserved : ports) {
    const auto port = reserved.port();
    // the deadline is past the down bound, so each ends in node_down, not timeout
    fs.push_back(me.sys.request<actor::ping_reply>(me.node.manager_at("tcp://127.0.0.1:" + std::to_string(port)),
                                                   actor::ping_request{}, fast_down_after + 3s));
  }
  std::size_t node_down = 0;
  for (auto& f : fs) {
    REQUIRE(f.wait_for(fast_down_after + 10s) == std::future_status::ready);
    auto r = f.get();
    if (!r && r.error().code == actor::errc::node_down) ++node_down;
  }
  CHECK(node_down == ports.size());

  node_process newcomer(node_argv(actor_node_path(), "newcomer"));
  // The newcomer's port may be one of those just found down: a down peer fails requests at
  // once until it is heard from again (within a heartbeat), so ask until a deadline.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  auto ping = me.ask<actor::ping_reply>(me.node.manager_at(newcomer.address()), actor::ping_request{}, 3s);
  while (!ping && ping.error().code == actor::errc::node_down && std::chrono::steady_clock::now() < deadline) {
    ping = me.ask<actor::ping_reply>(me.node.manager_at(newcomer.address()), actor::ping_request{}, 3s);
  }
  INFO((ping ? std::string("ping answered") : ping.error().describe()));
  CHECK(ping);
}

TEST_CASE("a node sends repeat envelopes only to a node whose WELCOME lists them", "[integration][robustness]") {
  for (const bool offered : {false, true}) {
    DYNAMIC_SECTION("the peer's WELCOME " << (offered ? "lists" : "does not list") << " feature 1") {
      // a fake node: a ROUTER that welcomes the real node's DEALER and reads what it sends
      zmq::context_t ctx;
      zmq::socket_t fake(ctx, zmq::socket_type::router);
      fake.set(zmq::sockopt::linger, 0);
      fake.set(zmq::sockopt::rcvtimeo, 500);
      fake.bind("tcp://127.0.0.1:0");
      const std::string address = fake.get(zmq::sockopt::last_endpoint);
      auto recv_routed = [&](std::string& id, zmq::message_t& frame) {
        zmq::message_t rid;
        if (!fake.recv(rid)) return false;
        id = rid.to_string();
        return rid.more() && fake.recv(frame).has_value();
      };

      local_node me;
      auto target = me.node.service_at(address, 5);
      // three runs of seq 0..n-1: sent from outside any actor, then by an actor (whose sends gather
      // in its outbox, as repeats), both held until WELCOME; then by the actor once the peer is alive
      constexpr std::uint64_t n = 300;
      for (std::uint64_t i = 0; i < n; ++i) me.sys.send(target, itest::seq_msg{i});
      auto bursts = me.sys.spawn<itest::burst_actor>();
      me.sys.send(bursts, itest::burst{target, n});

      std::string id;
      bool hello = false;
      REQUIRE(poll_until(
          [&] {
            zmq::message_t m;
            if (!recv_routed(id, m)) return false;
            auto oh = msgpack::unpack(static_cast<const char*>(m.data()), m.size());
            hello = oh.get().via.array.ptr[0].as<int>() == 1;
            return hello;
          },
          10s));
      const auto welcome = packed([&](packer& pk) {
        pk.pack_array(offered ? 7 : 6);
        pk.pack(2);
        pk.pack(1);
        pk.pack(std::string("fake"));
        pk.pack(address);
        pk.pack(std::uint64_t{77});
        pk.pack(std::uint64_t{1} << 20);
        if (offered) pk.pack(1);
      });
      REQUIRE(fake.send(zmq::buffer(id), zmq::send_flags::sndmore));
      REQUIRE(fake.send(zmq::buffer(welcome), zmq::send_flags::none));

      // reads BATCH frames until `want` seq messages came: counts full envelopes and repeats, checks the order
      std::uint64_t got = 0;
      std::size_t full = 0, repeats = 0, others = 0;
      bool in_order = true;
      auto read_seqs = [&](std::uint64_t want) {
        poll_until(
            [&] {
              zmq::message_t m;
              if (!recv_routed(id, m)) return false;
              auto oh = msgpack::unpack(static_cast<const char*>(m.data()), m.size());
              const auto& frame = oh.get().via.array;
              if (frame.ptr[0].as<int>() != 6) return false;  // not a BATCH (a PING)
              std::string type;
              for (std::uint32_t i = 1; i < frame.size; ++i) {
                const auto& e = frame.ptr[i].via.array;
                if (e.size == 7) {
                  ++full;
                  type = e.ptr[5].as<std::string>();
                } else {
                  REQUIRE(e.size == 4);
                  REQUIRE_FALSE(type.empty());  // a repeat follows the full envelope it repeats
                  ++repeats;
                }
                if (type != "itest.seq") {  // the burst's closing seq_check
                  ++others;
                  continue;
                }
                in_order = in_order && e.ptr[e.size - 1].as<itest::seq_msg>().seq == got % n;
                ++got;
              }
              return got >= want;
            },
            10s);
      };
      read_seqs(2 * n);
      CHECK(got == 2 * n);
      REQUIRE(poll_until([&] { return me.peer_state(address) == "alive"; }, 10s));
      me.sys.send(bursts, itest::burst{target, n});
      read_seqs(3 * n);
      CHECK(got == 3 * n);
      CHECK(in_order);
      if (offered) {
        CHECK(repeats >= 3 * n - 10);  // a full envelope starts each BATCH frame
      } else {
        CHECK(repeats == 0);
        CHECK(full == 3 * n + others);
      }
    }
  }
}

namespace {

// A fake node: a ROUTER on 127.0.0.1 that reads the real node's frames and answers them by hand.
struct fake_node {
  zmq::context_t ctx;
  zmq::socket_t router{ctx, zmq::socket_type::router};
  std::string address;
  std::string peer_id;  // the real node's routing id, from its first frame

  fake_node() {
    router.set(zmq::sockopt::linger, 0);
    router.set(zmq::sockopt::rcvtimeo, 100);
    router.bind("tcp://127.0.0.1:0");
    address = router.get(zmq::sockopt::last_endpoint);
  }
  // the next frame with this tag (others skipped), within limit
  std::optional<msgpack::object_handle> next(int tag, ms limit) {
    std::optional<msgpack::object_handle> out;
    poll_until(
        [&] {
          zmq::message_t id, frame;
          if (!router.recv(id) || !id.more() || !router.recv(frame)) return false;
          peer_id = id.to_string();
          auto oh = msgpack::unpack(static_cast<const char*>(frame.data()), frame.size());
          if (oh.get().via.array.ptr[0].as<int>() != tag) return false;
          out = std::move(oh);
          return true;
        },
        limit);
    return out;
  }
  void send(const std::string& frame) {
    REQUIRE(router.send(zmq::buffer(peer_id), zmq::send_flags::sndmore));
    REQUIRE(router.send(zmq::buffer(frame), zmq::send_flags::none));
  }
  std::string welcome(std::uint64_t incarnation) const {
    return packed([&](packer& pk) {
      pk.pack_array(6);
      pk.pack(2);
      pk.pack(1);
      pk.pack(std::string("fake"));
      pk.pack(address);
      pk.pack(incarnation);
      pk.pack(std::uint64_t{1} << 20);
    });
  }
};

}  // namespace

TEST_CASE("a node refused by a peer fails messages to it at once and says HELLO again with backoff until welcomed",
          "[integration][robustness][refused]") {
  fake_node fake;
  local_node me;
  auto target = me.node.service_at(fake.address, 5);
  me.sys.send(target, itest::seq_msg{0});
  REQUIRE(fake.next(1, 10s));
  fake.send(packed([](packer& pk) {
    pk.pack_array(3);
    pk.pack(3);
    pk.pack(1);
    pk.pack(std::string("protocol version 1 is not supported (this node speaks 2)"));
  }));
  const auto refused_at = steady::now();
  REQUIRE(poll_until([&] { return me.peer_state(fake.address) == "refused"; }, 5s));
  // meanwhile: node_down at once, without a new socket or handshake per message
  const auto start = steady::now();
  auto r = me.stats_at(fake.address);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == actor::errc::node_down);
  CHECK(steady::now() - start < 500ms);
  // the retry: HELLO again about a heartbeat after the refusal (not never, not at once)
  REQUIRE(fake.next(1, 5s * slowdown));
  const auto gap = steady::now() - refused_at;
  CHECK(gap >= fast_heartbeat / 2);
  fake.send(fake.welcome(77));
  REQUIRE(poll_until([&] { return me.peer_state(fake.address) == "alive"; }, 5s));
  me.sys.send(target, itest::seq_msg{1});
  CHECK(fake.next(6, 5s));  // a BATCH: the peer is talked to again
}

TEST_CASE("a peer whose PONG shows a new incarnation fails the requests in flight to it at once with node_down",
          "[integration][robustness][restarted]") {
  fake_node fake;
  local_node me;
  me.sys.send(me.node.service_at(fake.address, 5), itest::seq_msg{0});
  REQUIRE(fake.next(1, 10s));
  fake.send(fake.welcome(77));
  REQUIRE(poll_until([&] { return me.peer_state(fake.address) == "alive"; }, 5s));
  auto pending = me.sys.request<actor::node_stats>(me.node.manager_at(fake.address), actor::stats_request{}, 30s);
  REQUIRE(fake.next(6, 5s));  // the request went out; the fake never answers it
  const auto start = steady::now();
  fake.send(packed([](packer& pk) {  // a PONG from another run
    pk.pack_array(3);
    pk.pack(5);
    pk.pack(0);
    pk.pack(std::uint64_t{78});
  }));
  REQUIRE(pending.wait_for(5s) == std::future_status::ready);
  auto r = pending.get();
  REQUIRE_FALSE(r);
  CHECK(r.error().code == actor::errc::node_down);
  CHECK_THAT(r.error().text, Contains("restarted"));
  CHECK(steady::now() - start < 1s);
  CHECK(me.node.stats().dropped.count("restarted") == 1);  // the reason is reported, 0 or more
}

TEST_CASE("a node's request to an address whose host cannot be resolved fails at once with node_down naming the host",
          "[integration][robustness][resolve]") {
  local_node me;
  for (int i = 0; i < 2; ++i) {  // the first, which tried, and the next, while the peer is refused
    const auto start = steady::now();
    auto r = me.stats_at("tcp://nosuchhost.invalid:7100");
    REQUIRE_FALSE(r);
    CHECK(r.error().code == actor::errc::node_down);
    CHECK_THAT(r.error().text, Contains("cannot resolve nosuchhost.invalid"));
    CHECK(steady::now() - start < 1s);
  }
  CHECK(me.peer_state("tcp://nosuchhost.invalid:7100") == "refused");
}

TEST_CASE("envelopes queued for a peer's previous run are dropped and counted as restarted when it restarts",
          "[integration][robustness][restarted]") {
  fake_node fake;
  fake.router.set(zmq::sockopt::rcvhwm, 1);
  // the fake answers no PING while it reads nothing: a down bound long enough that silence does not
  // drop the queue first (as node_down) on a slow machine or under a sanitizer
  auto opts = fast_node_options("itest");
  opts.suspect_after = 30s;
  opts.down_after = 60s;
  local_node me(opts);
  auto target = me.node.service_at(fake.address, 5);
  me.sys.send(target, itest::seq_msg{0});
  REQUIRE(fake.next(1, 10s));
  fake.send(fake.welcome(77));
  REQUIRE(poll_until([&] { return me.peer_state(fake.address) == "alive"; }, 5s));
  // the fake reads no more: ZeroMQ's queues and the socket buffers fill, and the rest waits in the node
  const std::string body(64 << 10, 'x');
  for (int i = 0; i < 600; ++i) me.sys.send(target, itest::note{body});
  std::uint64_t sent = 0;
  REQUIRE(poll_until(
      [&] {  // the node's I/O thread took them all: frames_sent stops growing well short of 600
        const auto now = me.node.stats().frames_sent;
        const bool still = now == sent;
        sent = now;
        return still && now > 0;
      },
      10s));
#if defined(__SANITIZE_ADDRESS__)
  // under ASan the node drains its queue into ZeroMQ at another pace than the poll above sees, so
  // whether anything still waits when the PONG comes is luck (seen: nothing, twice); the plain and
  // TSan builds check it
  WARN("not checked under ASan: whether envelopes still wait in the node is a matter of timing here");
  return;
#endif
  if (sent > 600) {
    // every frame went into ZeroMQ and the kernel (seen under ASan, whose slower node lets the
    // fake's I/O thread drain them): nothing waits in the node, so there is nothing to count
    WARN("the node handed all " << sent << " frames to ZeroMQ: nothing was left queued; not checked");
    return;
  }
  const auto before = me.node.stats().dropped["restarted"];
  fake.send(packed([](packer& pk) {  // a PONG from another run (the ROUTER's outbound queue is free)
    pk.pack_array(3);
    pk.pack(5);
    pk.pack(0);
    pk.pack(std::uint64_t{78});
  }));
  CHECK(poll_until([&] { return me.node.stats().dropped["restarted"] > before; }, 5s));
}
