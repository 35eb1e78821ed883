#pragma once
// registry_table: the registry's state, with no actors and no clock of its own
// (callers pass the time), so its rules are tested directly.
//
// Every name belongs to an owner: the node that hosts the named actor (its
// address and incarnation). An owner holds a lease, renewed by its heartbeats;
// when the lease lapses, its names and watches go. A name held by one actor
// cannot be taken by another until released or lapsed. Each change is reported
// to the caller as a `change` with the watchers to tell.
//
// A node owner is "<address>#<incarnation>". Only one incarnation of a node lives at
// an address: the first time a new one is heard from (arrive), the others at that
// address are superseded at once (their names go, watchers are told, their watches
// end) instead of lingering until their leases lapse, and a superseded owner is
// refused from then on (retired), so a late message from it cannot take the names back.
//
// Watches are on an exact name (watch_name: looked up in a hash map, so a change
// costs nothing per unrelated watch) or on a prefix (watch). Both go with their
// owner's lease, or when unwatched.

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <deque>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "actor/clock.hpp"
#include "actor/expected.hpp"
#include "actor/registry.hpp"

namespace actor::detail {

/// Who a ref's names belong to: "<address>#<incarnation>" of its node; for a
/// Bridge client "client:<routing id>"; for an actor of this process, this node's
/// own key. Empty for the empty ref.
[[nodiscard]] std::string registry_owner(const actor_ref& r, const std::string& self_address,
                                         std::uint64_t self_incarnation);

class registry_table {
 public:
  using time_point = actor::time_point;

  struct change {
    std::string name;
    actor_ref ref;      // empty: the name disappeared
    std::string event;  // appeared, changed, disappeared
    std::vector<actor_ref> watchers;
  };

  explicit registry_table(std::chrono::milliseconds lease) : lease_(lease) {}

  [[nodiscard]] std::chrono::milliseconds lease() const noexcept { return lease_; }

  /// Gives `name` to `ref`, whose node is `owner`; renews the owner's lease.
  /// Returns whether the ref already held it; errc::name_taken when another holds it.
  expected<bool> add(const std::string& name, const actor_ref& ref, const std::string& owner, time_point now,
                     std::vector<change>& out);
  /// Removes `name` if `ref` of `owner` holds it; returns whether it did.
  bool remove(const std::string& name, const actor_ref& ref, const std::string& owner, std::vector<change>& out);
  [[nodiscard]] actor_ref find(const std::string& name) const;
  [[nodiscard]] std::vector<registry_entry> list(const std::string& prefix) const;

  /// Renews the owner's lease. Returns the names it holds, and whether its lease
  /// was running (false: new to this table, or lapsed).
  std::pair<std::size_t, bool> renew(const std::string& owner, time_point now);
  /// The owner's names become exactly `entries` (refs of that owner); returns the
  /// names held by other owners, which stay theirs.
  std::vector<std::string> sync(const std::string& owner, const std::vector<registry_entry>& entries, time_point now,
                                std::vector<change>& out);

  /// `owner` is heard from: when it is new and a node's, every other incarnation at
  /// its address is superseded (dropped like a lapsed lease, and retired). Returns how
  /// many owners it superseded.
  std::size_t arrive(const std::string& owner, std::vector<change>& out);
  /// Whether `owner` was superseded by a newer incarnation at its address (remembered
  /// for the last max_retired superseded owners).
  [[nodiscard]] bool retired(const std::string& owner) const { return retired_set_.count(owner) != 0; }

  /// `watcher` (of `owner`) is told of changes to names starting with prefix.
  void watch(const std::string& owner, const actor_ref& watcher, const std::string& prefix, time_point now);
  bool unwatch(const actor_ref& watcher, const std::string& prefix);
  /// `watcher` (of `owner`) is told of changes to exactly `name`.
  void watch_name(const std::string& owner, const actor_ref& watcher, const std::string& name, time_point now);
  bool unwatch_name(const actor_ref& watcher, const std::string& name);
  /// Ends every exact watch of `watcher` (of `owner`); how many.
  std::size_t unwatch_names(const std::string& owner, const actor_ref& watcher);
  /// Watches held now (exact and prefix).
  [[nodiscard]] std::size_t watches() const noexcept { return exact_count_ + prefix_count_; }
  [[nodiscard]] std::size_t prefix_watches() const noexcept { return prefix_count_; }

  /// Drops every owner whose lease ended before now, with its names and watches.
  void expire(time_point now, std::vector<change>& out);

  [[nodiscard]] std::size_t size() const noexcept { return names_.size(); }
  [[nodiscard]] std::size_t owners() const noexcept { return owners_.size(); }

 private:
  struct holder {
    actor_ref ref;
    std::string owner;
  };
  struct owner_state {
    time_point expires;
    std::set<std::string> names;
    std::vector<std::pair<actor_ref, std::string>> watches;  // watcher, prefix
    std::unordered_set<std::string> exact;                    // names it watches exactly (watchers in exact_)
  };
  struct exact_watch {
    actor_ref watcher;
    std::string owner;
  };
  static constexpr std::size_t max_retired = 4096;

  owner_state& touch(const std::string& owner, time_point now);
  void erase_name(std::map<std::string, holder>::iterator it, std::vector<change>& out);
  // Drops an owner with its names (watchers told, but not its own) and watches.
  std::map<std::string, owner_state>::iterator drop_owner(std::map<std::string, owner_state>::iterator it,
                                                          std::vector<change>& out);
  void report(const std::string& name, const actor_ref& ref, const char* event, std::vector<change>& out) const;

  std::chrono::milliseconds lease_;
  std::map<std::string, holder> names_;  // ordered: list by prefix is a range
  std::map<std::string, owner_state> owners_;
  std::unordered_map<std::string, std::vector<exact_watch>> exact_;  // name -> its exact watchers
  std::size_t exact_count_ = 0;
  std::size_t prefix_count_ = 0;
  std::deque<std::string> retired_;  // superseded owners, oldest first (bounded)
  std::unordered_set<std::string> retired_set_;
};

}  // namespace actor::detail
