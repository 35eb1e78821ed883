#pragma once
// A server (a node or a registry) in a child process for a benchmark: started
// with fork + exec, its address read from its `event=ready` log line, its log
// forwarded to our stderr, and ended by PID (SIGTERM, then SIGKILL) when the
// object goes; it also gets SIGKILL should the benchmark die.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.hpp"

namespace bench {

inline void server_fail(const char* label, const std::string& why) {
  std::fprintf(stderr, "%s: %s\n", label, why.c_str());
}

inline constexpr auto server_start_limit = std::chrono::seconds(10);


/// A server node in a child process, ended by PID when this object goes.
class server_process {
 public:
  server_process() = default;
  server_process(const server_process&) = delete;
  server_process& operator=(const server_process&) = delete;
  ~server_process() { stop(); }

  /// Starts argv (argv[0]: the program's path) and waits for its `event=ready` line;
  /// false (with the reason on stderr, prefixed by `label`) when it fails.
  bool start(const std::vector<std::string>& argv, const char* label) {
    const char* mode = label;
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      server_fail(mode, std::string("pipe: ") + std::strerror(errno));
      return false;
    }
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) {
      server_fail(mode, std::string("fork: ") + std::strerror(errno));
      ::close(fds[0]);
      ::close(fds[1]);
      return false;
    }
    if (pid == 0) {
      // the server must not outlive us, however we end
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) _exit(1);
      ::dup2(fds[1], STDERR_FILENO);  // dup2 clears O_CLOEXEC on the copy
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      std::perror("execv");
      _exit(127);
    }
    pid_ = pid;
    ::close(fds[1]);
    fd_ = fds[0];
    // read the server's log until its ready line
    std::string buf;
    auto deadline = clock_type::now() + server_start_limit;
    for (;;) {
      auto nl = buf.find('\n');
      while (nl != std::string::npos) {
        std::string line = buf.substr(0, nl);
        buf.erase(0, nl + 1);
        std::fprintf(stderr, "[server] %s\n", line.c_str());
        if (line.find(" event=ready ") != std::string::npos) {
          auto at = line.find(" address=");
          if (at != std::string::npos) {
            auto begin = at + 9;
            address_ = line.substr(begin, line.find(' ', begin) - begin);
            if (!address_.empty() && address_.front() == '"') address_ = address_.substr(1, address_.size() - 2);
          }
          if (address_.empty()) {
            server_fail(mode, "the server's ready line has no address");
            return false;
          }
          forward_ = std::thread([fd = fd_, rest = std::move(buf)] { forward(fd, rest); });
          return true;
        }
        nl = buf.find('\n');
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now()).count();
      if (left <= 0) {
        server_fail(mode, "the server did not report ready within 10 s");
        return false;
      }
      pollfd p{fd_, POLLIN, 0};
      int r = ::poll(&p, 1, static_cast<int>(left));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) continue;
      char chunk[4096];
      auto n = ::read(fd_, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        server_fail(mode, "the server exited before it was ready");
        return false;
      }
      buf.append(chunk, static_cast<std::size_t>(n));
    }
  }

  [[nodiscard]] const std::string& address() const noexcept { return address_; }
  [[nodiscard]] pid_t pid() const noexcept { return pid_; }

  /// SIGTERM, up to 6 s to exit (the node gives itself 5), then SIGKILL; reaps it.
  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      auto deadline = clock_type::now() + std::chrono::seconds(6);
      bool reaped = false;
      while (clock_type::now() < deadline) {
        pid_t r = ::waitpid(pid_, &status, WNOHANG);
        if (r == pid_ || (r < 0 && errno != EINTR)) {
          reaped = true;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      if (!reaped) {
        std::fprintf(stderr, "bench: server %d did not stop on SIGTERM, killing it\n", pid_);
        ::kill(pid_, SIGKILL);
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
      }
      pid_ = -1;
    }
    if (forward_.joinable()) forward_.join();  // ends at EOF: the server is gone
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }

 private:
  // Copies the rest of the server's log to our stderr, so its pipe never fills.
  static void forward(int fd, std::string rest) {
    if (!rest.empty()) std::fprintf(stderr, "[server] %s", rest.c_str());
    char chunk[4096];
    for (;;) {
      auto n = ::read(fd, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      std::fwrite(chunk, 1, static_cast<std::size_t>(n), stderr);
    }
  }

  pid_t pid_ = -1;
  int fd_ = -1;
  std::string address_;
  std::thread forward_;
};

}  // namespace bench
