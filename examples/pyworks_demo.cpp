// The PyWorks test program (seed 000) with libactor's tasks (docs/tasks.md): a thermometer Task
// with an output on the node "north", two display Tasks on the node "south" that observe it by
// name, each side started as a sequence (configure all, then start all); a state change (the
// thermometer goes idle and refuses to measure); and a sequence with a display whose config lacks
// a key, refused with the key named and nothing left running. Three systems in this process talk
// over TCP on 127.0.0.1: a registry, north and south. Exits 0 when all of that happened.

#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>

#include <actor/actor.hpp>
#include <actor/node.hpp>
#include <actor/registry.hpp>
#include <actor/task.hpp>

using namespace std::chrono_literals;

struct reading {
  double degrees = 0;
  std::string unit;
  ACTOR_FIELDS(degrees, unit)
};
struct measure {
  double celsius = 0;
  ACTOR_FIELDS(celsius)
};
struct rest {
  ACTOR_NO_FIELDS
};
struct seen_request {
  ACTOR_NO_FIELDS
};
struct seen {
  std::uint64_t readings = 0;
  ACTOR_FIELDS(readings)
};
ACTOR_MESSAGE(reading, "example.pyworks.reading");
ACTOR_MESSAGE(measure, "example.pyworks.measure");
ACTOR_MESSAGE(rest, "example.pyworks.rest");
ACTOR_MESSAGE(seen_request, "example.pyworks.seen_request");
ACTOR_MESSAGE(seen, "example.pyworks.seen");

// The producer: its output is `reading`; in state "measuring" a measure becomes a reading, in
// state "idle" it is refused.
class thermometer final : public actor::task {
 public:
  explicit thermometer(const actor::config& cfg)
      : task(cfg, actor::config_schema{}.optional("unit", actor::config_kind::string, std::string("C"), "C or F")) {
    declare_outputs<reading>();
    add_state(
        "measuring",
        [this] {
          return actor::behavior{
              [this](const measure& m) { notify(reading{unit_ == "F" ? m.celsius * 9 / 5 + 32 : m.celsius, unit_}); },
              [this](const rest&) { transition("idle"); }};
        },
        [] { std::printf("thermometer: measuring\n"); });
    add_state("idle", [] {
      return actor::behavior{[](const measure&) -> actor::expected<seen> {
        return actor::error{actor::errc::bad_message, "the thermometer is idle"};
      }};
    }, [] { std::printf("thermometer: idle\n"); });
  }

 protected:
  void on_configure(const actor::config& s) override {
    unit_ = s.get<std::string>("unit").value();
    if (unit_ != "C" && unit_ != "F") throw std::invalid_argument("unit must be C or F, not " + unit_);
  }

 private:
  std::string unit_;
};

// An observer: observes its config's "observe" name once it runs.
class display final : public actor::task {
 public:
  explicit display(const actor::config& cfg)
      : task(cfg, actor::config_schema{}
                      .required("label", actor::config_kind::string, "what it prints")
                      .required("observe", actor::config_kind::string, "the name it observes")) {}

 protected:
  void on_run() override { (void)observe(settings().get<std::string>("observe").value()); }
  actor::behavior make_state_behavior() override {
    return {
        [this](const reading& r) {
          ++seen_.readings;
          std::printf("%s: %.1f %s\n", settings().get<std::string>("label").value().c_str(), r.degrees, r.unit.c_str());
        },
        [this](const seen_request&) { return seen_; },
    };
  }

 private:
  seen seen_;
};

actor::node_options named(const std::string& name, std::vector<std::string> registries = {}) {
  actor::node_options o;
  o.name = name;
  o.registries = std::move(registries);
  return o;
}

bool eventually(const std::function<bool()>& pred) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

actor::config display_config(const std::string& label) {
  return actor::config{}.set("label", label).set("observe", std::string("thermometer"));
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

  // each node starts its tasks as a sequence: configure all, then start all
  auto producer = actor::start_tasks(north, {{"example.thermometer", "thermometer", actor::config{}.set("unit", std::string("F"))}});
  auto displays = actor::start_tasks(south, {{"example.display", "left", display_config("left")},
                                             {"example.display", "right", display_config("right")}});
  if (!producer || !displays) return 1;
  auto thermo = producer->front();
  if (!eventually([&] { return north_sys.stats().observers == 2; })) return 1;

  for (double c : {20.0, 21.5, 23.0}) north_sys.send(thermo, measure{c});
  auto saw = [&](std::uint64_t n) {
    for (const auto& d : *displays) {
      auto s = south_sys.request<seen>(d, seen_request{}, 5s).get();
      if (!s || s->readings != n) return false;
    }
    return true;
  };
  if (!eventually([&] { return saw(3); })) return 1;

  // a state change: idle, it refuses to measure
  north_sys.send(thermo, rest{});
  auto refused = north_sys.request<seen>(thermo, measure{25.0}, 5s).get();
  auto state = north_sys.request<actor::task_state>(thermo, actor::task_state_request{}, 5s).get();
  if (refused || !state || state->state != "idle") return 1;
  std::printf("left and right saw 3 readings; the thermometer is %s (%s)\n", state->state.c_str(), refused.error().text.c_str());

  // a sequence with a display that lacks its label: refused, the first display stopped again
  const auto alive = south_sys.stats().actors_alive;
  auto bad = actor::start_tasks(south, {{"example.display", "top", display_config("top")},
                                        {"example.display", "bottom", actor::config{}.set("observe", std::string("thermometer"))}});
  if (bad) return 1;
  std::printf("refused: %s\n", bad.error().text.c_str());
  if (!eventually([&] { return south_sys.stats().actors_alive == alive; })) return 1;
  std::printf("nothing of it is left running\n");
  return 0;
}
