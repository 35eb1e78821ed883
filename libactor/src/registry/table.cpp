#include "registry/table.hpp"

#include <algorithm>

namespace actor::detail {

namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

}  // namespace

std::string registry_owner(const actor_ref& r, const std::string& self_address, std::uint64_t self_incarnation) {
  if (!r) return {};
  const auto* w = r.endpoint()->wire_address();
  if (w == nullptr) return self_address + '#' + std::to_string(self_incarnation);
  if (w->address.empty()) return "client:" + w->node;
  return w->address + '#' + std::to_string(w->incarnation);
}

registry_table::owner_state& registry_table::touch(const std::string& owner, time_point now) {
  auto& o = owners_[owner];
  o.expires = now + lease_;
  return o;
}

void registry_table::report(const std::string& name, const actor_ref& ref, const char* event,
                            std::vector<change>& out) const {
  change c{name, ref, event, {}};
  for (const auto& [owner, o] : owners_) {
    for (const auto& [watcher, prefix] : o.watches) {
      if (starts_with(name, prefix)) c.watchers.push_back(watcher);
    }
  }
  out.push_back(std::move(c));
}

expected<bool> registry_table::add(const std::string& name, const actor_ref& ref, const std::string& owner,
                                   time_point now, std::vector<change>& out) {
  if (name.empty()) return error{errc::bad_message, "a name cannot be empty"};
  if (!ref) return error{errc::bad_message, "cannot register '" + name + "' for an empty ref"};
  auto& o = touch(owner, now);
  auto [it, inserted] = names_.try_emplace(name, holder{ref, owner});
  if (!inserted) {
    if (it->second.ref == ref) return true;
    return error{errc::name_taken, "the name '" + name + "' is held by another live actor"};
  }
  o.names.insert(name);
  report(name, ref, "appeared", out);
  return false;
}

void registry_table::erase_name(std::map<std::string, holder>::iterator it, std::vector<change>& out) {
  auto name = it->first;
  if (auto o = owners_.find(it->second.owner); o != owners_.end()) o->second.names.erase(name);
  names_.erase(it);
  report(name, {}, "disappeared", out);
}

bool registry_table::remove(const std::string& name, const actor_ref& ref, const std::string& owner,
                            std::vector<change>& out) {
  auto it = names_.find(name);
  if (it == names_.end() || !(it->second.ref == ref) || it->second.owner != owner) return false;
  erase_name(it, out);
  return true;
}

actor_ref registry_table::find(const std::string& name) const {
  auto it = names_.find(name);
  return it == names_.end() ? actor_ref{} : it->second.ref;
}

std::vector<registry_entry> registry_table::list(const std::string& prefix) const {
  std::vector<registry_entry> out;
  for (auto it = names_.lower_bound(prefix); it != names_.end() && starts_with(it->first, prefix); ++it) {
    out.push_back({it->first, it->second.ref});
  }
  return out;
}

std::pair<std::size_t, bool> registry_table::renew(const std::string& owner, time_point now) {
  auto it = owners_.find(owner);
  bool known = it != owners_.end() && it->second.expires >= now;
  auto& o = touch(owner, now);
  return {o.names.size(), known};
}

std::vector<std::string> registry_table::sync(const std::string& owner, const std::vector<registry_entry>& entries,
                                              time_point now, std::vector<change>& out) {
  touch(owner, now);
  std::set<std::string> wanted;
  for (const auto& e : entries) wanted.insert(e.name);
  // names this owner holds that it no longer has
  auto held = owners_[owner].names;
  for (const auto& name : held) {
    if (wanted.count(name) == 0) erase_name(names_.find(name), out);
  }
  std::vector<std::string> rejected;
  for (const auto& e : entries) {
    auto it = names_.find(e.name);
    if (it != names_.end() && it->second.owner == owner) {
      if (!(it->second.ref == e.ref)) {  // the owner's name now names another of its actors
        it->second.ref = e.ref;
        report(e.name, e.ref, "changed", out);
      }
      continue;
    }
    if (auto added = add(e.name, e.ref, owner, now, out); !added) rejected.push_back(e.name);
  }
  return rejected;
}

void registry_table::watch(const std::string& owner, const actor_ref& watcher, const std::string& prefix,
                           time_point now) {
  auto& o = touch(owner, now);
  for (const auto& w : o.watches) {
    if (w.first == watcher && w.second == prefix) return;
  }
  o.watches.emplace_back(watcher, prefix);
}

bool registry_table::unwatch(const actor_ref& watcher, const std::string& prefix) {
  for (auto& [owner, o] : owners_) {
    auto n = std::erase_if(o.watches, [&](const auto& w) { return w.first == watcher && w.second == prefix; });
    if (n > 0) return true;
  }
  return false;
}

void registry_table::expire(time_point now, std::vector<change>& out) {
  for (auto it = owners_.begin(); it != owners_.end();) {
    if (it->second.expires >= now) {
      ++it;
      continue;
    }
    auto names = std::move(it->second.names);
    it = owners_.erase(it);  // first: its own watches are not told of its names going
    for (const auto& name : names) {
      if (auto n = names_.find(name); n != names_.end()) {
        names_.erase(n);
        report(name, {}, "disappeared", out);
      }
    }
  }
}

}  // namespace actor::detail
