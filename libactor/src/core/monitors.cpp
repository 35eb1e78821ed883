// Monitors and links of an actor (actor/monitor.hpp): the reasons' names, and what an
// actor_cell does with watch messages and when it stops.

#include "actor/actor_base.hpp"
#include "actor/system.hpp"
#include "core/actor_extras.hpp"
#include "core/system_state.hpp"

namespace actor {

std::string_view to_string(down_reason::kind k) noexcept {
  switch (k) {
    case down_reason::kind::normal: return "normal";
    case down_reason::kind::stopped: return "stopped";
    case down_reason::kind::crashed: return "crashed";
    case down_reason::kind::shutdown: return "shutdown";
    case down_reason::kind::linked: return "linked";
    case down_reason::kind::noproc: return "noproc";
    case down_reason::kind::node_down: return "node_down";
    case down_reason::kind::node_restarted: return "node_restarted";
  }
  return "unknown";
}

std::optional<down_reason::kind> down_kind_from_string(std::string_view name) noexcept {
  for (auto k : {down_reason::kind::normal, down_reason::kind::stopped, down_reason::kind::crashed,
                 down_reason::kind::shutdown, down_reason::kind::linked, down_reason::kind::noproc,
                 down_reason::kind::node_down, down_reason::kind::node_restarted}) {
    if (to_string(k) == name) return k;
  }
  return std::nullopt;
}

std::string down_reason::describe() const {
  std::string out(to_string(what));
  if (!text.empty()) out += ": " + text;
  return out;
}

down_reason to_down_reason(const stop_reason& why) {
  down_reason r;
  switch (why.what) {
    case stop_reason::kind::normal: r.what = down_reason::kind::normal; break;
    case stop_reason::kind::requested: r.what = down_reason::kind::stopped; break;
    case stop_reason::kind::crashed: r.what = down_reason::kind::crashed; break;
    case stop_reason::kind::shutdown: r.what = down_reason::kind::shutdown; break;
    case stop_reason::kind::linked: r.what = down_reason::kind::linked; break;
  }
  r.text = why.text;
  r.error_type = why.error_type;
  return r;
}

namespace detail {

namespace {
// Sends a watch message (kind send, correlation = the watch id) from `from` to `to`.
template <class T>
void send_watch(const actor_ref& to, T&& msg, const actor_ref& from, std::uint64_t id) noexcept {
  try {
    deliver(to, make_envelope(std::forward<T>(msg), envelope_kind::send, from, id));
  } catch (...) {  // allocation failure: nothing better to do than drop
  }
}
}  // namespace

std::uint64_t actor_cell::monitor(const actor_ref& whom) {
  auto& x = extras();
  const auto id = ++x.last_watch_id;
  if (state_ == state::stopped) return id;  // from on_stop: nothing can arrive any more
  x.monitors.emplace(id, whom);
  if (whom) {
    send_watch(whom, monitor_request{}, actor_ref{this}, id);
  } else {
    send_watch(actor_ref{this}, down_msg{id, {}, {down_reason::kind::noproc, "the empty ref", {}}}, {}, id);
  }
  return id;
}

bool actor_cell::demonitor(std::uint64_t id) {
  if (!extras_) return false;
  auto it = extras_->monitors.find(id);
  if (it == extras_->monitors.end()) return false;
  auto target = std::move(it->second);
  extras_->monitors.erase(it);
  if (target) send_watch(target, demonitor_request{}, actor_ref{this}, id);
  return true;
}

void actor_cell::link(const actor_ref& other) {
  if (!other || other.endpoint() == this || state_ == state::stopped) return;
  auto& x = extras();
  if (x.links.contains(other.endpoint())) return;
  const auto id = ++x.last_watch_id;
  x.links.emplace(other.endpoint(), link_entry{other, id});
  system_access::state(*system_).links.fetch_add(1, std::memory_order_relaxed);
  send_watch(other, link_request{}, actor_ref{this}, id);
}

void actor_cell::unlink(const actor_ref& other) {
  if (!extras_) return;
  auto it = extras_->links.find(other.endpoint());
  if (it == extras_->links.end()) return;
  send_watch(it->second.peer, unlink_request{}, actor_ref{this}, it->second.id);
  extras_->links.erase(it);
  system_access::state(*system_).links.fetch_sub(1, std::memory_order_relaxed);
}

void actor_cell::trap_exit(bool on) {
  if (on || extras_) extras().trap_exit = on;
}

bool actor_cell::handle_watch(envelope& e) {
  auto& counts = system_access::state(*system_);
  const auto* type = e.type;
  const auto* from = e.sender.endpoint();
  if (type == &type_of<monitor_request>()) {
    if (from != nullptr && extras().watchers.try_emplace(watch_key{from, e.correlation}, e.sender).second) {
      counts.monitors.fetch_add(1, std::memory_order_relaxed);
    }
    return true;
  }
  if (type == &type_of<demonitor_request>()) {
    if (extras_ && extras_->watchers.erase(watch_key{from, e.correlation}) != 0) {
      counts.monitors.fetch_sub(1, std::memory_order_relaxed);
    }
    return true;
  }
  if (type == &type_of<link_request>()) {
    if (from == nullptr || from == this) return true;
    auto [it, added] = extras().links.try_emplace(from, link_entry{e.sender, e.correlation});
    if (added) {
      counts.links.fetch_add(1, std::memory_order_relaxed);
    } else if (it->second.id != e.correlation) {
      it->second.other_id = e.correlation;  // both sides linked at once: either id may unlink it
    }
    return true;
  }
  if (type == &type_of<unlink_request>()) {
    // only the link it names: one made again since (a new id) stays
    if (!extras_) return true;
    auto it = extras_->links.find(from);
    if (it != extras_->links.end() && it->second.named_by(e.correlation)) {
      extras_->links.erase(it);
      counts.links.fetch_sub(1, std::memory_order_relaxed);
    }
    return true;
  }
  if (type == &type_of<down_msg>()) {
    // exactly once: only a down for an active monitor counts, and it ends the monitor
    if (!extras_) return true;
    auto it = extras_->monitors.find(e.correlation);
    if (it == extras_->monitors.end()) {
      (void)observe_down(e);  // the runtime's own monitors of observe/notify, else a stale down
      return true;            // demonitored, or a second down
    }
    auto& down = *static_cast<down_msg*>(e.data);
    down.monitor = e.correlation;
    if (!down.who) down.who = it->second;
    extras_->monitors.erase(it);
    dispatch(e);
    return true;
  }
  if (type == &type_of<exit_msg>()) {
    if (!extras_) return true;
    auto it = extras_->links.find(from);
    if (it == extras_->links.end()) return true;  // not linked (any more): stale
    auto& exit = *static_cast<exit_msg*>(e.data);
    if (!exit.from) exit.from = it->second.peer;
    extras_->links.erase(it);
    counts.links.fetch_sub(1, std::memory_order_relaxed);
    if (extras_->trap_exit) {
      dispatch(e);
    } else if (exit.reason.abnormal() && state_ == state::running) {
      quit_reason_ = stop_reason::kind::linked;
      extras_->stop_text = "actor " + std::to_string(exit.from.id()) + " " + exit.reason.describe();
      state_ = state::stopping;
    }
    return true;
  }
  return false;
}

void actor_cell::end_watches(const stop_reason& why) noexcept {
  if (!extras_) return;
  auto& x = *extras_;
  if (x.watchers.empty() && x.links.empty() && x.monitors.empty()) return;
  auto& counts = system_access::state(*system_);
  const actor_ref me{this};
  const auto reason = to_down_reason(why);
  for (const auto& [key, watcher] : x.watchers) send_watch(watcher, down_msg{key.id, me, reason}, me, key.id);
  counts.monitors.fetch_sub(static_cast<std::int64_t>(x.watchers.size()), std::memory_order_relaxed);
  x.watchers.clear();
  for (const auto& [ep, link] : x.links) send_watch(link.peer, exit_msg{me, reason}, me, link.id);
  counts.links.fetch_sub(static_cast<std::int64_t>(x.links.size()), std::memory_order_relaxed);
  x.links.clear();
  // the targets of this actor's monitors forget it
  for (const auto& [id, target] : x.monitors) {
    if (target) send_watch(target, demonitor_request{}, me, id);
  }
  x.monitors.clear();
}

void actor_cell::answer_watch_of_gone(envelope& e, const down_reason& why) noexcept {
  if (!e.sender) return;
  const actor_ref me{this};
  if (e.type == &type_of<monitor_request>()) {
    send_watch(e.sender, down_msg{e.correlation, me, why}, me, e.correlation);
  } else if (e.type == &type_of<link_request>()) {
    send_watch(e.sender, exit_msg{me, why}, me, e.correlation);
  }
}

}  // namespace detail

}  // namespace actor
