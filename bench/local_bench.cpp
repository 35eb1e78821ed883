// In-process benchmarks of libactor, measured the way the CAF 0.17 anchor
// (anchors/src/caf_local.cpp) measures, so the numbers are comparable.
//
// Usage:
//   actor_local_bench                 run every mode below, each in its own process
//   actor_local_bench thr [N] [BATCH]
//       one sender actor sends N (10,000,000) small messages to one receiver
//       actor, in batches of BATCH (1000), sending itself a message between
//       batches so both actors run concurrently on the worker pool. Time: from
//       the sender's first send to the receiver's last receive.
//   actor_local_bench spawn [N]
//       spawns N (1,000,000) idle actors (one handler each), waits until every
//       one has run on_start, reports the spawn rate and the RSS growth per
//       actor. The vector holding the refs is allocated and touched before the
//       baseline RSS is taken.
//   actor_local_bench rtt [N] [WARMUP]
//       one actor requests a reply from another actor N (100,000) times, one
//       request at a time, after WARMUP (1000) unmeasured ones; reports the
//       round trip's mean, p50, p99, p99.9 and max.
//
// Without arguments the counts come from ACTOR_BENCH_LOCAL_N, ACTOR_BENCH_SPAWN_N
// and ACTOR_BENCH_RTT_N when set.
//
// Output: lines `RESULT <key> <value> <unit>`; exit code 0 on success, 1 when a
// mode fails or does not finish within its time limit.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "actor/actor.hpp"
#include "bench_util.hpp"

// ---- messages -----------------------------------------------------------------

namespace bench {
struct num {
  std::int32_t v = 0;
  ACTOR_FIELDS(v)
};
struct next_batch {
  ACTOR_NO_FIELDS
};
struct ping {
  std::int64_t n = 0;
  ACTOR_FIELDS(n)
};
struct pong {
  std::int64_t n = 0;
  ACTOR_FIELDS(n)
};
}  // namespace bench

ACTOR_MESSAGE(bench::num, "bench.num");
ACTOR_MESSAGE(bench::next_batch, "bench.next_batch");
ACTOR_MESSAGE(bench::ping, "bench.ping");
ACTOR_MESSAGE(bench::pong, "bench.pong");

namespace bench {


// How long a mode may take before it is reported as failed.
constexpr auto time_limit = std::chrono::seconds(120);

bool await_done(actor::actor_system& sys, const char* mode) {
  if (sys.await_all_actors_done_for(std::chrono::duration_cast<std::chrono::milliseconds>(time_limit))) return true;
  std::fprintf(stderr, "actor_local_bench %s: did not finish within %lld s\n", mode,
               static_cast<long long>(time_limit.count()));
  return false;
}

// ---- thr: one sender, one receiver -------------------------------------------------

std::atomic<std::uint64_t> g_t0{0};
std::atomic<std::uint64_t> g_t1{0};

class receiver final : public actor::actor_base {
 public:
  explicit receiver(long total) : total_(total) {}

 protected:
  actor::behavior make_behavior() override {
    return {[this](const num&) {
      if (++count_ == total_) {
        g_t1 = now_ns();
        quit();
      }
    }};
  }

 private:
  long total_;
  long count_ = 0;
};

class sender final : public actor::actor_base {
 public:
  sender(actor::actor_ref dst, long total, long batch) : dst_(std::move(dst)), total_(total), batch_(batch) {}

 protected:
  actor::behavior make_behavior() override {
    return {[this](const next_batch&) {
      if (sent_ == 0) g_t0 = now_ns();
      long end = std::min(total_, sent_ + batch_);
      for (long i = sent_; i < end; ++i) send(dst_, num{static_cast<std::int32_t>(i)});
      sent_ = end;
      if (sent_ < total_) {
        send(self(), next_batch{});
      } else {
        quit();
      }
    }};
  }
  void on_start() override { send(self(), next_batch{}); }

 private:
  actor::actor_ref dst_;
  long total_;
  long batch_;
  long sent_ = 0;
};

int run_thr(long count, long batch) {
  if (count <= 0 || batch <= 0) return 1;
  actor::actor_system sys;
  {
    auto dst = sys.spawn<receiver>(count);
    sys.spawn<sender>(dst, count, batch);
  }
  if (!await_done(sys, "thr")) return 1;
  double secs = static_cast<double>(g_t1.load() - g_t0.load()) / 1e9;
  result("actor.local_1to1.msgs_per_s", static_cast<double>(count) / secs, "msg/s");
  result("actor.local_1to1.peak_rss_MB", static_cast<double>(peak_rss_bytes()) / 1e6, "MB");
  return 0;
}

// ---- spawn: many idle actors ---------------------------------------------------------

std::atomic<long> g_started{0};

class idle_actor final : public actor::actor_base {
 protected:
  actor::behavior make_behavior() override {
    return {[](const num&) {}};
  }
  void on_start() override { g_started.fetch_add(1, std::memory_order_relaxed); }
};

int run_spawn(long count) {
  if (count <= 0) return 1;
  auto sys = std::make_unique<actor::actor_system>();
  std::vector<actor::actor_ref> refs;
  refs.resize(static_cast<std::size_t>(count));  // touch the pages before the baseline
  // settling pause before reading the baseline RSS (as caf_local does); not synchronization
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  long rss0 = rss_bytes();
  auto t0 = now_ns();
  for (long i = 0; i < count; ++i) refs[static_cast<std::size_t>(i)] = sys->spawn<idle_actor>();
  auto t_loop = now_ns();
  auto deadline = clock_type::now() + time_limit;
  while (g_started.load(std::memory_order_acquire) < count) {
    if (clock_type::now() > deadline) {
      std::fprintf(stderr, "actor_local_bench spawn: only %ld of %ld actors started\n", g_started.load(), count);
      return 1;
    }
    std::this_thread::yield();
  }
  auto t1 = now_ns();
  // settling pause before reading RSS (as caf_local does); not synchronization
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  long rss1 = rss_bytes();
  result("actor.spawn.actors_per_s", static_cast<double>(count) / (static_cast<double>(t1 - t0) / 1e9), "actor/s");
  result("actor.spawn.loop_only_actors_per_s", static_cast<double>(count) / (static_cast<double>(t_loop - t0) / 1e9),
         "actor/s");
  result("actor.spawn.rss_bytes_per_actor", static_cast<double>(rss1 - rss0) / static_cast<double>(count), "B");
  result("actor.spawn.rss_total_MB", static_cast<double>(rss1 - rss0) / 1e6, "MB");
  // Idle libactor actors keep running when their refs are dropped (unlike CAF's),
  // so teardown is: drop the refs, then destroy the system, which stops every actor.
  auto t2 = now_ns();
  refs.clear();
  refs.shrink_to_fit();
  sys.reset();
  auto t3 = now_ns();
  result("actor.spawn.teardown_s", static_cast<double>(t3 - t2) / 1e9, "s");
  return 0;
}

// ---- rtt: request/reply between two actors ---------------------------------------------

class ponger final : public actor::actor_base {
 protected:
  actor::behavior make_behavior() override {
    return {[](const ping& p) { return pong{p.n}; }};
  }
};

class pinger final : public actor::actor_base {
 public:
  pinger(actor::actor_ref dst, long count, long warmup, std::vector<std::uint64_t>* out, long* errors)
      : dst_(std::move(dst)), count_(count), warmup_(warmup), out_(out), errors_(errors) {}

 protected:
  actor::behavior make_behavior() override {
    return {[](const num&) {}};
  }
  void on_start() override {
    out_->reserve(static_cast<std::size_t>(count_));
    next();
  }

 private:
  void next() {
    if (done_ == warmup_ + count_) {
      send(dst_, actor::stop_msg{});
      quit();
      return;
    }
    auto t0 = now_ns();
    request(dst_, ping{done_}, std::chrono::seconds(10))
        .then(
            [this, t0](const pong&) {
              auto t1 = now_ns();
              if (done_++ >= warmup_) out_->push_back(t1 - t0);
              next();
            },
            [this](const actor::error&) {
              ++*errors_;
              send(dst_, actor::stop_msg{});
              quit();
            });
  }

  actor::actor_ref dst_;
  long count_;
  long warmup_;
  std::vector<std::uint64_t>* out_;
  long* errors_;
  long done_ = 0;
};

int run_rtt(long count, long warmup) {
  if (count <= 0 || warmup < 0) return 1;
  std::vector<std::uint64_t> rtt;
  long errors = 0;
  {
    actor::actor_system sys;
    auto pong_ref = sys.spawn<ponger>();
    sys.spawn<pinger>(pong_ref, count, warmup, &rtt, &errors);  // stops the ponger when done
    if (!await_done(sys, "rtt")) return 1;
  }
  if (errors != 0 || rtt.size() != static_cast<std::size_t>(count)) {
    std::fprintf(stderr, "actor_local_bench rtt: %ld errors, %zu of %ld round trips\n", errors, rtt.size(), count);
    return 1;
  }
  latency_report("actor.local_rtt", std::move(rtt));
  return 0;
}

long env_long(const char* name, long fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtol(v, nullptr, 10) : fallback;
}

// Runs `self mode count` in a child process, so each mode starts from a fresh heap.
int run_child(const char* self, const char* mode, long count) {
  std::fflush(stdout);
  std::fflush(stderr);
  std::string n = std::to_string(count);
  pid_t pid = fork();
  if (pid < 0) {
    std::perror("fork");
    return 1;
  }
  if (pid == 0) {
    execl(self, self, mode, n.c_str(), static_cast<char*>(nullptr));
    std::perror("execl");
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      std::perror("waitpid");
      return 1;
    }
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
  std::fprintf(stderr, "actor_local_bench %s: child failed (status %d)\n", mode, status);
  return 1;
}

}  // namespace bench

int main(int argc, char** argv) {
  using namespace bench;
  std::string mode = argc > 1 ? argv[1] : "all";
  if (mode == "thr") return run_thr(arg_long(argc, argv, 2, 10'000'000), arg_long(argc, argv, 3, 1000));
  if (mode == "spawn") return run_spawn(arg_long(argc, argv, 2, 1'000'000));
  if (mode == "rtt") return run_rtt(arg_long(argc, argv, 2, 100'000), arg_long(argc, argv, 3, 1000));
  if (mode == "all") {
    const char* self = "/proc/self/exe";
    int rc = 0;
    rc |= run_child(self, "thr", env_long("ACTOR_BENCH_LOCAL_N", 10'000'000));
    rc |= run_child(self, "spawn", env_long("ACTOR_BENCH_SPAWN_N", 1'000'000));
    rc |= run_child(self, "rtt", env_long("ACTOR_BENCH_RTT_N", 100'000));
    return rc;
  }
  std::fprintf(stderr, "usage: actor_local_bench [all | thr [N] [BATCH] | spawn [N] | rtt [N] [WARMUP]]\n");
  return 2;
}
