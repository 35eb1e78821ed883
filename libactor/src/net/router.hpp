#pragma once
// router: where envelopes go between this node and others. It owns the
// transport, the table of local actors that were exported (their refs left
// this node) and the cache of proxies for remote actors; it is the ref_codec
// that turns refs into wire refs and back. (The node's names are registry/local_names.)

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "actor/actor_ref.hpp"
#include "actor/detail/ref_codec.hpp"
#include "actor/system.hpp"
#include "net/transport.hpp"
#include "net/watch_table.hpp"
#include "wire/wire.hpp"

namespace actor::detail {

class remote_endpoint;
struct outbox_entry;

class router final : public ref_codec, public std::enable_shared_from_this<router> {
 public:
  router(actor_system& sys, transport_options opts);
  ~router() override;

  /// Starts the transport (binds; throws std::runtime_error when it cannot).
  void start();
  /// Stops the transport; remote sends afterwards fail with shutting_down.
  void stop();
  /// True once stop() has begun (the node is going away; nothing is sent from it any more).
  [[nodiscard]] bool stopped() const noexcept { return stopped_.load(std::memory_order_acquire); }

  [[nodiscard]] const std::string& name() const noexcept { return opts_.node_name; }
  [[nodiscard]] std::uint64_t incarnation() const noexcept { return opts_.incarnation; }
  [[nodiscard]] const std::string& address() const noexcept { return transport_->address(); }
  [[nodiscard]] transport& net() noexcept { return *transport_; }
  [[nodiscard]] actor_system& system() noexcept { return sys_; }

  /// The local actor answering at well-known id `id` (< service_ids): 0 is the
  /// manager (spawn, lookup, stats, ping), 1 the registry. Refs to a service may
  /// carry incarnation 0, "whatever runs at that address now". Empty m: none.
  void set_service(std::uint64_t id, actor_ref m);
  [[nodiscard]] actor_ref service(std::uint64_t id) const;
  [[nodiscard]] actor_ref manager() const { return service(manager_id); }

  /// An actor stopped: release its export entry.
  void actor_stopped(std::uint64_t id);

  /// A ref to actor `id` on the node at `address` (a service id with incarnation 0: that service).
  /// `node_name` is what the ref says of its node when it is written again (the
  /// proxy keeps the name it was first made with; the address is what counts).
  actor_ref remote(const std::string& address, std::uint64_t incarnation, std::uint64_t id,
                   const std::string& node_name = {});

  // ref_codec
  wire_ref to_wire(const actor_ref& r) override;
  actor_ref from_wire(const wire_ref& w) override;

  /// Encodes e for the actor behind proxy and hands it to the transport (any thread),
  /// or to this thread's outbox when its sender's handler runs (net/outbox.hpp).
  void send_remote(const remote_endpoint& to, envelope* e) noexcept;
  /// Hands encoded envelopes to the transport (transport::post_all); rejects them
  /// with shutting_down when it is not running. `batch` is left empty.
  void post_all(posted_batch& batch) noexcept;
  /// Decodes an inbound envelope and delivers it locally (I/O thread). What goes
  /// to actors is gathered per actor until flush_inbound().
  void deliver_inbound(const wire::envelope_view& v, const origin& from);
  /// Enqueues what deliver_inbound gathered (I/O thread, after each frame).
  void flush_inbound() noexcept;
  /// Drops exported endpoints nothing else refers to any more (finished reply
  /// promises); called periodically from the I/O thread.
  void sweep_exports();
  /// Envelopes that arrived well-formed but could not be decoded or delivered.
  /// (Counting the bodies local actors found undecodable, which they find when they come to them.)
  [[nodiscard]] std::uint64_t decode_errors() const noexcept {
    return decode_errors_.load() + inbound_->decode_errors.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint64_t undeliverable() const noexcept { return undeliverable_.load(); }
  [[nodiscard]] std::int64_t inbound_pending() const noexcept { return inbound_->pending(); }
  [[nodiscard]] std::uint64_t inbound_overloaded() const noexcept { return inbound_overloaded_.load(); }
  void set_inbound_limit(std::size_t n) noexcept { inbound_limit_ = static_cast<std::int64_t>(n); }
  /// Envelopes this node forwarded as a gateway (docs/protocol.md "Gateways"): from its
  /// gateway clients to other nodes, and back from other nodes to them.
  [[nodiscard]] std::uint64_t forwarded() const noexcept { return forwarded_.load(std::memory_order_relaxed); }

  /// A gateway client's sender id, as other nodes see it, has this bit set: the rest is
  /// (client slot << 32) | the client's own id (below 2^32). Local actors' ids never have it.
  static constexpr std::uint64_t gateway_id_bit = 1ULL << 63;

  void forget_proxy(const std::string& key, const endpoint* which) noexcept;

  /// The monitors and links that cross this node's edge (net/watch_table.hpp).
  [[nodiscard]] const watch_table& watches() const noexcept { return watches_; }

 private:
  // Why a ref names no local actor: no_such_actor (stale incarnation, an id never handed
  // out, no such service) or actor_stopped (an id of this incarnation whose actor stopped).
  struct target_miss {
    errc code = errc::no_such_actor;
    std::string why;
  };
  actor_ref local_target(const wire_ref& w, target_miss& miss);
  actor_ref local_target(std::uint64_t incarnation, std::uint64_t id, target_miss& miss);
  // The sender an inbound envelope names: last_sender_.ref, resolved anew when it is another.
  const actor_ref& sender_from(const wire::ref_view& v, const origin& from);
  // Adds the references of last_sender_ that inbound envelopes took over (sender_refs_owed_).
  void settle_sender_refs() noexcept;
  // The proxy for id `id` of the Bridge client `client_id` (replies go back through the
  // listening socket); its endpoint id is `endpoint_id` (a gateway client's, as others see it).
  actor_ref client_proxy(const std::string& client_id, std::uint64_t id, std::uint64_t endpoint_id);
  // Gateways (I/O thread): an envelope from a gateway client for another node goes there
  // (forward_from_client), one for a gateway client's id back to it (to_gateway_client).
  // True: it was handled so (forwarded, answered or dropped).
  bool gateway_route(const wire::envelope_view& v, const origin& from);
  void forward_from_client(const wire::envelope_view& v, const origin& from);
  void to_gateway_client(const wire::envelope_view& v);
  // The slot of gateway client `client_id`, given on first use.
  std::uint32_t gateway_slot(const std::string& client_id);
  // Forgets the slots of clients the transport forgot (I/O thread, from sweep_exports).
  void sweep_gateway_slots();
  /// This thread's outbox entry for this router, when `sender` is the actor whose
  /// handler runs on this thread (this_thread_actor); else null.
  outbox_entry* gathering_for(const endpoint* sender);
  /// The encoded wire ref of a local endpoint, exporting it; its id on the wire in *wire_id.
  const std::string& encoded_local(const actor_ref& r, std::uint64_t* wire_id);

  // The watch table's side of the paths (net/router_watch.cpp); only watch messages
  // (message_type::runtime) come here.
  // A watch message leaves for `to`: recorded (or forgotten) in the table. True: it is a monitor
  // or a link that must produce its down if dropped (o.watch set, x filled: it needs its extra).
  bool watch_outbound(const remote_endpoint& to, const envelope& e, posted_envelope& o, posted_extra& x);
  // A watch message arrived from `from` for `target` (empty: no such local actor, `miss` says why;
  // a monitor or link is then answered noproc).
  void watch_inbound(const message_type& type, const wire::envelope_view& v, const origin& from,
                     const actor_ref& target, const actor_ref& sender, const target_miss* miss);
  // The transport's events, wired to the table.
  transport_events watch_events();

  actor_system& sys_;
  transport_options opts_;
  std::unique_ptr<transport> transport_;
  std::atomic<bool> stopped_{false};
  std::atomic<std::uint64_t> decode_errors_{0};
  std::atomic<std::uint64_t> undeliverable_{0};
  // envelopes delivered from the network and not handled yet hold it with this router
  // (they may outlive it: a node destroyed while actors still hold its messages)
  inbound_account* inbound_ = new inbound_account;
  std::atomic<std::uint64_t> inbound_overloaded_{0};
  std::atomic<std::uint64_t> forwarded_{0};
  // I/O thread: gateway clients by slot, and their slots by routing id (gateway_id_bit)
  std::unordered_map<std::uint32_t, std::string> gateway_clients_;
  std::unordered_map<std::string, std::uint32_t> gateway_slots_;
  std::uint32_t next_gateway_slot_ = 0;

  std::int64_t inbound_limit_ = 200000;
  // I/O thread: inbound_->pending() as of the last flush_inbound. Actors' threads only lower
  // it meanwhile, so against the limit it errs towards shedding, and it is read once per frame,
  // not per envelope, from a count every handled message changes.
  std::int64_t pending_seen_ = 0;

  // one-entry caches of the I/O thread: consecutive envelopes mostly share them
  struct {
    std::string node, address;
    std::uint64_t incarnation = 0, id = 0;
    actor_ref ref;
  } last_sender_;
  // I/O thread: inbound envelopes whose sender is last_sender_ adopt a reference to it that is
  // counted here and added in one step before they are enqueued (or last_sender_ changes):
  // one atomic operation per frame on a count the actors' threads decrement, not one per envelope
  std::uint32_t sender_refs_owed_ = 0;
  struct {
    std::uint64_t incarnation = 0, id = 0, generation = 0;
    actor_ref ref;
    bool decodes = false;  // ref.endpoint()->decodes_bodies()
  } last_target_;
  // I/O thread: envelopes for one endpoint from the frame being delivered, linked
  // newest first, enqueued together (one step for an actor's mailbox)
  struct {
    actor_ref to;
    envelope* newest = nullptr;
    envelope* oldest = nullptr;
    std::int64_t count = 0;
  } gathered_;
  std::atomic<std::uint64_t> exports_generation_{0};  // bumped when an actor stops
  struct {
    std::string name;
    const message_type* type = nullptr;
  } last_type_;
  msgpack::zone body_zone_;  // I/O thread: bodies decoded on arrival are built in it
  // I/O thread: what was resolved for the envelope delivered last, which a repeat shares:
  // its type, if it got that far, and whether last_sender_ is its sender
  const message_type* previous_type_ = nullptr;
  bool previous_sender_ = false;

  watch_table watches_;

  mutable std::mutex mu_;
  std::array<actor_ref, service_ids> services_;
  std::unordered_map<std::uint64_t, actor_ref> exported_;
  std::unordered_map<std::string, endpoint*> proxies_;  // weak: proxies remove themselves
};

}  // namespace actor::detail
