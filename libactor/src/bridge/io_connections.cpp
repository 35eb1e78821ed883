// bridge_io: the connections to nodes, one DEALER each (I/O thread only):
// handshake, batches out, frames in, liveness.
#include <algorithm>
#include <string>
#include <iterator>
#include <vector>

#include "actor/log.hpp"
#include "bridge/io.hpp"
#include "bridge/io_connection.hpp"
#include "net/resolve.hpp"

namespace actor::detail {

namespace {

constexpr std::size_t max_batch_bytes = 64u << 10;
constexpr std::size_t batch_header = 6;  // array32 header and the BATCH tag
constexpr int socket_hwm = 1000;
constexpr int read_budget = 4096;   // frames read from one socket before polling again
constexpr int forget_after = 10;    // down_after periods an unused, down connection keeps its socket
constexpr std::chrono::milliseconds resolve_bound{250};  // the wait for the resolver before a connect

std::string ms_text(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

// An error envelope's body {code, text}; codes this library does not know become
// remote_error, keeping their number in the text.
error read_error(const msgpack::object& body) {
  if (body.type != msgpack::type::MAP) return error{errc::bad_message, "an error body must be a map {code, text}"};
  std::uint64_t code = 0;
  std::string text;
  for (std::uint32_t i = 0; i < body.via.map.size; ++i) {
    const auto& kv = body.via.map.ptr[i];
    if (kv.key.type != msgpack::type::STR) continue;
    const std::string_view key(kv.key.via.str.ptr, kv.key.via.str.size);
    if (key == "code" && kv.val.type == msgpack::type::POSITIVE_INTEGER) code = kv.val.via.u64;
    if (key == "text" && kv.val.type == msgpack::type::STR) text.assign(kv.val.via.str.ptr, kv.val.via.str.size);
  }
  if (code >= static_cast<std::uint64_t>(errc::timeout) && code <= static_cast<std::uint64_t>(errc::unknown_type)) {
    return error{static_cast<errc>(code), std::move(text)};
  }
  return error{errc::remote_error, "error code " + std::to_string(code) + (text.empty() ? "" : ": " + text)};
}

std::string repack(const msgpack::object& o) {
  msgpack::sbuffer b;
  msgpack::pack(b, o);
  return {b.data(), b.size()};
}


}  // namespace

bridge_io::connection& bridge_io::connection_for(const std::string& address) {
  auto& slot = conns_[address];
  if (!slot) {
    connection_options o;
    o.heartbeat_interval = opts_.heartbeat;  // the heartbeat timer is tick()'s, for all connections
    o.suspect = false;
    o.down_after = opts_.down_after;
    o.down_forgets_welcome = true;
    o.refusal_is_final = true;
    slot = std::make_unique<connection>(o);
    slot->address = address;
    slot->gateway = std::find(opts_.gateways.begin(), opts_.gateways.end(), address) != opts_.gateways.end();
    open_socket(*slot);
  }
  return *slot;
}

void bridge_io::open_socket(connection& c) {
  const auto now = mono_now();
  if (auto why = unresolvable(c.address, resolve_bound)) {
    // ZeroMQ would retry the name forever, and calls wait for their deadline: node_down now
    c.link.connect_failed(now);
    c.reason = *why;
    std::lock_guard lk(mu_);
    down_[c.address] = c.reason;
    return;
  }
  try {
    auto s = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::dealer);
    s->set(zmq::sockopt::routing_id, routing_id_);
    s->set(zmq::sockopt::linger, static_cast<int>(opts_.linger.count()));
    s->set(zmq::sockopt::sndhwm, socket_hwm);
    s->set(zmq::sockopt::rcvhwm, socket_hwm);
    s->set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(opts_.max_message_size));
    s->set(zmq::sockopt::heartbeat_ivl, static_cast<int>(opts_.heartbeat.count()));
    s->set(zmq::sockopt::heartbeat_timeout, static_cast<int>(opts_.down_after.count()));
    s->set(zmq::sockopt::heartbeat_ttl, static_cast<int>(opts_.down_after.count()));
    s->set(zmq::sockopt::reconnect_ivl, 100);
    s->set(zmq::sockopt::reconnect_ivl_max, 1000);
    s->connect(c.address);
    c.socket = std::move(s);
  } catch (const zmq::error_t& e) {
    c.link.connect_failed(now);
    c.reason = "cannot connect to '" + c.address + "': " + e.what();
    std::lock_guard lk(mu_);
    down_[c.address] = c.reason;
    return;
  }
  {
    std::lock_guard lk(mu_);
    ++open_connections_;
  }
  send_probe(c, c.link.opened(now).send);
  if (auto why = refuses_connections(c.address, resolve_bound)) {
    // nothing listens there now: calls fail at once, naming the address, rather than at the
    // handshake bound; the socket stays and says HELLO every heartbeat, and a WELCOME (the node
    // came up) brings the connection back
    c.link.down(now);
    went_down(c, *why);
  }
}

void bridge_io::send_probe(connection& c, probe what) {
  switch (what) {
    case probe::none: return;
    case probe::hello:
      // a gateway client names the address it dialed: the node takes it as its own (docs/protocol.md "Gateways")
      send_raw(c, wire::encode(c.gateway ? wire::hello{wire::protocol_version, "gateway-client", opts_.name, c.address,
                                                       incarnation_}
                                         : wire::hello{wire::protocol_version, "client", opts_.name, "", incarnation_}));
      return;
    case probe::ping:
      send_raw(c, wire::encode_probe(wire::frame_tag::ping, {c.link.seq(), incarnation_}));
      return;
  }
}

void bridge_io::route(outgoing& o) {
  auto& c = connection_for(o.address);
  auto reject = [&](errc code, const std::string& text) {
    if (o.correlation != 0) complete(o.correlation, error{code, text});
  };
  if (c.link.state() == peer_state::down || c.link.state() == peer_state::refused) {
    return reject(errc::node_down, c.reason);
  }
  if (c.queued >= opts_.queue_limit) return reject(errc::overloaded, "too many messages queued for " + c.address);
  ++c.queued;
  if (!c.link.welcomed()) {
    c.backlog.push_back(std::move(o));
    return;
  }
  enqueue(c, std::move(o));
}

void bridge_io::enqueue(connection& c, outgoing&& o) {
  if (o.bytes.size() + batch_header > c.max_frame) {
    --c.queued;
    if (o.correlation != 0) {
      complete(o.correlation, error{errc::bad_message, "a " + std::to_string(o.bytes.size()) +
                                                           "-byte message exceeds the frame limit of " + c.address});
    }
    return;
  }
  const std::string& bytes = o.bytes;
  const std::size_t limit = std::min(max_batch_bytes, c.max_frame);
  if (c.batch_count > 0 && c.batch.size() + bytes.size() > limit) send_batch(c);
  if (c.batch_count == 0) wire::begin_batch(c.batch, 0);
  c.batch += bytes;
  ++c.batch_count;
  // a request's bytes go to its pending call, to be sent again if the node forgets us (forgotten)
  if (o.correlation != 0) written_.emplace_back(o.correlation, std::move(o.bytes));
  if (c.batch.size() >= limit) send_batch(c);
}

void bridge_io::send_batch(connection& c) {
  if (c.batch_count == 0) return;
  wire::set_batch_count(c.batch, c.batch_count);
  if (c.stalled.empty() && send_raw(c, c.batch)) {
    c.queued -= c.batch_count;
    c.batch.clear();
  } else {
    c.stalled.emplace_back(std::move(c.batch), c.batch_count);
    c.batch = std::string();
  }
  c.batch_count = 0;
}

void bridge_io::flush() {
  for (auto& [addr, cp] : conns_) {
    auto& c = *cp;
    if (!c.socket) continue;
    while (!c.stalled.empty() && send_raw(c, c.stalled.front().first)) {
      c.queued -= c.stalled.front().second;
      c.stalled.pop_front();
    }
    send_batch(c);
  }
}

bool bridge_io::send_raw(connection& c, const std::string& frame) {
  if (!c.socket) return false;
  try {
    return c.socket->send(zmq::buffer(frame), zmq::send_flags::dontwait).has_value();
  } catch (const zmq::error_t& e) {
    ACTOR_LOG(warn, "bridge", "send_failed", {"node", c.address}, {"error", e.what()});
    return false;
  }
}

void bridge_io::read(connection& c) {
  for (int i = 0; i < read_budget && c.socket; ++i) {
    zmq::message_t frame;
    if (!c.socket->recv(frame, zmq::recv_flags::dontwait)) return;
    if (frame.more()) {  // one frame per message: drop the rest of it
      while (frame.more() && c.socket->recv(frame, zmq::recv_flags::dontwait)) {
      }
      continue;
    }
    on_frame(c, frame.data(), frame.size());
  }
}

void bridge_io::on_frame(connection& c, const void* data, std::size_t size) {
  if (wire::batch_decoder::is_batch(data, size)) {
    if (auto ok = batches_.decode(data, size); !ok) {
      ACTOR_LOG(debug, "bridge", "malformed_input", {"node", c.address}, {"reason", ok.error().text});
      return;
    }
    c.link.heard(mono_now());
    return on_batch(c);
  }
  auto f = wire::decode_frame(data, size, limits_);
  if (!f) {
    ACTOR_LOG(debug, "bridge", "malformed_input", {"node", c.address}, {"reason", f.error().text});
    return;
  }
  const auto now = mono_now();
  c.link.heard(now);
  switch (f->tag) {
    case wire::frame_tag::welcome: {
      if (auto w = wire::read_welcome(*f)) welcomed(c, *w, now);
      return;
    }
    case wire::frame_tag::refuse: {
      auto r = wire::read_refuse(*f);
      const std::string reason = r ? r->reason : std::string("(unreadable reason)");
      ACTOR_LOG(error, "bridge", "handshake_refused_by_peer", {"node", c.address}, {"reason", reason});
      c.link.refused(now);
      went_down(c, "node at " + c.address + " refused the handshake: " + reason);
      return;
    }
    case wire::frame_tag::hello_again: {
      if (auto h = wire::read_hello_again(*f)) forgotten(c, *h, now);
      return;
    }
    case wire::frame_tag::ping: {
      if (auto p = wire::read_probe(*f)) send_raw(c, wire::encode_probe(wire::frame_tag::pong, {p->seq, incarnation_}));
      return;
    }
    case wire::frame_tag::pong: {
      auto p = wire::read_probe(*f);
      if (!p) return;
      const auto ev = c.link.pong(p->incarnation, now);
      if (ev.restarted) {
        // the node restarted: what was in flight to the old run is lost; introduce ourselves again
        ACTOR_LOG(info, "bridge", "node_restarted", {"node", c.address}, {"incarnation", p->incarnation});
        drop_queued(c);  // failed below: they must not reach the new run
        send_probe(c, ev.send);
        // the monitors first, then the calls: a caller woken by its failed call finds its
        // monitor complete (actorctl monitor's sync)
        tell({node_event::kind::restarted, c.address, p->incarnation, false, {}});
        fail_address(c.address, error{errc::node_down, "node at " + c.address + " restarted"});
      }
      return;
    }
    default:
      return;  // HELLO: a node never sends one to a client; BATCH was handled above
  }
}

void bridge_io::welcomed(connection& c, const wire::welcome& w, steady_time now) {
  const auto ev = c.link.welcome(w.incarnation, now);
  if (ev.ignored) return;  // refused already
  const bool restarted = ev.old_incarnation != 0 && ev.old_incarnation != ev.new_incarnation;
  if (ev.was_welcomed && restarted) drop_queued(c);  // (their calls fail below)
  const bool again = c.forgot_us && !restarted;
  c.forgot_us = false;
  c.reason.clear();
  if (w.max_message_size >= 1024) c.max_frame = static_cast<std::size_t>(w.max_message_size);
  {
    std::lock_guard lk(mu_);
    down_.erase(c.address);
  }
  auto backlog = std::move(c.backlog);
  c.backlog.clear();
  for (auto& o : backlog) enqueue(c, std::move(o));
  keep_written();
  if (restarted) tell({node_event::kind::restarted, c.address, w.incarnation, false, {}});
  if (!ev.was_welcomed) tell({node_event::kind::welcomed, c.address, w.incarnation, again, {}});
  // after the monitors heard of it (see pong)
  if (ev.was_welcomed && restarted) fail_address(c.address, error{errc::node_down, "node at " + c.address + " restarted"});
}

void bridge_io::forgotten(connection& c, const wire::hello_again& h, steady_time now) {
  const auto ev = c.link.forgotten(h.incarnation, now);
  if (ev.send == probe::none) return;  // refused already
  if (ev.restarted) {
    ACTOR_LOG(info, "bridge", "node_restarted", {"node", c.address}, {"incarnation", h.incarnation});
    drop_queued(c);  // failed below: they must not reach the new run
    send_probe(c, ev.send);
    tell({node_event::kind::restarted, c.address, h.incarnation, false, {}});  // monitors first (see pong)
    fail_address(c.address, error{errc::node_down, "node at " + c.address + " restarted"});
    return;
  }
  c.forgot_us = true;  // the WELCOME that follows says so (node_event::again)
  keep_written();  // (drain_queue did already; to be sure every request written has its bytes)
  // It forgot us (we were silent past its down bound: stopped, or starved): what it lists
  // was not delivered, so it may go again, once, after the new WELCOME.
  ACTOR_LOG(info, "bridge", "node_forgot_us", {"node", c.address}, {"requests", h.dropped.size()});
  std::vector<outgoing> again;
  std::vector<reply_fn> failed;
  {
    std::lock_guard lk(mu_);
    for (const auto& [id, correlation] : h.dropped) {
      auto it = pending_.find(correlation);
      if (it == pending_.end() || it->second.address != c.address) continue;  // answered, or not ours
      if (it->second.resent) {
        failed.push_back(std::move(it->second.done));
        pending_.erase(it);
        continue;
      }
      it->second.resent = true;
      again.push_back({c.address, it->second.bytes, correlation});
    }
  }
  for (auto& f : failed) {
    f(error{errc::node_down, "node at " + c.address + " did not know this client, twice: the request was not delivered"});
  }
  c.queued += again.size();
  c.backlog.insert(c.backlog.begin(), std::make_move_iterator(again.begin()), std::make_move_iterator(again.end()));
  send_probe(c, ev.send);
}

void bridge_io::on_batch(connection& c) {
  for (const auto& envelope : batches_.envelopes()) {
    const auto* v = &envelope;
    switch (v->k) {
      case wire::kind::reply:
        complete(v->correlation, raw_message{std::string(v->type), repack(*v->body)}, &c.address);
        break;
      case wire::kind::error:
        complete(v->correlation, read_error(*v->body), &c.address);
        break;
      case wire::kind::send: {
        inbox_fn fn;
        {
          std::lock_guard lk(mu_);
          if (auto it = inboxes_.find(v->receiver.id); it != inboxes_.end()) fn = it->second;
        }
        if (fn) fn(raw_message{std::string(v->type), repack(*v->body)}, v->correlation,
                   v->has_sender ? v->sender.to_ref() : wire_ref{});
        break;
      }
      case wire::kind::request:
        ACTOR_LOG(debug, "bridge", "request_dropped", {"node", c.address}, {"type", std::string(v->type)});
        break;
    }
  }
}

void bridge_io::went_down(connection& c, const std::string& why) {
  ACTOR_LOG(warn, "bridge", "node_down", {"node", c.address}, {"reason", why});
  c.reason = why;
  drop_queued(c);
  {
    std::lock_guard lk(mu_);
    down_[c.address] = why;
  }
  tell({node_event::kind::down, c.address, 0, false, why});  // monitors first (see pong)
  fail_address(c.address, error{errc::node_down, why});
}

void bridge_io::drop_queued(connection& c) {
  c.backlog.clear();
  c.stalled.clear();
  c.batch.clear();
  c.batch_count = 0;
  c.queued = 0;
}

void bridge_io::tick(steady_time now) {
  // If this thread did not run for a while (the process was stopped, or starved), the silence
  // is ours, not the nodes': they get a fresh grace period (else a monitor would see node_down)
  const auto tick_every = std::max(std::chrono::milliseconds(10), opts_.heartbeat / 5);  // as run() ticks
  const bool we_stalled =
      last_tick_ != steady_time{} && now - last_tick_ > std::max<steady_time::duration>(opts_.down_after / 2, 3 * tick_every);
  last_tick_ = now;
  if (we_stalled) {
    for (auto& [addr, c] : conns_) c->link.grace(now);
  }
  if (now - last_heartbeat_ >= opts_.heartbeat) {
    last_heartbeat_ = now;
    for (auto& [addr, c] : conns_) {
      if (c->socket) send_probe(*c, c->link.heartbeat().send);  // nothing when refused
    }
    std::function<void()> hook;
    {
      std::lock_guard lk(mu_);
      hook = on_heartbeat_;
    }
    if (hook) hook();
  }
  for (auto& [addr, c] : conns_) {
    const auto why = c->link.check_silence(now).went_down;
    if (why == down_reason::none) continue;
    went_down(*c, why == down_reason::silent ? "node at " + c->address + " was silent for " + ms_text(opts_.down_after)
                                             : "node at " + c->address + " did not answer the handshake within " +
                                                   ms_text(opts_.down_after));
  }
  forget_idle(now);
}

void bridge_io::forget_idle(steady_time now) {
  for (auto it = conns_.begin(); it != conns_.end();) {
    auto& c = *it->second;
    const bool gone = c.link.state() == peer_state::down || c.link.state() == peer_state::refused;
    if (gone && now - c.link.down_since() > forget_after * opts_.down_after && !has_pending(c.address)) {
      std::lock_guard lk(mu_);
      down_.erase(c.address);
      if (c.socket) --open_connections_;
      it = conns_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace actor::detail
