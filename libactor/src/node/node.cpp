#include "actor/node.hpp"

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "actor/group.hpp"
#include "actor/log.hpp"
#include "net/router.hpp"
#include "node/supervisor.hpp"
#include "registry/agent.hpp"
#include "registry/local_names.hpp"
#include "node/node_core.hpp"
#include "node/task_sequence.hpp"
#include "core/system_state.hpp"

namespace actor {

namespace {

std::uint64_t new_incarnation() {
  std::random_device rd;
  std::uint64_t v = 0;
  while (v == 0) v = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  return v;
}

}  // namespace

namespace detail {

expected<std::vector<std::string>> spawn_groups(const config& cfg) {
  if (!cfg.contains("groups")) return std::vector<std::string>{};
  auto groups = cfg.get<std::vector<std::string>>("groups");
  if (!groups) return error{errc::bad_message, "config key 'groups' must be a list of group names"};
  std::vector<std::string> unique;  // each once, in order
  for (const auto& g : *groups) {
    if (auto problem = group_name_problem(g); !problem.empty()) {
      return error{errc::bad_message, "config key 'groups': " + problem};
    }
    if (std::find(unique.begin(), unique.end(), g) == unique.end()) unique.push_back(g);
  }
  return unique;
}

// Answers a node's built-in requests at actor id 0. It runs on a pool worker, so it
// never waits: a named spawn claims its name with a request to the registry agent and
// answers when the claim resolves, while the manager goes on with other requests.
class manager_actor final : public actor_base {
 public:
  explicit manager_actor(std::shared_ptr<node_core> core) : core_(std::move(core)) {}

 protected:
  behavior make_behavior() override {
    return {
        [this](const spawn_request& r) { spawn(r); },
        [this](const lookup_request& r) -> expected<lookup_reply> {
          auto ref = core_->names->find(r.name);
          if (!ref) return error{errc::no_such_actor, "no actor named '" + r.name + "' on node " + core_->net->name()};
          return lookup_reply{ref};
        },
        [this](const ping_request&) {
          return ping_reply{core_->net->name(), core_->net->address(), core_->net->incarnation()};
        },
        [this](const stats_request&) { return core_->stats(); },
        [this](const task_sequence_request& r) {
          start_task_sequence(core_->sys, self(), r, make_response_promise());
        },
        [this](const group_members_request& r) {  // for clients: the node's view (the agent's)
          auto p = make_response_promise();
          request(core_->agent, group_members_request{r}, core_->claim_timeout)
              .then([p](const group_members& m) mutable { p.deliver(group_members{m}); },
                    [p](const error& e) mutable { p.deliver(e); });
        },
    };
  }

 private:
  // A spawn under way: its name's claim and its groups' joins answer before the requester does.
  struct spawning {
    response_promise answer;
    actor_ref ref;
    std::string type;
    std::string name;
    std::size_t joins_left = 0;
    bool failed = false;
  };

  void spawn(const spawn_request& r) {
    const auto& core = *core_;
    auto groups = spawn_groups(r.config);
    if (!groups) return reply(groups.error());
    if (!r.name.empty() && core.names->find(r.name)) {
      return reply(error{errc::name_taken, "the name '" + r.name + "' is taken on node " + core.net->name()});
    }
    auto ref = core.sys.spawn(r.type, r.config);
    if (!ref) return reply(ref.error());
    auto s = std::make_shared<spawning>(spawning{make_response_promise(), *ref, r.type, r.name, 0, false});
    if (r.name.empty()) return join_groups(s, *groups);
    if (auto here = core.names->add(r.name, *ref); !here) return fail(s, here.error());
    request(core.agent, agent_claim{r.name, *ref, core.agent_key}, core.claim_timeout)
        .then([this, s, groups = *groups](const registry_ok&) { join_groups(s, groups); },
              [this, s](const error& e) {
                core_->claim_failed(s->name, e);
                fail(s, e);
              });
  }

  // Joins the new actor to its groups (config key "groups"), all at once; the first failure
  // fails the spawn.
  void join_groups(const std::shared_ptr<spawning>& s, const std::vector<std::string>& groups) {
    if (groups.empty()) return done(*s);
    s->joins_left = groups.size();
    for (const auto& group : groups) {
      request(core_->agent, group_join{group, s->ref}, core_->claim_timeout)
          .then(
              [this, s](const group_joined&) {
                if (--s->joins_left == 0 && !s->failed) done(*s);
              },
              [this, s, group](const error& e) {
                if (std::exchange(s->failed, true)) return;
                fail(s, error{e.code, "joining group '" + group + "': " + e.text});
              });
    }
  }

  static void done(spawning& s) {
    ACTOR_LOG(debug, "node", "spawned", {"type", s.type}, {"name", s.name}, {"id", s.ref.id()});
    s.answer.deliver(spawn_reply{s.ref});
  }
  // Stops the new actor (its names and memberships go with it) and answers the error.
  void fail(const std::shared_ptr<spawning>& s, const error& e) {
    core_->sys.send(s->ref, stop_msg{});
    s->answer.deliver(e);
  }

  std::shared_ptr<node_core> core_;
};

}  // namespace detail

node::node(actor_system& sys, node_options opts) : sys_(sys) {
  detail::transport_options t;
  t.node_name = opts.name;
  t.incarnation = new_incarnation();
  t.listen = opts.listen;
  t.advertise = opts.advertise;
  t.heartbeat_interval = opts.heartbeat_interval;
  t.suspect_after = opts.suspect_after;
  t.down_after = opts.down_after;
  t.max_message_size = opts.max_message_size;
  t.peer_queue_limit = opts.peer_queue_limit;
  t.linger_ms = opts.linger_ms;
  t.busy_poll = opts.busy_poll;
  t.gateway = opts.gateway;
  auto net = std::make_shared<detail::router>(sys, std::move(t));
  net->set_inbound_limit(opts.inbound_limit);
  net->start();
  auto names = std::make_shared<detail::local_names>();
  auto cache = std::make_shared<detail::name_cache>(opts.name_cache_ttl, opts.name_cache_size);
  const auto key = new_incarnation();  // as random, and never 0
  core_ = std::make_shared<detail::node_core>(detail::node_core{sys, net, cache, names, {}, key, {}});
  // the agent answers a claim once every registry answered or timed out
  core_->claim_timeout = opts.registry_timeout * static_cast<int>(opts.registries.size() + 1);
  core_->agent = detail::spawn_registry_agent(
      *this, {opts.registries, opts.heartbeat_interval, opts.registry_timeout, key}, names, cache,
      detail::system_access::state(sys).groups);
  // Left installed by ~node (it holds nothing of the node alive; a node that replaces this one
  // on the same system installs its own).
  sys_.set_stop_observer([weak = std::weak_ptr<detail::router>(net), weak_names = std::weak_ptr<detail::local_names>(names),
                          agent = core_->agent, key, &sys](std::uint64_t id) {
    auto r = weak.lock();
    if (!r) return;
    r->actor_stopped(id);
    if (auto n = weak_names.lock()) {
      for (auto& name : n->release(id)) sys.send(agent, detail::agent_release{std::move(name), key});
    }
  });
  // children on this node and others are spawned through the router's managers
  sys_.register_actor_factory("supervisor", [weak = std::weak_ptr<detail::router>(net)](const config& c) {
    return detail::make_supervisor(weak, c);
  });
  detail::set_name_service(sys_, core_->agent);  // observe(name) resolves through this node
  // last: once the manager is reachable, peers' spawn requests use every member set above
  manager_ = sys_.spawn<detail::manager_actor>(core_);
  net->set_service(manager_id, manager_);
  ACTOR_LOG(info, "node", "listening", {"name", name()}, {"address", address()},
            {"bound", net->net().bound_endpoint()}, {"incarnation", incarnation()});
}

node::~node() {
  shutdown();
  detail::clear_name_service(sys_, core_->agent);  // unless another node set its own since
  detail::system_access::state(sys_).groups.clear();  // publishes still held are dropped (counted)
  // The manager and the agent hold what they use (core_, its names): requests still in their
  // mailboxes are answered from it, after which they stop.
  sys_.send(manager_, stop_msg{});
  sys_.send(core_->agent, stop_msg{});
}

const std::string& node::name() const noexcept { return core_->net->name(); }
std::uint64_t node::incarnation() const noexcept { return core_->net->incarnation(); }
const std::string& node::address() const noexcept { return core_->net->address(); }
actor_ref node::manager() const { return manager_; }
actor_ref node::manager_at(const std::string& address) { return core_->net->remote(address, 0, manager_id); }
actor_ref node::service_at(const std::string& address, std::uint64_t id) { return core_->net->remote(address, 0, id); }
void node::provide_service(std::uint64_t id, const actor_ref& ref) { core_->net->set_service(id, ref); }
actor_ref node::name_service() const { return core_->agent; }

expected<actor_ref> node::spawn(const std::string& type, const std::string& name, const config& cfg) {
  auto groups = detail::spawn_groups(cfg);
  if (!groups) return groups.error();
  if (!name.empty() && whereis(name)) {
    return error{errc::name_taken, "the name '" + name + "' is taken on node " + this->name()};
  }
  auto ref = sys_.spawn(type, cfg);
  if (!ref) return ref;
  if (!name.empty()) {
    if (auto ok = register_name(name, *ref); !ok) {
      sys_.send(*ref, stop_msg{});
      return ok.error();
    }
  }
  for (const auto& group : *groups) {
    auto joined = sys_.request<group_joined>(core_->agent, group_join{group, *ref}, core_->claim_timeout).get();
    if (!joined) {
      sys_.send(*ref, stop_msg{});  // its name and memberships go with it
      return error{joined.error().code, "joining group '" + group + "': " + joined.error().text};
    }
  }
  ACTOR_LOG(debug, "node", "spawned", {"type", type}, {"name", name}, {"id", ref->id()});
  return ref;
}

expected<void> node::register_name(const std::string& name, const actor_ref& ref) {
  if (auto here = core_->names->add(name, ref); !here) return here;
  auto claim = sys_.request<registry_ok>(core_->agent, detail::agent_claim{name, ref, core_->agent_key}, core_->claim_timeout).get();
  if (!claim) {
    core_->claim_failed(name, claim.error());
    return claim.error();
  }
  return {};
}

namespace detail {
void node_core::claim_failed(const std::string& name, const error& e) const {
  names->remove(name);
  // a claim still under way (the wait for it timed out) is withdrawn wherever it was made
  if (e.code != errc::name_taken) sys.send(agent, agent_release{name, agent_key});
}
}  // namespace detail

bool node::unregister_name(const std::string& name) {
  if (!core_->names->remove(name)) return false;
  sys_.send(core_->agent, detail::agent_release{name, core_->agent_key});
  return true;
}

expected<actor_ref> node::lookup(const std::string& name, std::chrono::milliseconds timeout) {
  if (auto ref = core_->names->find(name)) return ref;
  if (auto ref = core_->cache->find(name)) return ref;
  auto found = sys_.request<registry_found>(core_->agent, registry_lookup{name}, timeout).get();
  if (!found) return found.error();
  return found->ref;
}

expected<actor_ref> node::lookup_again(const std::string& name, const actor_ref& failed,
                                       std::chrono::milliseconds timeout) {
  if (auto ref = core_->names->find(name)) return ref;
  auto found = sys_.request<registry_found>(core_->agent, detail::agent_relookup{name, failed}, timeout).get();
  if (!found) return found.error();
  return found->ref;
}

void node::leave(std::chrono::milliseconds timeout) {
  (void)sys_.request<registry_ok>(core_->agent, detail::agent_leave{core_->agent_key}, timeout).get();
}
actor_ref node::whereis(const std::string& name) const { return core_->names->find(name); }

node_stats node::stats() const { return core_->stats(); }

namespace detail {
node_stats node_core::stats() const {
  node_stats s;
  s.node = net->name();
  s.address = net->address();
  s.incarnation = net->incarnation();
  auto st = sys.stats();
  s.actors_alive = st.actors_alive;
  s.actors_spawned = st.actors_spawned;
  s.actors_crashed = st.actors_crashed;
  s.dead_letters = st.dead_letters;
  s.monitors = st.monitors;
  s.links = st.links;
  s.observers = st.observers;
  s.notifications_sent = st.notifications_sent;
  s.notifications_dropped = st.notifications_dropped;
  s.notifications_lost = st.notifications_lost;
  s.notifications_unhandled = st.notifications_unhandled;
  s.groups_followed = st.groups_followed;
  s.group_publishes_dropped = st.group_publishes_dropped;
  const auto& w = net->watches();
  s.watches_monitoring = w.size(watch_kind::monitoring);
  s.watches_linked = w.size(watch_kind::linked);
  s.watches_watched_by = w.size(watch_kind::watched_by);
  s.watches_fired = w.fired();
  const auto& c = net->net().counters();
  s.messages_sent = c.envelopes_out.load();
  s.messages_received = c.envelopes_in.load();
  s.frames_sent = c.frames_out.load();
  s.frames_received = c.frames_in.load();
  s.clients = c.clients.load();
  for (std::size_t i = 0; i < c.dropped.size(); ++i) {
    s.dropped[std::string(to_string(static_cast<drop_reason>(i)))] = c.dropped[i].load();
  }
  s.decode_errors = c.dropped[static_cast<std::size_t>(drop_reason::malformed)].load() + net->decode_errors();
  s.undeliverable = net->undeliverable();
  s.forwarded = net->forwarded();
  s.inbound_pending = static_cast<std::uint64_t>(std::max<std::int64_t>(0, net->inbound_pending()));
  s.dropped["inbound_overloaded"] = net->inbound_overloaded();
  for (const auto& p : net->net().peers()) {
    s.peers.push_back({p.address, p.name, p.incarnation, std::string(to_string(p.state))});
  }
  return s;
}
}  // namespace detail

void node::shutdown() {
  core_->net->stop();
  core_->names->clear();  // the names hold refs, which may hold proxies, which hold the router
}

}  // namespace actor
