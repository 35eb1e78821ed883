#include "bridge/observations.hpp"

#include <algorithm>

#include "actor/log.hpp"
#include "bridge/refs.hpp"

namespace actor::detail {

namespace {

using reason = ::actor::down_reason;
using steady = std::chrono::steady_clock;

constexpr std::string_view empty_body{"\x80", 1};  // {}
constexpr std::chrono::milliseconds first_retry{10};
constexpr std::chrono::milliseconds last_retry{1000};

template <registered_message T>
std::string body_of(const T& msg) {
  return bridge::pack(type_of<T>(), &msg).value().body;  // observe messages hold no refs: they always encode
}

// The error an observation ends with when its actor is gone for `r`.
error gone_error(const reason& r) {
  const bool node = r.what == reason::kind::node_down || r.what == reason::kind::node_restarted;
  return error{node ? errc::node_down : errc::actor_stopped, "the observed actor is gone: " + r.describe()};
}

// Takes the callback out for a call on this thread (calling set), or null.
template <class F>
F take_for_call(observation_state& st, F& fn) {
  if (!fn || st.calling != std::thread::id{}) return nullptr;
  st.calling = std::this_thread::get_id();
  return fn;
}

void done_calling(observation_state& st) {
  {
    std::lock_guard lk(st.mu);
    st.calling = {};
  }
  st.cv.notify_all();
}

}  // namespace

// ---- the table ------------------------------------------------------------------------------

bool bridge_observations::subscribe(const std::shared_ptr<observation_state>& st, const wire_ref& target) {
  std::weak_ptr<observation_state> weak = st;
  auto who = make_bridge_ref(target);
  auto m = monitors_.add(target, who);
  if (!m) return false;
  auto mon = *m;
  {
    std::unique_lock lk(st->mu);
    if (st->closed) {  // cancelled meanwhile: the monitor goes again
      lk.unlock();
      (void)monitors_.cancel(*mon);
      mon->close(error{errc::shutting_down, "the observation ended"});
      return false;
    }
    st->target = target;
    st->who = who;
    st->answered = false;  // until the answer: notifications are an earlier subscription's
    st->next_seq = 1;
    st->unacked = 0;
    st->last_taken = 0;
    st->gone.reset();
    st->monitor = mon;
  }
  {
    // its down ends (or, for a name, suspends) the observation
    std::unique_lock lk(mon->mu);
    if (!mon->reason && !mon->closed) {
      mon->callback = [this, weak, monw = std::weak_ptr<monitor_state>(mon)](const reason& r) {
        auto s = weak.lock();
        if (auto mm = monw.lock(); s && mm) on_down(s, mm, r);
      };
    } else if (mon->reason) {
      auto r = *mon->reason;
      lk.unlock();
      on_down(st, mon, r);
      return true;
    }
  }
  (void)io_.send(target, st->id, "actor.observe", body_of(observe_request{st->types, st->queue}), st->id);
  return true;
}

expected<void> bridge_observations::start(const std::shared_ptr<observation_state>& st, const wire_ref& target,
                                          steady_time deadline) {
  std::weak_ptr<observation_state> weak = st;
  io_.set_inbox(st->id, [this, weak](raw_message m, std::uint64_t correlation, const wire_ref& sender) {
    if (auto s = weak.lock()) on_message(s, m, correlation, sender);
  });
  {
    std::lock_guard lk(mu_);
    live_[st->id] = st;
  }
  std::optional<error> failed;
  if (!subscribe(st, target)) {
    std::lock_guard lk(st->mu);
    failed = st->closed ? *st->closed : error{errc::overloaded, "the observe request could not be queued"};
  }
  std::unique_lock lk(st->mu);
  if (!failed) {
    const bool settled = st->cv.wait_until(lk, deadline, [&] { return st->answered || st->closed || st->gone; });
    if (st->closed) {
      failed = *st->closed;
    } else if (st->gone) {
      failed = gone_error(*st->gone);
    } else if (!settled) {
      failed = error{errc::timeout, "the observed actor did not answer in time"};
    } else {
      st->started = true;
    }
  }
  lk.unlock();
  if (failed) {
    (void)end(*st, *failed);
    return *failed;
  }
  return {};
}

bool bridge_observations::resubscribe(const std::shared_ptr<observation_state>& st, const wire_ref& target) {
  return subscribe(st, target);
}

void bridge_observations::on_message(const std::shared_ptr<observation_state>& st, const raw_message& m,
                                     std::uint64_t seq, const wire_ref& sender) {
  if (m.type == "actor.monitor" || m.type == "actor.demonitor") return;  // the observed actor's watch of us
  std::vector<observed> events;
  std::function<void(const observed&)> fn;
  {
    std::lock_guard lk(st->mu);
    // only the actor observed now speaks for this observation (an earlier holder of a name may
    // still be heard from, after a partition healed)
    if (st->closed || st->gone || sender.address != st->target.address ||
        sender.incarnation != st->target.incarnation || sender.id != st->target.id) {
      return;
    }
    if (m.type == "actor.observe.reply") {
      observe_reply reply;
      if (seq != st->id || st->answered ||
          !bridge::unpack(m, m.type, [&](const msgpack::object& o) { o.convert(reply); })) {
        return;
      }
      st->answered = true;
      st->outputs = reply.outputs;
      if (!reply.error.empty()) st->closed = error{errc::bad_message, reply.error};
      st->cv.notify_all();
      return;
    }
    // before the answer: an earlier subscription's (the answer comes first on the connection)
    if (!st->answered || seq == 0 || seq < st->next_seq) return;
    if (seq > st->next_seq) {
      observed lost;
      lost.what = observed::kind::lost;
      lost.from = st->who;
      lost.count = seq - st->next_seq;
      st->lost += lost.count;
      events.push_back(std::move(lost));
    }
    st->next_seq = seq + 1;
    observed note;
    note.msg = m;
    note.from = st->who;
    note.seq = seq;
    events.push_back(std::move(note));
    fn = take_for_call(*st, st->callback);
    if (!fn) {
      for (auto& e : events) st->events.push_back(std::move(e));
    }
  }
  if (!fn) {
    st->cv.notify_all();
    return;
  }
  deliver(*st, fn, std::move(events));
}

void bridge_observations::deliver(observation_state& st, const std::function<void(const observed&)>& fn,
                                  std::vector<observed> events) {
  std::uint64_t notes = 0;
  std::uint64_t last = 0;
  for (const auto& e : events) {
    if (e.what == observed::kind::notification) {
      ++notes;
      last = e.seq;
    }
    try {
      fn(e);
    } catch (const std::exception& ex) {
      ACTOR_LOG(warn, "bridge", "observe_callback_threw", {"observation", st.id}, {"error", ex.what()});
    } catch (...) {
      ACTOR_LOG(warn, "bridge", "observe_callback_threw", {"observation", st.id});
    }
  }
  done_calling(st);
  handled(st, notes, last);
}

void bridge_observations::handled(observation_state& st, std::uint64_t n, std::uint64_t seq) {
  if (n == 0) return;
  wire_ref to;
  std::uint64_t upto = 0;
  {
    std::lock_guard lk(st.mu);
    st.last_taken = std::max(st.last_taken, seq);
    st.unacked += n;
    if (st.closed || st.gone || st.unacked < observe_ack_every(st.queue)) return;
    st.unacked = 0;
    upto = st.last_taken;
    to = st.target;
  }
  // every notification up to `upto` taken (or lost): the observed actor frees their slots
  if (!io_.send(to, st.id, "actor.observe.ack", body_of(observe_ack{upto}), st.id)) {
    std::lock_guard lk(st.mu);
    st.unacked = std::max<std::uint64_t>(st.unacked, observe_ack_every(st.queue) - 1);  // the next one tries again
  }
}

void bridge_observations::on_node_event(const node_event& ev) {
  if (ev.what != node_event::kind::welcomed || !ev.again) return;
  // the node forgot us (its watch of us fired: the observed actors dropped us): observe again
  std::vector<std::shared_ptr<observation_state>> all;
  {
    std::lock_guard lk(mu_);
    for (auto& [id, w] : live_) {
      if (auto s = w.lock()) all.push_back(std::move(s));
    }
  }
  for (auto& st : all) {
    wire_ref to;
    {
      std::lock_guard lk(st->mu);
      if (st->closed || st->gone || !st->monitor || st->monitor->route != ev.address) continue;
      st->answered = false;
      st->next_seq = 1;
      st->unacked = 0;
      st->last_taken = 0;
      to = st->target;
    }
    (void)io_.send(to, st->id, "actor.observe", body_of(observe_request{st->types, st->queue}), st->id);
  }
}

void bridge_observations::on_down(const std::shared_ptr<observation_state>& st, const std::shared_ptr<monitor_state>& m,
                                  const reason& r) {
  std::function<void(const error&)> fn;
  {
    std::lock_guard lk(st->mu);
    if (st->monitor != m || st->closed) return;  // an earlier subscription's monitor, or over
    st->gone = r;
    st->monitor = nullptr;
    if (st->callback && st->started) {
      // a callback observation ends here (names are followed by next() only)
      st->closed = gone_error(r);
      fn = take_for_call(*st, st->on_end);
    }
  }
  st->cv.notify_all();
  if (fn) {
    try {
      fn(gone_error(r));
    } catch (...) {
      ACTOR_LOG(warn, "bridge", "observe_callback_threw", {"observation", st->id});
    }
    done_calling(*st);
  }
}

bool bridge_observations::end(observation_state& st, error why) {
  std::shared_ptr<monitor_state> m;
  wire_ref to;
  bool was_running = false;
  {
    std::lock_guard lk(st.mu);
    was_running = !st.closed && !st.gone;
    if (!st.closed) st.closed = std::move(why);
    m = std::exchange(st.monitor, nullptr);
    to = st.target;
    st.callback = nullptr;
    st.on_end = nullptr;
    st.events.clear();  // over: next() says why from now on
  }
  st.cv.notify_all();
  io_.set_inbox(st.id, nullptr);
  {
    std::lock_guard lk(mu_);
    live_.erase(st.id);
  }
  if (m) {
    (void)monitors_.cancel(*m);
    m->close(error{errc::shutting_down, "the observation ended"});
  }
  if (was_running) (void)io_.send(to, st.id, "actor.unobserve", empty_body, st.id);
  // a callback under way on the I/O thread ends first (unless this is it)
  std::unique_lock lk(st.mu);
  const auto me = std::this_thread::get_id();
  st.cv.wait(lk, [&] { return st.calling == std::thread::id{} || st.calling == me; });
  return was_running;
}

void bridge_observations::shutdown() {
  std::vector<std::shared_ptr<observation_state>> all;
  {
    std::lock_guard lk(mu_);
    for (auto& [id, w] : live_) {
      if (auto s = w.lock()) all.push_back(std::move(s));
    }
  }
  for (auto& s : all) (void)end(*s, error{errc::shutting_down, "the bridge is shutting down"});
}

std::size_t bridge_observations::live() const {
  std::lock_guard lk(mu_);
  return live_.size();
}

}  // namespace actor::detail

namespace actor {

// ---- observation_handle ---------------------------------------------------------------------

observation_handle::observation_handle(std::shared_ptr<detail::observation_state> s,
                                       std::weak_ptr<detail::bridge_core> core)
    : state_(std::move(s)), core_(std::move(core)) {}
observation_handle::observation_handle(observation_handle&&) noexcept = default;
observation_handle& observation_handle::operator=(observation_handle&& other) noexcept {
  if (this != &other) {
    cancel();
    state_ = std::move(other.state_);
    core_ = std::move(other.core_);
  }
  return *this;
}
observation_handle::~observation_handle() { cancel(); }

std::uint64_t observation_handle::id() const noexcept { return state_ ? state_->id : 0; }

std::vector<std::string> observation_handle::outputs() const {
  if (!state_) return {};
  std::lock_guard lk(state_->mu);
  return state_->outputs;
}

actor_ref observation_handle::target() const {
  if (!state_) return {};
  std::lock_guard lk(state_->mu);
  return state_->who;
}

std::uint64_t observation_handle::lost() const {
  if (!state_) return 0;
  std::lock_guard lk(state_->mu);
  return state_->lost;
}

bool observation_handle::cancel() {
  if (!state_) return false;
  bool was_running = false;
  try {
    if (auto core = core_.lock()) {
      was_running = detail::observations_of(*core).end(*state_, error{errc::shutting_down, "the observation was cancelled"});
    } else {
      std::lock_guard lk(state_->mu);
      if (!state_->closed) state_->closed = error{errc::shutting_down, "the bridge is gone"};
    }
  } catch (...) {  // allocation failure: the observed actor forgets us when our connection goes
  }
  return was_running;
}

expected<observed> observation_handle::next(std::chrono::milliseconds timeout) {
  if (!state_) return error{errc::shutting_down, "a moved-from observation"};
  auto& st = *state_;
  const auto deadline = detail::steady_time(std::chrono::steady_clock::now() + std::max(timeout, std::chrono::milliseconds(0)));
  auto retry = std::chrono::milliseconds(0);
  std::unique_lock lk(st.mu);
  for (;;) {
    st.cv.wait_until(lk, deadline, [&] { return !st.events.empty() || st.closed || st.gone; });
    if (!st.events.empty()) {
      auto e = std::move(st.events.front());
      st.events.pop_front();
      lk.unlock();
      if (e.what == observed::kind::notification) {
        if (auto core = core_.lock()) detail::observations_of(*core).handled(st, 1, e.seq);
      }
      return e;
    }
    if (st.closed) return *st.closed;
    if (!st.gone) return error{errc::timeout, "no notification within " + std::to_string(timeout.count()) + " ms"};
    auto core = core_.lock();
    if (!st.followed || !core) {
      // a ref: the observation ends with its actor
      const auto why = core ? detail::gone_error(*st.gone) : error{errc::shutting_down, "the bridge is gone"};
      lk.unlock();
      if (core) (void)detail::observations_of(*core).end(st, why);
      return why;
    }
    // a name: look it up until an actor holds it; the same actor again only when it was cut off
    // (its node declared down), not when it stopped
    const auto previous = st.target;
    const bool same_again = st.gone->what == down_reason::kind::node_down;
    const auto followed = *st.followed;
    lk.unlock();
    auto found = detail::resolve_target(*core, followed, deadline);
    const bool same = found && found->address == previous.address && found->incarnation == previous.incarnation &&
                      found->id == previous.id;
    if (found && (!same || same_again)) {
      auto self = state_;
      if (detail::observations_of(*core).resubscribe(self, *found)) {
        observed e;
        e.what = observed::kind::restarted;
        e.from = detail::make_bridge_ref(*found);
        return e;
      }
    }
    retry = std::clamp(retry * 2, detail::first_retry, detail::last_retry);
    lk.lock();
    // wait for the retry (or a cancel), within the caller's timeout
    const auto until = std::min(deadline, detail::steady_time(std::chrono::steady_clock::now() + retry));
    st.cv.wait_until(lk, until, [&] { return static_cast<bool>(st.closed); });
    if (st.closed) return *st.closed;
    if (std::chrono::steady_clock::now() >= deadline) {
      return error{errc::timeout, followed.describe() + " is not held by another actor yet"};
    }
  }
}

}  // namespace actor
