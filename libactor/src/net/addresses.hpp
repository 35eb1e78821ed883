#pragma once
// addresses: one spelling per node address, so that `tcp://localhost:P` and
// `tcp://127.0.0.1:P` reach one peer slot, and a node knows its own address under
// another spelling. Pure functions: no resolver, no socket.

#include <string>
#include <string_view>

namespace actor::detail {

/// The canonical spelling of a ZeroMQ endpoint: scheme and host in lower case,
/// `localhost` as `127.0.0.1`, `[::1]` and other IPv6 hosts kept in brackets.
/// Anything that is not `tcp://HOST:PORT` comes back as it is.
[[nodiscard]] std::string canonical_address(std::string_view address);

/// The host of `tcp://HOST:PORT` (brackets of IPv6 kept), else "".
[[nodiscard]] std::string_view host_of(std::string_view address) noexcept;
/// The port of `tcp://HOST:PORT`, else "".
[[nodiscard]] std::string_view port_of(std::string_view address) noexcept;

/// A loopback host: `localhost`, 127.0.0.0/8 or ::1 (bracketed or not), any case.
[[nodiscard]] bool is_loopback_host(std::string_view host) noexcept;
/// An IP literal (IPv4 dotted quad, or IPv6 with or without brackets), not a name.
[[nodiscard]] bool is_ip_literal(std::string_view host) noexcept;
/// A wildcard host: `*`, `0.0.0.0` or `::`.
[[nodiscard]] bool is_wildcard_host(std::string_view host) noexcept;

}  // namespace actor::detail
