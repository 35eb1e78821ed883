#include "net/resolve.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

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

}  // namespace

std::optional<std::string> unresolvable(const std::string& address, std::chrono::milliseconds bound) {
  const std::string host = tcp_host(address);
  if (host.empty() || host == "*" || is_ip_literal(host)) return std::nullopt;
  auto state = std::make_shared<lookup>();
  try {
    // its own thread, so that a slow resolver costs the caller at most `bound`
    std::thread([state, host] {
      addrinfo hints{};
      hints.ai_socktype = SOCK_STREAM;
      addrinfo* res = nullptr;
      const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res);
      if (res != nullptr) ::freeaddrinfo(res);
      std::lock_guard lk(state->mu);
      state->rc = rc;
      state->done = true;
      state->cv.notify_all();
    }).detach();
  } catch (const std::system_error&) {
    return std::nullopt;  // no thread: let ZeroMQ try
  }
  std::unique_lock lk(state->mu);
  if (!state->cv.wait_for(lk, bound, [&] { return state->done; })) return std::nullopt;
  // only a definite "no such name" fails at once; a temporary failure (EAI_AGAIN) lets ZeroMQ retry
  if (state->rc == EAI_NONAME || state->rc == EAI_FAIL || state->rc == EAI_NODATA) {
    return "cannot resolve " + host + " (" + address + "): " + ::gai_strerror(state->rc);
  }
  return std::nullopt;
}

}  // namespace actor::detail
