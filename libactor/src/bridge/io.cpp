#include "bridge/io.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>
#include <stdexcept>

#include "actor/log.hpp"
#include "core/poll_window.hpp"

namespace actor::detail {

namespace {

constexpr std::size_t max_batch_bytes = 64u << 10;
constexpr std::size_t batch_header = 6;  // array32 header and the BATCH tag
constexpr int socket_hwm = 1000;
constexpr int read_budget = 4096;   // frames read from one socket before polling again
constexpr int forget_after = 10;    // down_after periods an unused, down connection keeps its socket
constexpr int max_sockets = 4096;

steady_time mono_now() { return std::chrono::steady_clock::now(); }

std::uint64_t random_u64() {
  std::random_device rd;
  std::uint64_t v = 0;
  while (v == 0) v = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  return v;
}

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

std::uint64_t ttl_until(steady_time deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - mono_now()).count();
  return static_cast<std::uint64_t>(std::max<long long>(1, left));
}

}  // namespace

enum class conn_state : std::uint8_t { connecting, alive, down, refused };

struct bridge_io::connection {
  std::string address;
  std::unique_ptr<zmq::socket_t> socket;
  conn_state state = conn_state::connecting;
  bool welcomed = false;
  std::uint64_t incarnation = 0;      // from WELCOME
  std::size_t max_frame = 16u << 20;  // the largest frame the node accepts, from WELCOME
  steady_time last_heard{};
  steady_time down_since{};
  std::uint64_t seq = 0;
  std::string reason;  // why down or refused
  std::vector<outgoing> backlog;  // waiting for WELCOME
  std::string batch;              // the BATCH frame being filled
  std::size_t batch_count = 0;
  std::deque<std::pair<std::string, std::size_t>> stalled;  // frames zmq would not take yet, with envelope counts
  std::size_t queued = 0;  // envelopes in backlog, batch and stalled
};

bridge_io::bridge_io(bridge_io_options opts)
    : opts_(std::move(opts)), incarnation_(random_u64()), limits_(wire::limits(opts_.max_message_size)), ctx_(1) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(random_u64()));
  routing_id_ = opts_.name + "/" + hex;
  ctx_.set(zmq::ctxopt::max_sockets, max_sockets);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
  try {
    io_ = std::thread([this] { run(); });
  } catch (...) {
    ::close(wake_fd_);
    throw;
  }
}

bridge_io::~bridge_io() {
  shutdown();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

// ---- the calling threads' side ---------------------------------------------------------

std::uint64_t bridge_io::request(const wire_ref& to, std::uint64_t from, std::string_view type, std::string_view body,
                                 steady_time deadline, reply_fn done) {
  if (to.address.empty()) {
    done(error{errc::no_such_actor, "a Bridge client's ref (" + to.node + ") cannot be called"});
    return 0;
  }
  const auto sender = self(from);
  const std::uint64_t corr = next_correlation_.fetch_add(1, std::memory_order_relaxed);
  outgoing o{to.address, wire::encode_envelope(wire::kind::request, &sender, to, corr, ttl_until(deadline), type, body),
             corr};
  std::unique_lock lk(mu_);
  if (stopping_) {
    lk.unlock();
    done(error{errc::shutting_down, "the bridge is shutting down"});
    return 0;
  }
  if (queue_.size() >= opts_.queue_limit) {
    lk.unlock();
    done(error{errc::overloaded, "too many messages queued in the bridge"});
    return 0;
  }
  pending_.emplace(corr, pending_call{to.address, std::move(done)});
  deadlines_.emplace(deadline, corr);
  queue_.push_back(std::move(o));
  const bool wake = queue_.size() == 1;
  lk.unlock();
  if (wake) {
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
  }
  return corr;
}

bool bridge_io::cancel(std::uint64_t correlation) {
  std::lock_guard lk(mu_);
  return pending_.erase(correlation) > 0;
}

expected<void> bridge_io::send(const wire_ref& to, std::uint64_t from, std::string_view type, std::string_view body) {
  if (to.address.empty()) return error{errc::no_such_actor, "a Bridge client's ref (" + to.node + ") cannot be sent to"};
  const auto sender = self(from);
  auto bytes = wire::encode_envelope(wire::kind::send, from == 0 ? nullptr : &sender, to, 0, 0, type, body);
  std::unique_lock lk(mu_);
  if (stopping_) return error{errc::shutting_down, "the bridge is shutting down"};
  if (auto it = down_.find(to.address); it != down_.end()) return error{errc::node_down, it->second};
  if (queue_.size() >= opts_.queue_limit) return error{errc::overloaded, "too many messages queued in the bridge"};
  queue_.push_back({to.address, std::move(bytes), 0});
  const bool wake = queue_.size() == 1;
  lk.unlock();
  if (wake) {
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
  }
  return {};
}

void bridge_io::set_inbox(std::uint64_t id, inbox_fn fn) {
  std::lock_guard lk(mu_);
  if (fn) {
    inboxes_[id] = std::move(fn);
  } else {
    inboxes_.erase(id);
  }
}

void bridge_io::set_on_heartbeat(std::function<void()> fn) {
  std::lock_guard lk(mu_);
  on_heartbeat_ = std::move(fn);
}

void bridge_io::shutdown() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
  if (io_.joinable()) io_.join();
}

std::size_t bridge_io::pending() const {
  std::lock_guard lk(mu_);
  return pending_.size();
}

std::size_t bridge_io::connections() const {
  std::lock_guard lk(mu_);
  return open_connections_;
}

// ---- outcomes ------------------------------------------------------------------------------

void bridge_io::complete(std::uint64_t correlation, expected<raw_message> result) {
  reply_fn done;
  {
    std::lock_guard lk(mu_);
    auto it = pending_.find(correlation);
    if (it == pending_.end()) return;  // late: timed out, cancelled or failed already
    done = std::move(it->second.done);
    pending_.erase(it);
  }
  done(std::move(result));
}

void bridge_io::fail_address(const std::string& address, const error& e) {
  std::vector<reply_fn> failed;
  {
    std::lock_guard lk(mu_);
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->second.address == address) {
        failed.push_back(std::move(it->second.done));
        it = pending_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& f : failed) f(e);
}

void bridge_io::fail_all(const error& e) {
  std::unordered_map<std::uint64_t, pending_call> all;
  {
    std::lock_guard lk(mu_);
    all.swap(pending_);
  }
  for (auto& [corr, p] : all) p.done(e);
}

void bridge_io::expire(steady_time now) {
  std::vector<std::pair<std::string, reply_fn>> expired;
  {
    std::lock_guard lk(mu_);
    while (!deadlines_.empty() && deadlines_.top().first <= now) {
      auto it = pending_.find(deadlines_.top().second);
      deadlines_.pop();
      if (it == pending_.end()) continue;
      expired.emplace_back(std::move(it->second.address), std::move(it->second.done));
      pending_.erase(it);
    }
  }
  for (auto& [address, done] : expired) {
    done(error{errc::timeout, "no answer from " + address + " before the deadline"});
  }
}

steady_time bridge_io::next_deadline() const {
  std::lock_guard lk(mu_);
  return deadlines_.empty() ? steady_time::max() : deadlines_.top().first;
}

bool bridge_io::has_pending(const std::string& address) const {
  std::lock_guard lk(mu_);
  return std::any_of(pending_.begin(), pending_.end(), [&](const auto& p) { return p.second.address == address; });
}

// ---- the I/O thread ------------------------------------------------------------------------

void bridge_io::run() noexcept {
  const auto tick_every = std::max(std::chrono::milliseconds(10), opts_.heartbeat / 5);
  auto next_tick = mono_now();
  std::vector<zmq_pollitem_t> items;
  std::vector<connection*> polled;
  // returns whether anything came (a socket or the wake-up)
  auto poll_once = [&](std::chrono::milliseconds limit) {
    items.clear();
    polled.clear();
    items.push_back({nullptr, wake_fd_, ZMQ_POLLIN, 0});
    bool stalled = false;
    for (auto& [addr, c] : conns_) {
      if (!c->socket) continue;
      items.push_back({c->socket->handle(), 0, ZMQ_POLLIN, 0});
      polled.push_back(c.get());
      stalled = stalled || !c->stalled.empty();
    }
    if (stalled) limit = std::min(limit, std::chrono::milliseconds(1));
    try {
      zmq::poll(items.data(), items.size(), std::max(limit, std::chrono::milliseconds(0)));
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) ACTOR_LOG(error, "bridge", "poll_failed", {"error", e.what()});
      return false;
    }
    if (items[0].revents != 0) {
      std::uint64_t v;
      [[maybe_unused]] auto n = ::read(wake_fd_, &v, sizeof v);
    }
    drain_queue();
    for (std::size_t i = 0; i < polled.size(); ++i) {
      if (items[i + 1].revents != 0) read(*polled[i]);
    }
    flush();
    return std::any_of(items.begin(), items.end(), [](const zmq_pollitem_t& i) { return i.revents != 0; });
  };
  // after traffic, poll without blocking for a while: a reply is likely within microseconds
  traffic_window busy_poll(opts_.busy_poll);

  for (;;) {
    {
      std::lock_guard lk(mu_);
      if (stopping_) break;
    }
    const auto now = mono_now();
    const auto wake_at = std::min(next_tick, next_deadline());
    const bool busy = busy_poll.polling();
    const auto limit = busy ? std::chrono::milliseconds(0)
                            : std::chrono::ceil<std::chrono::milliseconds>(std::max(wake_at - now, steady_time::duration{}));
    try {
      busy_poll.after_poll(poll_once(limit), busy);
      const auto after = mono_now();
      expire(after);
      if (after >= next_tick) {
        tick(after);
        next_tick = after + tick_every;
      }
    } catch (const std::exception& ex) {
      ACTOR_LOG(error, "bridge", "io_error", {"error", ex.what()});
    }
  }

  // Stopping: callers get shutting_down now; what is queued (sends) may still go
  // out within the linger bound, waiting for handshakes under way.
  fail_all(error{errc::shutting_down, "the bridge is shutting down"});
  const auto until = mono_now() + opts_.linger;
  try {
    drain_queue();
    flush();
    auto unsent = [&] {
      return std::any_of(conns_.begin(), conns_.end(), [](const auto& kv) {
        const auto& c = *kv.second;
        return !c.stalled.empty() || (!c.backlog.empty() && c.state == conn_state::connecting);
      });
    };
    while (unsent() && mono_now() < until) {
      poll_once(std::chrono::ceil<std::chrono::milliseconds>(until - mono_now()));
    }
  } catch (const std::exception& ex) {
    ACTOR_LOG(warn, "bridge", "io_error", {"error", ex.what()});
  }
  fail_all(error{errc::shutting_down, "the bridge is shutting down"});
  {
    std::lock_guard lk(mu_);
    queue_.clear();
    open_connections_ = 0;
  }
  conns_.clear();  // closes the sockets; their linger bounds the context's termination
}

void bridge_io::drain_queue() {
  {
    std::lock_guard lk(mu_);
    draining_.swap(queue_);
  }
  for (auto& o : draining_) route(o);
  draining_.clear();
}

bridge_io::connection& bridge_io::connection_for(const std::string& address) {
  auto& slot = conns_[address];
  if (!slot) {
    slot = std::make_unique<connection>();
    slot->address = address;
    open_socket(*slot);
  }
  return *slot;
}

void bridge_io::open_socket(connection& c) {
  c.last_heard = mono_now();
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
    c.state = conn_state::refused;
    c.reason = "cannot connect to '" + c.address + "': " + e.what();
    c.down_since = c.last_heard;
    std::lock_guard lk(mu_);
    down_[c.address] = c.reason;
    return;
  }
  {
    std::lock_guard lk(mu_);
    ++open_connections_;
  }
  say_hello(c);
}

void bridge_io::say_hello(connection& c) {
  send_raw(c, wire::encode(wire::hello{wire::protocol_version, "client", opts_.name, "", incarnation_}));
}

void bridge_io::route(outgoing& o) {
  auto& c = connection_for(o.address);
  auto reject = [&](errc code, const std::string& text) {
    if (o.correlation != 0) complete(o.correlation, error{code, text});
  };
  if (c.state == conn_state::down || c.state == conn_state::refused) {
    return reject(errc::node_down, c.reason);
  }
  if (c.queued >= opts_.queue_limit) return reject(errc::overloaded, "too many messages queued for " + c.address);
  ++c.queued;
  if (!c.welcomed) {
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
    heard_from(c, mono_now());
    return on_batch(c);
  }
  auto f = wire::decode_frame(data, size, limits_);
  if (!f) {
    ACTOR_LOG(debug, "bridge", "malformed_input", {"node", c.address}, {"reason", f.error().text});
    return;
  }
  heard_from(c, mono_now());
  switch (f->tag) {
    case wire::frame_tag::welcome: {
      if (auto w = wire::read_welcome(*f)) welcomed(c, *w);
      return;
    }
    case wire::frame_tag::refuse: {
      auto r = wire::read_refuse(*f);
      const std::string reason = r ? r->reason : std::string("(unreadable reason)");
      ACTOR_LOG(error, "bridge", "handshake_refused_by_peer", {"node", c.address}, {"reason", reason});
      mark_down(c, "node at " + c.address + " refused the handshake: " + reason);
      c.state = conn_state::refused;
      return;
    }
    case wire::frame_tag::ping: {
      if (auto p = wire::read_probe(*f)) send_raw(c, wire::encode_probe(wire::frame_tag::pong, {p->seq, incarnation_}));
      return;
    }
    case wire::frame_tag::pong: {
      auto p = wire::read_probe(*f);
      if (p && c.welcomed && p->incarnation != c.incarnation) {
        // the node restarted: what was in flight to the old run is lost; introduce ourselves again
        ACTOR_LOG(info, "bridge", "node_restarted", {"node", c.address}, {"incarnation", p->incarnation});
        fail_address(c.address, error{errc::node_down, "node at " + c.address + " restarted"});
        drop_queued(c);  // failed above: they must not reach the new run
        c.welcomed = false;
        c.state = conn_state::connecting;
        say_hello(c);
      }
      return;
    }
    default:
      return;  // HELLO: a node never sends one to a client; BATCH was handled above
  }
}

void bridge_io::heard_from(connection& c, steady_time now) { c.last_heard = now; }

void bridge_io::welcomed(connection& c, const wire::welcome& w) {
  if (c.welcomed && w.incarnation != c.incarnation) {
    fail_address(c.address, error{errc::node_down, "node at " + c.address + " restarted"});
    drop_queued(c);
  }
  if (c.state == conn_state::refused) return;
  c.welcomed = true;
  c.incarnation = w.incarnation;
  c.state = conn_state::alive;
  c.reason.clear();
  if (w.max_message_size >= 1024) c.max_frame = static_cast<std::size_t>(w.max_message_size);
  {
    std::lock_guard lk(mu_);
    down_.erase(c.address);
  }
  auto backlog = std::move(c.backlog);
  c.backlog.clear();
  for (auto& o : backlog) enqueue(c, std::move(o));
}

void bridge_io::on_batch(connection& c) {
  for (const auto& envelope : batches_.envelopes()) {
    const auto* v = &envelope;
    switch (v->k) {
      case wire::kind::reply:
        complete(v->correlation, raw_message{std::string(v->type), repack(*v->body)});
        break;
      case wire::kind::error:
        complete(v->correlation, read_error(*v->body));
        break;
      case wire::kind::send: {
        inbox_fn fn;
        {
          std::lock_guard lk(mu_);
          if (auto it = inboxes_.find(v->receiver.id); it != inboxes_.end()) fn = it->second;
        }
        if (fn) fn(raw_message{std::string(v->type), repack(*v->body)});
        break;
      }
      case wire::kind::request:
        ACTOR_LOG(debug, "bridge", "request_dropped", {"node", c.address}, {"type", std::string(v->type)});
        break;
    }
  }
}

void bridge_io::mark_down(connection& c, const std::string& why) {
  ACTOR_LOG(warn, "bridge", "node_down", {"node", c.address}, {"reason", why});
  c.state = conn_state::down;
  c.welcomed = false;
  c.reason = why;
  c.down_since = mono_now();
  drop_queued(c);
  {
    std::lock_guard lk(mu_);
    down_[c.address] = why;
  }
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
  if (now - last_heartbeat_ >= opts_.heartbeat) {
    last_heartbeat_ = now;
    for (auto& [addr, c] : conns_) {
      if (!c->socket || c->state == conn_state::refused) continue;
      if (c->welcomed) {
        send_raw(*c, wire::encode_probe(wire::frame_tag::ping, {++c->seq, incarnation_}));
      } else {
        say_hello(*c);
      }
    }
    std::function<void()> hook;
    {
      std::lock_guard lk(mu_);
      hook = on_heartbeat_;
    }
    if (hook) hook();
  }
  for (auto& [addr, c] : conns_) {
    if (c->state != conn_state::connecting && c->state != conn_state::alive) continue;
    if (now - c->last_heard > opts_.down_after) {
      mark_down(*c, c->welcomed ? "node at " + c->address + " was silent for " + ms_text(opts_.down_after)
                                : "node at " + c->address + " did not answer the handshake within " +
                                      ms_text(opts_.down_after));
    }
  }
  forget_idle(now);
}

void bridge_io::forget_idle(steady_time now) {
  for (auto it = conns_.begin(); it != conns_.end();) {
    auto& c = *it->second;
    const bool gone = c.state == conn_state::down || c.state == conn_state::refused;
    if (gone && now - c.down_since > forget_after * opts_.down_after && !has_pending(c.address)) {
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
