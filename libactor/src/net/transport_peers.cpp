// transport: the connections to peer nodes (one DEALER each, opened on demand,
// closed when down for long) and their liveness: handshakes, heartbeats, silence.
#include <algorithm>
#include <cerrno>

#include "actor/log.hpp"
#include "net/resolve.hpp"
#include "net/transport.hpp"
#include "net/transport_peer.hpp"

namespace actor::detail {

using namespace transport_detail;

void transport::open_dealer(peer& p) {
  if (auto why = unresolvable(p.address, resolve_bound)) {
    // ZeroMQ would retry the name forever, and messages wait for their deadline: refused now
    // (node_down at once, naming the address), tried again with the refusal's backoff
    ACTOR_LOG(warn, "transport", "connect_failed", {"peer", p.address}, {"error", *why});
    p.refusal = *why;
    p.conn.connect_failed(mono_now());
    publish(p);
    return;
  }
  std::unique_ptr<zmq::socket_t> s;
  try {
    try {
      s = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::dealer);
    } catch (const zmq::error_t&) {
      // out of sockets: take them back from peers that are down (they reopen on demand), once
      if (reclaim_sockets() == 0) throw;
      s = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::dealer);
    }
  } catch (const zmq::error_t& e) {
    // still none (closed sockets are freed a moment later): wait in the backlog, the tick retries
    p.conn.no_socket(mono_now());
    publish(p);
    ACTOR_LOG(warn, "transport", "socket_failed", {"peer", p.address}, {"error", e.what()});
    return;
  }
  s->set(zmq::sockopt::routing_id, routing_id_);
  s->set(zmq::sockopt::linger, opts_.linger_ms);
  s->set(zmq::sockopt::sndhwm, socket_hwm);
  s->set(zmq::sockopt::rcvhwm, socket_hwm);
  s->set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(opts_.max_message_size));
  s->set(zmq::sockopt::heartbeat_ivl, static_cast<int>(opts_.heartbeat_interval.count()));
  s->set(zmq::sockopt::heartbeat_timeout, static_cast<int>(opts_.down_after.count()));
  s->set(zmq::sockopt::heartbeat_ttl, static_cast<int>(opts_.down_after.count()));
  s->set(zmq::sockopt::reconnect_ivl, 100);
  s->set(zmq::sockopt::reconnect_ivl_max, 1000);
  try {
    s->connect(p.address);
  } catch (const zmq::error_t& e) {
    ACTOR_LOG(warn, "transport", "connect_failed", {"peer", p.address}, {"error", e.what()});
    p.refusal = "cannot connect to " + p.address + ": " + e.what();
    p.conn.connect_failed(mono_now());
    publish(p);
    return;
  }
  const auto ev = p.conn.opened(mono_now());
  {
    std::lock_guard lk(mu_);
    p.dealer = std::move(s);
    p.state = p.conn.state();
  }
  send_probe(p, ev.send);
  ACTOR_LOG(debug, "transport", "peer_connecting", {"peer", p.address});
}

void transport::keep_alive_with(const std::string& address) {
  auto& p = *static_cast<peer*>(peer_for(address));
  if (!p.dealer && p.conn.state() != peer_state::refused) open_dealer(p);
}

std::size_t transport::reclaim_sockets() {
  std::size_t closed = 0;
  std::lock_guard lk(mu_);
  for (auto& [addr, p] : peers_) {
    if (p->dealer && p->conn.state() == peer_state::down) {
      p->dealer.reset();
      p->conn.socket_closed();
      ++closed;
    }
  }
  ACTOR_LOG(warn, "transport", "sockets_reclaimed", {"closed", closed});
  return closed;
}

void transport::heard_from(peer& p, time_point now) { after_heard(p, p.conn.heard(now)); }

void transport::after_heard(peer& p, const connection_event& ev) {
  if (!ev.became_alive) return;
  publish(p);
  if (ev.was == peer_state::down || ev.was == peer_state::suspect) {
    ACTOR_LOG(info, "transport", "peer_up", {"peer", p.address}, {"was", std::string(to_string(ev.was))});
  }
  if (!p.owed.empty()) send_owed(p);
}

void transport::publish(peer& p, const std::string* why) {
  if (p.state == p.conn.state()) return;  // only this thread writes it
  const bool was_down = p.state == peer_state::down || p.state == peer_state::refused;
  {
    std::lock_guard lk(mu_);
    p.state = p.conn.state();
  }
  const bool down = p.state == peer_state::down || p.state == peer_state::refused;
  if (down && !was_down && events_.peer_down) {
    events_.peer_down(p.address, why != nullptr        ? "peer " + p.address + " is down: " + *why
                                 : !p.refusal.empty() ? p.refusal
                                                      : "peer " + p.address + " is down");
  }
}

void transport::restart_seen(peer& p, std::uint64_t incarnation) {
  if (events_.peer_restarted) events_.peer_restarted(p.address, incarnation);
}

void transport::send_probe(peer& p, probe what) {
  switch (what) {
    case probe::none: return;
    case probe::hello:
      send_raw(*p.dealer, wire::encode(wire::hello{wire::protocol_version, "node", opts_.node_name, address_,
                                                   opts_.incarnation}));
      return;
    case probe::ping:
      send_raw(*p.dealer, wire::encode_probe(wire::frame_tag::ping, {p.conn.seq(), opts_.incarnation}));
      return;
  }
}

void transport::mark_down(peer& p, time_point now, const std::string& why) {
  p.conn.down(now);
  went_down(p, why);
}

void transport::went_down(peer& p, const std::string& why) {
  publish(p, &why);
  ACTOR_LOG(warn, "transport", "peer_down", {"peer", p.address}, {"reason", why});
  fail_inflight(p, errc::node_down, "peer " + p.address + " is down: " + why);
  drop_queued(p, drop_reason::node_down);
}

void transport::drop_queued(peer& p, drop_reason why) {
  // requests among them were failed with what was in flight (inflight holds them from route())
  counters_.dropped[static_cast<std::size_t>(why)].fetch_add(p.queued, std::memory_order_relaxed);
  if (events_.watch_dropped) {  // a monitor or link waiting for the handshake still owes its down
    for (const auto& o : p.backlog) {
      if (o.e.watch) events_.watch_dropped(p.address, o.x, "peer " + p.address + " " + std::string(to_string(why)));
    }
  }
  if (why == drop_reason::node_down) {  // downs and exits wait for it (posted_envelope::owed)
    for (auto& o : p.backlog) {
      if (o.e.owed && p.owed.size() < transport_detail::max_owed) p.owed.push_back(std::move(o));
    }
  }
  p.backlog.clear();
  p.stalled.clear();
  p.batch.clear();
  p.batch_count = 0;
  p.queued = 0;
}

void transport::peer_restarted(peer& p, std::uint64_t incarnation) {
  ACTOR_LOG(debug, "transport", "inflight_lost", {"peer", p.address}, {"incarnation", incarnation});
  fail_inflight(p, errc::node_down, "peer " + p.address + " restarted");
  // downs kept for the old run: its watchers are gone with it
  counters_.dropped[static_cast<std::size_t>(drop_reason::restarted)].fetch_add(p.owed.size(), std::memory_order_relaxed);
  p.owed.clear();
  restart_seen(p, incarnation);
  // written for the old run's connection; the backlog waited for this handshake and stays
  const std::size_t written = p.queued - std::min(p.queued, p.backlog.size());
  counters_.dropped[static_cast<std::size_t>(drop_reason::restarted)].fetch_add(written, std::memory_order_relaxed);
  p.stalled.clear();
  p.batch.clear();
  p.batch_count = 0;
  p.queued -= written;
}

void transport::fail_inflight(peer& p, errc code, const std::string& text) {
  auto inflight = std::move(p.inflight);
  p.inflight.clear();
  for (auto& [key, entry] : inflight) deliver(entry.requester, make_error(error{code, text}, {}, key.correlation));
}

void transport::tick(time_point now) {
  if (on_second_ && now - last_second_ >= std::chrono::seconds(1)) {
    last_second_ = now;
    on_second_();
  }
  if (now - last_beacon_ >= opts_.heartbeat_interval) {
    // Tell every node that introduced itself that we are alive, on a path that is
    // not queued behind the data it sends us: its PINGs may wait behind megabytes.
    last_beacon_ = now;
    const auto beacon = wire::encode_probe(wire::frame_tag::pong, {0, opts_.incarnation});
    // Routes are kept when disconnected: a peer that reconnects keeps its routing id
    // and does not say HELLO again. Only a very large table sheds unreachable ones.
    const bool prune = node_routes_.size() > 4096;
    for (auto it = node_routes_.begin(); it != node_routes_.end();) {
      bool reachable = true;
      try {
        if (router_.send(zmq::buffer(it->first), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
          [[maybe_unused]] auto sent = router_.send(zmq::buffer(beacon), zmq::send_flags::dontwait);
        }  // else: its queue is full (EAGAIN), skip one beacon
      } catch (const zmq::error_t& e) {
        if (e.num() != EHOSTUNREACH) throw;
        reachable = false;
      }
      it = (prune && !reachable) ? node_routes_.erase(it) : std::next(it);
    }
    clients_.probe(now, beacon);
    strangers_.sweep(now);
  }
  for (const auto& id : strangers_.due(now)) send_hello_again(id, now);  // held back by the rate limit
  // If this thread itself did not run for a while (the process was stopped, or
  // starved), the silence we saw is ours, not our peers': give them a fresh grace period.
  const bool we_stalled = last_tick_ != time_point{} && now - last_tick_ > opts_.down_after / 2;
  last_tick_ = now;
  std::vector<peer*> active;
  {
    std::lock_guard lk(mu_);
    for (auto& [addr, p] : peers_) {
      if (p->dealer || !p->backlog.empty() || p->conn.state() == peer_state::refused) active.push_back(p.get());
    }
  }
  for (auto* p : active) {
    if (we_stalled) p->conn.grace(now);
    if (p->conn.state() == peer_state::refused) {
      // refused (or could not connect): HELLO again with backoff; messages fail at once meanwhile
      if (p->conn.tick(now).send == probe::hello) {
        ACTOR_LOG(info, "transport", "peer_retry", {"peer", p->address});
        if (p->dealer) {
          send_probe(*p, probe::hello);
        } else {
          open_dealer(*p);
        }
      }
      continue;
    }
    if (!p->dealer) {  // messages are waiting for a socket
      if (now - p->conn.opened_at() > opts_.down_after) {
        mark_down(*p, now, "no socket available for " + std::to_string(opts_.down_after.count()) + " ms");
      } else {
        open_dealer(*p);
      }
      continue;
    }
    if (p->conn.state() == peer_state::down && now - p->conn.down_since() > forget_after * opts_.down_after) {
      // down for long: close its socket (sockets are a bounded resource); a new
      // message to it opens a fresh one
      ACTOR_LOG(info, "transport", "peer_forgotten", {"peer", p->address}, {"owed_dropped", p->owed.size()});
      counters_.dropped[static_cast<std::size_t>(drop_reason::node_down)].fetch_add(p->owed.size(),
                                                                                    std::memory_order_relaxed);
      p->owed.clear();
      {
        std::lock_guard lk(mu_);
        p->dealer.reset();
        p->conn.socket_closed();
      }
      if (events_.peer_forgotten) events_.peer_forgotten(p->address);
      continue;
    }
    const auto ev = p->conn.tick(now);
    send_probe(*p, ev.send);
    if (ev.became_suspect) publish(*p);
    if (ev.went_down != down_reason::none) {
      went_down(*p, ev.went_down == down_reason::silent
                        ? "silent for " + std::to_string(opts_.down_after.count()) + " ms"
                        : "no handshake within " + std::to_string(opts_.down_after.count()) + " ms");
    }
    // forget requests whose requester has had its timeout already (deadlines are on the system's clock)
    const auto deadline_now = this->deadline_now();
    for (auto it = p->inflight.begin(); it != p->inflight.end();) {
      if (it->second.deadline != time_point{} && it->second.deadline + std::chrono::seconds(1) < deadline_now) {
        it = p->inflight.erase(it);
      } else {
        ++it;
      }
    }
  }
}


}  // namespace actor::detail
