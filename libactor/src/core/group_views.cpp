#include "core/group_views.hpp"

#include <mutex>
#include <utility>

#include "actor/group.hpp"

namespace actor {

std::string group_prefix(const std::string& group) { return "pg/" + group + "/"; }

std::string group_name_problem(const std::string& group) {
  if (group.empty()) return "a group name must not be empty";
  if (group.size() > max_group_name) {
    return "a group name has at most " + std::to_string(max_group_name) + " bytes (this one " +
           std::to_string(group.size()) + ")";
  }
  if (group.find('/') != std::string::npos) return "a group name must not contain '/' ('" + group + "')";
  return {};
}

}  // namespace actor

namespace actor::detail {

group_views::members_ptr group_views::members(const std::string& group) const {
  std::shared_lock lk(mu_);
  auto it = views_.find(group);
  return it == views_.end() || !it->second.known ? nullptr : it->second.members;
}

group_views::held group_views::hold(const std::string& group, held_publish publish) {
  {
    std::unique_lock lk(mu_);
    auto [it, added] = views_.try_emplace(group);
    auto& v = it->second;
    if (v.known) {  // learned meanwhile: sent now, after the lock
      auto members = v.members;
      lk.unlock();
      for (const auto& to : *members) publish(to);
      return held::queued;
    }
    if (v.held.size() < group_publishes_held) {
      v.held.push_back(std::move(publish));
      return added ? held::first : held::queued;
    }
  }
  dropped_.fetch_add(1, std::memory_order_relaxed);
  return held::dropped;
}

group_views::members_ptr group_views::snapshot(const std::map<std::string, actor_ref>& by_name) {
  auto out = std::make_shared<std::vector<actor_ref>>();
  out->reserve(by_name.size());
  for (const auto& [name, ref] : by_name) out->push_back(ref);
  return out;
}

void group_views::set(const std::string& group, std::map<std::string, actor_ref> members) {
  std::vector<held_publish> waiting;  // let go of after the lock
  std::unique_lock lk(mu_);
  auto& v = views_[group];
  v.known = true;
  v.by_name = std::move(members);
  v.members = snapshot(v.by_name);
  waiting.swap(v.held);
  // sent under the lock (each a non-blocking enqueue): a publisher's later publishes, which read
  // the members under it, cannot overtake its held ones
  for (const auto& publish : waiting) {
    for (const auto& to : *v.members) publish(to);
  }
}

void group_views::change(const std::string& group, const std::string& name, const actor_ref& ref) {
  std::unique_lock lk(mu_);
  auto it = views_.find(group);
  if (it == views_.end() || !it->second.known) return;
  auto& v = it->second;
  if (ref) {
    auto [at, added] = v.by_name.try_emplace(name, ref);
    if (!added) {
      if (at->second == ref) return;
      at->second = ref;
    }
  } else if (v.by_name.erase(name) == 0) {
    return;
  }
  v.members = snapshot(v.by_name);
}

void group_views::failed(const std::string& group) {
  std::vector<held_publish> waiting;  // let go of after the lock
  {
    std::unique_lock lk(mu_);
    auto it = views_.find(group);
    if (it == views_.end() || it->second.known) return;
    waiting.swap(it->second.held);
    views_.erase(it);
  }
  dropped_.fetch_add(waiting.size(), std::memory_order_relaxed);
}

bool group_views::known(const std::string& group) const {
  std::shared_lock lk(mu_);
  auto it = views_.find(group);
  return it != views_.end() && it->second.known;
}

void group_views::clear() {
  std::unordered_map<std::string, view> gone;
  {
    std::unique_lock lk(mu_);
    gone.swap(views_);
  }
  for (const auto& [group, v] : gone) dropped_.fetch_add(v.held.size(), std::memory_order_relaxed);
}

std::size_t group_views::followed() const {
  std::shared_lock lk(mu_);
  std::size_t n = 0;
  for (const auto& [group, v] : views_) n += v.known ? 1 : 0;
  return n;
}

}  // namespace actor::detail

// ---- the actors' side (actor_base::publish, join, leave) ----

#include "actor/log.hpp"
#include "core/network_hooks.hpp"
#include "core/system_state.hpp"

namespace actor::detail {

group_members_ptr group_members_of(actor_system& sys, const std::string& group) {
  return system_access::state(sys).groups.members(group);
}

actor_ref name_service_of(actor_system& sys) {
  auto& st = system_access::state(sys);
  std::lock_guard lk(st.names_mu);
  return st.name_service;
}

void hold_publish(actor_system& sys, const actor_ref& from, const std::string& group,
                  std::function<void(const actor_ref& to)> publish) {
  auto& views = system_access::state(sys).groups;
  const auto held = views.hold(group, std::move(publish));
  if (held != group_views::held::dropped) {
    // the agent may send it from its own thread: what this handler sent to other nodes before goes
    // first, so the held publish cannot overtake it
    if (const auto* net = installed_network_hooks.load(std::memory_order_acquire)) net->handler_done();
  }
  switch (held) {
    case group_views::held::queued:
      return;
    case group_views::held::dropped:
      ACTOR_LOG(debug, "groups", "publish_dropped", {"group", group}, {"from", from.id()},
                {"reason", "the group's members are not known yet and its queue is full"});
      return;
    case group_views::held::first:
      break;
  }
  if (auto problem = group_name_problem(group); !problem.empty()) {
    views.failed(group);
    ACTOR_LOG(warn, "groups", "publish_dropped", {"group", group}, {"from", from.id()}, {"reason", problem});
    return;
  }
  auto names = name_service_of(sys);
  if (!names) {
    views.failed(group);
    ACTOR_LOG(warn, "groups", "publish_dropped", {"group", group}, {"from", from.id()},
              {"reason", "groups need a node (this actor system has none)"});
    return;
  }
  deliver(names, make_envelope(group_follow{group}, envelope_kind::send, from));
}

}  // namespace actor::detail
