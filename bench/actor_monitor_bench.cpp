// Benchmarks of monitors (actor/monitor.hpp), locally and between two nodes over ZeroMQ on
// 127.0.0.1 (issue 18):
//
//   actor_monitor_bench                    all three below
//   actor_monitor_bench local [N]          monitor+demonitor pairs per second of one actor on
//                                          another in the same system (N pairs, 200,000)
//   actor_monitor_bench remote [N]         the same across nodes: the watcher here, the target
//                                          on a server node (a child process) (N, 100,000)
//   actor_monitor_bench kill [N]           N (10,000) monitors held here on actors of a server
//                                          node, which then gets SIGKILL: the time from the
//                                          kill to the last down_msg handled, and from the
//                                          first down to the last (the fan-out); the issue's
//                                          target is the down bound + 100 ms
//   actor_monitor_bench server [actor-node options]   the server: node_main with the bench types
//
// A pair's time ends when the target has handled both requests: after the loop the watcher
// asks the target for an answer, which comes after everything it sent before (one sender,
// one receiver: in order). Liveness settings of the client node (kill): heartbeat 100 ms,
// suspect 300 ms, down 600 ms (ACTOR_BENCH_DOWN_MS changes the down bound).
//
// Output: lines `RESULT <key> <value> <unit>`; exit code 0 on success, 1 on a failure.
#include <csignal>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "actor/actor.hpp"
#include "actor/node.hpp"
#include "actor/node_main.hpp"
#include "bench_util.hpp"
#include "server_process.hpp"

namespace bench {

struct cycle {
  actor::actor_ref target;
  std::uint64_t count = 0;
  ACTOR_FIELDS(target, count)
};
struct cycled {
  ACTOR_NO_FIELDS
};
struct sync_request {
  ACTOR_NO_FIELDS
};
struct synced {
  ACTOR_NO_FIELDS
};
struct watch_all {
  std::vector<actor::actor_ref> targets;
  std::uint64_t count = 0;  // monitors in all, spread over the targets
  ACTOR_FIELDS(targets, count)
};

}  // namespace bench

ACTOR_MESSAGE(bench::cycle, "bench.monitor.cycle");
ACTOR_MESSAGE(bench::cycled, "bench.monitor.cycled");
ACTOR_MESSAGE(bench::sync_request, "bench.monitor.sync");
ACTOR_MESSAGE(bench::synced, "bench.monitor.synced");
ACTOR_MESSAGE(bench::watch_all, "bench.monitor.watch_all");

namespace bench {

namespace {

constexpr auto time_limit = std::chrono::seconds(120);

long env_long(const char* name, long fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtol(v, nullptr, 10) : fallback;
}

void fail(const char* mode, const std::string& why) { std::fprintf(stderr, "actor_monitor_bench %s: %s\n", mode, why.c_str()); }

// A target: answers sync (monitors and demonitors are the runtime's).
class target final : public actor::actor_base {
 protected:
  actor::behavior make_behavior() override {
    return {[](const sync_request&) { return synced{}; }};
  }
};

// Monitors and demonitors its target `count` times, then syncs with it and answers.
class cycler final : public actor::actor_base {
 protected:
  actor::behavior make_behavior() override {
    return {[this](const cycle& c) {
      for (std::uint64_t i = 0; i < c.count; ++i) demonitor(monitor(c.target));
      auto rp = make_response_promise();
      request(c.target, sync_request{}, std::chrono::seconds(60))
          .then([rp](const synced&) mutable { rp.deliver(cycled{}); },
                [rp](const actor::error& e) mutable { rp.deliver(actor::error(e)); });
    }};
  }
};

// Holds `count` monitors; when the last down comes, reports the times of the first and the last.
struct down_times {
  std::uint64_t first_ns = 0, last_ns = 0, count = 0, node_down = 0;
};
class down_counter final : public actor::actor_base {
 public:
  down_counter(std::uint64_t expect, std::promise<down_times>* done) : expect_(expect), done_(done) {}

 protected:
  actor::behavior make_behavior() override {
    return {
        [this](const watch_all& w) {
          for (std::uint64_t i = 0; i < w.count; ++i) monitor(w.targets[i % w.targets.size()]);
          return cycled{};
        },
        [this](const actor::down_msg& d) {
          const auto now = now_ns();
          if (t_.count++ == 0) t_.first_ns = now;
          t_.last_ns = now;
          if (d.reason.what == actor::down_reason::kind::node_down) ++t_.node_down;
          if (t_.count == expect_) done_->set_value(t_);
        },
    };
  }

 private:
  std::uint64_t expect_;
  std::promise<down_times>* done_;
  down_times t_;
};

void register_bench_types(actor::actor_system& s) { s.register_actor_type<target>("bench_monitor_target"); }

struct client_node {
  actor::actor_system sys;
  actor::node node;
  explicit client_node(std::chrono::milliseconds down_after = std::chrono::milliseconds(2000))
      : node(sys, options(down_after)) {}
  static actor::node_options options(std::chrono::milliseconds down_after) {
    actor::node_options o;
    o.name = "bench-client";
    o.listen = "tcp://127.0.0.1:0";
    o.heartbeat_interval = std::chrono::milliseconds(100);
    o.suspect_after = std::chrono::milliseconds(300);
    o.down_after = down_after;
    return o;
  }
};

bool start_server(server_process& server, const char* mode) {
  return server.start({"/proc/self/exe", "server", "--name", "bench-monitor-server", "--listen", "tcp://127.0.0.1:0",
                       "--log-level", "info", "--heartbeat-ms", "100", "--suspect-after-ms", "300",
                       "--down-after-ms", "600"},
                      mode);
}

actor::expected<actor::actor_ref> spawn_target(client_node& c, const std::string& address) {
  auto f = c.sys.request<actor::spawn_reply>(c.node.manager_at(address),
                                             actor::spawn_request{"bench_monitor_target", "", {}}, std::chrono::seconds(10));
  auto r = f.get();
  if (!r) return r.error();
  return r->ref;
}

// pairs of monitor+demonitor per second of a cycler on `t`
int measure_pairs(actor::actor_system& sys, const actor::actor_ref& t, std::uint64_t n, const char* mode,
                  const std::string& key) {
  auto c = sys.spawn<cycler>();
  // warm up (proxies, connections)
  if (auto w = sys.request<cycled>(c, cycle{t, 1000}, std::chrono::seconds(60)).get(); !w) {
    fail(mode, "warm-up: " + w.error().describe());
    return 1;
  }
  const auto start = now_ns();
  auto r = sys.request<cycled>(c, cycle{t, n}, time_limit).get();
  const auto took = now_ns() - start;
  if (!r) {
    fail(mode, r.error().describe());
    return 1;
  }
  result(key, static_cast<double>(n) / (static_cast<double>(took) / 1e9), "pairs/s");
  sys.send(c, actor::stop_msg{});
  return 0;
}

int run_local(std::uint64_t n) {
  actor::actor_system sys;
  auto t = sys.spawn<target>();
  const int rc = measure_pairs(sys, t, n, "local", "monitor_pairs_local");
  if (rc == 0 && sys.stats().monitors != 0) {
    fail("local", "monitors left on the target: " + std::to_string(sys.stats().monitors));
    return 1;
  }
  return rc;
}

int run_remote(std::uint64_t n) {
  const char* mode = "remote";
  server_process server;
  if (!start_server(server, mode)) return 1;
  client_node c;
  auto t = spawn_target(c, server.address());
  if (!t) {
    fail(mode, "cannot spawn the target: " + t.error().describe());
    return 1;
  }
  return measure_pairs(c.sys, *t, n, mode, "monitor_pairs_remote");
}

int run_kill(std::uint64_t n) {
  const char* mode = "kill";
  const auto down_after = std::chrono::milliseconds(env_long("ACTOR_BENCH_DOWN_MS", 600));
  server_process server;
  if (!start_server(server, mode)) return 1;
  client_node c(down_after);
  std::vector<actor::actor_ref> targets;
  for (int i = 0; i < 100; ++i) {
    auto t = spawn_target(c, server.address());
    if (!t) {
      fail(mode, "cannot spawn a target: " + t.error().describe());
      return 1;
    }
    targets.push_back(*t);
  }
  std::promise<down_times> done;
  auto finished = done.get_future();
  auto counter = c.sys.spawn<down_counter>(n, &done);
  if (auto r = c.sys.request<cycled>(counter, watch_all{targets, n}, std::chrono::seconds(60)).get(); !r) {
    fail(mode, r.error().describe());
    return 1;
  }
  // every monitor is on the server's actors before the kill
  const auto deadline = clock_type::now() + std::chrono::seconds(60);
  for (;;) {
    auto s = c.sys.request<actor::node_stats>(c.node.manager_at(server.address()), actor::stats_request{},
                                              std::chrono::seconds(5))
                 .get();
    if (s && s->monitors >= n) break;
    if (clock_type::now() > deadline) {
      fail(mode, "the server never held all the monitors");
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling a count, not synchronizing
  }
  const auto watched = c.node.stats().watches_monitoring;
  const auto killed = now_ns();
  ::kill(server.pid(), SIGKILL);
  if (finished.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
    fail(mode, "not every down came within 30 s");
    std::_Exit(1);  // the counter still points at `done`
  }
  const auto t = finished.get();
  server.stop();  // reaps it
  result("monitor_kill_watched", static_cast<double>(watched), "monitors");
  result("monitor_kill_down_bound", static_cast<double>(down_after.count()), "ms");
  result("monitor_kill_to_first_down", static_cast<double>(t.first_ns - killed) / 1e6, "ms");
  result("monitor_kill_to_last_down", static_cast<double>(t.last_ns - killed) / 1e6, "ms");
  result("monitor_kill_first_to_last_down", static_cast<double>(t.last_ns - t.first_ns) / 1e6, "ms");
  result("monitor_kill_over_bound", static_cast<double>(t.last_ns - killed) / 1e6 - static_cast<double>(down_after.count()), "ms");
  if (t.node_down != n) {
    fail(mode, "downs that were not node_down: " + std::to_string(n - t.node_down));
    return 1;
  }
  c.sys.send(counter, actor::stop_msg{});
  return 0;
}

}  // namespace

}  // namespace bench

int main(int argc, char** argv) {
  using namespace bench;
  std::string mode = argc > 1 ? argv[1] : "all";
  if (mode == "server") return actor::node_main(argc - 1, argv + 1, register_bench_types);
  const auto n = [&](long fallback) { return static_cast<std::uint64_t>(arg_long(argc, argv, 2, fallback)); };
  if (mode == "local") return run_local(n(200'000));
  if (mode == "remote") return run_remote(n(100'000));
  if (mode == "kill") return run_kill(n(10'000));
  if (mode == "all") return run_local(200'000) | run_remote(100'000) | run_kill(10'000);
  std::fprintf(stderr, "usage: actor_monitor_bench [all | local [N] | remote [N] | kill [N] | server [node options]]\n");
  return 2;
}
