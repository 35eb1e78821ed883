// The registry: names resolve to refs across nodes, as leases that go with their
// actor or node, with replicas and restarts. Real actor-registry and actor-node
// processes on 127.0.0.1.
#include <catch2/catch.hpp>

#include <zmq.hpp>

#include <memory>
#include <mutex>

#include "actor/builtins.hpp"
#include "actor/registry.hpp"
#include "harness.hpp"

using namespace itest;
using Catch::Matchers::Contains;

namespace {

actor::node_options with_registries(const std::string& name, std::vector<std::string> registries) {
  auto o = fast_node_options(name);
  o.registries = std::move(registries);
  return o;
}

// Asks one registry directly (no node cache in between).
actor::expected<actor::actor_ref> ask_registry(local_node& me, const std::string& registry, const std::string& name,
                                               ms timeout = 2s) {
  auto r = me.ask<actor::registry_found>(me.node.service_at(registry, actor::registry_id),
                                         actor::registry_lookup{name}, timeout);
  if (!r) return r.error();
  return r->ref;
}

// An actor to give names to.
class idle final : public actor::actor_base {
 protected:
  actor::behavior make_behavior() override {
    return {[](const actor::counter_get&) { return actor::counter_value{0}; }};
  }
};

// Collects what a registry tells its watch.
struct watch_log {
  std::mutex mu;
  std::vector<actor::registry_changed> events;
  bool has(const std::string& name, const std::string& event) {
    std::lock_guard lk(mu);
    for (const auto& e : events) {
      if (e.name == name && e.event == event) return true;
    }
    return false;
  }
};

class watcher final : public actor::actor_base {
 public:
  watcher(actor::actor_ref registry, std::string prefix, std::shared_ptr<watch_log> log)
      : registry_(std::move(registry)), prefix_(std::move(prefix)), log_(std::move(log)) {}

 protected:
  actor::behavior make_behavior() override {
    return {
        [this](const actor::registry_changed& c) {
          std::lock_guard lk(log_->mu);
          log_->events.push_back(c);
        },
        // the test asks the watcher to subscribe, and hears when the registry took it
        [this](const actor::registry_list&) {
          auto p = make_response_promise();
          request(registry_, actor::registry_watch{prefix_}, std::chrono::seconds(5))
              .then([p](const actor::registry_entries& e) mutable { p.deliver(actor::registry_entries{e}); },
                    [p](const actor::error& e) mutable { p.deliver(e); });
        },
    };
  }

 private:
  actor::actor_ref registry_;
  std::string prefix_;
  std::shared_ptr<watch_log> log_;
};

}  // namespace

TEST_CASE("a name registered on one node resolves on another, and requests go through the ref", "[integration][registry]") {
  node_process reg(registry_argv("reg"));
  node_process a(registered_node_argv("a", {reg.address()}, {"--spawn", "counter:hits"}));
  local_node me(with_registries("me", {reg.address()}));

  auto hits = me.node.lookup("hits");
  REQUIRE(hits);
  auto v = me.ask<actor::counter_value>(*hits, actor::counter_incr{5});
  REQUIRE(v);
  CHECK(v->value == 5);

  // the second lookup is answered from the cache: the same ref
  auto again = me.node.lookup("hits");
  REQUIRE(again);
  CHECK(*again == *hits);

  auto list = me.ask<actor::registry_entries>(me.node.name_service(), actor::registry_list{"h"});
  REQUIRE(list);
  REQUIRE(list->entries.size() == 1);
  CHECK(list->entries[0].name == "hits");
}

TEST_CASE("a node without a registry resolves only its own names, and says so", "[integration][registry]") {
  local_node me;
  auto ref = me.sys.spawn<idle>();
  REQUIRE(me.node.register_name("mine", ref));
  auto mine = me.node.lookup("mine");
  REQUIRE(mine);
  CHECK(*mine == ref);
  auto missing = me.node.lookup("elsewhere");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == actor::errc::no_such_actor);
  CHECK_THAT(missing.error().text, Contains("no registry is configured"));
}

TEST_CASE("a name held by a live actor cannot be taken, and can once it stopped", "[integration][registry]") {
  node_process reg(registry_argv("reg"));
  node_process a(registered_node_argv("a", {reg.address()}, {"--spawn", "counter:taken"}));
  node_process b(registered_node_argv("b", {reg.address()}));
  local_node me(with_registries("me", {reg.address()}));

  auto second = me.spawn_at(b.address(), "counter", "taken");
  REQUIRE_FALSE(second);
  CHECK(second.error().code == actor::errc::name_taken);
  // the refused claim left nothing behind: the name still names a's actor
  auto holder = ask_registry(me, reg.address(), "taken");
  REQUIRE(holder);
  CHECK(holder->endpoint()->wire_address()->address == a.address());
  CHECK(holder->endpoint()->wire_address()->node == "a");  // a ref keeps its node's name across nodes

  // an actor of this process cannot take it either
  auto mine = me.sys.spawn<idle>();
  auto claim = me.node.register_name("taken", mine);
  REQUIRE_FALSE(claim);
  CHECK(claim.error().code == actor::errc::name_taken);
  CHECK_FALSE(me.node.whereis("taken"));

  // stopping the holder releases the name at once; then b can take it
  auto stopped = me.sys.stop(*holder, 5s).get();
  REQUIRE(stopped);
  REQUIRE(poll_until([&] { return !ask_registry(me, reg.address(), "taken"); }, 2s * slowdown));
  auto retaken = me.spawn_at(b.address(), "counter", "taken");
  REQUIRE(retaken);
  auto now = ask_registry(me, reg.address(), "taken");
  REQUIRE(now);
  CHECK(now->endpoint()->wire_address()->address == b.address());
}

TEST_CASE("a cached name is dropped when its actor stops, and the next lookup re-resolves", "[integration][registry]") {
  node_process reg(registry_argv("reg"));
  node_process a(registered_node_argv("a", {reg.address()}));
  local_node me(with_registries("me", {reg.address()}));

  auto first = me.spawn_at(a.address(), "counter", "svc");
  REQUIRE(first);
  auto cached = me.node.lookup("svc");
  REQUIRE(cached);
  REQUIRE(me.sys.stop(*cached, 5s).get());

  auto stale = me.ask<actor::counter_value>(*cached, actor::counter_get{});
  REQUIRE_FALSE(stale);
  CHECK(stale.error().code == actor::errc::actor_stopped);
  // the registry's watch evicts the cached ref
  REQUIRE(poll_until([&] { return !me.node.lookup("svc"); }, 2s * slowdown));
  CHECK(me.node.lookup("svc").error().code == actor::errc::no_such_actor);

  auto second = me.spawn_at(a.address(), "counter", "svc");
  REQUIRE(second);
  auto fresh = me.node.lookup("svc");
  REQUIRE(fresh);
  CHECK_FALSE(*fresh == *cached);
  CHECK(me.ask<actor::counter_value>(*fresh, actor::counter_get{}));
}

TEST_CASE("the names of a SIGKILLed node vanish within the lease bound", "[integration][registry][liveness]") {
  node_process reg(registry_argv("reg"));
  node_process a(registered_node_argv("a", {reg.address()}, {"--spawn", "counter:doomed", "--spawn", "kv:doomed.kv"}));
  local_node me(with_registries("me", {reg.address()}));
  REQUIRE(ask_registry(me, reg.address(), "doomed"));
  REQUIRE(me.node.lookup("doomed.kv"));

  a.kill_and_reap();
  const auto killed = std::chrono::steady_clock::now();
  // a lease lapses within one lease plus a sweep (a quarter lease) of the last heartbeat
  const auto bound = fast_lease + fast_lease / 4 + fast_heartbeat + 500ms * slowdown;
  REQUIRE(poll_until([&] { return !ask_registry(me, reg.address(), "doomed") && !ask_registry(me, reg.address(), "doomed.kv"); },
                     bound * 3));
  const auto took = std::chrono::steady_clock::now() - killed;
  CHECK(took <= bound);
  // and the node's cache, watching them, forgets them too
  REQUIRE(poll_until([&] { return !me.node.lookup("doomed.kv"); }, 2s * slowdown));
}

TEST_CASE("a watch reports names appearing and disappearing", "[integration][registry]") {
  node_process reg(registry_argv("reg"));
  node_process a(registered_node_argv("a", {reg.address()}));
  local_node me(with_registries("me", {reg.address()}));
  auto log = std::make_shared<watch_log>();
  auto w = me.sys.spawn<watcher>(me.node.service_at(reg.address(), actor::registry_id), "w.", log);
  auto subscribed = me.ask<actor::registry_entries>(w, actor::registry_list{});
  REQUIRE(subscribed);
  CHECK(subscribed->entries.empty());

  auto one = me.spawn_at(a.address(), "counter", "w.one");
  REQUIRE(one);
  REQUIRE(me.spawn_at(a.address(), "counter", "other"));  // outside the prefix
  REQUIRE(poll_until([&] { return log->has("w.one", "appeared"); }, 2s * slowdown));
  REQUIRE(me.sys.stop(*one, 5s).get());
  REQUIRE(poll_until([&] { return log->has("w.one", "disappeared"); }, 2s * slowdown));
  CHECK_FALSE(log->has("other", "appeared"));
}

TEST_CASE("after a registry restart the nodes register everything again within one lease", "[integration][registry]") {
  const auto port = unused_port();
  const std::string address = "tcp://127.0.0.1:" + std::to_string(port);
  auto reg = std::make_unique<node_process>(registry_argv("reg", {"--listen", address}));
  node_process a(registered_node_argv("a", {address}, {"--spawn", "counter:r1", "--spawn", "counter:r2"}));
  node_process b(registered_node_argv("b", {address}, {"--spawn", "kv:r3"}));
  local_node me;
  for (const auto* n : {"r1", "r2", "r3"}) REQUIRE(ask_registry(me, address, n));

  reg->kill_and_reap();
  reg = std::make_unique<node_process>(registry_argv("reg", {"--listen", address}));
  const auto back = std::chrono::steady_clock::now();
  auto all_back = [&] {
    for (const auto* n : {"r1", "r2", "r3"}) {
      if (!ask_registry(me, address, n, 500ms * slowdown)) return false;
    }
    return true;
  };
  REQUIRE(poll_until(all_back, fast_lease * 10));
  const auto took = std::chrono::steady_clock::now() - back;
  // one lease, plus the time to notice the old connection broke and reconnect
  CHECK(took <= fast_lease + fast_down_after + 500ms * slowdown);
}

TEST_CASE("with two registries, killing one keeps lookups and registrations going", "[integration][registry][liveness]") {
  node_process r1(registry_argv("r1"));
  node_process r2(registry_argv("r2"));
  const std::vector<std::string> both{r1.address(), r2.address()};
  node_process a(registered_node_argv("a", both, {"--spawn", "counter:before"}));
  {
    local_node me;
    // registered with both replicas
    REQUIRE(ask_registry(me, r1.address(), "before"));
    REQUIRE(ask_registry(me, r2.address(), "before"));
  }
  // kill the first in claim order: lookups and claims must go past it
  auto& first = r1.address() < r2.address() ? r1 : r2;
  auto& second = r1.address() < r2.address() ? r2 : r1;
  first.kill_and_reap();

  local_node me(with_registries("me", both));
  auto before = me.node.lookup("before", 10s);
  REQUIRE(before);
  auto got = me.ask<actor::counter_value>(*before, actor::counter_get{});
  INFO((got ? std::string("ok") : got.error().describe()));
  CHECK(got);
  auto after = me.spawn_at(a.address(), "counter", "after");
  REQUIRE(after);
  auto found = me.node.lookup("after", 10s);
  REQUIRE(found);
  CHECK(*found == *after);
  CHECK(ask_registry(me, second.address(), "after"));
  // one name, one actor: a second claim is refused by the surviving replica
  auto dup = me.node.register_name("after", me.sys.spawn<idle>());
  REQUIRE_FALSE(dup);
  CHECK(dup.error().code == actor::errc::name_taken);
}

TEST_CASE("bad requests to the registry get clear errors and do not hurt it", "[integration][registry][robustness]") {
  node_process reg(registry_argv("reg"));
  local_node me;
  auto registry = me.node.service_at(reg.address(), actor::registry_id);

  // a message type the registry has no handler for
  auto unknown = me.ask<actor::counter_value>(registry, actor::counter_get{});
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().code == actor::errc::bad_message);
  // an empty name, and a name for nobody
  auto empty = me.ask<actor::registry_ok>(registry, actor::registry_register{"", me.sys.spawn<idle>()});
  REQUIRE_FALSE(empty);
  CHECK(empty.error().code == actor::errc::bad_message);
  auto nobody = me.ask<actor::registry_ok>(registry, actor::registry_register{"x", actor::actor_ref{}});
  REQUIRE_FALSE(nobody);
  CHECK(nobody.error().code == actor::errc::bad_message);
  // only an actor's own node registers or unregisters its names
  node_process other(fast_node_argv(actor_node_path(), "other", {"--registry", reg.address(), "--spawn", "counter:theirs"}));
  std::optional<actor::registry_found> theirs;
  REQUIRE(poll_until([&] {
    auto found = me.ask<actor::registry_found>(registry, actor::registry_lookup{"theirs"});
    if (found) theirs = *found;
    return found.has_value();
  }, 5s));
  auto taken = me.ask<actor::registry_ok>(registry, actor::registry_unregister{"theirs", theirs->ref});
  REQUIRE_FALSE(taken);
  CHECK(taken.error().code == actor::errc::unauthorized);
  auto foreign = me.ask<actor::registry_ok>(registry, actor::registry_register{"mine", theirs->ref});
  REQUIRE_FALSE(foreign);
  CHECK(foreign.error().code == actor::errc::unauthorized);
  auto still = me.ask<actor::registry_found>(registry, actor::registry_lookup{"theirs"});
  REQUIRE(still);
  CHECK(still->ref == theirs->ref);
  // the registry itself cannot be stopped from outside
  auto stop = me.sys.stop(registry, 5s).get();
  REQUIRE_FALSE(stop);
  CHECK(stop.error().code == actor::errc::unauthorized);

  // garbage frames straight to its socket
  zmq::context_t ctx(1);
  zmq::socket_t raw(ctx, zmq::socket_type::dealer);
  raw.set(zmq::sockopt::linger, 0);
  raw.connect(reg.address());
  for (const std::string& g : {std::string("\xc1"), std::string("\xdd\xff\xff\xff\xff", 5), std::string(70, '\x91')}) {
    REQUIRE(raw.send(zmq::buffer(g), zmq::send_flags::none));
  }
  auto stats = me.stats_at(reg.address());
  REQUIRE(stats);
  REQUIRE(poll_until([&] {
    auto s = me.stats_at(reg.address());
    return s && s->decode_errors >= 3;
  }, 5s));
  // and it still answers
  auto miss = me.ask<actor::registry_found>(registry, actor::registry_lookup{"nothing"});
  REQUIRE_FALSE(miss);
  CHECK(miss.error().code == actor::errc::no_such_actor);
}

namespace {

struct take_name {
  std::string name;
  MSGPACK_DEFINE_MAP(name)
};
struct drop_name {
  std::string name;
  MSGPACK_DEFINE_MAP(name)
};

}  // namespace

ACTOR_MESSAGE(take_name, "itest.registry.take_name");
ACTOR_MESSAGE(drop_name, "itest.registry.drop_name");

namespace {

// Names itself, and drops the name, from its own handlers.
class self_naming final : public actor::actor_base {
 public:
  explicit self_naming(actor::node& n) : node_(n) {}

 protected:
  actor::behavior make_behavior() override {
    return {
        [this](const take_name& t) -> actor::expected<actor::registry_ok> {
          if (auto ok = node_.register_name(t.name, self()); !ok) return ok.error();
          return actor::registry_ok{false};
        },
        [this](const drop_name& d) { return actor::registry_ok{node_.unregister_name(d.name)}; },
    };
  }

 private:
  actor::node& node_;
};

}  // namespace

TEST_CASE("an actor registers and unregisters names itself", "[integration][registry]") {
  node_process reg(registry_argv("reg"));
  local_node me(with_registries("me", {reg.address()}));
  auto a = me.sys.spawn<self_naming>(me.node);
  REQUIRE(me.ask<actor::registry_ok>(a, take_name{"self.named"}));
  auto there = ask_registry(me, reg.address(), "self.named");
  REQUIRE(there);
  // the registry holds a ref that comes back to this very actor
  CHECK(*there == a);

  auto again = me.ask<actor::registry_ok>(me.sys.spawn<self_naming>(me.node), take_name{"self.named"});
  REQUIRE_FALSE(again);
  CHECK(again.error().code == actor::errc::name_taken);

  auto dropped = me.ask<actor::registry_ok>(a, drop_name{"self.named"});
  REQUIRE(dropped);
  CHECK(dropped->existed);
  REQUIRE(poll_until([&] { return !ask_registry(me, reg.address(), "self.named"); }, 2s * slowdown));
}

TEST_CASE("a registry started with --peer copies the table of its peer", "[integration][registry]") {
  node_process r1(registry_argv("r1"));
  node_process a(registered_node_argv("a", {r1.address()}, {"--spawn", "counter:copied"}));
  node_process r2(registry_argv("r2", {"--peer", r1.address()}));
  local_node me;
  REQUIRE(poll_until([&] { return static_cast<bool>(ask_registry(me, r2.address(), "copied")); }, 2s * slowdown));
  auto ref = ask_registry(me, r2.address(), "copied");
  REQUIRE(ref);
  CHECK(ref->endpoint()->wire_address()->address == a.address());
  CHECK_THAT(r2.log(), Contains("event=copied_from_peer"));
}

TEST_CASE("a node killed and restarted at once on its address is whole at once, and lookups name the new incarnation",
          "[integration][registry][supersede]") {
  node_process reg(registry_argv("reg"));
  const auto listen = "tcp://127.0.0.1:" + std::to_string(unused_port());
  local_node me(with_registries("me", {reg.address()}));
  auto argv = registered_node_argv("n1", {reg.address()}, {"--listen", listen, "--spawn", "counter:c1"});
  auto first = std::make_unique<node_process>(argv);
  REQUIRE(poll_until([&] { return ask_registry(me, reg.address(), "c1").has_value(); }, 2s * slowdown));
  auto cached = me.node.lookup("c1");  // cached here, and watched at the registry
  REQUIRE(cached);
  CHECK(cached->endpoint()->wire_address()->incarnation == first->incarnation());

  for (int round = 0; round < 3; ++round) {  // as `restart: unless-stopped` would, more than once
    const auto old_incarnation = first->incarnation();
    first->kill_and_reap();
    const auto started = std::chrono::steady_clock::now();
    first = std::make_unique<node_process>(argv);  // ready once its --spawn counter:c1 has its name
    const auto took = std::chrono::steady_clock::now() - started;
    INFO("round " << round << ": ready after "
                  << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
    REQUIRE(first->incarnation() != old_incarnation);
    // the claim was answered: the registry let the new incarnation have the name at once,
    // and answered it on a connection that said HELLO to the new process
    CHECK(first->log().find("claim_skipped") == std::string::npos);
    CHECK(first->log().find("name_lost") == std::string::npos);
    // a lookup right after names the new incarnation, never the dead one
    auto now = ask_registry(me, reg.address(), "c1");
    REQUIRE(now);
    CHECK(now->endpoint()->wire_address()->incarnation == first->incarnation());
    // (this node's own connection to n1 learns of the restart from n1's next PONG; a request
    // on it before that may fail with node_down: restarted, and the next one goes through)
    CHECK(poll_until([&] { return me.ask<actor::counter_value>(*now, actor::counter_incr{1}, 1s).has_value(); },
                     3s * slowdown));
    // the node that cached the dead ref was told, and resolves the new one
    REQUIRE(poll_until(
        [&] {
          auto r = me.node.lookup("c1");
          return r && r->endpoint()->wire_address()->incarnation == first->incarnation();
        },
        2s * slowdown));
  }
  auto stats = me.ask<actor::registry_stats_reply>(me.node.service_at(reg.address(), actor::registry_id),
                                                   actor::registry_stats{});
  REQUIRE(stats);
  CHECK(stats->superseded == 3);
  CHECK(stats->names == 1);
}

TEST_CASE("lookups of many distinct names leave at most one watch per cached name at the registry",
          "[integration][registry][watch]") {
  node_process reg(registry_argv("reg"));
  node_process a(registered_node_argv("a", {reg.address()}));
  auto opts = with_registries("me", {reg.address()});
  opts.name_cache_size = 50;
  local_node me(opts);
  constexpr int names = 400;
  std::vector<actor::actor_ref> refs;
  for (int i = 0; i < names; ++i) {
    auto r = me.spawn_at(a.address(), "counter", "w" + std::to_string(i));
    REQUIRE(r);
    refs.push_back(*r);
  }
  auto registry = me.node.service_at(reg.address(), actor::registry_id);
  auto watches = [&]() -> std::uint64_t {
    auto s = me.ask<actor::registry_stats_reply>(registry, actor::registry_stats{});
    return s ? s->watches : ~std::uint64_t{0};
  };
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < names; ++i) REQUIRE(me.node.lookup("w" + std::to_string(i)));
  }
  // the agent's watches and unwatches are in flight; once they land, no more than the cache holds
  REQUIRE(poll_until([&] { return watches() <= 50; }, 5s * slowdown));
  CHECK(watches() > 0);
  // names going away take their watches with them
  for (auto& r : refs) REQUIRE(me.sys.stop(r, 5s).get());
  REQUIRE(poll_until([&] { return watches() == 0; }, 5s * slowdown));
}

TEST_CASE("a cached ref that fails is evicted and looked up again once", "[integration][registry][cache]") {
  node_process reg(registry_argv("reg"));
  node_process a(registered_node_argv("a", {reg.address()}));
  local_node me(with_registries("me", {reg.address()}));
  auto first = me.spawn_at(a.address(), "counter", "svc");
  REQUIRE(first);
  auto cached = me.node.lookup("svc");
  REQUIRE(cached);
  // the name moves to another actor; whether or not its change notice has come yet,
  // the caller whose ref failed gets the new one from lookup_again
  REQUIRE(me.sys.stop(*first, 5s).get());
  auto second = me.spawn_at(a.address(), "counter", "svc");
  REQUIRE(second);
  auto failed = me.ask<actor::counter_value>(*cached, actor::counter_get{});
  REQUIRE_FALSE(failed);
  auto again = me.node.lookup_again("svc", *cached);
  REQUIRE(again);
  CHECK(*again == *second);
  CHECK(me.ask<actor::counter_value>(*again, actor::counter_get{}));
  // a ref that is not the cached one does not evict a newer answer
  auto still = me.node.lookup_again("svc", *cached);
  REQUIRE(still);
  CHECK(*still == *second);
}

TEST_CASE("cached names expire after the cache TTL, and their watches with them", "[integration][registry][cache]") {
  node_process reg(registry_argv("reg"));
  node_process a(registered_node_argv("a", {reg.address()}, {"--spawn", "counter:t1", "--spawn", "counter:t2"}));
  auto opts = with_registries("me", {reg.address()});
  opts.name_cache_ttl = 1s;
  local_node me(opts);
  auto registry = me.node.service_at(reg.address(), actor::registry_id);
  auto watches = [&]() -> std::uint64_t {
    auto s = me.ask<actor::registry_stats_reply>(registry, actor::registry_stats{});
    return s ? s->watches : ~std::uint64_t{0};
  };
  REQUIRE(me.node.lookup("t1"));
  REQUIRE(me.node.lookup("t2"));
  REQUIRE(poll_until([&] { return watches() == 2; }, 2s * slowdown));
  // nothing changed, yet the entries are not trusted past their TTL: dropped, unwatched
  REQUIRE(poll_until([&] { return watches() == 0; }, 4s * slowdown));
  // and the next lookup asks the registry again (and watches again)
  REQUIRE(me.node.lookup("t1"));
  REQUIRE(poll_until([&] { return watches() == 1; }, 2s * slowdown));
}
