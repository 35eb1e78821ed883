#pragma once
// bridge_monitors: the monitors a Bridge holds on actors (bridge::monitor, monitor_handle).
//
// A monitor is an `actor.monitor` envelope sent from the Bridge's monitor id (monitor_sender)
// with the monitor's id as correlation (docs/protocol.md "Monitors and links"); the target's
// `actor.down` comes back on the connection with the same correlation. Each monitor completes
// exactly once, by whoever takes it out of the table first:
//  - its actor.down (reason as the node sent it),
//  - node_event::down of the node it is routed to: node_down (a demonitor is owed to that node,
//    sent if it welcomes us again as the same incarnation, so the target forgets us),
//  - node_event::restarted / welcomed from another incarnation than the target's: node_restarted,
//  - cancel() or the Bridge's end: no down; a demonitor goes (best effort).
// After a WELCOME that follows a HELLO_AGAIN of the same incarnation (the node forgot us), the
// live monitors on that node are sent again: the target keeps one entry per (watcher, id).
//
// Thread-safety: every member may be called from any thread; completions (and the handles'
// callbacks) run outside the table's lock, on the thread that completes.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "actor/bridge.hpp"
#include "actor/monitor.hpp"
#include "bridge/io.hpp"

namespace actor::detail {

/// The Bridge's own id that sends actor.monitor / actor.demonitor and receives actor.down.
inline constexpr std::uint64_t monitor_sender = 2;

/// What a monitor_handle and the table share.
struct monitor_state {
  std::uint64_t id = 0;
  wire_ref target;
  std::string route;  // the connection the monitor went on (the target's node, or a gateway)
  actor_ref who;      // the target, as a ref

  std::mutex mu;
  std::condition_variable cv;
  std::optional<::actor::down_reason> reason;  // the outcome, once
  std::optional<error> closed;        // cancelled, or the Bridge ended, before a down
  std::function<void(const ::actor::down_reason&)> callback;
  std::thread::id calling;  // the thread running the callback now (none: nobody)

  /// Sets the outcome unless one is set; calls the callback (outside mu). False: set already.
  bool finish(::actor::down_reason r);
  /// Ends it without a down (wait() then gives `e`), unless it has an outcome.
  void close(error e);
  /// Returns once no callback runs on another thread (cancel's promise: after it, the
  /// callback's captures may be freed). From inside the callback: at once.
  void await_callback();
};

class bridge_monitors {
 public:
  explicit bridge_monitors(bridge_io& io) : io_(io) {}

  /// Records a monitor on `target` and sends its actor.monitor. Errors (nothing recorded):
  /// overloaded, shutting_down. A node already known to be down: the monitor is returned
  /// completed with node_down.
  expected<std::shared_ptr<monitor_state>> add(const wire_ref& target, actor_ref who);
  /// Takes the monitor out of the table and sends actor.demonitor: true when it was live.
  bool cancel(monitor_state& m);
  /// An envelope for monitor_sender (on the I/O thread): an actor.down completes its monitor.
  void on_message(const raw_message& m, std::uint64_t correlation);
  /// What happened to a connection (on the I/O thread).
  void on_node_event(const node_event& ev);
  /// The Bridge ends: every live monitor is closed (shutting_down) and demonitored.
  void shutdown();

  /// Live monitors, and demonitors owed to nodes that were down; for tests.
  [[nodiscard]] std::size_t live() const;
  [[nodiscard]] std::size_t owed() const;

 private:
  // Takes the monitors matching pred out of the table (under the lock) and returns them.
  std::vector<std::shared_ptr<monitor_state>> take_if(const std::function<bool(const monitor_state&)>& pred);
  void send_monitor(const monitor_state& m);
  void send_demonitor(const wire_ref& target, std::uint64_t id);

  bridge_io& io_;
  mutable std::mutex mu_;
  std::uint64_t next_id_ = 1;
  std::unordered_map<std::uint64_t, std::shared_ptr<monitor_state>> live_;
  // route -> (target, id) of monitors completed with node_down: demonitored when it is back
  std::unordered_map<std::string, std::vector<std::pair<wire_ref, std::uint64_t>>> owed_;
};

/// The monitors of a bridge (bridge.cpp), for monitor_handle.
[[nodiscard]] bridge_monitors& monitors_of(bridge_core& core) noexcept;
/// A ping of the manager of the node at `address` through `core`, for monitor_handle::sync.
expected<void> ping_node(bridge_core& core, const std::string& address, std::chrono::milliseconds timeout);

}  // namespace actor::detail
