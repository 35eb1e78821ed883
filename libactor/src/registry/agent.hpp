#pragma once
// registry_agent: a node's side of the registry. One actor per node, on its own
// thread (a node blocking on it from a worker must not starve it), that
//  - claims names at every registry, in one fixed order (by address), so two
//    nodes racing for a name meet at the first registry and only one wins;
//  - releases them when their actor stops or the node leaves;
//  - renews the node's lease with a heartbeat to each registry, and re-sends all
//    its names (sync) when a registry lost them (restart, lapse);
//  - resolves names: this node's own, then the cache, then the registries in
//    turn (a miss at one is asked of the next), caching hits and watching them so
//    that a change or disappearance evicts the cached ref.

#include <chrono>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "actor/actor_ref.hpp"
#include "actor/message.hpp"

namespace actor {
class node;
}

namespace actor::detail {

/// Name -> ref of lookups the registries answered. Read by any thread (node::lookup),
/// written by the agent.
class name_cache {
 public:
  [[nodiscard]] actor_ref find(const std::string& name) const {
    std::shared_lock lk(mu_);
    auto it = map_.find(name);
    return it == map_.end() ? actor_ref{} : it->second;
  }
  void put(const std::string& name, const actor_ref& ref);
  void erase(const std::string& name);
  void clear();
  [[nodiscard]] std::size_t size() const;

 private:
  static constexpr std::size_t max_entries = 100000;
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, actor_ref> map_;
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

/// Spawns the agent of node n (on its own thread).
actor_ref spawn_registry_agent(node& n, registry_agent_options opts, std::shared_ptr<name_cache> cache);

}  // namespace actor::detail

ACTOR_MESSAGE(actor::detail::agent_claim, "actor.registry.internal.claim");
ACTOR_MESSAGE(actor::detail::agent_release, "actor.registry.internal.release");
ACTOR_MESSAGE(actor::detail::agent_leave, "actor.registry.internal.leave");
ACTOR_MESSAGE(actor::detail::agent_tick, "actor.registry.internal.tick");
