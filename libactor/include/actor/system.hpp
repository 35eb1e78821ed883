#pragma once
/// actor_system: runs actors on a pool of worker threads (M:N), or each on a
/// dedicated thread, and owns the clock behind every deadline and timer.

#include <chrono>
#include <cstddef>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "actor/actor_base.hpp"
#include "actor/actor_ref.hpp"
#include "actor/clock.hpp"
#include "actor/config.hpp"
#include "actor/expected.hpp"
#include "actor/message.hpp"

namespace actor {

/// The busy_poll of system_options and node_options unless set.
inline constexpr std::chrono::microseconds default_busy_poll{200};

struct system_options {
  /// Worker threads of the pool; 0: one per core.
  std::size_t workers = 0;
  /// How many messages an actor handles before it yields its worker to others.
  std::size_t throughput = 256;
  /// How long a worker with nothing to do keeps looking for work before it
  /// sleeps. A message that comes within it is taken without a wake-up (tens of
  /// microseconds on a busy machine); the price is CPU spent polling, yielding
  /// to any other runnable thread, after each burst of work. 0: sleep at once.
  std::chrono::microseconds busy_poll{default_busy_poll};
  /// The clock for deadlines and timers; null: the real steady clock.
  std::shared_ptr<actor::clock> clock;
};

/// Counters of a system, read with stats().
struct system_stats {
  std::size_t actors_alive = 0;
  std::uint64_t actors_spawned = 0;
  std::uint64_t actors_crashed = 0;
  std::uint64_t dead_letters = 0;  ///< messages that reached a stopped actor, or no handler
  /// Replies (and errors) to an actor's requests that came after the request's outcome, its
  /// timeout: dropped, never handled as messages.
  std::uint64_t late_replies = 0;
  std::size_t monitors = 0;  ///< monitors on this system's actors (by local or remote watchers)
  std::size_t links = 0;     ///< link entries held by this system's actors (a local pair counts twice)
  // observe and notify (actor/observe.hpp)
  std::size_t observers = 0;  ///< observations of this system's actors (by local or remote observers)
  std::uint64_t notifications_sent = 0;     ///< by this system's actors, one per observer
  std::uint64_t notifications_dropped = 0;  ///< by this system's actors: an observer's queue was full
  std::uint64_t notifications_lost = 0;     ///< gaps this system's observers found (dropped elsewhere)
  std::uint64_t notifications_unhandled = 0;  ///< reached an observer here without a handler
  std::uint64_t notifications_stale = 0;    ///< reached an actor that no longer observes their sender
  // groups (actor/group.hpp)
  std::size_t groups_followed = 0;             ///< groups whose members this system's node follows
  std::uint64_t group_publishes_dropped = 0;   ///< publishes whose group's members could not be learned
};

namespace detail {
struct system_state;
struct system_access;
}  // namespace detail

/// Thread-safe: every member may be called from any thread, including from actors.
/// Destroying the system stops every actor still running (on_stop runs) and waits
/// for them: handlers must return.
class actor_system {
 public:
  explicit actor_system(system_options opts = {});
  ~actor_system();
  actor_system(const actor_system&) = delete;
  actor_system& operator=(const actor_system&) = delete;

  /// Starts a T(args...) on the worker pool; make_behavior and on_start run there.
  template <class T, class... Args>
  actor_ref spawn(Args&&... args) {
    static_assert(std::is_base_of_v<actor_base, T>, "T must derive from actor::actor_base");
    return launch(new T(std::forward<Args>(args)...), false);
  }
  /// Starts a T(args...) on a thread of its own, for handlers that block.
  template <class T, class... Args>
  actor_ref spawn_detached(Args&&... args) {
    static_assert(std::is_base_of_v<actor_base, T>, "T must derive from actor::actor_base");
    return launch(new T(std::forward<Args>(args)...), true);
  }

  /// Makes T spawnable by name. T is built as T(const config&) when it has that
  /// constructor, else default-constructed. A second registration of a name replaces the first.
  template <class T>
  void register_actor_type(std::string name) {
    static_assert(std::is_base_of_v<actor_base, T>, "T must derive from actor::actor_base");
    add_actor_type(std::move(name), [](const config& cfg) -> actor_base* {
      if constexpr (std::is_constructible_v<T, const config&>) {
        return new T(cfg);
      } else {
        return new T();
      }
    });
  }
  /// Makes a type spawnable by name through a factory of one's own, for types that need
  /// more than their config (the node registers "supervisor" so). The factory runs on the
  /// spawning thread and returns a new actor (ownership passes to the system); throwing
  /// rejects the config (spawn gives errc::bad_message with the exception's text).
  void register_actor_factory(std::string name, std::function<actor_base*(const config&)> factory) {
    add_actor_type(std::move(name), std::move(factory));
  }
  /// Spawns an actor of a registered type; errc::unknown_type when the name is not
  /// registered, errc::bad_message when the configuration is rejected (its constructor threw).
  expected<actor_ref> spawn(std::string_view type_name, const config& cfg = {}, bool detached = false);
  /// The registered actor type names, sorted.
  [[nodiscard]] std::vector<std::string> actor_types() const;

  /// Sends msg to `to` from outside any actor (anonymous sender).
  template <registered_message T>
  void send(const actor_ref& to, T&& msg) {
    detail::deliver(to, detail::make_envelope(std::forward<T>(msg), detail::envelope_kind::send, {}));
  }

  /// Requests from outside any actor: the future gets exactly one outcome, the reply
  /// of type R or an error (timeout at the deadline, actor_stopped, remote_error, ...).
  template <registered_message R, registered_message T>
  std::future<expected<R>> request(const actor_ref& to, T&& msg, duration timeout);

  /// Stops `to` and waits: stopped, or the error (e.g. actor_stopped, timeout).
  std::future<expected<stopped>> stop(const actor_ref& to, duration timeout) {
    return request<stopped>(to, stop_msg{}, timeout);
  }

  /// Stops every running actor (their on_stop runs; requests still queued for them fail
  /// with shutting_down) and waits up to `limit` for them; false when some did not stop
  /// in time (a handler that never returns). Idempotent; the destructor calls it too.
  bool shutdown(std::chrono::milliseconds limit = std::chrono::milliseconds::max());
  [[nodiscard]] bool shutting_down() const noexcept;

  /// Called with an actor's id when it stops, on the thread that stopped it; must be
  /// quick and must not block. One observer (a node sets it); null to clear.
  void set_stop_observer(std::function<void(std::uint64_t)> fn);

  [[nodiscard]] actor::clock& clock() const noexcept;
  [[nodiscard]] system_stats stats() const;
  /// Blocks until no actor is running.
  void await_all_actors_done();
  /// Like await_all_actors_done, with a deadline on the real clock; false on timeout.
  bool await_all_actors_done_for(std::chrono::milliseconds limit);

 private:
  friend struct detail::system_access;

  actor_ref launch(actor_base* a, bool detached);
  void add_actor_type(std::string name, std::function<actor_base*(const config&)> factory);
  std::uint64_t next_id() noexcept;

  std::unique_ptr<detail::system_state> state_;
};

namespace detail {

/// Internal (actor_system::request): where a request from outside any actor
/// leads its outcome. complete(target, outcome) runs exactly once, on any
/// thread: with the reply, or with an error (a reply of type error, the
/// timeout, no_such_actor); it must not throw.
struct reply_receiver {
  std::shared_ptr<void> target;
  void (*complete)(void* target, envelope& outcome) noexcept;
};

/// Internal: the actor that answers registry_lookup for the actors of sys (a node's name
/// service), what observe(name) asks; the empty ref: none (a node sets it while it runs).
void set_name_service(actor_system& sys, actor_ref names);
/// Internal: clears the name service if it is still `names` (a node that stops clears its own,
/// never one a newer node set).
void clear_name_service(actor_system& sys, const actor_ref& names);

/// Internal: starts an actor made elsewhere (a receiver); the system owns it from here.
actor_ref launch_actor(actor_system& sys, actor_base* a);

/// Internal: sends e (a request envelope, null when `to` is empty) from a
/// one-shot endpoint that hands its first outcome to r and then stops waiting.
void request_from_outside(actor_system& sys, const actor_ref& to, envelope* e, duration timeout, reply_receiver r);

/// The outcome e as expected<R>: a reply of type R (moved from e), an error, or
/// bad_message for a reply of another type.
template <class R>
expected<R> reply_as(envelope& e) {
  if (e.type == &type_of<R>() && e.kind != envelope_kind::error) return std::move(*static_cast<R*>(e.data));
  if (e.type == &type_of<error>()) return *static_cast<error*>(e.data);
  return error{errc::bad_message, "expected a reply of type " + std::string(message_traits<R>::name) + ", got " +
                                      std::string(e.type ? e.type->name : "nothing")};
}

template <class R>
void complete_promise(void* target, envelope& outcome) noexcept {
  try {
    static_cast<std::promise<expected<R>>*>(target)->set_value(reply_as<R>(outcome));
  } catch (...) {
  }
}

}  // namespace detail

template <registered_message R, registered_message T>
std::future<expected<R>> actor_system::request(const actor_ref& to, T&& msg, duration timeout) {
  auto p = std::make_shared<std::promise<expected<R>>>();
  auto fut = p->get_future();
  auto* e = to ? detail::make_envelope(std::forward<T>(msg), detail::envelope_kind::request, {}, 1) : nullptr;
  detail::request_from_outside(*this, to, e, timeout, {std::move(p), &detail::complete_promise<R>});
  return fut;
}

}  // namespace actor
