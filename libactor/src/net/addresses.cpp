#include "net/addresses.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

namespace actor::detail {

namespace {

constexpr std::string_view tcp = "tcp://";

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool starts_with_tcp(std::string_view a) noexcept {
  if (a.size() < tcp.size()) return false;
  for (std::size_t i = 0; i < tcp.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != tcp[i]) return false;
  }
  return true;
}

std::string_view unbracket(std::string_view host) noexcept {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') return host.substr(1, host.size() - 2);
  return host;
}

}  // namespace

std::string_view host_of(std::string_view address) noexcept {
  if (!starts_with_tcp(address)) return {};
  const auto rest = address.substr(tcp.size());
  const auto colon = rest.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return {};
  const auto host = rest.substr(0, colon);
  if (host.front() == '[' ? host.back() != ']' : host.find(':') != std::string_view::npos) return {};
  return host;
}

std::string_view port_of(std::string_view address) noexcept {
  if (host_of(address).empty()) return {};
  return address.substr(address.rfind(':') + 1);
}

std::string canonical_address(std::string_view address) {
  const auto host = host_of(address);
  const auto port = port_of(address);
  if (host.empty() || port.empty()) return std::string(address);
  std::string h = lower(host);
  if (h == "localhost") h = "127.0.0.1";
  return std::string(tcp) + h + ":" + std::string(port);
}

bool is_ip_literal(std::string_view host) noexcept {
  const std::string h(unbracket(host));
  unsigned char buf[16];
  return ::inet_pton(AF_INET, h.c_str(), buf) == 1 || ::inet_pton(AF_INET6, h.c_str(), buf) == 1;
}

bool is_loopback_host(std::string_view host) noexcept {
  const std::string h = lower(unbracket(host));
  if (h == "localhost" || h == "::1") return true;
  unsigned char buf[4];
  return ::inet_pton(AF_INET, h.c_str(), buf) == 1 && buf[0] == 127;
}

bool is_wildcard_host(std::string_view host) noexcept {
  const auto h = unbracket(host);
  return h == "*" || h == "0.0.0.0" || h == "::";
}

}  // namespace actor::detail
