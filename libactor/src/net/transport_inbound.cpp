// transport: frames coming in, on the ROUTER (from peers' DEALERs and from
// Bridge clients) and on the DEALERs (answers from peers), and delivering their envelopes.
#include <cerrno>

#include "actor/log.hpp"
#include "net/addresses.hpp"
#include "net/transport.hpp"
#include "net/transport_peer.hpp"

namespace actor::detail {

using namespace transport_detail;

void transport::read_router() {
  for (int i = 0; i < read_budget; ++i) {
    zmq::message_t id;
    if (!router_.recv(id, zmq::recv_flags::dontwait)) return;
    if (!id.more()) {
      malformed("router", "a message without a frame");
      continue;
    }
    zmq::message_t frame;
    if (!router_.recv(frame, zmq::recv_flags::dontwait)) return;
    std::string rid = id.to_string();
    if (frame.more()) {
      zmq::message_t extra;
      while (frame.more() && router_.recv(frame, zmq::recv_flags::dontwait)) {
      }
      malformed(rid, "more than one frame in a message");
      continue;
    }
    on_router_frame(rid, frame);
  }
}

void transport::read_dealer(peer& p) {
  for (int i = 0; i < read_budget && p.dealer; ++i) {
    zmq::message_t frame;
    if (!p.dealer->recv(frame, zmq::recv_flags::dontwait)) return;
    if (frame.more()) {
      while (frame.more() && p.dealer->recv(frame, zmq::recv_flags::dontwait)) {
      }
      malformed(p.address, "more than one frame in a message");
      continue;
    }
    on_dealer_frame(p, frame.data(), frame.size());
  }
}

void transport::malformed(const std::string& from, const std::string& why) {
  counters_.dropped[static_cast<std::size_t>(drop_reason::malformed)].fetch_add(1, std::memory_order_relaxed);
  ++malformed_since_log_;
  auto now = mono_now();
  if (now - last_malformed_log_ >= std::chrono::seconds(1)) {  // at most one line a second
    ACTOR_LOG(warn, "transport", "malformed_input", {"from", from}, {"reason", why},
              {"count_since_last_log", malformed_since_log_});
    last_malformed_log_ = now;
    malformed_since_log_ = 0;
  }
}

void transport::heard_on_router(const std::string& id) {
  counters_.frames_in.fetch_add(1, std::memory_order_relaxed);
  clients_.heard(id, mono_now());
}

transport::peer* transport::peer_of(node_route& r) {
  std::lock_guard lk(mu_);
  if (auto it = peers_.find(r.address); it != peers_.end() && it->second->dealer &&
                                        (it->second->conn.incarnation() == r.incarnation || !it->second->conn.welcomed())) {
    return it->second.get();
  }
  // the node under another address of it (a name and an IP, say)
  auto is_it = [&](const peer& p) { return p.dealer && p.conn.welcomed() && p.conn.incarnation() == r.incarnation; };
  if (r.found != nullptr && is_it(*r.found)) return r.found;
  if (r.searched_at == welcomes_) return nullptr;  // not found, and no peer was welcomed since
  r.found = nullptr;
  for (auto& [address, p] : peers_) {
    if (is_it(*p)) return r.found = p.get();
  }
  r.searched_at = welcomes_;
  return nullptr;
}

void transport::on_router_batch(const std::string& id) {
  if (auto it = node_routes_.find(id); it != node_routes_.end()) {
    on_batch(origin{it->second.address, {}, false, {}}, peer_of(it->second), it->second.incarnation);
  } else if (clients_.known(id)) {
    const std::string* alias = clients_.gateway_alias(id);
    on_batch(alias == nullptr ? origin{{}, id, false, {}} : origin{{}, id, true, *alias}, nullptr, 0);
  } else {
    const auto n = batches_.envelopes().size() + batches_.bad_elements();
    counters_.dropped[static_cast<std::size_t>(drop_reason::no_handshake)].fetch_add(n);
    ACTOR_LOG(debug, "transport", "no_handshake", {"from", id}, {"envelopes", n});
    // never silence: tell the sender to say HELLO again, listing the requests that were not delivered
    std::vector<strangers::request_id> dropped;
    for (const auto& v : batches_.envelopes()) {
      if (v.k == wire::kind::request && v.has_sender) dropped.emplace_back(v.sender.id, v.correlation);
    }
    answer_stranger(id, dropped, mono_now());
  }
}

std::string transport::check_node_hello(const wire::hello& h, zmq::message_t& frame) const {
  if (h.address.empty()) return "a node's HELLO must name the address it listens at";
  const auto host = host_of(h.address);  // empty when not tcp://HOST:PORT (ipc://, say): not checked
  if (is_self(h.address) && h.incarnation != opts_.incarnation) {
    return "address " + h.address + " is this node's own";
  }
  // Where the address allows it, it must be the connection's: a loopback address is only this
  // host's (other addresses may differ from the connection's by NAT or --advertise, and names
  // are not resolved here).
  if (is_loopback_host(host)) {
    std::string from;
    try {
      if (const char* a = frame.gets("Peer-Address")) from = a;
    } catch (const zmq::error_t&) {
    }
    if (!from.empty() && is_ip_literal(from) && !is_loopback_host(from)) {
      return "address " + h.address + " is a loopback address, but the connection comes from " + from;
    }
  }
  return {};
}

void transport::answer_stranger(const std::string& id, const std::vector<strangers::request_id>& dropped,
                                time_point now) {
  if (strangers_.dropped(id, dropped, now)) send_hello_again(id, now);
}

void transport::send_hello_again(const std::string& id, time_point now) {
  wire::hello_again h;
  h.incarnation = opts_.incarnation;
  h.reason = "this node (" + opts_.node_name + ") does not know this connection: it forgot it, or restarted";
  h.dropped = strangers_.taken(id, now);
  clients_.send(id, wire::encode(h));
}

void transport::on_router_frame(const std::string& id, zmq::message_t& frame) {
  const void* data = frame.data();
  const std::size_t size = frame.size();
  if (wire::batch_decoder::is_batch(data, size)) {  // the hot path: envelopes from nodes and clients
    if (auto ok = batches_.decode(data, size); !ok) return malformed(id, ok.error().text);
    heard_on_router(id);
    return on_router_batch(id);
  }
  auto f = wire::decode_frame(data, size, limits_);
  if (!f) return malformed(id, f.error().text);
  heard_on_router(id);
  switch (f->tag) {
    case wire::frame_tag::hello: {
      auto h = wire::read_hello(*f);
      if (!h) return malformed(id, h.error().text);
      std::string refusal;
      if (h->version != wire::protocol_version) {
        refusal = "protocol version " + std::to_string(h->version) + " is not supported (this node speaks " +
                  std::to_string(wire::protocol_version) + ")";
      } else if (h->role == "gateway-client" && !opts_.gateway) {
        refusal = "node " + opts_.node_name + " is not a gateway (start it with --gateway-forwarding)";
      } else if (h->role != "node" && h->role != "client" && h->role != "gateway-client") {
        refusal = "unknown role '" + h->role + "'";
      } else if (h->role == "node") {
        refusal = check_node_hello(*h, frame);
      }
      if (!refusal.empty()) {
        ACTOR_LOG(warn, "transport", "handshake_refused", {"from", id}, {"reason", refusal});
        clients_.send(id, wire::encode(wire::refuse{wire::protocol_version, refusal}));
        return;
      }
      // requests it sent before this HELLO and that were dropped are listed before the WELCOME
      if (strangers_.owes_requests(id)) send_hello_again(id, mono_now());
      strangers_.known(id);
      if (h->role == "node") {
        node_routes_[id] = node_route{canonical_address(h->address), h->incarnation};
        peer_said_hello(node_routes_[id].address, h->incarnation);
      } else {
        // a client saying HELLO again keeps the replies it is owed
        clients_.hello(id, h->node, mono_now(), h->role == "gateway-client", h->address);
      }
      clients_.send(id, wire::encode(wire::welcome{wire::protocol_version, opts_.node_name, address_,
                                                    opts_.incarnation, opts_.max_message_size,
                                                    wire::feature_repeat}));
      return;
    }
    case wire::frame_tag::ping: {
      auto pr = wire::read_probe(*f);
      if (!pr) return malformed(id, pr.error().text);
      clients_.send(id, wire::encode_probe(wire::frame_tag::pong, {pr->seq, opts_.incarnation}));
      // a PONG alone would tell a forgotten client that all is well
      if (node_routes_.find(id) == node_routes_.end() && !clients_.known(id)) answer_stranger(id, {}, mono_now());
      return;
    }
    default:  // BATCH frames were handled above
      return malformed(id, "unexpected frame on the listening socket");
  }
}

// A node that says HELLO with another incarnation than the one our connection to its
// address was welcomed by has restarted: our DEALER would go on writing to a process that
// never heard our HELLO (it drops such frames as no_handshake), and ZeroMQ's reconnect
// backoff may keep it from reaching the new one for up to a second. Open a fresh
// connection at once (HELLO first); what was in flight to the old incarnation fails.
void transport::peer_said_hello(const std::string& address, std::uint64_t incarnation) {
  peer* p = nullptr;
  {
    std::lock_guard lk(mu_);
    if (auto it = peers_.find(address); it != peers_.end() && it->second->dealer) p = it->second.get();
  }
  if (p == nullptr || p->conn.incarnation() == 0 || p->conn.incarnation() == incarnation) return;
  ACTOR_LOG(info, "transport", "peer_restarted", {"peer", address}, {"incarnation", incarnation},
            {"seen", "hello"});
  peer_restarted(*p, incarnation);  // what was in flight fails; what was written for the old run is dropped
  {
    std::lock_guard lk(mu_);
    p->dealer.reset();
    p->conn.socket_closed();
  }
  open_dealer(*p);
}

void transport::on_dealer_frame(peer& p, const void* data, std::size_t size) {
  if (wire::batch_decoder::is_batch(data, size)) {
    if (auto ok = batches_.decode(data, size); !ok) return malformed(p.address, ok.error().text);
    counters_.frames_in.fetch_add(1, std::memory_order_relaxed);
    return on_batch(origin{p.address, {}, false, {}}, &p, p.conn.welcomed() ? p.conn.incarnation() : 0);
  }
  auto f = wire::decode_frame(data, size, limits_);
  if (!f) return malformed(p.address, f.error().text);
  counters_.frames_in.fetch_add(1, std::memory_order_relaxed);
  const auto now = mono_now();
  switch (f->tag) {
    case wire::frame_tag::welcome: {
      auto w = wire::read_welcome(*f);
      if (!w) return malformed(p.address, w.error().text);
      const auto ev = p.conn.welcome(w->incarnation, now);
      ++welcomes_;
      const bool restarted = ev.old_incarnation != 0 && ev.old_incarnation != ev.new_incarnation;
      {
        std::lock_guard lk(mu_);
        p.name = w->node;
        p.incarnation = w->incarnation;
      }
      if (!ev.was_welcomed) {
        ACTOR_LOG(info, "transport", restarted ? "peer_restarted" : "peer_connected", {"peer", p.address},
                  {"name", w->node}, {"incarnation", w->incarnation});
      }
      p.refusal.clear();
      if (w->max_message_size >= 1024) p.max_frame = static_cast<std::size_t>(w->max_message_size);
      p.repeats = (w->features & wire::feature_repeat) != 0;
      if (restarted) {
        // a restart not seen in a PONG first: what was in flight to the old run is lost (what
        // waited in the backlog for this handshake goes to the new one)
        peer_restarted(p, w->incarnation);
      }
      after_heard(p, ev);
      auto backlog = std::move(p.backlog);
      p.backlog.clear();
      p.queued -= backlog.size();
      for (auto& o : backlog) {
        o.e.offset = 0;
        o.e.size = o.bytes.size();
        posted_extra* x = o.e.extra == posted_envelope::no_extra ? nullptr : &o.x;
        if (!refresh_ttl(o.e, x, o.bytes.data())) {  // waited past its deadline: its requester timed out
          if (x != nullptr && x->requester) p.inflight.erase({x->requester_id, x->correlation});
          reject(o.e, nullptr, errc::timeout, {}, drop_reason::expired);
          continue;
        }
        route(o.e, x, o.bytes, o.bytes, 0);
      }
      return;
    }
    case wire::frame_tag::refuse: {
      auto r = wire::read_refuse(*f);
      if (!r) return malformed(p.address, r.error().text);
      ACTOR_LOG(error, "transport", "handshake_refused_by_peer", {"peer", p.address}, {"reason", r->reason});
      p.conn.refused(now);
      p.refusal = "peer " + p.address + " refused our handshake: " + r->reason;
      publish(p);
      fail_inflight(p, errc::node_down, "peer " + p.address + " refused the handshake: " + r->reason);
      drop_queued(p, drop_reason::node_down);
      return;
    }
    case wire::frame_tag::hello_again: {
      auto h = wire::read_hello_again(*f);
      if (!h) return malformed(p.address, h.error().text);
      const auto ev = p.conn.forgotten(h->incarnation, now);
      if (ev.send == probe::none) return;  // refused: the retry says HELLO
      if (ev.restarted) {
        ACTOR_LOG(info, "transport", "peer_restarted", {"peer", p.address}, {"incarnation", h->incarnation});
        fail_inflight(p, errc::node_down, "peer " + p.address + " restarted");
        restart_seen(p, h->incarnation);
        drop_queued(p, drop_reason::restarted);
      } else {
        // it forgot us: the requests it lists were not delivered (it did not know who sent them)
        ACTOR_LOG(info, "transport", "peer_forgot_us", {"peer", p.address}, {"requests", h->dropped.size()});
        for (const auto& [id, correlation] : h->dropped) {
          auto it = p.inflight.find({id, correlation});
          if (it == p.inflight.end()) continue;
          auto requester = std::move(it->second.requester);
          p.inflight.erase(it);
          deliver(requester, make_error(error{errc::node_down, "peer " + p.address +
                                                                   " did not know this node: the request was not "
                                                                   "delivered"},
                                        {}, correlation));
        }
      }
      send_probe(p, ev.send);
      after_heard(p, ev);
      return;
    }
    case wire::frame_tag::pong: {
      auto pr = wire::read_probe(*f);
      if (!pr) return malformed(p.address, pr.error().text);
      const auto ev = p.conn.pong(pr->incarnation, now);
      if (ev.restarted) {
        // the peer restarted: what was in flight to the old incarnation is lost, and what was
        // queued for it is dropped; introduce ourselves again
        ACTOR_LOG(info, "transport", "peer_restarted", {"peer", p.address}, {"incarnation", pr->incarnation});
        fail_inflight(p, errc::node_down, "peer " + p.address + " restarted");
        restart_seen(p, pr->incarnation);
        drop_queued(p, drop_reason::restarted);
        send_probe(p, ev.send);
      }
      after_heard(p, ev);
      return;
    }
    default:  // BATCH frames were handled above
      return malformed(p.address, "unexpected frame on a connection to a peer");
  }
}

bool transport::sender_is(const wire::envelope_view& v, const origin& from, std::uint64_t incarnation) {
  if (!v.has_sender) return true;  // anonymous
  if (incarnation != 0 && v.sender.incarnation != incarnation) {
    // A node speaks for an earlier incarnation of itself (or for a service ref, incarnation 0)
    // only to say that an actor is gone: its noproc answer to a monitor or link of a stale ref
    // names the ref it was given (docs/architecture.md, monitors across nodes).
    if (v.type != "actor.down" && v.type != "actor.exit") return false;
  }
  if (v.sender.address == from.peer_address) return true;
  // another spelling of the same address (one comparison per run of one sender)
  if (v.sender.address != last_sender_spelling_.first) {
    last_sender_spelling_ = {std::string(v.sender.address), canonical_address(v.sender.address)};
  }
  return last_sender_spelling_.second == from.peer_address;
}

void transport::on_batch(const origin& from, peer* p, std::uint64_t incarnation) {
  if (p != nullptr) heard_from(*p, mono_now());
  const std::string& source = from.peer_address.empty() ? from.client_id : from.peer_address;
  for (std::size_t i = 0; i < batches_.bad_elements(); ++i) malformed(source, batches_.first_bad());
  const auto& envelopes = batches_.envelopes();
  counters_.envelopes_in.fetch_add(envelopes.size(), std::memory_order_relaxed);
  const bool from_node = !from.peer_address.empty();
  bool dropped_one = false;  // the envelope before was not delivered: a repeat of it is delivered whole
  auto drop = [&](drop_reason why, const char* event, const wire::envelope_view& v) {
    counters_.dropped[static_cast<std::size_t>(why)].fetch_add(1, std::memory_order_relaxed);
    ACTOR_LOG(debug, "transport", event, {"from", source}, {"sender_address", std::string(v.sender.address)},
              {"correlation", v.correlation});
    dropped_one = true;
  };
  for (const auto& v : envelopes) {
    if (from_node && !sender_is(v, from, incarnation)) {  // a node speaks for its own actors only
      drop(drop_reason::wrong_sender, "wrong_sender", v);
      continue;
    }
    if (from_node && (v.k == wire::kind::reply || v.k == wire::kind::error)) {
      // an answer completes only a request that went to the node it comes from
      if (p == nullptr || p->inflight.erase({v.receiver.id, v.correlation}) == 0) {
        drop(drop_reason::stray_reply, "stray_reply", v);
        continue;
      }
    }
    try {
      if (dropped_one && v.repeat) {
        wire::envelope_view whole = v;  // its sender and type are resolved afresh
        whole.repeat = false;
        deliver_(whole, from);
      } else {
        deliver_(v, from);
      }
    } catch (const std::exception& ex) {
      malformed(source, ex.what());
    }
    dropped_one = false;
  }
  if (frame_done_) frame_done_();
}

}  // namespace actor::detail
