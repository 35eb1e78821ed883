// The registry's lookups: uncached (asked of an actor-registry process over
// loopback) and cached (node::lookup answering from its cache).
//
//   actor_registry_bench [COUNT] [WINDOW]
//
// Starts its own actor-registry on tcp://127.0.0.1:0 (a child process, ended by
// PID), registers NAMES (1000) names from an in-process node, then measures:
//   registry.lookup_uncached  lookups/s by one client actor keeping WINDOW (256)
//                             lookups in flight to the registry, COUNT (200000) in all
//   registry.lookup_rtt       one lookup at a time, from an actor: mean/p50/p99 in us
//   registry.lookup_cached    node::lookup of a cached name, ns per call (one thread)
#include <atomic>
#include <future>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "actor/actor.hpp"
#include "actor/log.hpp"
#include "actor/node.hpp"
#include "actor/registry.hpp"
#include "bench_util.hpp"
#include "server_process.hpp"

namespace {

constexpr int names = 1000;

std::string name_of(std::size_t i) { return "bench.name." + std::to_string(i % names); }

struct go {
  ACTOR_NO_FIELDS
};
struct done {
  std::uint64_t ok = 0, failed = 0;
  std::vector<std::uint64_t> rtt_ns;
  ACTOR_FIELDS(ok, failed, rtt_ns)
};

}  // namespace

ACTOR_MESSAGE(go, "bench.registry.go");
ACTOR_MESSAGE(done, "bench.registry.done");

namespace {

// Keeps `window` lookups in flight until `count` were answered; or, with window 1,
// records each round trip.
class looker final : public actor::actor_base {
 public:
  looker(actor::actor_ref registry, std::uint64_t count, std::uint64_t window)
      : registry_(std::move(registry)), count_(count), window_(window) {}

 protected:
  actor::behavior make_behavior() override {
    return {[this](const go&) {
      promise_ = make_response_promise();
      for (std::uint64_t i = 0; i < window_ && sent_ < count_; ++i) next();
    }};
  }

 private:
  void next() {
    auto i = sent_++;
    auto start = bench::now_ns();
    request(registry_, actor::registry_lookup{name_of(i)}, std::chrono::seconds(30))
        .then(
            [this, start](const actor::registry_found&) {
              ++out_.ok;
              answered(start);
            },
            [this, start](const actor::error&) {
              ++out_.failed;
              answered(start);
            });
  }
  void answered(std::uint64_t start) {
    if (window_ == 1) out_.rtt_ns.push_back(bench::now_ns() - start);
    if (out_.ok + out_.failed == count_) return promise_.deliver(std::move(out_));
    if (sent_ < count_) next();
  }

  actor::actor_ref registry_;
  std::uint64_t count_, window_, sent_ = 0;
  done out_;
  actor::response_promise promise_;
};

class idle final : public actor::actor_base {
 protected:
  actor::behavior make_behavior() override {
    return {[](const go&) {}};
  }
};

}  // namespace

int main(int argc, char** argv) {
  const auto count = static_cast<std::uint64_t>(bench::arg_long(argc, argv, 1, 200000));
  const auto window = static_cast<std::uint64_t>(bench::arg_long(argc, argv, 2, 256));
  actor::log::set_level(actor::log::level::warn);

  bench::server_process registry;
  if (!registry.start({ACTOR_REGISTRY_BIN, "--listen", "tcp://127.0.0.1:0", "--log-level", "info"},
                      "actor_registry_bench")) {
    return 1;
  }
  actor::actor_system sys;
  actor::node_options opts;
  opts.name = "bench-client";
  opts.registries = {registry.address()};
  actor::node node(sys, opts);
  auto target = sys.spawn<idle>();
  for (int i = 0; i < names; ++i) {
    if (auto ok = node.register_name(name_of(static_cast<std::size_t>(i)), target); !ok) {
      std::fprintf(stderr, "actor_registry_bench: cannot register: %s\n", ok.error().describe().c_str());
      return 1;
    }
  }
  auto service = node.service_at(registry.address(), actor::registry_id);

  auto run = [&](std::uint64_t n, std::uint64_t w) -> std::optional<done> {
    auto a = sys.spawn<looker>(service, n, w);
    auto r = sys.request<done>(a, go{}, std::chrono::seconds(120)).get();
    if (!r || r->failed != 0) {
      std::fprintf(stderr, "actor_registry_bench: lookups failed: %s\n",
                   r ? (std::to_string(r->failed) + " errors").c_str() : r.error().describe().c_str());
      return std::nullopt;
    }
    return *r;
  };

  run(std::min<std::uint64_t>(count, 20000), window);  // warm up: connections, caches
  auto start = bench::now_ns();
  if (!run(count, window)) return 1;
  auto secs = static_cast<double>(bench::now_ns() - start) / 1e9;
  bench::result("registry.lookup_uncached.per_s", static_cast<double>(count) / secs, "lookups/s");

  auto rtt = run(std::min<std::uint64_t>(count, 20000), 1);
  if (!rtt) return 1;
  bench::latency_report("registry.lookup_rtt", rtt->rtt_ns);

  // cached: from a second node (the names are not its own), whose first lookups fill its cache
  actor::node_options other_opts = opts;
  other_opts.name = "bench-cache";
  actor::actor_system other_sys;
  actor::node other(other_sys, other_opts);
  for (int i = 0; i < names; ++i) {
    if (!other.lookup(name_of(static_cast<std::size_t>(i)))) {
      std::fprintf(stderr, "actor_registry_bench: cannot resolve %s\n", name_of(static_cast<std::size_t>(i)).c_str());
      return 1;
    }
  }
  std::vector<std::string> keys;
  for (int i = 0; i < names; ++i) keys.push_back(name_of(static_cast<std::size_t>(i)));
  constexpr std::uint64_t cached_calls = 5'000'000;
  std::uint64_t found = 0;
  start = bench::now_ns();
  for (std::uint64_t i = 0; i < cached_calls; ++i) found += other.lookup(keys[i % names]).has_value();
  auto ns = static_cast<double>(bench::now_ns() - start) / static_cast<double>(cached_calls);
  if (found != cached_calls) {
    std::fprintf(stderr, "actor_registry_bench: %llu cached lookups failed\n",
                 static_cast<unsigned long long>(cached_calls - found));
    return 1;
  }
  bench::result("registry.lookup_cached.ns", ns, "ns");
  return 0;
}
