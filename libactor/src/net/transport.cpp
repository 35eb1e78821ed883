#include "net/transport.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "actor/log.hpp"
#include "core/poll_window.hpp"

namespace actor::detail {

namespace {
// A batch frame is sent once it grows past max_batch_bytes; zmq holds at most
// socket_hwm frames per connection (~4 MB), so data queued ahead of a frame
// never delays it long. Beyond that, our own per-peer queue fills and senders
// see `overloaded`.
constexpr std::size_t max_batch_bytes = 64u << 10;
constexpr int socket_hwm = 64;
constexpr std::size_t max_client_backlog_bytes = 4u << 20;  // replies held for one slow client
constexpr std::size_t max_kept_batch_bytes = 1u << 20;  // a posted batch's capacity kept for the next
constexpr std::size_t max_spare_batches = 16;
constexpr int read_budget = 4096;
constexpr int forget_after = 10;  // down_after periods a down peer keeps its socket
constexpr int max_sockets = 4096;  // per node (zmq's default is 1023); each is a file descriptor too                    // messages read from one socket before polling again

std::chrono::steady_clock::time_point mono_now() { return std::chrono::steady_clock::now(); }

struct inflight_key {
  std::uint64_t requester;
  std::uint64_t correlation;
  bool operator==(const inflight_key&) const = default;
};
struct inflight_hash {
  std::size_t operator()(const inflight_key& k) const noexcept {
    return std::hash<std::uint64_t>{}(k.requester * 0x9e3779b97f4a7c15ULL ^ k.correlation);
  }
};
}  // namespace

std::string_view to_string(peer_state s) noexcept {
  switch (s) {
    case peer_state::connecting: return "connecting";
    case peer_state::alive: return "alive";
    case peer_state::suspect: return "suspect";
    case peer_state::down: return "down";
    case peer_state::refused: return "refused";
  }
  return "unknown";
}

std::string_view to_string(drop_reason r) noexcept {
  switch (r) {
    case drop_reason::malformed: return "malformed";
    case drop_reason::node_down: return "node_down";
    case drop_reason::overloaded: return "overloaded";
    case drop_reason::no_handshake: return "no_handshake";
    case drop_reason::client_gone: return "client_gone";
    case drop_reason::shutting_down: return "shutting_down";
    case drop_reason::count_: break;
  }
  return "unknown";
}

struct transport::peer : peer_slot {
  // the snapshot others read, written by the I/O thread under transport::mu_
  std::string name;
  std::uint64_t incarnation = 0;
  peer_state state = peer_state::connecting;

  // I/O thread only
  std::unique_ptr<zmq::socket_t> dealer;
  bool welcomed = false;
  time_point opened{};
  time_point last_heard{};
  time_point last_probe{};
  std::uint64_t seq = 0;
  std::size_t max_frame = 16u << 20;  // the largest frame the peer accepts, from its WELCOME
  time_point down_since{};
  std::string batch;  // the BATCH frame being filled
  std::size_t batch_count = 0;
  wire::written_envelope last_full;  // the batch's last full envelope, which repeats refer to
  // a full envelope of the drained buffer with last_full's sender, receiver and type (its offset
  // there, and the drain): repeats of it need no comparing
  struct {
    std::uint64_t serial = 0;
    std::size_t offset = posted_envelope::no_repeat;
  } last_full_like;
  bool repeats = false;              // the peer's WELCOME listed feature_repeat
  std::deque<std::pair<std::string, std::size_t>> stalled;  // frames zmq would not take yet, with envelope counts
  std::vector<outbound> backlog;                             // waiting for WELCOME
  std::size_t queued = 0;                                    // envelopes in batch + stalled + backlog
  struct inflight_entry {
    actor_ref requester;
    time_point deadline;
  };
  std::unordered_map<inflight_key, inflight_entry, inflight_hash> inflight;
};

struct transport::client {
  std::string name;
  time_point last_heard{};
  time_point unreachable_since{};  // the ROUTER last said its connection is gone; {}: reachable
  // reply batches the ROUTER could not take yet (the client reads slower than we answer):
  // sent in order as its queue drains, up to max_client_backlog_bytes
  std::deque<std::pair<std::string, std::size_t>> stalled;  // frame, envelopes in it
  std::size_t stalled_bytes = 0;
};

transport::transport(transport_options opts, deliver_fn deliver, std::function<void()> on_second,
                     std::function<void()> frame_done)
    : opts_(std::move(opts)),
      deliver_(std::move(deliver)),
      on_second_(std::move(on_second)),
      frame_done_(std::move(frame_done)),
      limits_(wire::limits(opts_.max_message_size)),
      ctx_(1) {
  ctx_.set(zmq::ctxopt::max_sockets, max_sockets);  // before the first socket
  router_ = zmq::socket_t(ctx_, zmq::socket_type::router);
  char inc[17];
  std::snprintf(inc, sizeof inc, "%016llx", static_cast<unsigned long long>(opts_.incarnation));
  routing_id_ = opts_.node_name + "/" + inc;
  try {
    router_.set(zmq::sockopt::router_mandatory, 1);
    router_.set(zmq::sockopt::router_handover, 1);
    router_.set(zmq::sockopt::linger, opts_.linger_ms);
    router_.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(opts_.max_message_size));
    router_.set(zmq::sockopt::rcvhwm, socket_hwm);
    router_.set(zmq::sockopt::sndhwm, socket_hwm);
    router_.set(zmq::sockopt::heartbeat_ivl, static_cast<int>(opts_.heartbeat_interval.count()));
    router_.set(zmq::sockopt::heartbeat_timeout, static_cast<int>(opts_.down_after.count()));
    router_.bind(opts_.listen);
    bound_ = router_.get(zmq::sockopt::last_endpoint);
  } catch (const zmq::error_t& e) {
    throw std::runtime_error("cannot listen on '" + opts_.listen + "': " + e.what());
  }
  address_ = opts_.advertise.empty() ? bound_ : opts_.advertise;
  if (address_.find("0.0.0.0") != std::string::npos || address_.find("://*") != std::string::npos) {
    throw std::runtime_error("listening on a wildcard address (" + bound_ +
                             "): give the address peers should use with --advertise");
  }
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
}

void transport::start() {
  if (!io_.joinable()) io_ = std::thread([this] { run(); });
}

transport::~transport() {
  stop();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

peer_slot* transport::peer_for(const std::string& address) {
  std::lock_guard lk(mu_);
  auto& p = peers_[address];
  if (!p) {
    p = std::make_unique<peer>();
    p->address = address;
  }
  return p.get();
}

void posted_batch::add(posted_envelope e, std::size_t offset, posted_extra* x) {
  e.offset = offset;
  e.size = bytes.bytes.size() - offset;
  if (x != nullptr) {
    e.extra = static_cast<std::uint32_t>(extras.size());
    extras.push_back(std::move(*x));
  } else {
    e.extra = posted_envelope::no_extra;
  }
  envelopes.push_back(e);
}

void posted_batch::clear() noexcept {
  envelopes.clear();
  extras.clear();
  bytes.bytes.clear();
}

template <class Push>
bool transport::enqueue(Push&& push) {
  bool wake = false;
  {
    std::lock_guard lk(mu_);
    if (stopped_) return false;
    push();
    if (!wake_pending_) wake = wake_pending_ = true;
  }
  if (wake) {
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
  }
  return true;
}

void transport::post(posted_envelope e, std::string_view bytes, posted_extra* x) {
  const bool accepted = enqueue([&] {
    if (queue_.empty()) {
      queue_.emplace_back();
      if (!spares_.empty()) {
        queue_.back() = std::move(spares_.back());
        spares_.pop_back();
      }
    }
    auto& b = queue_.back();  // after what was posted before, in the same batch
    const std::size_t offset = b.bytes.bytes.size();
    b.bytes.bytes.append(bytes);
    b.add(e, offset, x);
  });
  if (!accepted) reject(e, x, errc::shutting_down, "the node is shutting down", drop_reason::shutting_down);
}

void transport::post_all(posted_batch& batch) {
  if (batch.empty()) return;
  const bool accepted = enqueue([&] {
    auto& b = queue_.emplace_back();
    if (!spares_.empty()) {
      b = std::move(spares_.back());
      spares_.pop_back();
    }
    std::swap(b, batch);  // the caller keeps the spare's capacity
  });
  if (accepted) return;
  for (auto& e : batch.envelopes) {
    posted_extra* x = batch.extra_of(e);
    reject(e, x, errc::shutting_down, "the node is shutting down", drop_reason::shutting_down);
  }
  batch.clear();
}

std::vector<peer_snapshot> transport::peers() const {
  std::lock_guard lk(mu_);
  std::vector<peer_snapshot> out;
  for (const auto& [addr, p] : peers_) out.push_back({addr, p->name, p->incarnation, p->state});
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.address < b.address; });
  return out;
}

void transport::stop() {
  if (stopping_.exchange(true)) return;
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
  if (io_.joinable()) io_.join();
}

// ---- the I/O thread --------------------------------------------------------------------

void transport::run() noexcept {
  std::vector<zmq_pollitem_t> items;
  std::vector<peer*> polled;
  const auto tick_every = std::max(std::chrono::milliseconds(10), opts_.heartbeat_interval / 5);
  auto next_tick = mono_now();
  // After traffic, poll without blocking for a while: more (a reply, the next
  // request) is likely within microseconds, sooner than a wake-up would take.
  traffic_window busy_poll(opts_.busy_poll);
  while (!stopping_.load()) {
    items.clear();
    polled.clear();
    items.push_back({nullptr, wake_fd_, ZMQ_POLLIN, 0});
    items.push_back({router_.handle(), 0, ZMQ_POLLIN, 0});
    bool stalled = false;
    {
      std::lock_guard lk(mu_);
      for (auto& [addr, p] : peers_) {
        if (!p->dealer) continue;
        items.push_back({p->dealer->handle(), 0, ZMQ_POLLIN, 0});
        polled.push_back(p.get());
        stalled = stalled || !p->stalled.empty();
      }
    }
    stalled = stalled || !stalled_clients_.empty();
    auto now = mono_now();
    const bool busy = busy_poll.polling();
    long timeout = busy ? 0 : stalled ? 1 : std::max<long>(0, std::chrono::duration_cast<std::chrono::milliseconds>(next_tick - now).count());
    try {
      zmq::poll(items.data(), items.size(), std::chrono::milliseconds(timeout));
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) ACTOR_LOG(error, "transport", "poll_failed", {"error", e.what()});
      continue;
    }
    busy_poll.after_poll(
        std::any_of(items.begin(), items.end(), [](const zmq_pollitem_t& i) { return i.revents != 0; }), busy);
    if (items[0].revents != 0) {
      std::uint64_t v;
      [[maybe_unused]] auto n = ::read(wake_fd_, &v, sizeof v);
    }
    try {
      drain_outbound();
      if (items[1].revents != 0) read_router();
      for (std::size_t i = 0; i < polled.size(); ++i) {
        if (items[i + 2].revents != 0) read_dealer(*polled[i]);
      }
      flush_batches();
      now = mono_now();
      if (now >= next_tick) {
        tick(now);
        next_tick = now + tick_every;
      }
    } catch (const std::exception& ex) {
      ACTOR_LOG(error, "transport", "io_error", {"error", ex.what()});
    }
  }

  // shutting down: send what is queued, fail what can no longer be answered, close
  try {
    drain_outbound();
    flush_batches();
  } catch (const std::exception&) {
  }
  {
    std::lock_guard lk(mu_);
    stopped_ = true;
  }
  std::vector<posted_batch> left;
  {
    std::lock_guard lk(mu_);
    left.swap(queue_);
  }
  for (auto& b : left) {
    for (auto& e : b.envelopes) {
      posted_extra* x = b.extra_of(e);
      reject(e, x, errc::shutting_down, "the node is shutting down", drop_reason::shutting_down);
    }
  }
  std::vector<peer*> all;
  {
    std::lock_guard lk(mu_);
    for (auto& [addr, p] : peers_) all.push_back(p.get());
  }
  for (auto* p : all) {
    fail_inflight(*p, errc::shutting_down, "the node is shutting down");
    p->backlog.clear();
    if (p->dealer) p->dealer->close();  // linger bounds what is still unsent
  }
  router_.close();
}

void transport::drain_outbound() {
  {
    std::lock_guard lk(mu_);
    for (auto& b : draining_) {  // routed last time, and emptied
      if (spares_.size() < max_spare_batches) spares_.push_back(std::move(b));
    }
    draining_.clear();
    draining_.swap(queue_);
    wake_pending_ = false;
  }
  for (auto& b : draining_) {
    const std::string_view buffer(b.bytes.bytes);
    const auto serial = ++batch_serial_;
    const std::size_t n = b.envelopes.size();
    for (std::size_t i = 0; i < n;) {
      auto& e = b.envelopes[i];
      if (e.repeat_of != posted_envelope::no_repeat && e.extra == posted_envelope::no_extra && e.to != nullptr) {
        // repeats of one envelope to one peer, one after another in the buffer: a run, routed at once
        std::size_t j = i + 1;
        while (j < n && b.envelopes[j].repeat_of == e.repeat_of && b.envelopes[j].to == e.to &&
               b.envelopes[j].extra == posted_envelope::no_extra &&
               b.envelopes[j].offset == b.envelopes[j - 1].offset + b.envelopes[j - 1].size) {
          ++j;
        }
        i += route_repeats(&e, j - i, buffer, serial);
        continue;
      }
      posted_extra* x = b.extra_of(e);
      route(e, x, buffer.substr(e.offset, e.size), buffer, serial);
      ++i;
    }
    b.clear();
    if (b.bytes.bytes.capacity() > max_kept_batch_bytes) b.bytes.bytes = std::string();  // after a burst
  }
}

void transport::reject(const posted_envelope& e, posted_extra* x, errc code, const std::string& text,
                       drop_reason why) {
  counters_.dropped[static_cast<std::size_t>(why)].fetch_add(1, std::memory_order_relaxed);
  if (e.k == wire::kind::request && x != nullptr && x->requester) {
    deliver(x->requester, make_error(error{code, text}, {}, x->correlation));
  }
}

void transport::route(const posted_envelope& e, posted_extra* x, std::string_view bytes, std::string_view buffer,
                      std::uint64_t serial) {
  if (e.to == nullptr) {  // a reply to a Bridge client
    static const std::string nobody;
    const std::string& id = x != nullptr ? x->client_id : nobody;  // (posting to a client names it)
    if (clients_.find(id) == clients_.end()) {
      reject(e, x, errc::node_down, "client '" + id + "' is not connected", drop_reason::client_gone);
      return;
    }
    auto& b = client_batches_[id];
    auto& count = client_batch_counts_[id];
    if (count > 0 && b.size() + bytes.size() > max_batch_bytes) {  // batches stay small, as for peers
      wire::set_batch_count(b, count);
      queue_for_client(id, std::move(b), count);
      b = std::string();
      count = 0;
    }
    if (count == 0) wire::begin_batch(b, 0);
    b += bytes;
    ++count;
    return;
  }
  auto& p = *static_cast<peer*>(e.to);
  if (!p.dealer) open_dealer(p);  // never opened, or closed after being down for long: try afresh
  switch (p.state) {
    case peer_state::refused:
      reject(e, x, errc::node_down, "peer " + p.address + " refused our handshake", drop_reason::node_down);
      return;
    case peer_state::down:
      reject(e, x, errc::node_down, "peer " + p.address + " is down", drop_reason::node_down);
      return;
    default:
      break;
  }
  if (p.queued >= opts_.peer_queue_limit) {
    reject(e, x, errc::overloaded, "too many messages queued for " + p.address, drop_reason::overloaded);
    return;
  }
  const bool request = e.k == wire::kind::request && x != nullptr && x->requester;
  if (request) p.inflight[{x->requester.id(), x->correlation}] = {x->requester, x->deadline};
  ++p.queued;
  const bool repeat = e.repeat_of != posted_envelope::no_repeat;
  wire::repeat_view r;
  if (repeat) r = {bytes, e.repeat_body, buffer.substr(e.repeat_of), e.layout};
  if (!p.welcomed) {  // owned while it waits, and whole
    outbound& o = p.backlog.emplace_back();
    o.e = e;
    o.e.repeat_of = posted_envelope::no_repeat;
    o.bytes = repeat ? wire::expand_repeat(r, o.e.layout) : std::string(bytes);
    if (x != nullptr) o.x = std::move(*x);
    return;
  }
  const std::size_t size = repeat ? r.full_size() : bytes.size();  // at most
  constexpr std::size_t header = 6;  // array32 header and the BATCH tag
  if (size + header > p.max_frame) {
    --p.queued;
    if (request) p.inflight.erase({x->requester.id(), x->correlation});
    reject(e, x, errc::bad_message,
           "a " + std::to_string(size) + "-byte message exceeds the " + std::to_string(p.max_frame) +
               "-byte limit of " + p.address,
           drop_reason::malformed);
    return;
  }
  const std::size_t limit = std::min(max_batch_bytes, p.max_frame);
  if (p.batch_count > 0 && p.batch.size() + size > limit) send_batch(p);
  if (p.batch_count == 0) {
    p.batch.clear();
    wire::begin_batch(p.batch, 0);
    p.last_full = {};
    p.last_full_like = {};
  }
  if (repeat) {
    const bool like_head = serial != 0 && p.last_full_like.serial == serial && p.last_full_like.offset == e.repeat_of;
    p.last_full = wire::append_repeat(p.batch, r, p.last_full, like_head, p.repeats);
    p.last_full_like = {serial, e.repeat_of};
  } else {
    p.last_full = wire::append_envelope(p.batch, bytes, e.layout, p.last_full, p.repeats);
    p.last_full_like = {serial, e.offset};
  }
  ++p.batch_count;
  if (p.batch.size() >= limit) send_batch(p);
}

std::size_t transport::route_repeats(const posted_envelope* run, std::size_t count, std::string_view buffer,
                                     std::uint64_t serial) {
  auto& p = *static_cast<peer*>(run->to);
  // as route() would write them: as they are, after their head, which is the batch's last full envelope
  const bool as_they_are = count > 1 && p.dealer && p.welcomed && p.repeats && p.state != peer_state::down &&
                           p.state != peer_state::refused && p.batch_count > 0 && p.last_full.known() &&
                           p.last_full_like.serial == serial && p.last_full_like.offset == run->repeat_of &&
                           p.queued + count <= opts_.peer_queue_limit;
  if (!as_they_are) {
    route(*run, nullptr, buffer.substr(run->offset, run->size), buffer, serial);
    return 1;
  }
  const std::size_t limit = std::min(max_batch_bytes, p.max_frame);
  std::size_t fit = 0;
  std::size_t bytes = 0;
  while (fit < count && p.batch.size() + bytes + run[fit].size <= limit) bytes += run[fit++].size;
  if (fit == 0) {  // the batch is full: route() sends it and starts the next with this one in full
    route(*run, nullptr, buffer.substr(run->offset, run->size), buffer, serial);
    return 1;
  }
  p.batch.append(buffer.substr(run->offset, bytes));
  p.batch_count += fit;
  p.queued += fit;
  if (p.batch.size() >= limit) send_batch(p);
  return fit;
}

void transport::send_batch(peer& p) {
  if (p.batch_count == 0) return;
  wire::set_batch_count(p.batch, p.batch_count);
  if (p.stalled.empty() && send_raw(*p.dealer, p.batch)) {
    counters_.frames_out.fetch_add(1, std::memory_order_relaxed);
    counters_.envelopes_out.fetch_add(p.batch_count, std::memory_order_relaxed);
    p.queued -= p.batch_count;
    p.batch.clear();  // keeps its capacity for the next batch
  } else {
    p.stalled.emplace_back(std::move(p.batch), p.batch_count);
    p.batch = std::string();
  }
  p.batch_count = 0;
}

void transport::flush_batches() {
  std::vector<peer*> active;
  {
    std::lock_guard lk(mu_);
    for (auto& [addr, p] : peers_) {
      if (p->dealer) active.push_back(p.get());
    }
  }
  for (auto* p : active) {
    while (!p->stalled.empty() && send_raw(*p->dealer, p->stalled.front().first)) {
      counters_.frames_out.fetch_add(1, std::memory_order_relaxed);
      counters_.envelopes_out.fetch_add(p->stalled.front().second, std::memory_order_relaxed);
      p->queued -= p->stalled.front().second;
      p->stalled.pop_front();
    }
    send_batch(*p);
  }
  for (auto& [id, b] : client_batches_) {
    auto count = client_batch_counts_[id];
    if (count == 0) continue;
    wire::set_batch_count(b, count);
    queue_for_client(id, std::move(b), count);
  }
  client_batches_.clear();
  client_batch_counts_.clear();
  flush_clients();
}

void transport::queue_for_client(const std::string& id, std::string&& frame, std::size_t count) {
  auto it = clients_.find(id);
  if (it == clients_.end()) {
    counters_.dropped[static_cast<std::size_t>(drop_reason::client_gone)].fetch_add(count, std::memory_order_relaxed);
    return;
  }
  auto& c = it->second;
  if (!c.stalled.empty() && c.stalled_bytes + frame.size() > max_client_backlog_bytes) {
    counters_.dropped[static_cast<std::size_t>(drop_reason::overloaded)].fetch_add(count, std::memory_order_relaxed);
    ACTOR_LOG(debug, "transport", "client_backlog_full", {"client", id}, {"envelopes", count});
    return;
  }
  c.stalled_bytes += frame.size();
  c.stalled.emplace_back(std::move(frame), count);
  stalled_clients_.insert(id);
}

void transport::flush_clients() {
  for (auto it = stalled_clients_.begin(); it != stalled_clients_.end();) {
    auto cit = clients_.find(*it);
    while (cit != clients_.end() && !cit->second.stalled.empty()) {
      auto& [frame, count] = cit->second.stalled.front();
      const auto sent = send_to_client(*it, frame);
      if (sent == client_send::full) break;  // the client reads slowly: again on the next turn
      counters_.envelopes_out.fetch_add(sent == client_send::sent ? count : 0, std::memory_order_relaxed);
      if (sent == client_send::gone) {  // its connection is gone: what it was owed is lost
        cit = clients_.find(*it);  // a client long unreachable was forgotten (and counted) meanwhile
        if (cit != clients_.end()) drop_stalled(cit->second);
        break;
      }
      cit->second.stalled_bytes -= frame.size();
      cit->second.stalled.pop_front();
    }
    if (cit == clients_.end() || cit->second.stalled.empty()) {
      it = stalled_clients_.erase(it);
    } else {
      ++it;
    }
  }
}

bool transport::send_raw(zmq::socket_t& s, const std::string& frame) {
  try {
    return s.send(zmq::buffer(frame), zmq::send_flags::dontwait).has_value();
  } catch (const zmq::error_t& e) {
    ACTOR_LOG(warn, "transport", "send_failed", {"error", e.what()});
    return false;
  }
}

transport::client_send transport::send_to_client(const std::string& id, const std::string& frame) {
  try {
    // ROUTER takes a message whole or not at all: EAGAIN comes on the first part, with a full queue
    if (!router_.send(zmq::buffer(id), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) return client_send::full;
    if (!router_.send(zmq::buffer(frame), zmq::send_flags::dontwait)) return client_send::full;
    counters_.frames_out.fetch_add(1, std::memory_order_relaxed);
    return client_send::sent;
  } catch (const zmq::error_t& e) {  // EHOSTUNREACH: the client is gone
    if (e.num() == EHOSTUNREACH) client_unreachable(id, mono_now());
    return client_send::gone;
  }
}

void transport::client_unreachable(const std::string& id, time_point now) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  auto& since = it->second.unreachable_since;
  if (since == time_point{}) since = now;
  if (now - since > opts_.down_after) forget_client(id);  // not just a connection being redialled
}

void transport::drop_stalled(client& c) {
  std::size_t lost = 0;
  for (const auto& f : c.stalled) lost += f.second;
  counters_.dropped[static_cast<std::size_t>(drop_reason::client_gone)].fetch_add(lost, std::memory_order_relaxed);
  c.stalled.clear();
  c.stalled_bytes = 0;
}

void transport::forget_client(const std::string& id) {
  if (auto it = clients_.find(id); it != clients_.end()) drop_stalled(it->second);
  if (clients_.erase(id) > 0) {
    counters_.clients.store(clients_.size(), std::memory_order_relaxed);
    ACTOR_LOG(debug, "transport", "client_gone", {"client", id});
  }
}

void transport::probe_clients(time_point now, const std::string& beacon) {
  // Only a send tells whether a client's connection still exists: ROUTER_MANDATORY
  // fails with EHOSTUNREACH while it is gone. Clients that keep talking need no probe;
  // one whose connection stays gone for down_after (not just redialling) is forgotten.
  std::vector<std::string> unreachable;
  for (auto& [id, c] : clients_) {
    if (now - c.last_heard <= opts_.down_after) continue;
    try {
      if (router_.send(zmq::buffer(id), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
        [[maybe_unused]] auto sent = router_.send(zmq::buffer(beacon), zmq::send_flags::dontwait);
      }  // else: its queue is full (EAGAIN): still connected
      c.unreachable_since = {};
    } catch (const zmq::error_t& e) {
      if (e.num() != EHOSTUNREACH) throw;
      unreachable.push_back(id);
    }
  }
  for (const auto& id : unreachable) client_unreachable(id, now);
}

void transport::open_dealer(peer& p) {
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
    if (p.opened == time_point{} || p.state == peer_state::down) {
      std::lock_guard lk(mu_);
      p.state = peer_state::connecting;
      p.opened = p.last_heard = mono_now();
    }
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
    std::lock_guard lk(mu_);
    p.state = peer_state::refused;
    return;
  }
  {
    std::lock_guard lk(mu_);
    p.dealer = std::move(s);
    p.state = peer_state::connecting;
  }
  p.welcomed = false;
  p.opened = p.last_heard = p.last_probe = mono_now();
  send_raw(*p.dealer, wire::encode(wire::hello{wire::protocol_version, "node", opts_.node_name, address_,
                                               opts_.incarnation}));
  ACTOR_LOG(debug, "transport", "peer_connecting", {"peer", p.address});
}

std::size_t transport::reclaim_sockets() {
  std::size_t closed = 0;
  std::lock_guard lk(mu_);
  for (auto& [addr, p] : peers_) {
    if (p->dealer && p->state == peer_state::down) {
      p->dealer.reset();
      p->welcomed = false;
      ++closed;
    }
  }
  ACTOR_LOG(warn, "transport", "sockets_reclaimed", {"closed", closed});
  return closed;
}

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
  if (auto it = clients_.find(id); it != clients_.end()) {
    it->second.last_heard = mono_now();
    it->second.unreachable_since = {};
  }
}

void transport::on_router_batch(const std::string& id) {
  if (auto it = node_routes_.find(id); it != node_routes_.end()) {
    peer* p = nullptr;
    {
      std::lock_guard lk(mu_);
      if (auto pit = peers_.find(it->second); pit != peers_.end() && pit->second->dealer) p = pit->second.get();
    }
    on_batch(origin{it->second, {}}, p);
  } else if (clients_.find(id) != clients_.end()) {
    on_batch(origin{{}, id}, nullptr);
  } else {
    const auto n = batches_.envelopes().size() + batches_.bad_elements();
    counters_.dropped[static_cast<std::size_t>(drop_reason::no_handshake)].fetch_add(n);
    ACTOR_LOG(warn, "transport", "no_handshake", {"from", id}, {"envelopes", n});
  }
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
        send_to_client(id, wire::encode(wire::refuse{wire::protocol_version, refusal}));
        return;
      }
      if (h->role == "node") {
        node_routes_[id] = h->address;
      } else {
        auto& c = clients_[id];  // a client saying HELLO again keeps the replies it is owed
        c.name = h->node;
        c.last_heard = mono_now();
        c.unreachable_since = {};
        counters_.clients.store(clients_.size(), std::memory_order_relaxed);
      }
      send_to_client(id, wire::encode(wire::welcome{wire::protocol_version, opts_.node_name, address_,
                                                    opts_.incarnation, opts_.max_message_size,
                                                    wire::feature_repeat}));
      return;
    }
    case wire::frame_tag::ping: {
      auto pr = wire::read_probe(*f);
      if (!pr) return malformed(id, pr.error().text);
      send_to_client(id, wire::encode_probe(wire::frame_tag::pong, {pr->seq, opts_.incarnation}));
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
      const bool restarted = p.incarnation != 0 && p.incarnation != w->incarnation;
      {
        std::lock_guard lk(mu_);
        p.name = w->node;
        p.incarnation = w->incarnation;
      }
      if (!p.welcomed) {
        ACTOR_LOG(info, "transport", restarted ? "peer_restarted" : "peer_connected", {"peer", p.address},
                  {"name", w->node}, {"incarnation", w->incarnation});
      }
      if (w->max_message_size >= 1024) p.max_frame = static_cast<std::size_t>(w->max_message_size);
      p.repeats = (w->features & wire::feature_repeat) != 0;
      p.welcomed = true;
      heard_from(p, now);
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
      {
        std::lock_guard lk(mu_);
        p.state = peer_state::refused;
      }
      fail_inflight(p, errc::node_down, "peer " + p.address + " refused the handshake: " + r->reason);
      p.backlog.clear();
      p.queued = 0;
      return;
    }
    case wire::frame_tag::pong: {
      auto pr = wire::read_probe(*f);
      if (!pr) return malformed(p.address, pr.error().text);
      if (p.welcomed && pr->incarnation != p.incarnation) {
        // the peer restarted: what was in flight to the old incarnation is lost; introduce ourselves again
        ACTOR_LOG(info, "transport", "peer_restarted", {"peer", p.address}, {"incarnation", pr->incarnation});
        fail_inflight(p, errc::node_down, "peer " + p.address + " restarted");
        p.welcomed = false;
        send_raw(*p.dealer, wire::encode(wire::hello{wire::protocol_version, "node", opts_.node_name, address_,
                                                     opts_.incarnation}));
        p.last_probe = now;
      }
      heard_from(p, now);
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

void transport::heard_from(peer& p, time_point now) {
  p.last_heard = now;
  if (p.welcomed && p.state != peer_state::alive) {
    const auto before = p.state;
    {
      std::lock_guard lk(mu_);
      p.state = peer_state::alive;
    }
    if (before == peer_state::down || before == peer_state::suspect) {
      ACTOR_LOG(info, "transport", "peer_up", {"peer", p.address}, {"was", std::string(to_string(before))});
    }
  }
}

void transport::mark_down(peer& p, const std::string& why) {
  {
    std::lock_guard lk(mu_);
    p.state = peer_state::down;
  }
  p.down_since = mono_now();
  ACTOR_LOG(warn, "transport", "peer_down", {"peer", p.address}, {"reason", why});
  fail_inflight(p, errc::node_down, "peer " + p.address + " is down: " + why);
  counters_.dropped[static_cast<std::size_t>(drop_reason::node_down)].fetch_add(p.queued, std::memory_order_relaxed);
  p.backlog.clear();
  p.stalled.clear();
  p.batch.clear();
  p.batch_count = 0;
  p.queued = 0;
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
    probe_clients(now, beacon);
  }
  // If this thread itself did not run for a while (the process was stopped, or
  // starved), the silence we saw is ours, not our peers': give them a fresh grace period.
  const bool we_stalled = last_tick_ != time_point{} && now - last_tick_ > opts_.down_after / 2;
  last_tick_ = now;
  std::vector<peer*> active;
  {
    std::lock_guard lk(mu_);
    for (auto& [addr, p] : peers_) {
      if (p->dealer || !p->backlog.empty()) active.push_back(p.get());
    }
  }
  for (auto* p : active) {
    if (we_stalled) p->last_heard = std::max(p->last_heard, now);
    if (!p->dealer) {  // messages are waiting for a socket
      if (now - p->opened > opts_.down_after) {
        mark_down(*p, "no socket available for " + std::to_string(opts_.down_after.count()) + " ms");
      } else {
        open_dealer(*p);
      }
      continue;
    }
    if (p->state == peer_state::down && now - p->down_since > forget_after * opts_.down_after) {
      // down for long: close its socket (sockets are a bounded resource); a new
      // message to it opens a fresh one
      ACTOR_LOG(info, "transport", "peer_forgotten", {"peer", p->address});
      std::lock_guard lk(mu_);
      p->dealer.reset();
      p->welcomed = false;
      continue;
    }
    if (p->state == peer_state::refused) continue;
    if (now - p->last_probe >= opts_.heartbeat_interval) {
      p->last_probe = now;
      if (p->welcomed) {
        send_raw(*p->dealer, wire::encode_probe(wire::frame_tag::ping, {++p->seq, opts_.incarnation}));
      } else {
        send_raw(*p->dealer, wire::encode(wire::hello{wire::protocol_version, "node", opts_.node_name, address_,
                                                      opts_.incarnation}));
      }
    }
    const auto silence = now - p->last_heard;
    if (p->state == peer_state::alive && silence > opts_.suspect_after) {
      std::lock_guard lk(mu_);
      p->state = peer_state::suspect;
    }
    if (p->state != peer_state::down && silence > opts_.down_after) {
      mark_down(*p, p->welcomed ? "silent for " + std::to_string(opts_.down_after.count()) + " ms"
                                : "no handshake within " + std::to_string(opts_.down_after.count()) + " ms");
    }
    // forget requests whose requester has had its timeout already
    for (auto it = p->inflight.begin(); it != p->inflight.end();) {
      if (it->second.deadline != time_point{} && it->second.deadline + std::chrono::seconds(1) < now) {
        it = p->inflight.erase(it);
      } else {
        ++it;
      }
    }
  }
}

}  // namespace actor::detail
