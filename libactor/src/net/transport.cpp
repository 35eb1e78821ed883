#include "net/transport.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "actor/log.hpp"
#include "core/poll_window.hpp"
#include "net/addresses.hpp"
#include "net/transport_peer.hpp"

namespace actor::detail {

using namespace transport_detail;

namespace {
constexpr std::size_t max_kept_batch_bytes = 1u << 20;  // a posted batch's capacity kept for the next
constexpr std::size_t max_spare_batches = 16;

// The width in bytes of the MessagePack unsigned integer that starts with byte b; 0: not one.
std::size_t uint_width(unsigned char b) noexcept {
  if (b < 0x80) return 1;
  switch (b) {
    case 0xcc: return 2;
    case 0xcd: return 3;
    case 0xce: return 5;
    case 0xcf: return 9;
    default: return 0;
  }
}

// Writes v over the unsigned integer of `width` bytes at p, in that same width (so nothing
// moves; MessagePack readers take any width). False, nothing written: v does not fit.
bool overwrite_uint(char* p, std::size_t width, std::uint64_t v) noexcept {
  if (width == 1) {
    if (v >= 0x80) return false;
    p[0] = static_cast<char>(v);
    return true;
  }
  const std::size_t n = width - 1;
  if (n < 8 && v >> (8 * n) != 0) return false;
  for (std::size_t i = 0; i < n; ++i) p[width - 1 - i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return true;
}
}  // namespace

std::string_view to_string(drop_reason r) noexcept {
  switch (r) {
    case drop_reason::malformed: return "malformed";
    case drop_reason::node_down: return "node_down";
    case drop_reason::overloaded: return "overloaded";
    case drop_reason::no_handshake: return "no_handshake";
    case drop_reason::client_gone: return "client_gone";
    case drop_reason::shutting_down: return "shutting_down";
    case drop_reason::expired: return "expired";
    case drop_reason::stray_reply: return "stray_reply";
    case drop_reason::wrong_sender: return "wrong_sender";
    case drop_reason::restarted: return "restarted";
    case drop_reason::count_: break;
  }
  return "unknown";
}

transport::transport(transport_options opts, deliver_fn deliver, std::function<void()> on_second,
                     std::function<void()> frame_done)
    : opts_(std::move(opts)),
      deliver_(std::move(deliver)),
      on_second_(std::move(on_second)),
      frame_done_(std::move(frame_done)),
      limits_(wire::limits(opts_.max_message_size)),
      ctx_(1),
      clients_(router_, counters_, opts_.down_after, max_batch_bytes) {
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
  conn_opts_.heartbeat_interval = opts_.heartbeat_interval;
  conn_opts_.suspect_after = opts_.suspect_after;
  conn_opts_.down_after = opts_.down_after;
  address_ = opts_.advertise.empty() ? bound_ : opts_.advertise;
  if (address_.find("0.0.0.0") != std::string::npos || address_.find("://*") != std::string::npos) {
    throw std::runtime_error("listening on a wildcard address (" + bound_ +
                             "): give the address peers should use with --advertise");
  }
  self_addresses_ = {canonical_address(address_), canonical_address(bound_)};
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
}

void transport::set_events(transport_events ev) {
  events_ = std::move(ev);
  clients_.on_forget = events_.client_gone;
}

void transport::start() {
  if (!io_.joinable()) io_ = std::thread([this] { run(); });
}

transport::~transport() {
  stop();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

peer_slot* transport::peer_for(const std::string& address) {
  auto canonical = canonical_address(address);
  std::lock_guard lk(mu_);
  auto& p = peers_[canonical];
  if (!p) {
    p = std::make_unique<peer>(conn_opts_);
    p->address = std::move(canonical);
  }
  return p.get();
}

bool transport::is_self(std::string_view address) const {
  if (address == address_ || address == bound_) return true;
  const auto port = port_of(address);
  if (port != port_of(address_) && port != port_of(bound_)) return false;  // most addresses: no allocation
  const auto c = canonical_address(address);
  if (std::find(self_addresses_.begin(), self_addresses_.end(), c) != self_addresses_.end()) return true;
  // bound to a wildcard (advertising another address): any loopback address on its port is this node
  return is_wildcard_host(host_of(bound_)) && is_loopback_host(host_of(c)) && port_of(c) == port_of(bound_);
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
    stalled = stalled || clients_.stalled();
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
      if (refresh_ttl(e, x, b.bytes.bytes.data() + e.offset)) {
        route(e, x, buffer.substr(e.offset, e.size), buffer, serial);
      } else {
        reject(e, nullptr, errc::timeout, {}, drop_reason::expired);  // its requester timed out already
      }
      ++i;
    }
    b.clear();
    if (b.bytes.bytes.capacity() > max_kept_batch_bytes) b.bytes.bytes = std::string();  // after a burst
  }
}

time_point transport::deadline_now() const {
  return opts_.deadline_clock != nullptr ? opts_.deadline_clock->now() : mono_now();
}

bool transport::refresh_ttl(const posted_envelope& e, const posted_extra* x, char* bytes) {
  if (e.k != wire::kind::request || x == nullptr || x->deadline == time_point{}) return true;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(x->deadline - deadline_now()).count();
  if (left <= 0) return false;
  // correlation and ttl_ms: at refs_end of a full envelope, after the fixarray and the kind of a repeat
  std::size_t at = 0;
  if (e.repeat_of != posted_envelope::no_repeat) {
    at = 2;
  } else if (e.layout.known()) {
    at = e.layout.refs_end;
  } else {
    return true;  // not laid out: sent as it was written
  }
  const auto* u = reinterpret_cast<const unsigned char*>(bytes);
  const std::size_t corr = uint_width(u[at]);
  if (corr == 0 || at + corr >= e.size) return true;
  const std::size_t ttl = uint_width(u[at + corr]);
  if (ttl == 0 || at + corr + ttl > e.size) return true;
  overwrite_uint(bytes + at + corr, ttl, static_cast<std::uint64_t>(left));  // less than written: it fits
  return true;
}

void transport::reject(const posted_envelope& e, posted_extra* x, errc code, const std::string& text,
                       drop_reason why) {
  counters_.dropped[static_cast<std::size_t>(why)].fetch_add(1, std::memory_order_relaxed);
  if (e.k == wire::kind::request && x != nullptr && x->requester) {
    deliver(x->requester, make_error(error{code, text}, {}, x->correlation));
  }
  if (e.watch && x != nullptr && events_.watch_dropped) {  // its down must still come
    static const std::string client;  // a Bridge client: x->client_id names it
    events_.watch_dropped(e.to != nullptr ? static_cast<peer*>(e.to)->address : client, *x,
                          text.empty() ? std::string(to_string(code)) : text);
  }
}

void transport::keep_owed(peer& p, const posted_envelope& e, posted_extra* x, std::string_view bytes,
                          std::string_view buffer) {
  if (p.owed.size() >= transport_detail::max_owed) {
    reject(e, x, errc::node_down, "peer " + p.address + " is down", drop_reason::node_down);
    return;
  }
  outbound& o = p.owed.emplace_back();
  o.e = e;
  o.e.repeat_of = posted_envelope::no_repeat;
  o.bytes = e.repeat_of != posted_envelope::no_repeat
                ? wire::expand_repeat({bytes, e.repeat_body, buffer.substr(e.repeat_of), e.layout}, o.e.layout)
                : std::string(bytes);
  if (x != nullptr) o.x = *x;
}

void transport::send_owed(peer& p) {
  auto owed = std::move(p.owed);
  p.owed.clear();
  ACTOR_LOG(info, "transport", "owed_sent", {"peer", p.address}, {"envelopes", owed.size()});
  for (auto& o : owed) {
    o.e.offset = 0;
    o.e.size = o.bytes.size();
    route(o.e, o.e.extra == posted_envelope::no_extra ? nullptr : &o.x, o.bytes, o.bytes, 0);
  }
}

void transport::route(const posted_envelope& e, posted_extra* x, std::string_view bytes, std::string_view buffer,
                      std::uint64_t serial) {
  if (e.to == nullptr) {  // a reply to a Bridge client
    static const std::string nobody;
    const std::string& id = x != nullptr ? x->client_id : nobody;  // (posting to a client names it)
    if (!clients_.add(id, bytes)) {
      reject(e, x, errc::node_down, "client '" + id + "' is not connected", drop_reason::client_gone);
    }
    return;
  }
  auto& p = *static_cast<peer*>(e.to);
  // never opened, or closed after being down for long: try afresh (a refused one waits for its retry)
  if (!p.dealer && p.conn.state() != peer_state::refused) open_dealer(p);
  switch (p.conn.state()) {
    case peer_state::refused:
      reject(e, x, errc::node_down, p.refusal.empty() ? "peer " + p.address + " refused our handshake" : p.refusal,
             drop_reason::node_down);
      return;
    case peer_state::down:
      if (e.owed) return keep_owed(p, e, x, bytes, buffer);
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
  if (request) p.inflight[{x->requester_id, x->correlation}] = {x->requester, x->deadline};
  ++p.queued;
  const bool repeat = e.repeat_of != posted_envelope::no_repeat;
  wire::repeat_view r;
  if (repeat) r = {bytes, e.repeat_body, buffer.substr(e.repeat_of), e.layout};
  if (!p.conn.welcomed()) {  // owned while it waits, and whole
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
    if (request) p.inflight.erase({x->requester_id, x->correlation});
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
  const bool as_they_are = count > 1 && p.dealer && p.conn.welcomed() && p.repeats && p.conn.state() != peer_state::down &&
                           p.conn.state() != peer_state::refused && p.batch_count > 0 && p.last_full.known() &&
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
  clients_.flush();
}

bool transport::send_raw(zmq::socket_t& s, const std::string& frame) {
  try {
    return s.send(zmq::buffer(frame), zmq::send_flags::dontwait).has_value();
  } catch (const zmq::error_t& e) {
    ACTOR_LOG(warn, "transport", "send_failed", {"error", e.what()});
    return false;
  }
}


}  // namespace actor::detail
