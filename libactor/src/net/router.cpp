#include "net/router.hpp"
#include "net/endpoints.hpp"
#include "wire/encoded_envelope.hpp"
#include "net/outbox.hpp"
#include "core/network_hooks.hpp"
#include "core/system_state.hpp"

#include "actor/dynamic_message.hpp"
#include "actor/log.hpp"

namespace actor::detail {

namespace {

std::string proxy_key(const std::string& address, std::uint64_t incarnation, std::uint64_t id) {
  return address + '|' + std::to_string(incarnation) + '|' + std::to_string(id);
}

wire::kind to_wire_kind(envelope_kind k) noexcept {
  switch (k) {
    case envelope_kind::request: return wire::kind::request;
    case envelope_kind::reply: return wire::kind::reply;
    case envelope_kind::error: return wire::kind::error;
    default: return wire::kind::send;
  }
}

envelope_kind from_wire_kind(wire::kind k) noexcept {
  switch (k) {
    case wire::kind::request: return envelope_kind::request;
    case wire::kind::reply: return envelope_kind::reply;
    case wire::kind::error: return envelope_kind::error;
    default: return envelope_kind::send;
  }
}

}  // namespace


router::router(actor_system& sys, transport_options opts) : sys_(sys), opts_(std::move(opts)) {
  opts_.deadline_clock = &sys_.clock();  // requests' deadlines are the system's: ttl_ms is computed on its clock
}

router::~router() {
  stop();
  inbound_account::release(inbound_);
}

void router::start() {
  inbound_->codec = std::static_pointer_cast<ref_codec>(shared_from_this());  // before anything arrives
  transport_ = std::make_unique<transport>(
      opts_, [this](const wire::envelope_view& v, const origin& from) { deliver_inbound(v, from); },
      [this] { sweep_exports(); }, [this] { flush_inbound(); });
  transport_->set_events(watch_events());
  opts_.advertise = transport_->address();
  transport_->start();  // only now: the I/O thread reads transport_ (address()) when it delivers
}

void router::stop() {
  stopped_.store(true, std::memory_order_release);
  if (transport_) transport_->stop();
  // no peer can be heard of any more: every watch across the edge ends here (and the proxies
  // its entries hold, which hold this router, go)
  watches_.fire_all(actor::down_reason{actor::down_reason::kind::node_down, "node " + opts_.node_name + " stopped", {}});
  // what the router holds may hold proxies, which hold the router: let go of it all
  std::unordered_map<std::uint64_t, actor_ref> exported;
  decltype(services_) services;
  {
    std::lock_guard lk(mu_);
    services.swap(services_);
    exported.swap(exported_);
  }
  settle_sender_refs();
  last_sender_.ref = {};
  last_target_.ref = {};
  gathered_.to = {};  // the I/O thread is done: nothing is gathered
}

void router::set_service(std::uint64_t id, actor_ref m) {
  std::lock_guard lk(mu_);
  services_.at(id) = std::move(m);
}

actor_ref router::service(std::uint64_t id) const {
  std::lock_guard lk(mu_);
  return id < services_.size() ? services_[id] : actor_ref{};
}

void router::actor_stopped(std::uint64_t id) {
  actor_ref dropped;  // released after the lock
  std::lock_guard lk(mu_);
  if (auto it = exported_.find(id); it != exported_.end()) {
    dropped = std::move(it->second);
    exported_.erase(it);
  }
  exports_generation_.fetch_add(1, std::memory_order_release);  // the I/O thread's target cache may hold it
}

void router::forget_proxy(const std::string& key, const endpoint* which) noexcept {
  std::lock_guard lk(mu_);
  // a newer proxy may already stand under the key
  if (auto it = proxies_.find(key); it != proxies_.end() && it->second == which) proxies_.erase(it);
}

actor_ref router::remote(const std::string& address, std::uint64_t incarnation, std::uint64_t id,
                         const std::string& node_name) {
  if (transport_->is_self(address)) {  // this node, under any spelling of its address: never a proxy to itself
    target_miss miss;
    auto r = local_target(wire_ref{opts_.node_name, this->address(), incarnation, id}, miss);
    if (r || incarnation == opts_.incarnation || (id < service_ids && incarnation == 0)) return r;
    return actor_ref{new dead_endpoint(wire_ref{opts_.node_name, this->address(), incarnation, id}, miss.code,
                                       std::move(miss.why))};  // a stale incarnation of this node
  }
  auto key = proxy_key(address, incarnation, id);
  std::lock_guard lk(mu_);
  if (auto it = proxies_.find(key); it != proxies_.end() && it->second->try_add_ref()) {
    actor_ref r{it->second};
    it->second->release();
    return r;
  }
  auto* slot = address.empty() ? nullptr : transport_->peer_for(address);
  auto* p = new remote_endpoint(shared_from_this(), wire_ref{node_name, address, incarnation, id}, slot, key);
  proxies_[key] = p;
  return actor_ref{p};
}

wire_ref router::to_wire(const actor_ref& r) {
  auto* ep = r.endpoint();
  if (const auto* w = ep->wire_address()) return *w;
  std::lock_guard lk(mu_);
  for (std::uint64_t id = 0; id < services_.size(); ++id) {
    if (services_[id] == r) return wire_ref{opts_.node_name, address(), opts_.incarnation, id};
  }
  // a stopped actor is not exported again (a message naming it after its stop):
  // requests to it get no_such_actor
  if (!ep->finished()) exported_.emplace(ep->id(), r);
  return wire_ref{opts_.node_name, address(), opts_.incarnation, ep->id()};
}

actor_ref router::from_wire(const wire_ref& w) {
  if (w.address.empty()) return client_proxy(w.node, w.id, w.id);  // a Bridge client
  if (transport_->is_self(w.address)) {
    target_miss miss;
    auto r = local_target(w, miss);
    if (r) return r;
    return actor_ref{new dead_endpoint(w, miss.code, std::move(miss.why))};
  }
  auto r = remote(w.address, w.incarnation, w.id, w.node);
  return r;
}

actor_ref router::client_proxy(const std::string& client_id, std::uint64_t id, std::uint64_t endpoint_id) {
  auto key = "client|" + client_id + "|" + std::to_string(id) + "|" + std::to_string(endpoint_id);
  std::lock_guard lk(mu_);
  if (auto it = proxies_.find(key); it != proxies_.end() && it->second->try_add_ref()) {
    actor_ref r{it->second};
    it->second->release();
    return r;
  }
  auto* p = new remote_endpoint(shared_from_this(), wire_ref{client_id, "", 0, id}, nullptr, key, endpoint_id, true);
  proxies_[key] = p;
  return actor_ref{p};
}

actor_ref router::local_target(const wire_ref& w, target_miss& miss) { return local_target(w.incarnation, w.id, miss); }

actor_ref router::local_target(std::uint64_t incarnation, std::uint64_t id, target_miss& miss) {
  if (id < service_ids && (incarnation == 0 || incarnation == opts_.incarnation)) {
    if (auto s = service(id)) return s;
    miss = {errc::no_such_actor, "no service " + std::to_string(id) + " on node " + opts_.node_name};
    return {};
  }
  if (incarnation != opts_.incarnation) {
    miss = {errc::no_such_actor,
            "stale ref: actor " + std::to_string(id) + " belongs to an earlier incarnation of node " + opts_.node_name};
    return {};
  }
  {
    std::lock_guard lk(mu_);
    if (auto it = exported_.find(id); it != exported_.end()) return it->second;
  }
  // Ids are handed out in order and never reused within an incarnation: one below the next
  // id whose actor is not exported (any more) has stopped. So a request to a stopped actor
  // is answered actor_stopped for as long as this node runs, whether it arrives while the
  // actor is stopping (its mailbox answers) or after (here): not one or the other by timing.
  if (id >= service_ids && id < system_access::state(sys_).next_id.load(std::memory_order_relaxed)) {
    miss = {errc::actor_stopped, "actor " + std::to_string(id) + " has stopped"};
    return {};
  }
  miss = {errc::no_such_actor, "no actor " + std::to_string(id) + " on node " + opts_.node_name};
  return {};
}

void router::sweep_exports() {
  sweep_gateway_slots();
  std::vector<actor_ref> dropped;  // released after the lock
  std::lock_guard lk(mu_);
  for (auto it = exported_.begin(); it != exported_.end();) {
    // only the table refers to it: a reply promise that is done, or an actor nobody can reach
    // (a running actor is also held by the system's list, so it is never dropped here)
    if (it->second.endpoint()->use_count() == 1) {
      dropped.push_back(std::move(it->second));
      it = exported_.erase(it);
    } else {
      ++it;
    }
  }
}

const std::string& router::encoded_local(const actor_ref& r, std::uint64_t* wire_id) {
  // the last local sender this thread encoded, keyed by address and unique id
  // (an address can be reused by a new actor; an id never is)
  // (a router is named by its incarnation, not its address: a router destroyed and a
  // new one built at the same address, with a new system counting ids from the same
  // start, must not match)
  struct cache {
    std::uint64_t owner = 0;
    const endpoint* ep = nullptr;
    std::uint64_t id = 0;
    std::uint64_t wire_id = 0;
    std::string bytes;
  };
  thread_local cache c;
  auto* ep = r.endpoint();
  if (c.owner != opts_.incarnation || c.ep != ep || c.id != ep->id()) {
    const auto w = to_wire(r);
    c.bytes = encode_ref(w);
    c.wire_id = w.id;
    c.owner = opts_.incarnation;
    c.ep = ep;
    c.id = ep->id();
  }
  *wire_id = c.wire_id;
  return c.bytes;
}

// This thread's outbox (see outbox.hpp): what an actor's handler sent to other
// nodes, per router, until the handler returns (hand_over_outbox).
struct outbox_entry {
  std::shared_ptr<router> to;  // keeps the router and its transport until the hand-over
  posted_batch batch;
  // the last envelope gathered in full: those after it to the same actor, of the
  // same type, are written as repeats of it (transport::route expands them where
  // they cannot be repeats in the frame)
  actor_ref last_to;  // held, so its address names the same proxy while compared
  const message_type* last_type = nullptr;
  std::size_t last_full = 0;  // its offset in bytes
  wire::envelope_layout last_layout;
  std::uint64_t last_sender_id = 0;  // the id its sender ref names, which a repeat's has too
};

namespace {

struct outbox {  // gathers the sends of this_thread_actor (core/network_hooks.hpp)
  std::vector<outbox_entry> entries;
};
thread_local outbox this_thread_outbox;
constexpr std::size_t outbox_flush_bytes = 64u << 10;

void hand_over(outbox_entry& entry) noexcept {
  if (!entry.to) return;
  entry.to->post_all(entry.batch);
  entry.to.reset();
  entry.last_to = {};
  entry.last_type = nullptr;
}

}  // namespace

outbox_entry* router::gathering_for(const endpoint* sender) {
  auto& box = this_thread_outbox;
  if (this_thread_actor == nullptr || sender != this_thread_actor) return nullptr;
  outbox_entry* entry = nullptr;
  for (auto& x : box.entries) {
    if (x.to.get() == this) return &x;
    if (!x.to) entry = &x;
  }
  if (entry == nullptr) entry = &box.entries.emplace_back();
  entry->to = shared_from_this();
  return entry;
}

void hand_over_outbox() noexcept {
  for (auto& entry : this_thread_outbox.entries) hand_over(entry);
}

void router::post_all(posted_batch& batch) noexcept {
  if (transport_) {
    transport_->post_all(batch);
    return;
  }
  for (auto& e : batch.envelopes) {
    const auto* x = batch.extra_of(e);
    if (e.k == wire::kind::request && x != nullptr && x->requester) {
      deliver(x->requester, make_error(error{errc::shutting_down, "the node is not running"}, {}, x->correlation));
    }
  }
  batch.clear();
}

void router::send_remote(const remote_endpoint& to, envelope* e) noexcept {
  std::unique_ptr<envelope> owned(e);
  posted_envelope o;
  o.to = to.slot();
  o.k = to_wire_kind(e->kind);
  // what routing needs besides: a request's requester, a client's id, a watch
  bool extra = o.to == nullptr || o.k == wire::kind::request;
  posted_extra x;
  if (o.to == nullptr) x.client_id = to.client_id();
  if (o.k == wire::kind::request) {
    x.requester = e->sender;
    x.correlation = e->correlation;
    x.deadline = e->deadline;
  }
  if (!transport_) {
    reject(*e, errc::shutting_down, "the node is not running");
    return;
  }
  // Written straight into this actor's outbox when its handler is running, else
  // into this thread's buffer, which keeps its capacity (post() copies the bytes).
  thread_local byte_sink alone;
  outbox_entry* entry = gathering_for(e->sender.endpoint());
  byte_sink& out = entry != nullptr ? entry->batch.bytes : alone;
  if (entry == nullptr) out.bytes.clear();
  const std::size_t start = out.bytes.size();
  // a message of no registered type: its own name and body (actor/dynamic_message.hpp)
  const auto* dynamic = e->type == &type_of<dynamic_message>() ? static_cast<const dynamic_message*>(e->data) : nullptr;
  // the same receiver and type as the envelope before it in the outbox: a repeat of that one
  const bool repeat = entry != nullptr && o.to != nullptr && entry->last_to.endpoint() == &to &&
                      entry->last_type == e->type && dynamic == nullptr;
  try {
    ref_codec_scope scope(this);
    msgpack::packer<byte_sink> pk(out);
    const auto at = [&] { return static_cast<std::uint32_t>(out.bytes.size() - start); };
    pk.pack_array(repeat ? 4 : 7);
    pk.pack(static_cast<std::uint8_t>(o.k));  // a positive fixint: the byte at 1 (envelope_layout)
    if (!repeat) {
      if (!e->sender) {
        pk.pack_nil();
      } else if (const auto* w = e->sender.endpoint()->wire_address()) {
        pk.pack(*w);
        x.requester_id = w->id;
      } else {
        out.bytes += encoded_local(e->sender, &x.requester_id);
      }
      out.bytes += to.encoded();
      o.layout.refs_end = at();
    }
    pk.pack(e->correlation);
    std::uint64_t ttl_ms = 0;
    if (o.k == wire::kind::request && e->deadline != time_point{}) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(e->deadline - sys_.clock().now()).count();
      ttl_ms = static_cast<std::uint64_t>(std::max<long long>(1, left));
    }
    pk.pack(ttl_ms);
    if (repeat) {
      x.requester_id = entry->last_sender_id;
      o.layout = entry->last_layout;
      o.repeat_of = entry->last_full;
      o.repeat_body = at();
    } else {
      o.layout.type_begin = at();
      pk.pack(dynamic != nullptr ? std::string_view(dynamic->type) : e->type->name);
      o.layout.type_end = at();
    }
    if (dynamic != nullptr) {
      // the runtime's own messages (monitors, links, stop) keep their books: never in disguise
      if (const auto* t = find_message_type(dynamic->type); t != nullptr && t->runtime) {
        throw std::invalid_argument("'" + dynamic->type + "' is the runtime's own message, not a dynamic one");
      }
      msgpack::zone zone;  // one MessagePack value, or the frame would be corrupt
      if (auto checked = dynamic->args(zone); !checked) throw std::invalid_argument(checked.error().text);
      out.bytes += dynamic->body;
    } else {
      e->type->pack(e->data, pk);
    }
  } catch (const std::exception& ex) {
    out.bytes.resize(start);
    decode_errors_.fetch_add(1, std::memory_order_relaxed);
    ACTOR_LOG(warn, "router", "encode_failed", {"type", std::string(e->type->name)}, {"error", ex.what()});
    reject(*e, errc::bad_message, std::string("cannot encode ") + std::string(e->type->name) + ": " + ex.what());
    return;
  }
  if (e->type->runtime) [[unlikely]] {  // a watch message (or actor.stop): the watch table's
    if (watch_outbound(to, *e, o, x)) extra = true;
  }
  if (entry == nullptr) {
    transport_->post(o, out.bytes, extra ? &x : nullptr);
    if (out.bytes.capacity() > (1u << 20)) out.bytes = std::string();  // a big message: do not keep its memory
    return;
  }
  if (!repeat && o.to != nullptr) {  // later ones to the same actor, of the same type, repeat it
    if (entry->last_to.endpoint() != &to) entry->last_to = actor_ref(const_cast<remote_endpoint*>(&to));
    entry->last_type = e->type;
    entry->last_full = start;
    entry->last_layout = o.layout;
    entry->last_sender_id = x.requester_id;
  }
  entry->batch.add(o, start, extra ? &x : nullptr);
  if (out.bytes.size() >= outbox_flush_bytes) hand_over(*entry);
}

const actor_ref& router::sender_from(const wire::ref_view& v, const origin& from) {
  // a client's refs name it by its routing id, whatever it claims
  const std::string_view node = from.client_id.empty() ? v.node : std::string_view(from.client_id);
  const std::string_view address = from.client_id.empty() ? v.address : std::string_view{};
  auto& c = last_sender_;
  if (c.ref && c.id == v.id && c.incarnation == v.incarnation && c.address == address && c.node == node) return c.ref;
  auto ref = from_wire(wire_ref{std::string(node), std::string(address), v.incarnation, v.id});
  settle_sender_refs();  // before the endpoint they are for may go
  c = {std::string(node), std::string(address), v.incarnation, v.id, std::move(ref)};
  return c.ref;
}

void router::settle_sender_refs() noexcept {
  if (sender_refs_owed_ == 0) return;
  last_sender_.ref.endpoint()->add_refs(sender_refs_owed_);
  sender_refs_owed_ = 0;
}

void router::deliver_inbound(const wire::envelope_view& v, const origin& from) {
  ref_codec_scope scope(this);
  const std::string& source = from.peer_address.empty() ? from.client_id : from.peer_address;
  // a repeat has the sender and type of the envelope delivered just before it, resolved for that one
  if (gateway_route(v, from)) {  // not for this node: forwarded (net/router_gateway.cpp)
    previous_type_ = nullptr;
    previous_sender_ = false;
    return;
  }
  const message_type* known_type = v.repeat ? previous_type_ : nullptr;
  const bool known_sender = v.repeat && previous_sender_;
  previous_type_ = nullptr;
  previous_sender_ = false;
  static const actor_ref anonymous;
  const actor_ref& sender = !v.has_sender ? anonymous : known_sender ? last_sender_.ref : sender_from(v.sender, from);
  previous_sender_ = true;  // last_sender_ holds it (when there is one)
  auto answer_error = [&](errc code, const std::string& text) {
    if (v.k == wire::kind::request && sender) deliver(sender, make_error(error{code, text}, {}, v.correlation));
  };
  if (pending_seen_ + gathered_.count >= inbound_limit_ && v.k != wire::kind::reply &&
      v.k != wire::kind::error) {
    // local actors are not keeping up: shed new work rather than grow without bound
    inbound_overloaded_.fetch_add(1, std::memory_order_relaxed);
    answer_error(errc::overloaded, "node " + opts_.node_name + " has too many messages waiting to be handled");
    return;
  }
  const auto generation = exports_generation_.load(std::memory_order_acquire);
  if (!last_target_.ref || last_target_.id != v.receiver.id || last_target_.incarnation != v.receiver.incarnation ||
      last_target_.generation != generation) {
    target_miss miss;
    auto found = local_target(v.receiver.incarnation, v.receiver.id, miss);
    if (!found) {
      undeliverable_.fetch_add(1, std::memory_order_relaxed);
      if (v.k == wire::kind::send) [[unlikely]] {  // a monitor or link is answered noproc
        if (const auto* t = find_message_type(v.type); t != nullptr && t->runtime) {
          watch_inbound(*t, v, from, {}, sender, &miss);
        }
      }
      answer_error(miss.code, miss.why);
      return;
    }
    const bool decodes = found.endpoint()->decodes_bodies();
    last_target_ = {v.receiver.incarnation, v.receiver.id, generation, std::move(found), decodes};
  }
  const actor_ref& target = last_target_.ref;
  if (v.receiver.id < service_ids && v.type == message_traits<stop_msg>::name) {
    answer_error(errc::unauthorized, "a node's services (manager, registry) cannot be stopped from another process");
    return;
  }
  const message_type* type = known_type;
  if (type == nullptr) {
    type = last_type_.type;
    if (type == nullptr || last_type_.name != v.type) {
      type = find_message_type(v.type);
      if (type != nullptr) last_type_ = {std::string(v.type), type};
    }
  }
  // a message of a type not registered here: for a receiver (actor/receiver.hpp), and any reply
  // (its requester learns at once what came: a dynamic_message, not the type it asked for)
  envelope* dynamic = nullptr;
  if (type == nullptr) {
    const bool wanted = v.k == wire::kind::reply ||
                        ((v.k == wire::kind::send || v.k == wire::kind::request) && target.endpoint()->accepts_dynamic());
    if (!wanted) {
      decode_errors_.fetch_add(1, std::memory_order_relaxed);
      ACTOR_LOG(debug, "router", "unknown_type", {"from", source}, {"type", std::string(v.type)});
      answer_error(errc::bad_message, "unknown message type '" + std::string(v.type) + "'");
      return;
    }
    dynamic_message m{std::string(v.type), std::string(v.body_bytes)};
    if (m.body.empty() && v.body != nullptr) {  // decoded the general way: its bytes again
      byte_sink out;
      msgpack::packer<byte_sink>(out).pack(*v.body);
      m.body = std::move(out.bytes);
    }
    dynamic = detail::make_envelope(std::move(m), envelope_kind::send, {});
    type = &type_of<dynamic_message>();
  }
  previous_type_ = dynamic != nullptr ? nullptr : type;  // a repeat of a dynamic one: by its name again
  if (v.k == wire::kind::error && type != &type_of<error>()) {
    decode_errors_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (type->runtime && v.k == wire::kind::send) [[unlikely]] watch_inbound(*type, v, from, target, sender, nullptr);
  auto& g = gathered_;
  // a send like the one gathered just before it, for the same actor: into the same envelope (a run)
  if (dynamic == nullptr && v.k == wire::kind::send && v.correlation == 0 && last_target_.decodes && g.newest != nullptr &&
      g.to.endpoint() == target.endpoint() && g.newest->type == type &&
      g.newest->sender.endpoint() == sender.endpoint() && can_join(g.newest, v.body_bytes)) {
    envelope* joined = join(g.newest, v.body_bytes);
    if (g.oldest == g.newest) g.oldest = joined;
    g.newest = joined;
    ++g.count;
    return;
  }
  envelope* e = dynamic;
  // a small body of a message for an actor: the actor decodes it (encoded_envelope.hpp)
  if (e == nullptr && (v.k == wire::kind::send || v.k == wire::kind::request) && last_target_.decodes) {
    e = make_encoded_envelope(type, v.body_bytes);
  }
  if (e == nullptr) {
    try {
      if (v.body != nullptr) {
        e = type->unpack(*v.body);
      } else {  // only checked by the decoder: built here
        struct clear_after {
          msgpack::zone& z;
          ~clear_after() { z.clear(); }
        } clear{body_zone_};
        e = type->unpack(wire::unpack_body(v.body_bytes, body_zone_));
      }
    } catch (const std::exception& ex) {
      decode_errors_.fetch_add(1, std::memory_order_relaxed);
      ACTOR_LOG(debug, "router", "bad_body", {"from", source}, {"type", std::string(v.type)}, {"error", ex.what()});
      answer_error(errc::bad_message, "the body does not fit type '" + std::string(v.type) + "': " + ex.what());
      return;
    }
  }
  e->kind = from_wire_kind(v.k);
  e->inbound = inbound_;  // held when it is enqueued
  if (sender) {  // its reference is added with the others before the envelope is enqueued
    e->sender = actor_ref::adopt(sender.endpoint());
    ++sender_refs_owed_;
  }
  e->correlation = v.correlation;
  if (v.k == wire::kind::request && v.ttl_ms > 0) {
    // clamp: a huge ttl must not overflow into a deadline in the past
    constexpr std::uint64_t max_ttl_ms = 30ULL * 24 * 3600 * 1000;
    e->deadline = sys_.clock().now() + std::chrono::milliseconds(std::min(v.ttl_ms, max_ttl_ms));
  }
  if (g.to.endpoint() != target.endpoint()) {
    flush_inbound();
    g.to = target;
  }
  e->next = g.newest;
  g.newest = e;
  if (g.oldest == nullptr) g.oldest = e;
  ++g.count;
}

void router::flush_inbound() noexcept {
  settle_sender_refs();
  auto& g = gathered_;
  if (g.count > 0) {
    inbound_->hold(g.count);
    g.to.endpoint()->enqueue_chain(g.newest, g.oldest);
    g.newest = g.oldest = nullptr;
    g.count = 0;
    g.to = {};  // not kept past the frame (sweep_exports drops what only its table refers to)
  }
  pending_seen_ = inbound_->pending();
}

}  // namespace actor::detail
