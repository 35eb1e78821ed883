#pragma once
// The integration tests' harness: real node processes started with posix_spawn,
// their logs captured through a pipe, and an in-process node to talk to them.
//
// Every process is owned by an object that kills it (SIGKILL) and reaps it by
// PID in its destructor, so a failing test leaves nothing behind. Waiting is
// always for a condition with a deadline: a log line, a future, an exit, a
// polled condition; never a sleep standing in for synchronization.

#include <sys/types.h>

#include <csignal>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "actor/actor.hpp"
#include "actor/node.hpp"

namespace itest {

using namespace std::chrono_literals;
using ms = std::chrono::milliseconds;

/// Paths of the binaries under test (compile definitions set by CMake).
[[nodiscard]] std::string actor_node_path();
[[nodiscard]] std::string test_node_path();
[[nodiscard]] std::string test_plugin_path();
[[nodiscard]] std::string actor_registry_path();

/// How many times slower a sanitizer build runs: timing bounds stretch by it, or a
/// node that TSan slows down for a moment is taken for a dead one.
#if defined(__SANITIZE_THREAD__)
inline constexpr int slowdown = 5;
#else
inline constexpr int slowdown = 1;
#endif

/// Liveness settings that make failure detection fast in tests; the same values
/// are passed to node processes (fast_liveness_args) and to in-process nodes.
inline constexpr ms fast_heartbeat{100 * slowdown};
inline constexpr ms fast_suspect_after{300 * slowdown};
inline constexpr ms fast_down_after{600 * slowdown};

/// How a process ended.
struct exit_status {
  bool exited = false;  ///< exited normally, with `code`
  int code = -1;
  int signal = 0;  ///< killed by this signal
  [[nodiscard]] std::string describe() const;
};

/// A child process with stdout and stderr captured (through a pipe read by a
/// thread of this object) and stdin from /dev/null. Not copyable or movable.
class child_process {
 public:
  /// argv[0] is the program's path. The child's environment is this process's
  /// without ACTOR_* variables, plus `env` (replacing inherited variables of the same
  /// names). Throws std::runtime_error when the
  /// process cannot be started.
  explicit child_process(std::vector<std::string> argv, const std::map<std::string, std::string>& env = {});
  /// SIGKILL (if not reaped yet) and waitpid; writes the captured log to stderr
  /// when unwinding from a failed REQUIRE, or when ITEST_VERBOSE is set.
  virtual ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  [[nodiscard]] const std::vector<std::string>& argv() const noexcept { return argv_; }

  /// Sends sig to the process (by PID); false when it is already reaped.
  bool signal(int sig);
  bool stop() { return signal(SIGSTOP); }
  bool resume() { return signal(SIGCONT); }
  bool terminate() { return signal(SIGTERM); }
  bool kill() { return signal(SIGKILL); }

  /// Waits up to `limit` for the process to exit and reaps it; nullopt when it
  /// is still running at the deadline. Returns the same status on later calls.
  std::optional<exit_status> wait_exit(ms limit);
  /// SIGKILL and reap (within 5 s); the status.
  exit_status kill_and_reap();
  [[nodiscard]] bool reaped() const;

  /// Everything the process wrote so far.
  [[nodiscard]] std::string log() const;
  /// Waits up to `limit` for a line containing `needle`; that line, or nullopt.
  std::optional<std::string> wait_for_line(std::string_view needle, ms limit);
  /// Resident set size from /proc/PID/status, in KiB; nullopt when unreadable.
  [[nodiscard]] std::optional<long> rss_kib() const;
  /// Peak virtual memory size (VmPeak) from /proc/PID/status, in KiB; nullopt when unreadable.
  [[nodiscard]] std::optional<long> vm_peak_kib() const;

 private:
  void read_loop(int fd);
  [[nodiscard]] std::optional<std::string> find_line(std::string_view needle) const;  // mu_ held

  std::vector<std::string> argv_;
  pid_t pid_ = -1;
  std::thread reader_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string output_;
  bool eof_ = false;
  std::optional<exit_status> status_;
};

/// A node process (actor-node or a binary calling actor::node_main): started,
/// then waited for until its `event=ready` log line (10 s), whose address= and
/// incarnation= are parsed. Throws std::runtime_error (with the log) when the
/// node is not ready in time; the process is killed and reaped either way.
class node_process : public child_process {
 public:
  explicit node_process(std::vector<std::string> argv, const std::map<std::string, std::string>& env = {},
                        ms ready_limit = 10s);

  [[nodiscard]] const std::string& address() const noexcept { return address_; }
  [[nodiscard]] std::uint16_t port() const;
  [[nodiscard]] std::uint64_t incarnation() const noexcept { return incarnation_; }

 private:
  std::string address_;
  std::uint64_t incarnation_ = 0;
};

/// argv for a node: {binary, --name NAME, --workers 2, --listen tcp://127.0.0.1:0} + extra
/// (without the default --listen when extra has one).
[[nodiscard]] std::vector<std::string> node_argv(const std::string& binary, const std::string& name,
                                                 std::vector<std::string> extra = {});
/// --heartbeat-ms 100 --suspect-after-ms 300 --down-after-ms 600
[[nodiscard]] std::vector<std::string> fast_liveness_args();
/// node_argv + fast_liveness_args + extra.
[[nodiscard]] std::vector<std::string> fast_node_argv(const std::string& binary, const std::string& name,
                                                      std::vector<std::string> extra = {});

/// fast_node_argv for actor-node with `--registry R` for each of registries, then extra.
[[nodiscard]] std::vector<std::string> registered_node_argv(const std::string& name,
                                                            const std::vector<std::string>& registries,
                                                            std::vector<std::string> extra = {});

/// A registry's name lease in tests: as long as the fast down bound.
inline constexpr ms fast_lease{fast_down_after};

/// argv for actor-registry: --name NAME, --listen tcp://127.0.0.1:0 (unless extra has
/// --listen), the fast liveness settings and --lease-ms fast_lease, then extra.
[[nodiscard]] std::vector<std::string> registry_argv(const std::string& name, std::vector<std::string> extra = {});

/// In-process node options on 127.0.0.1:0 with the fast liveness settings.
[[nodiscard]] actor::node_options fast_node_options(const std::string& name);

/// The test process's own node: an actor system with a node on 127.0.0.1:0.
/// Destroys the node before the system.
struct local_node {
  explicit local_node(actor::node_options opts = fast_node_options("itest"));
  actor::actor_system sys;
  actor::node node;

  /// Requests and waits for the outcome (the request's own deadline bounds it; a
  /// future still pending 5 s after it is reported as an error naming the harness).
  template <class R, class T>
  actor::expected<R> ask(const actor::actor_ref& to, T&& msg, ms timeout = 5s) {
    auto f = sys.request<R>(to, std::forward<T>(msg), timeout);
    if (f.wait_for(timeout + 5s) != std::future_status::ready) {
      return actor::error{actor::errc::timeout, "harness: the future was not completed after its deadline"};
    }
    return f.get();
  }

  /// spawn_request to the node at `address`.
  actor::expected<actor::actor_ref> spawn_at(const std::string& address, const std::string& type,
                                             const std::string& name = {}, const actor::config& cfg = {});
  /// lookup_request to the node at `address`.
  actor::expected<actor::actor_ref> lookup_at(const std::string& address, const std::string& name);
  /// stats_request to the node at `address`.
  actor::expected<actor::node_stats> stats_at(const std::string& address);
  /// This node's view of the peer at `address` ("connecting", "alive", ...), or "" when unknown.
  [[nodiscard]] std::string peer_state(const std::string& address) const;
};

/// Polls pred (with a short pause between tries) until it holds or `limit` has
/// passed; the result of the last try.
bool poll_until(const std::function<bool()>& pred, ms limit);

/// A TCP port on 127.0.0.1 that nothing listens on (bound, read, closed).
[[nodiscard]] std::uint16_t unused_port();

/// A 127.0.0.1 TCP port bound, but not listening, while this lives: no other
/// process can take it, and connections to it are refused, as to a node that is gone.
class reserved_port {
 public:
  reserved_port();  // throws std::runtime_error when no port can be bound
  ~reserved_port();
  reserved_port(reserved_port&& o) noexcept : fd_(std::exchange(o.fd_, -1)), port_(o.port_) {}
  reserved_port& operator=(reserved_port&&) = delete;
  reserved_port(const reserved_port&) = delete;
  reserved_port& operator=(const reserved_port&) = delete;
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

/// A file in /tmp with the given content, removed by the destructor.
class temp_file {
 public:
  explicit temp_file(const std::string& content);
  ~temp_file();
  temp_file(const temp_file&) = delete;
  temp_file& operator=(const temp_file&) = delete;
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
};

}  // namespace itest
