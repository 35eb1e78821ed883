#include "harness.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace itest {

std::string actor_node_path() { return ACTOR_NODE_BIN; }
std::string test_node_path() { return ACTOR_TEST_NODE_BIN; }
std::string test_plugin_path() { return ACTOR_TEST_PLUGIN_PATH; }
std::string actor_registry_path() { return ACTOR_REGISTRY_BIN; }

namespace {

exit_status from_wait_status(int st) {
  exit_status s;
  if (WIFEXITED(st)) {
    s.exited = true;
    s.code = WEXITSTATUS(st);
  } else if (WIFSIGNALED(st)) {
    s.signal = WTERMSIG(st);
  }
  return s;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += ' ';
    out += s;
  }
  return out;
}

}  // namespace

std::string exit_status::describe() const {
  if (exited) return "exited with code " + std::to_string(code);
  if (signal != 0) return "killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
  return "unknown status";
}

// ---- child_process ------------------------------------------------------------------

child_process::child_process(std::vector<std::string> argv, const std::map<std::string, std::string>& env)
    : argv_(std::move(argv)) {
  if (argv_.empty()) throw std::invalid_argument("child_process: empty argv");
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);  // dup2 clears O_CLOEXEC on the copies
  posix_spawn_file_actions_adddup2(&fa, fds[1], 2);

  // the test's own ACTOR_* variables must not leak into the nodes' options; a variable
  // in `env` replaces the inherited one (getenv would find the first of two)
  std::vector<std::string> env_strings;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string kv(*e);
    if (kv.rfind("ACTOR_", 0) == 0) continue;
    if (env.count(kv.substr(0, kv.find('='))) > 0) continue;
    env_strings.push_back(std::move(kv));
  }
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);

  std::vector<char*> cargv;
  for (auto& a : argv_) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  std::vector<char*> cenv;
  for (auto& e : env_strings) cenv.push_back(e.data());
  cenv.push_back(nullptr);

  const int rc = ::posix_spawn(&pid_, argv_[0].c_str(), &fa, nullptr, cargv.data(), cenv.data());
  posix_spawn_file_actions_destroy(&fa);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    throw std::runtime_error("cannot start " + join(argv_) + ": " + std::strerror(rc));
  }
  reader_ = std::thread([this, fd = fds[0]] { read_loop(fd); });
}

child_process::~child_process() {
  if (!status_) {
    ::kill(pid_, SIGKILL);
    int st = 0;
    while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
    status_ = from_wait_status(st);
  }
  if (reader_.joinable()) reader_.join();  // the pipe ends with the process
  if (std::uncaught_exceptions() > 0 || std::getenv("ITEST_VERBOSE") != nullptr) {
    std::lock_guard lk(mu_);
    std::fprintf(stderr, "---- log of pid %d: %s ----\n%s---- end of log of pid %d ----\n", static_cast<int>(pid_),
                 join(argv_).c_str(), output_.c_str(), static_cast<int>(pid_));
  }
}

void child_process::read_loop(int fd) {
  char buf[8192];
  for (;;) {
    const auto n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    {
      std::lock_guard lk(mu_);
      output_.append(buf, static_cast<std::size_t>(n));
    }
    cv_.notify_all();
  }
  ::close(fd);
  {
    std::lock_guard lk(mu_);
    eof_ = true;
  }
  cv_.notify_all();
}

bool child_process::signal(int sig) {
  if (status_) return false;
  return ::kill(pid_, sig) == 0;
}

bool child_process::reaped() const { return status_.has_value(); }

std::optional<exit_status> child_process::wait_exit(ms limit) {
  if (status_) return status_;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  {
    // the pipe reaches EOF when the process has exited (it holds the only write ends)
    std::unique_lock lk(mu_);
    if (!cv_.wait_until(lk, deadline, [this] { return eof_; })) return std::nullopt;
  }
  int st = 0;
  pid_t r = 0;
  const bool done = poll_until(
      [&] {
        r = ::waitpid(pid_, &st, WNOHANG);
        return r == pid_ || (r < 0 && errno != EINTR);
      },
      std::max<ms>(std::chrono::duration_cast<ms>(deadline - std::chrono::steady_clock::now()), 1000ms));
  if (!done || r != pid_) return std::nullopt;
  status_ = from_wait_status(st);
  return status_;
}

exit_status child_process::kill_and_reap() {
  signal(SIGKILL);
  auto s = wait_exit(5s);
  if (!s) throw std::runtime_error("process " + std::to_string(pid_) + " did not die of SIGKILL within 5 s");
  return *s;
}

std::string child_process::log() const {
  std::lock_guard lk(mu_);
  return output_;
}

std::optional<std::string> child_process::find_line(std::string_view needle) const {
  const auto pos = output_.find(needle);
  if (pos == std::string::npos) return std::nullopt;
  const auto end = output_.find('\n', pos);
  if (end == std::string::npos) return std::nullopt;  // not complete yet
  const auto begin = output_.rfind('\n', pos);
  const auto from = begin == std::string::npos ? 0 : begin + 1;
  return output_.substr(from, end - from);
}

std::optional<std::string> child_process::wait_for_line(std::string_view needle, ms limit) {
  std::unique_lock lk(mu_);
  std::optional<std::string> line;
  cv_.wait_for(lk, limit, [&] {
    line = find_line(needle);
    return line.has_value() || eof_;
  });
  return line;
}

namespace {
std::optional<long> status_kib(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) return std::stol(line.substr(key.size()));
  }
  return std::nullopt;
}
}  // namespace

std::optional<long> child_process::rss_kib() const { return status_kib(pid_, "VmRSS:"); }

std::optional<long> child_process::vm_peak_kib() const { return status_kib(pid_, "VmPeak:"); }

// ---- node_process -----------------------------------------------------------------------

namespace {
std::string field_of(const std::string& line, const std::string& key) {
  const auto pos = line.find(" " + key + "=");
  if (pos == std::string::npos) return {};
  const auto from = pos + key.size() + 2;
  const auto end = line.find(' ', from);
  return line.substr(from, end == std::string::npos ? std::string::npos : end - from);
}
}  // namespace

node_process::node_process(std::vector<std::string> argv, const std::map<std::string, std::string>& env,
                           ms ready_limit)
    : child_process(std::move(argv), env) {
  auto line = wait_for_line("event=ready", ready_limit);
  if (line) {
    address_ = field_of(*line, "address");
    const auto inc = field_of(*line, "incarnation");
    if (!inc.empty()) incarnation_ = std::stoull(inc);
  }
  if (address_.empty()) {
    std::string text = "node " + join(this->argv()) + " was not ready within " +
                       std::to_string(ready_limit.count()) + " ms; its log:\n" + log();
    kill_and_reap();
    throw std::runtime_error(text);
  }
}

std::uint16_t node_process::port() const {
  return static_cast<std::uint16_t>(std::stoi(address_.substr(address_.rfind(':') + 1)));
}

std::vector<std::string> node_argv(const std::string& binary, const std::string& name,
                                   std::vector<std::string> extra) {
  std::vector<std::string> v{binary, "--name", name, "--workers", "2"};
  if (std::find(extra.begin(), extra.end(), "--listen") == extra.end()) {
    v.push_back("--listen");
    v.push_back("tcp://127.0.0.1:0");
  }
  v.insert(v.end(), extra.begin(), extra.end());
  return v;
}

std::vector<std::string> fast_liveness_args() {
  return {"--heartbeat-ms",      std::to_string(fast_heartbeat.count()),
          "--suspect-after-ms",  std::to_string(fast_suspect_after.count()),
          "--down-after-ms",     std::to_string(fast_down_after.count())};
}

std::vector<std::string> fast_node_argv(const std::string& binary, const std::string& name,
                                        std::vector<std::string> extra) {
  auto args = fast_liveness_args();
  args.insert(args.end(), extra.begin(), extra.end());
  return node_argv(binary, name, std::move(args));
}

std::vector<std::string> registered_node_argv(const std::string& name, const std::vector<std::string>& registries,
                                              std::vector<std::string> extra) {
  for (const auto& r : registries) {
    extra.push_back("--registry");
    extra.push_back(r);
  }
  return fast_node_argv(actor_node_path(), name, std::move(extra));
}

std::vector<std::string> registry_argv(const std::string& name, std::vector<std::string> extra) {
  std::vector<std::string> v{actor_registry_path(), "--name", name};
  if (std::find(extra.begin(), extra.end(), "--listen") == extra.end()) {
    v.push_back("--listen");
    v.push_back("tcp://127.0.0.1:0");
  }
  for (auto& a : fast_liveness_args()) v.push_back(std::move(a));
  v.push_back("--lease-ms");
  v.push_back(std::to_string(fast_lease.count()));
  v.insert(v.end(), extra.begin(), extra.end());
  return v;
}

actor::node_options fast_node_options(const std::string& name) {
  actor::node_options o;
  o.name = name;
  o.listen = "tcp://127.0.0.1:0";
  o.heartbeat_interval = fast_heartbeat;
  o.suspect_after = fast_suspect_after;
  o.down_after = fast_down_after;
  return o;
}

// ---- local_node ---------------------------------------------------------------------------

namespace {
actor::system_options two_workers() {
  actor::system_options o;
  o.workers = 2;
  return o;
}
}  // namespace

local_node::local_node(actor::node_options opts) : sys(two_workers()), node(sys, std::move(opts)) {}

actor::expected<actor::actor_ref> local_node::spawn_at(const std::string& address, const std::string& type,
                                                       const std::string& name, const actor::config& cfg) {
  auto r = ask<actor::spawn_reply>(node.manager_at(address), actor::spawn_request{type, name, cfg});
  if (!r) return r.error();
  return r->ref;
}

actor::expected<actor::actor_ref> local_node::lookup_at(const std::string& address, const std::string& name) {
  auto r = ask<actor::lookup_reply>(node.manager_at(address), actor::lookup_request{name});
  if (!r) return r.error();
  return r->ref;
}

actor::expected<actor::node_stats> local_node::stats_at(const std::string& address) {
  return ask<actor::node_stats>(node.manager_at(address), actor::stats_request{});
}

std::string local_node::peer_state(const std::string& address) const {
  for (const auto& p : node.stats().peers) {
    if (p.address == address) return p.state;
  }
  return {};
}

// ---- small helpers ----------------------------------------------------------------------

bool poll_until(const std::function<bool()>& pred, ms limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return pred();
    std::this_thread::sleep_for(1ms);  // a pause between tries of a polled condition, not a synchronization
  }
  return true;
}

std::uint16_t unused_port() { return reserved_port().port(); }

reserved_port::reserved_port() {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd_);
    throw std::runtime_error("bind: " + why);
  }
  port_ = ntohs(a.sin_port);
}

reserved_port::~reserved_port() {
  if (fd_ >= 0) ::close(fd_);
}

temp_file::temp_file(const std::string& content) {
  char name[] = "/tmp/itest-XXXXXX";
  const int fd = ::mkstemp(name);
  if (fd < 0) throw std::runtime_error(std::string("mkstemp: ") + std::strerror(errno));
  path_ = name;
  std::size_t off = 0;
  while (off < content.size()) {
    const auto n = ::write(fd, content.data() + off, content.size() - off);
    if (n <= 0) break;
    off += static_cast<std::size_t>(n);
  }
  ::close(fd);
}

temp_file::~temp_file() { ::unlink(path_.c_str()); }

}  // namespace itest
