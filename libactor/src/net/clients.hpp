#pragma once
// clients: the Bridge clients a node knows, and the replies it owes them. One
// owner: the transport's I/O thread (nothing here is thread-safe).
//
// Contract:
// - A client is known from its HELLO (role "client", or "gateway-client": one that sends
//   through this node to others, docs/protocol.md "Gateways") on the ROUTER: hello().
//   heard() marks any well-formed frame from it.
// - Replies to a known client are batched with add() (false: not known, the caller
//   rejects) and leave at flush(), once per I/O turn. When the ROUTER cannot take a
//   batch yet (the client reads slower than we answer) it is held, in order, up to
//   max_backlog_bytes per client (beyond that it is dropped and counted overloaded),
//   and sent as the client's queue drains: stalled() says flush() has more to do.
// - send() is the one way to send a frame on the ROUTER to a routing id (nodes' HELLO
//   and PING answers too); it counts frames_out.
// - Only a send tells whether a client's connection still exists (ROUTER_MANDATORY
//   fails with EHOSTUNREACH while it is gone). probe() sends a beacon every heartbeat
//   to clients silent for longer than down_after; a client whose connection stays gone
//   for down_after is forgotten (what it was owed counted client_gone), so clients that
//   come and go leave nothing behind, while one whose connection is merely redialled
//   is kept.
// - counters.clients always holds how many clients are known.

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include <zmq.hpp>

#include "actor/clock.hpp"
#include "net/counters.hpp"

namespace actor::detail {

class clients {
 public:
  clients(zmq::socket_t& router, transport_counters& counters, std::chrono::milliseconds down_after,
          std::size_t max_batch_bytes);
  clients(const clients&) = delete;
  clients& operator=(const clients&) = delete;

  [[nodiscard]] bool known(const std::string& id) const { return clients_.find(id) != clients_.end(); }
  /// A HELLO from a client: known from now on (a client saying HELLO again keeps the replies it is owed).
  /// `via_gateway`: it said role "gateway-client", naming this node `alias` (the address it dialed).
  void hello(const std::string& id, const std::string& name, time_point now, bool via_gateway = false,
             const std::string& alias = {});
  /// The address a gateway client dialed this node by, when `id` is a known gateway client; else null.
  [[nodiscard]] const std::string* gateway_alias(const std::string& id) const {
    auto it = clients_.find(id);
    return it != clients_.end() && it->second.via_gateway ? &it->second.alias : nullptr;
  }
  /// A well-formed frame came from routing id `id` (a client or not).
  void heard(const std::string& id, time_point now);

  /// Appends one encoded envelope to the reply batch for client `id`; false when it is not known.
  bool add(const std::string& id, std::string_view bytes);
  /// Sends the reply batches, and what slow clients are owed, as far as their queues allow.
  void flush();
  /// Replies are held for a slow client: flush() should run again soon.
  [[nodiscard]] bool stalled() const noexcept { return !stalled_clients_.empty(); }

  enum class send_result { sent, full, gone };
  /// Sends one frame on the ROUTER to routing id `id`, without blocking.
  send_result send(const std::string& id, const std::string& frame);
  /// Beacons clients silent for longer than down_after, forgetting those long unreachable.
  void probe(time_point now, const std::string& beacon);
  /// Called with a client's routing id when it is forgotten (the transport's client_gone).
  std::function<void(const std::string&)> on_forget;

 private:
  struct client {
    std::string name;
    bool via_gateway = false;
    std::string alias;  // a gateway client's name for this node
    time_point last_heard{};
    time_point unreachable_since{};  // the ROUTER last said its connection is gone; {}: reachable
    // reply batches the ROUTER could not take yet, sent in order as its queue drains
    std::deque<std::pair<std::string, std::size_t>> stalled;  // frame, envelopes in it
    std::size_t stalled_bytes = 0;
  };

  // Queues a reply batch for a client (dropped, and counted, beyond its backlog bound).
  void queue(const std::string& id, std::string&& frame, std::size_t count);
  // Sends the reply batches waiting for slow clients, in order, as far as their queues allow.
  void flush_stalled();
  // Drops (and counts) what a client was owed.
  void drop_stalled(client& c);
  void forget(const std::string& id);
  void unreachable(const std::string& id, time_point now);  // forgets it after down_after of that

  zmq::socket_t& router_;
  transport_counters& counters_;
  std::chrono::milliseconds down_after_;
  std::size_t max_batch_bytes_;
  std::unordered_map<std::string, client> clients_;  // by routing id
  std::unordered_map<std::string, std::string> client_batches_;  // routing id -> batch bytes
  std::unordered_map<std::string, std::size_t> client_batch_counts_;
  std::unordered_set<std::string> stalled_clients_;  // routing ids of clients with stalled replies
};

}  // namespace actor::detail
