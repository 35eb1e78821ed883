// Groups across nodes (docs/groups.md), like Erlang's pg: listeners on two nodes join the group
// "alerts" from their spawn config; a publisher on a third node publishes to it without knowing
// who listens. Then one listener's node goes away: the registry drops its membership when the
// node's lease lapses, and the next alerts reach the others only. Four systems in this process
// talk over TCP on 127.0.0.1: a registry and the nodes "east", "west" (listeners) and "hq".
// Exits 0 when every listener saw every alert meant for it, once, in order.

#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <actor/actor.hpp>
#include <actor/group.hpp>
#include <actor/node.hpp>
#include <actor/registry.hpp>

using namespace std::chrono_literals;

struct alert {
  std::uint64_t number = 0;
  std::string text;
  ACTOR_FIELDS(number, text)
};
struct raise_alerts {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  ACTOR_FIELDS(first, last)
};
struct raised {
  ACTOR_NO_FIELDS
};
struct heard_request {
  ACTOR_NO_FIELDS
};
struct heard {
  std::vector<std::uint64_t> numbers;
  ACTOR_FIELDS(numbers)
};
ACTOR_MESSAGE(alert, "example.group.alert");
ACTOR_MESSAGE(raise_alerts, "example.group.raise");
ACTOR_MESSAGE(raised, "example.group.raised");
ACTOR_MESSAGE(heard_request, "example.group.heard_request");
ACTOR_MESSAGE(heard, "example.group.heard");

// A member: spawned with config {"groups": ["alerts"]}, its node joins it.
class listener final : public actor::actor_base {
 public:
  explicit listener(const actor::config& cfg) : label_(cfg.get_or<std::string>("label", "listener")) {}

 protected:
  actor::behavior make_behavior() override {
    return {
        [this](const alert& a) {
          heard_.numbers.push_back(a.number);
          std::printf("%s: alert %llu: %s\n", label_.c_str(), static_cast<unsigned long long>(a.number), a.text.c_str());
        },
        [this](const heard_request&) { return heard_; },
    };
  }

 private:
  std::string label_;
  heard heard_;
};

// Publishes alerts to the group; it does not know who listens, nor where.
class siren final : public actor::actor_base {
 protected:
  actor::behavior make_behavior() override {
    return {[this](const raise_alerts& r) {
      for (auto n = r.first; n <= r.last; ++n) publish("alerts", alert{n, "disk " + std::to_string(80 + n) + "% full"});
      return raised{};
    }};
  }
};

actor::node_options named(const std::string& name, std::vector<std::string> registries = {}) {
  actor::node_options o;
  o.name = name;
  o.registries = std::move(registries);
  o.heartbeat_interval = 100ms;  // a gone node's lease lapses within about a second
  return o;
}

// Polls pred every millisecond until it holds or 10 s passed.
bool eventually(const std::function<bool()>& pred) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// A system with a node on 127.0.0.1 that can spawn listeners.
struct place {
  place(const std::string& name, const std::string& registry) : node(sys, named(name, {registry})) {
    sys.register_actor_type<listener>("example.listener");
  }
  actor::actor_ref listen(const std::string& label) {
    auto cfg = actor::config{}.set("label", label).set("groups", std::vector<std::string>{"alerts"});
    auto ref = node.spawn("example.listener", {}, cfg);
    return ref ? *ref : actor::actor_ref{};
  }
  bool heard_exactly(const actor::actor_ref& who, std::uint64_t first, std::uint64_t last) {
    auto h = sys.request<heard>(who, heard_request{}, 5s).get();
    if (!h) return false;
    std::vector<std::uint64_t> want;
    for (auto n = first; n <= last; ++n) want.push_back(n);
    return h->numbers == want;
  }
  actor::actor_system sys;
  actor::node node;
};

int main() {
  actor::actor_system registry_sys;
  actor::node registry_node(registry_sys, named("registry"));
  actor::registry_options ro;
  ro.lease = 1s;
  actor::host_registry(registry_node, ro);
  const auto registry = registry_node.address();

  place east("east", registry);
  auto west = std::make_unique<place>("west", registry);
  place hq("hq", registry);
  auto e1 = east.listen("east-1");
  auto e2 = east.listen("east-2");
  auto w1 = west->listen("west-1");
  if (!e1 || !e2 || !w1) return 1;
  auto alarm_ref = hq.sys.spawn<siren>();

  // the first publish makes hq learn the members (held until it has); all three hear 1..3
  if (!hq.sys.request<raised>(alarm_ref, raise_alerts{1, 3}, 5s).get()) return 1;
  if (!eventually([&] { return east.heard_exactly(e1, 1, 3) && east.heard_exactly(e2, 1, 3) && west->heard_exactly(w1, 1, 3); })) {
    return 1;
  }

  // west goes away without a word: its membership lapses with its lease
  west.reset();
  auto members_at_hq = [&] {
    auto m = hq.sys.request<actor::group_members>(hq.node.name_service(), actor::group_members_request{"alerts"}, 5s).get();
    return m ? m->members.size() : 0;
  };
  if (!eventually([&] { return members_at_hq() == 2; })) return 1;
  std::printf("west is gone: 'alerts' has %zu members\n", members_at_hq());
  if (!hq.sys.request<raised>(alarm_ref, raise_alerts{4, 5}, 5s).get()) return 1;
  if (!eventually([&] { return east.heard_exactly(e1, 1, 5) && east.heard_exactly(e2, 1, 5); })) return 1;
  std::printf("every listener heard each of its alerts once, in order\n");
  return 0;
}
