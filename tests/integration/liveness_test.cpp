// Failure detection, recovery, restarts, shutdown and back-pressure between nodes.
#include <catch2/catch.hpp>

#include <zmq.hpp>

#include "actor/builtins.hpp"
#include "harness.hpp"
#include "test_actors.hpp"

using namespace itest;
using Catch::Matchers::Contains;
using steady = std::chrono::steady_clock;

namespace {

template <class Rep, class Period>
long long in_ms(std::chrono::duration<Rep, Period> d) {
  return std::chrono::duration_cast<ms>(d).count();
}

// Waits until the node at `address` has received at least `n` envelopes (its own stats).
bool node_received_at_least(local_node& me, const std::string& address, std::uint64_t n) {
  return poll_until(
      [&] {
        auto st = me.stats_at(address);
        return st && st->messages_received >= n;
      },
      5s);
}

// A request to a sink on a node that is then killed: the time from the kill to its node_down.
void check_kill_detection(node_process& proc, local_node& me, ms bound) {
  auto sink = me.spawn_at(proc.address(), "sink");
  REQUIRE(sink);
  auto before = me.stats_at(proc.address());
  REQUIRE(before);
  auto pending = me.sys.request<relayed>(*sink, hold{}, 60s);
  // the request has reached the node (it counts it, then this stats request)
  REQUIRE(node_received_at_least(me, proc.address(), before->messages_received + 2));
  REQUIRE(pending.wait_for(0s) == std::future_status::timeout);

  const auto killed_at = steady::now();
  REQUIRE(proc.kill());
  REQUIRE(pending.wait_for(bound) == std::future_status::ready);
  const auto detected_after = steady::now() - killed_at;
  auto r = pending.get();
  REQUIRE_FALSE(r);
  CHECK(r.error().code == actor::errc::node_down);
  INFO("node_down after " << in_ms(detected_after) << " ms");
  CHECK(detected_after < bound);

  auto st = proc.wait_exit(5s);
  REQUIRE(st);
  CHECK(st->signal == SIGKILL);
  CHECK(me.peer_state(proc.address()) == "down");

  // later requests fail at once, not at their deadline
  const auto asked_at = steady::now();
  auto again = me.ask<actor::ping_reply>(me.node.manager_at(proc.address()), actor::ping_request{}, 30s);
  REQUIRE_FALSE(again);
  CHECK(again.error().code == actor::errc::node_down);
  CHECK(steady::now() - asked_at < 1s);
}

}  // namespace

TEST_CASE("a SIGKILLed node fails the requests pending on it with node_down within down_after + 1 s",
          "[integration][liveness]") {
  node_process proc(fast_node_argv(test_node_path(), "doomed"));
  local_node me;
  check_kill_detection(proc, me, fast_down_after + 1s);
}

TEST_CASE("with the default liveness settings a SIGKILLed node is detected within 3 s", "[integration][liveness]") {
  node_process proc(node_argv(test_node_path(), "doomed-default"));
  actor::node_options defaults;
  defaults.name = "itest-defaults";
  REQUIRE(defaults.listen == "tcp://127.0.0.1:0");
  local_node me(defaults);
  check_kill_detection(proc, me, 3s * slowdown);
}

TEST_CASE("a SIGSTOPped node is detected as down and recovers after SIGCONT", "[integration][liveness]") {
  node_process proc(fast_node_argv(test_node_path(), "sleeper"));
  local_node me;
  const auto& addr = proc.address();
  auto sink = me.spawn_at(addr, "sink");
  auto counter = me.spawn_at(addr, "counter");
  REQUIRE(sink);
  REQUIRE(counter);
  REQUIRE(me.peer_state(addr) == "alive");

  auto pending = me.sys.request<relayed>(*sink, hold{}, 60s);
  const auto stopped_at = steady::now();
  REQUIRE(proc.stop());
  REQUIRE(pending.wait_for(fast_down_after + 1s) == std::future_status::ready);
  const auto detected_after = steady::now() - stopped_at;
  auto r = pending.get();
  REQUIRE_FALSE(r);
  CHECK(r.error().code == actor::errc::node_down);
  INFO("node_down after " << in_ms(detected_after) << " ms");
  CHECK(detected_after < fast_down_after + 1s);
  CHECK(me.peer_state(addr) == "down");

  auto while_stopped = me.ask<actor::counter_value>(*counter, actor::counter_get{}, 30s);
  REQUIRE_FALSE(while_stopped);
  CHECK(while_stopped.error().code == actor::errc::node_down);

  REQUIRE(proc.resume());
  // both sides hear from each other again within a few heartbeats; until then requests may fail
  const bool recovered = poll_until(
      [&] {
        auto v = me.ask<actor::counter_value>(*counter, actor::counter_incr{1}, 500ms);
        return v.has_value();
      },
      5s);
  REQUIRE(recovered);
  CHECK(me.peer_state(addr) == "alive");
  auto ping = me.ask<actor::ping_reply>(me.node.manager_at(addr), actor::ping_request{});
  REQUIRE(ping);
  CHECK(ping->incarnation == proc.incarnation());  // the same incarnation: not a restart
}

TEST_CASE("a ref to a restarted node's earlier incarnation answers no_such_actor, stale",
          "[integration][liveness][restart]") {
  auto first = std::make_unique<node_process>(fast_node_argv(actor_node_path(), "phoenix", {"--spawn", "counter:c"}));
  const std::string addr = first->address();
  const auto first_incarnation = first->incarnation();
  local_node me;
  auto old = me.lookup_at(addr, "c");
  REQUIRE(old);
  auto five = me.ask<actor::counter_value>(*old, actor::counter_incr{5});
  REQUIRE(five);
  CHECK(five->value == 5);

  first->kill_and_reap();
  first.reset();
  node_process second(fast_node_argv(actor_node_path(), "phoenix", {"--listen", addr, "--spawn", "counter:c"}));
  REQUIRE(second.address() == addr);
  REQUIRE(second.incarnation() != first_incarnation);

  // our node notices the new incarnation within a few heartbeats
  REQUIRE(poll_until(
      [&] {
        auto p = me.ask<actor::ping_reply>(me.node.manager_at(addr), actor::ping_request{}, 500ms);
        return p && p->incarnation == second.incarnation();
      },
      10s));

  auto stale = me.ask<actor::counter_value>(*old, actor::counter_get{});
  REQUIRE_FALSE(stale);
  CHECK(stale.error().code == actor::errc::no_such_actor);
  CHECK_THAT(stale.error().text, Contains("stale") && Contains("earlier incarnation"));

  auto fresh = me.lookup_at(addr, "c");
  REQUIRE(fresh);
  auto zero = me.ask<actor::counter_value>(*fresh, actor::counter_get{});
  REQUIRE(zero);
  CHECK(zero->value == 0);  // a new actor, not the old one's state
}

namespace {

// SIGTERM to a node whose forwarder has a request pending on `peer_address`.
void check_sigterm_with_unreachable_peer(const std::string& peer_address) {
  node_process proc(fast_node_argv(test_node_path(), "terminated", {"--spawn", "forwarder:fwd"}));
  local_node me;
  auto fwd = me.lookup_at(proc.address(), "fwd");
  REQUIRE(fwd);
  auto pending = me.sys.request<actor::ping_reply>(*fwd, relay_ping{me.node.manager_at(peer_address), 60000}, 60s);
  // the node is trying to reach the peer: it shows in its peers
  REQUIRE(poll_until(
      [&] {
        auto st = me.stats_at(proc.address());
        if (!st) return false;
        for (const auto& p : st->peers) {
          if (p.address == peer_address) return true;
        }
        return false;
      },
      5s));
  REQUIRE(pending.wait_for(0s) == std::future_status::timeout);

  const auto signalled_at = steady::now();
  REQUIRE(proc.terminate());
  auto st = proc.wait_exit(5s);
  const auto took = steady::now() - signalled_at;
  REQUIRE(st);
  INFO("exit after " << in_ms(took) << " ms");
  CHECK(st->describe() == "exited with code 0");
  CHECK(took < 5s);
  const auto log = proc.log();
  CHECK_THAT(log, Contains("event=stopping"));
  CHECK_THAT(log, Contains("event=stopped"));
  CHECK_THAT(log, !Contains("event=stop_timeout"));

  // the request the node could no longer answer fails (it does not hang until its deadline)
  REQUIRE(pending.wait_for(fast_down_after + 2s) == std::future_status::ready);
  auto r = pending.get();
  REQUIRE_FALSE(r);
  INFO(r.error().describe());
  CHECK((r.error().code == actor::errc::node_down || r.error().code == actor::errc::shutting_down ||
         r.error().code == actor::errc::actor_stopped));
}

}  // namespace

TEST_CASE("SIGTERM exits 0 within 5 s while a peer is SIGSTOPped", "[integration][liveness][shutdown]") {
  node_process peer(fast_node_argv(actor_node_path(), "frozen-peer"));
  REQUIRE(peer.stop());
  check_sigterm_with_unreachable_peer(peer.address());
}

TEST_CASE("SIGTERM exits 0 within 5 s while a peer's address has no listener", "[integration][liveness][shutdown]") {
  check_sigterm_with_unreachable_peer("tcp://127.0.0.1:" + std::to_string(unused_port()));
}

TEST_CASE("requests to a peer that never completes the handshake fail with overloaded past the queue limit, "
          "then with node_down",
          "[integration][liveness][overload]") {
  zmq::context_t ctx(1);
  zmq::socket_t silent(ctx, zmq::socket_type::router);  // accepts connections, never answers
  silent.set(zmq::sockopt::linger, 0);
  silent.set(zmq::sockopt::rcvtimeo, 5000);
  silent.bind("tcp://127.0.0.1:0");
  const std::string addr = silent.get(zmq::sockopt::last_endpoint);

  auto opts = fast_node_options("itest-overload");
  opts.peer_queue_limit = 4;
  local_node me(opts);
  auto target = me.node.manager_at(addr);

  std::vector<std::future<actor::expected<actor::ping_reply>>> fs;
  const auto sent_at = steady::now();
  for (int i = 0; i < 10; ++i) fs.push_back(me.sys.request<actor::ping_reply>(target, actor::ping_request{}, 60s));

  // the six over the limit fail at once
  for (std::size_t i = 4; i < fs.size(); ++i) {
    INFO("request " << i);
    REQUIRE(fs[i].wait_for(fast_down_after / 2) == std::future_status::ready);
    auto r = fs[i].get();
    REQUIRE_FALSE(r);
    CHECK(r.error().code == actor::errc::overloaded);
  }
  const auto overloaded_after = steady::now() - sent_at;
  CHECK(overloaded_after < fast_down_after);

  // the four queued ones fail when the handshake has not happened by down_after
  for (std::size_t i = 0; i < 4; ++i) {
    INFO("request " << i);
    REQUIRE(fs[i].wait_for(fast_down_after + 1s) == std::future_status::ready);
    auto r = fs[i].get();
    REQUIRE_FALSE(r);
    CHECK(r.error().code == actor::errc::node_down);
  }
  CHECK(steady::now() - sent_at < fast_down_after + 1s);

  auto stats = me.node.stats();
  CHECK(stats.dropped["overloaded"] == 6);
  CHECK(me.peer_state(addr) == "down");

  // the node did try: the silent socket got a HELLO [1, version, "node", ...]
  zmq::message_t id;
  zmq::message_t frame;
  REQUIRE(silent.recv(id));
  REQUIRE(id.more());
  REQUIRE(silent.recv(frame));
  auto oh = msgpack::unpack(static_cast<const char*>(frame.data()), frame.size());
  REQUIRE(oh.get().type == msgpack::type::ARRAY);
  REQUIRE(oh.get().via.array.size >= 3);
  CHECK(oh.get().via.array.ptr[0].as<int>() == 1);
  CHECK(oh.get().via.array.ptr[2].as<std::string>() == "node");
}
