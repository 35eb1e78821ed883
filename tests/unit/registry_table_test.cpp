// The registry's table on its own: names, leases, syncs and watches, with the
// time passed in (no clock, no network).
#include <catch2/catch.hpp>

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
