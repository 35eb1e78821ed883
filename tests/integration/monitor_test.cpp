// Monitors and links across nodes (docs/monitors.md): the reasons that travel, the ones a
// node produces for a peer that is gone (node_down, node_restarted) or an actor it does not
// have (noproc), and the watch table's counts on both sides returning to where they were.
#include <catch2/catch.hpp>

#include "actor/builtins.hpp"
#include "harness.hpp"
#include "test_actors.hpp"

using namespace itest;
using Catch::Matchers::Contains;
using steady = std::chrono::steady_clock;
using kind = actor::down_reason::kind;

namespace {

// A watcher actor of the test process's node, and what it heard.
struct local_watcher {
  local_node& me;
  actor::actor_ref ref;
  explicit local_watcher(local_node& n) : me(n), ref(n.sys.spawn<watcher>()) {}
  ~local_watcher() { me.sys.send(ref, actor::stop_msg{}); }

  std::vector<std::uint64_t> watch(const actor::actor_ref& target, std::uint32_t count = 1) {
    auto ids = me.ask<watch_ids>(ref, watch_target{target, count});
    REQUIRE(ids);
    return ids->ids;
  }
  watch_report report() {
    auto r = me.ask<watch_report>(ref, watch_report_request{});
    REQUIRE(r);
    return *r;
  }
  // Waits until `n` downs were handled; the report.
  watch_report downs(std::size_t n, ms limit = 10s) {
    watch_report r;
    REQUIRE(poll_until(
        [&] {
          r = report();
          return r.downs.size() >= n;
        },
        limit));
    return r;
  }
};

actor::node_stats stats_of(local_node& me, const std::string& address) {
  auto s = me.stats_at(address);
  REQUIRE(s);
  return *s;
}

}  // namespace

TEST_CASE("a remote monitor hears a stop and a crash with their typed reasons", "[integration][monitor]") {
  node_process proc(fast_node_argv(test_node_path(), "targets", {"--spawn", "sink:s", "--spawn", "crasher:c"}));
  local_node me;
  local_watcher w(me);
  auto s = me.lookup_at(proc.address(), "s");
  auto c = me.lookup_at(proc.address(), "c");
  REQUIRE(s);
  REQUIRE(c);
  const auto ids = w.watch(*s);
  const auto cid = w.watch(*c);
  REQUIRE(poll_until([&] { return stats_of(me, proc.address()).monitors == 2; }, 5s));
  CHECK(me.node.stats().watches_monitoring == 2);

  REQUIRE(me.ask<actor::stopped>(*s, actor::stop_msg{}));
  auto r = w.downs(1);
  REQUIRE(r.downs.size() == 1);
  CHECK(r.downs[0].monitor == ids[0]);
  CHECK(r.downs[0].who == *s);
  CHECK(r.downs[0].reason.what == kind::stopped);

  me.sys.send(*c, boom{});
  r = w.downs(2);
  REQUIRE(r.downs.size() == 2);
  CHECK(r.downs[1].monitor == cid[0]);
  CHECK(r.downs[1].reason.what == kind::crashed);
  CHECK_THAT(r.downs[1].reason.text, Contains("boom"));
  CHECK_THAT(r.downs[1].reason.error_type, Contains("runtime_error"));
  // the downs ended the entries on both sides
  REQUIRE(poll_until([&] { return me.node.stats().watches_monitoring == 0; }, 5s));
  CHECK(stats_of(me, proc.address()).monitors == 0);
}

TEST_CASE("monitoring an actor a node does not have answers noproc", "[integration][monitor]") {
  node_process proc(fast_node_argv(test_node_path(), "targets", {"--spawn", "sink:s"}));
  local_node me;
  local_watcher w(me);
  auto s = me.lookup_at(proc.address(), "s");
  REQUIRE(s);
  REQUIRE(me.ask<actor::stopped>(*s, actor::stop_msg{}));
  // a stopped id, and a service id nothing answers at
  const auto stopped_id = w.watch(*s)[0];
  const auto service_id = w.watch(me.node.service_at(proc.address(), 7))[0];
  auto r = w.downs(2);
  REQUIRE(r.downs.size() == 2);
  for (const auto& d : r.downs) {
    CHECK(d.reason.what == kind::noproc);
    CHECK_FALSE(d.reason.text.empty());
  }
  CHECK((r.downs[0].monitor == stopped_id || r.downs[1].monitor == stopped_id));
  CHECK((r.downs[0].monitor == service_id || r.downs[1].monitor == service_id));
  CHECK(me.node.stats().watches_monitoring == 0);
}

TEST_CASE("a monitor of an earlier incarnation's actor answers noproc, stale", "[integration][monitor][restart]") {
  auto first = std::make_unique<node_process>(fast_node_argv(test_node_path(), "phoenix", {"--spawn", "sink:s"}));
  const std::string addr = first->address();
  local_node me;
  auto old = me.lookup_at(addr, "s");
  REQUIRE(old);
  first->kill_and_reap();
  first.reset();
  node_process second(fast_node_argv(test_node_path(), "phoenix", {"--listen", addr}));
  REQUIRE(poll_until(
      [&] {
        auto p = me.ask<actor::ping_reply>(me.node.manager_at(addr), actor::ping_request{}, 500ms);
        return p && p->incarnation == second.incarnation();
      },
      10s));
  local_watcher w(me);
  w.watch(*old);
  auto r = w.downs(1);
  CHECK(r.downs[0].reason.what == kind::noproc);
  CHECK_THAT(r.downs[0].reason.text, Contains("earlier incarnation"));
}

TEST_CASE("SIGKILL of the target's node gives node_down within the down bound", "[integration][monitor][liveness]") {
  node_process proc(fast_node_argv(test_node_path(), "doomed", {"--spawn", "sink:s"}));
  local_node me;  // down_after: fast_down_after
  local_watcher w(me);
  auto s = me.lookup_at(proc.address(), "s");
  REQUIRE(s);
  const auto ids = w.watch(*s, 3);
  REQUIRE(poll_until([&] { return stats_of(me, proc.address()).monitors == 3; }, 5s));
  const auto killed = steady::now();
  proc.kill_and_reap();
  auto r = w.downs(3);
  REQUIRE(r.downs.size() == 3);
  for (const auto& d : r.downs) {
    CHECK(d.reason.what == kind::node_down);
    CHECK_THAT(d.reason.text, Contains(proc.address()));
    CHECK(d.who == *s);
  }
  const auto took = std::chrono::nanoseconds(r.last_down_ns) - killed.time_since_epoch();
  // silence is counted from the last frame heard (at most a heartbeat before the kill), and the
  // I/O thread looks every heartbeat/5: the bound, plus scheduling slack
  const auto bound = fast_down_after + fast_heartbeat + 300ms * slowdown;
  INFO("kill to last down: " << std::chrono::duration_cast<ms>(took).count() << " ms");
  CHECK(took <= bound);
  CHECK(took >= fast_down_after - fast_heartbeat);  // not before the peer was silent for the bound
  CHECK(me.node.stats().watches_monitoring == 0);
  (void)ids;
}

TEST_CASE("a node restarted at the same address gives node_restarted", "[integration][monitor][restart]") {
  auto first = std::make_unique<node_process>(fast_node_argv(test_node_path(), "phoenix", {"--spawn", "sink:s"}));
  const std::string addr = first->address();
  // a long down bound: the restart is seen (PONG, HELLO) long before silence would say down
  auto opts = fast_node_options("itest");
  opts.down_after = 20s;
  opts.suspect_after = 10s;
  local_node me(opts);
  local_watcher w(me);
  auto s = me.lookup_at(addr, "s");
  REQUIRE(s);
  w.watch(*s);
  REQUIRE(poll_until([&] { return stats_of(me, addr).monitors == 1; }, 5s));
  first->kill_and_reap();
  first.reset();
  node_process second(fast_node_argv(test_node_path(), "phoenix", {"--listen", addr}));
  auto r = w.downs(1, 15s);
  CHECK(r.downs[0].reason.what == kind::node_restarted);
  CHECK_THAT(r.downs[0].reason.text, Contains("restarted"));
  CHECK(me.node.stats().watches_monitoring == 0);
}

TEST_CASE("after demonitor no down comes", "[integration][monitor]") {
  node_process proc(fast_node_argv(test_node_path(), "targets", {"--spawn", "sink:s"}));
  local_node me;
  local_watcher w(me);
  auto s = me.lookup_at(proc.address(), "s");
  REQUIRE(s);
  const auto first = w.watch(*s);
  REQUIRE(me.ask<relayed>(w.ref, unwatch{first}));
  REQUIRE(me.ask<actor::stopped>(*s, actor::stop_msg{}));
  // a second monitor, made after the stop, answers noproc; a down for the first would have
  // come before it (the same sender, the same receiver: in order)
  const auto second = w.watch(*s);
  auto r = w.downs(1);
  REQUIRE(r.downs.size() == 1);
  CHECK(r.downs[0].monitor == second[0]);
  CHECK(r.downs[0].reason.what == kind::noproc);
  CHECK(stats_of(me, proc.address()).monitors == 0);
}

TEST_CASE("links across nodes: both directions, trap_exit, and a linked stop", "[integration][monitor][link]") {
  node_process proc(fast_node_argv(test_node_path(), "linked", {"--spawn", "crasher:c", "--spawn", "watcher:rw",
                                                                 "--spawn", "watcher:plain"}));
  local_node me;
  local_watcher w(me);
  auto c = me.lookup_at(proc.address(), "c");
  auto rw = me.lookup_at(proc.address(), "rw");
  auto plain = me.lookup_at(proc.address(), "plain");
  REQUIRE(c);
  REQUIRE(rw);
  REQUIRE(plain);

  SECTION("a local actor trapping exits hears a remote crash as exit_msg") {
    REQUIRE(me.ask<relayed>(w.ref, trap_exits{true}));
    REQUIRE(me.ask<relayed>(w.ref, link_to{*c}));
    REQUIRE(poll_until([&] { return stats_of(me, proc.address()).links == 1; }, 5s));
    CHECK(me.node.stats().watches_linked == 1);
    me.sys.send(*c, boom{});
    watch_report r;
    REQUIRE(poll_until([&] { return !(r = w.report()).exits.empty(); }, 10s));
    CHECK(r.exits[0].from == *c);
    CHECK(r.exits[0].reason.what == kind::crashed);
    CHECK_THAT(r.exits[0].reason.text, Contains("boom"));
    REQUIRE(poll_until([&] { return me.node.stats().watches_linked == 0; }, 5s));
  }
  SECTION("a remote actor linked to a local one: trap_exit there, a linked stop without it") {
    auto local_crasher = me.sys.spawn<crasher>();
    REQUIRE(me.ask<relayed>(*rw, trap_exits{true}));
    REQUIRE(me.ask<relayed>(*rw, link_to{local_crasher}));
    REQUIRE(me.ask<relayed>(*plain, link_to{local_crasher}));
    REQUIRE(poll_until([&] { return me.sys.stats().links == 2; }, 5s));
    CHECK(me.node.stats().watches_linked == 2);
    // the plain one's stop is watched from here
    w.watch(*plain);
    me.sys.send(local_crasher, boom{});
    watch_report r;
    REQUIRE(poll_until(
        [&] {
          auto x = me.ask<watch_report>(*rw, watch_report_request{});
          return x && !(r = *x).exits.empty();
        },
        10s));
    CHECK(r.exits[0].reason.what == kind::crashed);
    auto d = w.downs(1);
    CHECK(d.downs[0].reason.what == kind::linked);
    CHECK_THAT(d.downs[0].reason.text, Contains("crashed: boom"));
    REQUIRE(poll_until([&] { return me.node.stats().watches_linked == 0; }, 5s));
    // the remote side forgets its links when the exits reach it: a moment later
    CHECK(poll_until([&] { return stats_of(me, proc.address()).links == 0; }, 5s));
  }
  SECTION("SIGKILL of the partner's node stops a linked actor with reason linked(node_down)") {
    auto mine = me.sys.spawn<watcher>();
    REQUIRE(me.ask<relayed>(mine, link_to{*c}));
    w.watch(mine);
    REQUIRE(poll_until([&] { return stats_of(me, proc.address()).links == 1; }, 5s));
    proc.kill_and_reap();
    auto d = w.downs(1);
    CHECK(d.downs[0].reason.what == kind::linked);
    CHECK_THAT(d.downs[0].reason.text, Contains("node_down"));
    CHECK(me.node.stats().watches_linked == 0);
  }
}

TEST_CASE("no leak: 10,000 monitor/demonitor cycles and 1,000 dying watchers leave both nodes at baseline",
          "[integration][monitor][leak]") {
  node_process proc(fast_node_argv(test_node_path(), "targets", {"--spawn", "sink:s"}));
  local_node me;
  auto s = me.lookup_at(proc.address(), "s");
  REQUIRE(s);
  const auto base = stats_of(me, proc.address());
  {
    local_watcher w(me);
    REQUIRE(me.ask<relayed>(w.ref, watch_cycles{*s, 10000}, 30s));
    // a monitor after the cycles: once the target's node has it, it has had every cycle before it
    w.watch(*s);
    REQUIRE(poll_until([&] { return stats_of(me, proc.address()).monitors == base.monitors + 1; }, 10s));
  }  // the watcher stops: its monitor ends on the target
  REQUIRE(poll_until([&] { return stats_of(me, proc.address()).monitors == base.monitors; }, 10s));
  REQUIRE(poll_until([&] { return me.node.stats().watches_monitoring == 0; }, 5s));

  std::vector<actor::actor_ref> watchers;
  for (int i = 0; i < 1000; ++i) {
    watchers.push_back(me.sys.spawn<watcher>());
    me.sys.send(watchers.back(), watch_target{*s, 1});
  }
  REQUIRE(poll_until([&] { return stats_of(me, proc.address()).monitors == base.monitors + 1000; }, 20s));
  CHECK(stats_of(me, proc.address()).watches_watched_by == base.watches_watched_by + 1000);
  CHECK(me.node.stats().watches_monitoring == 1000);
  for (auto& w : watchers) me.sys.send(w, actor::stop_msg{});
  REQUIRE(poll_until([&] { return stats_of(me, proc.address()).monitors == base.monitors; }, 20s));
  CHECK(stats_of(me, proc.address()).watches_watched_by == base.watches_watched_by);
  REQUIRE(poll_until([&] { return me.node.stats().watches_monitoring == 0; }, 5s));
  CHECK(me.sys.stats().monitors == 0);
}

TEST_CASE("a watcher's node killed: the target's node drops its watches", "[integration][monitor][liveness]") {
  node_process targets(fast_node_argv(test_node_path(), "targets", {"--spawn", "sink:s"}));
  node_process watchers(fast_node_argv(test_node_path(), "watchers", {"--spawn", "watcher:w"}));
  local_node me;
  auto s = me.lookup_at(targets.address(), "s");
  auto w = me.lookup_at(watchers.address(), "w");
  REQUIRE(s);
  REQUIRE(w);
  const auto base = stats_of(me, targets.address());
  REQUIRE(me.ask<watch_ids>(*w, watch_target{*s, 50}));
  REQUIRE(poll_until([&] { return stats_of(me, targets.address()).monitors == base.monitors + 50; }, 5s));
  CHECK(stats_of(me, targets.address()).watches_watched_by == base.watches_watched_by + 50);
  CHECK(stats_of(me, watchers.address()).watches_monitoring == 50);
  watchers.kill_and_reap();
  // kept while it could be paused only: dropped when it is forgotten (10 down bounds)
  REQUIRE(poll_until([&] { return stats_of(me, targets.address()).monitors == base.monitors; }, 12 * fast_down_after + 5s));
  auto after = stats_of(me, targets.address());
  CHECK(after.watches_watched_by == base.watches_watched_by);
  CHECK(after.watches_fired >= 50);
}

TEST_CASE("a monitor of an actor on a node that never answers, or is down already, still gets its down",
          "[integration][monitor][liveness]") {
  reserved_port nobody;  // connections to it are refused, as to a node that is gone
  const std::string addr = "tcp://127.0.0.1:" + std::to_string(nobody.port());
  local_node me;
  local_watcher w(me);
  auto ghost = me.node.service_at(addr, 5);
  // the connection never gets its handshake: the peer is declared down, and the entry fires
  w.watch(ghost);
  auto r = w.downs(1);
  CHECK(r.downs[0].reason.what == kind::node_down);
  REQUIRE(poll_until([&] { return me.peer_state(addr) == "down"; }, 5s));
  // the peer is down: the next monitor is dropped before being written, and still answered
  w.watch(ghost);
  r = w.downs(2);
  CHECK(r.downs[1].reason.what == kind::node_down);
  CHECK_THAT(r.downs[1].reason.text, Contains(addr));
  CHECK(me.node.stats().watches_monitoring == 0);
  CHECK(me.node.stats().watches_fired == 2);
}

// A watcher's node paused past the target node's down bound, then resumed: the target's node
// declared it down, but it did not declare anyone down (its own silence, not theirs). Its
// monitors must still hear their downs, once: a target stopped while it was paused (the down
// kept for it and sent when it is heard again), and one stopped after it resumed (the watch
// kept). Both once never came.
TEST_CASE("a watcher's node paused past the down bound still hears every down, once", "[integration][monitor][liveness]") {
  node_process targets(fast_node_argv(test_node_path(), "p-targets", {"--spawn", "sink:early", "--spawn", "sink:late"}));
  node_process watchers(fast_node_argv(test_node_path(), "p-watchers", {"--spawn", "watcher:w"}));
  local_node me;
  auto early = me.lookup_at(targets.address(), "early");
  auto late = me.lookup_at(targets.address(), "late");
  auto w = me.lookup_at(watchers.address(), "w");
  REQUIRE(early);
  REQUIRE(late);
  REQUIRE(w);
  REQUIRE(me.ask<watch_ids>(*w, watch_target{*early, 1}));
  REQUIRE(me.ask<watch_ids>(*w, watch_target{*late, 1}));
  REQUIRE(poll_until([&] { return stats_of(me, targets.address()).watches_watched_by == 2; }, 5s));
  const auto fired_before = stats_of(me, targets.address()).watches_fired;

  REQUIRE(watchers.stop());  // SIGSTOP
  // the targets' node declares the watchers' node down (its watches of ours stay)
  REQUIRE(targets.wait_for_line("event=peer_down peer=" + watchers.address(), 10s).has_value());
  CHECK(stats_of(me, targets.address()).watches_watched_by == 2);
  CHECK(stats_of(me, targets.address()).watches_fired == fired_before);
  REQUIRE(me.ask<actor::stopped>(*early, actor::stop_msg{}));  // its down is kept for the paused node
  REQUIRE(watchers.resume());  // SIGCONT

  // (this process may have declared the paused node down too: until it hears it again, a
  // request to it fails at once)
  watch_report seen;
  auto report_has = [&](std::size_t n) {
    auto r = me.ask<watch_report>(*w, watch_report_request{}, 2s);
    if (r) seen = *r;
    return r && seen.downs.size() >= n;
  };
  REQUIRE(poll_until([&] { return report_has(1); }, 10s));
  REQUIRE(seen.downs.size() == 1);
  CHECK(seen.downs[0].reason.what == actor::down_reason::kind::stopped);
  CHECK(seen.downs[0].who == *early);
  REQUIRE(targets.wait_for_line("event=owed_sent", 5s).has_value());

  // the watch of the other one held through the pause
  REQUIRE(me.ask<actor::stopped>(*late, actor::stop_msg{}));
  REQUIRE(poll_until([&] { return report_has(2); }, 10s));
  REQUIRE(seen.downs.size() == 2);
  CHECK(seen.downs[1].reason.what == actor::down_reason::kind::stopped);
  CHECK(seen.downs[1].who == *late);
  CHECK(stats_of(me, targets.address()).watches_watched_by == 0);
}
