// Receive-style actors (actor/receiver.hpp).
//
// A receiver is an actor whose behavior is one raw fallback: every message the runtime hands it
// is adopted (the runtime no longer frees it) and appended to the receiver's own FIFO ("saved"),
// unless the wait in progress accepts it. Runtime messages (actor.stop, monitors, links) are
// handled by the runtime before that, as for any actor; a down_msg or exit_msg is saved like any
// message.
//  - A coroutine receiver is resumed from that handler when what it awaits has come: its code
//    runs on the worker pool, inside the handler of the message that woke it.
//  - A thread receiver runs its function on its own thread (from on_start) and, when it waits,
//    handles its own mailbox there (actor_cell::pump), blocking between messages.
// A receive's deadline is a timer message of the actor's own, so it is ordered with the messages
// (one that came before the deadline is received; one after it stays saved) and it follows the
// system's clock (manual_clock in tests). A call is a request of the actor's own: its outcome
// is found by correlation (the runtime's pending table), never by scanning the mailbox.

#include "actor/receiver.hpp"

#include <exception>
#include <stdexcept>
#include <string>

namespace actor::detail {
// A receive's deadline: a timer message of the receiver's own; seq names the wait it ends.
struct receive_deadline {
  std::uint64_t seq = 0;
  ACTOR_FIELDS(seq)
};
}  // namespace actor::detail

ACTOR_MESSAGE(actor::detail::receive_deadline, "actor.receive_deadline");

namespace actor {

using detail::envelope;
using detail::envelope_kind;

// ---- received ------------------------------------------------------------------

std::string_view received::type_name() const noexcept {
  if (e_ == nullptr) return {};
  if (e_->type == &type_of<dynamic_message>()) return static_cast<const dynamic_message*>(e_->data)->type;
  return e_->type != nullptr ? e_->type->name : std::string_view{};
}

const actor_ref& received::sender() const noexcept {
  static const actor_ref nobody;
  return e_ != nullptr ? e_->sender : nobody;
}

bool received::is_request() const noexcept { return e_ != nullptr && e_->kind == envelope_kind::request; }

std::string received::body() const {
  if (e_ == nullptr) return {};
  if (e_->type == &type_of<dynamic_message>()) return static_cast<const dynamic_message*>(e_->data)->body;
  return e_->view().pack();
}

void received::throw_not_a(std::string_view wanted) const {
  throw std::invalid_argument("the message is " + (e_ ? "a " + std::string(type_name()) : std::string("empty")) +
                              ", not a " + std::string(wanted));
}

bool received::answer(envelope* r) noexcept {
  std::unique_ptr<envelope> owned(r);
  if (answered_ || e_ == nullptr) return false;
  answered_ = true;
  if (!e_->sender) return true;  // anonymous: nobody to answer
  // the answer to a send is a plain send: correlation 0 (a send with one is a notification)
  const bool request = e_->kind == envelope_kind::request;
  r->correlation = request ? e_->correlation : 0;
  if (!request) r->kind = envelope_kind::send;
  r->sender = actor_ref{self_};
  detail::deliver(e_->sender, owned.release());
  return true;
}

void received::release() noexcept {
  if (e_ == nullptr) return;
  if (owns_) {
    if (!answered_ && e_->kind == envelope_kind::request && e_->sender) {
      // a request taken and dropped: its caller learns now, not at its deadline
      const std::string who = "actor " + std::to_string(self_->id());
      try {
        if (!self_->running()) {
          answer(detail::make_error(error{errc::actor_stopped, who + " stopped before it answered"}, {}, 0));
        } else if (std::uncaught_exceptions() > 0) {
          answer(detail::make_error(error{errc::remote_error, who + " failed before it answered"}, {}, 0));
        } else {
          answer(detail::make_error(error{errc::remote_error, who + " dropped the request without a reply"}, {}, 0));
        }
      } catch (...) {  // no memory for the answer: the caller's deadline answers it
      }
    }
    delete e_;
  }
  e_ = nullptr;
}

// ---- the shared core ------------------------------------------------------------------

namespace detail {

receiver_core::receiver_core(bool own_thread) noexcept { cell().set_receiver_flags(own_thread, true); }

receiver_core::~receiver_core() {
  while (saved_head_ != nullptr) delete std::exchange(saved_head_, saved_head_->next);
  delete result_;
  delete outcome_;
}

behavior receiver_core::make_behavior() {
  return behavior::raw([this](envelope& e) { return on_envelope(e); });
}

envelope* receiver_core::on_envelope(envelope& e) {
  // the deadline of a wait: a timer of its own, or (a wait for nothing) a marker it sent itself
  if (e.type == &type_of<receive_deadline>() &&
      (e.kind == envelope_kind::timer || e.sender.endpoint() == static_cast<detail::endpoint*>(&cell()))) {
    if (waiting_ != nullptr && result_ == nullptr && static_cast<const receive_deadline*>(e.data)->seq == wait_seq_) {
      deadline_passed_ = true;
      deadline_ = {};  // fired: nothing to cancel
      progress();
    }
    return nullptr;  // the runtime frees it
  }
  envelope* mine = cell().adopt_current();
  // saved first: if a pattern throws (the receiver crashes), the message is still owned
  envelope* const before = saved_tail_;
  mine->next = nullptr;
  (before != nullptr ? before->next : saved_head_) = mine;
  saved_tail_ = mine;
  if (waiting_ != nullptr && result_ == nullptr && (*waiting_)(received(mine, &cell(), false))) {
    saved_tail_ = before;  // the wait takes it
    (before != nullptr ? before->next : saved_head_) = nullptr;
    result_ = mine;
    if (deadline_) {
      cell().cancel_timer(deadline_);
      deadline_ = {};
    }
    progress();
  }
  return nullptr;
}

envelope* receiver_core::take_saved(const matcher& m) {
  envelope* prev = nullptr;
  for (envelope* e = saved_head_; e != nullptr; prev = e, e = e->next) {
    if (!m(received(e, &cell(), false))) continue;
    (prev != nullptr ? prev->next : saved_head_) = e->next;
    if (saved_tail_ == e) saved_tail_ = prev;
    e->next = nullptr;
    return e;
  }
  return nullptr;
}

void receiver_core::begin_wait(const matcher& m, duration timeout) {
  const auto seq = ++wait_seq_;
  if (timeout <= duration::zero()) {
    // a wait for nothing: a marker behind what is queued now, so that is looked at first
    detail::deliver(actor_ref{&cell()}, detail::make_envelope(receive_deadline{seq}, envelope_kind::send, actor_ref{&cell()}));
  } else if (timeout != forever) {
    deadline_ = cell().start_timer(timeout, false, [seq] {
      return detail::make_envelope(receive_deadline{seq}, envelope_kind::timer, {});
    });
  }
  // last: what can throw above leaves no wait behind pointing at a matcher about to go
  result_ = nullptr;
  deadline_passed_ = false;
  waiting_ = &m;
}

envelope* receiver_core::end_wait() noexcept {
  if (deadline_) {
    cell().cancel_timer(deadline_);
    deadline_ = {};
  }
  waiting_ = nullptr;
  deadline_passed_ = false;
  return std::exchange(result_, nullptr);
}

void receiver_core::begin_call(const actor_ref& to, envelope* e, duration timeout) {
  calling_ = true;
  const auto id = cell().send_request(to, e, timeout);
  cell().set_continuation(id, [this](envelope&) {
    outcome_ = cell().adopt_current();
    calling_ = false;
    progress();
  });
}

void receiver_core::on_stop(const stop_reason& why) { drop_saved(why); }

void receiver_core::drop_saved(const stop_reason& why) noexcept {
  // what the receiver took from the runtime and never received: as the runtime's own queue
  // at a stop, requests learn it at once
  auto fail = [&](envelope* e) {
    if (why.what == stop_reason::kind::shutdown) {
      detail::reject(*e, errc::shutting_down, "the system is shutting down");
    } else if (why.what == stop_reason::kind::crashed) {
      detail::reject(*e, errc::actor_stopped, "actor " + std::to_string(cell().id()) + " crashed: " + why.text);
    } else {
      detail::reject(*e, errc::actor_stopped, "actor " + std::to_string(cell().id()) + " has stopped");
    }
    delete e;
  };
  while (saved_head_ != nullptr) fail(std::exchange(saved_head_, saved_head_->next));
  saved_tail_ = nullptr;
  if (result_ != nullptr) fail(std::exchange(result_, nullptr));
  delete std::exchange(outcome_, nullptr);
  waiting_ = nullptr;
}

// ---- coroutine receivers ---------------------------------------------------------

co_receiver_actor::~co_receiver_actor() {
  if (task_) task_.destroy();
}

void co_receiver_actor::on_start() {
  task_ = start_(self_).release();
  suspended_ = task_;
  resume();
}

void co_receiver_actor::progress() {
  if (suspended_ && ready()) resume();
}

void co_receiver_actor::resume() {
  std::exchange(suspended_, {}).resume();
  if (!task_.done()) return;
  auto failure = task_.promise().failure;
  task_.destroy();
  task_ = {};
  if (failure) std::rethrow_exception(failure);  // in a handler (or on_start): the actor crashes with it
  quit();
}

void co_receiver_actor::on_stop(const stop_reason& why) {
  // stopped from outside while suspended: the coroutine ends where it waits (its locals go)
  if (task_) {
    task_.destroy();
    task_ = {};
    suspended_ = {};
  }
  receiver_core::on_stop(why);
}

// ---- thread receivers ---------------------------------------------------------

void thread_receiver_actor::on_start() {
  try {
    fn_(self_);
  } catch (const receiver_stopped&) {
    // stopped from outside: the runtime completes the stop once this returns (actor_cell::pump)
  }
  quit();  // it returned: a normal stop (nothing when it is stopping already)
}

}  // namespace detail

// ---- receiver (thread) ------------------------------------------------------------------

namespace {
bool wait_over(void* core) noexcept { return static_cast<detail::receiver_core*>(core)->wait_over(); }
bool call_over(void* core) noexcept { return static_cast<detail::receiver_core*>(core)->call_over(); }
}  // namespace

received receiver::receive() {
  auto m = receive_matching(detail::matcher{}, forever);
  return std::move(*m);
}

std::optional<received> receiver::receive_matching(const detail::matcher& m, duration timeout) {
  if (!core_.cell().running()) throw receiver_stopped{};  // e.g. from a destructor while it unwinds
  if (auto* e = core_.take_saved(m)) return core_.wrap(e);
  core_.begin_wait(m, timeout);
  const bool running = core_.cell().pump(&wait_over, &core_);
  auto* e = core_.end_wait();
  if (!running) {
    delete e;
    throw receiver_stopped{};
  }
  if (e == nullptr) return std::nullopt;
  return core_.wrap(e);
}

envelope* receiver::call_envelope(const actor_ref& to, envelope* e, duration timeout) {
  if (!core_.cell().running()) {  // nothing goes out from an actor that is stopping
    delete e;
    throw receiver_stopped{};
  }
  core_.begin_call(to, e, timeout);
  const bool running = core_.cell().pump(&call_over, &core_);
  auto* out = core_.end_call();
  if (!running) {
    delete out;
    throw receiver_stopped{};
  }
  return out;
}

expected<received> receiver::outcome(envelope* e) {
  received r = core_.wrap(e);
  if (e->kind == envelope_kind::error && e->type == &type_of<error>()) return *static_cast<const error*>(e->data);
  return r;
}

expected<received> co_receiver::call_awaiter::await_resume() {
  auto* e = core_.end_call();
  if (e == nullptr) return error{errc::actor_stopped, "the receiver stopped during the call"};
  received r = core_.wrap(e);
  if (e->kind == envelope_kind::error && e->type == &type_of<error>()) return *static_cast<const error*>(e->data);
  return r;
}

}  // namespace actor
