// The Bridge (a client of the wire protocol, no actor system) against a node:
//
//   actor_bridge_bench [COUNT] [WINDOW]
//
// Starts its own actor-node on tcp://127.0.0.1:0 (a child process, ended by PID),
// spawns a counter there through the bridge, then measures:
//   bridge.call_rtt        one call at a time from one thread: mean/p50/p99 in us
//   bridge.calls.per_s     multi_call batches of WINDOW (256) calls in flight, COUNT (200000) in all
// ACTOR_BUSY_POLL_US sets the bridge's busy polling, and the node's (which reads it as actor-node does).
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "actor/bridge.hpp"
#include "actor/builtins.hpp"
#include "actor/log.hpp"
#include "bench_util.hpp"
#include "server_process.hpp"

int main(int argc, char** argv) {
  using namespace std::chrono_literals;
  const auto count = static_cast<std::size_t>(bench::arg_long(argc, argv, 1, 200000));
  const auto window = static_cast<std::size_t>(bench::arg_long(argc, argv, 2, 256));
  actor::log::set_level(actor::log::level::warn);

  bench::server_process node;
  if (!node.start({ACTOR_NODE_BIN, "--name", "bench-node", "--listen", "tcp://127.0.0.1:0", "--log-level", "info"},
                  "actor_bridge_bench")) {
    return 1;
  }
  actor::bridge_options opts;
  if (const char* bp = std::getenv("ACTOR_BUSY_POLL_US")) opts.busy_poll = std::chrono::microseconds(std::atol(bp));
  actor::bridge b(opts);
  auto counter = b.spawn(node.address(), "counter", "", {}, 10s);
  if (!counter) {
    std::fprintf(stderr, "actor_bridge_bench: spawn failed: %s\n", counter.error().describe().c_str());
    return 1;
  }

  auto one_call = [&]() -> bool { return b.call<actor::counter_value>(*counter, actor::counter_get{}, 10s).has_value(); };
  for (int i = 0; i < 2000; ++i) {  // warm up
    if (!one_call()) return 1;
  }
  const std::size_t rtt_count = std::min<std::size_t>(count, 20000);
  std::vector<std::uint64_t> rtt;
  rtt.reserve(rtt_count);
  for (std::size_t i = 0; i < rtt_count; ++i) {
    auto start = bench::now_ns();
    if (!one_call()) {
      std::fprintf(stderr, "actor_bridge_bench: a call failed\n");
      return 1;
    }
    rtt.push_back(bench::now_ns() - start);
  }
  bench::latency_report("bridge.call_rtt", rtt);

  const std::vector<actor::target> batch(window, actor::target(*counter));
  std::size_t done = 0;
  auto start = bench::now_ns();
  while (done < count) {
    for (auto& r : b.multi_call<actor::counter_value>(batch, actor::counter_incr{1}, 30s)) {
      if (!r) {
        std::fprintf(stderr, "actor_bridge_bench: a call failed: %s\n", r.error().describe().c_str());
        return 1;
      }
    }
    done += window;
  }
  auto secs = static_cast<double>(bench::now_ns() - start) / 1e9;
  bench::result("bridge.calls.per_s", static_cast<double>(done) / secs, "calls/s");
  return 0;
}
