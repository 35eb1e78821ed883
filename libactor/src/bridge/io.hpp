#pragma once
// bridge_io: the I/O thread of a Bridge client. It owns every socket: one DEALER
// per node address, opened on first use and closed when the node has been down
// and unused for a long time. Other threads hand it encoded envelopes (a queue
// plus an eventfd wake-up) and never touch a socket.
//
// Per connection: HELLO (role "client") -> WELCOME, then BATCH frames; envelopes
// queued before WELCOME wait in a backlog. Every heartbeat the thread PINGs each
// connection (HELLO again while not welcomed); a connection silent for longer than
// down_after is down, and the requests pending on it fail with node_down at once.
//
// Pending requests live in one table keyed by correlation, shared with the
// calling threads: an outcome (reply, error, node_down, timeout at the deadline,
// shutting_down) is delivered exactly once, by whoever removes the entry first.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <queue>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include <zmq.hpp>

#include "actor/bridge.hpp"
#include "actor/detail/ref_codec.hpp"
#include "actor/expected.hpp"
#include "net/connection.hpp"
#include "wire/wire.hpp"

namespace actor::detail {

using steady_time = std::chrono::steady_clock::time_point;

struct bridge_io_options {
  std::string name = "bridge";
  std::chrono::milliseconds heartbeat{500};
  std::chrono::milliseconds down_after{2000};
  std::size_t max_message_size = 16u << 20;
  std::chrono::milliseconds linger{200};
  std::size_t queue_limit = 100000;  // envelopes waiting for one node (or for the I/O thread) before `overloaded`
  std::chrono::microseconds busy_poll{0};  // polling without blocking after traffic (bridge_options::busy_poll)
  std::vector<std::string> gateways;       // bridge_options::gateways
};

/// The outcome of a request; called exactly once, on any thread, never under a lock of bridge_io.
using reply_fn = std::function<void(expected<raw_message>)>;
/// Messages (kind send) addressed to one of the bridge's own ids, with their correlation
/// (a monitor's id for actor.down); called on the I/O thread.
/// A send to one of our ids: the message, its correlation, and its sender (empty when none).
using inbox_fn = std::function<void(raw_message, std::uint64_t correlation, const wire_ref& sender)>;

/// What happened to the connection to a node, for the Bridge's monitors (bridge/monitors.hpp).
struct node_event {
  enum class kind : std::uint8_t {
    down,       ///< declared down (silent past down_after, refused, unreachable): text says why
    restarted,  ///< it answered as another incarnation (`incarnation`, the new one)
    welcomed,   ///< a WELCOME (not a repeated one) from `incarnation`; `again`: after it forgot us (HELLO_AGAIN)
  };
  kind what = kind::down;
  std::string address;
  std::uint64_t incarnation = 0;
  bool again = false;
  std::string text;
};
/// Called on the I/O thread, under no lock of bridge_io; it must not block (it may call send()).
using node_event_fn = std::function<void(const node_event&)>;

class bridge_io {
 public:
  /// Creates the context and starts the I/O thread (std::runtime_error when it cannot).
  explicit bridge_io(bridge_io_options opts);
  ~bridge_io();  // shutdown()
  bridge_io(const bridge_io&) = delete;
  bridge_io& operator=(const bridge_io&) = delete;

  /// `<name>/<16 hex digits>`: the DEALERs' routing id, the node name in our refs.
  [[nodiscard]] const std::string& routing_id() const noexcept { return routing_id_; }
  /// This client's ref with actor id `id`: [routing id, "", 0, id].
  [[nodiscard]] wire_ref self(std::uint64_t id) const { return wire_ref{routing_id_, "", 0, id}; }

  /// Sends a request to `to` (whose address must not be empty) from our id
  /// `from`; `done` gets its outcome exactly once, possibly before this returns.
  /// Returns the correlation, for cancel().
  std::uint64_t request(const wire_ref& to, std::uint64_t from, std::string_view type, std::string_view body,
                        steady_time deadline, reply_fn done);
  /// Forgets a pending request: true when it was still pending (its `done` will
  /// then never be called), false when its outcome is delivered or being delivered.
  bool cancel(std::uint64_t correlation);
  /// Sends one way, anonymously (from == 0) or from one of our ids, with `correlation`
  /// (0 but for the watch messages: a monitor's id).
  expected<void> send(const wire_ref& to, std::uint64_t from, std::string_view type, std::string_view body,
                      std::uint64_t correlation = 0);
  /// Where envelopes for `address` go: there, or the gateway in use (bridge_options::gateways).
  [[nodiscard]] std::string route_for(const std::string& address) const;

  /// Routes messages (kind send) for our id `id` to fn; a null fn removes the route.
  void set_inbox(std::uint64_t id, inbox_fn fn);
  /// Runs fn on the I/O thread every heartbeat (it must not block; it may call request()).
  void set_on_heartbeat(std::function<void()> fn);
  /// Tells fn what happens to the connections (node_event); null: nobody.
  void set_on_node_event(node_event_fn fn);

  /// Fails pending requests with shutting_down, sends what is queued (waiting up to
  /// linger for handshakes), closes the sockets and joins the thread. Idempotent;
  /// one thread at a time (the owner's destructor).
  void shutdown();

  /// Requests waiting for an outcome.
  [[nodiscard]] std::size_t pending() const;
  /// Connections open now.
  [[nodiscard]] std::size_t connections() const;
  /// Entries in the deadline heap: at most about twice the pending requests (entries of
  /// calls that completed are compacted away), so memory follows what is pending. For tests.
  [[nodiscard]] std::size_t deadline_entries() const;
  /// Replies and errors dropped because they came on another connection than their request went on.
  [[nodiscard]] std::uint64_t stray_replies() const noexcept { return stray_replies_.load(std::memory_order_relaxed); }

 private:
  struct connection;
  struct outgoing {
    std::string address;
    std::string bytes;             // one encoded envelope
    std::uint64_t correlation = 0;  // a request's; 0 for a send
  };
  struct pending_call {
    std::string address;
    reply_fn done;
    // the encoded request once written, sent again (once) when a HELLO_AGAIN lists it: moved in
    // by the I/O thread (keep_written), not copied by the caller under mu_
    std::string bytes;
    bool resent = false;
  };

  void run() noexcept;
  void drain_queue();
  void route(outgoing& o);
  connection& connection_for(const std::string& address);
  void open_socket(connection& c);
  void enqueue(connection& c, outgoing&& o);  // into the batch being filled
  // Hands the bytes of the requests enqueue wrote (written_) to their pending calls, under one lock.
  void keep_written();
  void send_batch(connection& c);
  void flush();
  bool send_raw(connection& c, const std::string& frame);
  void read(connection& c);
  void on_frame(connection& c, const void* data, std::size_t size);
  // Completes calls with the replies batches_ just decoded, and feeds inboxes.
  void on_batch(connection& c);
  void welcomed(connection& c, const wire::welcome& w, steady_time now);
  // The node does not know us (it forgot us, or restarted): HELLO again, and the requests
  // it lists go again once welcomed (a second time: node_down).
  void forgotten(connection& c, const wire::hello_again& h, steady_time now);
  // Forgets what is queued for c, not yet written (its calls were failed).
  void drop_queued(connection& c);
  // c went down (its link is down or refused already): fails its calls, drops what is queued
  void went_down(connection& c, const std::string& why);
  void tick(steady_time now);
  void expire(steady_time now);
  void forget_idle(steady_time now);
  void send_probe(connection& c, probe what);  // HELLO or PING
  void tell(node_event ev);  // to on_node_event_, outside the lock
  bool has_pending(const std::string& address) const;
  // Under mu_: where an envelope for `address` goes: there, or the first gateway not down.
  [[nodiscard]] const std::string& route_of(const std::string& address) const;
  [[nodiscard]] steady_time next_deadline() const;

  // outcomes: each removes the entries under the lock, then calls them outside it
  // (on: the connection an answer came on; it must be the one the request went on)
  void complete(std::uint64_t correlation, expected<raw_message> result, const std::string* on = nullptr);
  // Drops the heap's entries of calls no longer pending when they outnumber the pending ones (under mu_).
  void compact_deadlines();
  void fail_address(const std::string& address, const error& e);
  void fail_all(const error& e);

  bridge_io_options opts_;
  std::string routing_id_;
  std::uint64_t incarnation_ = 0;
  msgpack::unpack_limit limits_;
  wire::batch_decoder batches_{limits_};  // I/O thread only
  std::atomic<std::uint64_t> next_correlation_{1};
  zmq::context_t ctx_;
  int wake_fd_ = -1;

  // shared with the calling threads
  mutable std::mutex mu_;
  std::vector<outgoing> queue_;
  std::vector<outgoing> draining_;  // I/O thread: swapped with queue_
  std::vector<std::pair<std::uint64_t, std::string>> written_;  // I/O thread: requests written, for keep_written
  bool stopping_ = false;
  std::unordered_map<std::uint64_t, pending_call> pending_;
  using deadline_entry = std::pair<steady_time, std::uint64_t>;
  std::vector<deadline_entry> deadlines_;  // a min-heap (std::greater) of deadlines, some of done calls
  std::atomic<std::uint64_t> stray_replies_{0};
  std::unordered_map<std::uint64_t, inbox_fn> inboxes_;
  std::function<void()> on_heartbeat_;
  node_event_fn on_node_event_;
  std::unordered_map<std::string, std::string> down_;  // address -> why, for send() to fail at once
  std::size_t open_connections_ = 0;

  // I/O thread only
  std::unordered_map<std::string, std::unique_ptr<connection>> conns_;
  steady_time last_heartbeat_{};
  steady_time last_tick_{};  // to tell when this thread itself did not run (tick)

  std::thread io_;
};

}  // namespace actor::detail
