// Groups (actor/group.hpp) inside one process: a publish reaches every member once and in
// publish order, members go when they stop or leave, joins and spawn configs are checked, a
// publish without a node is counted as dropped; and across three nodes with a registry (TCP on
// 127.0.0.1), including a node that goes away.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "actor/group.hpp"
#include "actor/node.hpp"
#include "actor/registry.hpp"
#include "test_support.hpp"

namespace group_test {

struct note {
  std::uint64_t seq = 0;
  ACTOR_FIELDS(seq)
};
struct seen_request {
  ACTOR_NO_FIELDS
};
struct seen {
  std::vector<std::uint64_t> seqs;
  ACTOR_FIELDS(seqs)
};
struct publish_range {
  std::string group;
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  ACTOR_FIELDS(group, first, last)
};
struct join_cmd {
  std::string group;
  ACTOR_FIELDS(group)
};
struct leave_cmd {
  std::string group;
  ACTOR_FIELDS(group)
};
struct outcome {
  std::string name;   ///< the membership's name, when it joined
  std::string error;  ///< what went wrong, else empty
  ACTOR_FIELDS(name, error)
};

}  // namespace group_test

ACTOR_MESSAGE(group_test::note, "test.group.note");
ACTOR_MESSAGE(group_test::seen_request, "test.group.seen_request");
ACTOR_MESSAGE(group_test::seen, "test.group.seen");
ACTOR_MESSAGE(group_test::publish_range, "test.group.publish_range");
ACTOR_MESSAGE(group_test::join_cmd, "test.group.join");
ACTOR_MESSAGE(group_test::leave_cmd, "test.group.leave");
ACTOR_MESSAGE(group_test::outcome, "test.group.outcome");

namespace group_test {

using namespace test;
using actor::actor_ref;

// A member (spawned with config {"groups": [...]}, or told to join) and a publisher in one.
class peer final : public actor::actor_base {
 protected:
  actor::behavior make_behavior() override {
    return {
        [this](const note& n) { seqs_.push_back(n.seq); },
        [this](const seen_request&) { return seen{seqs_}; },
        [this](const publish_range& r) {
          for (auto n = r.first; n <= r.last; ++n) publish(r.group, note{n});
          return outcome{};
        },
        [this](const join_cmd& j) {
          auto answer = make_response_promise();
          join_group(j.group).then([answer](const actor::group_joined& ok) mutable { answer.deliver(outcome{ok.name, {}}); },
                             [answer](const actor::error& e) mutable { answer.deliver(outcome{{}, e.describe()}); });
        },
        [this](const leave_cmd& l) {
          leave_group(l.group);
          return outcome{};
        },
    };
  }

 private:
  std::vector<std::uint64_t> seqs_;
};

actor::system_options two_workers() {
  actor::system_options o;
  o.workers = 2;
  return o;
}

// A system with a node; peers spawn by type "test.peer".
struct place {
  explicit place(const std::string& name, std::vector<std::string> registries = {})
      : sys(two_workers()), node(sys, options(name, std::move(registries))) {
    sys.register_actor_type<peer>("test.peer");
  }
  static actor::node_options options(const std::string& name, std::vector<std::string> registries) {
    actor::node_options o;
    o.name = name;
    o.registries = std::move(registries);
    o.heartbeat_interval = 50ms;
    o.suspect_after = 200ms;
    o.down_after = 400ms;
    o.registry_timeout = 500ms;
    return o;
  }
  actor_ref member(const std::string& group) {
    auto ref = node.spawn("test.peer", {}, actor::config{}.set("groups", std::vector<std::string>{group}));
    INFO((ref ? std::string("-") : ref.error().describe()));
    REQUIRE(ref);
    return *ref;
  }
  std::vector<std::uint64_t> seqs(const actor_ref& who) {
    return await_value(sys.request<seen>(who, seen_request{}, far_timeout)).seqs;
  }
  std::size_t members(const std::string& group) {
    auto r = await(sys.request<actor::group_members>(node.name_service(), actor::group_members_request{group}, 5s));
    return r ? r->members.size() : 0;
  }
  void publish(const actor_ref& from, const std::string& group, std::uint64_t first, std::uint64_t last) {
    (void)await_value(sys.request<outcome>(from, publish_range{group, first, last}, far_timeout));
  }

  actor::actor_system sys;
  actor::node node;
};

std::vector<std::uint64_t> range(std::uint64_t first, std::uint64_t last) {
  std::vector<std::uint64_t> out;
  for (auto n = first; n <= last; ++n) out.push_back(n);
  return out;
}

TEST_CASE("a publish reaches every member once, in publish order, held until the members are known",
          "[group]") {
  place p("solo");
  std::vector<actor_ref> members{p.member("g"), p.member("g"), p.member("g")};
  auto outsider = p.sys.spawn<peer>();
  // the first publishes are held while the node learns the members, then sent in order
  p.publish(outsider, "g", 1, 100);
  for (const auto& m : members) REQUIRE(wait_until([&] { return p.seqs(m).size() >= 100; }));
  p.publish(outsider, "g", 101, 200);
  for (const auto& m : members) {
    REQUIRE(wait_until([&] { return p.seqs(m).size() >= 200; }));
    CHECK(p.seqs(m) == range(1, 200));
  }
  CHECK(p.seqs(outsider).empty());  // not a member
  CHECK(p.sys.stats().groups_followed == 1);
  CHECK(p.sys.stats().group_publishes_dropped == 0);
}

TEST_CASE("a member that stops or leaves is no longer published to; a member receives its own publishes",
          "[group]") {
  place p("solo");
  auto a = p.member("g");
  auto b = p.member("g");
  auto c = p.member("g");
  REQUIRE(p.members("g") == 3);
  await_value(p.sys.stop(a, far_timeout));
  REQUIRE(await_value(p.sys.request<outcome>(b, leave_cmd{"g"}, far_timeout)).error.empty());
  REQUIRE(wait_until([&] { return p.members("g") == 1; }));
  p.publish(c, "g", 1, 5);
  REQUIRE(wait_until([&] { return p.seqs(c).size() == 5; }));
  CHECK(p.seqs(c) == range(1, 5));
  CHECK(p.seqs(b).empty());
  // joining twice is one membership
  const auto first = await_value(p.sys.request<outcome>(b, join_cmd{"g"}, far_timeout));
  const auto again = await_value(p.sys.request<outcome>(b, join_cmd{"g"}, far_timeout));
  CHECK(first.error.empty());
  CHECK(first.name == again.name);
  CHECK(first.name.rfind("pg/g/" + p.node.address() + "/", 0) == 0);
  REQUIRE(wait_until([&] { return p.members("g") == 2; }));
}

TEST_CASE("joins and spawn configs are checked: the error names what is wrong", "[group]") {
  place p("solo");
  auto who = p.sys.spawn<peer>();
  auto empty = await_value(p.sys.request<outcome>(who, join_cmd{""}, far_timeout));
  CHECK(empty.error.find("empty") != std::string::npos);
  auto slash = await_value(p.sys.request<outcome>(who, join_cmd{"a/b"}, far_timeout));
  CHECK(slash.error.find("'/'") != std::string::npos);

  const auto alive = p.sys.stats().actors_alive;
  auto not_a_list = p.node.spawn("test.peer", {}, actor::config{}.set("groups", std::string("g")));
  REQUIRE_FALSE(not_a_list);
  CHECK(not_a_list.error().code == actor::errc::bad_message);
  CHECK(not_a_list.error().text.find("'groups'") != std::string::npos);
  auto bad_name = p.node.spawn("test.peer", {}, actor::config{}.set("groups", std::vector<std::string>{"ok", ""}));
  REQUIRE_FALSE(bad_name);
  CHECK(bad_name.error().text.find("'groups'") != std::string::npos);
  // nothing was left running
  CHECK(wait_until([&] { return p.sys.stats().actors_alive == alive; }));

  // a spawn request from elsewhere is checked the same way
  auto r = await(p.sys.request<actor::spawn_reply>(
      p.node.manager(), actor::spawn_request{"test.peer", {}, actor::config{}.set("groups", 7)}, 5s));
  REQUIRE_FALSE(r);
  CHECK(r.error().text.find("'groups'") != std::string::npos);
}

TEST_CASE("without a node a publish reaches nobody, and is counted as dropped", "[group]") {
  actor::actor_system sys(two_workers());
  auto who = sys.spawn<peer>();
  (void)await_value(sys.request<outcome>(who, publish_range{"g", 1, 3}, far_timeout));
  CHECK(sys.stats().group_publishes_dropped == 3);
  CHECK(sys.stats().groups_followed == 0);
  auto joined = await_value(sys.request<outcome>(who, join_cmd{"g"}, far_timeout));
  CHECK_FALSE(joined.error.empty());
}

TEST_CASE("across three nodes with a registry: every member once, wherever it is; a node that goes is removed",
          "[group][node]") {
  actor::actor_system registry_sys(two_workers());
  actor::node registry_node(registry_sys, place::options("registry", {}));
  actor::registry_options ro;
  ro.lease = 400ms;
  actor::host_registry(registry_node, ro);

  place a("a", {registry_node.address()});
  place b("b", {registry_node.address()});
  auto c = std::make_unique<place>("c", std::vector<std::string>{registry_node.address()});
  std::vector<actor_ref> on_a{a.member("g"), a.member("g")};
  std::vector<actor_ref> on_b{b.member("g"), b.member("g")};
  std::vector<actor_ref> on_c{c->member("g"), c->member("g")};
  auto publisher = a.sys.spawn<peer>();

  REQUIRE(wait_until([&] { return a.members("g") == 6; }));
  a.publish(publisher, "g", 1, 50);
  for (const auto& m : on_a) REQUIRE(wait_until([&] { return a.seqs(m).size() >= 50; }));
  for (const auto& m : on_b) REQUIRE(wait_until([&] { return b.seqs(m).size() >= 50; }));
  for (const auto& m : on_c) REQUIRE(wait_until([&] { return c->seqs(m).size() >= 50; }));
  for (const auto& m : on_a) CHECK(a.seqs(m) == range(1, 50));
  for (const auto& m : on_b) CHECK(b.seqs(m) == range(1, 50));
  for (const auto& m : on_c) CHECK(c->seqs(m) == range(1, 50));

  // a member on another node that stops is removed everywhere
  await_value(b.sys.stop(on_b[1], far_timeout));
  REQUIRE(wait_until([&] { return a.members("g") == 5; }));
  // node c goes away without a word (its system and node destroyed): its lease lapses
  c.reset();
  REQUIRE(wait_until([&] { return a.members("g") == 3; }, 10s));
  a.publish(publisher, "g", 51, 60);
  for (const auto& m : on_a) REQUIRE(wait_until([&] { return a.seqs(m).size() >= 60; }));
  REQUIRE(wait_until([&] { return b.seqs(on_b[0]).size() >= 60; }));
  CHECK(b.seqs(on_b[0]) == range(1, 60));
  CHECK(a.sys.stats().group_publishes_dropped == 0);
}

}  // namespace group_test
