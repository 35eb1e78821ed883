#pragma once
/// Supervisors: an actor of type "supervisor" (registered by actor::node on every node) that
/// starts children from specs, watches them with monitor() and restarts them by a strategy,
/// with a restart intensity and an exponential backoff with jitter (docs/supervisors.md).
///
///   actor::supervisor_spec spec;
///   spec.strategy = actor::supervisor_strategy::one_for_one;
///   spec.children.push_back({.type = "counter", .name = "hits"});
///   auto sup = node.spawn("supervisor", "sup", spec.to_config());
///
/// The same spec as a config map (actorctl spawn supervisor sup '{...}', actor-node --spawn
/// 'supervisor:sup={...}'):
///   {"strategy": "one_for_one", "intensity": 3, "period_ms": 5000,
///    "backoff_min_ms": 100, "backoff_max_ms": 10000, "backoff_jitter": 0.2,
///    "spawn_timeout_ms": 2000,
///    "children": [{"type": "counter", "name": "hits", "config": {"start": 0},
///                  "restart": "permanent", "node": "tcp://10.0.0.2:7000",
///                  "fallback_nodes": ["tcp://10.0.0.3:7000"], "shutdown_ms": 5000}]}
/// Every key is optional but "children" entries' "type"; unknown keys are an error.
///
/// Contract of the supervisor actor:
///  - Children start in spec order, one after the other (a child on another node, or with a
///    name, is spawned through its node's manager: the start waits for its reply).
///  - A child that is gone is restarted by its restart kind (permanent: always; transient:
///    when its down_reason is abnormal(); temporary: never, it is forgotten) and by the
///    strategy: one_for_one restarts it alone, one_for_all stops every other child (reverse
///    start order) and restarts all, rest_for_one stops and restarts those started after it.
///    A temporary child stopped for a sibling is not restarted.
///  - Restarts wait backoff: min * 2^(n-1) capped at max, times a random factor in
///    [1 - jitter, 1 + jitter] (capped at max again), n counting the child's restarts since it
///    last stayed up for backoff_max. The time of the next restart is in the stats reply.
///  - More than `intensity` restarts within `period`: the supervisor stops its children
///    (ordered shutdown) and stops itself with reason shutdown, which its own monitors (a
///    parent supervisor) see. A child that cannot be spawned counts as a restart, unless the
///    failure is its node being down, late or shutting down (node_down, timeout,
///    shutting_down): then the next start is tried on the next node of its list (node, then
///    fallback_nodes) in turn; after a whole round without success, the backoff (at least
///    10 ms, whatever backoff_max says, so that no node to start on is never a busy loop) and
///    the round again, indefinitely.
///  - A child whose node is declared down (node_down) is restarted, after the backoff, on the
///    next node of its list (node, then fallback_nodes, wrapping around: the node it ran on is
///    tried last), each try bounded by spawn_timeout; one whose node restarted
///    (node_restarted: it is up again) on that node first.
///  - When the supervisor's own node stops (node::shutdown, or the node destroyed while the
///    system lives on), nothing can be started from it any more: the supervisor stops its
///    children (ordered shutdown) and itself, with reason shutdown and the text "the
///    supervisor's node has stopped".
///  - A named child's name is released when it stops, before its supervisor hears of it, and
///    is claimed again by the new child: looking the name up again reaches the new actor.
///  - Ordered shutdown (a stop request to the supervisor, or intensity exceeded): children
///    are stopped one by one in reverse start order, each with its shutdown timeout; a child
///    that has not stopped by then is "killed": in this cooperative runtime a handler cannot be
///    preempted, so killing means the supervisor stops waiting, forgets the child (demonitor)
///    and goes on; the child's stop request stays queued and it stops when its running handler
///    returns. The stop request is answered `stopped` after the last child.
///  - A child's death is logged once, as a structured line: component "supervisor", event
///    "child_down", with the child, its reason (what, text, error_type) and what is done.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "actor/actor_ref.hpp"
#include "actor/config.hpp"
#include "actor/expected.hpp"
#include "actor/fields.hpp"
#include "actor/message.hpp"

namespace actor {

enum class restart_kind : std::uint8_t {
  permanent,  ///< always restarted
  transient,  ///< restarted when it died abnormally (down_reason::abnormal())
  temporary,  ///< never restarted
};
enum class supervisor_strategy : std::uint8_t { one_for_one, one_for_all, rest_for_one };

[[nodiscard]] std::string_view to_string(restart_kind k) noexcept;
[[nodiscard]] std::string_view to_string(supervisor_strategy s) noexcept;

/// One child of a supervisor.
struct child_spec {
  std::string type;   ///< a registered actor type name (on the node that spawns it)
  actor::config config;
  std::string name;   ///< registered on the child's node when not empty; the child's id in stats
  restart_kind restart = restart_kind::permanent;
  std::string node;   ///< address of the node to spawn on; empty: the supervisor's node
  std::vector<std::string> fallback_nodes;  ///< where to restart when `node` does not answer
  std::chrono::milliseconds shutdown{5000};  ///< how long a stop may take before it is killed
};

struct supervisor_spec {
  supervisor_strategy strategy = supervisor_strategy::one_for_one;
  int intensity = 3;                          ///< restarts allowed within period (0: none)
  std::chrono::milliseconds period{5000};
  std::chrono::milliseconds backoff_min{100};  ///< 0: restart at once
  std::chrono::milliseconds backoff_max{10000};
  double backoff_jitter = 0.2;                 ///< in [0, 1)
  std::chrono::milliseconds spawn_timeout{2000};  ///< a spawn through a node's manager
  std::vector<child_spec> children;

  /// Reads a spec from a config map (the keys in the header comment); errc::bad_message
  /// naming the key when a value is missing, of the wrong type or out of range.
  [[nodiscard]] static expected<supervisor_spec> from_config(const config& cfg);
  /// The config map from_config reads back.
  [[nodiscard]] config to_config() const;
};

// ---- the supervisor's protocol ------------------------------------------------------

/// Ask a supervisor for its state -> supervisor_stats.
struct supervisor_stats_request {
  ACTOR_NO_FIELDS
};
struct supervisor_child_stats {
  std::string name;   ///< the child's name, or "#<index>" for an unnamed one
  std::string type;
  std::string node;   ///< where it runs now (empty: the supervisor's node)
  actor_ref ref;      ///< the running child, or nil while it is down
  std::string state;  ///< waiting (a start is queued), starting, running, stopping,
                      ///< restarting (waiting for its backoff), stopped
  std::uint64_t restarts = 0;
  std::int64_t next_restart_in_ms = -1;  ///< while restarting: time left, on the system's clock
  std::string last_reason;               ///< the last down_reason, described
  ACTOR_FIELDS(name, type, node, ref, state, restarts, next_restart_in_ms, last_reason)
};
struct supervisor_stats {
  std::string strategy;
  std::uint64_t restarts = 0;  ///< restarts since start
  std::uint64_t restarts_in_period = 0;
  std::vector<supervisor_child_stats> children;  ///< in start order
  /// earlier children lost with their node (node_down) that may still run: asked to stop every
  /// second until their node answers (for at most 10 minutes)
  std::uint64_t orphans = 0;
  ACTOR_FIELDS(strategy, restarts, restarts_in_period, children, orphans)
};

}  // namespace actor

ACTOR_MESSAGE(actor::supervisor_stats_request, "actor.supervisor.stats");
ACTOR_MESSAGE(actor::supervisor_stats, "actor.supervisor.stats_reply");
