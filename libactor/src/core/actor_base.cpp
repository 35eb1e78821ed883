// The actor runtime: mailbox, message dispatch, requests, timers, lifecycle.
//
// The mailbox is a lock-free LIFO stack (inbox_) that producers push onto,
// and a private FIFO (cache_) that the actor refills by taking the whole
// stack and reversing it. inbox_ doubles as the scheduling flag: when the actor
// finds no message it swaps in `blocked`, and the next producer that replaces
// `blocked` schedules it. `closed` marks a stopped actor: producers bounce.

#include <cxxabi.h>

#include <cstdio>
#include <cstdlib>
#include <typeinfo>
#include <unordered_map>

#include "actor/actor_base.hpp"
#include "actor/system.hpp"
#include "core/actor_extras.hpp"
#include "core/executor.hpp"
#include "core/network_hooks.hpp"
#include "core/system_state.hpp"

namespace actor {

namespace detail {

namespace {
// The dynamic type of ex, demangled ("std::runtime_error").
std::string exception_type(const std::exception& ex) {
  const char* mangled = typeid(ex).name();
  int status = 0;
  char* plain = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  std::string out = status == 0 && plain != nullptr ? plain : mangled;
  std::free(plain);
  return out;
}

// now + d, for any d: a timeout as long as actor::forever (duration::max) must not overflow
// into the past; a century is as good as never
time_point later(time_point now, duration d) noexcept {
  constexpr duration century = std::chrono::hours(24 * 365 * 100);
  return now + std::min(d, century);
}

envelope* const blocked_tag = reinterpret_cast<envelope*>(std::uintptr_t{1});
envelope* const closed_tag = reinterpret_cast<envelope*>(std::uintptr_t{2});
bool is_tag(envelope* e) noexcept { return e == blocked_tag || e == closed_tag; }
}  // namespace

constinit std::atomic<const network_hooks*> installed_network_hooks{nullptr};
constinit thread_local const endpoint* this_thread_actor = nullptr;

void install_network_hooks(const network_hooks* hooks) noexcept {
  const network_hooks* none = nullptr;
  installed_network_hooks.compare_exchange_strong(none, hooks, std::memory_order_acq_rel);
}

void endpoint::enqueue_chain(envelope* newest, envelope* oldest) noexcept {
  oldest->next = nullptr;
  envelope* in_order = nullptr;  // reversed: oldest first
  while (newest != nullptr) {
    auto* next = newest->next;
    newest->next = in_order;
    in_order = newest;
    newest = next;
  }
  while (in_order != nullptr) enqueue(std::exchange(in_order, in_order->next));
}

// A timer's state, shared by the actor and the clock callback that fires it.
struct timer_state {
  std::mutex mu;
  bool cancelled = false;
  bool periodic = false;
  std::uint64_t id = 0;
  clock::timer_id clock_id = 0;
  duration period{};
  actor_ref target;
  std::function<envelope*()> make;
};

namespace {
void arm(clock& clk, const std::shared_ptr<timer_state>& st, time_point at) {
  // called with st->mu held (or before st is shared)
  st->clock_id = clk.schedule_at(at, [&clk, st, at] {
    std::lock_guard lk(st->mu);
    if (st->cancelled) return;
    envelope* e = nullptr;
    try {
      e = st->make();
    } catch (...) {
      return;
    }
    e->correlation = st->id;
    deliver(st->target, e);
    if (st->periodic) arm(clk, st, at + st->period);
  });
}

void cancel(clock& clk, timer_state& st) {
  std::lock_guard lk(st.mu);
  st.cancelled = true;
  clk.cancel(st.clock_id);
  st.target = actor_ref{};
}
}  // namespace

}  // namespace detail

using detail::envelope;
using detail::envelope_kind;

std::string_view to_string(stop_reason::kind k) noexcept {
  switch (k) {
    case stop_reason::kind::normal: return "normal";
    case stop_reason::kind::requested: return "requested";
    case stop_reason::kind::crashed: return "crashed";
    case stop_reason::kind::shutdown: return "shutdown";
    case stop_reason::kind::linked: return "linked";
  }
  return "unknown";
}

actor_base::actor_base() : cell_(*this) {}

actor_base::~actor_base() = default;

namespace detail {

actor_cell::actor_cell(actor_base& owner) noexcept : owner_(owner) {}

void actor_cell::destroy() noexcept { delete &owner_; }

actor_cell::~actor_cell() {
  // a never-started or already-drained actor: free whatever is still queued
  auto* head = inbox_.load(std::memory_order_acquire);
  if (!detail::is_tag(head)) {
    while (head != nullptr) delete std::exchange(head, head->next);
  }
  while (cache_ != nullptr) delete std::exchange(cache_, cache_->next);
}

detail::actor_extras& actor_cell::extras() {
  if (!extras_) extras_ = std::make_unique<detail::actor_extras>();
  return *extras_;
}

const actor_ref& actor_cell::sender() const noexcept {
  static const actor_ref anonymous;
  return current_ != nullptr ? current_->sender : anonymous;
}

time_point actor_cell::now() const { return system_->clock().now(); }

// ---- mailbox -----------------------------------------------------------------

void actor_cell::enqueue(envelope* e) noexcept { enqueue_chain(e, e); }

void actor_cell::enqueue_chain(envelope* newest, envelope* oldest) noexcept {
  auto* head = inbox_.load(std::memory_order_acquire);
  for (;;) {
    if (head == detail::closed_tag) {
      oldest->next = nullptr;
      while (newest != nullptr) bounce(std::exchange(newest, newest->next));
      return;
    }
    oldest->next = head == detail::blocked_tag ? nullptr : head;
    if (inbox_.compare_exchange_weak(head, newest, std::memory_order_release, std::memory_order_acquire)) break;
  }
  if (head == detail::blocked_tag) {
    add_ref();
    executor_->schedule(this);
  }
}

void actor_cell::bounce(envelope* e) noexcept {
  // a stopped actor: requests learn it at once, monitors and links that it is gone (noproc),
  // the rest are dead letters
  if (e->type != nullptr && e->type->runtime && e->kind == envelope_kind::send) {
    answer_watch_of_gone(*e, down_reason{down_reason::kind::noproc, "actor " + std::to_string(id()) + " had stopped", {}});
  } else if (e->kind == envelope_kind::request) {
    detail::reject(*e, errc::actor_stopped, "actor " + std::to_string(id()) + " has stopped");
  } else if (system_ != nullptr && e->kind != envelope_kind::timer) {
    system_access::state(*system_).dead_letters.fetch_add(std::max<std::uint32_t>(1, e->run_length()), std::memory_order_relaxed);
  }
  delete e;
}

envelope* actor_cell::take_next() noexcept {
  if (cache_ == nullptr) {
    envelope* stack = inbox_.exchange(nullptr, std::memory_order_acquire);
    // reverse the LIFO stack into arrival order
    while (stack != nullptr) {
      auto* next = stack->next;
      stack->next = cache_;
      cache_ = stack;
      stack = next;
    }
    if (cache_ == nullptr) return nullptr;
  }
  return std::exchange(cache_, cache_->next);
}

bool actor_cell::try_block() noexcept {
  envelope* expected = nullptr;
  return inbox_.compare_exchange_strong(expected, detail::blocked_tag, std::memory_order_acq_rel);
}

void actor_cell::close_and_drain(const stop_reason& why) noexcept {
  auto* stack = inbox_.exchange(detail::closed_tag, std::memory_order_acq_rel);
  if (detail::is_tag(stack)) stack = nullptr;
  std::optional<down_reason> gone;  // made for the first monitor or link found: most stops have none
  auto fail = [&](envelope* e) {
    if (e->type != nullptr && e->type->runtime && e->kind == envelope_kind::send) {
      if (!gone) gone = to_down_reason(why);
      answer_watch_of_gone(*e, *gone);  // a monitor or link made before the actor stopped
      delete e;
      return;
    }
    // only the request being handled when a handler threw gets remote_error (crash());
    // the ones queued behind it never ran: the actor stopped before them
    if (why.what == stop_reason::kind::crashed) {
      detail::reject(*e, errc::actor_stopped, "actor " + std::to_string(id()) + " crashed: " + why.text);
    } else if (why.what == stop_reason::kind::shutdown) {
      detail::reject(*e, errc::shutting_down, "the system is shutting down");
    } else {
      detail::reject(*e, errc::actor_stopped, "actor " + std::to_string(id()) + " has stopped");
    }
    delete e;
  };
  while (cache_ != nullptr) fail(std::exchange(cache_, cache_->next));
  // the stack is newest-first; order does not matter for rejections
  while (stack != nullptr) fail(std::exchange(stack, stack->next));
}

// ---- running -------------------------------------------------------------------

actor_cell::resume_result actor_cell::resume(std::size_t max_messages) noexcept {
  if (state_ == state::created) start();
  for (std::size_t n = 0; n < max_messages; ++n) {
    if (state_ != state::running) return resume_result::done;
    auto* e = take_next();
    if (e == nullptr) {
      if (try_block()) return resume_result::idle;
      --n;
      continue;
    }
    const auto run = e->run_length();
    handle(e);
    if (run > 1) n += run - 1;  // several messages in one envelope count as such
  }
  return state_ == state::running ? resume_result::again : resume_result::done;
}

void actor_cell::start() noexcept {
  state_ = state::running;
  try {
    behavior_ = owner_.make_behavior();
    owner_.on_start();
    if (extras_ && extras_->next_behavior) behavior_ = std::move(*std::exchange(extras_->next_behavior, std::nullopt));
  } catch (const std::exception& ex) {
    crash(ex.what(), exception_type(ex).c_str());
  } catch (...) {
    crash("unknown exception", "");
  }
  if (state_ == state::stopping) terminate({quit_reason_, extras_ ? std::move(extras_->stop_text) : std::string{}, {}});
  // a stop a receiver met in pump(): answered now that the actor has stopped
  if (extras_ && extras_->stop_answer) std::exchange(extras_->stop_answer, std::nullopt)->deliver(stopped{});
}

void actor_cell::handle_run(envelope* run) noexcept {
  // after a message that stops the actor, the rest go as sends queued at a stop do
  const auto* net = installed_network_hooks.load(std::memory_order_acquire);
  if (net == nullptr) {  // only the network makes encoded envelopes
    delete run;
    return;
  }
  net->for_each_in_run(
      run,
      [](void* self, envelope* e) noexcept {
        auto* cell = static_cast<actor_cell*>(self);
        cell->handle(e);
        return cell->state_ == state::running;
      },
      this);
}

namespace {
// Around every handler: names the actor whose handler runs on this thread
// (this_thread_actor) and tells the network when it returns (network_hooks.hpp).
class handler_scope {
 public:
  explicit handler_scope(const endpoint* actor) noexcept : outer_(std::exchange(this_thread_actor, actor)) {}
  ~handler_scope() {
    if (const auto* net = installed_network_hooks.load(std::memory_order_acquire)) net->handler_done();
    this_thread_actor = outer_;
  }
  handler_scope(const handler_scope&) = delete;
  handler_scope& operator=(const handler_scope&) = delete;

 private:
  const endpoint* outer_;  // the actor whose handler this one runs in, if any
};
}  // namespace

void actor_cell::handle(envelope* e) noexcept {
  if (!e->encoded_body().empty()) {
    if (e->run_length() > 0) return handle_run(e);
    const auto* net = installed_network_hooks.load(std::memory_order_acquire);
    // a message from the network, decoded on this thread (only the network makes them)
    e = net != nullptr ? net->decode_body(e) : (delete e, nullptr);
    if (e == nullptr) return;  // it did not fit its type: counted, and a request answered
  }
  handler_scope scope(this);  // this actor's remote sends leave together, when the handler is done
  std::unique_ptr<envelope> owned(e);
  current_ = e;
  answered_ = false;
  try {
    switch (e->kind) {
      case envelope_kind::reply:
      case envelope_kind::error:
        handle_outcome(*e);
        break;
      case envelope_kind::timer: {
        if (!extras_) break;
        auto it = extras_->timers.find(e->correlation);
        if (it == extras_->timers.end()) break;  // cancelled
        if (!it->second->periodic) extras_->timers.erase(it);
        dispatch(*e);
        break;
      }
      case envelope_kind::request:
        if (e->deadline != time_point{} && e->deadline < now()) break;  // the requester gave up already
        [[fallthrough]];
      case envelope_kind::send:
      case envelope_kind::timeout:
        if (e->type == nullptr || !e->type->runtime) {
          if (e->correlation != 0 && e->kind == envelope_kind::send) [[unlikely]] {
            handle_notification(*e);  // a send with a sequence number: a notification (core/observe.cpp)
          } else {
            dispatch(*e);
          }
        } else if (e->type == &type_of<stop_msg>()) {
          const bool shutting_down = system_access::state(*system_).shutting_down.load(std::memory_order_relaxed);
          if (!shutting_down && extras_ && extras_->trap_stop) {
            dispatch(*e);  // the actor stops itself when it is ready (trap_stop)
          } else {
            quit_reason_ = shutting_down ? stop_reason::kind::shutdown : stop_reason::kind::requested;
            state_ = state::stopping;
          }
        } else if (!handle_watch(*e) && !handle_observe(*e)) {
          dispatch(*e);
        }
        break;
    }
  } catch (const std::exception& ex) {
    crash(ex.what(), exception_type(ex).c_str());
  } catch (...) {
    crash("unknown exception", "");
  }
  const bool adopted = current_ != e;  // by a receiver (adopt_current): it owns e now, and may have freed it
  if (adopted) (void)owned.release();
  if (state_ == state::stopping) [[unlikely]] {
    stop_after_handler(!adopted && e->type == &type_of<stop_msg>());
  } else if (extras_ && extras_->next_behavior) {
    behavior_ = std::move(*std::exchange(extras_->next_behavior, std::nullopt));
  }
  current_ = nullptr;
}

// Out of handle()'s way (the hot path): the actor stops after the handler that asked for it.
void actor_cell::stop_after_handler(bool is_stop) noexcept {
  if (pumping_) {
    // met by a receiver's own code (pump): the actor stops once that code has returned (start)
    if (is_stop && !answered_) {
      try {
        extras().stop_answer = make_response_promise();
      } catch (...) {  // no memory: the stop's requester gets its answer from its deadline
      }
    }
    return;
  }
  terminate({quit_reason_, extras_ ? std::move(extras_->stop_text) : std::string{}, {}});
  // after the stop is complete: the requester may count the actors alive
  if (is_stop) answer(detail::make_envelope(stopped{}, envelope_kind::reply, {}));
}

envelope* actor_cell::adopt_current() noexcept {
  answered_ = true;  // the adopter answers it, or its receiver does (actor/receiver.hpp)
  envelope* e = std::exchange(current_, nullptr);
  if (e != nullptr && e->inbound != nullptr) {  // decoded: no longer the node's inbound work
    inbound_account::release(e->inbound);
    e->inbound = nullptr;
  }
  return e;
}

bool actor_cell::pump(bool (*done)(void* ctx) noexcept, void* ctx) noexcept {
  // called from the actor's own code (on_start), not from a handler: no message is being handled
  pumping_ = true;
  while (state_ == state::running && !done(ctx)) {
    if (auto* e = take_next()) {
      handle(e);
    } else if (try_block()) {
      executor_->wait_scheduled(this);
    }
  }
  pumping_ = false;
  return state_ == state::running;
}

void actor_cell::dispatch(envelope& e) {
  const auto* h = behavior_.find(e.type);
  if (h == nullptr) {
    if (e.kind == envelope_kind::request) {
      detail::reject(e, errc::bad_message,
                     "actor " + std::to_string(id()) + " has no handler for " + std::string(e.type->name));
    } else {
      system_access::state(*system_).dead_letters.fetch_add(1, std::memory_order_relaxed);
    }
    return;
  }
  if (auto* r = h->fn(e)) answer(r);
}

void actor_cell::handle_outcome(envelope& e) {
  if (!extras_) {
    system_access::state(*system_).late_replies.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  auto it = extras_->pending.find(e.correlation);
  if (it == extras_->pending.end()) {  // a late reply: the request already has its outcome
    if (e.sender.endpoint() != this) system_access::state(*system_).late_replies.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  auto p = std::move(it->second);
  extras_->pending.erase(it);
  if (p.deadline_timer != 0) system_->clock().cancel(p.deadline_timer);
  answered_ = true;  // an outcome is not a message to answer
  if (p.then) p.then(e);
}

void actor_cell::answer(envelope* r) noexcept {
  std::unique_ptr<envelope> owned(r);
  if (answered_ || current_ == nullptr || !current_->sender) return;
  answered_ = true;
  // the answer to a send is a plain send: correlation 0 (a send with one is a notification)
  if (current_->kind == envelope_kind::request) {
    r->correlation = current_->correlation;
  } else {
    r->correlation = 0;
    r->kind = envelope_kind::send;
  }
  r->sender = actor_ref{this};
  detail::deliver(current_->sender, owned.release());
}

response_promise actor_cell::make_response_promise() {
  if (current_ == nullptr || answered_) return {};
  answered_ = true;
  const bool request = current_->kind == envelope_kind::request;
  return {current_->sender, request ? current_->correlation : 0, request};
}

void actor_cell::crash(const char* what, const char* type) noexcept {
  if (current_ != nullptr && !answered_) {
    answered_ = true;
    detail::reject(*current_, errc::remote_error, std::string("actor ") + std::to_string(id()) + " crashed: " + what);
  }
  system_access::state(*system_).crashed.fetch_add(1, std::memory_order_relaxed);
  terminate({stop_reason::kind::crashed, what, type});
}

void actor_cell::terminate(stop_reason why) noexcept {
  if (state_ == state::stopped) return;
  state_ = state::stopped;
  finished_.store(true, std::memory_order_release);
  try {
    owner_.on_stop(why);
  } catch (...) {  // on_stop must not throw; if it does, the actor stops all the same
  }
  {
    // before the downs go out: whoever hears of the death (a supervisor restarting the
    // actor under its name) finds the actor's names released already
    auto& st = system_access::state(*system_);
    std::lock_guard lk(st.observer_mu);
    if (st.stop_observer) st.stop_observer(id());
  }
  end_observes();
  end_watches(why);
  close_and_drain(why);
  if (extras_) {
    auto& clk = system_->clock();
    for (auto& [id, p] : extras_->pending) {
      if (p.deadline_timer != 0) clk.cancel(p.deadline_timer);
    }
    for (auto& [id, t] : extras_->timers) detail::cancel(clk, *t);
  }
  // release what the handlers captured; keep extras_ itself (a handler may still
  // be on the stack when a crash unwinds into here)
  behavior_ = behavior{};
  if (extras_) {
    extras_->pending.clear();
    extras_->timers.clear();
  }
  detail::live_list::remove(system_access::state(*system_), this);
}

void actor_cell::quit() {
  if (state_ == state::running) {
    quit_reason_ = stop_reason::kind::normal;
    state_ = state::stopping;
  }
}

void actor_cell::quit(stop_reason::kind why, std::string text) {
  if (state_ != state::running) return;
  quit_reason_ = why == stop_reason::kind::crashed ? stop_reason::kind::normal : why;
  if (!text.empty() || extras_) extras().stop_text = std::move(text);
  state_ = state::stopping;
}

void actor_cell::trap_stop(bool on) {
  if (on || extras_) extras().trap_stop = on;
}

void actor_cell::become(behavior next) { extras().next_behavior = std::move(next); }

// ---- requests and timers ------------------------------------------------------

std::uint64_t actor_cell::send_request(const actor_ref& to, envelope* e, duration timeout) {
  auto& x = extras();
  auto id = ++x.last_request_id;
  e->correlation = id;
  auto& clk = system_->clock();
  e->deadline = later(clk.now(), timeout);
  auto& p = x.pending[id];
  p.deadline_timer = clk.schedule_at(e->deadline, [me = actor_ref{this}, id] {
    // from the actor itself: an outcome that loses the race with the reply is not a late reply
    detail::deliver(me, detail::make_error(error{errc::timeout, "no reply before the deadline"}, me, id));
  });
  if (to) {
    detail::deliver(to, e);
  } else {
    detail::reject(*e, errc::no_such_actor, "empty actor ref");
    delete e;
  }
  return id;
}

void actor_cell::set_continuation(std::uint64_t id, std::function<void(envelope&)> fn) {
  auto& x = extras();
  auto it = x.pending.find(id);
  if (it != x.pending.end()) it->second.then = std::move(fn);
}

timer_handle actor_cell::start_timer(duration d, bool periodic, std::function<envelope*()> make) {
  if (state_ == state::stopped) return {};
  auto& x = extras();
  auto st = std::make_shared<detail::timer_state>();
  st->id = ++x.last_timer_id;
  st->periodic = periodic;
  st->period = d;
  st->target = actor_ref{this};
  st->make = std::move(make);
  x.timers.emplace(st->id, st);
  auto& clk = system_->clock();
  std::lock_guard lk(st->mu);
  detail::arm(clk, st, later(clk.now(), d));
  return timer_handle{st->id};
}

bool actor_cell::cancel_timer(timer_handle h) {
  if (!extras_) return false;
  auto it = extras_->timers.find(h.id);
  if (it == extras_->timers.end()) return false;
  detail::cancel(system_->clock(), *it->second);
  extras_->timers.erase(it);
  return true;
}

}  // namespace detail

}  // namespace actor
