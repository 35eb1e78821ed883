#include "registry/agent.hpp"

#include <algorithm>
#include <memory>
#include <mutex>
#include <set>
#include <unordered_set>

#include "actor/actor_base.hpp"
#include "actor/log.hpp"
#include "actor/node.hpp"
#include "actor/registry.hpp"

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
  registry_agent(node& n, registry_agent_options opts, std::shared_ptr<name_cache> cache)
      : node_(n), opts_(std::move(opts)), cache_(std::move(cache)) {
    std::sort(opts_.registries.begin(), opts_.registries.end());  // the claim order, the same on every node
    opts_.registries.erase(std::unique(opts_.registries.begin(), opts_.registries.end()), opts_.registries.end());
    registries_.resize(opts_.registries.size());
  }

 protected:
  void on_start() override {
    for (std::size_t i = 0; i < registries_.size(); ++i) {
      registries_[i].address = opts_.registries[i];
      registries_[i].ref = node_.service_at(opts_.registries[i], registry_id);
    }
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
          claim_at(0, c.name, c.ref, make_response_promise());
        },
        [this](const agent_release& r) {
          if (r.key != opts_.key) return;
          if (auto it = held_.find(r.name); it != held_.end()) {
            for (std::size_t i = 0; i < registries_.size(); ++i) unregister_at(i, r.name, it->second);
            held_.erase(it);
          } else if (auto pit = pending_.find(r.name); pit != pending_.end()) {
            for (auto i : pit->second.made) unregister_at(i, r.name, pit->second.ref);
            pending_.erase(pit);  // the claim stops at its next step
          }
        },
        [this](const agent_leave& l) {
          if (l.key != opts_.key) return reply(error{errc::unauthorized, "only the node itself can leave"});
          leave(make_response_promise());
        },
        [this](const agent_tick&) {
          for (const auto& expired : cache_->expire(now())) unwatch_everywhere(expired);
          heartbeat();
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
        [this](const registry_changed& c) { forget(c.name); },
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
  void claim_at(std::size_t i, std::string name, actor_ref ref, response_promise p) {
    auto* c = pending(name, ref);
    if (c == nullptr) return p.deliver(registry_ok{false});  // released while being claimed
    if (i == registries_.size()) {
      held_[name] = ref;
      pending_.erase(name);
      return p.deliver(registry_ok{false});
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
              claim_at(i + 1, std::move(name), std::move(ref), std::move(p));
            },
            [=, this](const error& e) mutable {
              if (e.code == errc::name_taken) {
                if (auto* now = pending(name, ref)) {
                  for (auto j : now->made) unregister_at(j, name, ref);
                  pending_.erase(name);
                }
                return p.deliver(e);
              }
              // unreachable: it learns the name from the next sync once it answers again
              ACTOR_LOG(warn, "registry_agent", "claim_skipped", {"name", name},
                        {"registry", registries_[i].address}, {"error", e.describe()});
              claim_at(i + 1, std::move(name), std::move(ref), std::move(p));
            });
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
    if (auto ref = node_.whereis(name)) return reply(registry_found{name, ref});
    if (auto ref = cache_->find(name)) return reply(registry_found{name, ref});
    if (registries_.empty()) {
      return reply(error{errc::no_such_actor, "no actor named '" + name + "' on node " + node_.name() +
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
                } else if (l.held != entries_for(i).size()) {
                  sync(i);
                }
              },
              [this, i](const error& e) {
                auto& r = registries_[i];
                r.heartbeat_pending = false;
                if (!r.watched.empty()) forget_all();  // unreachable: changes it would tell us of are lost
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

  node& node_;
  registry_agent_options opts_;
  std::shared_ptr<name_cache> cache_;
  std::vector<registry> registries_;
  std::size_t preferred_ = 0;  // where lookups start: the last registry that answered
  std::unordered_map<std::string, actor_ref> held_;  // names of this node's actors, claimed
  std::unordered_map<std::string, claim> pending_;   // names being claimed
};

}  // namespace

actor_ref spawn_registry_agent(node& n, registry_agent_options opts, std::shared_ptr<name_cache> cache) {
  return n.system().spawn_detached<registry_agent>(n, std::move(opts), std::move(cache));
}

}  // namespace actor::detail
