// The registry service: the actor answering at registry_id on an actor-registry
// node. It keeps a registry_table, sweeps lapsed leases, tells watchers of
// changes, and at start copies the table of its peer replicas.

#include <algorithm>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "actor/actor_base.hpp"
#include "actor/log.hpp"
#include "actor/node.hpp"
#include "actor/registry.hpp"
#include "registry/table.hpp"
#include "net/router.hpp"

namespace actor::detail {
struct registry_sweep {
  ACTOR_NO_FIELDS
};
}  // namespace actor::detail
ACTOR_MESSAGE(actor::detail::registry_sweep, "actor.registry.internal.sweep");

namespace actor {

namespace {

using detail::registry_table;

class registry_service final : public actor_base {
 public:
  // Takes what it needs of n now: the service may handle a message after ~node (its mailbox is
  // not empty then), so it keeps no reference to the node.
  registry_service(node& n, registry_options opts)
      : address_(n.address()), incarnation_(n.incarnation()), opts_(std::move(opts)), table_(opts_.lease) {
    for (const auto& peer : opts_.peers) peers_.emplace_back(peer, n.service_at(peer, registry_id));
  }

 protected:
  void on_start() override {
    // a lease lapses at most a quarter of a lease late
    periodic_send(std::max<duration>(opts_.lease / 4, std::chrono::milliseconds(10)), detail::registry_sweep{});
    for (const auto& [address, ref] : peers_) copy_from(address, ref);
  }

  behavior make_behavior() override {
    return {
        [this](const registry_register& r) -> expected<registry_ok> {
          auto owner = owned_by_sender(r.ref);
          if (!owner) return owner.error();
          std::vector<registry_table::change> changes;
          if (auto ok = arrive(*owner, changes); !ok) return ok.error();
          auto added = table_.add(r.name, r.ref, *owner, now(), changes);
          publish(changes);
          if (!added) return added.error();
          return registry_ok{*added};
        },
        [this](const registry_unregister& r) -> expected<registry_ok> {
          auto owner = owned_by_sender(r.ref);
          if (!owner) return owner.error();
          std::vector<registry_table::change> changes;
          bool existed = table_.remove(r.name, r.ref, *owner, changes);
          publish(changes);
          return registry_ok{existed};
        },
        [this](const registry_lookup& r) -> expected<registry_found> {
          if (auto ref = table_.find(r.name)) return registry_found{r.name, ref};
          return error{errc::no_such_actor, "no actor is registered as '" + r.name + "'"};
        },
        [this](const registry_list& r) { return registry_entries{table_.list(r.prefix)}; },
        [this](const registry_watch& r) -> expected<registry_entries> {
          auto owner = owner_of(sender());
          if (!owner) return error{errc::bad_message, "a watch needs a sender to tell of changes"};
          std::vector<registry_table::change> changes;
          auto ok = arrive(*owner, changes);
          publish(changes);
          if (!ok) return ok.error();
          if (r.exact) {
            if (r.prefix.empty()) return error{errc::bad_message, "an exact watch needs a name"};
            table_.watch_name(*owner, sender(), r.prefix, now());
            registry_entries e;
            if (auto ref = table_.find(r.prefix)) e.entries.push_back({r.prefix, ref});
            return e;
          }
          table_.watch(*owner, sender(), r.prefix, now());
          return registry_entries{table_.list(r.prefix)};
        },
        [this](const registry_unwatch& r) {
          if (r.exact && r.prefix.empty()) {  // every exact watch of the sender
            auto owner = owner_of(sender());
            return registry_ok{owner && table_.unwatch_names(*owner, sender()) > 0};
          }
          return registry_ok{r.exact ? table_.unwatch_name(sender(), r.prefix) : table_.unwatch(sender(), r.prefix)};
        },
        [this](const registry_stats&) {
          return registry_stats_reply{table_.size(), table_.owners(), table_.watches(), table_.prefix_watches(),
                                      superseded_};
        },
        [this](const registry_heartbeat&) -> expected<registry_lease> {
          auto owner = owner_of(sender());
          if (!owner) return error{errc::bad_message, "a heartbeat needs a sender"};
          std::vector<registry_table::change> changes;
          auto ok = arrive(*owner, changes);
          publish(changes);
          if (!ok) return ok.error();
          auto [held, known] = table_.renew(*owner, now());
          return registry_lease{held, known, static_cast<std::uint64_t>(opts_.lease.count()), incarnation_};
        },
        [this](const registry_sync& r) -> expected<registry_synced> {
          auto owner = owner_of(sender());
          if (!owner) return error{errc::bad_message, "a sync needs a sender"};
          for (const auto& e : r.entries) {
            auto of = owner_of(e.ref);
            if (!of || *of != *owner) {
              return error{errc::bad_message, "sync may only name actors of the sender's own node ('" + e.name + "')"};
            }
          }
          std::vector<registry_table::change> changes;
          if (auto ok = arrive(*owner, changes); !ok) {
            publish(changes);
            return ok.error();
          }
          auto rejected = table_.sync(*owner, r.entries, now(), changes);
          publish(changes);
          if (!rejected.empty()) {
            ACTOR_LOG(warn, "registry", "sync_rejected", {"owner", *owner}, {"names", join(rejected)});
          }
          return registry_synced{std::move(rejected)};
        },
        [this](const detail::registry_sweep&) {
          std::vector<registry_table::change> changes;
          auto owners = table_.owners();
          table_.expire(now(), changes);
          if (owners != table_.owners()) {
            ACTOR_LOG(info, "registry", "leases_lapsed", {"owners", owners - table_.owners()},
                      {"names", changes.size()});
          }
          publish(changes);
        },
    };
  }

 private:
  expected<std::string> owner_of(const actor_ref& r) const {
    auto o = detail::registry_owner(r, address_, incarnation_);
    if (o.empty()) return error{errc::bad_message, "a ref of an actor on a node is needed"};
    return o;
  }

  // The owner of r, when the sender has the same owner: a node (or a client) registers and
  // unregisters only its own actors, so nobody can take a live actor's name by removing it
  // first, nor keep a dead node's lease alive.
  expected<std::string> owned_by_sender(const actor_ref& r) const {
    auto owner = owner_of(r);
    if (!owner) return owner;
    auto from = owner_of(sender());
    if (!from || *from != *owner) {
      return error{errc::unauthorized, "names are registered and unregistered by the node of their actor"};
    }
    return owner;
  }

  // The first word from a new incarnation of a node supersedes the older ones at its
  // address (their names go now, not when their leases lapse); a superseded one is refused.
  expected<void> arrive(const std::string& owner, std::vector<registry_table::change>& changes) {
    if (table_.retired(owner)) {
      return error{errc::no_such_actor, "node " + owner + " was superseded by a newer incarnation at its address"};
    }
    if (auto n = table_.arrive(owner, changes); n > 0) {
      superseded_ += n;
      ACTOR_LOG(info, "registry", "node_superseded", {"owner", owner}, {"superseded", n}, {"names", changes.size()});
    }
    return {};
  }

  void publish(const std::vector<registry_table::change>& changes) {
    for (const auto& c : changes) {
      ACTOR_LOG(debug, "registry", "name_changed", {"name", c.name}, {"event", c.event});
      for (const auto& w : c.watchers) send(w, registry_changed{c.name, c.ref, c.event});
    }
  }

  // A replica starting next to running ones takes their table, leased to the owners
  // as if they had just renewed: owners that are gone lapse after one lease.
  void copy_from(const std::string& peer, const actor_ref& ref) {
    request(ref, registry_list{""}, opts_.lease)
        .then(
            [this, peer](const registry_entries& r) {
              std::size_t copied = 0;
              for (const auto& e : r.entries) {
                auto owner = owner_of(e.ref);
                std::vector<registry_table::change> changes;
                if (owner && table_.add(e.name, e.ref, *owner, now(), changes)) ++copied;
                publish(changes);
              }
              ACTOR_LOG(info, "registry", "copied_from_peer", {"peer", peer}, {"names", copied});
            },
            [peer](const error& e) {
              ACTOR_LOG(warn, "registry", "peer_unreachable", {"peer", peer}, {"error", e.describe()});
            });
  }

  static std::string join(const std::vector<std::string>& v) {
    std::ostringstream out;
    for (std::size_t i = 0; i < v.size(); ++i) out << (i ? "," : "") << v[i];
    return out.str();
  }

  std::string address_;        // of this registry's node
  std::uint64_t incarnation_;  // of this registry's node
  std::vector<std::pair<std::string, actor_ref>> peers_;  // the replicas to copy from: address, service
  registry_options opts_;
  registry_table table_;
  std::uint64_t superseded_ = 0;
};

}  // namespace

actor_ref host_registry(node& n, registry_options opts) {
  auto ref = n.system().spawn<registry_service>(n, std::move(opts));
  n.provide_service(registry_id, ref);
  return ref;
}

}  // namespace actor
