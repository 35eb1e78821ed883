#include "net/watch_table.hpp"

namespace actor::detail {

void watch_table::add(const std::string& peer, const key& k, entry e) {
  std::lock_guard lk(mu_);
  if (peers_[peer].try_emplace(k, std::move(e)).second) counted(k.kind, 1);
}

bool watch_table::remove(const std::string& peer, const key& k) {
  entry gone;  // released after the lock
  std::lock_guard lk(mu_);
  auto p = peers_.find(peer);
  if (p == peers_.end()) return false;
  auto it = p->second.find(k);
  if (it == p->second.end()) return false;
  gone = std::move(it->second);
  p->second.erase(it);
  counted(k.kind, -1);
  if (p->second.empty()) peers_.erase(p);
  return true;
}

void watch_table::fire(const std::string& peer, const key& k, const actor::down_reason& why) {
  std::vector<taken> out;
  {
    std::lock_guard lk(mu_);
    auto p = peers_.find(peer);
    if (p == peers_.end()) return;
    auto it = p->second.find(k);
    if (it == p->second.end()) return;
    out.push_back({k, std::move(it->second)});
    p->second.erase(it);
    counted(k.kind, -1);
    if (p->second.empty()) peers_.erase(p);
  }
  deliver_fired(out, why);
}

template <class Pred>
std::vector<watch_table::taken> watch_table::take_if(const std::string& peer, Pred pred) {
  std::vector<taken> out;
  std::lock_guard lk(mu_);
  auto p = peers_.find(peer);
  if (p == peers_.end()) return out;
  for (auto it = p->second.begin(); it != p->second.end();) {
    if (!pred(it->first, it->second)) {
      ++it;
      continue;
    }
    counted(it->first.kind, -1);
    out.push_back({it->first, std::move(it->second)});
    it = p->second.erase(it);
  }
  if (p->second.empty()) peers_.erase(p);
  return out;
}

void watch_table::fire_peer(const std::string& peer, const actor::down_reason& why) {
  auto out = take_if(peer, [](const key&, const entry&) { return true; });
  deliver_fired(out, why);
}

void watch_table::fire_watching(const std::string& peer, const actor::down_reason& why) {
  auto out = take_if(peer, [](const key& k, const entry&) { return k.kind != watch_kind::watched_by; });
  deliver_fired(out, why);
}

void watch_table::fire_restarted(const std::string& peer, std::uint64_t incarnation, const std::string& text) {
  auto out = take_if(peer, [&](const key&, const entry& e) { return e.remote_incarnation != incarnation; });
  deliver_fired(out, actor::down_reason{actor::down_reason::kind::node_restarted, text, {}});
}

void watch_table::fire_all(const actor::down_reason& why) {
  std::vector<taken> out;
  {
    std::lock_guard lk(mu_);
    for (auto& [peer, entries] : peers_) {
      for (auto& [k, e] : entries) {
        counted(k.kind, -1);
        out.push_back({k, std::move(e)});
      }
    }
    peers_.clear();
  }
  deliver_fired(out, why);
}

void watch_table::deliver_fired(std::vector<taken>& out, const actor::down_reason& why) noexcept {
  fired_.fetch_add(out.size(), std::memory_order_relaxed);
  for (auto& [k, e] : out) {
    try {
      switch (k.kind) {
        case watch_kind::monitoring:
          deliver(e.local, make_envelope(down_msg{e.id, e.remote, why}, envelope_kind::send, e.remote, e.id));
          break;
        case watch_kind::linked:
          deliver(e.local, make_envelope(exit_msg{e.remote, why}, envelope_kind::send, e.remote, e.id));
          break;
        case watch_kind::watched_by:
          deliver(e.local, make_envelope(demonitor_request{}, envelope_kind::send, e.remote, e.id));
          break;
      }
    } catch (...) {  // allocation failure: nothing better to do than drop
    }
  }
  out.clear();  // the refs go here, outside the lock
}

}  // namespace actor::detail
