#pragma once
// The transport's private parts, shared by its source files (transport.cpp: posting,
// the I/O loop and the outbound batches; transport_inbound.cpp: frames coming in;
// transport_peers.cpp: connections to peers and their liveness). Not for other users.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <zmq.hpp>

#include "net/connection.hpp"
#include "net/transport.hpp"

namespace actor::detail::transport_detail {

// A batch frame is sent once it grows past max_batch_bytes; zmq holds at most
// socket_hwm frames per connection (~4 MB), so data queued ahead of a frame
// never delays it long. Beyond that, our own per-peer queue fills and senders
// see `overloaded`.
constexpr std::size_t max_batch_bytes = 64u << 10;
constexpr int socket_hwm = 64;
constexpr int read_budget = 4096;  // messages read from one socket before polling again
constexpr int forget_after = 10;   // down_after periods a down peer keeps its socket
constexpr std::size_t max_owed = 10000;  // downs and exits kept per down peer (posted_envelope::owed)
constexpr int max_sockets = 4096;  // per node (zmq's default is 1023); each is a file descriptor too
// how long the I/O thread waits for the resolver before a connect (net/resolve.hpp); a slower
// resolver leaves the name to ZeroMQ
constexpr std::chrono::milliseconds resolve_bound{250};

inline std::chrono::steady_clock::time_point mono_now() { return std::chrono::steady_clock::now(); }

struct inflight_key {
  std::uint64_t requester;
  std::uint64_t correlation;
  bool operator==(const inflight_key&) const = default;
};
struct inflight_hash {
  std::size_t operator()(const inflight_key& k) const noexcept {
    return std::hash<std::uint64_t>{}(k.requester * 0x9e3779b97f4a7c15ULL ^ k.correlation);
  }
};

}  // namespace actor::detail::transport_detail

namespace actor::detail {

struct transport::peer : peer_slot {
  // the snapshot others read, written by the I/O thread under transport::mu_
  std::string name;
  std::uint64_t incarnation = 0;
  peer_state state = peer_state::connecting;

  explicit peer(const connection_options& o) : conn(o) {}

  // I/O thread only
  std::unique_ptr<zmq::socket_t> dealer;
  connection conn;  // handshake, heartbeats, liveness; `state` above is its state as last published
  std::size_t max_frame = 16u << 20;  // the largest frame the peer accepts, from its WELCOME
  std::string refusal;  // why refused (its REFUSE, or the address could not be resolved); "" otherwise
  std::string batch;  // the BATCH frame being filled
  std::size_t batch_count = 0;
  wire::written_envelope last_full;  // the batch's last full envelope, which repeats refer to
  // a full envelope of the drained buffer with last_full's sender, receiver and type (its offset
  // there, and the drain): repeats of it need no comparing
  struct {
    std::uint64_t serial = 0;
    std::size_t offset = posted_envelope::no_repeat;
  } last_full_like;
  bool repeats = false;              // the peer's WELCOME listed feature_repeat
  std::deque<std::pair<std::string, std::size_t>> stalled;  // frames zmq would not take yet, with envelope counts
  std::vector<outbound> backlog;                             // waiting for WELCOME
  std::deque<outbound> owed;  // downs and exits that came while it was down (posted_envelope::owed)
  std::size_t queued = 0;                                    // envelopes in batch + stalled + backlog
  struct inflight_entry {
    actor_ref requester;
    time_point deadline;
  };
  std::unordered_map<transport_detail::inflight_key, inflight_entry, transport_detail::inflight_hash> inflight;
};

}  // namespace actor::detail
