// Benchmarks of libactor between two processes (two nodes over ZeroMQ on
// 127.0.0.1), measured the way the raw ZeroMQ anchors (anchors/src/zmq_thr.cpp,
// zmq_lat.cpp) measure, with the same payload size, counts and warmup, so the
// ratios to them are meaningful.
//
// Usage:
//   actor_remote_bench                 run both modes below, each in its own process
//   actor_remote_bench oneway [N] [BATCH] [WINDOW]
//       one actor in this process sends N (2,000,000) messages with a 64-byte
//       payload to a sink actor on the server node, in batches of BATCH (1000),
//       sending itself a message between batches (as actor_local_bench does).
//       Flow control: libactor's sends never block; a peer's queue beyond
//       peer_queue_limit drops them as `overloaded`. So after each batch the
//       sender requests a mark from the sink and keeps at most WINDOW (32) marks
//       unanswered (credit-based, like TCP's window; WINDOW 0: none, blast and
//       count the drops). After the last batch it requests the sink's report;
//       sends and requests travel in order, so the report counts exactly what
//       arrived. Time: from
//       the first send (client's steady clock) to the sink's handling of the N-th
//       message (server's steady clock; both are CLOCK_MONOTONIC of this host).
//       The run fails unless the sink got exactly N messages of 64 bytes; drops
//       (`overloaded` and the rest) are reported from both nodes' counters.
//   actor_remote_bench rtt [N] [WARMUP]
//       a client actor requests a reply from an echo actor on the server node
//       N (100,000) times, one request at a time, after WARMUP (1000) unmeasured
//       ones; 64-byte payload; reports mean, p50, p99, p99.9 and max.
//   actor_remote_bench server [actor-node options]
//       the server: actor::node_main with the bench actor types registered.
//
// Each mode starts its own server (fork + exec of this program) listening on
// tcp://127.0.0.1:0, reads the bound address from the server's `event=ready`
// log line (stderr, through a pipe), and ends the server by PID (SIGTERM, then
// SIGKILL) on every way out; the server also gets SIGKILL should this process die.
//
// Without arguments the counts come from ACTOR_BENCH_REMOTE_N /
// ACTOR_BENCH_REMOTE_RTT_N / ACTOR_BENCH_REMOTE_WARMUP, else from the anchors'
// ZMQ_THR_N / ZMQ_LAT_N / WARMUP, else the defaults above.
//
// ACTOR_BUSY_POLL_US sets both nodes' busy polling (the server reads it as
// actor-node does; the client node takes it too); unset: the library's default.
//
// Output: lines `RESULT <key> <value> <unit>`; exit code 0 on success, 1 when a
// mode fails (wrong count, an error, or no result within its time limit).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "server_process.hpp"
#include <vector>

#include "actor/actor.hpp"
#include "bench_util.hpp"
#include "actor/node.hpp"
#include "actor/node_main.hpp"

// ---- messages -----------------------------------------------------------------

namespace bench {
/// The benchmark's message: a 64-byte payload (like the anchors' SIZE=64).
struct payload {
  std::string data;
  ACTOR_FIELDS(data)
};
struct next_batch {
  ACTOR_NO_FIELDS
};
/// Asks the sink for its report; sent after the last payload, so it arrives after all of them.
struct sink_query {
  ACTOR_NO_FIELDS
};
/// A request after each batch: answered with itself once the sink has handled that batch.
struct sink_mark {
  ACTOR_NO_FIELDS
};
struct sink_report {
  std::uint64_t count = 0;     ///< payloads received
  std::uint64_t bad = 0;       ///< payloads of the wrong size
  std::uint64_t first_ns = 0;  ///< steady clock at the first payload
  std::uint64_t last_ns = 0;   ///< steady clock at the expected-th payload (else at the query)
  ACTOR_FIELDS(count, bad, first_ns, last_ns)
};
}  // namespace bench

ACTOR_MESSAGE(bench::payload, "bench.remote.payload");
ACTOR_MESSAGE(bench::next_batch, "bench.remote.next_batch");
ACTOR_MESSAGE(bench::sink_query, "bench.remote.sink_query");
ACTOR_MESSAGE(bench::sink_report, "bench.remote.sink_report");
ACTOR_MESSAGE(bench::sink_mark, "bench.remote.sink_mark");

namespace bench {

constexpr std::size_t payload_size = 64;
// Batches in flight in oneway mode (32 x 1000 messages, a third of a node's
// default peer_queue_limit of 100,000, beyond which sends are dropped as `overloaded`).
constexpr long default_window = 32;


long env_long(const char* name, long fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtol(v, nullptr, 10) : fallback;
}

// How long a mode may take before it is reported as failed.
constexpr auto time_limit = std::chrono::seconds(120);

void fail(const char* mode, const std::string& why) {
  std::fprintf(stderr, "actor_remote_bench %s: %s\n", mode, why.c_str());
}

// ---- the server's actor types -------------------------------------------------------

/// Counts payloads; answers sink_query with its report. Config: {"expect": N}.
class sink_actor final : public actor::actor_base {
 public:
  explicit sink_actor(const actor::config& cfg)
      : expect_(static_cast<std::uint64_t>(cfg.get_or<std::int64_t>("expect", 0))) {}

 protected:
  actor::behavior make_behavior() override {
    return {
        [this](const payload& p) {
          if (p.data.size() != payload_size) ++r_.bad;
          if (r_.count++ == 0) r_.first_ns = now_ns();
          if (r_.count == expect_) r_.last_ns = now_ns();
        },
        [](const sink_mark&) { return sink_mark{}; },
        [this](const sink_query&) {
          sink_report out = r_;
          if (out.count != expect_) out.last_ns = now_ns();
          r_ = sink_report{};
          return out;
        },
    };
  }

 private:
  std::uint64_t expect_;
  sink_report r_;
};

/// Answers every payload with itself.
class echo_actor final : public actor::actor_base {
 protected:
  actor::behavior make_behavior() override {
    return {[](payload& p) { return std::move(p); }};
  }
};

void register_bench_types(actor::actor_system& sys) {
  sys.register_actor_type<sink_actor>("bench_sink");
  sys.register_actor_type<echo_actor>("bench_echo");
}

// the server process: bench/server_process.hpp

// A client node: an actor system and a node listening on a free port (the
// server's replies come back to it).
struct client_node {
  actor::actor_system sys;
  actor::node node;
  client_node() : sys(system_options()), node(sys, options()) {}
  static std::chrono::microseconds busy_poll() {
    return std::chrono::microseconds(env_long("ACTOR_BUSY_POLL_US", actor::default_busy_poll.count()));
  }
  static actor::system_options system_options() {
    actor::system_options o;
    o.busy_poll = busy_poll();
    return o;
  }
  static actor::node_options options() {
    actor::node_options o;
    o.name = "bench-client";
    o.listen = "tcp://127.0.0.1:0";
    o.busy_poll = busy_poll();
    return o;
  }
};

// Spawns `type` on the server node through its manager.
actor::expected<actor::actor_ref> spawn_remote(client_node& c, const std::string& address, const std::string& type,
                                               const actor::config& cfg) {
  auto mgr = c.node.manager_at(address);
  auto f = c.sys.request<actor::spawn_reply>(mgr, actor::spawn_request{type, "", cfg}, std::chrono::seconds(10));
  auto r = f.get();
  if (!r) return r.error();
  return r->ref;
}

// The drop counters of a node, summed, with a text of the non-zero ones.
std::uint64_t total_dropped(const actor::node_stats& s, std::string& text) {
  std::uint64_t total = 0;
  for (const auto& [reason, n] : s.dropped) {
    if (n == 0) continue;
    total += n;
    text += " " + reason + "=" + std::to_string(n);
  }
  return total;
}

// ---- oneway: one sender, one remote sink -------------------------------------------

struct oneway_outcome {
  std::uint64_t t0 = 0;  // the first send
  actor::expected<sink_report> report{actor::error{actor::errc::timeout, "no report"}};
};

class sender final : public actor::actor_base {
 public:
  sender(actor::actor_ref dst, long total, long batch, long window, oneway_outcome* out, std::promise<void>* done)
      : dst_(std::move(dst)), total_(total), batch_(batch), window_(window), out_(out), done_(done) {}

 protected:
  actor::behavior make_behavior() override {
    return {[this](const next_batch&) {
      scheduled_ = false;
      if (sent_ == 0) out_->t0 = now_ns();
      long end = std::min(total_, sent_ + batch_);
      for (long i = sent_; i < end; ++i) send(dst_, payload{std::string(payload_size, 'x')});
      sent_ = end;
      if (sent_ == total_) {
        finish_up();
        return;
      }
      if (window_ > 0) {
        // credit: a mark after each batch; its answer (the sink has handled the batch) frees the batch's credit
        ++marks_in_flight_;
        request(dst_, sink_mark{}, time_limit)
            .then(
                [this](const sink_mark&) {
                  --marks_in_flight_;
                  schedule();
                },
                [this](const actor::error& e) {
                  out_->report = e;
                  finish();
                });
      }
      schedule();
    }};
  }
  void on_start() override { schedule(); }

 private:
  // Another batch, as a message to ourselves (so replies and other actors get their turn),
  // unless one is already queued, every batch is sent, or the window is full.
  void schedule() {
    if (scheduled_ || sent_ == total_ || done_sent_) return;
    if (window_ > 0 && marks_in_flight_ >= window_) return;
    scheduled_ = true;
    send(self(), next_batch{});
  }
  void finish_up() {
    // ordered after every payload: the sink has handled them all when it answers
    request(dst_, sink_query{}, time_limit)
        .then(
            [this](const sink_report& r) {
              out_->report = r;
              finish();
            },
            [this](const actor::error& e) {
              out_->report = e;
              finish();
            });
  }
  void finish() {
    if (done_sent_) return;
    done_sent_ = true;
    done_->set_value();
    quit();
  }

  actor::actor_ref dst_;
  long total_;
  long batch_;
  long window_;  // batches in flight; 0: no flow control
  oneway_outcome* out_;
  std::promise<void>* done_;
  long sent_ = 0;
  long marks_in_flight_ = 0;
  bool scheduled_ = false;
  bool done_sent_ = false;
};

int run_oneway(long count, long batch, long window) {
  const char* mode = "oneway";
  if (count <= 0 || batch <= 0 || window < 0) return 1;
  bench::server_process server;
  if (!server.start({"/proc/self/exe", "server", "--name", "bench-server", "--listen", "tcp://127.0.0.1:0",
                     "--log-level", "info"},
                    mode)) {
    return 1;
  }
  oneway_outcome out;
  std::promise<void> done;
  actor::node_stats client_stats;
  actor::expected<actor::node_stats> server_stats{actor::error{actor::errc::timeout, ""}};
  {
    client_node c;
    actor::config cfg;
    cfg.set("expect", static_cast<std::int64_t>(count));
    auto sink = spawn_remote(c, server.address(), "bench_sink", cfg);
    if (!sink) {
      fail(mode, "cannot spawn the sink: " + sink.error().describe());
      return 1;
    }
    auto finished = done.get_future();
    c.sys.spawn<sender>(*sink, count, batch, window, &out, &done);
    if (finished.wait_for(time_limit) != std::future_status::ready) {
      fail(mode, "no report from the sink within " + std::to_string(time_limit.count()) + " s");
      std::_Exit(1);  // the sender still points at `out`; the server dies with us (PDEATHSIG)
    }
    client_stats = c.node.stats();
    server_stats = c.sys.request<actor::node_stats>(c.node.manager_at(server.address()), actor::stats_request{},
                                                    std::chrono::seconds(10))
                       .get();
  }
  server.stop();

  std::string client_drops, server_drops;
  auto dropped = total_dropped(client_stats, client_drops);
  if (server_stats) dropped += total_dropped(*server_stats, server_drops);
  result("actor.remote_oneway.dropped", static_cast<double>(dropped), "msg");
  if (!client_drops.empty()) std::fprintf(stderr, "actor_remote_bench oneway: client drops:%s\n", client_drops.c_str());
  if (!server_drops.empty()) std::fprintf(stderr, "actor_remote_bench oneway: server drops:%s\n", server_drops.c_str());
  if (!out.report) {
    fail(mode, "the sink's report failed: " + out.report.error().describe());
    return 1;
  }
  const auto& r = *out.report;
  if (r.count != static_cast<std::uint64_t>(count) || r.bad != 0) {
    fail(mode, "the sink got " + std::to_string(r.count) + " of " + std::to_string(count) + " messages (" +
                   std::to_string(r.bad) + " of the wrong size)");
    return 1;
  }
  double secs = static_cast<double>(r.last_ns - out.t0) / 1e9;
  result("actor.remote_oneway.msgs_per_s", static_cast<double>(count) / secs, "msg/s");
  // the sink's own window, first to last receipt (count-1 intervals): how zmq_thr times
  if (count > 1 && r.last_ns > r.first_ns) {
    result("actor.remote_oneway.recv_window_msgs_per_s",
           static_cast<double>(count - 1) / (static_cast<double>(r.last_ns - r.first_ns) / 1e9), "msg/s");
  }
  if (server_stats && server_stats->frames_received > 0) {
    result("actor.remote_oneway.envelopes_per_frame",
           static_cast<double>(server_stats->messages_received) / static_cast<double>(server_stats->frames_received),
           "msg");
  }
  result("actor.remote_oneway.window_msgs", static_cast<double>(window * batch), "msg");
  result("actor.remote_oneway.client_peak_rss_MB", static_cast<double>(peak_rss_bytes()) / 1e6, "MB");
  return 0;
}

// ---- rtt: request/reply to a remote echo ----------------------------------------------

struct rtt_outcome {
  std::vector<std::uint64_t> rtt_ns;
  long bad = 0;  // replies of the wrong size
  actor::error err{actor::errc::timeout, ""};
  bool failed = false;
};

class pinger final : public actor::actor_base {
 public:
  pinger(actor::actor_ref dst, long count, long warmup, rtt_outcome* out, std::promise<void>* done)
      : dst_(std::move(dst)), count_(count), warmup_(warmup), out_(out), done_(done) {}

 protected:
  actor::behavior make_behavior() override {
    return {[](const next_batch&) {}};
  }
  void on_start() override {
    out_->rtt_ns.reserve(static_cast<std::size_t>(count_));
    next();
  }

 private:
  void next() {
    if (done_count_ == warmup_ + count_) {
      finish();
      return;
    }
    auto t0 = now_ns();
    request(dst_, payload{std::string(payload_size, 'p')}, std::chrono::seconds(10))
        .then(
            [this, t0](const payload& p) {
              auto t1 = now_ns();
              if (p.data.size() != payload_size) ++out_->bad;
              if (done_count_++ >= warmup_) out_->rtt_ns.push_back(t1 - t0);
              next();
            },
            [this](const actor::error& e) {
              out_->err = e;
              out_->failed = true;
              finish();
            });
  }
  void finish() {
    done_->set_value();
    quit();
  }

  actor::actor_ref dst_;
  long count_;
  long warmup_;
  rtt_outcome* out_;
  std::promise<void>* done_;
  long done_count_ = 0;
};

int run_rtt(long count, long warmup) {
  const char* mode = "rtt";
  if (count <= 0 || warmup < 0) return 1;
  bench::server_process server;
  if (!server.start({"/proc/self/exe", "server", "--name", "bench-server", "--listen", "tcp://127.0.0.1:0",
                     "--log-level", "info"},
                    mode)) {
    return 1;
  }
  rtt_outcome out;
  std::promise<void> done;
  {
    client_node c;
    auto echo = spawn_remote(c, server.address(), "bench_echo", {});
    if (!echo) {
      fail(mode, "cannot spawn the echo actor: " + echo.error().describe());
      return 1;
    }
    auto finished = done.get_future();
    c.sys.spawn<pinger>(*echo, count, warmup, &out, &done);
    if (finished.wait_for(time_limit) != std::future_status::ready) {
      fail(mode, "did not finish within " + std::to_string(time_limit.count()) + " s");
      std::_Exit(1);  // the pinger still points at `out`; the server dies with us (PDEATHSIG)
    }
  }
  server.stop();
  if (out.failed || out.bad != 0 || out.rtt_ns.size() != static_cast<std::size_t>(count)) {
    fail(mode, (out.failed ? "error " + out.err.describe() + ", " : std::string()) + std::to_string(out.bad) +
                   " bad replies, " + std::to_string(out.rtt_ns.size()) + " of " + std::to_string(count) +
                   " round trips");
    return 1;
  }
  latency_report("actor.remote_rtt", std::move(out.rtt_ns));
  return 0;
}

// Runs `self mode count` in a child process, so each mode starts from a fresh heap.
int run_child(const char* mode, long count) {
  std::fflush(stdout);
  std::fflush(stderr);
  std::string n = std::to_string(count);
  const char* self = "/proc/self/exe";
  pid_t pid = ::fork();
  if (pid < 0) {
    std::perror("fork");
    return 1;
  }
  if (pid == 0) {
    ::execl(self, self, mode, n.c_str(), static_cast<char*>(nullptr));
    std::perror("execl");
    _exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      std::perror("waitpid");
      return 1;
    }
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
  std::fprintf(stderr, "actor_remote_bench %s: child failed (status %d)\n", mode, status);
  return 1;
}

}  // namespace bench

int main(int argc, char** argv) {
  using namespace bench;
  std::string mode = argc > 1 ? argv[1] : "all";
  if (mode == "server") return actor::node_main(argc - 1, argv + 1, register_bench_types);
  const long warmup = env_long("ACTOR_BENCH_REMOTE_WARMUP", env_long("WARMUP", 1000));
  if (mode == "oneway") {
    return run_oneway(arg_long(argc, argv, 2, 2'000'000), arg_long(argc, argv, 3, 1000),
                      arg_long(argc, argv, 4, default_window));
  }
  if (mode == "rtt") return run_rtt(arg_long(argc, argv, 2, 100'000), arg_long(argc, argv, 3, warmup));
  if (mode == "all") {
    int rc = 0;
    rc |= run_child("oneway", env_long("ACTOR_BENCH_REMOTE_N", env_long("ZMQ_THR_N", 2'000'000)));
    rc |= run_child("rtt", env_long("ACTOR_BENCH_REMOTE_RTT_N", env_long("ZMQ_LAT_N", 100'000)));
    return rc;
  }
  std::fprintf(stderr,
               "usage: actor_remote_bench [all | oneway [N] [BATCH] [WINDOW] | rtt [N] [WARMUP] | server [node options]]\n");
  return 2;
}
