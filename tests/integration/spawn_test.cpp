// Remote spawn and lookup through a node's manager; actor types from a user's
// node binary and from a plugin.
#include <catch2/catch.hpp>

#include <future>
#include <string>
#include <vector>

#include "actor/builtins.hpp"
#include "actor/registry.hpp"
#include "harness.hpp"
#include "plugin_types.hpp"
#include "test_actors.hpp"

using namespace itest;
using Catch::Matchers::Contains;

TEST_CASE("a node spawns actors by type name with a config, and finds them by name", "[integration][spawn]") {
  node_process proc(node_argv(actor_node_path(), "spawn-node"));
  local_node me;
  const auto& addr = proc.address();

  actor::config cfg;
  cfg.set("start", std::int64_t{5});
  auto counter = me.spawn_at(addr, "counter", "", cfg);
  REQUIRE(counter);
  auto start = me.ask<actor::counter_value>(*counter, actor::counter_get{});
  REQUIRE(start);
  CHECK(start->value == 5);

  auto unknown = me.spawn_at(addr, "no_such_type");
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().code == actor::errc::unknown_type);

  actor::config bad_cfg;
  bad_cfg.set("start", std::string("five"));
  auto rejected = me.spawn_at(addr, "counter", "", bad_cfg);
  REQUIRE_FALSE(rejected);
  CHECK(rejected.error().code == actor::errc::bad_message);

  auto store = me.spawn_at(addr, "kv", "store");
  REQUIRE(store);
  auto taken = me.spawn_at(addr, "counter", "store");
  REQUIRE_FALSE(taken);
  CHECK(taken.error().code == actor::errc::name_taken);

  auto found = me.lookup_at(addr, "store");
  REQUIRE(found);
  CHECK(found->id() == store->id());
  auto put = me.ask<actor::kv_ok>(*found, actor::kv_put{"k", "v"});
  REQUIRE(put);
  CHECK_FALSE(put->existed);
  auto got = me.ask<actor::kv_value>(*store, actor::kv_get{"k"});  // the same actor through the spawn's ref
  REQUIRE(got);
  CHECK(got->found);
  CHECK(got->value == "v");

  auto missing = me.lookup_at(addr, "nobody");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == actor::errc::no_such_actor);

  // stopping the named actor releases its name
  auto stopped = me.sys.stop(*store, 5s);
  REQUIRE(stopped.wait_for(10s) == std::future_status::ready);
  REQUIRE(stopped.get());
  auto reused = me.spawn_at(addr, "counter", "store");
  REQUIRE(reused);
  auto after_stop = me.ask<actor::kv_value>(*store, actor::kv_get{"k"});
  REQUIRE_FALSE(after_stop);
  INFO(after_stop.error().describe());
  CHECK(after_stop.error().code == actor::errc::actor_stopped);  // always, not no_such_actor by timing
}

TEST_CASE("actors spawned at start with --spawn TYPE:NAME can be looked up", "[integration][spawn]") {
  node_process proc(node_argv(actor_node_path(), "prespawned", {"--spawn", "counter:c1", "--spawn", "kv:k1"}));
  local_node me;
  auto c1 = me.lookup_at(proc.address(), "c1");
  auto k1 = me.lookup_at(proc.address(), "k1");
  REQUIRE(c1);
  REQUIRE(k1);
  auto v = me.ask<actor::counter_value>(*c1, actor::counter_incr{2});
  REQUIRE(v);
  CHECK(v->value == 2);
  auto keys = me.ask<actor::kv_key_list>(*k1, actor::kv_keys{});
  REQUIRE(keys);
  CHECK(keys->keys.empty());
}

TEST_CASE("a plugin loaded with --plugin provides an actor type that can be spawned remotely",
          "[integration][spawn][plugin]") {
  node_process proc(node_argv(actor_node_path(), "plugin-node", {"--plugin", test_plugin_path()}));
  CHECK_THAT(proc.log(), Contains("event=plugin_loaded"));
  local_node me;
  auto greeter = me.spawn_at(proc.address(), "plugin_greeter");
  REQUIRE(greeter);
  auto hello = me.ask<itest_plugin::greeting>(*greeter, itest_plugin::greet{"itest"});
  REQUIRE(hello);
  CHECK(hello->text == "hello, itest, from the plugin");

  // without the plugin the type is unknown
  node_process plain(node_argv(actor_node_path(), "plain-node"));
  auto none = me.spawn_at(plain.address(), "plugin_greeter");
  REQUIRE_FALSE(none);
  CHECK(none.error().code == actor::errc::unknown_type);
}

TEST_CASE("actor-node fails to start with exit status 1 when a plugin cannot be loaded",
          "[integration][spawn][plugin]") {
  child_process proc(node_argv(actor_node_path(), "bad-plugin", {"--plugin", "/nonexistent/libno_plugin.so"}));
  auto st = proc.wait_exit(10s);
  REQUIRE(st);
  CHECK(st->describe() == "exited with code 1");
  CHECK_THAT(proc.log(), Contains("event=plugin_failed"));
  CHECK_THAT(proc.log(), !Contains("event=ready"));
}

TEST_CASE("a user's own node binary built with node_main hosts its actor types next to the built-in ones",
          "[integration][spawn]") {
  node_process custom(node_argv(test_node_path(), "custom-node"));
  node_process plain(node_argv(actor_node_path(), "plain-node"));
  local_node me;
  for (const char* type : {"order_checker", "burst", "forwarder", "sink", "crasher", "echo", "counter", "kv"}) {
    INFO("type " << type);
    auto r = me.spawn_at(custom.address(), type);
    CHECK(r);
  }
  auto absent = me.spawn_at(plain.address(), "order_checker");
  REQUIRE_FALSE(absent);
  CHECK(absent.error().code == actor::errc::unknown_type);

  auto checker = me.spawn_at(custom.address(), "order_checker");
  REQUIRE(checker);
  me.sys.send(*checker, seq_msg{0});
  me.sys.send(*checker, seq_msg{1});
  auto report = me.ask<seq_report>(*checker, seq_check{});
  REQUIRE(report);
  CHECK(report->received == 2);
  CHECK(report->in_order);
}

TEST_CASE("a node's manager cannot be stopped by a request from another node", "[integration][spawn][regression]") {
  // Regression test for a bug fixed in (node.cpp, manager_actor): stop_msg is handled by every actor, the manager at
  // id 0 included; any peer or client that sends it one leaves the node listening but
  // unable to spawn, look up, ping or report stats (everything fails with actor_stopped).
  node_process proc(node_argv(actor_node_path(), "managed"));
  local_node me;
  auto stop = me.sys.stop(me.node.manager_at(proc.address()), 5s);
  REQUIRE(stop.wait_for(10s) == std::future_status::ready);
  auto r = stop.get();
  CHECK_FALSE(r);  // refused, e.g. with unauthorized

  auto ping = me.ask<actor::ping_reply>(me.node.manager_at(proc.address()), actor::ping_request{});
  INFO((ping ? std::string("ping answered") : ping.error().describe()));
  CHECK(ping);
  CHECK(me.spawn_at(proc.address(), "counter"));
}

namespace {

// fast_node_argv with one worker thread: a manager that blocked its worker would stall every actor.
std::vector<std::string> one_worker_argv(const std::string& name, const std::string& registry) {
  auto argv = registered_node_argv(name, {registry});
  for (std::size_t i = 0; i + 1 < argv.size(); ++i) {
    if (argv[i] == "--workers") argv[i + 1] = "1";
  }
  return argv;
}

}  // namespace

TEST_CASE("with the registry frozen, named spawns wait for their claims without holding up the node",
          "[integration][spawn][registry]") {
  node_process reg(registry_argv("reg"));
  node_process a(one_worker_argv("a", reg.address()));
  local_node me;
  auto counter = me.spawn_at(a.address(), "counter");  // unnamed: no claim
  REQUIRE(counter);
  REQUIRE(me.ask<actor::counter_value>(*counter, actor::counter_get{}));
  REQUIRE(reg.stop());  // SIGSTOP: claims wait for the registry's timeout (1 s), then are skipped there

  using clock = std::chrono::steady_clock;
  auto manager = me.node.manager_at(a.address());
  auto s1 = me.sys.request<actor::spawn_reply>(manager, actor::spawn_request{"counter", "named-1", {}}, 10s);
  auto s2 = me.sys.request<actor::spawn_reply>(manager, actor::spawn_request{"counter", "named-2", {}}, 10s);
  // an unrelated actor on the same (single) worker answers while the claims are pending
  auto v = me.ask<actor::counter_value>(*counter, actor::counter_incr{1});
  REQUIRE(v);
  CHECK(s1.wait_for(0s) != std::future_status::ready);
  CHECK(s2.wait_for(0s) != std::future_status::ready);
  // so does the manager itself
  REQUIRE(me.ask<actor::ping_reply>(manager, actor::ping_request{}));
  CHECK(s1.wait_for(0s) != std::future_status::ready);

  // the two claims run side by side: they resolve together, not one registry timeout apart
  REQUIRE(s1.wait_for(10s) == std::future_status::ready);
  const auto t1 = clock::now();
  REQUIRE(s2.wait_for(10s) == std::future_status::ready);
  const auto t2 = clock::now();
  auto r1 = s1.get(), r2 = s2.get();
  REQUIRE(r1);
  REQUIRE(r2);
  CHECK(t2 - t1 < 500ms * slowdown);
  CHECK(me.lookup_at(a.address(), "named-1"));
  CHECK(me.lookup_at(a.address(), "named-2"));
  REQUIRE(reg.resume());
}

TEST_CASE("a node destroyed with requests in its manager's and agent's mailboxes: each is answered or refused, "
          "and both actors stop",
          "[integration][spawn][registry][regression]") {
  // Regression test: the manager and the registry agent held a reference to the node, and ~node
  // only sent them a stop (CI's ASan run caught the agent reading the node's freed names while
  // answering a lookup). They now share what they use with the node and stop after ~node.
  node_process reg(registry_argv("reg"));
  actor::actor_system sys;
  actor::register_builtin_types(sys);
  const auto alive_before = sys.stats().actors_alive;
  std::vector<std::future<actor::expected<actor::registry_found>>> lookups;
  std::vector<std::future<actor::expected<actor::node_stats>>> stats;
  {
    auto opts = fast_node_options("short-lived");
    opts.registries = {reg.address()};
    actor::node n(sys, opts);
    auto counter = sys.spawn("counter");
    REQUIRE(counter);
    REQUIRE(n.register_name("short-lived-counter", *counter));
    for (int i = 0; i < 200; ++i) {
      // found here (the node's own name), and asked of the registry (nobody has it)
      lookups.push_back(sys.request<actor::registry_found>(n.name_service(), actor::registry_lookup{"short-lived-counter"}, 5s));
      lookups.push_back(sys.request<actor::registry_found>(n.name_service(), actor::registry_lookup{"nobody-" + std::to_string(i)}, 5s));
      stats.push_back(sys.request<actor::node_stats>(n.manager(), actor::stats_request{}, 5s));
    }
  }  // ~node with most of them still queued
  for (auto& f : lookups) REQUIRE(f.wait_for(10s) == std::future_status::ready);
  for (auto& f : stats) REQUIRE(f.wait_for(10s) == std::future_status::ready);
  // the manager and the agent stopped: only the counter is left of what the node started
  CHECK(poll_until([&] { return sys.stats().actors_alive == alive_before + 1; }, 10s));
  CHECK(sys.stats().actors_alive == alive_before + 1);
}
