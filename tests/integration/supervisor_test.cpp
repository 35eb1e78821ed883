// Supervisors across processes: a supervisor spawned by actor-node --spawn with its children
// from the command line, a child crashed through actorctl and reached again by name; remote
// children restarted on their node or a fallback node.
#include <csignal>

#include <catch2/catch.hpp>

#include "actor/builtins.hpp"
#include "actor/node.hpp"
#include "actor/supervisor.hpp"
#include "harness.hpp"
#include "test_actors.hpp"

using namespace itest;
using Catch::Matchers::Contains;

namespace {

struct run_result {
  int code = -1;
  std::string output;
};

run_result actorctl(std::vector<std::string> args) {
  args.insert(args.begin(), ACTORCTL_BIN);
  child_process p(std::move(args));
  auto st = p.wait_exit(30s);
  REQUIRE(st.has_value());
  return {st->exited ? st->code : -1, p.log()};
}

actor::supervisor_stats stats_of(local_node& me, const actor::actor_ref& sup) {
  auto s = me.ask<actor::supervisor_stats>(sup, actor::supervisor_stats_request{});
  REQUIRE(s.has_value());
  return *s;
}

}  // namespace

TEST_CASE("actor-node --spawn starts a supervisor whose crashed child is reached again by name",
          "[integration][supervisor]") {
  const std::string spec =
      R"(supervisor:sup={"strategy":"one_for_one","backoff_min_ms":0,"backoff_max_ms":0,)"
      R"("children":[{"type":"counter","name":"hits","config":{"start":5}},{"type":"crasher","name":"boomer"}]})";
  node_process proc(fast_node_argv(ACTOR_TEST_NODE_BIN, "sup-node", {"--spawn", spec}));
  const auto& at = proc.address();

  auto before = actorctl({"--node", at, "lookup", "boomer"});
  REQUIRE(before.code == 0);
  // the child crashes on this call: the caller gets remote_error (exit 6), the supervisor a down
  auto crashed = actorctl({"--node", at, "call", "boomer", "itest.boom"});
  CHECK(crashed.code == 6);
  CHECK_THAT(crashed.output, Contains("boom"));
  // the crash reason is logged once, as a structured line
  REQUIRE(proc.wait_for_line("event=child_down", 5s).has_value());
  auto line = *proc.wait_for_line("event=child_down", 1s);
  CHECK_THAT(line, Contains("child=boomer"));
  CHECK_THAT(line, Contains("what=crashed"));
  CHECK_THAT(line, Contains("error_type=std::runtime_error"));

  // looked up again, the name leads to the new child
  std::string after;
  REQUIRE(poll_until(
      [&] {
        auto r = actorctl({"--node", at, "lookup", "boomer"});
        after = r.output;
        return r.code == 0 && r.output != before.output;
      },
      10s));
  auto again = actorctl({"--node", at, "call", "boomer", "itest.boom"});
  CHECK(again.code == 6);  // it answers (by crashing again): a live actor behind the name

  // the stats through actorctl: JSON with the children, their refs and restarts
  REQUIRE(poll_until([&] { return actorctl({"--node", at, "lookup", "boomer"}).code == 0; }, 10s));
  auto stats = actorctl({"--node", at, "call", "sup", "actor.supervisor.stats"});
  REQUIRE(stats.code == 0);
  CHECK_THAT(stats.output, Contains(R"("strategy":"one_for_one")"));
  CHECK_THAT(stats.output, Contains(R"("name":"hits")"));
  CHECK_THAT(stats.output, Contains(R"("next_restart_in_ms")"));

  // a permanent child stopped from outside comes back, with its config
  CHECK(actorctl({"--node", at, "call", "hits", "actor.counter.incr", R"({"by":1})"}).output.find("6") !=
        std::string::npos);
  CHECK(actorctl({"--node", at, "stop", "hits"}).code == 0);
  REQUIRE(poll_until(
      [&] {
        auto r = actorctl({"--node", at, "call", "hits", "actor.counter.get"});
        return r.code == 0 && r.output.find(R"("value":5)") != std::string::npos;
      },
      10s));

  // actorctl stop on the supervisor: ordered shutdown, then its names are gone
  CHECK(actorctl({"--node", at, "stop", "sup"}).code == 0);
  CHECK(actorctl({"--node", at, "lookup", "hits"}).code == 4);
  CHECK(actorctl({"--node", at, "lookup", "boomer"}).code == 4);
}

TEST_CASE("actorctl spawns a supervisor from a JSON spec, and a bad spec is a usage error", "[integration][supervisor]") {
  node_process proc(fast_node_argv(ACTOR_NODE_BIN, "sup-ctl"));
  const auto& at = proc.address();
  auto spawned = actorctl({"--node", at, "spawn", "supervisor", "sup2",
                           R"({"strategy":"rest_for_one","children":[{"type":"counter","name":"c2","config":{"start":3}}]})"});
  INFO(spawned.output);
  REQUIRE(spawned.code == 0);
  REQUIRE(poll_until([&] { return actorctl({"--node", at, "call", "c2", "actor.counter.get"}).code == 0; }, 10s));
  CHECK_THAT(actorctl({"--node", at, "call", "c2", "actor.counter.get"}).output, Contains(R"("value":3)"));
  auto bad = actorctl({"--node", at, "spawn", "supervisor", "sup3", R"({"children":[{"type":"counter","restart":"sometimes"}]})"});
  CHECK(bad.code == 2);
  CHECK_THAT(bad.output, Contains("'restart' must be permanent, transient or temporary"));
}

TEST_CASE("actor-node refuses a --spawn whose config is not a JSON object", "[integration][supervisor]") {
  for (const auto* bad : {"supervisor:sup={", "supervisor=[1,2]", ":x={}", "supervisor:={}"}) {
    child_process p({ACTOR_NODE_BIN, "--listen", "tcp://127.0.0.1:0", "--spawn", bad});
    auto st = p.wait_exit(10s);
    REQUIRE(st.has_value());
    INFO(bad << ": " << p.log());
    CHECK(st->code == 2);
    CHECK_THAT(p.log(), Contains("--spawn"));
  }
  // a valid JSON object that is not a valid spec: the node says why and exits 1
  child_process p({ACTOR_NODE_BIN, "--listen", "tcp://127.0.0.1:0", "--spawn", R"(supervisor={"strategy":"all"})"});
  auto st = p.wait_exit(10s);
  REQUIRE(st.has_value());
  CHECK(st->code == 1);
  CHECK_THAT(p.log(), Contains("'strategy' must be one_for_one"));
}

TEST_CASE("a remote child is spawned on its node, restarted there by name, and on a fallback node when its node is gone",
          "[integration][supervisor]") {
  node_process b(fast_node_argv(ACTOR_TEST_NODE_BIN, "b"));
  node_process c(fast_node_argv(ACTOR_TEST_NODE_BIN, "c"));
  reserved_port gone;  // a node that refuses connections
  const auto gone_address = "tcp://127.0.0.1:" + std::to_string(gone.port());
  local_node me;

  actor::supervisor_spec spec;
  spec.backoff_min = std::chrono::milliseconds(0);
  spec.backoff_max = std::chrono::milliseconds(0);
  spec.spawn_timeout = std::chrono::milliseconds(1000);
  actor::child_spec on_b;
  on_b.type = "crasher";
  on_b.name = "remote-boomer";
  on_b.node = b.address();
  on_b.fallback_nodes = {c.address()};
  actor::child_spec elsewhere;
  elsewhere.type = "counter";
  elsewhere.name = "moved";
  elsewhere.node = gone_address;
  elsewhere.fallback_nodes = {c.address()};
  spec.children = {on_b, elsewhere};
  auto sup = me.node.spawn("supervisor", {}, spec.to_config());
  REQUIRE(sup.has_value());

  // the second child's node refuses: it runs on the fallback node
  actor::supervisor_stats s;
  REQUIRE(poll_until(
      [&] {
        s = stats_of(me, *sup);
        return s.children.size() == 2 && s.children[0].state == "running" && s.children[1].state == "running";
      },
      15s));
  CHECK(s.children[0].node == b.address());
  CHECK(s.children[1].node == c.address());
  auto moved = me.lookup_at(c.address(), "moved");
  REQUIRE(moved.has_value());
  CHECK(*moved == s.children[1].ref);

  // the remote child crashes: restarted on its node, under its name
  auto first = me.lookup_at(b.address(), "remote-boomer");
  REQUIRE(first.has_value());
  me.sys.send(*first, itest::boom{});
  REQUIRE(poll_until([&] { return stats_of(me, *sup).children[0].restarts == 1; }, 10s));
  actor::expected<actor::actor_ref> second = actor::error{actor::errc::no_such_actor, ""};
  REQUIRE(poll_until(
      [&] {
        second = me.lookup_at(b.address(), "remote-boomer");
        return second.has_value() && !(*second == *first);
      },
      10s));
  // the name is on node b before the spawn's reply reaches the supervisor: its stats follow
  CHECK(poll_until([&] { return stats_of(me, *sup).children[0].ref == *second; }, 10s));
}

// The node_down comes from the node layer's watch table (net/watch_table).
TEST_CASE("a remote child whose node is killed is restarted on a fallback node", "[integration][supervisor]") {
  auto b = std::make_unique<node_process>(fast_node_argv(ACTOR_TEST_NODE_BIN, "b"));
  node_process c(fast_node_argv(ACTOR_TEST_NODE_BIN, "c"));
  local_node me;
  actor::supervisor_spec spec;
  spec.backoff_min = std::chrono::milliseconds(0);
  spec.backoff_max = std::chrono::milliseconds(0);
  spec.spawn_timeout = std::chrono::milliseconds(1000);
  actor::child_spec kid;
  kid.type = "counter";
  kid.name = "svc";
  kid.node = b->address();
  kid.fallback_nodes = {c.address()};
  spec.children = {kid};
  auto sup = me.node.spawn("supervisor", {}, spec.to_config());
  REQUIRE(sup.has_value());
  REQUIRE(poll_until([&] { return stats_of(me, *sup).children[0].state == "running"; }, 10s));
  b->kill_and_reap();
  REQUIRE(poll_until(
      [&] {
        auto s = stats_of(me, *sup);
        return s.children[0].state == "running" && s.children[0].node == c.address();
      },
      15s));
  CHECK(stats_of(me, *sup).children[0].last_reason.find("node_down") != std::string::npos);  // the down, then the start tried on b
  CHECK(me.lookup_at(c.address(), "svc").has_value());
}

// Its own node stopping (the system still up) fires node_down for the remote children; the
// supervisor then has nowhere to start them from and shuts down (it once retried them in a
// loop that never yielded its worker thread, or every 10 ms while the router object lived on).
TEST_CASE("a supervisor whose own node stops shuts down instead of retrying its remote children",
          "[integration][supervisor]") {
  node_process b(fast_node_argv(ACTOR_TEST_NODE_BIN, "b"));
  actor::system_options workers;
  workers.workers = 2;
  actor::actor_system sys(workers);
  auto here = std::make_unique<actor::node>(sys, fast_node_options("sup-home"));
  actor::supervisor_spec spec;
  spec.backoff_min = std::chrono::milliseconds(0);
  spec.backoff_max = std::chrono::milliseconds(0);
  actor::child_spec kid;
  kid.type = "counter";
  kid.name = "far";
  kid.node = b.address();
  spec.children = {kid};
  auto sup = here->spawn("supervisor", {}, spec.to_config());
  REQUIRE(sup.has_value());
  REQUIRE(poll_until(
      [&] {
        auto s = sys.request<actor::supervisor_stats>(*sup, actor::supervisor_stats_request{}, 2s).get();
        return s.has_value() && s->children[0].state == "running";
      },
      10s));
  // shutdown() keeps the node object (and its router) alive: the supervisor must see that its
  // node stopped all the same
  here->shutdown();
  // the supervisor stops (a request to it fails with actor_stopped or no_such_actor) rather
  // than spinning: a spinning one would leave this request unanswered
  REQUIRE(poll_until(
      [&] {
        auto f = sys.request<actor::supervisor_stats>(*sup, actor::supervisor_stats_request{}, 2s);
        if (f.wait_for(3s) != std::future_status::ready) return false;
        auto s = f.get();
        return !s.has_value() && s.error().code != actor::errc::timeout;
      },
      10s));
  here.reset();
}

// node_down means "not heard from", not "dead": a child whose node was paused is restarted on a
// fallback node, and the old one, still running when its node resumes, is stopped then (it
// once ran on, unsupervised, holding its name).
TEST_CASE("a child lost with a paused node is replaced, and stopped when its node resumes", "[integration][supervisor]") {
  node_process b(fast_node_argv(ACTOR_TEST_NODE_BIN, "b"));
  node_process c(fast_node_argv(ACTOR_TEST_NODE_BIN, "c"));
  local_node me;
  actor::supervisor_spec spec;
  spec.backoff_min = std::chrono::milliseconds(0);
  spec.backoff_max = std::chrono::milliseconds(0);
  spec.spawn_timeout = std::chrono::milliseconds(1000);
  actor::child_spec kid;
  kid.type = "counter";
  kid.name = "svc";
  kid.node = b.address();
  kid.fallback_nodes = {c.address()};
  spec.children = {kid};
  auto sup = me.node.spawn("supervisor", {}, spec.to_config());
  REQUIRE(sup.has_value());
  REQUIRE(poll_until([&] { return stats_of(me, *sup).children[0].state == "running"; }, 10s));
  const auto old = stats_of(me, *sup).children[0].ref;

  REQUIRE(b.stop());  // SIGSTOP: declared down, the child restarted on c
  REQUIRE(poll_until(
      [&] {
        auto s = stats_of(me, *sup);
        return s.children[0].state == "running" && s.children[0].node == c.address();
      },
      15s));
  CHECK(stats_of(me, *sup).orphans == 1);
  REQUIRE(b.resume());
  // the old child is asked to stop once b answers again
  REQUIRE(poll_until([&] { return stats_of(me, *sup).orphans == 0; }, 15s));
  auto gone = me.ask<actor::counter_value>(old, actor::counter_get{}, 2s);
  REQUIRE_FALSE(gone.has_value());
  CHECK((gone.error().code == actor::errc::actor_stopped || gone.error().code == actor::errc::no_such_actor));
  CHECK_FALSE(me.lookup_at(b.address(), "svc").has_value());
  CHECK(me.lookup_at(c.address(), "svc").has_value());
}
