#pragma once
// local_names: the names a node gives its own actors (node::register_name), the
// node's half of the name service: the registry agent claims them cluster-wide,
// the node's manager answers lookups of them. A name holds one local actor; an
// actor may hold several names, all released when it stops (release()).
// Thread-safe: every member may be called from any thread.

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "actor/actor_ref.hpp"
#include "actor/expected.hpp"

namespace actor::detail {

class local_names {
 public:
  /// Gives `name` to the local actor ref. errc::bad_message for an empty name or a
  /// ref that is empty or not local; errc::name_taken when another actor holds it.
  /// Giving an actor a name it holds already succeeds.
  expected<void> add(const std::string& name, const actor_ref& ref);
  /// Takes the name back; false when nobody held it.
  bool remove(const std::string& name);
  /// The actor holding `name`, or an empty ref.
  [[nodiscard]] actor_ref find(const std::string& name) const;
  /// Every name held now, in no particular order.
  [[nodiscard]] std::vector<std::string> all() const;
  /// The actor `id` stopped: its names are released and returned.
  std::vector<std::string> release(std::uint64_t id);
  /// Forgets every name (the node stops); the refs are let go of after the lock.
  void clear();

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, actor_ref> names_;
  std::unordered_map<std::uint64_t, std::vector<std::string>> names_of_;  // local actor id -> its names
};

}  // namespace actor::detail
