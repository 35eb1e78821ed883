// Supervisors in one program (docs/supervisors.md), printing what happens:
//   1. a node's "supervisor" actor starts a named worker from a spec
//   2. the worker crashes; the supervisor restarts it after its backoff, under the same name
//   3. the supervisor's stats: each child's ref, restarts and next restart time
//   4. stopping the supervisor stops its children in reverse start order
// Exits 0 when everything happened as expected, 1 otherwise.

#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>

#include <actor/actor.hpp>
#include <actor/log.hpp>
#include <actor/node.hpp>
#include <actor/supervisor.hpp>

using namespace std::chrono_literals;

struct work {
  std::int64_t n = 0;
  ACTOR_FIELDS(n)
};
struct done {
  std::int64_t result = 0;
  ACTOR_FIELDS(result)
};
ACTOR_MESSAGE(work, "demo.work");
ACTOR_MESSAGE(done, "demo.done");

// Doubles numbers; a negative one makes it throw, which crashes it.
class worker final : public actor::actor_base {
 protected:
  actor::behavior make_behavior() override {
    return {[](const work& w) {
      if (w.n < 0) throw std::invalid_argument("negative input " + std::to_string(w.n));
      return done{2 * w.n};
    }};
  }
  void on_stop(const actor::stop_reason& why) override {
    std::printf("  worker %llu stopped: %s\n", static_cast<unsigned long long>(self().id()),
                std::string(actor::to_string(why.what)).c_str());
  }
};

namespace {

bool check(bool ok, const char* what) {
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what);
  return ok;
}

// Polls until pred holds, at most 5 s of real time.
template <class P>
bool eventually(P pred) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);  // a poll interval, not a synchronisation
  }
  return true;
}

}  // namespace

int main() {
  actor::log::set_level(actor::log::level::warn);  // shows the supervisor's child_down line
  actor::actor_system sys;
  sys.register_actor_type<worker>("worker");
  actor::node_options opts;
  opts.listen = "tcp://127.0.0.1:0";
  actor::node node(sys, opts);  // registers the "supervisor" type
  bool ok = true;

  // 1. the spec, in C++ (the same as a config map: see spec.to_config() and the docs)
  actor::supervisor_spec spec;
  spec.strategy = actor::supervisor_strategy::one_for_one;
  spec.backoff_min = 50ms;
  spec.backoff_max = 2s;
  actor::child_spec w;
  w.type = "worker";
  w.name = "worker";
  spec.children = {w};
  auto sup = node.spawn("supervisor", "demo-sup", spec.to_config());
  ok &= check(sup.has_value(), "1. the supervisor runs");
  if (!sup) return 1;
  ok &= check(eventually([&] { return bool(node.whereis("worker")); }), "1. its child runs under the name 'worker'");
  const auto first = node.whereis("worker");
  auto r = sys.request<done>(first, work{21}, 1s).get();
  ok &= check(r && r->result == 42, "1. the worker doubles 21");

  // 2. a crash: the caller gets remote_error, the supervisor restarts the worker after ~50 ms
  auto crash = sys.request<done>(first, work{-1}, 1s).get();
  ok &= check(!crash && crash.error().code == actor::errc::remote_error, "2. the crashing request fails: remote_error");
  ok &= check(eventually([&] {
                const auto now = node.whereis("worker");
                return now && !(now == first);
              }),
              "2. the name 'worker' leads to a new actor");
  auto again = sys.request<done>(node.whereis("worker"), work{5}, 1s).get();
  ok &= check(again && again->result == 10, "2. the new worker answers");

  // 3. the stats
  auto st = sys.request<actor::supervisor_stats>(*sup, actor::supervisor_stats_request{}, 1s).get();
  ok &= check(st && st->children.size() == 1 && st->children[0].restarts == 1 && st->children[0].state == "running",
              "3. stats: one child, restarted once, running");
  if (st) {
    for (const auto& k : st->children) {
      std::printf("  child %s: %s, restarts %llu, last reason: %s\n", k.name.c_str(), k.state.c_str(),
                  static_cast<unsigned long long>(k.restarts), k.last_reason.c_str());
    }
  }

  // 4. an ordered shutdown
  auto stopped = sys.stop(*sup, 5s).get();
  ok &= check(stopped.has_value(), "4. the supervisor stopped, its child first");
  ok &= check(!node.whereis("worker"), "4. the name is free again");
  std::printf("%s\n", ok ? "all good" : "something went wrong");
  return ok ? 0 : 1;
}
