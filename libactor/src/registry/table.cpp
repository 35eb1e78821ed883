#include "registry/table.hpp"

#include <algorithm>

namespace actor::detail {

namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

// The address of a node owner ("<address>#<incarnation>"); empty for a client's.
std::string owner_address(const std::string& owner) {
  if (starts_with(owner, "client:")) return {};
  auto hash = owner.rfind('#');
  return hash == std::string::npos ? std::string{} : owner.substr(0, hash);
}

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
  if (auto it = exact_.find(name); it != exact_.end()) {
    for (const auto& w : it->second) c.watchers.push_back(w.watcher);
  }
  if (prefix_count_ == 0) return out.push_back(std::move(c));
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
  ++prefix_count_;
}

bool registry_table::unwatch(const actor_ref& watcher, const std::string& prefix) {
  for (auto& [owner, o] : owners_) {
    auto n = std::erase_if(o.watches, [&](const auto& w) { return w.first == watcher && w.second == prefix; });
    if (n > 0) {
      prefix_count_ -= n;
      return true;
    }
  }
  return false;
}

void registry_table::watch_name(const std::string& owner, const actor_ref& watcher, const std::string& name,
                                time_point now) {
  auto& o = touch(owner, now);
  auto& ws = exact_[name];
  for (const auto& w : ws) {
    if (w.watcher == watcher) return;
  }
  ws.push_back({watcher, owner});
  o.exact.insert(name);
  ++exact_count_;
}

bool registry_table::unwatch_name(const actor_ref& watcher, const std::string& name) {
  auto it = exact_.find(name);
  if (it == exact_.end()) return false;
  auto& ws = it->second;
  auto w = std::find_if(ws.begin(), ws.end(), [&](const exact_watch& x) { return x.watcher == watcher; });
  if (w == ws.end()) return false;
  auto owner = std::move(w->owner);
  ws.erase(w);
  --exact_count_;
  if (std::none_of(ws.begin(), ws.end(), [&](const exact_watch& x) { return x.owner == owner; })) {
    if (auto o = owners_.find(owner); o != owners_.end()) o->second.exact.erase(name);
  }
  if (ws.empty()) exact_.erase(it);
  return true;
}

std::size_t registry_table::unwatch_names(const std::string& owner, const actor_ref& watcher) {
  auto o = owners_.find(owner);
  if (o == owners_.end()) return 0;
  std::vector<std::string> names(o->second.exact.begin(), o->second.exact.end());
  std::size_t n = 0;
  for (const auto& name : names) n += unwatch_name(watcher, name) ? 1 : 0;
  return n;
}

std::size_t registry_table::arrive(const std::string& owner, std::vector<change>& out) {
  if (owners_.count(owner) != 0) return 0;
  auto address = owner_address(owner);
  if (address.empty()) return 0;
  std::size_t superseded = 0;
  // owners at one address are neighbours in the ordered map: "<address>#..."
  const auto key = address + '#';
  for (auto it = owners_.lower_bound(key); it != owners_.end() && starts_with(it->first, key);) {
    if (it->first == owner || it->first.find('#', key.size()) != std::string::npos) {
      ++it;
      continue;
    }
    if (retired_set_.insert(it->first).second) {
      retired_.push_back(it->first);
      if (retired_.size() > max_retired) {
        retired_set_.erase(retired_.front());
        retired_.pop_front();
      }
    }
    it = drop_owner(it, out);
    ++superseded;
  }
  return superseded;
}

std::map<std::string, registry_table::owner_state>::iterator registry_table::drop_owner(
    std::map<std::string, owner_state>::iterator it, std::vector<change>& out) {
  const auto owner = it->first;
  auto names = std::move(it->second.names);
  prefix_count_ -= it->second.watches.size();
  for (const auto& name : it->second.exact) {
    auto e = exact_.find(name);
    if (e == exact_.end()) continue;
    exact_count_ -= std::erase_if(e->second, [&](const exact_watch& w) { return w.owner == owner; });
    if (e->second.empty()) exact_.erase(e);
  }
  it = owners_.erase(it);  // first: its own watches are not told of its names going
  for (const auto& name : names) {
    if (auto n = names_.find(name); n != names_.end()) {
      names_.erase(n);
      report(name, {}, "disappeared", out);
    }
  }
  return it;
}

void registry_table::expire(time_point now, std::vector<change>& out) {
  for (auto it = owners_.begin(); it != owners_.end();) {
    if (it->second.expires >= now) {
      ++it;
      continue;
    }
    it = drop_owner(it, out);
  }
}

}  // namespace actor::detail
