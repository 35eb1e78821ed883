#pragma once
// transport: the one I/O thread that owns every ZeroMQ socket of a node.
//
// Inbound: a ROUTER bound at the listen address receives frames from peer
// nodes' DEALERs and from Bridge clients. Outbound: one DEALER per peer node,
// connected to its advertised address; everything this node originates for
// that peer (sends, requests, replies, pings) goes through it, batched. The
// ROUTER answers only handshakes and pings, and carries replies to clients.
//
// Other threads hand over encoded envelopes with post() (a queue plus an
// eventfd wake-up) and never touch a socket.
//
// Liveness per peer: alive -> suspect -> down from the silence since anything
// was last heard from it (PONGs answer our PINGs every heartbeat interval).
// Requests in flight to a peer fail with node_down the moment it goes down.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include <zmq.hpp>

#include "actor/actor_ref.hpp"
#include "actor/clock.hpp"
#include "actor/detail/envelope.hpp"
#include "net/clients.hpp"
#include "net/connection.hpp"
#include "net/counters.hpp"
#include "net/strangers.hpp"
#include "wire/wire.hpp"

namespace actor::detail {

struct transport_options {
  std::string node_name;
  std::uint64_t incarnation = 0;
  std::string listen;     // bind address
  std::string advertise;  // what peers connect to; empty: the bound endpoint
  std::chrono::milliseconds heartbeat_interval{500};
  std::chrono::milliseconds suspect_after{1000};
  std::chrono::milliseconds down_after{2000};
  std::size_t max_message_size = 16u << 20;
  std::size_t peer_queue_limit = 100000;  // envelopes waiting for one peer before `overloaded`
  int linger_ms = 200;
  std::chrono::microseconds busy_poll{0};  // polling without blocking after traffic (node_options::busy_poll)
  bool gateway = false;  // accept HELLO role "gateway-client" (node_options::gateway)
  // The actor system's clock: request deadlines (ttl_ms, when the frame is written; forgetting
  // requests in flight) follow it, so a node runs on a manual_clock in tests. Null: the steady
  // clock. Heartbeats, silence bounds and the poll loop follow the steady clock (real time, as
  // ZeroMQ's own heartbeats and the peers do). Not owned; outlives the transport.
  const clock* deadline_clock = nullptr;
};


/// A peer node as other threads see it: an address to post to.
struct peer_slot {
  std::string address;
};

/// Where an inbound envelope came from.
struct origin {
  std::string peer_address;  // a node's advertised address; empty for a client
  std::string client_id;     // a Bridge client's routing id; empty for a node
  bool via_gateway = false;  // the client said role "gateway-client": forward what is not for this node
  std::string alias;         // ... and names this node by this address too
};

/// An encoded envelope on its way out: where its bytes are in the batch it was
/// posted in, and where it goes. Plain data, so batches of them move cheaply.
struct posted_envelope {
  static constexpr std::size_t no_repeat = static_cast<std::size_t>(-1);
  static constexpr std::uint32_t no_extra = static_cast<std::uint32_t>(-1);
  peer_slot* to = nullptr;  // null: a Bridge client, named in its extra
  std::size_t offset = 0;   // its bytes in posted_batch::bytes
  std::size_t size = 0;
  // Not no_repeat: the bytes are a repeat element [kind, correlation, ttl_ms, body]
  // (its body at repeat_body) of the full envelope at this offset in the same batch.
  std::size_t repeat_of = no_repeat;
  std::uint32_t repeat_body = 0;
  std::uint32_t extra = no_extra;  // index in posted_batch::extras; requests and client replies have one
  // Where the parts of the full envelope are (of these bytes, or of the one at
  // repeat_of); not known: nowhere said, bytes are written to peers as they are.
  wire::envelope_layout layout;
  wire::kind k = wire::kind::send;
  // An actor.monitor or actor.link (net/watch_table.hpp): when it is dropped before being
  // written, transport_events::watch_dropped hears of it (its extra names the watch).
  bool watch = false;
  // An actor.down or actor.exit to a node: while that peer is down it is kept (peer::owed, up
  // to max_owed), and sent when the same run is heard again; dropped when it restarted or is
  // forgotten. A watcher that was only paused still hears its down, once.
  bool owed = false;
};

/// What a request (who to fail when it cannot be delivered) or a reply to a
/// Bridge client (which client) needs besides.
struct posted_extra {
  std::string client_id;
  actor_ref requester;  // requests: who gets node_down / overloaded / shutting_down
  std::uint64_t requester_id = 0;  // the id its sender ref names on the wire (a service's well-known id), which replies name
  std::uint64_t correlation = 0;
  time_point deadline{};
  // a watch envelope (posted_envelope::watch): the receiver's id on the wire, and whether it is a
  // link (else a monitor); requester and requester_id name the local side, correlation the watch id
  std::uint64_t watch_remote = 0;
  bool watch_link = false;
};

/// Envelopes handed to the transport together, their bytes one after another.
struct posted_batch {
  std::vector<posted_envelope> envelopes;
  std::vector<posted_extra> extras;
  byte_sink bytes;

  [[nodiscard]] bool empty() const noexcept { return envelopes.empty(); }
  /// e's extra (e one of envelopes), or null when it has none.
  [[nodiscard]] posted_extra* extra_of(const posted_envelope& e) noexcept {
    return e.extra == posted_envelope::no_extra ? nullptr : &extras[e.extra];
  }
  /// Adds the envelope e, whose bytes are already at the end of `bytes` from `offset`,
  /// with its extra, if it has one (x not null).
  void add(posted_envelope e, std::size_t offset, posted_extra* x);
  void clear() noexcept;  // keeps the capacity
};

/// An envelope waiting whole in a backlog (a peer not welcomed yet).
struct outbound {
  posted_envelope e;  // not a repeat; offset and size: of bytes
  posted_extra x;     // when e.extra is not no_extra
  std::string bytes;
};

struct peer_snapshot {
  std::string address;
  std::string name;
  std::uint64_t incarnation = 0;
  peer_state state = peer_state::connecting;
};

/// What the transport tells its owner about peers, on the I/O thread (the handlers must not
/// block): what the watch table (net/watch_table.hpp) needs to fire. Any may be empty.
struct transport_events {
  /// The peer at `address` (canonical) was declared down or refused us: `why`.
  std::function<void(const std::string& address, const std::string& why)> peer_down;
  /// The peer at `address` is another incarnation now (`incarnation`) than the one welcomed before.
  std::function<void(const std::string& address, std::uint64_t incarnation)> peer_restarted;
  /// A watch envelope (posted_envelope::watch) for the peer at `address` was dropped before being written.
  /// (address is empty for a Bridge client: x.client_id names it)
  std::function<void(const std::string& address, const posted_extra& x, const std::string& why)> watch_dropped;
  /// The peer at `address` was down for long (transport_detail::forget_after down bounds): its
  /// socket is closed and the downs kept for it are dropped.
  std::function<void(const std::string& address)> peer_forgotten;
  /// The Bridge client with this routing id was forgotten (gone for down_after).
  std::function<void(const std::string& client_id)> client_gone;
};

class transport {
 public:
  /// Called on the I/O thread for every well-formed inbound envelope (its body may be
  /// only checked: body null, body_bytes set; see wire::batch_decoder::bodies).
  using deliver_fn = std::function<void(const wire::envelope_view&, const origin&)>;

  /// Binds the ROUTER (throws std::runtime_error with the reason when it cannot).
  /// Nothing is received or sent before start().
  /// on_second runs on the I/O thread about once a second (housekeeping).
  /// frame_done runs on the I/O thread after the envelopes of each frame were delivered.
  transport(transport_options opts, deliver_fn deliver, std::function<void()> on_second = {},
            std::function<void()> frame_done = {});
  ~transport();  // stop()
  transport(const transport&) = delete;
  transport& operator=(const transport&) = delete;

  /// The events' handlers; before start() only.
  void set_events(transport_events ev);
  /// Starts the I/O thread; deliver and on_second may be called from then on.
  void start();

  /// The advertised address (the bound endpoint when --advertise was not given).
  [[nodiscard]] const std::string& address() const noexcept { return address_; }
  [[nodiscard]] const std::string& bound_endpoint() const noexcept { return bound_; }

  /// The slot for the peer at address (one per canonical address: net/addresses.hpp), created
  /// on first use; stable until destruction. Thread-safe.
  peer_slot* peer_for(const std::string& address);
  /// I/O thread only: a peer at `address` watches actors of this node (net/watch_table.hpp), so
  /// its liveness must be known even when this node sends it nothing: opens the connection to
  /// it (HELLO, then heartbeats) unless it is open or refused.
  void keep_alive_with(const std::string& address);
  /// The address names this node: its advertised or bound address in any spelling
  /// (`localhost` for 127.0.0.1; a loopback host on the port of a wildcard bind). Thread-safe.
  [[nodiscard]] bool is_self(std::string_view address) const;
  /// Hands an envelope (`bytes`, copied) to the I/O thread, with its extra when
  /// e.extra is not no_extra (e.offset and e.size are set here). Thread-safe,
  /// never blocks on the network.
  void post(posted_envelope e, std::string_view bytes, posted_extra* x = nullptr);
  /// Many envelopes at once, with one lock and one wake-up and no copy: the batch
  /// is taken, and `batch` becomes an empty one (with capacity, when one was spare).
  void post_all(posted_batch& batch);

  /// Fails requests still in flight with shutting_down, closes every socket
  /// (bounded linger) and joins the I/O thread. Idempotent.
  void stop();

  [[nodiscard]] const transport_counters& counters() const noexcept { return counters_; }
  [[nodiscard]] std::vector<peer_snapshot> peers() const;
  /// A client with routing id `id` is known now (I/O thread only).
  [[nodiscard]] bool client_known(const std::string& id) const { return clients_.known(id); }

 private:
  struct peer;  // net/transport_peer.hpp

  void run() noexcept;
  // Under mu_, unless stopped: push() adds to queue_/queue_bytes_; then wakes the I/O thread
  // if it is not woken already. False: stopped, nothing pushed.
  template <class Push>
  bool enqueue(Push&& push);
  void drain_outbound();
  // `buffer`: the one bytes are in, at e.offset (a drained batch's, named by serial; for a
  // backlog, bytes alone and serial 0). x: e's extra, if it has one.
  void route(const posted_envelope& e, posted_extra* x, std::string_view bytes, std::string_view buffer,
             std::uint64_t serial);
  // A request's ttl_ms in `bytes` (e's, writable) made the time left now, just before it is routed
  // (and again when it leaves the backlog). False: its deadline has passed (not to be sent).
  bool refresh_ttl(const posted_envelope& e, const posted_extra* x, char* bytes);
  // Now on the deadline clock (opts_.deadline_clock, else steady).
  [[nodiscard]] time_point deadline_now() const;
  // count repeats of one envelope to one peer, one after another in `buffer` (none with an
  // extra): as many as can be appended to the peer's batch in one piece, else the first
  // through route(). How many were routed (at least one).
  std::size_t route_repeats(const posted_envelope* run, std::size_t count, std::string_view buffer, std::uint64_t serial);
  void flush_batches();
  void send_batch(peer& p);
  void read_router();
  void read_dealer(peer& p);
  void on_router_frame(const std::string& id, zmq::message_t& frame);
  // Why a HELLO with role "node" cannot be taken on this connection (empty: it can).
  std::string check_node_hello(const wire::hello& h, zmq::message_t& frame) const;
  void heard_on_router(const std::string& id);  // a well-formed frame came in on the ROUTER
  void on_router_batch(const std::string& id);  // delivers what batches_ just decoded, if the sender said HELLO
  void on_dealer_frame(peer& p, const void* data, std::size_t size);
  // A node said HELLO on the ROUTER: if our connection to its address knows another incarnation, reconnect
  void peer_said_hello(const std::string& address, std::uint64_t incarnation);
  // a frame from routing id `id`, which this node does not know, dropped these requests:
  // HELLO_AGAIN now, or when the rate limit allows (strangers_)
  void answer_stranger(const std::string& id, const std::vector<strangers::request_id>& dropped, time_point now);
  void send_hello_again(const std::string& id, time_point now);
  // the peer's connection showed another incarnation: what was in flight fails, what was queued is dropped
  // a down or exit for a down peer (posted_envelope::owed): kept for when it is heard again
  void keep_owed(peer& p, const posted_envelope& e, posted_extra* x, std::string_view bytes, std::string_view buffer);
  // the peer is heard again after being down (the same run): what was kept for it goes out
  void send_owed(peer& p);
  void peer_restarted(peer& p, std::uint64_t incarnation);
  // drops (and counts under why) what is queued for p, not yet written
  void drop_queued(peer& p, drop_reason why);
  // Delivers the envelopes batches_ just decoded (p: the peer they came from, if a node; its
  // incarnation, when known, is what their senders must name, and the requests in flight to it
  // are the only ones their replies may complete).
  void on_batch(const origin& from, peer* p, std::uint64_t incarnation);
  // v's sender is nil or an actor of the node `from` names (at incarnation, when not 0).
  bool sender_is(const wire::envelope_view& v, const origin& from, std::uint64_t incarnation);
  void tick(time_point now);
  void open_dealer(peer& p);
  std::size_t reclaim_sockets();  // closes the sockets of down peers; how many
  // p went down (by silence, or mark_down): says so, fails what was in flight, drops what was queued
  void went_down(peer& p, const std::string& why);
  void mark_down(peer& p, time_point now, const std::string& why);  // the transport gives up on p
  void heard_from(peer& p, time_point now);
  // after an event of p's connection: publishes its state; logs peer_up when it came back
  void after_heard(peer& p, const connection_event& ev);
  // makes p's snapshot state (what peers() reads) its connection's; entering down or refused
  // is reported (events_.peer_down) with `why` (or the refusal)
  void publish(peer& p, const std::string* why = nullptr);
  // p is another incarnation now: reported (events_.peer_restarted)
  void restart_seen(peer& p, std::uint64_t incarnation);
  void send_probe(peer& p, probe what);  // HELLO or PING on p's DEALER
  void fail_inflight(peer& p, errc code, const std::string& text);
  void reject(const posted_envelope& e, posted_extra* x, errc code, const std::string& text, drop_reason why);
  bool send_raw(zmq::socket_t& s, const std::string& frame);
  void malformed(const std::string& from, const std::string& why);

  transport_options opts_;
  connection_options conn_opts_;  // every peer's connection state machine (net/connection.hpp)
  deliver_fn deliver_;
  transport_events events_;
  std::function<void()> on_second_;
  std::function<void()> frame_done_;
  time_point last_second_{};
  msgpack::unpack_limit limits_;
  // I/O thread only; bodies are checked, and built where they are decoded (router::deliver_inbound)
  wire::batch_decoder batches_{limits_, wire::batch_decoder::bodies::checked};
  std::string address_;
  std::string bound_;
  std::vector<std::string> self_addresses_;  // canonical spellings of address_ and bound_
  std::string routing_id_;
  transport_counters counters_;

  zmq::context_t ctx_;
  zmq::socket_t router_;
  int wake_fd_ = -1;

  // shared with other threads
  mutable std::mutex mu_;
  // posted envelopes, in batches, in the order they came
  std::vector<posted_batch> queue_;
  std::vector<posted_batch> spares_;  // emptied batches, which keep their capacity, for post and post_all
  std::vector<posted_batch> draining_;  // I/O thread: swapped with queue_
  std::uint64_t batch_serial_ = 0;  // I/O thread: batches routed, naming the one being routed
  bool wake_pending_ = false;
  std::unordered_map<std::string, std::unique_ptr<peer>> peers_;
  std::atomic<bool> stopping_{false};

  // I/O thread only
  clients clients_;  // the Bridge clients, and the replies they are owed (net/clients.hpp)
  struct node_route {
    std::string address;  // canonical
    std::uint64_t incarnation = 0;
    std::uint64_t searched_at = ~std::uint64_t{0};  // welcomes_ when no peer was found by incarnation
    peer* found = nullptr;  // the peer last found by incarnation (peers are never destroyed before the transport)
  };
  std::unordered_map<std::string, node_route> node_routes_;  // routing id -> the node its HELLO named
  std::uint64_t welcomes_ = 0;  // WELCOMEs taken: a route's peer is searched again only after one
  // The peer a node's route names: the one at its address, or else the one whose WELCOME said
  // its incarnation (the same node under another address); null when none has a socket.
  peer* peer_of(node_route& r);
  std::pair<std::string, std::string> last_sender_spelling_;  // a sender's address, and its canonical spelling
  strangers strangers_{std::chrono::milliseconds(100)};  // HELLO_AGAIN owed to unknown routing ids
  time_point last_malformed_log_{};
  time_point last_beacon_{};
  time_point last_tick_{};
  std::uint64_t malformed_since_log_ = 0;

  std::thread io_;
  bool stopped_ = false;
};

}  // namespace actor::detail
