#include "actor/system.hpp"

#include <algorithm>
#include <chrono>

#include "core/dedicated_executor.hpp"
#include "core/system_state.hpp"

namespace actor {

namespace detail {

system_state::system_state(system_options o) : opts(std::move(o)) {
  clock = opts.clock ? opts.clock : make_steady_clock();
  pool = std::make_unique<scheduler>(opts.workers, opts.throughput == 0 ? 1 : opts.throughput, opts.busy_poll);
}

void live_list::add(system_state& s, actor_cell* a) noexcept {
  a->add_ref();
  std::lock_guard lk(s.live_mu);
  a->live_prev_ = nullptr;
  a->live_next_ = s.live_head;
  if (s.live_head != nullptr) s.live_head->live_prev_ = a;
  s.live_head = a;
  ++s.live_count;
}

void live_list::remove(system_state& s, actor_cell* a) noexcept {
  {
    std::lock_guard lk(s.live_mu);
    if (a->live_prev_ != nullptr) {
      a->live_prev_->live_next_ = a->live_next_;
    } else {
      s.live_head = a->live_next_;
    }
    if (a->live_next_ != nullptr) a->live_next_->live_prev_ = a->live_prev_;
    a->live_prev_ = a->live_next_ = nullptr;
    if (--s.live_count == 0) s.live_cv.notify_all();
  }
  a->release();
}

std::vector<actor_ref> live_list::snapshot(system_state& s) {
  std::vector<actor_ref> out;
  std::lock_guard lk(s.live_mu);
  out.reserve(s.live_count);
  for (auto* a = s.live_head; a != nullptr; a = a->live_next_) out.emplace_back(a);
  return out;
}

namespace {

// A one-shot endpoint that hands the first outcome it sees to its receiver, and
// then cancels its deadline timer (which holds a ref to it).
class reply_waiter final : public endpoint {
 public:
  reply_waiter(std::uint64_t id, clock& clk, reply_receiver r) : endpoint(id), clock_(clk), receiver_(std::move(r)) {}
  void enqueue(envelope* e) noexcept override {
    std::unique_ptr<envelope> owned(e);
    if (done_.exchange(true)) return;
    receiver_.complete(receiver_.target.get(), *e);
    cancel_timer();
  }
  void arm(clock::timer_id t) noexcept {
    timer_.store(t);
    if (done_.load()) cancel_timer();
  }

 private:
  void cancel_timer() noexcept {
    if (auto t = timer_.exchange(0)) clock_.cancel(t);
  }
  clock& clock_;
  reply_receiver receiver_;
  std::atomic<bool> done_{false};
  std::atomic<clock::timer_id> timer_{0};
};

}  // namespace

void request_from_outside(actor_system& sys, const actor_ref& to, envelope* e, duration timeout, reply_receiver r) {
  auto& clk = sys.clock();
  auto* w = new reply_waiter(system_access::state(sys).next_id.fetch_add(1, std::memory_order_relaxed), clk,
                             std::move(r));
  actor_ref reply_to{w};
  if (!to) {
    delete e;
    w->enqueue(make_error(error{errc::no_such_actor, "empty actor ref"}, {}, 0));
    return;
  }
  auto deadline = clk.now() + timeout;
  w->arm(clk.schedule_at(deadline, [reply_to] {
    reply_to.endpoint()->enqueue(make_error(error{errc::timeout, "no reply before the deadline"}, {}, 0));
  }));
  e->sender = std::move(reply_to);
  e->deadline = deadline;
  to.endpoint()->enqueue(e);
}

}  // namespace detail

actor_system::actor_system(system_options opts) : state_(std::make_unique<detail::system_state>(std::move(opts))) {}

actor_system::~actor_system() {
  shutdown();
  {
    std::unique_lock lk(state_->threads_mu);
    state_->threads_cv.wait(lk, [this] { return state_->threads_running == 0; });
  }
  state_->pool.reset();  // joins the workers
}

bool actor_system::shutdown(std::chrono::milliseconds limit) {
  // stop every actor (on_stop runs), including any spawned while we stop others
  state_->shutting_down.store(true);
  const auto until = std::chrono::steady_clock::now() + std::min(limit, std::chrono::milliseconds(1000LL * 3600 * 24 * 365));
  for (;;) {
    auto running = detail::live_list::snapshot(*state_);
    if (running.empty()) return true;
    for (auto& r : running) send(r, stop_msg{});
    running.clear();
    std::unique_lock lk(state_->live_mu);
    auto step = std::min(std::chrono::steady_clock::now() + std::chrono::milliseconds(200), until);
    if (state_->live_cv.wait_until(lk, step, [this] { return state_->live_count == 0; })) return true;
    if (std::chrono::steady_clock::now() >= until) return false;
  }
}

bool actor_system::shutting_down() const noexcept { return state_->shutting_down.load(); }

void actor_system::set_stop_observer(std::function<void(std::uint64_t)> fn) {
  std::lock_guard lk(state_->observer_mu);
  state_->stop_observer = std::move(fn);
}

namespace detail {
actor_ref launch_actor(actor_system& sys, actor_base* a) { return system_access::launch(sys, a); }
}  // namespace detail

actor_ref actor_system::launch(actor_base* actor, bool detached) {
  auto* a = &actor->cell_;
  a->set_id(next_id());
  a->system_ = this;
  if (a->own_thread_) detached = true;  // a receiver that may block its thread
  a->executor_ = detached ? static_cast<detail::executor*>(detail::dedicated_executor::start(*state_, a))
                          : static_cast<detail::executor*>(state_->pool.get());
  detail::live_list::add(*state_, a);
  state_->spawned.fetch_add(1, std::memory_order_relaxed);
  actor_ref ref{a};
  a->add_ref();  // the executor's reference while it runs a
  a->executor_->schedule(a);
  return ref;
}

void actor_system::add_actor_type(std::string name, std::function<actor_base*(const config&)> factory) {
  std::lock_guard lk(state_->types_mu);
  state_->types[std::move(name)] = std::move(factory);
}

expected<actor_ref> actor_system::spawn(std::string_view type_name, const config& cfg, bool detached) {
  std::function<actor_base*(const config&)> factory;
  {
    std::lock_guard lk(state_->types_mu);
    auto it = state_->types.find(type_name);
    if (it == state_->types.end()) {
      return error{errc::unknown_type, "no actor type named '" + std::string(type_name) + "'"};
    }
    factory = it->second;
  }
  actor_base* a = nullptr;
  try {
    a = factory(cfg);
  } catch (const std::exception& ex) {
    return error{errc::bad_message, "cannot configure '" + std::string(type_name) + "': " + ex.what()};
  }
  return launch(a, detached);
}

std::vector<std::string> actor_system::actor_types() const {
  std::lock_guard lk(state_->types_mu);
  std::vector<std::string> out;
  for (const auto& [name, f] : state_->types) out.push_back(name);
  return out;
}

clock& actor_system::clock() const noexcept { return *state_->clock; }

std::uint64_t actor_system::next_id() noexcept { return state_->next_id.fetch_add(1, std::memory_order_relaxed); }

system_stats actor_system::stats() const {
  system_stats s;
  {
    std::lock_guard lk(state_->live_mu);
    s.actors_alive = state_->live_count;
  }
  s.actors_spawned = state_->spawned.load();
  s.actors_crashed = state_->crashed.load();
  s.dead_letters = state_->dead_letters.load();
  s.late_replies = state_->late_replies.load();
  s.monitors = static_cast<std::size_t>(std::max<std::int64_t>(0, state_->monitors.load()));
  s.links = static_cast<std::size_t>(std::max<std::int64_t>(0, state_->links.load()));
  s.observers = static_cast<std::size_t>(std::max<std::int64_t>(0, state_->observers.load()));
  s.notifications_sent = state_->notifications_sent.load();
  s.notifications_dropped = state_->notifications_dropped.load();
  s.notifications_lost = state_->notifications_lost.load();
  s.notifications_unhandled = state_->notifications_unhandled.load();
  s.notifications_stale = state_->notifications_stale.load();
  s.groups_followed = state_->groups.followed();
  s.group_publishes_dropped = state_->groups.dropped();
  return s;
}

void actor_system::await_all_actors_done() {
  std::unique_lock lk(state_->live_mu);
  state_->live_cv.wait(lk, [this] { return state_->live_count == 0; });
}

bool actor_system::await_all_actors_done_for(std::chrono::milliseconds limit) {
  std::unique_lock lk(state_->live_mu);
  return state_->live_cv.wait_for(lk, limit, [this] { return state_->live_count == 0; });
}

}  // namespace actor
