#include "net/strangers.hpp"

#include <algorithm>

namespace actor::detail {

bool strangers::dropped(const std::string& id, const std::vector<request_id>& requests, time_point now) {
  auto it = owed_.find(id);
  if (it == owed_.end()) {
    if (owed_.size() >= max_strangers) return false;
    it = owed_.emplace(id, stranger{}).first;
  }
  auto& s = it->second;
  const std::size_t room = max_listed - std::min(max_listed, s.requests.size());
  s.requests.insert(s.requests.end(), requests.begin(), requests.begin() + static_cast<std::ptrdiff_t>(std::min(room, requests.size())));
  s.answer_owed = true;
  return s.last_answer == time_point{} || now - s.last_answer >= interval_;
}

std::vector<strangers::request_id> strangers::taken(const std::string& id, time_point now) {
  auto it = owed_.find(id);
  if (it == owed_.end()) return {};
  it->second.last_answer = now;
  it->second.answer_owed = false;
  return std::exchange(it->second.requests, {});
}

bool strangers::owes_requests(const std::string& id) const {
  auto it = owed_.find(id);
  return it != owed_.end() && !it->second.requests.empty();
}

std::vector<std::string> strangers::due(time_point now) {
  std::vector<std::string> out;
  for (const auto& [id, s] : owed_) {
    if (s.answer_owed && now - s.last_answer >= interval_) out.push_back(id);
  }
  return out;
}

void strangers::sweep(time_point now) {
  for (auto it = owed_.begin(); it != owed_.end();) {
    const auto& s = it->second;
    if (!s.answer_owed && now - s.last_answer > 100 * interval_) {
      it = owed_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace actor::detail
