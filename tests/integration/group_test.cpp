// Groups across processes (actor/group.hpp, docs/groups.md): real actor-node and actor-registry
// processes on 127.0.0.1, built-in counters that join a group from their spawn config, publishes
// from an actor of this process and from a Bridge; a member's node SIGKILLed, and restarted.
#include <catch2/catch.hpp>

#include "actor/bridge.hpp"
#include "actor/builtins.hpp"
#include "actor/group.hpp"
#include "harness.hpp"

using namespace itest;

namespace group_itest {

struct publish_incr {
  std::string group;
  std::int64_t by = 1;
  std::int64_t times = 1;
  ACTOR_FIELDS(group, by, times)
};
struct published {
  ACTOR_NO_FIELDS
};

}  // namespace group_itest

ACTOR_MESSAGE(group_itest::publish_incr, "itest.group.publish_incr");
ACTOR_MESSAGE(group_itest::published, "itest.group.published");

namespace group_itest {

// Publishes counter increments to a group.
class publisher final : public actor::actor_base {
 protected:
  actor::behavior make_behavior() override {
    return {[this](const publish_incr& p) {
      for (std::int64_t i = 0; i < p.times; ++i) publish(p.group, actor::counter_incr{p.by});
      return published{};
    }};
  }
};

actor::node_options with_registries(const std::string& name, std::vector<std::string> registries) {
  auto o = fast_node_options(name);
  o.registries = std::move(registries);
  return o;
}

// `--spawn counter:NAME={"groups":["tally"]}` for each name.
std::vector<std::string> members(std::initializer_list<const char*> names) {
  std::vector<std::string> out;
  for (const auto* n : names) {
    out.emplace_back("--spawn");
    out.push_back(std::string("counter:") + n + R"(={"groups":["tally"]})");
  }
  return out;
}

std::size_t known_members(local_node& me, const std::string& group) {
  auto r = me.ask<actor::group_members>(me.node.name_service(), actor::group_members_request{group});
  return r ? r->members.size() : 0;
}

bool value_is(local_node& me, const std::string& address, const std::string& name, std::int64_t want) {
  return poll_until(
      [&] {
        auto ref = me.lookup_at(address, name);
        if (!ref) return false;
        auto v = me.ask<actor::counter_value>(*ref, actor::counter_get{});
        return v && v->value == want;
      },
      10s);
}

TEST_CASE("a group across three node processes: each member once; a SIGKILLed node's members go, a restarted "
          "node's old members too; a Bridge publishes as well",
          "[integration][group]") {
  node_process reg(registry_argv("reg"));
  node_process a(registered_node_argv("a", {reg.address()}, members({"a1"})));
  node_process b(registered_node_argv("b", {reg.address()}, members({"b1"})));
  auto c = std::make_unique<node_process>(registered_node_argv("c", {reg.address()}, members({"c1", "c2"})));
  local_node me(with_registries("itest", {reg.address()}));
  auto pub = me.sys.spawn<publisher>();

  REQUIRE(poll_until([&] { return known_members(me, "tally") == 4; }, 10s));
  REQUIRE(me.ask<published>(pub, publish_incr{"tally", 1, 10}));
  CHECK(value_is(me, a.address(), "a1", 10));
  CHECK(value_is(me, b.address(), "b1", 10));
  CHECK(value_is(me, c->address(), "c1", 10));
  CHECK(value_is(me, c->address(), "c2", 10));

  // SIGKILL: c's memberships go with its lease
  REQUIRE(c->kill());
  REQUIRE(poll_until([&] { return known_members(me, "tally") == 2; }, 10s));
  REQUIRE(me.ask<published>(pub, publish_incr{"tally", 1, 5}));
  CHECK(value_is(me, a.address(), "a1", 15));
  CHECK(value_is(me, b.address(), "b1", 15));

  // a restarted node: b stops for good, a new b-like node takes over at another address;
  // the Bridge publishes to the members the registry lists now
  actor::bridge_options bo;
  bo.registries = {reg.address()};
  actor::bridge bridge(bo);
  auto listed = bridge.members("tally");
  REQUIRE(listed);
  CHECK(listed->size() == 2);
  auto out = bridge.publish("tally", actor::counter_incr{2});
  REQUIRE(out);
  CHECK(out->members == 2);
  CHECK(out->sent == 2);
  CHECK(out->failed.empty());
  CHECK(value_is(me, a.address(), "a1", 17));
  CHECK(value_is(me, b.address(), "b1", 17));

  // bad group names are refused before anything is sent
  auto bad = bridge.publish("a/b", actor::counter_incr{1});
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == actor::errc::bad_message);
}

TEST_CASE("a member's node restarted at the same address: its old members are removed, its new ones join",
          "[integration][group][restart]") {
  node_process reg(registry_argv("reg"));
  reserved_port port_holder;
  const auto port = port_holder.port();
  const std::string listen = "tcp://127.0.0.1:" + std::to_string(port);
  local_node me(with_registries("itest", {reg.address()}));
  auto pub = me.sys.spawn<publisher>();
  std::vector<std::string> extra = members({"m1"});
  extra.insert(extra.end(), {"--listen", listen});
  {
    auto argv = registered_node_argv("m", {reg.address()}, extra);
    std::optional<node_process> first;
    {
      auto released = std::move(port_holder);  // free the port for the node
    }
    first.emplace(argv);
    REQUIRE(poll_until([&] { return known_members(me, "tally") == 1; }, 10s));
    REQUIRE(first->kill());
    // restarted at once, before the lease lapses: the new incarnation supersedes the old one
    node_process second(argv);
    REQUIRE(poll_until(
        [&] {
          auto r = me.ask<actor::group_members>(me.node.name_service(), actor::group_members_request{"tally"});
          auto now = me.lookup_at(second.address(), "m1");  // the new incarnation's
          return r && r->members.size() == 1 && now &&
                 actor::format_ref(r->members[0]) == actor::format_ref(*now);
        },
        10s));
    REQUIRE(me.ask<published>(pub, publish_incr{"tally", 1, 3}));
    CHECK(value_is(me, second.address(), "m1", 3));
  }
}

}  // namespace group_itest
