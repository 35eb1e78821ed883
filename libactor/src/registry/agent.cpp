#include "registry/agent.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <unordered_set>

#include "actor/actor_base.hpp"
#include "actor/log.hpp"
#include "actor/node.hpp"
#include "actor/registry.hpp"
#include "registry/local_names.hpp"
#include "core/group_views.hpp"
#include "actor/group.hpp"

namespace actor::detail {

actor_ref name_cache::find(const std::string& name) const {
  std::shared_lock lk(mu_);
  auto it = map_.find(name);
  return it == map_.end() ? actor_ref{} : it->second.ref;
}

std::vector<std::string> name_cache::expire(time_point now) {
  std::vector<std::string> expired;
  std::unique_lock lk(mu_);
  while (!order_.empty()) {  // oldest put first
    auto it = map_.find(order_.front());
    if (now - it->second.put_at <= ttl_) break;
    expired.push_back(std::move(order_.front()));
    order_.pop_front();
    map_.erase(it);
  }
  return expired;
}

std::vector<std::string> name_cache::put(const std::string& name, const actor_ref& ref, time_point now) {
  std::vector<std::string> evicted;
  std::unique_lock lk(mu_);
  if (auto it = map_.find(name); it != map_.end()) {
    it->second.ref = ref;
    it->second.put_at = now;
    order_.splice(order_.end(), order_, it->second.order);
    return evicted;
  }
  while (map_.size() >= capacity_) {
    evicted.push_back(std::move(order_.front()));
    order_.pop_front();
    map_.erase(evicted.back());
  }
  order_.push_back(name);
  map_.emplace(name, entry{ref, now, std::prev(order_.end())});
  return evicted;
}

bool name_cache::erase(const std::string& name, const actor_ref& ref) {
  std::unique_lock lk(mu_);
  auto it = map_.find(name);
  if (it == map_.end() || (ref && !(it->second.ref == ref))) return false;
  order_.erase(it->second.order);
  map_.erase(it);
  return true;
}

std::vector<std::string> name_cache::clear() {
  std::unique_lock lk(mu_);
  std::vector<std::string> names(std::make_move_iterator(order_.begin()), std::make_move_iterator(order_.end()));
  order_.clear();
  map_.clear();
  return names;
}

std::size_t name_cache::size() const {
  std::shared_lock lk(mu_);
  return map_.size();
}

namespace {

void ignore(const error&) {}

class registry_agent final : public actor_base {
 public:
  // registry_refs[i]: the service of opts.registries[i] (sorted, no duplicates)
  registry_agent(std::string node_name, std::string node_address, group_views& groups, registry_agent_options opts,
                 std::vector<actor_ref> registry_refs, std::shared_ptr<local_names> names,
                 std::shared_ptr<name_cache> cache)
      : node_name_(std::move(node_name)),
        node_address_(std::move(node_address)),
        groups_(groups),
        opts_(std::move(opts)),
        names_(std::move(names)),
        cache_(std::move(cache)) {
    registries_.resize(opts_.registries.size());
    for (std::size_t i = 0; i < registries_.size(); ++i) {
      registries_[i].address = opts_.registries[i];
      registries_[i].ref = std::move(registry_refs[i]);
    }
  }

 protected:
  // The node stopped it: the views it kept are forgotten (a publish asks again, of whichever node
  // runs then), and what waited for an answer gets one.
  void on_stop(const stop_reason&) override {
    groups_.clear();
    for (auto& [group, waiting] : waiting_for_members_) {
      for (auto& p : waiting) p.deliver(error{errc::shutting_down, "the node stopped"});
    }
    waiting_for_members_.clear();
    for (auto& [name, waiting] : joining_) {
      for (auto& p : waiting) p.deliver(error{errc::shutting_down, "the node stopped"});
    }
    joining_.clear();
  }

  void on_start() override {
    if (!registries_.empty()) {
      periodic_send(opts_.heartbeat, agent_tick{});
      heartbeat();
    }
  }

  behavior make_behavior() override {
    return {
        [this](const agent_claim& c) {
          if (c.key != opts_.key) return reply(error{errc::unauthorized, "names are claimed by their own node"});
          pending_[c.name] = claim{c.ref, {}, 0};
          claim_at(0, c.name, c.ref, [p = make_response_promise()](const error* e) mutable {
            if (e != nullptr) return p.deliver(*e);
            p.deliver(registry_ok{false});
          });
        },
        [this](const agent_release& r) {
          if (r.key == opts_.key) release(r.name);
        },
        [this](const agent_leave& l) {
          if (l.key != opts_.key) return reply(error{errc::unauthorized, "only the node itself can leave"});
          leave(make_response_promise());
        },
        [this](const agent_tick&) {
          for (const auto& expired : cache_->expire(now())) unwatch_everywhere(expired);
          heartbeat();
          for (const auto& [group, f] : follows_) {
            if (!f.live && !f.asking && f.at < registries_.size()) watch_group(group, f.at, 0, ++chains_);
          }
        },
        [this](const registry_lookup& l) { resolve(l.name); },
        [this](const agent_relookup& l) {
          // only a ref the cache still holds is forgotten: a newer answer stays
          if (l.failed && cache_->erase(l.name, l.failed)) unwatch_everywhere(l.name);
          resolve(l.name);
        },
        [this](const registry_list& l) {
          if (registries_.empty()) return reply(error{errc::no_such_actor, "no registry is configured (--registry)"});
          list_at(0, preferred_, l.prefix, make_response_promise());
        },
        [this](const registry_changed& c) {
          if (auto group = group_of(c.name); !group.empty() && follows_.count(group) != 0) {
            return group_changed(group, c);
          }
          forget(c.name);
        },
        [this](const group_join& j) { join(j); },
        [this](const group_leave& l) { leave_group(l); },
        [this](const group_follow& f) {  // from this node's publishers only
          if (is_local(sender()) && group_name_problem(f.group).empty()) follow(f.group);
        },
        [this](const group_members_request& r) {
          if (auto problem = group_name_problem(r.group); !problem.empty()) {
            return reply(error{errc::bad_message, problem});
          }
          follow(r.group);
          if (auto members = groups_.members(r.group)) return reply(group_members{r.group, *members});
          // the group's first answer is under way: answered with it (within a watch's timeout per registry)
          waiting_for_members_[r.group].push_back(make_response_promise());
        },
        [](const registry_ok&) {},  // the answer to an unwatch (sent, not requested)
    };
  }

 private:
  struct registry {
    std::string address;
    actor_ref ref;
    std::uint64_t incarnation = 0;   // of the registry, from its last lease
    bool heartbeat_pending = false;  // at most one in flight
    std::unordered_set<std::string> watched;  // names watched there (exactly) for the cache
  };

  // A claim under way: the registries that took it, and the one being asked.
  struct claim {
    actor_ref ref;
    std::vector<std::size_t> made;
    std::size_t asking = 0;
  };

  // The claim of name for ref, if it is still under way (not released meanwhile).
  claim* pending(const std::string& name, const actor_ref& ref) {
    auto it = pending_.find(name);
    return it != pending_.end() && it->second.ref == ref ? &it->second : nullptr;
  }

  // Claims at registries_[i..] in order, the same order on every node, so two claims of
  // one name meet at the first registry both reach. A registry that refuses (name_taken)
  // ends the claim and releases it where it was already made. Until it ends, the name is
  // synced only to the registries that took it (or are being asked), so heartbeats do not
  // spread it out of order.
  // done(nullptr): claimed (or released meanwhile); done(&e): refused or failed.
  using claim_done = std::function<void(const error*)>;
  void claim_at(std::size_t i, std::string name, actor_ref ref, claim_done done) {
    auto* c = pending(name, ref);
    if (c == nullptr) return done(nullptr);  // released while being claimed
    if (i == registries_.size()) {
      held_[name] = ref;
      pending_.erase(name);
      return done(nullptr);
    }
    c->asking = i;
    request(registries_[i].ref, registry_register{name, ref}, opts_.request_timeout)
        .then(
            [=, this](const registry_ok&) mutable {
              if (auto* now = pending(name, ref)) {
                now->made.push_back(i);
              } else {
                unregister_at(i, name, ref);  // released meanwhile
              }
              claim_at(i + 1, std::move(name), std::move(ref), std::move(done));
            },
            [=, this](const error& e) mutable {
              if (e.code == errc::name_taken) {
                if (auto* now = pending(name, ref)) {
                  for (auto j : now->made) unregister_at(j, name, ref);
                  pending_.erase(name);
                }
                return done(&e);
              }
              // unreachable: it learns the name from the next sync once it answers again
              ACTOR_LOG(warn, "registry_agent", "claim_skipped", {"name", name},
                        {"registry", registries_[i].address}, {"error", e.describe()});
              claim_at(i + 1, std::move(name), std::move(ref), std::move(done));
            });
  }

  // The name goes at every registry that has it or is being asked for it.
  void release(const std::string& name) {
    if (auto group = group_of(name); !group.empty()) groups_.change(group, name, {});
    if (auto it = held_.find(name); it != held_.end()) {
      for (std::size_t i = 0; i < registries_.size(); ++i) unregister_at(i, name, it->second);
      held_.erase(it);
    } else if (auto pit = pending_.find(name); pit != pending_.end()) {
      for (auto i : pit->second.made) unregister_at(i, name, pit->second.ref);
      pending_.erase(pit);  // the claim stops at its next step
    }
  }

  // ---- groups (actor/group.hpp): memberships are names of this node ----

  // The group of a membership name "pg/GROUP/...", or "" for any other name.
  static std::string group_of(const std::string& name) {
    if (name.rfind("pg/", 0) != 0) return {};
    auto end = name.find('/', 3);
    return end == std::string::npos ? std::string{} : name.substr(3, end - 3);
  }
  [[nodiscard]] std::string membership(const std::string& group, const actor_ref& member) const {
    return group_prefix(group) + node_address_ + "/" + std::to_string(member.id());
  }
  static bool is_local(const actor_ref& r) { return r && r.endpoint()->wire_address() == nullptr; }

  // The member a join or leave names: the sender when it names none. Only the member itself,
  // or an actor of this node, may join or leave it.
  expected<actor_ref> member_of(const std::string& group, const actor_ref& named) const {
    if (auto problem = group_name_problem(group); !problem.empty()) return error{errc::bad_message, problem};
    const auto& member = named ? named : sender();
    if (!member) return error{errc::bad_message, "a join or leave names its member, or comes from it"};
    if (!is_local(member)) {
      return error{errc::bad_message, "an actor joins and leaves groups through its own node, not node " + node_name_};
    }
    if (!(member == sender()) && !is_local(sender())) {
      return error{errc::unauthorized, "only the member itself or an actor of its node joins it to a group or removes it"};
    }
    return member;
  }

  void join(const group_join& j) {
    auto member = member_of(j.group, j.member);
    if (!member) return reply(member.error());
    auto name = membership(j.group, *member);
    if (held_.count(name) != 0) return reply(group_joined{j.group, name});
    if (auto w = joining_.find(name); w != joining_.end()) {  // the same join is under way: one claim
      w->second.push_back(make_response_promise());
      return;
    }
    if (auto here = names_->add(name, *member); !here) return reply(here.error());  // released when it stops
    if (member->endpoint()->finished()) {
      // it stopped before its join came: its names were released already, and would never be again
      names_->remove(name);
      return reply(error{errc::actor_stopped, "actor " + std::to_string(member->id()) + " has stopped"});
    }
    groups_.change(j.group, name, *member);  // a group this node follows has it at once
    joining_[name].push_back(make_response_promise());
    pending_[name] = claim{*member, {}, 0};
    claim_at(0, name, *member, [this, group = j.group, name](const error* e) {
      auto waiting = std::move(joining_[name]);
      joining_.erase(name);
      if (e != nullptr) {
        names_->remove(name);
        groups_.change(group, name, {});
      }
      for (auto& p : waiting) {
        if (e == nullptr) {
          p.deliver(group_joined{group, name});
        } else {
          p.deliver(*e);
        }
      }
    });
  }

  void leave_group(const group_leave& l) {
    auto member = member_of(l.group, l.member);
    if (!member) {
      ACTOR_LOG(debug, "registry_agent", "leave_refused", {"group", l.group}, {"error", member.error().describe()});
      return;
    }
    auto name = membership(l.group, *member);
    if (names_->remove(name)) release(name);
  }

  // This node's own members of group (claimed or being claimed).
  std::map<std::string, actor_ref> local_members(const std::string& group) const {
    std::map<std::string, actor_ref> out;
    const auto prefix = group_prefix(group);
    for (const auto& [name, ref] : held_) {
      if (name.rfind(prefix, 0) == 0) out.emplace(name, ref);
    }
    for (const auto& [name, c] : pending_) {
      if (name.rfind(prefix, 0) == 0) out.emplace(name, c.ref);
    }
    return out;
  }

  // Learns group's members and follows their changes: a prefix watch at one registry (every
  // node registers with every registry, so one holds them all), moved to the next when that
  // one fails or loses it. Without registries the group is this node's own members.
  void follow(const std::string& group) {
    if (follows_.count(group) != 0) return;
    if (registries_.empty()) {
      follows_[group] = followed{0, true, false, 0};
      groups_.set(group, local_members(group));
      return answer_waiting(group);
    }
    watch_group(group, preferred_, 0, ++chains_);
  }

  // One chain of watch requests per group at a time (`chain`): answers of an older chain are
  // ignored, and a chain that moves to another registry withdraws its watch at the one it leaves.
  void watch_group(const std::string& group, std::size_t start, std::size_t tried, std::uint64_t chain) {
    if (tried == registries_.size()) {
      ACTOR_LOG(warn, "registry_agent", "group_unknown", {"group", group}, {"error", "no registry answered"});
      if (groups_.known(group)) {
        follows_[group] = followed{start, false, false, chain};  // tried again at the next heartbeat; its last members stay
      } else {
        follows_.erase(group);
        groups_.failed(group);  // its held publishes are dropped; the next publish asks again
      }
      return answer_waiting(group);
    }
    const auto i = (start + tried) % registries_.size();
    if (auto it = follows_.find(group); it != follows_.end() && it->second.at != i && it->second.at < registries_.size()) {
      send(registries_[it->second.at].ref, registry_unwatch{group_prefix(group), false});
    }
    follows_[group] = followed{i, false, true, chain};
    request(registries_[i].ref, registry_watch{group_prefix(group), false}, opts_.request_timeout)
        .then(
            [this, group, chain](const registry_entries& e) {
              auto it = follows_.find(group);
              if (it == follows_.end() || it->second.chain != chain) return;  // an older chain
              it->second.live = true;
              it->second.asking = false;
              auto members = local_members(group);
              for (const auto& entry : e.entries) {
                if (!is_local(entry.ref)) members.emplace(entry.name, entry.ref);  // ours: from our own names
              }
              groups_.set(group, std::move(members));
              answer_waiting(group);
            },
            [this, group, start, tried, chain](const error&) {
              auto it = follows_.find(group);
              if (it == follows_.end() || it->second.chain != chain) return;
              watch_group(group, start, tried + 1, chain);
            });
  }

  void group_changed(const std::string& group, const registry_changed& c) {
    auto it = follows_.find(group);
    if (it == follows_.end() || !it->second.live) return;  // the next watch's answer has it
    if (is_local(c.ref) || names_->find(c.name)) return;    // ours: from our own names
    groups_.change(group, c.name, c.event == "disappeared" ? actor_ref{} : c.ref);
  }

  // Registry i lost what it knew of this node (restart, lapse), or does not answer: the groups
  // followed there are watched again (there, or at the next one).
  void refollow(std::size_t i, bool answering) {
    for (auto& [group, f] : follows_) {
      if (f.at != i || f.asking) continue;  // a chain under way moves on by itself
      f.live = false;
      watch_group(group, answering ? i : (i + 1) % registries_.size(), 0, ++chains_);
    }
  }

  // Requests for group's members that waited for its first answer.
  void answer_waiting(const std::string& group) {
    auto it = waiting_for_members_.find(group);
    if (it == waiting_for_members_.end()) return;
    auto waiting = std::move(it->second);
    waiting_for_members_.erase(it);
    auto members = groups_.members(group);
    for (auto& p : waiting) {
      if (members) {
        p.deliver(group_members{group, *members});
      } else {
        p.deliver(error{errc::node_down, "no registry answered for the members of group '" + group + "'"});
      }
    }
  }

  void unregister_at(std::size_t i, const std::string& name, const actor_ref& ref) {
    request(registries_[i].ref, registry_unregister{name, ref}, opts_.request_timeout).then([](const registry_ok&) {}, ignore);
  }

  // What registry i should hold for this node: the held names and the claims it took.
  std::vector<registry_entry> entries_for(std::size_t i) const {
    std::vector<registry_entry> out;
    out.reserve(held_.size());
    for (const auto& [name, ref] : held_) out.push_back({name, ref});
    for (const auto& [name, c] : pending_) {
      if (c.asking == i || std::find(c.made.begin(), c.made.end(), i) != c.made.end()) out.push_back({name, c.ref});
    }
    return out;
  }

  // Asks registry (start + tried) % n; a miss or a failure asks the next one.
  // Answers the lookup being handled: this node's own actor of that name, the cached ref, or
  // else the registries' answer, asked in turn.
  void resolve(const std::string& name) {
    if (auto ref = names_->find(name)) return reply(registry_found{name, ref});
    if (auto ref = cache_->find(name)) return reply(registry_found{name, ref});
    if (registries_.empty()) {
      return reply(error{errc::no_such_actor, "no actor named '" + name + "' on node " + node_name_ +
                                                  ", and no registry is configured (--registry)"});
    }
    lookup_at(0, preferred_, name, make_response_promise(), false);
  }

  void lookup_at(std::size_t tried, std::size_t start, std::string name, response_promise p, bool any_answered) {
    if (tried == registries_.size()) {
      if (any_answered) {
        return p.deliver(error{errc::no_such_actor, "no actor is registered as '" + name + "'"});
      }
      return p.deliver(error{errc::node_down, "no registry answered (" + std::to_string(tried) + " tried)"});
    }
    auto i = (start + tried) % registries_.size();
    request(registries_[i].ref, registry_lookup{name}, opts_.request_timeout)
        .then(
            [=, this](const registry_found& f) mutable {
              preferred_ = i;
              for (const auto& evicted : cache_->put(f.name, f.ref, now())) unwatch_everywhere(evicted);
              watch(i, f.name, f.ref);
              p.deliver(registry_found{f});
            },
            [=, this](const error& e) mutable {
              bool answered = e.code == errc::no_such_actor;
              if (!answered && preferred_ == i) preferred_ = (i + 1) % registries_.size();
              lookup_at(tried + 1, start, std::move(name), std::move(p), any_answered || answered);
            });
  }

  void list_at(std::size_t tried, std::size_t start, std::string prefix, response_promise p) {
    if (tried == registries_.size()) return p.deliver(error{errc::node_down, "no registry answered"});
    auto i = (start + tried) % registries_.size();
    request(registries_[i].ref, registry_list{prefix}, opts_.request_timeout)
        .then([=](const registry_entries& r) mutable { p.deliver(registry_entries{r}); },
              [=, this](const error&) mutable { list_at(tried + 1, start, std::move(prefix), std::move(p)); });
  }

  // Watches a cached name (exactly) at the registry that answered, so that a change evicts it.
  // The watch's snapshot closes the gap between the lookup's answer and the watch.
  void watch(std::size_t i, const std::string& name, const actor_ref& ref) {
    if (!registries_[i].watched.insert(name).second) return;
    request(registries_[i].ref, registry_watch{name, true}, opts_.request_timeout)
        .then(
            [this, name, ref](const registry_entries& now) {
              auto it = std::find_if(now.entries.begin(), now.entries.end(), [&](const auto& e) { return e.name == name; });
              if (it == now.entries.end() || !(it->ref == ref)) forget(name);
            },
            [this, name](const error&) {
              forget(name);  // not watched: do not trust it (and withdraw the watch, should it have been made)
            });
  }

  // The cache entry of name goes, and with it its watches.
  void forget(const std::string& name) {
    cache_->erase(name);
    unwatch_everywhere(name);
  }

  void unwatch_everywhere(const std::string& name) {
    for (auto& reg : registries_) {
      if (reg.watched.erase(name) != 0) send(reg.ref, registry_unwatch{name, true});
    }
  }

  // The whole cache goes (changes may have been lost): so do its watches, at every
  // registry, with one unwatch of all the agent's exact watches each.
  void forget_all() {
    (void)cache_->clear();
    for (auto& reg : registries_) {
      if (reg.watched.empty()) continue;
      reg.watched.clear();
      send(reg.ref, registry_unwatch{"", true});
    }
  }

  void heartbeat() {
    for (std::size_t i = 0; i < registries_.size(); ++i) {
      auto& reg = registries_[i];
      if (reg.heartbeat_pending) continue;
      reg.heartbeat_pending = true;
      request(reg.ref, registry_heartbeat{entries_for(i).size()}, opts_.request_timeout)
          .then(
              [this, i](const registry_lease& l) {
                auto& r = registries_[i];
                r.heartbeat_pending = false;
                if (!l.known || l.incarnation != r.incarnation) {
                  // a new or restarted registry, or our lease lapsed: what it knew of us is gone
                  if (r.incarnation != 0) {
                    ACTOR_LOG(info, "registry_agent", "registry_reset", {"registry", r.address},
                              {"known", l.known ? "true" : "false"});
                  }
                  r.incarnation = l.incarnation;
                  r.watched.clear();  // gone with the registry or the lease
                  forget_all();
                  sync(i);
                  refollow(i, true);
                } else if (l.held != entries_for(i).size()) {
                  sync(i);
                }
              },
              [this, i](const error& e) {
                auto& r = registries_[i];
                r.heartbeat_pending = false;
                if (!r.watched.empty()) forget_all();  // unreachable: changes it would tell us of are lost
                refollow(i, false);
                ACTOR_LOG(debug, "registry_agent", "heartbeat_failed", {"registry", r.address}, {"error", e.describe()});
              });
    }
  }

  void sync(std::size_t i) {
    registry_sync s;
    s.entries = entries_for(i);
    request(registries_[i].ref, std::move(s), opts_.request_timeout)
        .then(
            [this, i](const registry_synced& r) {
              for (const auto& name : r.rejected) {
                ACTOR_LOG(warn, "registry_agent", "name_lost", {"name", name}, {"registry", registries_[i].address},
                          {"reason", "another live actor holds it there"});
              }
            },
            ignore);
  }

  void leave(response_promise p) {
    for (const auto& [name, c] : pending_) {
      for (auto i : c.made) unregister_at(i, name, c.ref);
    }
    pending_.clear();  // the claims under way stop at their next step
    auto left = std::make_shared<std::size_t>(held_.size() * registries_.size());
    if (*left == 0) return p.deliver(registry_ok{false});
    auto done = [left, p]() mutable {
      if (--*left == 0) p.deliver(registry_ok{true});
    };
    for (const auto& [name, ref] : held_) {
      for (auto& reg : registries_) {
        request(reg.ref, registry_unregister{name, ref}, opts_.request_timeout)
            .then([done](const registry_ok&) mutable { done(); }, [done](const error&) mutable { done(); });
      }
    }
    held_.clear();
  }

  struct followed {
    std::size_t at = 0;  // the registry watched (asked)
    bool live = false;   // its watch answered, and was not lost since
    bool asking = false;  // a watch request is under way
    std::uint64_t chain = 0;  // the chain of watch requests that may answer
  };

  std::string node_name_;
  std::string node_address_;
  group_views& groups_;  // the system's (it outlives its actors)
  std::unordered_map<std::string, followed> follows_;  // groups followed, by name
  std::unordered_map<std::string, std::vector<response_promise>> waiting_for_members_;
  std::unordered_map<std::string, std::vector<response_promise>> joining_;  // joins waiting for a claim
  std::uint64_t chains_ = 0;
  registry_agent_options opts_;
  std::shared_ptr<local_names> names_;  // the node's own names
  std::shared_ptr<name_cache> cache_;
  std::vector<registry> registries_;
  std::size_t preferred_ = 0;  // where lookups start: the last registry that answered
  std::unordered_map<std::string, actor_ref> held_;  // names of this node's actors, claimed
  std::unordered_map<std::string, claim> pending_;   // names being claimed
};

}  // namespace

actor_ref spawn_registry_agent(node& n, registry_agent_options opts, std::shared_ptr<local_names> names,
                               std::shared_ptr<name_cache> cache, group_views& groups) {
  auto& regs = opts.registries;
  std::sort(regs.begin(), regs.end());  // the claim order, the same on every node
  regs.erase(std::unique(regs.begin(), regs.end()), regs.end());
  std::vector<actor_ref> refs;
  refs.reserve(regs.size());
  for (const auto& address : regs) refs.push_back(n.service_at(address, registry_id));
  return n.system().spawn_detached<registry_agent>(n.name(), n.address(), groups, std::move(opts), std::move(refs),
                                                   std::move(names), std::move(cache));
}

}  // namespace actor::detail
