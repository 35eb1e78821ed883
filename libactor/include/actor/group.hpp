#pragma once
/// Groups (Erlang's pg): named, cluster-wide sets of actors. Any actor joins and leaves; a
/// publish reaches every member, on every node, once (docs/groups.md).
///
///   class listener final : public actor::actor_base {
///     void on_start() override { (void)join_group("alerts"); }
///     actor::behavior make_behavior() override { return {[](const alert& a) { ... }}; }
///   };
///   ... publish("alerts", alert{"disk full"});   // from any actor, on any node
///
/// Contract (actor_base::join_group, leave_group, publish; a node runs them: actor/node.hpp):
///  - Membership is held by the registries, as names of the member's node: a member is the name
///    "pg/GROUP/NODE-ADDRESS/ACTOR-ID" (actorctl names pg/ lists them). So a member is removed when
///    it stops, when it leaves, and when its node stops, restarts (a new incarnation) or stops
///    renewing its lease (killed, frozen, cut off): the registries' lease, not a guess.
///  - join_group(group) answers group_joined once the registries hold the membership (every registry
///    answered or timed out); errc::bad_message for a bad group name; errc::unauthorized when
///    another node's actor asks to join an actor of this node; errc::actor_stopped when the member
///    stopped before its join came. Joining twice is one membership (two joins at once: one claim).
///    Without a registry (--registry) groups are local to the node.
///  - publish(group, msg) sends msg to each member once, with the publisher as sender: the
///    members its node knows at that moment. A node learns a group's members the first time one
///    of its actors publishes to it (a watch at a registry: the group's changes reach it from
///    then on); publishes made before the members are known are held and sent when they are (at
///    most group_publishes_held per group; past it they are dropped and counted,
///    system_stats::group_publishes_dropped, as when no registry answers). Per publisher, members
///    receive its publishes in publish order, after what it sent them before. A member that joined after the node learned the
///    members receives publishes from when its join reaches the node (its registry's change
///    notice), so "publish right after join" may miss it; join_group's answer only says the registries
///    hold it. A message to a member on a node that is down is lost like any send.
///  - Group names: 1 to 200 bytes, no '/'.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "actor/actor_ref.hpp"
#include "actor/fields.hpp"
#include "actor/message.hpp"

namespace actor {

/// Publishes held per group while its members are being learned.
inline constexpr std::size_t group_publishes_held = 1024;
/// The longest group name.
inline constexpr std::size_t max_group_name = 200;

/// Joins `member` (empty: the sender) to `group`, through the member's node's name service
/// (node::name_service). -> group_joined.
struct group_join {
  std::string group;
  actor_ref member;
  ACTOR_FIELDS(group, member)
};
struct group_joined {
  std::string group;
  std::string name;  ///< the membership's registry name
  ACTOR_FIELDS(group, name)
};
/// `member` (empty: the sender) leaves `group`. A send: nothing answers it.
struct group_leave {
  std::string group;
  actor_ref member;
  ACTOR_FIELDS(group, member)
};
/// The members of `group` as the node knows them (it starts following the group). -> group_members.
struct group_members_request {
  std::string group;
  ACTOR_FIELDS(group)
};
struct group_members {
  std::string group;
  std::vector<actor_ref> members;  ///< sorted by membership name
  ACTOR_FIELDS(group, members)
};

/// The registry name prefix of group's members: "pg/GROUP/".
[[nodiscard]] std::string group_prefix(const std::string& group);
/// Empty when `group` is a valid group name, else what is wrong with it.
[[nodiscard]] std::string group_name_problem(const std::string& group);

}  // namespace actor

ACTOR_MESSAGE(actor::group_join, "actor.group.join");
ACTOR_MESSAGE(actor::group_joined, "actor.group.joined");
ACTOR_MESSAGE(actor::group_leave, "actor.group.leave");
ACTOR_MESSAGE(actor::group_members_request, "actor.group.members");
ACTOR_MESSAGE(actor::group_members, "actor.group.member_list");
