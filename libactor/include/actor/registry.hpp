#pragma once
/// The registry: a cluster-wide table of names -> actor refs, and its protocol.
///
/// An actor-registry process is a node whose registry service answers at the
/// well-known id `registry_id` (1). Nodes started with --registry register the
/// names of their actors there, renew them with heartbeats (names are leases of
/// the node hosting the actor), and resolve names through it. Several registries
/// (replicas) are independent: nodes register with every one of them and fail
/// lookups over from one to the next. See docs/protocol.md, "The registry".

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "actor/actor_ref.hpp"
#include "actor/message.hpp"

namespace actor {

class node;

// ---- requests and replies --------------------------------------------------------

/// Register `name` for `ref` (an actor on some node). errc::name_taken when a live
/// actor holds it already; re-registering the same ref is fine (existed = true).
struct registry_register {
  std::string name;
  actor_ref ref;
  ACTOR_FIELDS(name, ref)
};
/// Remove `name` if `ref` holds it (a name held by another actor is left alone).
struct registry_unregister {
  std::string name;
  actor_ref ref;
  ACTOR_FIELDS(name, ref)
};
/// The answer to register, unregister and unwatch.
struct registry_ok {
  bool existed = false;
  ACTOR_FIELDS(existed)
};
/// Resolve a name: registry_found, or errc::no_such_actor.
struct registry_lookup {
  std::string name;
  ACTOR_FIELDS(name)
};
struct registry_found {
  std::string name;
  actor_ref ref;
  ACTOR_FIELDS(name, ref)
};
struct registry_entry {
  std::string name;
  actor_ref ref;
  ACTOR_FIELDS(name, ref)
};
/// Every name starting with prefix ("" for all): registry_entries, sorted by name.
struct registry_list {
  std::string prefix;
  ACTOR_FIELDS(prefix)
};
struct registry_entries {
  std::vector<registry_entry> entries;
  ACTOR_FIELDS(entries)
};
/// Subscribe the sender to changes of names starting with prefix (with `exact`: of
/// the name `prefix` only): the answer is the current registry_entries; each later
/// change is sent (kind send) to the sender as a registry_changed. A watch is a lease
/// of the sender's node, like its names, and ends with unwatch (the same `exact`).
struct registry_watch {
  std::string prefix;
  bool exact = false;
  ACTOR_FIELDS(prefix, exact)
};
struct registry_unwatch {
  std::string prefix;
  bool exact = false;
  ACTOR_FIELDS(prefix, exact)
};
/// A name appeared, changed (now another ref) or disappeared (ref empty).
struct registry_changed {
  std::string name;
  actor_ref ref;
  std::string event;  ///< "appeared", "changed" or "disappeared"
  ACTOR_FIELDS(name, ref, event)
};
/// Renews the leases of the sender's node; `names` is how many names the node
/// believes it holds here. The answer says how many the registry holds for it,
/// whether its lease was still running (`known`; false after a registry restart or
/// a lapse), and the registry's incarnation: on a mismatch the node sends a sync.
struct registry_heartbeat {
  std::uint64_t names = 0;
  ACTOR_FIELDS(names)
};
struct registry_lease {
  std::uint64_t held = 0;
  bool known = false;
  std::uint64_t lease_ms = 0;
  std::uint64_t incarnation = 0;
  ACTOR_FIELDS(held, known, lease_ms, incarnation)
};
/// Replaces every name of the sender's node with `entries`; names a live actor of
/// another node holds are not taken, and come back in `rejected`.
struct registry_sync {
  std::vector<registry_entry> entries;
  ACTOR_FIELDS(entries)
};
struct registry_synced {
  std::vector<std::string> rejected;
  ACTOR_FIELDS(rejected)
};
/// The registry's own figures: registry_stats_reply.
struct registry_stats {
  ACTOR_NO_FIELDS
};
struct registry_stats_reply {
  std::uint64_t names = 0;           ///< names held
  std::uint64_t owners = 0;          ///< nodes and clients with a running lease
  std::uint64_t watches = 0;         ///< watches held (exact and prefix)
  std::uint64_t prefix_watches = 0;  ///< of which on a prefix
  std::uint64_t superseded = 0;      ///< node incarnations superseded by a newer one at their address, since start
  ACTOR_FIELDS(names, owners, watches, prefix_watches, superseded)
};

// ---- hosting a registry ----------------------------------------------------------

struct registry_options {
  /// How long a node's names and watches live without a heartbeat.
  std::chrono::milliseconds lease{2000};
  /// Other registries to copy the table from at start (replicas). Nodes register
  /// with every replica anyway; this only shortens the time a restarted replica is
  /// incomplete.
  std::vector<std::string> peers;
};

/// Starts the registry service on `n` and makes it answer at registry_id. Returns
/// its ref. Thread-safe; the service stops with the node's actor system.
actor_ref host_registry(node& n, registry_options opts = {});

}  // namespace actor

ACTOR_MESSAGE(actor::registry_register, "actor.registry.register");
ACTOR_MESSAGE(actor::registry_unregister, "actor.registry.unregister");
ACTOR_MESSAGE(actor::registry_ok, "actor.registry.ok");
ACTOR_MESSAGE(actor::registry_lookup, "actor.registry.lookup");
ACTOR_MESSAGE(actor::registry_found, "actor.registry.found");
ACTOR_MESSAGE(actor::registry_list, "actor.registry.list");
ACTOR_MESSAGE(actor::registry_entries, "actor.registry.entries");
ACTOR_MESSAGE(actor::registry_watch, "actor.registry.watch");
ACTOR_MESSAGE(actor::registry_unwatch, "actor.registry.unwatch");
ACTOR_MESSAGE(actor::registry_changed, "actor.registry.changed");
ACTOR_MESSAGE(actor::registry_heartbeat, "actor.registry.heartbeat");
ACTOR_MESSAGE(actor::registry_lease, "actor.registry.lease");
ACTOR_MESSAGE(actor::registry_sync, "actor.registry.sync");
ACTOR_MESSAGE(actor::registry_synced, "actor.registry.synced");
ACTOR_MESSAGE(actor::registry_stats, "actor.registry.stats");
ACTOR_MESSAGE(actor::registry_stats_reply, "actor.registry.stats_reply");
