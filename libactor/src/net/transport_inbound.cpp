// transport: frames coming in, on the ROUTER (from peers' DEALERs and from
// Bridge clients) and on the DEALERs (answers from peers), and delivering their envelopes.
#include <cerrno>

#include "actor/log.hpp"
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
    on_router_frame(rid, frame.data(), frame.size());
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

void transport::on_router_batch(const std::string& id) {
  if (auto it = node_routes_.find(id); it != node_routes_.end()) {
    peer* p = nullptr;
    {
      std::lock_guard lk(mu_);
      if (auto pit = peers_.find(it->second); pit != peers_.end() && pit->second->dealer) p = pit->second.get();
    }
    on_batch(origin{it->second, {}}, p);
  } else if (clients_.known(id)) {
    on_batch(origin{{}, id}, nullptr);
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

void transport::on_router_frame(const std::string& id, const void* data, std::size_t size) {
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
      } else if (h->role != "node" && h->role != "client") {
        refusal = "unknown role '" + h->role + "'";
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
        node_routes_[id] = h->address;
      } else {
        clients_.hello(id, h->node, mono_now());  // a client saying HELLO again keeps the replies it is owed
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

void transport::on_dealer_frame(peer& p, const void* data, std::size_t size) {
  if (wire::batch_decoder::is_batch(data, size)) {
    if (auto ok = batches_.decode(data, size); !ok) return malformed(p.address, ok.error().text);
    counters_.frames_in.fetch_add(1, std::memory_order_relaxed);
    return on_batch(origin{p.address, {}}, &p);
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
        route(o.e, o.e.extra == posted_envelope::no_extra ? nullptr : &o.x, o.bytes, o.bytes, 0);
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

void transport::on_batch(const origin& from, peer* p) {
  if (p != nullptr) heard_from(*p, mono_now());
  const std::string& source = from.peer_address.empty() ? from.client_id : from.peer_address;
  for (std::size_t i = 0; i < batches_.bad_elements(); ++i) malformed(source, batches_.first_bad());
  const auto& envelopes = batches_.envelopes();
  counters_.envelopes_in.fetch_add(envelopes.size(), std::memory_order_relaxed);
  for (const auto& v : envelopes) {
    if (p != nullptr && !p->inflight.empty() && (v.k == wire::kind::reply || v.k == wire::kind::error)) {
      p->inflight.erase({v.receiver.id, v.correlation});
    }
    try {
      deliver_(v, from);
    } catch (const std::exception& ex) {
      malformed(source, ex.what());
    }
  }
  if (frame_done_) frame_done_();
}

}  // namespace actor::detail
