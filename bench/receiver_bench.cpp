// Receive-style actors (docs/receivers.md) against behaviors, in one run.
//
// Usage:
//   actor_receiver_bench                 every mode below, each in its own process
//   actor_receiver_bench pingpong KIND [N] [WINDOW]
//       two actors of KIND (behavior, coroutine, thread) bounce WINDOW (100) balls between them
//       until N (2,000,000; thread: 200,000) messages have been handled; messages/s.
//   actor_receiver_bench memory KIND [N]
//       N (coroutine: 100,000; thread: 1,000) receivers spawned, each waiting in receive(); the
//       RSS growth per receiver once all of them wait.
//   actor_receiver_bench call [N] [WARMUP]
//       a coroutine receiver on node a calls a thread receiver on node b (two nodes in this
//       process over TCP on 127.0.0.1) N (20,000) times, one at a time, after WARMUP (1,000);
//       round trip mean, p50, p99, and calls/s. The anchors' raw ZeroMQ dealer/router ping-pong
//       is the figure to set it beside.
//
// Output: RESULT lines; exit code 0 on success, 1 when a mode fails or exceeds its time limit.
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "actor/actor.hpp"
#include "actor/node.hpp"
#include "bench_util.hpp"

namespace bench {
struct ball {
  std::int64_t n = 0;
  ACTOR_FIELDS(n)
};
struct start {
  actor::actor_ref peer;
  ACTOR_FIELDS(peer)
};
struct add {
  std::int64_t a = 0;
  ACTOR_FIELDS(a)
};
struct sum {
  std::int64_t v = 0;
  ACTOR_FIELDS(v)
};
}  // namespace bench

ACTOR_MESSAGE(bench::ball, "bench.receiver.ball");
ACTOR_MESSAGE(bench::start, "bench.receiver.start");
ACTOR_MESSAGE(bench::add, "bench.receiver.add");
ACTOR_MESSAGE(bench::sum, "bench.receiver.sum");

namespace bench {

using namespace std::chrono_literals;
constexpr auto time_limit = std::chrono::seconds(120);

actor::system_options two_workers() {
  actor::system_options o;
  o.workers = 2;
  return o;
}
actor::node_options named(const std::string& name) {
  actor::node_options o;
  o.name = name;
  return o;
}

// ---- ping-pong ------------------------------------------------------------------

// Shared by both players: how many balls have been handled; the last one to reach `total`
// records the end time.
struct match_state {
  std::atomic<long> handled{0};
  long total = 0;
  std::promise<std::uint64_t> done;
  bool count() {  // true: the match is over
    const long n = handled.fetch_add(1, std::memory_order_relaxed) + 1;
    if (n == total) done.set_value(now_ns());
    return n >= total;
  }
};

class player final : public actor::actor_base {
 public:
  player(match_state& st, long window) : st_(st), window_(window) {}

 protected:
  actor::behavior make_behavior() override {
    return {[this](const start& s) {
              peer_ = s.peer;
              for (long i = 0; i < window_; ++i) send(peer_, ball{i});
            },
            [this](const ball& b) {
              if (st_.count()) return quit();
              send(sender(), b);
            }};
  }
  void on_stop(const actor::stop_reason&) override { peer_ = {}; }

 private:
  match_state& st_;
  long window_;
  actor::actor_ref peer_;
};

actor::receiver_task co_player(actor::co_receiver& self, match_state& st, long window) {
  for (;;) {
    auto m = co_await self.receive();
    if (m.match<start>()) {
      for (long i = 0; i < window; ++i) self.send(m.as<start>().peer, ball{i});
    } else if (m.match<ball>()) {
      if (st.count()) co_return;
      self.send(m.sender(), m.as<ball>());
    }
  }
}

void thread_player(actor::receiver& self, match_state& st, long window) {
  for (;;) {
    auto m = self.receive();
    if (m.match<start>()) {
      for (long i = 0; i < window; ++i) self.send(m.as<start>().peer, ball{i});
    } else if (m.match<ball>()) {
      if (st.count()) return;
      self.send(m.sender(), m.as<ball>());
    }
  }
}

int run_pingpong(const std::string& kind, long total, long window) {
  actor::actor_system sys;
  match_state st;
  st.total = total;
  auto spawn_one = [&]() -> actor::actor_ref {
    if (kind == "behavior") return sys.spawn<player>(st, window);
    if (kind == "coroutine") {
      return actor::spawn_receiver(sys, [&st, window](actor::co_receiver& self) { return co_player(self, st, window); });
    }
    return actor::spawn_receiver(sys, [&st, window](actor::receiver& self) { thread_player(self, st, window); });
  };
  auto a = spawn_one();
  auto b = spawn_one();
  auto done = st.done.get_future();
  const auto t0 = now_ns();
  sys.send(a, start{b});
  if (done.wait_for(time_limit) != std::future_status::ready) {
    std::fprintf(stderr, "actor_receiver_bench pingpong %s: did not finish\n", kind.c_str());
    return 1;
  }
  const double secs = static_cast<double>(done.get() - t0) / 1e9;
  result("actor.receiver.pingpong_" + kind + ".msgs_per_s", static_cast<double>(total) / secs, "msg/s");
  sys.shutdown(std::chrono::milliseconds(10'000));
  return 0;
}

// ---- memory per waiting receiver ----------------------------------------------------

int run_memory(const std::string& kind, long count) {
  actor::actor_system sys(two_workers());
  std::vector<actor::actor_ref> refs;
  refs.reserve(static_cast<std::size_t>(count));
  std::atomic<long> waiting{0};
  const long before = rss_bytes();
  for (long i = 0; i < count; ++i) {
    if (kind == "coroutine") {
      refs.push_back(actor::spawn_receiver(sys, [&waiting](actor::co_receiver& self) -> actor::receiver_task {
        ++waiting;
        (void)co_await self.receive();
      }));
    } else {
      refs.push_back(actor::spawn_receiver(sys, [&waiting](actor::receiver& self) {
        ++waiting;
        (void)self.receive();
      }));
    }
  }
  const auto deadline = clock_type::now() + time_limit;
  while (waiting.load() < count) {
    if (clock_type::now() > deadline) return 1;
    std::this_thread::yield();
  }
  const long after = rss_bytes();
  result("actor.receiver.memory_" + kind + ".bytes_per_waiting", static_cast<double>(after - before) / static_cast<double>(count), "B");
  for (auto& r : refs) sys.send(r, ball{});
  refs.clear();
  return sys.await_all_actors_done_for(std::chrono::duration_cast<std::chrono::milliseconds>(time_limit)) ? 0 : 1;
}

// ---- call across two nodes ------------------------------------------------------------

void adder(actor::receiver& self) {
  for (;;) {
    auto m = self.receive();
    if (m.match<add>()) self.reply(m, sum{m.as<add>().a + 1});
  }
}

int run_call(long count, long warmup) {
  actor::actor_system sys_a;
  actor::actor_system sys_b;
  actor::register_receiver_type(sys_b, "bench.adder", adder);
  actor::node node_a(sys_a, named("a"));
  actor::node node_b(sys_b, named("b"));
  auto spawned = sys_a.request<actor::spawn_reply>(node_a.manager_at(node_b.address()),
                                                   actor::spawn_request{"bench.adder", "", {}}, 5s).get();
  if (!spawned) {
    std::fprintf(stderr, "actor_receiver_bench call: %s\n", spawned.error().describe().c_str());
    return 1;
  }
  const auto target = spawned->ref;
  std::promise<std::vector<std::uint64_t>> out;
  actor::spawn_receiver(sys_a, [&](actor::co_receiver& self) -> actor::receiver_task {
    std::vector<std::uint64_t> rtt;
    rtt.reserve(static_cast<std::size_t>(count));
    for (long i = 0; i < warmup + count; ++i) {
      const auto t0 = now_ns();
      auto r = co_await self.call(target, add{i}, 5s);
      if (!r || r->as<sum>().v != i + 1) {
        std::fprintf(stderr, "actor_receiver_bench call: %s\n", r ? "wrong sum" : r.error().describe().c_str());
        co_return out.set_value({});
      }
      if (i >= warmup) rtt.push_back(now_ns() - t0);
    }
    out.set_value(std::move(rtt));
  });
  auto f = out.get_future();
  if (f.wait_for(time_limit) != std::future_status::ready) return 1;
  auto rtt = f.get();
  if (rtt.empty()) return 1;
  std::uint64_t total = 0;
  for (auto x : rtt) total += x;
  latency_report("actor.receiver.call_remote_rtt", rtt);
  result("actor.receiver.call_remote.calls_per_s", static_cast<double>(rtt.size()) / (static_cast<double>(total) / 1e9), "calls/s");
  return 0;
}

// ---- driver ------------------------------------------------------------------------

int run_child(const char* self, std::vector<std::string> args) {
  std::fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> argv{const_cast<char*>(self)};
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv("/proc/self/exe", argv.data());
    std::_Exit(127);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) < 0) return 1;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

}  // namespace bench

int main(int argc, char** argv) {
  using bench::arg_long;
  if (argc < 2) {
    int rc = 0;
    for (const char* k : {"behavior", "coroutine", "thread"}) rc |= bench::run_child(argv[0], {"pingpong", k});
    for (const char* k : {"coroutine", "thread"}) rc |= bench::run_child(argv[0], {"memory", k});
    rc |= bench::run_child(argv[0], {"call"});
    return rc;
  }
  const std::string mode = argv[1];
  if (mode == "pingpong" && argc >= 3) {
    const std::string kind = argv[2];
    if (kind != "behavior" && kind != "coroutine" && kind != "thread") return 2;
    return bench::run_pingpong(kind, arg_long(argc, argv, 3, kind == "thread" ? 200'000 : 2'000'000), arg_long(argc, argv, 4, 100));
  }
  if (mode == "memory" && argc >= 3) {
    const std::string kind = argv[2];
    if (kind != "coroutine" && kind != "thread") return 2;
    return bench::run_memory(kind, arg_long(argc, argv, 3, kind == "thread" ? 1'000 : 100'000));
  }
  if (mode == "call") return bench::run_call(arg_long(argc, argv, 2, 20'000), arg_long(argc, argv, 3, 1'000));
  std::fprintf(stderr, "usage: %s [pingpong behavior|coroutine|thread [N] [WINDOW] | memory coroutine|thread [N] | call [N] [WARMUP]]\n", argv[0]);
  return 2;
}
