// The C++ Bridge and the registry: names resolved, listed and watched through real
// actor-registry processes, with failover between replicas.
#include <catch2/catch.hpp>

#include "actor/bridge.hpp"
#include "actor/builtins.hpp"
#include "actor/registry.hpp"
#include "harness.hpp"

using namespace itest;
using Catch::Matchers::Contains;
using steady = std::chrono::steady_clock;
using actor::errc;

namespace {

actor::bridge_options fast_bridge(std::vector<std::string> registries) {
  actor::bridge_options o;
  o.name = "itest-bridge";
  o.registries = std::move(registries);
  o.heartbeat = fast_heartbeat;
  o.down_after = fast_down_after;
  return o;
}

// Waits until the bridge resolves `name` (a node registers its names as it starts them).
bool resolves(actor::bridge& b, const std::string& name) {
  return poll_until([&] { return b.lookup(name, 1s).has_value(); }, 5s);
}

std::string dead_address() { return "tcp://127.0.0.1:" + std::to_string(unused_port()); }

}  // namespace

TEST_CASE("a bridge resolves, lists and calls names through the registry", "[integration][bridge][registry]") {
  node_process reg(registry_argv("reg"));
  node_process a(registered_node_argv("a", {reg.address()}, {"--spawn", "counter:hits", "--spawn", "kv:store"}));
  actor::bridge b(fast_bridge({reg.address()}));
  REQUIRE(resolves(b, "hits"));

  auto v = b.call<actor::counter_value>("hits", actor::counter_incr{5}, 5s);
  REQUIRE(v);
  CHECK(v->value == 5);

  auto ref = b.lookup("hits", 5s);
  REQUIRE(ref);
  CHECK_THAT(actor::format_ref(*ref), Contains(a.address() + "#" + std::to_string(a.incarnation()) + "/"));
  auto again = b.call<actor::counter_value>(*ref, actor::counter_get{}, 5s);
  REQUIRE(again);
  CHECK(again->value == 5);

  auto all = b.list("", 5s);
  REQUIRE(all);
  REQUIRE(all->size() == 2);
  CHECK((*all)[0].name == "hits");  // sorted
  CHECK((*all)[1].name == "store");
  auto some = b.list("st", 5s);
  REQUIRE(some);
  REQUIRE(some->size() == 1);
  CHECK(some->front().name == "store");

  auto missing = b.lookup("nobody", 5s);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == errc::no_such_actor);
  auto call_missing = b.call<actor::counter_value>("nobody", actor::counter_get{}, 5s);
  REQUIRE_FALSE(call_missing);
  CHECK(call_missing.error().code == errc::no_such_actor);
}

TEST_CASE("a bridge's lookups fail over to the next registry", "[integration][bridge][registry][liveness]") {
  node_process reg(registry_argv("reg-2"));
  node_process a(registered_node_argv("a", {reg.address()}, {"--spawn", "counter:hits"}));

  SECTION("when the first one is not running") {
    actor::bridge b(fast_bridge({dead_address(), reg.address()}));
    const auto started = steady::now();
    auto ref = b.lookup("hits", 5s);
    INFO((ref ? std::string("found") : ref.error().describe()));
    REQUIRE(ref);
    CHECK(steady::now() - started < fast_down_after + 1s);
  }
  SECTION("when the first one does not know the name") {
    node_process empty(registry_argv("reg-empty"));
    actor::bridge b(fast_bridge({empty.address(), reg.address()}));
    REQUIRE(resolves(b, "hits"));
  }
  SECTION("and say node_down when none answers") {
    actor::bridge b(fast_bridge({dead_address(), dead_address()}));
    auto ref = b.lookup("hits", fast_down_after * 5);  // each registry's share outlasts down_after
    REQUIRE_FALSE(ref);
    CHECK(ref.error().code == errc::node_down);
    CHECK_THAT(ref.error().text, Contains("no registry answered"));
  }
}

TEST_CASE("a bridge's watch reports names appearing and disappearing, past its lease", "[integration][bridge][registry]") {
  node_process reg(registry_argv("reg-w"));
  node_process a(registered_node_argv("a", {reg.address()}, {"--spawn", "counter:w/zero"}));
  actor::bridge b(fast_bridge({reg.address()}));
  REQUIRE(resolves(b, "w/zero"));

  auto w = b.watch("w/", 5s);
  REQUIRE(w);
  REQUIRE(w->snapshot().size() == 1);
  CHECK(w->snapshot()[0].name == "w/zero");

  // nothing happens for three leases: the bridge's heartbeats keep the watch alive
  auto quiet = w->next(3 * fast_lease);
  REQUIRE_FALSE(quiet);
  CHECK(quiet.error().code == errc::timeout);

  auto one = b.spawn(a.address(), "counter", "w/one", {}, 5s);
  REQUIRE(one);
  auto appeared = w->next(5s);
  REQUIRE(appeared);
  CHECK(appeared->name == "w/one");
  CHECK(appeared->event == "appeared");
  REQUIRE(appeared->ref);  // the same actor (the registry's refs name no node)
  CHECK(appeared->ref.endpoint()->wire_address()->address == a.address());
  CHECK(appeared->ref.id() == one->id());

  REQUIRE(b.spawn(a.address(), "counter", "other", {}, 5s));  // outside the prefix: not reported
  auto stopped = b.stop({*one}, 5s);
  REQUIRE(stopped.size() == 1);
  REQUIRE(stopped[0]);
  auto gone = w->next(5s);
  REQUIRE(gone);
  CHECK(gone->name == "w/one");
  CHECK(gone->event == "disappeared");
  CHECK_FALSE(gone->ref);

  SECTION("and ends with node_down when the registry dies") {
    reg.kill_and_reap();
    auto down = w->next(fast_down_after * 3);
    REQUIRE_FALSE(down);
    CHECK(down.error().code == errc::node_down);
  }
}
