// The C++ Bridge's monitors (bridge::monitor, monitor_handle) against real node processes:
// each down comes exactly once with its reason (stopped, crashed, node_down, node_restarted,
// noproc), and none after cancel.
#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "actor/bridge.hpp"
#include "actor/builtins.hpp"
#include "harness.hpp"
#include "test_actors.hpp"

using namespace itest;
using Catch::Matchers::Contains;
using steady = std::chrono::steady_clock;
using actor::down_reason;
using actor::errc;

namespace {

actor::bridge_options fast_bridge(const std::string& name = "monitor-bridge", ms down_after = fast_down_after) {
  actor::bridge_options o;
  o.name = name;
  o.heartbeat = fast_heartbeat;
  o.down_after = down_after;
  return o;
}

// Every reason a handle's callback got, in order.
struct recorder {
  std::mutex mu;
  std::vector<down_reason> got;
  auto fn() {
    return [this](const down_reason& r) {
      std::lock_guard lk(mu);
      got.push_back(r);
    };
  }
  std::size_t count() {
    std::lock_guard lk(mu);
    return got.size();
  }
};

long long ms_since(steady::time_point t) {
  return std::chrono::duration_cast<ms>(steady::now() - t).count();
}

}  // namespace

TEST_CASE("a bridge monitor hears a stopped actor once, by wait and by callback", "[integration][bridge][monitor]") {
  node_process proc(fast_node_argv(actor_node_path(), "mon-node"));
  actor::bridge b(fast_bridge());
  auto c = b.spawn(proc.address(), "counter", "watched", {}, 5s);
  REQUIRE(c);
  // by name: resolved on the node first
  auto m = b.monitor("watched@" + proc.address(), 5s);
  REQUIRE(m);
  CHECK(m->target().id() == c->id());
  recorder calls;
  m->on_down(calls.fn());
  auto none = m->wait(ms(100));
  REQUIRE_FALSE(none);
  CHECK(none.error().code == errc::timeout);  // nothing yet: the monitor stays
  CHECK(b.monitors() == 1);

  // the monitor reaches the actor before the stop does: both go on the one connection, in order
  REQUIRE(b.stop({*c}, 5s).front());
  auto r = m->wait(5s);
  REQUIRE(r);
  CHECK(r->what == down_reason::kind::stopped);
  CHECK(m->done());
  REQUIRE(poll_until([&] { return calls.count() == 1; }, 5s));
  CHECK(calls.got.front() == *r);
  CHECK(b.monitors() == 0);
  // a second wait gives the same reason at once; the callback is not called again
  auto again = m->wait(ms(0));
  REQUIRE(again);
  CHECK(*again == *r);
  recorder late;
  m->on_down(late.fn());  // already done: called at once, on this thread
  CHECK(late.count() == 1);
  CHECK(calls.count() == 1);
}

TEST_CASE("a bridge monitor hears a crash with the exception's text and type", "[integration][bridge][monitor]") {
  node_process proc(fast_node_argv(test_node_path(), "crash-mon"));
  actor::bridge b(fast_bridge());
  auto c = b.spawn(proc.address(), "crasher", "", {}, 5s);
  REQUIRE(c);
  auto m = b.monitor(*c, 5s);
  REQUIRE(m);
  auto boom = b.call<relayed>(*c, itest::boom{}, 5s);
  REQUIRE_FALSE(boom);
  auto r = m->wait(5s);
  REQUIRE(r);
  CHECK(r->what == down_reason::kind::crashed);
  CHECK_THAT(r->text, Catch::Matchers::EndsWith("boom"));  // the exception's message, in the core's words
  CHECK(r->error_type == "std::runtime_error");
  CHECK(r->describe() == "crashed: " + r->text);
}

TEST_CASE("a cancelled bridge monitor hears nothing, and the target forgets it", "[integration][bridge][monitor]") {
  node_process proc(fast_node_argv(actor_node_path(), "cancel-node"));
  actor::bridge b(fast_bridge());
  auto c = b.spawn(proc.address(), "counter", "", {}, 5s);
  REQUIRE(c);
  recorder calls;
  {
    auto m = b.monitor(*c, 5s);
    REQUIRE(m);
    m->on_down(calls.fn());
    CHECK(m->cancel());
    CHECK_FALSE(m->cancel());  // once
    auto r = m->wait(ms(0));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::shutting_down);
  }
  // a monitor destroyed without cancel() is cancelled too
  { REQUIRE(b.monitor(*c, 5s)); }
  CHECK(b.monitors() == 0);
  auto kept = b.monitor(*c, 5s);  // sent after the demonitors, on the same connection
  REQUIRE(kept);
  REQUIRE(b.stop({*c}, 5s).front());
  auto r = kept->wait(5s);
  REQUIRE(r);
  CHECK(r->what == down_reason::kind::stopped);
  CHECK(calls.count() == 0);
}

TEST_CASE("a bridge monitor of a name nobody holds fails at once with no_such_actor", "[integration][bridge][monitor]") {
  node_process proc(fast_node_argv(actor_node_path(), "noname-node"));
  actor::bridge b(fast_bridge());
  const auto start = steady::now();
  auto m = b.monitor("nobody@" + proc.address(), 5s);
  REQUIRE_FALSE(m);
  CHECK(m.error().code == errc::no_such_actor);
  CHECK(ms_since(start) < 2000);
  auto bad = b.monitor("a@b@c#x", 5s);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == errc::bad_message);
}

TEST_CASE("a bridge monitor of an actor that is gone hears noproc from its node",
          "[integration][bridge][monitor][noproc]") {
  // the node answers actor.monitor for a missing target (net/router_watch.cpp)
  node_process proc(fast_node_argv(actor_node_path(), "noproc-node"));
  actor::bridge b(fast_bridge());
  auto c = b.spawn(proc.address(), "counter", "", {}, 5s);
  REQUIRE(c);
  REQUIRE(b.stop({*c}, 5s).front());
  auto m = b.monitor(*c, 5s);
  REQUIRE(m);
  auto r = m->wait(3s);
  REQUIRE(r);
  CHECK(r->what == down_reason::kind::noproc);
}

TEST_CASE("a node SIGKILLed completes its bridge monitors with node_down within the down bound",
          "[integration][bridge][monitor][liveness]") {
  node_process proc(fast_node_argv(actor_node_path(), "doomed-mon"));
  actor::bridge b(fast_bridge());
  std::vector<actor::monitor_handle> handles;
  for (int i = 0; i < 20; ++i) {
    auto c = b.spawn(proc.address(), "counter", "", {}, 5s);
    REQUIRE(c);
    auto m = b.monitor(*c, 5s);
    REQUIRE(m);
    handles.push_back(std::move(*m));
  }
  REQUIRE(b.ping(proc.address(), 5s));  // the monitors are on their way before the kill
  const auto killed = steady::now();
  proc.kill_and_reap();
  for (auto& m : handles) {
    auto r = m.wait(fast_down_after + 2s);
    REQUIRE(r);
    CHECK(r->what == down_reason::kind::node_down);
    CHECK_THAT(r->text, Contains(proc.address()));
  }
  const auto took = ms_since(killed);
  INFO("last node_down " << took << " ms after the kill");
  CHECK(took < (fast_down_after + fast_heartbeat * 3).count());
  CHECK(b.monitors() == 0);
  // a monitor made now, while the node is known to be down, completes with node_down at once
  auto late = b.monitor(handles.front().target(), 5s);
  REQUIRE(late);
  auto r = late->wait(ms(0));
  REQUIRE(r);
  CHECK(r->what == down_reason::kind::node_down);
}

TEST_CASE("a node restarted at the same address completes its bridge monitors with node_restarted",
          "[integration][bridge][monitor][liveness]") {
  const auto port = unused_port();
  const std::string listen = "tcp://127.0.0.1:" + std::to_string(port);
  // a down bound the restart fits in: the Bridge sees the new incarnation before any silence
  actor::bridge b(fast_bridge("restart-bridge", ms(10000)));
  std::optional<actor::monitor_handle> m;
  recorder calls;
  std::uint64_t first_incarnation = 0;
  {
    node_process first(fast_node_argv(actor_node_path(), "phoenix-mon", {"--listen", listen}));
    first_incarnation = first.incarnation();
    auto c = b.spawn(listen, "counter", "", {}, 5s);
    REQUIRE(c);
    auto made = b.monitor(*c, 5s);
    REQUIRE(made);
    m.emplace(std::move(*made));
    m->on_down(calls.fn());
    REQUIRE(b.ping(listen, 5s));
    first.kill_and_reap();
  }
  node_process second(fast_node_argv(actor_node_path(), "phoenix-mon", {"--listen", listen}));
  REQUIRE(second.incarnation() != first_incarnation);
  auto r = m->wait(8s);
  REQUIRE(r);
  CHECK(r->what == down_reason::kind::node_restarted);
  REQUIRE(poll_until([&] { return calls.count() == 1; }, 2s));
  // the new run is served, and monitored, as any node
  auto c2 = b.spawn(listen, "counter", "", {}, 5s);
  REQUIRE(c2);
  auto m2 = b.monitor(*c2, 5s);
  REQUIRE(m2);
  REQUIRE(b.stop({*c2}, 5s).front());
  auto r2 = m2->wait(5s);
  REQUIRE(r2);
  CHECK(r2->what == down_reason::kind::stopped);
  CHECK(calls.count() == 1);
}

// The Bridge still speaks to the old run when it monitors an actor of the new one: the new run
// drops that monitor (it does not know the client yet); the Bridge sends it again when it sees
// the restart, and the actor's real reason comes (it once never came).
TEST_CASE("a bridge monitor of the new run sent before the restart was seen hears its real down",
          "[integration][bridge][monitor][liveness]") {
  const auto port = unused_port();
  const std::string listen = "tcp://127.0.0.1:" + std::to_string(port);
  actor::bridge b(fast_bridge("newrun-bridge", ms(10000)));
  std::optional<actor::monitor_handle> old;
  {
    node_process first(fast_node_argv(actor_node_path(), "newrun-mon", {"--listen", listen}));
    auto c = b.spawn(listen, "counter", "", {}, 5s);
    REQUIRE(c);
    auto made = b.monitor(*c, 5s);
    REQUIRE(made);
    old.emplace(std::move(*made));
    REQUIRE(old->sync(5s));
    first.kill_and_reap();
  }
  node_process second(fast_node_argv(actor_node_path(), "newrun-mon", {"--listen", listen}));
  actor::bridge other(fast_bridge("newrun-other"));
  auto fresh = other.spawn(listen, "counter", "", {}, 5s);
  REQUIRE(fresh);
  auto m = b.monitor(*fresh, 5s);
  REQUIRE(m);
  if (!m->sync(5s)) REQUIRE(m->sync(5s));  // the ping may be the request that meets the restart
  auto r_old = old->wait(5s);
  REQUIRE(r_old);
  CHECK(r_old->what == down_reason::kind::node_restarted);
  CHECK_FALSE(m->done());
  REQUIRE(other.stop({*fresh}, 5s).front());
  auto r = m->wait(5s);
  REQUIRE(r);
  CHECK(r->what == down_reason::kind::stopped);
}

TEST_CASE("a node frozen past the bridge's down bound gives node_down once; nothing more when it resumes",
          "[integration][bridge][monitor][liveness]") {
  node_process proc(fast_node_argv(actor_node_path(), "frozen-mon"));
  actor::bridge b(fast_bridge());
  auto c = b.spawn(proc.address(), "counter", "", {}, 5s);
  REQUIRE(c);
  auto m = b.monitor(*c, 5s);
  REQUIRE(m);
  recorder calls;
  m->on_down(calls.fn());
  REQUIRE(b.ping(proc.address(), 5s));
  proc.stop();
  auto r = m->wait(fast_down_after + 3s);
  proc.resume();
  REQUIRE(r);
  CHECK(r->what == down_reason::kind::node_down);
  // the node is served again; the actor it kept stops now, and its down finds no monitor
  REQUIRE(poll_until([&] { return b.ping(proc.address(), ms(500)).has_value(); }, 10s));
  REQUIRE(b.stop({*c}, 5s).front());
  auto later = b.spawn(proc.address(), "counter", "", {}, 5s);
  REQUIRE(later);
  auto probe = b.monitor(*later, 5s);  // a later monitor works as any
  REQUIRE(probe);
  REQUIRE(b.stop({*later}, 5s).front());
  auto stopped = probe->wait(5s);
  REQUIRE(stopped);
  CHECK(stopped->what == down_reason::kind::stopped);
  CHECK(calls.count() == 1);
  auto same = m->wait(ms(0));
  REQUIRE(same);
  CHECK(same->what == down_reason::kind::node_down);
}

// An actor may monitor the Bridge client that called it (a session watching its client): the
// down (node_down) comes when the node forgets the client. It once never came.
TEST_CASE("an actor monitoring a Bridge client hears node_down when the client is gone", "[integration][bridge][monitor]") {
  node_process proc(fast_node_argv(test_node_path(), "client-watch"));
  local_node me;
  auto w = me.spawn_at(proc.address(), "watcher");
  REQUIRE(w);
  {
    actor::bridge b(fast_bridge("watched-client"));
    auto ids = b.call<watch_ids>(*w, watch_target{{}, 1}, 5s);
    REQUIRE(ids);
    REQUIRE(ids->ids.size() == 1);
    auto report = me.ask<watch_report>(*w, watch_report_request{});
    REQUIRE(report);
    CHECK(report->downs.empty());  // the client is still there
  }
  watch_report report;
  REQUIRE(poll_until(
      [&] {
        auto r = me.ask<watch_report>(*w, watch_report_request{});
        if (r) report = *r;
        return r && !report.downs.empty();
      },
      10s));
  REQUIRE(report.downs.size() == 1);
  CHECK(report.downs[0].reason.what == down_reason::kind::node_down);
}
