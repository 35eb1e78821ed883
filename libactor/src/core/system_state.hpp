#pragma once
// The private state of an actor_system, shared by the system and its actors.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "actor/system.hpp"
#include "core/group_views.hpp"
#include "core/scheduler.hpp"

namespace actor::detail {

struct system_state {
  explicit system_state(system_options o);

  system_options opts;
  std::shared_ptr<actor::clock> clock;
  std::unique_ptr<scheduler> pool;
  std::atomic<std::uint64_t> next_id{service_ids};  // ids below are well-known services
  std::atomic<bool> shutting_down{false};  // set by ~actor_system: stops are for shutdown

  // counters
  std::atomic<std::uint64_t> spawned{0};
  std::atomic<std::uint64_t> crashed{0};
  std::atomic<std::uint64_t> dead_letters{0};
  std::atomic<std::uint64_t> late_replies{0};  // outcomes of requests that had one already (a timeout)
  std::atomic<std::int64_t> monitors{0};  // watcher entries held by actors (core/monitors.cpp)
  std::atomic<std::int64_t> links{0};     // link entries held by actors
  // observe and notify (core/observe.cpp)
  std::atomic<std::int64_t> observers{0};  // observers of this system's actors
  std::atomic<std::uint64_t> notifications_sent{0};
  std::atomic<std::uint64_t> notifications_dropped{0};
  std::atomic<std::uint64_t> notifications_lost{0};
  std::atomic<std::uint64_t> notifications_unhandled{0};
  std::atomic<std::uint64_t> notifications_stale{0};

  // the node's name service (set by a node while it runs): what observe(name) asks
  std::mutex names_mu;
  actor_ref name_service;
  // the members of groups this system's actors publish to (kept by the node's agent)
  group_views groups;

  // every running actor, in an intrusive list that holds a reference to each
  std::mutex live_mu;
  std::condition_variable live_cv;
  actor_cell* live_head = nullptr;
  std::size_t live_count = 0;

  // dedicated threads still running
  std::mutex threads_mu;
  std::condition_variable threads_cv;
  std::size_t threads_running = 0;

  std::mutex observer_mu;
  std::function<void(std::uint64_t)> stop_observer;

  mutable std::mutex types_mu;
  std::map<std::string, std::function<actor_base*(const config&)>, std::less<>> types;
};

// The runtime's access to an actor_system's state.
struct system_access {
  static system_state& state(actor_system& sys) noexcept { return *sys.state_; }
  static actor_ref launch(actor_system& sys, actor_base* a) { return sys.launch(a, false); }
};

// Access to actor_cell's list links.
struct live_list {
  static void add(system_state& s, actor_cell* a) noexcept;
  /// Unlinks a and drops the list's reference (which may delete its actor).
  static void remove(system_state& s, actor_cell* a) noexcept;
  /// Adds a reference to each listed actor and returns them.
  static std::vector<actor_ref> snapshot(system_state& s);
};

}  // namespace actor::detail
