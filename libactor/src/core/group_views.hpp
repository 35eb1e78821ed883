#pragma once
// group_views: what this process knows of the members of the groups its actors publish to
// (actor/group.hpp). One per actor_system (system_state). Publishers read it (any thread); the
// node's registry agent writes it, following each group at a registry (a prefix watch) from the
// first publish on. Publishes made before a group's members are known are held here, and sent
// by the agent when they are.
// Thread-safe.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "actor/actor_ref.hpp"
#include "actor/message.hpp"

namespace actor::detail {

/// A local actor's publish to a group whose members are being learned: asks the node's agent
/// to follow the group (a send; the agent ignores groups it follows already).
struct group_follow {
  std::string group;
  ACTOR_FIELDS(group)
};

class group_views {
 public:
  using members_ptr = std::shared_ptr<const std::vector<actor_ref>>;
  using held_publish = std::function<void(const actor_ref& to)>;

  /// The members of group as last learned, or null while they are not known.
  [[nodiscard]] members_ptr members(const std::string& group) const;

  enum class held { first, queued, dropped };
  /// Keeps `publish` until group's members are known: `first` when the group was not asked for
  /// yet (the caller asks the agent: group_follow), `dropped` (counted) past
  /// group_publishes_held.
  held hold(const std::string& group, held_publish publish);

  /// The agent: group's members are `members` (membership name -> member) from now on; held
  /// publishes are sent to them (on the calling thread).
  void set(const std::string& group, std::map<std::string, actor_ref> members);
  /// The agent: one membership of a known group appeared (ref) or went (empty ref).
  void change(const std::string& group, const std::string& name, const actor_ref& ref);
  /// The agent: group's members cannot be learned (no registry answered): its held publishes
  /// are dropped and counted, and the next publish asks again.
  void failed(const std::string& group);
  /// Whether the agent follows group (set was called and failed was not since).
  [[nodiscard]] bool known(const std::string& group) const;
  /// The node stops: every group is forgotten, held publishes are dropped and counted.
  void clear();

  [[nodiscard]] std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::size_t followed() const;

 private:
  struct view {
    bool known = false;
    std::map<std::string, actor_ref> by_name;
    members_ptr members;
    std::vector<held_publish> held;
  };
  static members_ptr snapshot(const std::map<std::string, actor_ref>& by_name);

  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, view> views_;
  std::atomic<std::uint64_t> dropped_{0};
};

}  // namespace actor::detail

ACTOR_MESSAGE(actor::detail::group_follow, "actor.group.internal.follow");
