#include "registry/local_names.hpp"

#include "actor/detail/endpoint.hpp"

namespace actor::detail {

expected<void> local_names::add(const std::string& name, const actor_ref& ref) {
  if (name.empty()) return error{errc::bad_message, "an actor name cannot be empty"};
  if (!ref || ref.endpoint()->wire_address() != nullptr) {
    return error{errc::bad_message, "the name '" + name + "' can only be given to an actor of this node"};
  }
  std::lock_guard lk(mu_);
  auto [it, inserted] = names_.emplace(name, ref);
  if (!inserted && !(it->second == ref)) {
    return error{errc::name_taken, "the name '" + name + "' is held by actor " + std::to_string(it->second.id())};
  }
  if (inserted) names_of_[ref.id()].push_back(name);  // released when the actor stops
  return {};
}

bool local_names::remove(const std::string& name) {
  std::lock_guard lk(mu_);
  auto it = names_.find(name);
  if (it == names_.end()) return false;
  if (auto of = names_of_.find(it->second.id()); of != names_of_.end()) {
    std::erase(of->second, name);
    if (of->second.empty()) names_of_.erase(of);
  }
  names_.erase(it);
  return true;
}

actor_ref local_names::find(const std::string& name) const {
  std::lock_guard lk(mu_);
  auto it = names_.find(name);
  return it == names_.end() ? actor_ref{} : it->second;
}

std::vector<std::string> local_names::all() const {
  std::lock_guard lk(mu_);
  std::vector<std::string> out;
  out.reserve(names_.size());
  for (const auto& [n, r] : names_) out.push_back(n);
  return out;
}

std::vector<std::string> local_names::release(std::uint64_t id) {
  std::vector<std::string> released;
  std::unordered_map<std::string, actor_ref> dropped;  // refs let go of after the lock
  std::lock_guard lk(mu_);
  if (auto of = names_of_.find(id); of != names_of_.end()) {
    for (const auto& name : of->second) {
      if (auto it = names_.find(name); it != names_.end()) dropped.insert(names_.extract(it));
    }
    released = std::move(of->second);
    names_of_.erase(of);
  }
  return released;
}

void local_names::clear() {
  std::unordered_map<std::string, actor_ref> dropped;
  std::lock_guard lk(mu_);
  dropped.swap(names_);
  names_of_.clear();
}

}  // namespace actor::detail
