#include "router.hpp"

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

// A ref that can never be delivered to (a stale incarnation, an unknown id):
// requests get no_such_actor with the reason.
class dead_endpoint final : public endpoint {
 public:
  dead_endpoint(wire_ref w, std::string why) : endpoint(w.id), wire_(std::move(w)), why_(std::move(why)) {}
  void enqueue(envelope* e) noexcept override {
    reject(*e, errc::no_such_actor, why_);
    delete e;
  }
  [[nodiscard]] const wire_ref& address() const noexcept { return wire_; }

 private:
  wire_ref wire_;
  std::string why_;
};

}  // namespace

// A local stand-in for an actor on another node (or for a Bridge client).
class remote_endpoint final : public endpoint {
 public:
  remote_endpoint(std::shared_ptr<router> r, wire_ref w, peer_slot* slot, std::string key)
      : endpoint(w.id), router_(std::move(r)), wire_(std::move(w)), slot_(slot), key_(std::move(key)) {}
  ~remote_endpoint() override { router_->forget_proxy(key_, this); }
  void enqueue(envelope* e) noexcept override { router_->send_remote(wire_, slot_, wire_.node, e); }
  [[nodiscard]] const wire_ref& address() const noexcept { return wire_; }
  [[nodiscard]] const router* owner() const noexcept { return router_.get(); }

 private:
  std::shared_ptr<router> router_;
  wire_ref wire_;
  peer_slot* slot_;  // null for a Bridge client
  std::string key_;
};

router::router(actor_system& sys, transport_options opts) : sys_(sys), opts_(std::move(opts)) {}

router::~router() { stop(); }

void router::start() {
  transport_ = std::make_unique<transport>(opts_, [this](const wire::envelope_view& v, const origin& from) {
    deliver_inbound(v, from);
  });
  opts_.advertise = transport_->address();
}

void router::stop() {
  if (transport_) transport_->stop();
}

void router::set_manager(actor_ref m) {
  std::lock_guard lk(mu_);
  manager_ = std::move(m);
}

actor_ref router::manager() const {
  std::lock_guard lk(mu_);
  return manager_;
}

expected<void> router::register_name(const std::string& name, const actor_ref& ref) {
  if (name.empty()) return error{errc::bad_message, "an actor name cannot be empty"};
  std::lock_guard lk(mu_);
  auto [it, inserted] = names_.emplace(name, ref);
  if (!inserted && !(it->second == ref)) {
    return error{errc::name_taken, "the name '" + name + "' is held by actor " + std::to_string(it->second.id())};
  }
  return {};
}

bool router::unregister_name(const std::string& name) {
  std::lock_guard lk(mu_);
  return names_.erase(name) > 0;
}

actor_ref router::whereis(const std::string& name) const {
  std::lock_guard lk(mu_);
  auto it = names_.find(name);
  return it == names_.end() ? actor_ref{} : it->second;
}

std::vector<std::string> router::names() const {
  std::lock_guard lk(mu_);
  std::vector<std::string> out;
  for (const auto& [n, r] : names_) out.push_back(n);
  return out;
}

void router::actor_stopped(std::uint64_t id) {
  actor_ref dropped;  // released after the lock
  std::lock_guard lk(mu_);
  for (auto it = names_.begin(); it != names_.end();) {
    if (it->second.id() == id && it->second.endpoint() != nullptr &&
        dynamic_cast<remote_endpoint*>(it->second.endpoint()) == nullptr) {
      it = names_.erase(it);
    } else {
      ++it;
    }
  }
  if (auto it = exported_.find(id); it != exported_.end()) {
    dropped = std::move(it->second);
    exported_.erase(it);
  }
}

void router::forget_proxy(const std::string& key, const endpoint* which) noexcept {
  std::lock_guard lk(mu_);
  // a newer proxy may already stand under the key
  if (auto it = proxies_.find(key); it != proxies_.end() && it->second == which) proxies_.erase(it);
}

actor_ref router::remote(const std::string& address, std::uint64_t incarnation, std::uint64_t id) {
  if (address == this->address() && (incarnation == opts_.incarnation || (id == 0 && incarnation == 0))) {
    std::string why;
    return local_target(wire_ref{opts_.node_name, address, incarnation, id}, why);
  }
  auto key = proxy_key(address, incarnation, id);
  std::lock_guard lk(mu_);
  if (auto it = proxies_.find(key); it != proxies_.end() && it->second->try_add_ref()) {
    actor_ref r{it->second};
    it->second->release();
    return r;
  }
  auto* slot = address.empty() ? nullptr : transport_->peer_for(address);
  auto* p = new remote_endpoint(shared_from_this(), wire_ref{{}, address, incarnation, id}, slot, key);
  proxies_[key] = p;
  return actor_ref{p};
}

wire_ref router::to_wire(const actor_ref& r) {
  auto* ep = r.endpoint();
  if (auto* proxy = dynamic_cast<remote_endpoint*>(ep)) return proxy->address();
  if (auto* dead = dynamic_cast<dead_endpoint*>(ep)) return dead->address();
  std::lock_guard lk(mu_);
  if (manager_ == r) return wire_ref{opts_.node_name, address(), opts_.incarnation, 0};
  exported_.emplace(ep->id(), r);
  return wire_ref{opts_.node_name, address(), opts_.incarnation, ep->id()};
}

actor_ref router::from_wire(const wire_ref& w) {
  if (w.address.empty()) {  // a Bridge client: replies go back through the listening socket
    auto key = "client|" + w.node + "|" + std::to_string(w.id);
    std::lock_guard lk(mu_);
    if (auto it = proxies_.find(key); it != proxies_.end() && it->second->try_add_ref()) {
      actor_ref r{it->second};
      it->second->release();
      return r;
    }
    auto* p = new remote_endpoint(shared_from_this(), w, nullptr, key);
    proxies_[key] = p;
    return actor_ref{p};
  }
  if (w.address == address()) {
    std::string why;
    auto r = local_target(w, why);
    if (r) return r;
    return actor_ref{new dead_endpoint(w, why)};
  }
  auto r = remote(w.address, w.incarnation, w.id);
  return r;
}

actor_ref router::local_target(const wire_ref& w, std::string& why) {
  if (w.id == 0) {
    if (w.incarnation == 0 || w.incarnation == opts_.incarnation) return manager();
  }
  if (w.incarnation != opts_.incarnation) {
    why = "stale ref: actor " + std::to_string(w.id) + " belongs to an earlier incarnation of node " +
          opts_.node_name;
    return {};
  }
  std::lock_guard lk(mu_);
  if (auto it = exported_.find(w.id); it != exported_.end()) return it->second;
  why = "no actor " + std::to_string(w.id) + " on node " + opts_.node_name;
  return {};
}

void router::send_remote(const wire_ref& to, peer_slot* slot, const std::string& client_id, envelope* e) noexcept {
  std::unique_ptr<envelope> owned(e);
  outbound o;
  o.to = slot;
  if (slot == nullptr) o.client_id = client_id;
  o.k = to_wire_kind(e->kind);
  o.correlation = e->correlation;
  o.deadline = e->deadline;
  if (o.k == wire::kind::request) o.requester = e->sender;
  try {
    ref_codec_scope scope(this);
    msgpack::sbuffer buf(128);
    msgpack::packer<msgpack::sbuffer> pk(buf);
    pk.pack_array(7);
    pk.pack(static_cast<std::uint8_t>(o.k));
    if (e->sender) {
      pk.pack(to_wire(e->sender));
    } else {
      pk.pack_nil();
    }
    pk.pack(to);
    pk.pack(e->correlation);
    std::uint64_t ttl_ms = 0;
    if (o.k == wire::kind::request && e->deadline != time_point{}) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(e->deadline - sys_.clock().now()).count();
      ttl_ms = static_cast<std::uint64_t>(std::max<long long>(1, left));
    }
    pk.pack(ttl_ms);
    pk.pack(e->type->name);
    e->type->pack(e->data, pk);
    o.bytes.assign(buf.data(), buf.size());
  } catch (const std::exception& ex) {
    decode_errors_.fetch_add(1, std::memory_order_relaxed);
    ACTOR_LOG(warn, "router", "encode_failed", {"type", std::string(e->type->name)}, {"error", ex.what()});
    reject(*e, errc::bad_message, std::string("cannot encode ") + std::string(e->type->name) + ": " + ex.what());
    return;
  }
  if (!transport_) {
    reject(*e, errc::shutting_down, "the node is not running");
    return;
  }
  transport_->post(std::move(o));
}

void router::deliver_inbound(const wire::envelope_view& v, const origin& from) {
  ref_codec_scope scope(this);
  const std::string& source = from.peer_address.empty() ? from.client_id : from.peer_address;
  actor_ref sender;
  try {
    if (!v.sender->is_nil()) {
      auto w = v.sender->as<wire_ref>();
      // a client's refs name it by its routing id, whatever it claims
      if (!from.client_id.empty()) {
        w.node = from.client_id;
        w.address.clear();
      }
      sender = from_wire(w);
    }
  } catch (const std::exception& ex) {
    decode_errors_.fetch_add(1, std::memory_order_relaxed);
    ACTOR_LOG(warn, "router", "bad_sender", {"from", source}, {"error", ex.what()});
    return;
  }
  auto answer_error = [&](errc code, const std::string& text) {
    if (v.k == wire::kind::request && sender) deliver(sender, make_error(error{code, text}, {}, v.correlation));
  };
  if (inbound_pending_.load(std::memory_order_relaxed) >= inbound_limit_ && v.k != wire::kind::reply &&
      v.k != wire::kind::error) {
    // local actors are not keeping up: shed new work rather than grow without bound
    inbound_overloaded_.fetch_add(1, std::memory_order_relaxed);
    answer_error(errc::overloaded, "node " + opts_.node_name + " has too many messages waiting to be handled");
    return;
  }
  std::string why;
  auto target = local_target(v.receiver, why);
  if (!target) {
    undeliverable_.fetch_add(1, std::memory_order_relaxed);
    answer_error(errc::no_such_actor, why);
    return;
  }
  const auto* type = find_message_type(v.type);
  if (type == nullptr) {
    decode_errors_.fetch_add(1, std::memory_order_relaxed);
    ACTOR_LOG(debug, "router", "unknown_type", {"from", source}, {"type", std::string(v.type)});
    answer_error(errc::bad_message, "unknown message type '" + std::string(v.type) + "'");
    return;
  }
  if (v.k == wire::kind::error && type != &type_of<error>()) {
    decode_errors_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  envelope* e = nullptr;
  try {
    e = type->unpack(*v.body);
  } catch (const std::exception& ex) {
    decode_errors_.fetch_add(1, std::memory_order_relaxed);
    ACTOR_LOG(debug, "router", "bad_body", {"from", source}, {"type", std::string(v.type)}, {"error", ex.what()});
    answer_error(errc::bad_message, "the body does not fit type '" + std::string(v.type) + "': " + ex.what());
    return;
  }
  e->kind = from_wire_kind(v.k);
  e->inbound_counter = &inbound_pending_;
  inbound_pending_.fetch_add(1, std::memory_order_relaxed);
  e->sender = std::move(sender);
  e->correlation = v.correlation;
  if (v.k == wire::kind::request && v.ttl_ms > 0) {
    e->deadline = sys_.clock().now() + std::chrono::milliseconds(v.ttl_ms);
  }
  target.endpoint()->enqueue(e);
}

}  // namespace actor::detail
