#pragma once
// registry_agent: a node's side of the registry. One actor per node, on its own
// thread (a node blocking on it from a worker must not starve it), that
//  - claims names at every registry, in one fixed order (by address), so two
//    nodes racing for a name meet at the first registry and only one wins;
//  - releases them when their actor stops or the node leaves;
//  - renews the node's lease with a heartbeat to each registry, and re-sends all
//    its names (sync) when a registry lost them (restart, lapse);
//  - resolves names: this node's own, then the cache, then the registries in
//    turn (a miss at one is asked of the next), caching hits and watching each
//    one's exact name so that a change or disappearance evicts the cached ref.
//    A cache entry's watch is removed when the entry goes (evicted, changed,
//    expired and replaced), so the registry holds at most one watch per entry;
//  - joins this node's actors to groups (memberships are names: actor/group.hpp) and
//    follows the members of the groups its actors publish to, with a prefix watch
//    at one registry, into the system's group_views.

#include <chrono>
#include <list>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "actor/actor_ref.hpp"
#include "actor/clock.hpp"
#include "actor/message.hpp"

namespace actor {
class node;
}

namespace actor::detail {

class local_names;
class group_views;

/// Name -> ref of lookups the registries answered. Read by any thread (node::lookup),
/// written by the agent. Bounded twice: at most `capacity` entries (the oldest put
/// goes first), and entries put longer than `ttl` ago go at the agent's next
/// expire() (every heartbeat), so a change notice that was lost cannot keep a stale
/// ref for longer. find() reads no clock: a cached lookup stays a hash lookup.
class name_cache {
 public:
  name_cache(std::chrono::milliseconds ttl, std::size_t capacity)
      : ttl_(ttl), capacity_(capacity == 0 ? 1 : capacity) {}

  /// The ref cached for name, or the empty ref.
  [[nodiscard]] actor_ref find(const std::string& name) const;
  /// Caches name -> ref, put at `now` (anew: its ttl starts then); returns the names
  /// evicted to make room.
  std::vector<std::string> put(const std::string& name, const actor_ref& ref, time_point now);
  /// Removes the entries put before now - ttl; returns their names.
  std::vector<std::string> expire(time_point now);
  /// Removes name (only if it holds `ref`, when ref is not empty); whether it did.
  bool erase(const std::string& name, const actor_ref& ref = {});
  /// Removes every entry; returns their names.
  std::vector<std::string> clear();
  [[nodiscard]] std::size_t size() const;

 private:
  struct entry {
    actor_ref ref;
    time_point put_at;
    std::list<std::string>::iterator order;
  };
  const std::chrono::milliseconds ttl_;
  const std::size_t capacity_;
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, entry> map_;
  std::list<std::string> order_;  // oldest put first
};

struct registry_agent_options {
  std::vector<std::string> registries;           // addresses
  std::chrono::milliseconds heartbeat{500};      // lease renewal interval
  std::chrono::milliseconds request_timeout{1000};  // per registry, per request
  std::uint64_t key = 0;                            // the secret of agent_* messages
};

// The agent's own requests, from its node. The agent's ref leaves the process (it
// is the sender of heartbeats), so these carry the node's secret `key`: messages
// from anyone else are refused.
struct agent_claim {  // -> registry_ok, or error name_taken
  std::string name;
  actor_ref ref;
  std::uint64_t key = 0;
  ACTOR_FIELDS(name, ref, key)
};
struct agent_release {  // send
  std::string name;
  std::uint64_t key = 0;
  ACTOR_FIELDS(name, key)
};
struct agent_leave {  // -> registry_ok once every registry answered or timed out
  std::uint64_t key = 0;
  ACTOR_FIELDS(key)
};
struct agent_tick {
  ACTOR_NO_FIELDS
};
// A ref the cache gave for `name` failed (no_such_actor, actor_stopped): forget it if it
// is still what the cache holds, and ask the registries again. -> registry_found.
struct agent_relookup {
  std::string name;
  actor_ref failed;
  ACTOR_FIELDS(name, failed)
};

/// Spawns the agent of node n (on its own thread). The agent keeps no reference to n: it may
/// handle a message after ~node (its mailbox is not empty then), so it takes n's name and the
/// refs of the registries now, and shares n's own names and name cache.
/// It keeps the group views of n's system up to date (groups: actor/group.hpp).
actor_ref spawn_registry_agent(node& n, registry_agent_options opts, std::shared_ptr<local_names> names,
                               std::shared_ptr<name_cache> cache, group_views& groups);

}  // namespace actor::detail

ACTOR_MESSAGE(actor::detail::agent_claim, "actor.registry.internal.claim");
ACTOR_MESSAGE(actor::detail::agent_release, "actor.registry.internal.release");
ACTOR_MESSAGE(actor::detail::agent_leave, "actor.registry.internal.leave");
ACTOR_MESSAGE(actor::detail::agent_tick, "actor.registry.internal.tick");
ACTOR_MESSAGE(actor::detail::agent_relookup, "actor.registry.internal.relookup");
