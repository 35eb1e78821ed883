#pragma once
/// node: makes an actor_system reachable from other processes over ZeroMQ.
///
/// Refs to actors on other nodes are ordinary actor_refs: send, request and
/// stop work the same. Refs inside messages travel too. Every node answers,
/// at actor id 0 (its manager), the requests below: spawn, lookup, stats, ping.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "actor/actor_ref.hpp"
#include "actor/config.hpp"
#include "actor/expected.hpp"
#include "actor/message.hpp"
#include "actor/registry.hpp"
#include "actor/system.hpp"

namespace actor {

namespace detail {
class router;
class name_cache;
class node_core;
}

struct node_options {
  std::string name = "node";
  /// ZeroMQ endpoint to bind, e.g. tcp://127.0.0.1:7000 (port 0: any free port).
  std::string listen = "tcp://127.0.0.1:0";
  /// The address peers use to reach this node; empty: the bound endpoint.
  /// Needed when listening on a wildcard address (containers, NAT).
  std::string advertise;
  std::chrono::milliseconds heartbeat_interval{500};
  std::chrono::milliseconds suspect_after{1000};
  /// Silence after which a peer is down and requests pending on it fail with node_down.
  std::chrono::milliseconds down_after{2000};
  std::size_t max_message_size = 16u << 20;
  /// Envelopes queued for one peer before senders get `overloaded`.
  std::size_t peer_queue_limit = 100000;
  /// Envelopes from the network delivered to local actors but not yet handled;
  /// beyond it, requests are answered `overloaded` and sends are dropped (counted).
  std::size_t inbound_limit = 200000;
  int linger_ms = 200;
  /// After network traffic, how long the I/O thread keeps polling its sockets
  /// before it blocks: what comes within it is read without a wake-up. The
  /// price is CPU (yielding to other runnable threads) after each burst. 0: block at once.
  std::chrono::microseconds busy_poll{default_busy_poll};
  /// Addresses of actor-registry processes (replicas). Empty: names resolve on this node only.
  std::vector<std::string> registries;
  /// How long one request to a registry may take before the next replica is asked.
  std::chrono::milliseconds registry_timeout{1000};
  /// Act as a client gateway (docs/protocol.md "Gateways"): accept clients that say HELLO
  /// with role "gateway-client" and forward what they send to other nodes, and the answers
  /// back. Off by default: a gateway lets every client that reaches this node reach every
  /// node this node reaches.
  bool gateway = false;
  /// How long lookup() trusts a cached answer without asking a registry again: the
  /// bound (plus one heartbeat_interval) on a stale entry when a change notice was lost.
  std::chrono::milliseconds name_cache_ttl{10000};
  /// Names cached at most (the oldest goes first); each is watched at one registry.
  std::size_t name_cache_size = 100000;
};

// ---- the manager's protocol ------------------------------------------------------

/// Spawn an actor of a registered type; `name`, when not empty, is registered on the node.
struct spawn_request {
  std::string type;
  std::string name;
  actor::config config;
  ACTOR_FIELDS(type, name, config)
};
struct spawn_reply {
  actor_ref ref;
  ACTOR_FIELDS(ref)
};
/// Find an actor by a name registered on that node.
struct lookup_request {
  std::string name;
  ACTOR_FIELDS(name)
};
struct lookup_reply {
  actor_ref ref;
  ACTOR_FIELDS(ref)
};
struct ping_request {
  ACTOR_NO_FIELDS
};
struct ping_reply {
  std::string node;
  std::string address;
  std::uint64_t incarnation = 0;
  ACTOR_FIELDS(node, address, incarnation)
};
struct stats_request {
  ACTOR_NO_FIELDS
};
struct peer_stats {
  std::string address;
  std::string name;
  std::uint64_t incarnation = 0;
  std::string state;  ///< connecting, alive, suspect, down, refused
  ACTOR_FIELDS(address, name, incarnation, state)
};
struct node_stats {
  std::string node;
  std::string address;
  std::uint64_t incarnation = 0;
  std::uint64_t actors_alive = 0;
  std::uint64_t actors_spawned = 0;
  std::uint64_t actors_crashed = 0;
  std::uint64_t dead_letters = 0;
  std::uint64_t messages_sent = 0;      ///< envelopes sent to other processes
  std::uint64_t messages_received = 0;  ///< envelopes received from other processes
  std::uint64_t frames_sent = 0;
  std::uint64_t frames_received = 0;
  std::uint64_t decode_errors = 0;      ///< malformed frames and undecodable envelopes
  std::uint64_t undeliverable = 0;      ///< envelopes for actors this node does not have
  std::uint64_t inbound_pending = 0;    ///< envelopes from the network not yet handled
  std::uint64_t clients = 0;            ///< Bridge clients connected now
  std::uint64_t forwarded = 0;          ///< envelopes forwarded as a gateway, both ways
  std::map<std::string, std::uint64_t> dropped;  ///< by reason
  std::vector<peer_stats> peers;
  std::uint64_t monitors = 0;          ///< monitors on this node's actors (system_stats::monitors)
  std::uint64_t links = 0;             ///< link entries of this node's actors (system_stats::links)
  /// The watch table (docs/monitors.md "Across nodes"): watches between a local actor and one
  /// elsewhere, which the node fires when the other side's node goes down or restarts.
  std::uint64_t watches_monitoring = 0;  ///< local actors monitoring remote ones
  std::uint64_t watches_linked = 0;      ///< links between a local and a remote actor
  std::uint64_t watches_watched_by = 0;  ///< remote actors (or Bridge clients) monitoring local ones
  std::uint64_t watches_fired = 0;       ///< entries fired so far (node_down, node_restarted, dropped)
  /// Observe and notify (actor/observe.hpp; system_stats has the same)
  std::uint64_t observers = 0;              ///< observations of this node's actors
  std::uint64_t notifications_sent = 0;     ///< by this node's actors, one per observer
  std::uint64_t notifications_dropped = 0;  ///< an observer's queue was full: the oldest went
  std::uint64_t notifications_lost = 0;     ///< gaps this node's observers found
  std::uint64_t notifications_unhandled = 0;  ///< reached an observer here without a handler
  /// Groups (actor/group.hpp; system_stats has the same)
  std::uint64_t groups_followed = 0;          ///< groups whose members this node follows
  std::uint64_t group_publishes_dropped = 0;  ///< publishes whose group's members could not be learned
  ACTOR_FIELDS(node, address, incarnation, actors_alive, actors_spawned, actors_crashed, dead_letters,
                     messages_sent, messages_received, frames_sent, frames_received, decode_errors, undeliverable,
                     inbound_pending, clients, forwarded, dropped, peers, monitors, links, watches_monitoring,
                     watches_linked, watches_watched_by, watches_fired, observers, notifications_sent,
                     notifications_dropped, notifications_lost, notifications_unhandled, groups_followed,
                     group_publishes_dropped)
};

/// Thread-safe. Construction binds the listen address (std::runtime_error when it
/// cannot); destruction closes every socket with bounded linger and stops the node's
/// manager and registry agent (which answer what is already in their mailboxes first,
/// with what they share of the node: neither refers to the node object).
class node {
 public:
  node(actor_system& sys, node_options opts);
  ~node();
  node(const node&) = delete;
  node& operator=(const node&) = delete;

  [[nodiscard]] const std::string& name() const noexcept;
  /// Random, new at every start: refs to an earlier incarnation are stale.
  [[nodiscard]] std::uint64_t incarnation() const noexcept;
  /// The advertised address peers connect to.
  [[nodiscard]] const std::string& address() const noexcept;
  [[nodiscard]] actor_system& system() noexcept { return sys_; }

  /// This node's manager, and the manager of the node at `address`.
  [[nodiscard]] actor_ref manager() const;
  [[nodiscard]] actor_ref manager_at(const std::string& address);
  /// The service at well-known id `id` (< service_ids) of the process at `address`
  /// (registry_id: an actor-registry's name service), whatever incarnation runs there.
  [[nodiscard]] actor_ref service_at(const std::string& address, std::uint64_t id);
  /// Makes `ref` (a local actor) answer at well-known id `id` of this node.
  void provide_service(std::uint64_t id, const actor_ref& ref);

  /// Spawns a registered actor type here, registering `name` when not empty
  /// (see register_name; the actor is stopped again when the name cannot be had).
  expected<actor_ref> spawn(const std::string& type, const std::string& name = {}, const config& cfg = {});
  /// Names a local actor, on this node and at every registry: errc::name_taken when a
  /// live actor holds the name here or at a registry. The name is released when the
  /// actor stops. Blocks for at most one registry_timeout per registry; a registry
  /// that does not answer gets the name later, when it answers heartbeats again.
  expected<void> register_name(const std::string& name, const actor_ref& ref);
  /// Releases a name on this node and at the registries; false if it was not held here.
  bool unregister_name(const std::string& name);
  /// The actor registered on this node under name, or the empty ref.
  [[nodiscard]] actor_ref whereis(const std::string& name) const;
  /// Resolves a name: this node's names, then the cache of earlier answers (kept
  /// fresh by watching them at the registry), then the registries in turn.
  /// errc::no_such_actor when no registry knows it (or none is configured and the
  /// name is not on this node); errc::node_down when no registry answered. A cached
  /// answer costs a hash lookup; thread-safe.
  expected<actor_ref> lookup(const std::string& name, std::chrono::milliseconds timeout = std::chrono::seconds(5));
  /// Call when `failed`, a ref lookup(name) gave, failed with no_such_actor or
  /// actor_stopped: evicts it from the cache (if it is still what the cache holds) and
  /// asks the registries again, once; the answer as lookup's. Thread-safe.
  expected<actor_ref> lookup_again(const std::string& name, const actor_ref& failed,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(5));
  /// The actor that answers registry_lookup and registry_list for actors of this
  /// node, with the cache and failover of lookup(): what an actor sends requests to.
  [[nodiscard]] actor_ref name_service() const;
  /// Releases every name of this node at the registries, waiting up to `timeout`
  /// for their answers (a node about to stop calls it so its names go at once).
  void leave(std::chrono::milliseconds timeout);

  [[nodiscard]] node_stats stats() const;

  /// Closes the sockets: requests still pending on other nodes fail with
  /// shutting_down, and remote sends from now on too. Idempotent.
  void shutdown();

 private:
  actor_system& sys_;
  std::shared_ptr<detail::node_core> core_;  // shared with the manager actor (node/node_core.hpp)
  actor_ref manager_;                        // this node's manager (id 0)
};

}  // namespace actor

ACTOR_MESSAGE(actor::spawn_request, "actor.node.spawn");
ACTOR_MESSAGE(actor::spawn_reply, "actor.node.spawned");
ACTOR_MESSAGE(actor::lookup_request, "actor.node.lookup");
ACTOR_MESSAGE(actor::lookup_reply, "actor.node.found");
ACTOR_MESSAGE(actor::ping_request, "actor.node.ping");
ACTOR_MESSAGE(actor::ping_reply, "actor.node.pong");
ACTOR_MESSAGE(actor::stats_request, "actor.node.stats");
ACTOR_MESSAGE(actor::node_stats, "actor.node.stats_reply");
