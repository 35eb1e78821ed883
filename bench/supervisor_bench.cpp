// Restart latency of a supervised local child (issue 18's target: < 1 ms without backoff):
// the time from sending the child a message that crashes it to the new child's on_start,
// for an unnamed child (spawned by the supervisor itself) and a named one (spawned through
// the node's manager, which claims the name again). Backoff 0, intensity out of reach.
//   actor_supervisor_bench [restarts=2000]
#include <atomic>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <actor/actor.hpp>
#include <actor/log.hpp>
#include <actor/node.hpp>
#include <actor/supervisor.hpp>

#include "bench_util.hpp"

namespace {

struct crash_now {
  ACTOR_NO_FIELDS
};

}  // namespace

ACTOR_MESSAGE(crash_now, "bench.sup.crash");

namespace {

std::atomic<std::uint64_t> starts{0};
std::atomic<std::uint64_t> last_start_ns{0};
std::mutex current_mu;
actor::actor_ref current;  // the child running now

class bench_child final : public actor::actor_base {
 protected:
  actor::behavior make_behavior() override {
    return {[](const crash_now&) { throw std::runtime_error("crash for the bench"); }};
  }
  void on_start() override {
    {
      std::lock_guard lk(current_mu);
      current = self();
    }
    last_start_ns.store(bench::now_ns());
    starts.fetch_add(1);
  }
  void on_stop(const actor::stop_reason&) override {
    std::lock_guard lk(current_mu);
    if (current == self()) current = {};
  }
};

actor::actor_ref running_child() {
  std::lock_guard lk(current_mu);
  return current;
}

bool measure(actor::actor_system& sys, actor::node& n, const std::string& label, const std::string& name,
             long restarts) {
  actor::supervisor_spec spec;
  spec.backoff_min = std::chrono::milliseconds(0);
  spec.backoff_max = std::chrono::milliseconds(0);
  spec.intensity = 1000000;
  spec.period = std::chrono::milliseconds(1);
  actor::child_spec c;
  c.type = "bench_child";
  c.name = name;
  spec.children = {c};
  const auto before = starts.load();
  auto sup = n.spawn("supervisor", {}, spec.to_config());
  if (!sup) {
    std::fprintf(stderr, "cannot spawn the supervisor: %s\n", sup.error().describe().c_str());
    return false;
  }
  auto wait_for_start = [&](std::uint64_t count) {
    const auto deadline = bench::now_ns() + 5'000'000'000ULL;
    while (starts.load() < count) {
      if (bench::now_ns() > deadline) return false;
      std::this_thread::yield();
    }
    return true;
  };
  if (!wait_for_start(before + 1)) return false;
  std::vector<std::uint64_t> ns;
  ns.reserve(static_cast<std::size_t>(restarts));
  for (long i = 0; i < restarts; ++i) {
    const auto count = starts.load();
    auto child = running_child();
    const auto t0 = bench::now_ns();
    sys.send(child, crash_now{});
    if (!wait_for_start(count + 1)) {
      std::fprintf(stderr, "%s: no restart within 5 s\n", label.c_str());
      return false;
    }
    ns.push_back(last_start_ns.load() - t0);
  }
  bench::latency_report("supervisor." + label + ".restart", ns);
  (void)sys.stop(*sup, std::chrono::seconds(5)).get();
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const long restarts = bench::arg_long(argc, argv, 1, 2000);
  actor::log::set_level(actor::log::level::error);  // one child_down line per crash otherwise
  actor::actor_system sys;
  sys.register_actor_type<bench_child>("bench_child");
  actor::node_options o;
  o.listen = "tcp://127.0.0.1:0";
  actor::node n(sys, o);
  bool ok = measure(sys, n, "local", "", restarts);
  ok = measure(sys, n, "local_named", "bench-child", restarts) && ok;
  return ok ? 0 : 1;
}
