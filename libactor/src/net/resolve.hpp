#pragma once
// resolve: whether the host of a tcp:// address can be resolved, asked before ZeroMQ
// connects to it. ZeroMQ connects asynchronously and retries a name it cannot resolve
// forever, so without this a call to tcp://nosuchhost:7100 waits for its whole timeout.

#include <chrono>
#include <optional>
#include <string>

namespace actor::detail {

/// For a tcp:// address whose host is a name (not an IP literal, not "*"): asks the system's
/// resolver (getaddrinfo) on a thread of its own, waiting at most `bound`. Returns the reason
/// when the resolver says the name does not exist ("cannot resolve nosuchhost (tcp://nosuchhost:7100):
/// Name or service not known"); nullopt when it resolves, when the address is not a tcp:// name,
/// or when the resolver did not answer within `bound` (ZeroMQ then tries on its own).
/// Thread-safe; blocks the caller at most `bound`.
[[nodiscard]] std::optional<std::string> unresolvable(const std::string& address, std::chrono::milliseconds bound);

/// For a tcp://HOST:PORT address: tries a TCP connection to it (HOST resolved, its first
/// address), on a thread of its own, waiting at most `bound`, and closes it at once. Returns
/// the reason when the connection is refused, that is when nothing listens there ("cannot
/// connect to tcp://127.0.0.1:9: Connection refused (nothing listens there)"); nullopt when it
/// connects, when the address is not tcp://, or when no answer came within `bound` (a host
/// that drops packets: ZeroMQ and the handshake bound decide then). Clients ask it before they
/// connect, so a call to where nothing listens fails at once rather than at the handshake bound.
/// Thread-safe; blocks the caller at most `bound`.
[[nodiscard]] std::optional<std::string> refuses_connections(const std::string& address,
                                                             std::chrono::milliseconds bound);

}  // namespace actor::detail
