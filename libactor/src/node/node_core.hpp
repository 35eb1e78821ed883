#pragma once
// node_core: what a node is made of, shared by the node object and its manager actor. The
// manager may handle a request after ~node has run (its mailbox is not empty then), so it holds
// this, never the node: nothing it uses goes before it does.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "actor/actor_ref.hpp"
#include "actor/config.hpp"
#include "actor/error.hpp"
#include "actor/expected.hpp"
#include "actor/node.hpp"

namespace actor::detail {

class router;
class name_cache;
class local_names;

struct node_core {
  actor_system& sys;
  std::shared_ptr<router> net;
  std::shared_ptr<name_cache> cache;
  std::shared_ptr<local_names> names;  // this node's own names
  actor_ref agent;                     // the node's registry agent
  std::uint64_t agent_key = 0;         // the secret of the node's requests to its agent
  std::chrono::milliseconds claim_timeout{};

  /// The node's figures (node::stats).
  [[nodiscard]] node_stats stats() const;
  /// A claim of `name` (reserved in names) failed: the reservation goes, and a claim still
  /// under way is withdrawn wherever it was made.
  void claim_failed(const std::string& name, const error& e) const;
};

/// The groups a spawn's config asks the new actor to join (key "groups", a list of group names;
/// none without the key); errc::bad_message naming the key when it is not such a list.
[[nodiscard]] expected<std::vector<std::string>> spawn_groups(const config& cfg);

}  // namespace actor::detail
