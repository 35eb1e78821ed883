// Observe and notify across nodes (docs/observe.md), after PyWorks' test program: a thermometer
// declares its output `reading` and notifies it; two displays on another node observe it by name
// and follow the name when the thermometer is restarted. Three systems in this process talk over
// TCP on 127.0.0.1: a registry, the node "north" (the thermometer) and "south" (the displays).
// Exits 0 when both displays saw every reading, in order, and the restart.

#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>

#include <actor/actor.hpp>
#include <actor/node.hpp>
#include <actor/registry.hpp>

using namespace std::chrono_literals;

struct sample {
  double celsius = 0;
  ACTOR_FIELDS(celsius)
};
struct reading {
  double celsius = 0;
  ACTOR_FIELDS(celsius)
};
struct seen_request {
  ACTOR_NO_FIELDS
};
struct seen {
  std::uint64_t readings = 0;
  std::uint64_t restarts = 0;
  ACTOR_FIELDS(readings, restarts)
};
ACTOR_MESSAGE(sample, "example.observe.sample");
ACTOR_MESSAGE(reading, "example.observe.reading");
ACTOR_MESSAGE(seen_request, "example.observe.seen_request");
ACTOR_MESSAGE(seen, "example.observe.seen");

// The observed actor: its output is declared in the constructor.
class thermometer final : public actor::actor_base {
 public:
  thermometer() { declare_outputs<reading>(); }

 protected:
  actor::behavior make_behavior() override {
    return {[this](const sample& s) { notify(reading{s.celsius}); }};
  }
};

// An observer of the name "thermometer": follows it to whichever actor holds it.
class display final : public actor::actor_base {
 public:
  explicit display(const actor::config& cfg) : label_(cfg.get_or<std::string>("label", "display")) {}

 protected:
  actor::behavior make_behavior() override {
    return {
        [this](const reading& r) {
          ++seen_.readings;
          std::printf("%s: %.1f C from actor %llu\n", label_.c_str(), r.celsius,
                      static_cast<unsigned long long>(sender().id()));
        },
        [this](const actor::observed_restarted& r) {
          ++seen_.restarts;
          std::printf("%s: '%s' restarted, now actor %llu\n", label_.c_str(), r.name.c_str(),
                      static_cast<unsigned long long>(r.ref.id()));
        },
        [this](const seen_request&) { return seen_; },
    };
  }
  void on_start() override { (void)observe("thermometer"); }

 private:
  std::string label_;
  seen seen_;
};

actor::node_options named(const std::string& name, std::vector<std::string> registries = {}) {
  actor::node_options o;
  o.name = name;
  o.registries = std::move(registries);
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

int main() {
  actor::actor_system registry_sys;
  actor::node registry_node(registry_sys, named("registry"));
  actor::host_registry(registry_node);

  actor::actor_system north_sys;
  actor::actor_system south_sys;
  north_sys.register_actor_type<thermometer>("example.thermometer");
  south_sys.register_actor_type<display>("example.display");
  actor::node north(north_sys, named("north", {registry_node.address()}));
  actor::node south(south_sys, named("south", {registry_node.address()}));

  auto first = north.spawn("example.thermometer", "thermometer");
  auto left = south.spawn("example.display", {}, actor::config{}.set("label", std::string("left")));
  auto right = south.spawn("example.display", {}, actor::config{}.set("label", std::string("right")));
  if (!first || !left || !right) return 1;
  auto observed_by_two = [&] { return north_sys.stats().observers == 2; };
  if (!eventually(observed_by_two)) return 1;

  for (double c : {20.5, 21.0, 21.5}) north_sys.send(*first, sample{c});
  auto counts = [&](std::uint64_t readings, std::uint64_t restarts) {
    for (const auto& d : {*left, *right}) {
      auto s = south_sys.request<seen>(d, seen_request{}, 5s).get();
      if (!s || s->readings != readings || s->restarts != restarts) return false;
    }
    return true;
  };
  if (!eventually([&] { return counts(3, 0); })) return 1;

  // the thermometer is replaced: the displays follow the name
  if (!north_sys.stop(*first, 5s).get()) return 1;
  auto second = north.spawn("example.thermometer", "thermometer");
  if (!second || !eventually(observed_by_two)) return 1;
  for (double c : {22.0, 22.5}) north_sys.send(*second, sample{c});
  if (!eventually([&] { return counts(5, 1); })) return 1;
  std::printf("both displays saw 5 readings and 1 restart\n");
  return 0;
}
