#pragma once
// bridge_observations: the observations a Bridge holds (bridge::observe, observation_handle;
// docs/observe.md "From outside").
//
// Each observation has an id of its own, from the Bridge's inbox ids: the sender of its
// actor.observe / actor.observe.ack / actor.unobserve (correlation: the same id), and the
// receiver its notifications come back to (correlation: their sequence number). Its end comes
// from a Bridge monitor (bridge_monitors) on the observed actor: actor.down, or the node
// declared down or restarted. Notifications are counted handled when the user takes them
// (next() returns them, or the callback returned): the acknowledgements follow the user, so a
// user that stops reading stops the stream at the observed actor's queue bound.
//
// Thread-safety: every member may be called from any thread; the inbox and the monitor's
// callback run on the I/O thread; next() on the user's.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "actor/bridge.hpp"
#include "actor/observe.hpp"
#include "bridge/io.hpp"
#include "bridge/monitors.hpp"

namespace actor::detail {

struct observation_state {
  std::uint64_t id = 0;  // our sender and receiver id, and the observation id
  std::optional<::actor::target> followed;  // a name (or a name on a node): resolved again by next()
  std::vector<std::string> types;
  std::uint64_t queue = 0;

  std::mutex mu;
  std::condition_variable cv;
  wire_ref target;
  actor_ref who;
  std::vector<std::string> outputs;
  std::shared_ptr<monitor_state> monitor;
  bool answered = false;  // the observe.reply of the current subscription came
  bool started = false;   // bridge::observe returned it (on_end is for running observations only)
  std::deque<observed> events;
  std::uint64_t next_seq = 1;
  std::uint64_t unacked = 0;    // notifications taken since the last acknowledgement
  std::uint64_t last_taken = 0;  // the sequence number of the last one taken
  std::uint64_t lost = 0;
  std::optional<::actor::down_reason> gone;  // the observed actor is gone (not followed yet)
  std::optional<error> closed;               // refused, cancelled, or the Bridge ended
  std::function<void(const observed&)> callback;
  std::function<void(const error&)> on_end;
  std::thread::id calling;  // the thread running a callback now
};

class bridge_observations {
 public:
  bridge_observations(bridge_io& io, bridge_monitors& monitors) : io_(io), monitors_(monitors) {}

  /// Registers st (st->id set), subscribes it to `target` and waits for the observed actor's
  /// answer until `deadline`. Errors (st is forgotten): bad_message (refused: not an output),
  /// actor_stopped / node_down (gone before it answered), timeout, overloaded, shutting_down.
  expected<void> start(const std::shared_ptr<observation_state>& st, const wire_ref& target, steady_time deadline);
  /// Subscribes st again, to `target` (an observed name now held by it); does not wait. False
  /// when it could not (overloaded, shutting_down, or st ended meanwhile).
  bool resubscribe(const std::shared_ptr<observation_state>& st, const wire_ref& target);
  /// The user took `n` notifications of st, the last numbered `seq`: acknowledged when due.
  void handled(observation_state& st, std::uint64_t n, std::uint64_t seq);
  /// What happened to a connection (after the monitors heard it): a node that forgot us and
  /// welcomes us again gets the observations on it again, numbered from 1.
  void on_node_event(const node_event& ev);
  /// Ends st: unobserve and demonitor go out; its next() and callback see `why`. False when ended already.
  bool end(observation_state& st, error why);
  /// The Bridge ends: every observation ends with shutting_down.
  void shutdown();
  /// Live observations; for tests.
  [[nodiscard]] std::size_t live() const;

 private:
  bool subscribe(const std::shared_ptr<observation_state>& st, const wire_ref& target);
  void on_message(const std::shared_ptr<observation_state>& st, const raw_message& m, std::uint64_t seq,
                  const wire_ref& sender);
  void on_down(const std::shared_ptr<observation_state>& st, const std::shared_ptr<monitor_state>& m,
               const ::actor::down_reason& r);
  // Runs the callback of st with the events (on this thread), then counts them handled.
  void deliver(observation_state& st, const std::function<void(const observed&)>& fn, std::vector<observed> events);

  bridge_io& io_;
  bridge_monitors& monitors_;
  mutable std::mutex mu_;
  std::unordered_map<std::uint64_t, std::weak_ptr<observation_state>> live_;
};

/// The observations of a bridge (bridge.cpp), for observation_handle.
[[nodiscard]] bridge_observations& observations_of(bridge_core& core) noexcept;
/// Resolves a target through `core` (a name, or a name on a node), for observation_handle::next.
expected<wire_ref> resolve_target(bridge_core& core, const ::actor::target& t, steady_time deadline);

}  // namespace actor::detail
