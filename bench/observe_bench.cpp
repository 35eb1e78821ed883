// Benchmarks of observe and notify (docs/observe.md).
//
// Usage:
//   actor_observe_bench                  every mode below
//   actor_observe_bench local [N]        one publisher notifies N (1,000,000) 64-byte notifications,
//                                        in batches of 256 (it sends itself a message between
//                                        batches, so acknowledgements come in), to 1, 10 and 100
//                                        observers in the same process: notifications delivered/s
//   actor_observe_bench remote [N]       the publisher on a server node (a child process on
//                                        127.0.0.1), 1 and 10 observers here; and, on the same link,
//                                        N plain one-way sends from an actor there to a sink here,
//                                        batched the same way: the ratio is notify's cost
//   actor_observe_bench server ...       the server (actor::node_main with the bench types)
//
// Observers use a queue of 65,536. notify() never blocks: a publisher faster than its observers
// (or the link) fills their queues, and the oldest notifications are dropped; each observer learns
// how many (notifications_lost). So each run reports notifications *delivered* per second and the
// share dropped. The plain sends are paced by credit from the sink (at most 32,768 unacknowledged,
// the observers' window), since sends beyond a peer's queue would be dropped too. Time: from the
// trigger's send to the moment the last observer has received or lost its N (one clock: this
// process's). Output: `RESULT <key> <value> <unit>` lines; exit 1 when a mode fails.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <thread>
#include <string>
#include <vector>

#include "actor/actor.hpp"
#include "actor/node.hpp"
#include "actor/node_main.hpp"
#include "bench_util.hpp"
#include "server_process.hpp"

namespace bench {
struct tick {
  std::string data;
  ACTOR_FIELDS(data)
};
/// to a publisher: notify `count` ticks (or, `plain`: send them to `to`), in batches
struct blast {
  std::uint64_t count = 0;
  bool plain = false;
  actor::actor_ref to;
  ACTOR_FIELDS(count, plain, to)
};
struct next_batch {
  ACTOR_NO_FIELDS
};
/// from a plain-send sink to the blaster: `count` received so far (credit for the next window)
struct credit {
  std::uint64_t count = 0;
  ACTOR_FIELDS(count)
};
}  // namespace bench

ACTOR_MESSAGE(bench::tick, "bench.observe.tick");
ACTOR_MESSAGE(bench::blast, "bench.observe.blast");
ACTOR_MESSAGE(bench::next_batch, "bench.observe.next_batch");
ACTOR_MESSAGE(bench::credit, "bench.observe.credit");

namespace bench {

constexpr std::uint64_t batch = 256;
constexpr std::size_t observe_queue = 65536;
constexpr auto time_limit = std::chrono::seconds(120);

class publisher final : public actor::actor_base {
 public:
  publisher() { declare_outputs<tick>(); }

 protected:
  actor::behavior make_behavior() override {
    return {
        [this](const blast& b) {
          job_ = b;
          left_ = b.count;
          sent_ = 0;
          credited_ = 0;
          step();
        },
        [this](const next_batch&) { step(); },
        [this](const credit& c) {
          const bool stalled = sent_ - credited_ >= plain_window;
          credited_ = std::max(credited_, c.count);
          if (stalled) step();
        },
    };
  }

 private:
  // Plain sends keep at most plain_window unacknowledged (the sink's credit), as the observe window
  // does for notifications: a remote peer's queue is bounded, and sends beyond it would be dropped.
  static constexpr std::uint64_t plain_window = observe_queue / 2;
  void step() {
    auto n = std::min(left_, batch);
    if (job_.plain) n = std::min(n, plain_window - std::min(plain_window, sent_ - credited_));
    if (n == 0) return;  // a credit resumes it
    const tick t{std::string(64, 'x')};
    for (std::uint64_t i = 0; i < n; ++i) {
      if (job_.plain) {
        send(job_.to, tick{t});
      } else {
        notify(t);
      }
    }
    left_ -= n;
    sent_ += n;
    if (left_ > 0) send(self(), next_batch{});
  }
  blast job_;
  std::uint64_t left_ = 0;
  std::uint64_t sent_ = 0;
  std::uint64_t credited_ = 0;
};

// Counts ticks; the last of all observers' expected total completes the run.
struct tally {
  std::atomic<std::uint64_t> left{0};      // notifications still to be received or lost
  std::atomic<std::uint64_t> received{0};
  std::promise<std::uint64_t> done;  // steady ns at the last tick
  void count(std::uint64_t n, bool got, std::uint64_t now) {
    if (got) received.fetch_add(n, std::memory_order_relaxed);
    if (left.fetch_sub(n, std::memory_order_acq_rel) == n) done.set_value(now);
  }
};

class counter final : public actor::actor_base {
 public:
  explicit counter(std::shared_ptr<tally> t) : t_(std::move(t)) {}

 protected:
  actor::behavior make_behavior() override {
    return {[this](const tick&) {
      t_->count(1, true, now_ns());
      if (++got_ % 4096 == 0) send(sender(), credit{got_});
    }};
  }

 private:
  std::shared_ptr<tally> t_;
  std::uint64_t got_ = 0;
};

// An observer that observes the actor it is given at start.
class observer final : public actor::actor_base {
 public:
  observer(std::shared_ptr<tally> t, actor::actor_ref target, std::shared_ptr<std::promise<bool>> ready)
      : t_(std::move(t)), target_(std::move(target)), ready_(std::move(ready)) {}

 protected:
  actor::behavior make_behavior() override {
    return {[this](const tick&) { t_->count(1, true, now_ns()); },
            // dropped at the publisher (a full queue): they count as done, not as delivered
            [this](const actor::notifications_lost& l) { t_->count(l.count, false, now_ns()); }};
  }
  void on_start() override {
    actor::observe_options o;
    o.queue = observe_queue;
    ready_->set_value(static_cast<bool>(observe(target_, o)));
  }

 private:
  std::shared_ptr<tally> t_;
  actor::actor_ref target_;
  std::shared_ptr<std::promise<bool>> ready_;
};

void register_bench_types(actor::actor_system& sys) { sys.register_actor_type<publisher>("bench_publisher"); }

// Polls until the publisher has exactly n observers (10 s at most).
bool wait_observers(const std::function<std::size_t()>& observers, std::size_t n) {
  const auto deadline = clock_type::now() + std::chrono::seconds(10);
  while (observers() != n) {
    if (clock_type::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// Runs one measurement: `k` observers of `pub` in `sys`; observers() counts them where pub lives.
bool measure(const char* key, actor::actor_system& sys, const actor::actor_ref& pub, std::size_t k, std::uint64_t n,
             const std::function<std::size_t()>& observers, const std::function<std::uint64_t()>& dropped) {
  if (!wait_observers(observers, 0)) {  // the last run's observers are forgotten
    std::fprintf(stderr, "actor_observe_bench %s: earlier observers are still there\n", key);
    return false;
  }
  auto t = std::make_shared<tally>();
  t->left = n * k;
  auto finished = t->done.get_future();
  std::vector<actor::actor_ref> obs;
  for (std::size_t i = 0; i < k; ++i) {
    auto ready = std::make_shared<std::promise<bool>>();
    auto f = ready->get_future();
    obs.push_back(sys.spawn<observer>(t, pub, ready));
    if (f.wait_for(std::chrono::seconds(10)) != std::future_status::ready || !f.get()) {
      std::fprintf(stderr, "actor_observe_bench %s: observer %zu could not observe\n", key, i);
      return false;
    }
  }
  if (!wait_observers(observers, k)) {
    std::fprintf(stderr, "actor_observe_bench %s: the publisher has %zu observers, not %zu\n", key, observers(), k);
    return false;
  }
  const auto dropped_before = dropped();
  const auto start = now_ns();
  sys.send(pub, blast{n, false, {}});
  if (finished.wait_for(time_limit) != std::future_status::ready) {
    std::fprintf(stderr, "actor_observe_bench %s: %llu notifications missing (dropped: %llu)\n", key,
                 static_cast<unsigned long long>(t->left.load()),
                 static_cast<unsigned long long>(dropped() - dropped_before));
    for (auto& o : obs) sys.send(o, actor::stop_msg{});
    return false;
  }
  const auto secs = static_cast<double>(finished.get() - start) / 1e9;
  const auto got = t->received.load();
  result(std::string(key) + ".delivered_per_s", static_cast<double>(got) / secs, "msg/s");
  // what the publisher dropped, its observers' queues being full: a publisher faster than the link
  result(std::string(key) + ".dropped_pct", 100.0 * static_cast<double>(n * k - got) / static_cast<double>(n * k), "%");
  for (auto& o : obs) (void)sys.stop(o, std::chrono::seconds(5)).get();
  return true;
}

int run_local(std::uint64_t n) {
  actor::actor_system sys;
  auto pub = sys.spawn<publisher>();
  auto observers = [&] { return sys.stats().observers; };
  auto dropped = [&] { return sys.stats().notifications_dropped; };
  bool ok = true;
  ok = measure("observe.local_1", sys, pub, 1, n, observers, dropped) && ok;
  ok = measure("observe.local_10", sys, pub, 10, n / 10, observers, dropped) && ok;
  ok = measure("observe.local_100", sys, pub, 100, n / 100, observers, dropped) && ok;
  return ok ? 0 : 1;
}

int run_remote(std::uint64_t n) {
  server_process server;
  if (!server.start({"/proc/self/exe", "server", "--name", "observe-server", "--listen", "tcp://127.0.0.1:0",
                     "--log-level", "info"},
                    "remote")) {
    return 1;
  }
  actor::actor_system sys;
  actor::node_options o;
  o.name = "observe-client";
  actor::node node(sys, o);
  auto spawned = sys.request<actor::spawn_reply>(node.manager_at(server.address()),
                                                 actor::spawn_request{"bench_publisher", "", {}}, std::chrono::seconds(5))
                     .get();
  if (!spawned) {
    std::fprintf(stderr, "actor_observe_bench remote: spawn failed: %s\n", spawned.error().describe().c_str());
    return 1;
  }
  const auto pub = spawned->ref;
  auto server_stats = [&]() -> std::optional<actor::node_stats> {
    auto s = sys.request<actor::node_stats>(node.manager_at(server.address()), actor::stats_request{},
                                            std::chrono::seconds(5))
                 .get();
    if (!s) return std::nullopt;
    return *s;
  };
  auto observers = [&]() -> std::size_t {
    auto s = server_stats();
    return s ? s->observers : 0;
  };
  auto dropped = [&]() -> std::uint64_t {
    auto s = server_stats();
    return s ? s->notifications_dropped : 0;
  };
  bool ok = true;
  // the baseline: plain sends over the same link, from the same actor, batched the same way
  {
    auto t = std::make_shared<tally>();
    t->left = n;
    auto finished = t->done.get_future();
    auto sink = sys.spawn<counter>(t);
    const auto start = now_ns();
    sys.send(pub, blast{n, true, sink});
    if (finished.wait_for(time_limit) != std::future_status::ready) {
      std::fprintf(stderr, "actor_observe_bench remote: %llu plain sends missing\n",
                   static_cast<unsigned long long>(t->left.load()));
      ok = false;
    } else {
      const auto secs = static_cast<double>(finished.get() - start) / 1e9;
      result("observe.remote_plain_sends_per_s", static_cast<double>(n) / secs, "msg/s");
    }
  }
  ok = measure("observe.remote_1", sys, pub, 1, n, observers, dropped) && ok;
  ok = measure("observe.remote_10", sys, pub, 10, n / 10, observers, dropped) && ok;
  return ok ? 0 : 1;
}

}  // namespace bench

int main(int argc, char** argv) {
  using namespace bench;
  const std::string mode = argc > 1 ? argv[1] : "all";
  if (mode == "server") return actor::node_main(argc - 1, argv + 1, register_bench_types);
  const auto n = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1000000ULL;
  if (mode == "local") return run_local(n);
  if (mode == "remote") return run_remote(n);
  if (mode == "all") return run_local(n) | run_remote(n);
  std::fprintf(stderr, "usage: actor_observe_bench [local|remote [N]]\n");
  return 2;
}
