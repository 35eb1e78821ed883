#pragma once
// bridge_io's private parts, shared by its source files (io.cpp: the calling threads'
// side, outcomes and the I/O loop; io_connections.cpp: the connections to nodes).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <zmq.hpp>

#include "bridge/io.hpp"
#include "net/connection.hpp"

namespace actor::detail {

inline steady_time mono_now() { return std::chrono::steady_clock::now(); }

struct bridge_io::connection {
  explicit connection(const connection_options& o) : link(o) {}

  std::string address;
  bool gateway = false;  // one of bridge_io_options::gateways: HELLO says role "gateway-client"
  std::unique_ptr<zmq::socket_t> socket;
  detail::connection link;  // handshake, heartbeats, liveness (net/connection.hpp)
  std::size_t max_frame = 16u << 20;  // the largest frame the node accepts, from WELCOME
  std::string reason;  // why down or refused
  bool forgot_us = false;  // a HELLO_AGAIN of the same incarnation came: the next WELCOME is node_event::again
  std::vector<outgoing> backlog;  // waiting for WELCOME
  std::string batch;              // the BATCH frame being filled
  std::size_t batch_count = 0;
  std::deque<std::pair<std::string, std::size_t>> stalled;  // frames zmq would not take yet, with envelope counts
  std::size_t queued = 0;  // envelopes in backlog, batch and stalled
};

}  // namespace actor::detail
