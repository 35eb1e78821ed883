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
#include "bridge/io_connection.hpp"
#include "core/poll_window.hpp"

namespace actor::detail {

namespace {

constexpr int max_sockets = 4096;

std::uint64_t random_u64() {
  std::random_device rd;
  std::uint64_t v = 0;
  while (v == 0) v = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  return v;
}

std::uint64_t ttl_until(steady_time deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - mono_now()).count();
  return static_cast<std::uint64_t>(std::max<long long>(1, left));
}

}  // namespace

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
  // what can be built before the lock is: callers and the I/O thread share mu_
  const bool direct = opts_.gateways.empty();  // else the route depends on which gateways are down
  outgoing o{direct ? to.address : std::string(),
             wire::encode_envelope(wire::kind::request, &sender, to, corr, ttl_until(deadline), type, body), corr};
  pending_call call{o.address, std::move(done), {}, false};
  std::unique_lock lk(mu_);
  if (!direct) call.address = o.address = route_of(to.address);
  if (stopping_) {
    lk.unlock();
    call.done(error{errc::shutting_down, "the bridge is shutting down"});
    return 0;
  }
  if (queue_.size() >= opts_.queue_limit) {
    lk.unlock();
    call.done(error{errc::overloaded, "too many messages queued in the bridge"});
    return 0;
  }
  pending_.emplace(corr, std::move(call));
  deadlines_.emplace_back(deadline, corr);
  std::push_heap(deadlines_.begin(), deadlines_.end(), std::greater<>{});
  compact_deadlines();
  queue_.push_back(std::move(o));
  const bool wake = queue_.size() == 1;
  lk.unlock();
  if (wake) {
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
  }
  return corr;
}

const std::string& bridge_io::route_of(const std::string& address) const {
  if (opts_.gateways.empty()) return address;
  for (const auto& g : opts_.gateways) {
    if (down_.find(g) == down_.end()) return g;
  }
  return opts_.gateways.front();  // all down: the first (its calls fail with node_down at once)
}

bool bridge_io::cancel(std::uint64_t correlation) {
  std::lock_guard lk(mu_);
  return pending_.erase(correlation) > 0;
}

expected<void> bridge_io::send(const wire_ref& to, std::uint64_t from, std::string_view type, std::string_view body,
                               std::uint64_t correlation) {
  if (to.address.empty()) return error{errc::no_such_actor, "a Bridge client's ref (" + to.node + ") cannot be sent to"};
  const auto sender = self(from);
  auto bytes = wire::encode_envelope(wire::kind::send, from == 0 ? nullptr : &sender, to, correlation, 0, type, body);
  std::unique_lock lk(mu_);
  if (stopping_) return error{errc::shutting_down, "the bridge is shutting down"};
  const std::string& route = route_of(to.address);
  if (auto it = down_.find(route); it != down_.end()) return error{errc::node_down, it->second};
  if (queue_.size() >= opts_.queue_limit) return error{errc::overloaded, "too many messages queued in the bridge"};
  queue_.push_back({route, std::move(bytes), 0});
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

void bridge_io::set_on_node_event(node_event_fn fn) {
  std::lock_guard lk(mu_);
  on_node_event_ = std::move(fn);
}

void bridge_io::tell(node_event ev) {
  node_event_fn fn;
  {
    std::lock_guard lk(mu_);
    fn = on_node_event_;
  }
  if (fn) fn(ev);
}

std::string bridge_io::route_for(const std::string& address) const {
  std::lock_guard lk(mu_);
  return route_of(address);
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

std::size_t bridge_io::deadline_entries() const {
  std::lock_guard lk(mu_);
  return deadlines_.size();
}

void bridge_io::compact_deadlines() {
  // amortised O(1) per request: a rebuild after at least as many completions as entries kept
  if (deadlines_.size() < 1024 || deadlines_.size() < 2 * pending_.size()) return;
  std::erase_if(deadlines_, [&](const deadline_entry& d) { return !pending_.contains(d.second); });
  std::make_heap(deadlines_.begin(), deadlines_.end(), std::greater<>{});
}

void bridge_io::complete(std::uint64_t correlation, expected<raw_message> result, const std::string* on) {
  reply_fn done;
  {
    std::lock_guard lk(mu_);
    auto it = pending_.find(correlation);
    if (it == pending_.end()) return;  // late: timed out, cancelled or failed already
    if (on != nullptr && it->second.address != *on) {  // an answer from another node than the one asked
      stray_replies_.fetch_add(1, std::memory_order_relaxed);
      ACTOR_LOG(debug, "bridge", "stray_reply", {"from", *on}, {"correlation", correlation});
      return;
    }
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
    while (!deadlines_.empty() && deadlines_.front().first <= now) {
      auto it = pending_.find(deadlines_.front().second);
      std::pop_heap(deadlines_.begin(), deadlines_.end(), std::greater<>{});
      deadlines_.pop_back();
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
  return deadlines_.empty() ? steady_time::max() : deadlines_.front().first;
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
        return !c.stalled.empty() || (!c.backlog.empty() && c.link.state() == peer_state::connecting);
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
  keep_written();
}

void bridge_io::keep_written() {
  if (written_.empty()) return;
  {
    std::lock_guard lk(mu_);
    for (auto& [correlation, bytes] : written_) {
      if (auto it = pending_.find(correlation); it != pending_.end()) it->second.bytes = std::move(bytes);
    }
  }
  written_.clear();
}

}  // namespace actor::detail
