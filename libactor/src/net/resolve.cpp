#include "net/resolve.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>
#include <utility>

namespace actor::detail {

namespace {

// "tcp://HOST:PORT" (HOST may be [v6]) -> HOST, or "" when not such an address.
std::string tcp_host(const std::string& address) {
  constexpr std::string_view scheme = "tcp://";
  if (address.compare(0, scheme.size(), scheme) != 0) return {};
  std::string rest = address.substr(scheme.size());
  if (auto semi = rest.find(';'); semi != std::string::npos) rest = rest.substr(semi + 1);  // source;dest
  if (!rest.empty() && rest.front() == '[') return {};  // an IPv6 literal
  const auto colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0) return {};
  return rest.substr(0, colon);
}

bool is_ip_literal(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return ::inet_pton(AF_INET, host.c_str(), buf) == 1 || ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

struct lookup {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  int rc = 0;
};

// "tcp://HOST:PORT" -> {HOST, PORT} (HOST without the brackets of a [v6] literal); {} otherwise.
std::pair<std::string, std::string> tcp_host_port(const std::string& address) {
  constexpr std::string_view scheme = "tcp://";
  if (address.compare(0, scheme.size(), scheme) != 0) return {};
  std::string rest = address.substr(scheme.size());
  if (auto semi = rest.find(';'); semi != std::string::npos) rest = rest.substr(semi + 1);  // source;dest
  const auto colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == rest.size()) return {};
  std::string host = rest.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return {host, rest.substr(colon + 1)};
}

// One non-blocking TCP connect to one address, waiting at most `bound`: 0 when it connected,
// else the errno it failed with (ETIMEDOUT when no answer came in time).
int try_connect(const addrinfo& a, std::chrono::milliseconds bound) {
  const int fd = ::socket(a.ai_family, a.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a.ai_protocol);
  if (fd < 0) return errno;
  int err = ETIMEDOUT;
  if (::connect(fd, a.ai_addr, a.ai_addrlen) == 0) {
    err = 0;
  } else if (errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, static_cast<int>(bound.count())) == 1) {
      socklen_t len = sizeof err;
      if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    }
  } else {
    err = errno;
  }
  ::close(fd);
  return err;
}

// ECONNREFUSED when every address host:port resolves to refuses a TCP connection (localhost
// may name ::1 and 127.0.0.1, and a node may listen on one of them only); else 0 or another errno.
int refused_everywhere(const std::string& host, const std::string& port, std::chrono::milliseconds bound) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 || res == nullptr) {
    if (res != nullptr) ::freeaddrinfo(res);
    return EHOSTUNREACH;  // not for this check to judge (unresolvable() says why)
  }
  int err = ECONNREFUSED;
  for (const addrinfo* a = res; a != nullptr && err == ECONNREFUSED; a = a->ai_next) err = try_connect(*a, bound);
  ::freeaddrinfo(res);
  return err;
}

}  // namespace

namespace {

// Runs `ask` on a thread of its own and waits at most `bound` for the int it returns: nullopt
// when it did not answer in time or no thread could be made (a slow resolver or a silent host
// then costs the caller `bound`, never more; the thread finishes on its own).
template <class Ask>
std::optional<int> answer_within(Ask ask, std::chrono::milliseconds bound) {
  auto state = std::make_shared<lookup>();
  try {
    std::thread([state, ask = std::move(ask)] {
      const int rc = ask();
      std::lock_guard lk(state->mu);
      state->rc = rc;
      state->done = true;
      state->cv.notify_all();
    }).detach();
  } catch (const std::system_error&) {
    return std::nullopt;
  }
  std::unique_lock lk(state->mu);
  if (!state->cv.wait_for(lk, bound, [&] { return state->done; })) return std::nullopt;
  return state->rc;
}

}  // namespace

std::optional<std::string> unresolvable(const std::string& address, std::chrono::milliseconds bound) {
  const std::string host = tcp_host(address);
  if (host.empty() || host == "*" || is_ip_literal(host)) return std::nullopt;
  const auto rc = answer_within(
      [host] {
        addrinfo hints{};
        hints.ai_socktype = SOCK_STREAM;
        addrinfo* res = nullptr;
        const int r = ::getaddrinfo(host.c_str(), nullptr, &hints, &res);
        if (res != nullptr) ::freeaddrinfo(res);
        return r;
      },
      bound);
  // only a definite "no such name" fails at once; no answer, or a temporary failure (EAI_AGAIN),
  // lets ZeroMQ try
  if (rc && (*rc == EAI_NONAME || *rc == EAI_FAIL || *rc == EAI_NODATA)) {
    return "cannot resolve " + host + " (" + address + "): " + ::gai_strerror(*rc);
  }
  return std::nullopt;
}

std::optional<std::string> refuses_connections(const std::string& address, std::chrono::milliseconds bound) {
  auto [host, port] = tcp_host_port(address);
  if (host.empty() || host == "*") return std::nullopt;
  const auto rc = answer_within(
      [host = std::move(host), port = std::move(port), bound] { return refused_everywhere(host, port, bound); },
      bound);
  if (rc == ECONNREFUSED) {
    return "cannot connect to " + address + ": " + std::strerror(ECONNREFUSED) + " (nothing listens there)";
  }
  return std::nullopt;
}

}  // namespace actor::detail
