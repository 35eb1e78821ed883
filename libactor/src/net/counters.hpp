#pragma once
// What the transport counts: envelopes and frames in and out, and what it dropped, by why.
// Written by the I/O thread, read by any (relaxed atomics).

#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>

namespace actor::detail {

/// Why the transport dropped something; the index into the drop counters.
enum class drop_reason : std::uint8_t {
  malformed,     // a frame or envelope that does not decode
  node_down,     // addressed to a peer that is down
  overloaded,    // a peer's queue was full
  no_handshake,  // envelopes from a connection that never said HELLO
  client_gone,   // a reply to a Bridge client that disconnected
  shutting_down, // left over at shutdown
  expired,       // a request whose deadline passed before it could be written to its peer
  stray_reply,   // a reply or error for no request in flight on the connection it came on
  wrong_sender,  // an envelope from a node whose sender names another node
  restarted,     // queued for a peer's previous incarnation (it restarted)
  count_
};
[[nodiscard]] std::string_view to_string(drop_reason r) noexcept;

struct transport_counters {
  std::atomic<std::uint64_t> envelopes_out{0};
  std::atomic<std::uint64_t> envelopes_in{0};
  std::atomic<std::uint64_t> frames_out{0};
  std::atomic<std::uint64_t> frames_in{0};
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(drop_reason::count_)> dropped{};
  std::atomic<std::uint64_t> clients{0};  // Bridge clients known now (said HELLO, not gone yet)
};

}  // namespace actor::detail
