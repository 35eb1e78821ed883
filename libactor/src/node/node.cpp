#include "actor/node.hpp"

#include <random>

#include "actor/log.hpp"
#include "net/router.hpp"
#include "node/supervisor.hpp"
#include "registry/agent.hpp"
#include "registry/local_names.hpp"

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

// Answers a node's built-in requests at actor id 0. It runs on a pool worker, so it
// never waits: a named spawn claims its name with a request to the registry agent and
// answers when the claim resolves, while the manager goes on with other requests.
class manager_actor final : public actor_base {
 public:
  explicit manager_actor(node& n) : node_(n) {}

 protected:
  behavior make_behavior() override {
    return {
        [this](const spawn_request& r) {
          if (r.name.empty()) {
            auto ref = node_.spawn(r.type, {}, r.config);
            if (!ref) return reply(ref.error());
            return reply(spawn_reply{*ref});
          }
          spawn_named(r);
        },
        [this](const lookup_request& r) -> expected<lookup_reply> {
          auto ref = node_.whereis(r.name);
          if (!ref) return error{errc::no_such_actor, "no actor named '" + r.name + "' on node " + node_.name()};
          return lookup_reply{ref};
        },
        [this](const ping_request&) { return ping_reply{node_.name(), node_.address(), node_.incarnation()}; },
        [this](const stats_request&) { return node_.stats(); },
    };
  }

 private:
  void spawn_named(const spawn_request& r) {
    if (node_.whereis(r.name)) {
      return reply(error{errc::name_taken, "the name '" + r.name + "' is taken on node " + node_.name()});
    }
    auto ref = node_.sys_.spawn(r.type, r.config);
    if (!ref) return reply(ref.error());
    if (auto here = node_.names_->add(r.name, *ref); !here) {
      node_.sys_.send(*ref, stop_msg{});
      return reply(here.error());
    }
    auto p = make_response_promise();
    request(node_.agent_, agent_claim{r.name, *ref, node_.agent_key_}, node_.claim_timeout_)
        .then(
            [p, ref = *ref, name = r.name, type = r.type](const registry_ok&) mutable {
              ACTOR_LOG(debug, "node", "spawned", {"type", type}, {"name", name}, {"id", ref.id()});
              p.deliver(spawn_reply{ref});
            },
            [this, p, ref = *ref, name = r.name](const error& e) mutable {
              node_.claim_failed(name, e);
              node_.sys_.send(ref, stop_msg{});
              p.deliver(e);
            });
  }

  node& node_;
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
  router_ = std::make_shared<detail::router>(sys, std::move(t));
  router_->set_inbound_limit(opts.inbound_limit);
  router_->start();
  cache_ = std::make_shared<detail::name_cache>(opts.name_cache_ttl, opts.name_cache_size);
  names_ = std::make_shared<detail::local_names>();
  // the agent answers a claim once every registry answered or timed out
  claim_timeout_ = opts.registry_timeout * static_cast<int>(opts.registries.size() + 1);
  agent_key_ = new_incarnation();  // as random, and never 0
  agent_ = detail::spawn_registry_agent(
      *this, {opts.registries, opts.heartbeat_interval, opts.registry_timeout, agent_key_}, cache_);
  std::weak_ptr<detail::router> weak = router_;
  std::weak_ptr<detail::local_names> weak_names = names_;
  sys_.set_stop_observer([weak, weak_names, agent = agent_, key = agent_key_, &sys = sys_](std::uint64_t id) {
    auto r = weak.lock();
    if (!r) return;
    r->actor_stopped(id);
    if (auto names = weak_names.lock()) {
      for (auto& name : names->release(id)) sys.send(agent, detail::agent_release{std::move(name), key});
    }
  });
  // children on this node and others are spawned through the router's managers
  sys_.register_actor_factory("supervisor", [net = std::weak_ptr<detail::router>(router_)](const config& c) {
    return detail::make_supervisor(net, c);
  });
  detail::set_name_service(sys_, agent_);  // observe(name) resolves through this node
  // last: once the manager is reachable, peers' spawn requests use every member set above
  router_->set_service(manager_id, sys_.spawn<detail::manager_actor>(*this));
  ACTOR_LOG(info, "node", "listening", {"name", name()}, {"address", address()},
            {"bound", router_->net().bound_endpoint()}, {"incarnation", incarnation()});
}

node::~node() {
  shutdown();
  sys_.set_stop_observer(nullptr);
  detail::set_name_service(sys_, {});
  if (auto m = router_->manager()) sys_.send(m, stop_msg{});
  sys_.send(agent_, stop_msg{});
  router_->set_service(manager_id, {});
}

const std::string& node::name() const noexcept { return router_->name(); }
std::uint64_t node::incarnation() const noexcept { return router_->incarnation(); }
const std::string& node::address() const noexcept { return router_->address(); }
actor_ref node::manager() const { return router_->manager(); }
actor_ref node::manager_at(const std::string& address) { return router_->remote(address, 0, manager_id); }
actor_ref node::service_at(const std::string& address, std::uint64_t id) { return router_->remote(address, 0, id); }
void node::provide_service(std::uint64_t id, const actor_ref& ref) { router_->set_service(id, ref); }
actor_ref node::name_service() const { return agent_; }

expected<actor_ref> node::spawn(const std::string& type, const std::string& name, const config& cfg) {
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
  ACTOR_LOG(debug, "node", "spawned", {"type", type}, {"name", name}, {"id", ref->id()});
  return ref;
}

expected<void> node::register_name(const std::string& name, const actor_ref& ref) {
  if (auto here = names_->add(name, ref); !here) return here;
  auto claim = sys_.request<registry_ok>(agent_, detail::agent_claim{name, ref, agent_key_}, claim_timeout_).get();
  if (!claim) {
    claim_failed(name, claim.error());
    return claim.error();
  }
  return {};
}

void node::claim_failed(const std::string& name, const error& e) {
  names_->remove(name);
  // a claim still under way (the wait for it timed out) is withdrawn wherever it was made
  if (e.code != errc::name_taken) sys_.send(agent_, detail::agent_release{name, agent_key_});
}

bool node::unregister_name(const std::string& name) {
  if (!names_->remove(name)) return false;
  sys_.send(agent_, detail::agent_release{name, agent_key_});
  return true;
}

expected<actor_ref> node::lookup(const std::string& name, std::chrono::milliseconds timeout) {
  if (auto ref = names_->find(name)) return ref;
  if (auto ref = cache_->find(name)) return ref;
  auto found = sys_.request<registry_found>(agent_, registry_lookup{name}, timeout).get();
  if (!found) return found.error();
  return found->ref;
}

expected<actor_ref> node::lookup_again(const std::string& name, const actor_ref& failed,
                                       std::chrono::milliseconds timeout) {
  if (auto ref = names_->find(name)) return ref;
  auto found = sys_.request<registry_found>(agent_, detail::agent_relookup{name, failed}, timeout).get();
  if (!found) return found.error();
  return found->ref;
}

void node::leave(std::chrono::milliseconds timeout) {
  (void)sys_.request<registry_ok>(agent_, detail::agent_leave{agent_key_}, timeout).get();
}
actor_ref node::whereis(const std::string& name) const { return names_->find(name); }

node_stats node::stats() const {
  node_stats s;
  s.node = name();
  s.address = address();
  s.incarnation = incarnation();
  auto sys = sys_.stats();
  s.actors_alive = sys.actors_alive;
  s.actors_spawned = sys.actors_spawned;
  s.actors_crashed = sys.actors_crashed;
  s.dead_letters = sys.dead_letters;
  s.monitors = sys.monitors;
  s.links = sys.links;
  s.observers = sys.observers;
  s.notifications_sent = sys.notifications_sent;
  s.notifications_dropped = sys.notifications_dropped;
  s.notifications_lost = sys.notifications_lost;
  s.notifications_unhandled = sys.notifications_unhandled;
  const auto& w = router_->watches();
  s.watches_monitoring = w.size(detail::watch_kind::monitoring);
  s.watches_linked = w.size(detail::watch_kind::linked);
  s.watches_watched_by = w.size(detail::watch_kind::watched_by);
  s.watches_fired = w.fired();
  const auto& c = router_->net().counters();
  s.messages_sent = c.envelopes_out.load();
  s.messages_received = c.envelopes_in.load();
  s.frames_sent = c.frames_out.load();
  s.frames_received = c.frames_in.load();
  s.clients = c.clients.load();
  for (std::size_t i = 0; i < c.dropped.size(); ++i) {
    s.dropped[std::string(detail::to_string(static_cast<detail::drop_reason>(i)))] = c.dropped[i].load();
  }
  s.decode_errors = c.dropped[static_cast<std::size_t>(detail::drop_reason::malformed)].load() + router_->decode_errors();
  s.undeliverable = router_->undeliverable();
  s.forwarded = router_->forwarded();
  s.inbound_pending = static_cast<std::uint64_t>(std::max<std::int64_t>(0, router_->inbound_pending()));
  s.dropped["inbound_overloaded"] = router_->inbound_overloaded();
  for (const auto& p : router_->net().peers()) {
    s.peers.push_back({p.address, p.name, p.incarnation, std::string(detail::to_string(p.state))});
  }
  return s;
}

void node::shutdown() {
  router_->stop();
  names_->clear();  // the names hold refs, which may hold proxies, which hold the router
}

}  // namespace actor
