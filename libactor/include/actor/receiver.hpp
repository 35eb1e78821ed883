#pragma once
/// Receive-style actors: an actor written as one function that reads its mailbox in a loop, the
/// way Erlang processes, Concurrence tasklets and thread-per-actor code do (docs/receivers.md).
/// Two kinds, spawned alike:
///
///   // on a thread of its own: may call blocking libraries
///   void printer(actor::receiver& self) {
///     for (;;) {
///       auto m = self.receive();
///       if (m.match<greeting>()) std::cout << "Hello " << m.as<greeting>().who << "\n";
///       else if (m.match<farewell>()) std::cout << "Goodbye " << m.as<farewell>().who << "\n";
///     }
///   }
///   // a C++20 coroutine on the shared worker pool: holds no thread while it waits
///   actor::receiver_task co_printer(actor::co_receiver& self) {
///     for (;;) {
///       auto m = co_await self.receive();
///       ...
///     }
///   }
///   actor::actor_ref p = actor::spawn_receiver(sys, printer);   // or co_printer
///
/// Contract (both kinds):
///  - receive() takes the next message in arrival order, waiting for one. receive(timeout)
///    gives nullopt when none came within timeout (on the system's clock). receive(timeout,
///    patterns...) takes the first message that matches one of the patterns (of<T>, a type name,
///    or a predicate on `const received&`) and leaves the others where they were, in order, for
///    later receives (selective receive). A timeout <= 0 waits for nothing: it takes a message
///    that is already in the mailbox, or gives nullopt.
///  - A message that arrives just as a wait times out is never lost: it stays in the mailbox.
///  - call(to, msg, timeout) sends a request and waits for its reply only (found by its
///    correlation, not by a scan); messages that arrive meanwhile stay queued, in order. Its
///    outcome is the reply or an error (timeout, actor_stopped, node_down, remote_error, ...);
///    a reply that comes after the timeout is dropped and counted (system_stats::late_replies),
///    never received as a message.
///  - reply(m, value) answers m (a request: its reply; a plain send: a send back to its
///    sender). Only the first answer counts. A request taken by receive and destroyed without
///    an answer is answered remote_error ("... dropped without a reply"), so no caller waits for
///    nothing.
///  - The actor is addressed like any other (refs, names, the Bridge, actorctl, Python; monitor
///    it, link it). Returning from the function stops it normally; an exception that leaves the
///    function stops it `crashed` with the exception's text and type.
///  - A stop from outside (actor.stop, a link, the system's shutdown) ends a thread receiver's
///    wait by throwing receiver_stopped (not a std::exception: let it pass), and destroys a
///    coroutine receiver where it is suspended (its locals' destructors run).
///  - Messages of a type this process has not registered, from the network, arrive as
///    actor::dynamic_message and match their own type name.
///  - A thread receiver notices a stop only in receive() and call(): one blocked elsewhere (a
///    library call, a long computation) stops when it next calls them, and the system's
///    shutdown waits for it. Its monitors hear of its death only once its function returned.
///  - Every member of receiver / co_receiver is for the receiver's own function only (its thread
///    or its coroutine), and a received must not outlive its receiver. The accessors of an empty
///    received (moved from) give empty values, except view(), whose precondition is one that
///    is not empty; as<T>() throws.

#include <coroutine>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include "actor/actor_base.hpp"
#include "actor/dynamic_message.hpp"
#include "actor/expected.hpp"
#include "actor/system.hpp"

namespace actor {

class receiver;
class co_receiver;
namespace detail {
class receiver_core;
class receiver_base;
}

/// Thrown out of a thread receiver's receive() or call() when the actor was stopped from outside.
struct receiver_stopped {};

/// A receive timeout that never passes.
inline constexpr duration forever = duration::max();

/// A message a receiver took from its mailbox. Owns it; movable, not copyable.
class received {
 public:
  received() noexcept = default;
  received(received&& o) noexcept
      : e_(std::exchange(o.e_, nullptr)), self_(o.self_), owns_(o.owns_), answered_(o.answered_) {}
  received& operator=(received&& o) noexcept {
    if (this != &o) {
      release();
      e_ = std::exchange(o.e_, nullptr);
      self_ = o.self_;
      owns_ = o.owns_;
      answered_ = o.answered_;
    }
    return *this;
  }
  received(const received&) = delete;
  received& operator=(const received&) = delete;
  ~received() { release(); }

  /// False for an empty one (moved from).
  explicit operator bool() const noexcept { return e_ != nullptr; }
  /// Its type name: a registered type's, or a dynamic_message's own.
  [[nodiscard]] std::string_view type_name() const noexcept;
  /// Who sent it (empty: anonymous).
  [[nodiscard]] const actor_ref& sender() const noexcept;
  /// True for a request (a call): its sender waits for reply().
  [[nodiscard]] bool is_request() const noexcept;
  /// True when it is a T.
  template <registered_message T>
  [[nodiscard]] bool match() const noexcept {
    return e_ != nullptr && e_->type == &type_of<T>();
  }
  /// True when its type name is `name` (typed or dynamic).
  [[nodiscard]] bool match(std::string_view name) const noexcept { return e_ != nullptr && type_name() == name; }
  /// The message as a T; throws std::invalid_argument naming both types when it is not one.
  template <registered_message T>
  [[nodiscard]] const T& as() const {
    if (!match<T>()) throw_not_a(message_traits<T>::name);
    return *static_cast<const T*>(e_->data);
  }
  /// A read-only view, as a behavior's fallback gets it.
  [[nodiscard]] message view() const noexcept { return e_->view(); }
  /// The body as MessagePack bytes.
  [[nodiscard]] std::string body() const;

 private:
  friend class detail::receiver_core;
  friend class detail::receiver_base;
  received(detail::envelope* e, detail::actor_cell* self, bool owns) noexcept : e_(e), self_(self), owns_(owns) {}
  [[noreturn]] void throw_not_a(std::string_view wanted) const;
  bool answer(detail::envelope* r) noexcept;  // takes r; false when answered already
  void release() noexcept;

  detail::envelope* e_ = nullptr;
  detail::actor_cell* self_ = nullptr;  // the receiver that took it: the sender of its answer
  bool owns_ = true;
  bool answered_ = false;
};

/// A pattern of selective receive that matches messages of type T: receive(timeout, of<T>, ...).
template <registered_message T>
struct of_type {};
template <registered_message T>
inline constexpr of_type<T> of{};

namespace detail {

// One pattern: of<T>, a type name, or a predicate taking const received&.
template <registered_message T>
bool matches(const received& m, of_type<T>) noexcept {
  return m.match<T>();
}
inline bool matches(const received& m, std::string_view name) noexcept { return m.match(name); }
inline bool matches(const received& m, const char* name) noexcept { return m.match(std::string_view(name)); }
inline bool matches(const received& m, const std::string& name) noexcept { return m.match(std::string_view(name)); }
template <class P>
  requires std::is_invocable_r_v<bool, const P&, const received&>
bool matches(const received& m, const P& pred) {
  return pred(m);
}

/// What a wait looks for: no patterns (anything), or any of a tuple of patterns.
struct matcher {
  const void* patterns = nullptr;  // null: any message
  bool (*fn)(const void* patterns, const received& m) = nullptr;
  [[nodiscard]] bool operator()(const received& m) const { return patterns == nullptr || fn(patterns, m); }
};
template <class Tuple>
matcher make_matcher(const Tuple& patterns) noexcept {
  return {&patterns, [](const void* p, const received& m) {
            return std::apply([&](const auto&... ps) { return (matches(m, ps) || ...); },
                              *static_cast<const Tuple*>(p));
          }};
}

/// The state both kinds share: the messages taken from the runtime and not yet received, the
/// wait in progress, the call in progress. Runs on the actor's own thread only.
class receiver_core : public actor_base {
 public:
  explicit receiver_core(bool own_thread) noexcept;
  ~receiver_core() override;

  actor_cell& cell() noexcept { return cell_access::cell(*this); }
  /// The first saved message m accepts, taken out; null when none.
  envelope* take_saved(const matcher& m);
  /// Starts waiting for a message m accepts, with a deadline (timeout == forever: none; <= 0:
  /// once the messages queued now have been looked at).
  void begin_wait(const matcher& m, duration timeout);
  /// True while a wait is in progress (begin_wait, not yet end_wait).
  [[nodiscard]] bool waiting() const noexcept { return waiting_ != nullptr; }
  /// True once the wait has its message or its deadline passed.
  [[nodiscard]] bool wait_over() const noexcept { return result_ != nullptr || deadline_passed_; }
  /// True when what the receiver waits for (a message, a deadline, a call's outcome) has come.
  [[nodiscard]] bool ready() const noexcept { return (waiting_ != nullptr && wait_over()) || outcome_ != nullptr; }
  /// Ends the wait: its message (null: the deadline passed).
  envelope* end_wait() noexcept;
  /// Sends request e to `to` and starts waiting for its outcome.
  void begin_call(const actor_ref& to, envelope* e, duration timeout);
  [[nodiscard]] bool call_over() const noexcept { return outcome_ != nullptr; }
  envelope* end_call() noexcept { return std::exchange(outcome_, nullptr); }
  received wrap(envelope* e) noexcept { return received(e, &cell(), true); }

 protected:
  behavior make_behavior() final;
  void on_stop(const stop_reason& why) override;
  /// A wait or a call may be over (a message, its deadline or an outcome arrived).
  virtual void progress() = 0;

 private:
  envelope* on_envelope(envelope& e);
  void drop_saved(const stop_reason& why) noexcept;

  envelope* saved_head_ = nullptr;  // taken from the runtime, not yet received; linked by next
  envelope* saved_tail_ = nullptr;
  const matcher* waiting_ = nullptr;  // a receive in progress
  envelope* result_ = nullptr;        // its message
  std::uint64_t wait_seq_ = 0;        // which wait the deadline timer is for
  timer_handle deadline_;
  bool deadline_passed_ = false;
  bool calling_ = false;          // a call in progress
  envelope* outcome_ = nullptr;   // its outcome
};

}  // namespace detail

/// What a thread receiver's function gets: its mailbox and its ways to send. Every member may
/// block the receiver's thread (and only it); receive and call throw receiver_stopped when the
/// actor is stopped from outside.
namespace detail {
/// What both kinds of receiver give their function besides receive and call.
class receiver_base {
 public:
  template <registered_message T>
  void send(const actor_ref& to, T&& msg) {
    detail::deliver(to, detail::make_envelope(std::forward<T>(msg), detail::envelope_kind::send, self()));
  }
  /// Answers m (see the contract); false when it was answered already.
  template <registered_message T>
  bool reply(received& m, T&& value) {
    return m.answer(detail::to_reply(std::forward<T>(value)));
  }
  bool reply(received& m, error e) { return m.answer(detail::to_reply(std::move(e))); }

  [[nodiscard]] actor_ref self() noexcept { return actor_ref{&core_.cell()}; }
  [[nodiscard]] actor_system& system() noexcept { return core_.cell().system(); }
  [[nodiscard]] time_point now() const { return core_.cell().now(); }
  /// Monitors and links, as actor_base's (actor/monitor.hpp): a down_msg or exit_msg is received
  /// as a message.
  std::uint64_t monitor(const actor_ref& whom) { return core_.cell().monitor(whom); }
  bool demonitor(std::uint64_t id) { return core_.cell().demonitor(id); }
  void link(const actor_ref& other) { core_.cell().link(other); }
  void unlink(const actor_ref& other) { core_.cell().unlink(other); }
  void trap_exit(bool on) { core_.cell().trap_exit(on); }
  /// Observing, as actor_base's (actor/observe.hpp): notifications are received as messages, in
  /// notify order, with the observed actor as sender; observed_restarted too. Gaps (a full queue
  /// at the observed actor) are counted in system_stats::notifications_lost only: a receiver
  /// gets no notifications_lost message.
  expected<std::uint64_t> observe(const actor_ref& target, observe_options opts = {}) {
    return core_.cell().observe(target, std::move(opts));
  }
  std::uint64_t observe(std::string name, observe_options opts = {}) { return core_.cell().observe(std::move(name), std::move(opts)); }
  bool unobserve(std::uint64_t id) { return core_.cell().unobserve(id); }

  receiver_base(const receiver_base&) = delete;
  receiver_base& operator=(const receiver_base&) = delete;

 protected:
  explicit receiver_base(receiver_core& core) noexcept : core_(core) {}
  ~receiver_base() = default;
  receiver_core& core_;
};
}  // namespace detail

class receiver : public detail::receiver_base {
 public:
  /// The next message; waits as long as it takes.
  received receive();
  /// The next message, or nullopt after timeout.
  std::optional<received> receive(duration timeout) { return receive_matching(detail::matcher{}, timeout); }
  /// The first message that matches one of the patterns (of<T>, a type name, a predicate), or
  /// nullopt after timeout (forever: no deadline); the others stay queued, in order.
  template <class... Patterns>
    requires(sizeof...(Patterns) > 0)
  std::optional<received> receive(duration timeout, Patterns&&... patterns) {
    const std::tuple<std::decay_t<Patterns>...> ps(std::forward<Patterns>(patterns)...);
    return receive_matching(detail::make_matcher(ps), timeout);
  }

  /// Sends a request and waits for its reply (of type R) or an error.
  template <registered_message R, registered_message T>
  expected<R> call(const actor_ref& to, T&& msg, duration timeout) {
    return reply_as_owned<R>(call_envelope(to, detail::make_envelope(std::forward<T>(msg), detail::envelope_kind::request, self()), timeout));
  }
  /// Sends a request and waits for its outcome, whatever its type (a dynamic_message too).
  /// (The barrier keeps call<R>(to, R{...}) from choosing this one: its type is deduced only.)
  template <int&... deduced_only, class T>
    requires registered_message<T>
  expected<received> call(const actor_ref& to, T&& msg, duration timeout) {
    return outcome(call_envelope(to, detail::make_envelope(std::forward<T>(msg), detail::envelope_kind::request, self()), timeout));
  }

  explicit receiver(detail::receiver_core& core) noexcept : receiver_base(core) {}

 private:
  std::optional<received> receive_matching(const detail::matcher& m, duration timeout);
  detail::envelope* call_envelope(const actor_ref& to, detail::envelope* e, duration timeout);
  expected<received> outcome(detail::envelope* e);
  template <class R>
  expected<R> reply_as_owned(detail::envelope* e) {
    std::unique_ptr<detail::envelope> owned(e);
    return detail::reply_as<R>(*e);
  }
};

/// What a coroutine receiver returns: write the function as `actor::receiver_task f(actor::co_receiver& self)`.
class receiver_task {
 public:
  struct promise_type {
    receiver_task get_return_object() noexcept {
      return receiver_task{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() noexcept { return {}; }  // the actor starts it
    std::suspend_always final_suspend() noexcept { return {}; }    // the actor destroys it
    void return_void() noexcept {}
    void unhandled_exception() noexcept { failure = std::current_exception(); }
    std::exception_ptr failure;
  };
  receiver_task(receiver_task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  receiver_task& operator=(receiver_task&& o) noexcept {
    if (this != &o) {
      if (h_) h_.destroy();
      h_ = std::exchange(o.h_, {});
    }
    return *this;
  }
  receiver_task(const receiver_task&) = delete;
  receiver_task& operator=(const receiver_task&) = delete;
  ~receiver_task() {
    if (h_) h_.destroy();
  }
  /// Internal: the coroutine, handed to its actor.
  std::coroutine_handle<promise_type> release() noexcept { return std::exchange(h_, {}); }

 private:
  explicit receiver_task(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}
  std::coroutine_handle<promise_type> h_;
};

/// What a coroutine receiver's function gets. receive and call are awaited (co_await); the
/// coroutine runs on the worker pool and must not block its thread.
class co_receiver : public detail::receiver_base {
 public:
  template <class Tuple, bool Timed>
  class receive_awaiter;
  class call_awaiter;

  /// co_await: the next message, waiting as long as it takes.
  [[nodiscard]] receive_awaiter<std::tuple<>, false> receive() noexcept;
  /// co_await: the next message, or nullopt after timeout.
  [[nodiscard]] receive_awaiter<std::tuple<>, true> receive(duration timeout) noexcept;
  /// co_await: the first message matching one of the patterns, or nullopt after timeout (forever: none).
  template <class... Patterns>
    requires(sizeof...(Patterns) > 0)
  [[nodiscard]] receive_awaiter<std::tuple<std::decay_t<Patterns>...>, true> receive(duration timeout,
                                                                                     Patterns&&... ps) {
    return {core_, timeout, std::tuple<std::decay_t<Patterns>...>(std::forward<Patterns>(ps)...)};
  }
  /// co_await: the outcome of a request, as a received (use .as<R>()) or an error.
  template <registered_message T>
  [[nodiscard]] call_awaiter call(const actor_ref& to, T&& msg, duration timeout);

  explicit co_receiver(detail::receiver_core& core) noexcept : receiver_base(core) {}
};

namespace detail {

/// A coroutine receiver: resumes its coroutine when what it awaits has come.
class co_receiver_actor final : public receiver_core {
 public:
  template <class F>
  explicit co_receiver_actor(F fn) : receiver_core(false), self_(*this), start_([f = std::move(fn)](co_receiver& s) mutable { return f(s); }) {}
  ~co_receiver_actor() override;
  /// The awaiting coroutine (set by an awaiter as it suspends).
  void suspend(std::coroutine_handle<> h) noexcept { suspended_ = h; }

 protected:
  void on_start() override;
  void on_stop(const stop_reason& why) override;
  void progress() override;

 private:
  void resume();
  co_receiver self_;
  std::function<receiver_task(co_receiver&)> start_;
  std::coroutine_handle<receiver_task::promise_type> task_;
  std::coroutine_handle<> suspended_;
};

/// A thread receiver: runs its function on its own thread, from on_start.
class thread_receiver_actor final : public receiver_core {
 public:
  template <class F>
  explicit thread_receiver_actor(F fn) : receiver_core(true), self_(*this), fn_(std::move(fn)) {}

 protected:
  void on_start() override;
  void progress() override {}  // its thread checks wait_over / call_over as it pumps

 private:
  receiver self_;
  std::function<void(receiver&)> fn_;
};

}  // namespace detail

template <class Tuple, bool Timed>
class co_receiver::receive_awaiter {
 public:
  receive_awaiter(detail::receiver_core& core, duration timeout, Tuple patterns)
      : core_(core), timeout_(timeout), patterns_(std::move(patterns)) {}
  receive_awaiter(const receive_awaiter&) = delete;  // it lives in the coroutine frame: the core points at it
  receive_awaiter& operator=(const receive_awaiter&) = delete;
  ~receive_awaiter() { delete e_; }

  bool await_ready() {
    if constexpr (std::tuple_size_v<Tuple> > 0) m_ = detail::make_matcher(patterns_);
    e_ = core_.take_saved(m_);
    return e_ != nullptr;
  }
  void await_suspend(std::coroutine_handle<> h) {
    core_.begin_wait(m_, Timed ? timeout_ : forever);
    static_cast<detail::co_receiver_actor&>(core_).suspend(h);
  }
  /// receive(): the message; receive(timeout, ...): the message or nullopt.
  auto await_resume() {
    if (e_ == nullptr && core_.waiting()) e_ = core_.end_wait();
    if constexpr (Timed) {
      return e_ != nullptr ? std::optional<received>(core_.wrap(std::exchange(e_, nullptr))) : std::nullopt;
    } else {
      return core_.wrap(std::exchange(e_, nullptr));
    }
  }

 private:
  detail::receiver_core& core_;
  duration timeout_;
  Tuple patterns_;
  detail::matcher m_;
  detail::envelope* e_ = nullptr;
};

class co_receiver::call_awaiter {
 public:
  call_awaiter(detail::receiver_core& core, actor_ref to, detail::envelope* e, duration timeout) noexcept
      : core_(core), to_(std::move(to)), e_(e), timeout_(timeout) {}
  call_awaiter(const call_awaiter&) = delete;
  ~call_awaiter() { delete e_; }  // never awaited
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    core_.begin_call(to_, std::exchange(e_, nullptr), timeout_);  // its outcome comes later, in a handler
    static_cast<detail::co_receiver_actor&>(core_).suspend(h);
  }
  /// The reply, or the error.
  expected<received> await_resume();

 private:
  detail::receiver_core& core_;
  actor_ref to_;
  detail::envelope* e_;
  duration timeout_;
};

inline co_receiver::receive_awaiter<std::tuple<>, false> co_receiver::receive() noexcept {
  return {core_, forever, {}};
}
inline co_receiver::receive_awaiter<std::tuple<>, true> co_receiver::receive(duration timeout) noexcept {
  return {core_, timeout, {}};
}
template <registered_message T>
co_receiver::call_awaiter co_receiver::call(const actor_ref& to, T&& msg, duration timeout) {
  return {core_, to, detail::make_envelope(std::forward<T>(msg), detail::envelope_kind::request, self()), timeout};
}

/// A new receiver actor running fn, not yet spawned: fn is `void(receiver&)` (a thread of its
/// own) or `receiver_task(co_receiver&)` (a coroutine). For register_actor_factory.
template <class F>
actor_base* make_receiver(F fn) {
  if constexpr (std::is_invocable_r_v<receiver_task, F&, co_receiver&>) {
    return new detail::co_receiver_actor(std::move(fn));
  } else {
    static_assert(std::is_invocable_v<F&, receiver&>,
                  "a receiver function takes actor::receiver& (returning void) or actor::co_receiver& "
                  "(returning actor::receiver_task)");
    return new detail::thread_receiver_actor(std::move(fn));
  }
}

/// Spawns fn as a receive-style actor (see make_receiver) and returns its ref.
template <class F>
actor_ref spawn_receiver(actor_system& sys, F fn) {
  return detail::launch_actor(sys, make_receiver(std::move(fn)));
}

/// Makes fn spawnable by name (actor-node --spawn, actorctl spawn, the Bridge, config), as a
/// receiver: each spawn runs a copy of fn.
template <class F>
void register_receiver_type(actor_system& sys, std::string name, F fn) {
  sys.register_actor_factory(std::move(name), [fn](const config&) { return make_receiver(F(fn)); });
}

}  // namespace actor
