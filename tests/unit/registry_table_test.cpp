// The registry's table on its own: names, leases, syncs and watches, with the
// time passed in (no clock, no network).
#include <catch2/catch.hpp>

#include <deque>

#include "registry/table.hpp"
#include "test_support.hpp"

using actor::detail::registry_table;
using namespace std::chrono_literals;

namespace {

class idle final : public actor::actor_base {
 protected:
  actor::behavior make_behavior() override {
    return {[](const actor::stop_msg&) {}};
  }
};

struct fixture {
  actor::actor_system sys;
  registry_table table{2000ms};
  actor::time_point t0{};
  std::vector<registry_table::change> changes;
  actor::actor_ref a1 = sys.spawn<idle>(), a2 = sys.spawn<idle>(), b1 = sys.spawn<idle>(), w = sys.spawn<idle>();

  std::vector<std::string> events() {
    std::vector<std::string> out;
    for (const auto& c : changes) out.push_back(c.name + ":" + c.event);
    changes.clear();
    return out;
  }
};

}  // namespace

TEST_CASE_METHOD(fixture, "a name is held by one actor until it is released", "[registry]") {
  auto first = table.add("svc", a1, "A", t0, changes);
  REQUIRE(first);
  CHECK_FALSE(*first);
  CHECK(events() == std::vector<std::string>{"svc:appeared"});
  // the same actor again: fine, and nothing changed
  auto again = table.add("svc", a1, "A", t0, changes);
  REQUIRE(again);
  CHECK(*again);
  CHECK(events().empty());
  // another actor, of the same node or another: name_taken
  for (const auto& [ref, owner] : {std::pair{a2, "A"}, std::pair{b1, "B"}}) {
    auto taken = table.add("svc", ref, owner, t0, changes);
    REQUIRE_FALSE(taken);
    CHECK(taken.error().code == actor::errc::name_taken);
  }
  CHECK(table.find("svc") == a1);
  // only the holder releases it
  CHECK_FALSE(table.remove("svc", b1, "B", changes));
  CHECK(table.remove("svc", a1, "A", changes));
  CHECK(events() == std::vector<std::string>{"svc:disappeared"});
  CHECK_FALSE(table.find("svc"));
  CHECK(table.add("svc", b1, "B", t0, changes));
  CHECK(table.find("svc") == b1);
}

TEST_CASE_METHOD(fixture, "empty names and empty refs are refused", "[registry]") {
  CHECK(table.add("", a1, "A", t0, changes).error().code == actor::errc::bad_message);
  CHECK(table.add("x", actor::actor_ref{}, "A", t0, changes).error().code == actor::errc::bad_message);
  CHECK(table.size() == 0);
}

TEST_CASE_METHOD(fixture, "list returns the names under a prefix, in order", "[registry]") {
  for (const auto* n : {"users.b", "users.a", "orders.x", "users"}) REQUIRE(table.add(n, a1, "A", t0, changes));
  auto users = table.list("users.");
  REQUIRE(users.size() == 2);
  CHECK(users[0].name == "users.a");
  CHECK(users[1].name == "users.b");
  CHECK(table.list("").size() == 4);
  CHECK(table.list("zzz").empty());
}

TEST_CASE_METHOD(fixture, "a node's names lapse with its lease, and heartbeats renew it", "[registry]") {
  REQUIRE(table.add("a.one", a1, "A", t0, changes));
  REQUIRE(table.add("b.one", b1, "B", t0, changes));
  events();
  // A renews at 1.5 s; at 2.5 s B's lease (until 2 s) has lapsed, A's (until 3.5 s) has not
  auto [held, known] = table.renew("A", t0 + 1500ms);
  CHECK(held == 1);
  CHECK(known);
  table.expire(t0 + 2000ms, changes);  // exactly at the end: still held
  CHECK(events().empty());
  table.expire(t0 + 2500ms, changes);
  CHECK(events() == std::vector<std::string>{"b.one:disappeared"});
  CHECK(table.find("a.one") == a1);
  CHECK_FALSE(table.find("b.one"));
  // a lapsed owner that comes back is told it was not known, holds nothing
  auto [held_b, known_b] = table.renew("B", t0 + 2600ms);
  CHECK(held_b == 0);
  CHECK_FALSE(known_b);
  // and once lapsed, its name can be taken by another
  CHECK(table.add("b.one", a2, "A", t0 + 2600ms, changes));
}

TEST_CASE_METHOD(fixture, "a sync makes a node's names exactly what it says, keeping others' names", "[registry]") {
  REQUIRE(table.add("keep", a1, "A", t0, changes));
  REQUIRE(table.add("drop", a1, "A", t0, changes));
  REQUIRE(table.add("theirs", b1, "B", t0, changes));
  events();
  auto rejected = table.sync("A", {{"keep", a2}, {"new", a1}, {"theirs", a1}}, t0, changes);
  CHECK(rejected == std::vector<std::string>{"theirs"});
  CHECK(table.find("keep") == a2);
  CHECK(table.find("new") == a1);
  CHECK_FALSE(table.find("drop"));
  CHECK(table.find("theirs") == b1);
  auto ev = events();
  std::sort(ev.begin(), ev.end());
  CHECK(ev == std::vector<std::string>{"drop:disappeared", "keep:changed", "new:appeared"});
  CHECK(table.renew("A", t0).first == 2);
}

TEST_CASE_METHOD(fixture, "watchers hear of changes under their prefix until they unwatch or lapse", "[registry]") {
  table.watch("W", w, "svc.", t0);
  REQUIRE(table.add("svc.a", a1, "A", t0, changes));
  REQUIRE(table.add("other", a1, "A", t0, changes));
  REQUIRE(changes.size() == 2);
  CHECK(changes[0].watchers == std::vector<actor::actor_ref>{w});
  CHECK(changes[1].watchers.empty());
  changes.clear();
  // the watch is a lease of its owner: it lapses unless renewed, like names
  table.renew("A", t0 + 1900ms);
  table.expire(t0 + 2100ms, changes);
  CHECK(changes.empty());
  REQUIRE(table.remove("svc.a", a1, "A", changes));
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].watchers.empty());
  changes.clear();
  table.watch("W", w, "svc.", t0 + 2200ms);
  CHECK(table.unwatch(w, "svc."));
  CHECK_FALSE(table.unwatch(w, "svc."));
  REQUIRE(table.add("svc.b", a1, "A", t0 + 2200ms, changes));
  CHECK(changes.back().watchers.empty());
}

TEST_CASE_METHOD(fixture, "a new incarnation of a node at an address supersedes the old one at once", "[registry][supersede]") {
  const std::string old_owner = "tcp://127.0.0.1:7100#11", new_owner = "tcp://127.0.0.1:7100#22";
  REQUIRE(table.add("c1", a1, old_owner, t0, changes));
  REQUIRE(table.add("other", b1, "tcp://127.0.0.1:71000#5", t0, changes));  // another address sharing a prefix
  table.watch_name(old_owner, a2, "c1", t0);
  table.watch_name("W", w, "c1", t0);
  changes.clear();
  // the first word of the new incarnation drops the old one's names (watchers told), long before its lease lapses
  CHECK(table.arrive(new_owner, changes) == 1);
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].name == "c1");
  CHECK(changes[0].event == "disappeared");
  CHECK(changes[0].watchers == std::vector<actor::actor_ref>{w});  // not the superseded node's own watch
  changes.clear();
  CHECK_FALSE(table.find("c1"));
  CHECK(table.find("other") == b1);
  CHECK(table.retired(old_owner));
  CHECK_FALSE(table.retired(new_owner));
  CHECK(table.watches() == 1);
  // the new incarnation takes the name at once
  REQUIRE(table.add("c1", a2, new_owner, t0, changes));
  CHECK(table.find("c1") == a2);
  // an owner already known, a client, or one at another address supersedes nobody
  CHECK(table.arrive(new_owner, changes) == 0);
  CHECK(table.arrive("client:abc", changes) == 0);
  CHECK(table.arrive("tcp://127.0.0.1:7101#1", changes) == 0);
  CHECK(table.find("c1") == a2);
}

TEST_CASE_METHOD(fixture, "an exact watch hears only of its name, and goes when unwatched or its owner lapses",
                 "[registry][watch]") {
  table.watch_name("W", w, "svc", t0);
  table.watch_name("W", w, "svc", t0);  // once
  CHECK(table.watches() == 1);
  REQUIRE(table.add("svc.x", a1, "A", t0, changes));
  REQUIRE(table.add("svc", a2, "A", t0, changes));
  REQUIRE(changes.size() == 2);
  CHECK(changes[0].watchers.empty());
  CHECK(changes[1].watchers == std::vector<actor::actor_ref>{w});
  changes.clear();
  CHECK(table.unwatch_name(w, "svc"));
  CHECK_FALSE(table.unwatch_name(w, "svc"));
  CHECK(table.watches() == 0);
  table.watch_name("W", w, "svc", t0);
  table.watch_name("W", w, "svc.x", t0);
  CHECK(table.unwatch_names("W", w) == 2);
  CHECK(table.watches() == 0);
  table.watch_name("W", w, "svc", t0);
  table.watch("W", w, "s", t0);
  CHECK(table.watches() == 2);
  CHECK(table.prefix_watches() == 1);
  (void)table.renew("A", t0 + 2100ms);
  table.expire(t0 + 2100ms, changes);  // W's lease lapsed: its watches go with it
  CHECK(table.watches() == 0);
}

TEST_CASE_METHOD(fixture, "100,000 exact watches of distinct names, each unwatched when done, leave none behind",
                 "[registry][watch]") {
  // what a node's cache does: watch a name while it is cached, unwatch it when it is evicted
  constexpr std::size_t cache_size = 1000;
  std::deque<std::string> cached;
  for (int i = 0; i < 100000; ++i) {
    auto name = "n" + std::to_string(i);
    REQUIRE(table.add(name, a1, "A", t0, changes));
    table.watch_name("W", w, name, t0);
    cached.push_back(name);
    if (cached.size() > cache_size) {
      REQUIRE(table.unwatch_name(w, cached.front()));
      cached.pop_front();
    }
    CHECK(table.watches() <= cache_size);
  }
  changes.clear();
  CHECK(table.watches() == cache_size);
  // and a change notifies one watcher, not every watch there is
  REQUIRE(table.remove("n99999", a1, "A", changes));
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].watchers.size() == 1);
}
