// Observe and notify (actor/observe.hpp): what an actor_cell does as an observed actor (its
// subscribers, their windows and queues) and as an observer (sequence numbers, lost notices,
// acknowledgements, names followed across restarts).

#include <algorithm>
#include <stdexcept>

#include "actor/actor_base.hpp"
#include "actor/log.hpp"
#include "actor/observe.hpp"
#include "actor/registry.hpp"
#include "actor/system.hpp"
#include "core/actor_extras.hpp"
#include "core/observe_state.hpp"
#include "core/system_state.hpp"

namespace actor::detail {

namespace {
constexpr std::chrono::milliseconds first_retry{10};
constexpr std::chrono::milliseconds last_retry{1000};
constexpr duration lookup_timeout = std::chrono::seconds(2);

// Sends a control message of the observe protocol (kind send, correlation = the observation id).
template <class T>
void send_control(const actor_ref& to, T&& msg, const actor_ref& from, std::uint64_t id) noexcept {
  try {
    deliver(to, make_envelope(std::forward<T>(msg), envelope_kind::send, from, id));
  } catch (...) {  // allocation failure: nothing better to do than drop
  }
}

std::string names_of(const std::vector<const message_type*>& types) {
  std::string out;
  for (const auto* t : types) {
    if (!out.empty()) out += ", ";
    out += t->name;
  }
  return out.empty() ? "none" : out;
}

actor_cell* local_actor(const actor_ref& r) noexcept { return dynamic_cast<actor_cell*>(r.endpoint()); }
}  // namespace

observe_state& actor_cell::observing() {
  auto& x = extras();
  if (!x.observe) x.observe = std::make_unique<observe_state>();
  return *x.observe;
}

void actor_cell::declare_outputs(std::initializer_list<const message_type*> types) {
  if (system_ != nullptr) throw std::logic_error("declare_outputs: outputs are declared in the constructor, before spawn");
  auto all = outputs_ ? *outputs_ : std::vector<const message_type*>{};
  for (const auto* t : types) {
    if (std::find(all.begin(), all.end(), t) == all.end()) all.push_back(t);
  }
  outputs_ = std::make_unique<const std::vector<const message_type*>>(std::move(all));
}

bool actor_cell::is_output(const message_type* t) const noexcept {
  return outputs_ && std::find(outputs_->begin(), outputs_->end(), t) != outputs_->end();
}

// ---- the observed side ------------------------------------------------------------

void actor_cell::notify(const message_type& t, const void* value) {
  if (!is_output(&t)) {
    throw std::logic_error("notify: " + std::string(t.name) + " is not an output of actor " + std::to_string(id()) +
                           " (declare_outputs)");
  }
  if (!extras_ || !extras_->observe || state_ == state::stopped) return;
  const actor_ref me{this};
  std::uint64_t sent = 0;
  std::uint64_t dropped = 0;
  for (auto& s : extras_->observe->subscribers) {
    if (!s->wants(&t)) continue;
    auto* e = t.copy(value);
    e->kind = envelope_kind::send;
    e->sender = me;
    e->correlation = ++s->seq;
    if (s->on_their_way.size() < s->window) {
      s->on_their_way.push_back(e->correlation);
      ++sent;
      deliver(s->who, e);
      continue;
    }
    ++dropped;  // the oldest waiting (or this one, when none may wait): the observer sees the gap
    if (s->waiting_limit == 0) {
      delete e;
      continue;
    }
    if (s->waiting.size() >= s->waiting_limit) {
      delete s->waiting.front();
      s->waiting.pop_front();
    } else {
      --dropped;
    }
    s->waiting.push_back(e);
  }
  auto& counts = system_access::state(*system_);
  if (sent != 0) counts.notifications_sent.fetch_add(sent, std::memory_order_relaxed);
  if (dropped != 0) counts.notifications_dropped.fetch_add(dropped, std::memory_order_relaxed);
}

namespace {
// Sends what waits for s while its window has room.
std::uint64_t flush(subscriber& s) noexcept {
  std::uint64_t n = 0;
  while (!s.waiting.empty() && s.on_their_way.size() < s.window) {
    auto* e = s.waiting.front();
    s.waiting.pop_front();
    s.on_their_way.push_back(e->correlation);
    ++n;
    deliver(s.who, e);
  }
  return n;
}
}  // namespace

void actor_cell::add_subscriber(envelope& e) {
  const auto& req = *static_cast<const observe_request*>(e.data);
  const actor_ref me{this};
  std::vector<const message_type*> types;
  if (req.types.empty()) {
    if (outputs_) types = *outputs_;
  } else {
    for (const auto& name : req.types) {
      const auto* t = find_message_type(name);
      if (t == nullptr || !is_output(t)) {
        send_control(e.sender,
                     observe_reply{{}, "actor " + std::to_string(id()) + " has no output '" + name +
                                           "' (its outputs: " + names_of(outputs_ ? *outputs_ : types) + ")"},
                     me, e.correlation);
        return;
      }
      if (std::find(types.begin(), types.end(), t) == types.end()) types.push_back(t);
    }
  }
  auto& obs = observing();
  // one observation per observer: a new one replaces the earlier
  std::uint64_t watch = 0;
  auto& subs = obs.subscribers;
  for (auto it = subs.begin(); it != subs.end(); ++it) {
    if ((*it)->who.endpoint() == e.sender.endpoint()) {
      watch = (*it)->watch;
      auto& counts = system_access::state(*system_);
      if (!(*it)->waiting.empty()) counts.notifications_dropped.fetch_add((*it)->waiting.size(), std::memory_order_relaxed);
      subs.erase(it);
      counts.observers.fetch_sub(1, std::memory_order_relaxed);
      break;
    }
  }
  auto s = std::make_unique<subscriber>();
  s->who = e.sender;
  s->id = e.correlation;
  s->types = std::move(types);
  const auto queue = req.queue == 0 ? default_observe_queue : req.queue;
  s->window = observe_window(queue);
  s->waiting_limit = queue - s->window;  // window + waiting: at most `queue` outstanding
  if (watch == 0) {
    // this actor watches its observer: it forgets it when it dies or its node goes down
    watch = ++extras().last_watch_id;
    send_control(e.sender, monitor_request{}, me, watch);
  }
  s->watch = watch;
  observe_reply reply;
  for (const auto* t : s->types) reply.outputs.emplace_back(t->name);
  send_control(e.sender, std::move(reply), me, e.correlation);
  subs.push_back(std::move(s));
  system_access::state(*system_).observers.fetch_add(1, std::memory_order_relaxed);
}

void actor_cell::remove_subscriber(std::size_t index, bool demonitor_observer) noexcept {
  auto& subs = extras_->observe->subscribers;
  auto& s = *subs[index];
  if (demonitor_observer) send_control(s.who, demonitor_request{}, actor_ref{this}, s.watch);
  subs.erase(subs.begin() + static_cast<std::ptrdiff_t>(index));
  system_access::state(*system_).observers.fetch_sub(1, std::memory_order_relaxed);
}

// ---- the observer's side ------------------------------------------------------------

expected<std::uint64_t> actor_cell::observe(const actor_ref& target, observe_options opts) {
  if (!target) return error{errc::no_such_actor, "observe: the empty ref"};
  if (state_ != state::running) return error{errc::actor_stopped, "observe: this actor is stopping"};
  if (auto* local = local_actor(target)) {
    // a local actor: its outputs are known now (declared before it was spawned)
    std::vector<const message_type*> types;
    const auto& outputs = local->outputs_ ? *local->outputs_ : std::vector<const message_type*>{};
    if (opts.types.empty()) {
      types = outputs;
    } else {
      for (const auto& name : opts.types) {
        const auto* t = find_message_type(name);
        if (t == nullptr || std::find(outputs.begin(), outputs.end(), t) == outputs.end()) {
          return error{errc::bad_message, "actor " + std::to_string(target.id()) + " has no output '" + name +
                                              "' (its outputs: " + names_of(outputs) + ")"};
        }
        types.push_back(t);
      }
    }
    for (const auto* t : types) {
      if (behavior_.find(t) == nullptr) {
        return error{errc::bad_message, "observer " + std::to_string(id()) + " has no handler for " +
                                            std::string(t->name) + ", an output of actor " +
                                            std::to_string(target.id())};
      }
    }
  }
  auto& obs = observing();
  const auto id = ++extras().last_watch_id;
  auto& o = obs.observations[id];
  o.types = std::move(opts.types);
  o.queue = opts.queue;
  attach(id, o, target);
  return id;
}

std::uint64_t actor_cell::observe(std::string name, observe_options opts) {
  auto& obs = observing();
  const auto id = ++extras().last_watch_id;
  auto& o = obs.observations[id];
  o.name = std::move(name);
  o.types = std::move(opts.types);
  o.queue = opts.queue;
  if (state_ == state::running) resolve(id, o);
  return id;
}

void actor_cell::attach(std::uint64_t id, observation& o, const actor_ref& target) {
  const actor_ref me{this};
  auto& obs = observing();
  // one observation per pair (the observed actor keeps one per observer): an earlier one of
  // this target ends here; its id is no longer one
  if (auto it = obs.observed.find(target.endpoint()); it != obs.observed.end() && it->second != id) {
    const auto earlier = it->second;
    send_control(target, demonitor_request{}, me, earlier);
    obs.observations.erase(earlier);
  }
  o.target = target;
  o.next_seq = 1;
  o.unacked = 0;
  o.confirmed = false;  // until its observe_reply: what comes before is from an earlier observation
  o.same_again = false;
  obs.observed[target.endpoint()] = id;
  // the observation's id is also this actor's monitor of the target: the down ends it
  send_control(target, monitor_request{}, me, id);
  send_control(target, observe_request{o.types, o.queue}, me, id);
}

void actor_cell::resolve(std::uint64_t id, observation& o) {
  actor_ref names;
  {
    auto& st = system_access::state(*system_);
    std::lock_guard lk(st.names_mu);
    names = st.name_service;
  }
  if (!names) {
    retry_later(id, o);
    return;
  }
  const auto req = send_request(names, make_envelope(registry_lookup{o.name}, envelope_kind::request, actor_ref{this}),
                                lookup_timeout);
  set_continuation(req, [this, id](envelope& r) {
    if (!extras_ || !extras_->observe) return;
    auto& obs = *extras_->observe;
    auto it = obs.observations.find(id);
    if (it == obs.observations.end() || it->second.target) return;  // unobserved meanwhile
    auto& again = it->second;
    if (r.kind != envelope_kind::error && r.type == &type_of<registry_found>() && state_ == state::running) {
      auto ref = static_cast<registry_found*>(r.data)->ref;
      if (ref && (ref != again.previous || again.same_again)) {
        if (again.previous) {
          // before the new actor's first notification, which the observe below starts
          detail::deliver(actor_ref{this}, make_envelope(observed_restarted{again.name, ref, again.previous},
                                                         envelope_kind::send, ref));
        }
        attach(id, again, ref);
        return;
      }
    }
    retry_later(id, again);  // not (yet) there, or still the actor that is gone
  });
}

void actor_cell::retry_later(std::uint64_t id, observation& o) {
  o.retry = std::clamp(o.retry * 2, first_retry, last_retry);
  auto& clk = system_->clock();
  clk.schedule_at(clk.now() + o.retry, [me = actor_ref{this}, id] {
    detail::deliver(me, make_envelope(observe_retry{}, envelope_kind::send, me, id));
  });
}

bool actor_cell::unobserve(std::uint64_t id) {
  if (!extras_ || !extras_->observe) return false;
  auto& obs = *extras_->observe;
  auto it = obs.observations.find(id);
  if (it == obs.observations.end()) return false;
  if (auto& target = it->second.target) {
    const actor_ref me{this};
    send_control(target, unobserve_request{}, me, id);
    send_control(target, demonitor_request{}, me, id);
    if (auto at = obs.observed.find(target.endpoint()); at != obs.observed.end() && at->second == id) obs.observed.erase(at);
  }
  obs.observations.erase(it);
  return true;
}

void actor_cell::handle_notification(envelope& e) {
  // e may be freed by the handler (a coroutine receiver that takes and drops it): what is needed
  // afterwards is copied first, and the observation looked up again (a handler may unobserve)
  const actor_ref from = e.sender;
  const std::uint64_t seq = e.correlation;
  auto find = [&]() -> observation* {
    if (!extras_ || !extras_->observe) return nullptr;
    auto& obs = *extras_->observe;
    auto it = obs.observed.find(from.endpoint());
    if (it == obs.observed.end()) return nullptr;
    auto o = obs.observations.find(it->second);
    return o == obs.observations.end() ? nullptr : &o->second;
  };
  auto& counts = system_access::state(*system_);
  observation* o = find();
  if (o == nullptr || !o->confirmed || seq < o->next_seq) {
    // not (or no longer) observed, or from before this observation was confirmed: stale
    counts.notifications_stale.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const auto oid = observed_id(from);
  if (seq > o->next_seq) {
    const auto gap = seq - o->next_seq;
    o->lost += gap;
    o->next_seq = seq;
    counts.notifications_lost.fetch_add(gap, std::memory_order_relaxed);
    if (const auto* h = behavior_.find(&type_of<notifications_lost>()); h != nullptr && h->type != nullptr) {
      typed_envelope<notifications_lost> notice(notifications_lost{from, gap, o->lost});
      notice.sender = from;
      delete h->fn(notice);  // a notice is not answered
      o = find();
      if (o == nullptr || observed_id(from) != oid) return;  // the handler ended the observation
    }
  }
  o->next_seq = seq + 1;
  const auto* h = behavior_.find(e.type);
  if (h == nullptr) {
    counts.notifications_unhandled.fetch_add(1, std::memory_order_relaxed);
    if (!o->warned_unhandled) {
      o->warned_unhandled = true;
      ACTOR_LOG(warn, "observe", "unhandled_notification", {"observer", id()}, {"from", from.id()},
                {"type", e.type->name});
    }
  } else if (auto* r = h->fn(e)) {  // e may be gone from here on
    answer(r);
  }
  o = find();
  if (o == nullptr || observed_id(from) != oid) return;  // the handler ended or replaced it
  // every notification up to seq handled (or lost): acknowledged every so often
  if (++o->unacked >= observe_ack_every(o->queue)) {
    o->unacked = 0;
    send_control(from, observe_ack{seq}, actor_ref{this}, oid);
  }
}

std::uint64_t actor_cell::observed_id(const actor_ref& target) const noexcept {
  if (!extras_ || !extras_->observe) return 0;
  auto it = extras_->observe->observed.find(target.endpoint());
  return it == extras_->observe->observed.end() ? 0 : it->second;
}

bool actor_cell::handle_observe(envelope& e) {
  const auto* type = e.type;
  if (type == &type_of<observe_request>()) {
    if (e.sender) add_subscriber(e);
    return true;
  }
  if (type == &type_of<observe_ack>()) {
    if (!extras_ || !extras_->observe) return true;
    if (auto* s = extras_->observe->find_subscriber(e.sender.endpoint(), e.correlation)) {
      // every notification up to seq was handled, or lost on its way: those slots are free
      const auto upto = static_cast<const observe_ack*>(e.data)->seq;
      while (!s->on_their_way.empty() && s->on_their_way.front() <= upto) s->on_their_way.pop_front();
      if (auto n = flush(*s)) {
        system_access::state(*system_).notifications_sent.fetch_add(n, std::memory_order_relaxed);
      }
    }
    return true;
  }
  if (type == &type_of<unobserve_request>()) {
    if (!extras_ || !extras_->observe) return true;
    auto& subs = extras_->observe->subscribers;
    for (std::size_t i = 0; i < subs.size(); ++i) {
      if (subs[i]->who.endpoint() == e.sender.endpoint() && subs[i]->id == e.correlation) {
        remove_subscriber(i, true);
        break;
      }
    }
    return true;
  }
  if (type == &type_of<observe_reply>()) {
    if (!extras_ || !extras_->observe) return true;
    auto& obs = *extras_->observe;
    auto it = obs.observations.find(e.correlation);
    if (it == obs.observations.end() || it->second.target.endpoint() != e.sender.endpoint()) return true;
    const auto& reply = *static_cast<const observe_reply*>(e.data);
    it->second.confirmed = true;  // what comes from the target from now on belongs to this observation
    it->second.retry = std::chrono::milliseconds{0};
    if (!reply.error.empty()) {
      ACTOR_LOG(warn, "observe", "refused", {"observer", id()}, {"observed", e.sender.id()},
                {"name", it->second.name}, {"error", reply.error});
      (void)unobserve(e.correlation);
      return true;
    }
    std::string missing;
    for (const auto& name : reply.outputs) {
      const auto* t = find_message_type(name);
      if (t == nullptr || behavior_.find(t) == nullptr) missing += (missing.empty() ? "" : ", ") + name;
    }
    if (!missing.empty()) {
      ACTOR_LOG(warn, "observe", "no_handler", {"observer", id()}, {"observed", e.sender.id()},
                {"types", missing});
    }
    return true;
  }
  if (type == &type_of<observe_retry>()) {
    if (e.sender.endpoint() != this || !extras_ || !extras_->observe || state_ != state::running) return true;
    auto& obs = *extras_->observe;
    auto it = obs.observations.find(e.correlation);
    if (it != obs.observations.end() && !it->second.target) resolve(e.correlation, it->second);
    return true;
  }
  return false;
}

bool actor_cell::observe_down(envelope& e) {
  if (!extras_->observe) return false;
  auto& obs = *extras_->observe;
  const auto id = e.correlation;
  // an observer of this actor is gone
  auto& subs = obs.subscribers;
  for (std::size_t i = 0; i < subs.size(); ++i) {
    if (subs[i]->watch == id) {
      remove_subscriber(i, false);
      return true;
    }
  }
  // an actor this one observes is gone
  auto it = obs.observations.find(id);
  if (it == obs.observations.end()) return false;
  auto& o = it->second;
  // only the down of the current target counts (a name observation reuses its id for each)
  if (!o.target || (e.sender && e.sender.endpoint() != o.target.endpoint())) return true;
  if (auto at = obs.observed.find(o.target.endpoint()); at != obs.observed.end() && at->second == id) obs.observed.erase(at);
  if (o.name.empty()) {
    obs.observations.erase(it);
    return true;
  }
  // by name: look it up again; a target only cut off (its node declared down) may be the answer
  const auto& why = static_cast<const down_msg*>(e.data)->reason;
  o.same_again = why.what == down_reason::kind::node_down;
  o.previous = std::exchange(o.target, actor_ref{});
  if (state_ != state::running) return true;
  if (o.retry.count() == 0) {
    resolve(id, o);  // it was confirmed: at once
  } else {
    retry_later(id, o);  // it went before it answered: back off, or a target that fails at once loops
  }
  return true;
}

void actor_cell::end_observes() noexcept {
  if (!extras_ || !extras_->observe) return;
  auto& obs = *extras_->observe;
  const actor_ref me{this};
  // the targets forget this observer's monitors (its observers hear of its death from theirs)
  for (const auto& [id, o] : obs.observations) {
    if (o.target) send_control(o.target, demonitor_request{}, me, id);
  }
  std::uint64_t unsent = 0;
  for (const auto& s : obs.subscribers) {
    send_control(s->who, demonitor_request{}, me, s->watch);
    unsent += s->waiting.size();
  }
  auto& counts = system_access::state(*system_);
  counts.observers.fetch_sub(static_cast<std::int64_t>(obs.subscribers.size()), std::memory_order_relaxed);
  // what still waited for an observer's window goes with this actor: dropped (the observers hear
  // of the stop from their monitors, the next thing they handle from it)
  if (unsent != 0) counts.notifications_dropped.fetch_add(unsent, std::memory_order_relaxed);
  obs.subscribers.clear();  // frees what waited
  obs.observations.clear();
  obs.observed.clear();
}

}  // namespace actor::detail

namespace actor::detail {
actor_extras::actor_extras() = default;
actor_extras::~actor_extras() = default;
}  // namespace actor::detail

namespace actor::detail {
void set_name_service(actor_system& sys, actor_ref names) {
  auto& st = system_access::state(sys);
  std::lock_guard lk(st.names_mu);
  st.name_service = std::move(names);
}
void clear_name_service(actor_system& sys, const actor_ref& names) {
  auto& st = system_access::state(sys);
  actor_ref old;  // released after the lock
  std::lock_guard lk(st.names_mu);
  if (st.name_service == names) old = std::exchange(st.name_service, {});
}
}  // namespace actor::detail
