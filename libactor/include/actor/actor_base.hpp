#pragma once
/// actor_base: derive from it to write an actor.
///
///   class counter final : public actor::actor_base {
///    protected:
///     actor::behavior make_behavior() override {
///       return {[this](const incr& m) { n_ += m.by; },
///               [this](const get&) { return value{n_}; }};
///     }
///    private:
///     std::int64_t n_ = 0;
///   };
///
/// Threading contract: an actor handles one message at a time, in arrival order
/// (messages from one sender keep their order). Every protected member below may
/// only be called from the actor's own handlers, make_behavior, on_start or on_stop.
///
/// Ownership: an actor_ref keeps its target's memory alive. When an actor stops, the
/// runtime drops its behavior, timers and pending requests, but not the actor's own
/// members: actors that keep refs to each other (or stored response_promises) in
/// members should reset them in on_stop, or their memory is never freed.

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "actor/actor_ref.hpp"
#include "actor/behavior.hpp"
#include "actor/clock.hpp"
#include "actor/detail/endpoint.hpp"
#include "actor/detail/envelope.hpp"
#include "actor/error.hpp"
#include "actor/expected.hpp"
#include "actor/group.hpp"
#include "actor/message.hpp"
#include "actor/monitor.hpp"
#include "actor/observe.hpp"

namespace actor {

class actor_system;

namespace detail {
class executor;
struct actor_extras;
struct observe_state;
struct observation;
struct live_list;
struct cell_access;

// groups (actor/group.hpp; core/groups.cpp)
using group_members_ptr = std::shared_ptr<const std::vector<actor_ref>>;
/// The members of group as sys's node knows them, or null while it does not (yet).
[[nodiscard]] group_members_ptr group_members_of(actor_system& sys, const std::string& group);
/// Keeps publish (a publish of `from` to group) until the node knows group's members, and asks
/// the node to learn them; dropped and counted when none can be learned (no node, full queue).
void hold_publish(actor_system& sys, const actor_ref& from, const std::string& group,
                  std::function<void(const actor_ref& to)> publish);
/// The node's name service (the empty ref without a node): where joins go.
[[nodiscard]] actor_ref name_service_of(actor_system& sys);
}  // namespace detail

/// Why an actor stopped.
struct stop_reason {
  enum class kind : std::uint8_t {
    normal,    ///< it called quit()
    requested, ///< it was sent stop_msg
    crashed,   ///< a handler (or on_start) threw; text is the exception's what(), error_type its type
    shutdown,  ///< its system is shutting down
    linked,    ///< a linked actor died abnormally and this one does not trap exits
  };
  kind what = kind::normal;
  std::string text;
  std::string error_type;  ///< crashed: the exception's type name
};
/// What monitors and links of an actor that stopped for `why` hear (requested -> stopped).
[[nodiscard]] down_reason to_down_reason(const stop_reason& why);
[[nodiscard]] std::string_view to_string(stop_reason::kind k) noexcept;

/// Handle of a timer started by an actor; cancel it with cancel_timer().
struct timer_handle {
  std::uint64_t id = 0;
  explicit operator bool() const noexcept { return id != 0; }
};

/// Lets a handler answer the current request later (or from another actor's
/// reply). Exactly the first deliver() counts. Copyable; deliver from any thread.
class response_promise {
 public:
  response_promise() = default;
  response_promise(actor_ref to, std::uint64_t correlation, bool is_request)
      : to_(std::move(to)), correlation_(correlation), is_request_(is_request) {}
  template <registered_message T>
  void deliver(T&& value) {
    finish(detail::make_envelope(std::forward<T>(value),
                                 is_request_ ? detail::envelope_kind::reply : detail::envelope_kind::send, {},
                                 correlation_));
  }
  void deliver(error e) { finish(detail::make_error(std::move(e), {}, correlation_)); }
  /// True while nothing has been delivered.
  [[nodiscard]] bool pending() const noexcept { return state_ && !state_->done.load(); }

 private:
  struct shared {
    std::atomic<bool> done{false};
  };
  void finish(detail::envelope* e) {
    if (state_->done.exchange(true)) {
      delete e;
      return;
    }
    detail::deliver(to_, e);
  }
  actor_ref to_;
  std::uint64_t correlation_ = 0;
  bool is_request_ = false;
  std::shared_ptr<shared> state_ = std::make_shared<shared>();
};

class actor_base;

namespace detail {

/// Internal: the runtime half of an actor, what an actor_ref points at: its
/// mailbox, its state, its requests and timers. Every actor_base holds one; the
/// runtime reaches the actor through it, so none of these names is seen by a
/// class derived from actor_base. Its members other than the endpoint's are for
/// actor_base and the runtime only.
class actor_cell final : public endpoint {
 public:
  explicit actor_cell(actor_base& owner) noexcept;
  ~actor_cell() override;

  /// Mailbox entry point used by actor_ref; thread-safe, lock-free, never blocks.
  void enqueue(envelope* e) noexcept override;
  void enqueue_chain(envelope* newest, envelope* oldest) noexcept override;
  [[nodiscard]] bool finished() const noexcept override { return finished_.load(std::memory_order_acquire); }
  [[nodiscard]] bool decodes_bodies() const noexcept override { return true; }
  [[nodiscard]] bool accepts_dynamic() const noexcept override { return accepts_dynamic_; }

  /// What resume() tells the executor.
  enum class resume_result : std::uint8_t { again, idle, done };
  /// Runs up to max_messages messages; called by exactly one executor thread at a time.
  resume_result resume(std::size_t max_messages) noexcept;

  // what actor_base's protected members do (see there)
  [[nodiscard]] actor_system& system() const noexcept { return *system_; }
  [[nodiscard]] const actor_ref& sender() const noexcept;
  [[nodiscard]] time_point now() const;
  [[nodiscard]] response_promise make_response_promise();
  void become(behavior next);
  bool cancel_timer(timer_handle h);
  void quit();
  void quit(stop_reason::kind why, std::string text);
  void trap_stop(bool on);
  std::uint64_t send_request(const actor_ref& to, envelope* e, duration timeout);
  void set_continuation(std::uint64_t id, std::function<void(envelope&)> fn);
  timer_handle start_timer(duration d, bool periodic, std::function<envelope*()> make);
  void answer(envelope* reply) noexcept;
  std::uint64_t monitor(const actor_ref& whom);
  bool demonitor(std::uint64_t id);
  void link(const actor_ref& other);
  void unlink(const actor_ref& other);
  void trap_exit(bool on);
  // observe and notify (core/observe.cpp)
  void declare_outputs(std::initializer_list<const message_type*> types);
  void notify(const message_type& t, const void* value);
  expected<std::uint64_t> observe(const actor_ref& target, observe_options opts);
  std::uint64_t observe(std::string name, observe_options opts);
  bool unobserve(std::uint64_t id);

  // for receive-style actors (core/receiver.cpp)
  /// Takes the envelope being handled: the runtime neither frees nor answers it afterwards.
  envelope* adopt_current() noexcept;
  /// Before the actor is spawned: it runs on a thread of its own (spawn or not spawn_detached),
  /// and it takes messages of unregistered types (accepts_dynamic).
  void set_receiver_flags(bool own_thread, bool accepts_dynamic) noexcept {
    own_thread_ = own_thread;
    accepts_dynamic_ = accepts_dynamic;
  }
  /// Only for an actor on a thread of its own, from its own code (on_start): handles its
  /// messages as they come until done(ctx) is true or the actor stops, blocking its thread
  /// between them. True while the actor runs. A stop met here only marks the actor stopping:
  /// it stops (on_stop, its monitors hear of it, a stop request is answered) once on_start
  /// has returned, so nothing hears of its death while its code still runs.
  bool pump(bool (*done)(void* ctx) noexcept, void* ctx) noexcept;
  /// False once the actor is stopping or stopped. Its own thread only.
  [[nodiscard]] bool running() const noexcept { return state_ == state::running; }

 protected:
  void destroy() noexcept override;  // deletes the actor, which holds this cell

 private:
  friend class actor::actor_system;
  friend struct live_list;

  actor_extras& extras();
  void start() noexcept;
  void handle(envelope* e) noexcept;
  [[gnu::noinline]] void stop_after_handler(bool is_stop) noexcept;
  void dispatch(envelope& e);
  void handle_outcome(envelope& e);
  void terminate(stop_reason why) noexcept;
  void crash(const char* what, const char* type) noexcept;
  // monitors and links (core/monitors.cpp)
  bool handle_watch(envelope& e);  // true: e was a watch message, handled here
  void end_watches(const stop_reason& why) noexcept;
  void answer_watch_of_gone(envelope& e, const down_reason& why) noexcept;
  // observe and notify (core/observe.cpp)
  observe_state& observing();
  [[nodiscard]] bool is_output(const message_type* t) const noexcept;
  [[gnu::noinline]] void handle_notification(envelope& e);  // a send with a sequence number
  [[nodiscard]] std::uint64_t observed_id(const actor_ref& target) const noexcept;  // 0: not observed
  bool handle_observe(envelope& e);  // true: e was an observe message, handled here
  bool observe_down(envelope& e);    // a down of an observer, or of an observed actor
  void add_subscriber(envelope& e);
  void remove_subscriber(std::size_t index, bool demonitor_observer) noexcept;
  void attach(std::uint64_t id, observation& o, const actor_ref& target);
  void resolve(std::uint64_t id, observation& o);
  void retry_later(std::uint64_t id, observation& o);
  void end_observes() noexcept;
  void bounce(envelope* e) noexcept;  // an envelope for a stopped actor
  envelope* take_next() noexcept;
  void handle_run(envelope* run) noexcept;  // a run of encoded sends (wire/encoded_envelope.hpp)
  bool try_block() noexcept;
  void close_and_drain(const stop_reason& why) noexcept;

  // runtime state; fields ordered for size: an idle actor stays small
  std::atomic<envelope*> inbox_{nullptr};  // LIFO stack of new envelopes, or a tag
  envelope* cache_ = nullptr;               // FIFO of envelopes taken from inbox_
  envelope* current_ = nullptr;             // being handled
  actor_base& owner_;
  actor_system* system_ = nullptr;
  executor* executor_ = nullptr;
  actor_cell* live_prev_ = nullptr;  // the system's list of running actors
  actor_cell* live_next_ = nullptr;
  std::unique_ptr<actor_extras> extras_;  // allocated on first use of requests/timers/become
  // declared in the constructor (declare_outputs), read-only once spawned: other actors read it
  std::unique_ptr<const std::vector<const message_type*>> outputs_;
  behavior behavior_;
  enum class state : std::uint8_t { created, running, stopping, stopped };
  state state_ = state::created;
  bool answered_ = false;  // the current message has been answered
  bool own_thread_ = false;       // set_receiver_flags
  bool accepts_dynamic_ = false;  // set_receiver_flags
  bool pumping_ = false;          // in pump(): a stop is completed after on_start returns
  std::atomic<bool> finished_{false};  // terminated: readable from any thread
  stop_reason::kind quit_reason_ = stop_reason::kind::normal;
};

}  // namespace detail

/// What request() returns inside an actor: attach the continuation with then().
/// Exactly one of on_reply / on_error runs, on the actor's own thread. Without
/// then(), the outcome is dropped.
class request_handle {
 public:
  request_handle(detail::actor_cell* self, std::uint64_t id) noexcept : self_(self), id_(id) {}
  /// on_reply takes `const R&` (R: the expected reply type), on_error takes `const error&`.
  /// A reply of another type arrives as error{bad_message}.
  template <class OnReply, class OnError>
  void then(OnReply on_reply, OnError on_error);

 private:
  detail::actor_cell* self_;
  std::uint64_t id_;
};

/// The base of every actor. A class derived from it sees exactly the protected
/// members below (and make_behavior, on_start, on_stop to override): the runtime
/// keeps everything else in a detail::actor_cell, so names like `start`, `state`
/// or `handle` stay free for the derived class's own messages and members.
class actor_base {
 public:
  virtual ~actor_base();
  actor_base(const actor_base&) = delete;
  actor_base& operator=(const actor_base&) = delete;

 protected:
  actor_base();

  /// Builds the initial behavior; called once, before on_start, on the actor's thread.
  virtual behavior make_behavior() = 0;
  /// Runs after make_behavior, before the first message. Throwing crashes the actor.
  virtual void on_start() {}
  /// Runs once when the actor stops, for every reason. Must not throw.
  virtual void on_stop(const stop_reason& /*why*/) {}

  /// A ref to this actor.
  [[nodiscard]] actor_ref self() noexcept { return actor_ref{&cell_}; }
  /// The sender of the message being handled (empty when anonymous).
  [[nodiscard]] const actor_ref& sender() const noexcept { return cell_.sender(); }
  /// The system this actor runs in.
  [[nodiscard]] actor_system& system() const noexcept { return cell_.system(); }
  [[nodiscard]] time_point now() const { return cell_.now(); }

  /// Sends msg to `to`, with this actor as the sender.
  template <registered_message T>
  void send(const actor_ref& to, T&& msg) {
    detail::deliver(to, detail::make_envelope(std::forward<T>(msg), detail::envelope_kind::send, self()));
  }
  /// Answers the message being handled (the request's reply, or a plain send to
  /// its sender). Only the first answer to a message counts: a handler that
  /// calls reply() should return void.
  template <registered_message T>
  void reply(T&& msg) {
    cell_.answer(detail::to_reply(std::forward<T>(msg)));
  }
  void reply(error e) { cell_.answer(detail::to_reply(std::move(e))); }
  /// Takes over answering the message being handled; the handler's return value
  /// then no longer answers it.
  [[nodiscard]] response_promise make_response_promise() { return cell_.make_response_promise(); }

  /// Sends a request to `to` with a deadline `timeout` from now. Exactly one outcome
  /// reaches the continuation: the reply or an error (timeout, actor_stopped, ...).
  template <registered_message T>
  [[nodiscard]] request_handle request(const actor_ref& to, T&& msg, duration timeout) {
    return request_handle{
        &cell_, cell_.send_request(
                    to, detail::make_envelope(std::forward<T>(msg), detail::envelope_kind::request, self()), timeout)};
  }

  /// Replaces the current behavior after the running handler returns.
  void become(behavior next) { cell_.become(std::move(next)); }

  /// Sends msg to this actor once, after `delay`.
  template <registered_message T>
  timer_handle delayed_send(duration delay, T msg) {
    return cell_.start_timer(delay, false, [m = std::move(msg)]() mutable {
      return detail::make_envelope(std::move(m), detail::envelope_kind::timer, {});
    });
  }
  /// Sends a copy of msg to this actor every `interval`, until cancelled or stopped.
  template <registered_message T>
  timer_handle periodic_send(duration interval, T msg) {
    return cell_.start_timer(interval, true, [m = std::move(msg)]() {
      return detail::make_envelope(T(m), detail::envelope_kind::timer, {});
    });
  }
  /// Cancels a timer; no message of it arrives afterwards. False if it already finished.
  bool cancel_timer(timer_handle h) { return cell_.cancel_timer(h); }

  /// Stops this actor (reason normal) once the running handler returns.
  void quit() { cell_.quit(); }
  /// Stops this actor with reason `why` once the running handler returns: its monitors and
  /// links hear to_down_reason({why, text}) (e.g. shutdown: a supervisor that gives up).
  /// kind::crashed is for the runtime (a handler that throws) and is taken as normal.
  void quit(stop_reason::kind why, std::string text = {}) { cell_.quit(why, std::move(text)); }
  /// On: a stop request (stop_msg: actorctl stop, the Bridge, actor_system::stop, a
  /// supervisor) is handed to the behavior, which must have a handler for stop_msg, instead
  /// of stopping this actor; the actor stops itself later with quit(), and the request is
  /// answered `stopped` then unless the handler answered it. The system's shutdown still
  /// stops it at once. For actors that must stop others first (a supervisor's children).
  void trap_stop(bool on) { cell_.trap_stop(on); }

  /// Watches `whom`, local or remote: exactly one down_msg with the returned id reaches this
  /// actor when `whom` is gone (actor/monitor.hpp), also when it already was (noproc) or
  /// `whom` is empty. Monitoring one actor twice makes two monitors.
  std::uint64_t monitor(const actor_ref& whom) { return cell_.monitor(whom); }
  /// Ends monitor `id`: no down_msg for it is handled afterwards, even one already queued.
  /// False when `id` is not an active monitor (unknown, or its down_msg was handled).
  bool demonitor(std::uint64_t id) { return cell_.demonitor(id); }
  /// Links this actor and `other` both ways (once per pair: a second link does nothing).
  void link(const actor_ref& other) { cell_.link(other); }
  /// Removes the link with `other`, on both sides.
  void unlink(const actor_ref& other) { cell_.unlink(other); }
  /// On: a linked actor's death arrives as an exit_msg instead of stopping this actor.
  void trap_exit(bool on) { cell_.trap_exit(on); }

  // ---- observe and notify (actor/observe.hpp) ----
  /// Declares message types this actor notifies. Only in the constructor (std::logic_error
  /// once spawned): observers on other threads read them.
  template <registered_message... Ts>
  void declare_outputs() {
    cell_.declare_outputs({&type_of<Ts>()...});
  }
  /// Sends msg to every current observer of its type, with this actor as sender, in notify
  /// order per observer. std::logic_error when T is not a declared output.
  template <registered_message T>
  void notify(const T& msg) {
    cell_.notify(type_of<T>(), &msg);
  }
  /// Observes `target` (local or remote): its notifications reach this actor's handlers from
  /// now on. The id ends it (unobserve). errc::bad_message when target is local and an output
  /// it observes has no handler here, or opts.types names no output of target. Call it from
  /// on_start or a handler (the check reads the current behavior).
  expected<std::uint64_t> observe(const actor_ref& target, observe_options opts = {}) {
    return cell_.observe(target, std::move(opts));
  }
  /// Observes the actor registered under `name` (through the node's name service), and
  /// whichever actor takes the name after it is gone (observed_restarted tells).
  std::uint64_t observe(std::string name, observe_options opts = {}) { return cell_.observe(std::move(name), std::move(opts)); }
  /// Ends an observation; no notification of it is handled afterwards. False when `id` is not one.
  bool unobserve(std::uint64_t id) { return cell_.unobserve(id); }

  // ---- groups (actor/group.hpp) ----
  /// Joins this actor to `group`, cluster-wide (the node's registries hold the membership until
  /// it leaves or stops). The handle's continuation hears group_joined or the error (ignoring
  /// it is fine: a failed join is logged by the node).
  request_handle join_group(const std::string& group, duration timeout = std::chrono::seconds(5)) {
    return request(detail::name_service_of(system()), group_join{group, {}}, timeout);
  }
  /// Leaves `group` (at once on this node; the registries are told).
  void leave_group(const std::string& group) { send(detail::name_service_of(system()), group_leave{group, {}}); }
  /// Sends msg to every member of `group` this node knows, once each, with this actor as sender.
  template <registered_message T>
  void publish(const std::string& group, const T& msg) {
    if (auto members = detail::group_members_of(system(), group)) {
      for (const auto& to : *members) send(to, T(msg));
      return;
    }
    detail::hold_publish(system(), self(), group, [m = msg, from = self()](const actor_ref& to) {
      detail::deliver(to, detail::make_envelope(T(m), detail::envelope_kind::send, from));
    });
  }

 private:
  friend class actor_system;
  friend class detail::actor_cell;
  friend struct detail::cell_access;

  // The one name of the base besides the protected ones above; the runtime's
  // state and functions are the cell's.
  detail::actor_cell cell_;
};

namespace detail {
/// Internal: an actor's runtime half, for the library's own kinds of actor (receivers).
struct cell_access {
  static actor_cell& cell(actor_base& a) noexcept { return a.cell_; }
};
}  // namespace detail

template <class OnReply, class OnError>
void request_handle::then(OnReply on_reply, OnError on_error) {
  using R = detail::single_arg_t<OnReply>;
  static_assert(registered_message<R>, "the reply type must be registered with ACTOR_MESSAGE");
  self_->set_continuation(id_, [f = std::move(on_reply), g = std::move(on_error)](detail::envelope& e) mutable {
    if (e.kind == detail::envelope_kind::error && e.type == &type_of<error>()) {
      g(*static_cast<const error*>(e.data));
    } else if (e.type == &type_of<R>()) {
      f(*static_cast<R*>(e.data));
    } else {
      g(error{errc::bad_message, "expected a reply of type " + std::string(message_traits<R>::name) + ", got " +
                                     std::string(e.type ? e.type->name : "nothing")});
    }
  });
}

}  // namespace actor
