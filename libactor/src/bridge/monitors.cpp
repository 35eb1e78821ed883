#include "bridge/monitors.hpp"

#include "actor/log.hpp"

namespace actor::detail {

namespace {

constexpr std::string_view empty_body{"\x80", 1};  // {}: the watch requests carry nothing
constexpr std::size_t owed_limit = 100000;         // demonitors remembered per node (beyond: the target keeps the entry until it dies)

using reason = ::actor::down_reason;  // (detail::down_reason is net/connection's)

reason reason_of(reason::kind k, std::string text) { return reason{k, std::move(text), {}}; }

}  // namespace

// ---- monitor_state ---------------------------------------------------------------------------

bool monitor_state::finish(::actor::down_reason r) {
  std::function<void(const ::actor::down_reason&)> fn;
  {
    std::lock_guard lk(mu);
    if (reason || closed) return false;
    reason = std::move(r);
    fn = std::move(callback);
    callback = nullptr;
    if (fn) calling = std::this_thread::get_id();
  }
  cv.notify_all();
  if (fn) {
    try {
      fn(*reason);  // reason is set once and never changes after
    } catch (const std::exception& ex) {
      ACTOR_LOG(warn, "bridge", "monitor_callback_threw", {"monitor", id}, {"error", ex.what()});
    } catch (...) {
      ACTOR_LOG(warn, "bridge", "monitor_callback_threw", {"monitor", id});
    }
    {
      std::lock_guard lk(mu);
      calling = {};
    }
    cv.notify_all();
  }
  return true;
}

void monitor_state::await_callback() {
  std::unique_lock lk(mu);
  const auto me = std::this_thread::get_id();
  cv.wait(lk, [&] { return calling == std::thread::id{} || calling == me; });
}

void monitor_state::close(error e) {
  {
    std::lock_guard lk(mu);
    if (reason || closed) return;
    closed = std::move(e);
    callback = nullptr;
  }
  cv.notify_all();
}

// ---- the table ----------------------------------------------------------------------------------

expected<std::shared_ptr<monitor_state>> bridge_monitors::add(const wire_ref& target, actor_ref who) {
  auto m = std::make_shared<monitor_state>();
  m->target = target;
  m->route = io_.route_for(target.address);
  m->who = std::move(who);
  {
    std::lock_guard lk(mu_);
    m->id = next_id_++;
    live_.emplace(m->id, m);  // before it is sent: a node_event::down from now on completes it
  }
  auto sent = io_.send(target, monitor_sender, "actor.monitor", empty_body, m->id);
  if (!sent) {
    {
      std::lock_guard lk(mu_);
      if (live_.erase(m->id) == 0) return m;  // completed meanwhile (node_down): that is its outcome
    }
    if (sent.error().code != errc::node_down) return sent.error();
    m->finish(reason_of(reason::kind::node_down, sent.error().text));  // a down, never none
  }
  return m;
}

bool bridge_monitors::cancel(monitor_state& m) {
  {
    std::lock_guard lk(mu_);
    if (live_.erase(m.id) == 0) return false;
  }
  send_demonitor(m.target, m.id);
  m.close(error{errc::shutting_down, "the monitor was cancelled"});
  return true;
}

void bridge_monitors::on_message(const raw_message& m, std::uint64_t correlation) {
  if (m.type != message_traits<down_msg>::name) return;  // nothing else is addressed to our monitor id
  std::optional<down_msg> down;
  auto ok = bridge::unpack(m, m.type, [&](const msgpack::object& o) { down.emplace(o.as<down_msg>()); });
  if (!ok) {
    ACTOR_LOG(warn, "bridge", "malformed_down", {"monitor", correlation}, {"error", ok.error().text});
    return;
  }
  std::shared_ptr<monitor_state> st;
  {
    std::lock_guard lk(mu_);
    auto it = live_.find(correlation);
    if (it == live_.end()) return;  // cancelled, completed already (node_down), or a second down
    st = std::move(it->second);
    live_.erase(it);
  }
  st->finish(std::move(down->reason));
}

std::vector<std::shared_ptr<monitor_state>> bridge_monitors::take_if(
    const std::function<bool(const monitor_state&)>& pred) {
  std::vector<std::shared_ptr<monitor_state>> out;
  std::lock_guard lk(mu_);
  for (auto it = live_.begin(); it != live_.end();) {
    if (pred(*it->second)) {
      out.push_back(std::move(it->second));
      it = live_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

void bridge_monitors::on_node_event(const node_event& ev) {
  switch (ev.what) {
    case node_event::kind::down: {
      auto gone = take_if([&](const monitor_state& m) { return m.route == ev.address; });
      {
        std::lock_guard lk(mu_);
        auto& owed = owed_[ev.address];
        for (const auto& m : gone) {
          if (owed.size() < owed_limit) owed.emplace_back(m->target, m->id);
        }
        if (owed.empty()) owed_.erase(ev.address);
      }
      for (auto& m : gone) m->finish(reason_of(reason::kind::node_down, ev.text));
      return;
    }
    case node_event::kind::restarted:
    case node_event::kind::welcomed: {
      // the actors of another incarnation are gone; incarnation 0 (a node's manager) is any
      auto gone = take_if([&](const monitor_state& m) {
        return m.target.address == ev.address && m.target.incarnation != 0 && m.target.incarnation != ev.incarnation;
      });
      const std::string text = "node at " + ev.address + " restarted";
      for (auto& m : gone) m->finish(reason_of(reason::kind::node_restarted, text));
      if (ev.what == node_event::kind::restarted) {
        // through a gateway that restarted: the nodes behind it forgot the watches it carried
        auto cut = take_if([&](const monitor_state& m) { return m.route == ev.address && m.target.address != ev.address; });
        for (auto& m : cut) m->finish(reason_of(reason::kind::node_down, "gateway " + ev.address + " restarted"));
        // monitors of the new run (or of a service, incarnation 0) sent before the restart was
        // seen were dropped by it, or here with the queue: they go again (a duplicate is harmless)
        std::vector<std::shared_ptr<monitor_state>> again;
        {
          std::lock_guard lk(mu_);
          owed_.erase(ev.address);  // the new run never knew them
          for (const auto& [id, m] : live_) {
            if (m->route == ev.address) again.push_back(m);
          }
        }
        for (const auto& m : again) send_monitor(*m);
        return;
      }
      std::vector<std::pair<wire_ref, std::uint64_t>> owed;
      std::vector<std::shared_ptr<monitor_state>> again;
      {
        std::lock_guard lk(mu_);
        if (auto it = owed_.find(ev.address); it != owed_.end()) {
          owed = std::move(it->second);
          owed_.erase(it);
        }
        if (ev.again) {
          for (const auto& [id, m] : live_) {
            if (m->route == ev.address) again.push_back(m);
          }
        }
      }
      for (const auto& [target, id] : owed) {
        // (through a gateway, ev.incarnation is the gateway's: the node behind it decides)
        if (target.address != ev.address || target.incarnation == 0 || target.incarnation == ev.incarnation) {
          send_demonitor(target, id);
        }
      }
      if (!again.empty()) {
        ACTOR_LOG(info, "bridge", "monitors_sent_again", {"node", ev.address}, {"monitors", again.size()});
      }
      for (const auto& m : again) send_monitor(*m);
      return;
    }
  }
}

void bridge_monitors::shutdown() {
  auto all = take_if([](const monitor_state&) { return true; });
  for (auto& m : all) {
    send_demonitor(m->target, m->id);
    m->close(error{errc::shutting_down, "the bridge is shutting down"});
  }
}

std::size_t bridge_monitors::live() const {
  std::lock_guard lk(mu_);
  return live_.size();
}

std::size_t bridge_monitors::owed() const {
  std::lock_guard lk(mu_);
  std::size_t n = 0;
  for (const auto& [address, v] : owed_) n += v.size();
  return n;
}

void bridge_monitors::send_monitor(const monitor_state& m) {
  (void)io_.send(m.target, monitor_sender, "actor.monitor", empty_body, m.id);  // a node down completes it anyway
}

void bridge_monitors::send_demonitor(const wire_ref& target, std::uint64_t id) {
  (void)io_.send(target, monitor_sender, "actor.demonitor", empty_body, id);  // best effort: the node may be gone
}

}  // namespace actor::detail
