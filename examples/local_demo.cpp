// A tour of libactor's in-process runtime, printing what happens:
//   1. the warehouse example: a worker doubles numbers and sends each result to the warehouse
//      named in the task (positives or negatives)
//   2. a counter, incremented with sends and read with a request
//   3. a request that times out
//   4. an actor that crashes: its caller gets remote_error, the rest keeps running
//   5. stopping every actor: each answers `stopped`
// Exits 0 when every result is the expected one, 1 otherwise.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <actor/actor.hpp>

using namespace std::chrono_literals;

// ---- messages: plain structs, each registered once under a stable name ----------------------

struct task {
  std::int64_t input = 0;
  actor::actor_ref destination;  // refs travel inside messages
  ACTOR_FIELDS(input, destination)
};
struct result {
  std::int64_t value = 0;
  ACTOR_FIELDS(value)
};
struct get_processed {
  ACTOR_NO_FIELDS
};
struct processed {
  std::int64_t count = 0;
  ACTOR_FIELDS(count)
};
struct get_inventory {
  ACTOR_NO_FIELDS
};
struct inventory {
  std::vector<std::int64_t> items;
  ACTOR_FIELDS(items)
};
struct increment {
  std::int64_t by = 1;
  ACTOR_FIELDS(by)
};
struct get_count {
  ACTOR_NO_FIELDS
};
struct count {
  std::int64_t value = 0;
  ACTOR_FIELDS(value)
};
struct work_slowly {
  std::int64_t millis = 0;
  ACTOR_FIELDS(millis)
};
struct explode {
  std::string why;
  ACTOR_FIELDS(why)
};

ACTOR_MESSAGE(task, "example.task");
ACTOR_MESSAGE(result, "example.result");
ACTOR_MESSAGE(get_processed, "example.get_processed");
ACTOR_MESSAGE(processed, "example.processed");
ACTOR_MESSAGE(get_inventory, "example.get_inventory");
ACTOR_MESSAGE(inventory, "example.inventory");
ACTOR_MESSAGE(increment, "example.increment");
ACTOR_MESSAGE(get_count, "example.get_count");
ACTOR_MESSAGE(count, "example.count");
ACTOR_MESSAGE(work_slowly, "example.work_slowly");
ACTOR_MESSAGE(explode, "example.explode");

// ---- actors: derive from actor_base, return the handlers from make_behavior ------------------

/// Keeps every result it receives; answers get_inventory with a copy.
class warehouse final : public actor::actor_base {
 protected:
  actor::behavior make_behavior() override {
    return {
        [this](const result& r) { items_.push_back(r.value); },
        [this](const get_inventory&) { return inventory{items_}; },  // the return value is the reply
    };
  }

 private:
  std::vector<std::int64_t> items_;
};

/// Doubles each task's input and sends the result to the task's destination.
class worker final : public actor::actor_base {
 protected:
  actor::behavior make_behavior() override {
    return {
        [this](const task& t) {
          ++processed_;
          send(t.destination, result{t.input * 2});
        },
        [this](const get_processed&) { return processed{processed_}; },
    };
  }

 private:
  std::int64_t processed_ = 0;
};

class counter final : public actor::actor_base {
 protected:
  actor::behavior make_behavior() override {
    return {
        [this](const increment& m) { n_ += m.by; },
        [this](const get_count&) { return count{n_}; },
    };
  }

 private:
  std::int64_t n_ = 0;
};

/// Blocks in its handler: spawned detached, so it has a thread of its own.
class sleeper final : public actor::actor_base {
 protected:
  actor::behavior make_behavior() override {
    return {[](const work_slowly& m) {
      std::this_thread::sleep_for(std::chrono::milliseconds(m.millis));
      return count{m.millis};
    }};
  }
};

/// Throws from its handler: the actor stops with reason `crashed`, nothing else does.
class bomb final : public actor::actor_base {
 protected:
  actor::behavior make_behavior() override {
    return {[](const explode& m) -> count { throw std::runtime_error(m.why); }};
  }
};

// ---- checking and printing ------------------------------------------------------------------

int failures = 0;

void expect(bool ok, const std::string& what) {
  if (!ok) {
    std::printf("  FAILED: %s\n", what.c_str());
    ++failures;
  }
}

std::string to_text(const inventory& inv) {
  std::string s = "[";
  for (std::size_t i = 0; i < inv.items.size(); ++i) s += (i ? ", " : "") + std::to_string(inv.items[i]);
  return s + "]";
}
std::string to_text(const count& c) { return std::to_string(c.value); }
std::string to_text(const processed& p) { return std::to_string(p.count) + " processed"; }
std::string to_text(const actor::stopped&) { return "stopped"; }

/// A reply, or the error instead of it.
template <class T>
std::string to_text(const actor::expected<T>& r) {
  return r ? to_text(*r) : "error " + r.error().describe();
}

int main() {
  actor::actor_system system;  // a worker thread per core, the real clock

  std::printf("1. warehouses\n");
  auto positives = system.spawn<warehouse>();
  auto negatives = system.spawn<warehouse>();
  auto doubler = system.spawn<worker>();
  for (std::int64_t v : {1, 2, 3, -2, -4, -6}) system.send(doubler, task{v, v >= 0 ? positives : negatives});
  // Messages from one sender arrive in order: this request is handled after the six
  // tasks, so when it is answered every result has been sent to its warehouse.
  auto done = system.request<processed>(doubler, get_processed{}, 1s).get();
  std::printf("  worker: %s\n", to_text(done).c_str());
  expect(done && done->count == 6, "the worker processed 6 tasks");
  auto pos = system.request<inventory>(positives, get_inventory{}, 1s).get();
  auto neg = system.request<inventory>(negatives, get_inventory{}, 1s).get();
  std::printf("  positives: %s\n", to_text(pos).c_str());
  std::printf("  negatives: %s\n", to_text(neg).c_str());
  expect(pos && pos->items == std::vector<std::int64_t>{2, 4, 6}, "positives hold [2, 4, 6]");
  expect(neg && neg->items == std::vector<std::int64_t>{-4, -8, -12}, "negatives hold [-4, -8, -12]");

  std::printf("2. counter\n");
  auto c = system.spawn<counter>();
  system.send(c, increment{5});
  system.send(c, increment{});
  auto n = system.request<count>(c, get_count{}, 1s).get();
  std::printf("  after +5 and +1: %s\n", to_text(n).c_str());
  expect(n && n->value == 6, "the counter reads 6");

  std::printf("3. a request that times out\n");
  auto slow = system.spawn_detached<sleeper>();
  auto late = system.request<count>(slow, work_slowly{300}, 50ms).get();
  std::printf("  300 ms of work, 50 ms deadline: %s\n", to_text(late).c_str());
  expect(!late && late.error().code == actor::errc::timeout, "the request fails with timeout");

  std::printf("4. an actor that crashes\n");
  auto b = system.spawn<bomb>();
  auto boom = system.request<count>(b, explode{"out of coffee"}, 1s).get();
  std::printf("  explode: %s\n", to_text(boom).c_str());
  expect(!boom && boom.error().code == actor::errc::remote_error, "the request fails with remote_error");
  auto still = system.request<count>(c, get_count{}, 1s).get();
  std::printf("  the counter still answers: %s\n", to_text(still).c_str());
  expect(still && still->value == 6, "the counter still runs after the crash");

  std::printf("5. stopping\n");
  struct named {
    const char* name;
    actor::actor_ref ref;
  };
  for (const auto& [name, ref] : {named{"worker", doubler}, named{"positives", positives},
                                  named{"negatives", negatives}, named{"counter", c}, named{"sleeper", slow}}) {
    auto r = system.stop(ref, 1s).get();
    std::printf("  %-9s -> %s\n", name, to_text(r).c_str());
    expect(r.has_value(), std::string(name) + " answers stopped");
  }
  expect(system.await_all_actors_done_for(1000ms), "every actor is done");
  auto stats = system.stats();
  std::printf("  alive %zu, spawned %llu, crashed %llu\n", stats.actors_alive,
              static_cast<unsigned long long>(stats.actors_spawned),
              static_cast<unsigned long long>(stats.actors_crashed));
  expect(stats.actors_alive == 0 && stats.actors_spawned == 6 && stats.actors_crashed == 1,
         "0 alive, 6 spawned, 1 crashed");

  if (failures != 0) {
    std::printf("local_demo: %d check(s) FAILED\n", failures);
    return 1;
  }
  std::printf("local_demo: all checks passed\n");
  return 0;
}
