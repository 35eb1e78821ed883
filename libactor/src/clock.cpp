#include "actor/clock.hpp"

#include <condition_variable>
#include <thread>
#include <vector>

namespace actor {

namespace {

// The real clock: a timer thread sleeping until the earliest deadline.
class steady_clock_service final : public clock {
 public:
  steady_clock_service() : thread_([this] { run(); }) {}
  ~steady_clock_service() override {
    {
      std::lock_guard lk(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
    // drop pending callbacks (they may own refs) outside the lock
    auto left = std::move(timers_);
  }

  [[nodiscard]] time_point now() const override { return std::chrono::steady_clock::now(); }

  timer_id schedule_at(time_point at, callback fn) override {
    bool wake = false;
    timer_id id = 0;
    {
      std::lock_guard lk(mu_);
      id = next_id_++;
      // wake the timer thread only when it would otherwise sleep past `at`: most
      // timers are request deadlines that get cancelled long before they are due
      wake = at < waiting_until_;
      timers_.emplace(std::pair{at, id}, std::move(fn));
      by_id_.emplace(id, at);
    }
    if (wake) cv_.notify_one();
    return id;
  }

  bool cancel(timer_id id) override {
    callback dropped;  // destroyed after the lock is released
    std::lock_guard lk(mu_);
    auto it = by_id_.find(id);
    if (it == by_id_.end()) return false;
    auto node = timers_.extract(std::pair{it->second, id});
    by_id_.erase(it);
    if (!node.empty()) dropped = std::move(node.mapped());
    return true;
  }

 private:
  void run() {
    std::unique_lock lk(mu_);
    while (!stop_) {
      const auto now = std::chrono::steady_clock::now();
      // never sleep longer than max_sleep, so a new later timer needs no wake-up
      const time_point horizon = now + max_sleep;
      if (timers_.empty() || timers_.begin()->first.first > now) {
        const time_point due = timers_.empty() ? horizon : std::min(horizon, timers_.begin()->first.first);
        waiting_until_ = due;
        cv_.wait_until(lk, due);
        waiting_until_ = time_point::min();
        continue;
      }
      auto first = timers_.begin();
      auto fn = std::move(first->second);
      by_id_.erase(first->first.second);
      timers_.erase(first);
      lk.unlock();
      fn();
      fn = nullptr;
      lk.lock();
    }
  }

  static constexpr std::chrono::milliseconds max_sleep{50};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  time_point waiting_until_ = time_point::min();  // min: the thread is awake
  timer_id next_id_ = 1;
  std::map<std::pair<time_point, timer_id>, callback> timers_;
  std::unordered_map<timer_id, time_point> by_id_;
  std::thread thread_;  // last: starts after the rest is built
};

}  // namespace

std::shared_ptr<clock> make_steady_clock() { return std::make_shared<steady_clock_service>(); }

time_point manual_clock::now() const {
  std::lock_guard lk(mu_);
  return now_;
}

clock::timer_id manual_clock::schedule_at(time_point at, callback fn) {
  std::lock_guard lk(mu_);
  auto id = next_id_++;
  timers_.emplace(std::pair{at, id}, std::move(fn));
  by_id_.emplace(id, at);
  return id;
}

bool manual_clock::cancel(timer_id id) {
  callback dropped;
  std::lock_guard lk(mu_);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return false;
  auto node = timers_.extract(std::pair{it->second, id});
  by_id_.erase(it);
  if (!node.empty()) dropped = std::move(node.mapped());
  return true;
}

void manual_clock::advance(duration d) {
  std::unique_lock lk(mu_);
  const auto target = now_ + d;
  while (!timers_.empty() && timers_.begin()->first.first <= target) {
    auto first = timers_.begin();
    now_ = std::max(now_, first->first.first);
    auto fn = std::move(first->second);
    by_id_.erase(first->first.second);
    timers_.erase(first);
    lk.unlock();
    fn();
    fn = nullptr;
    lk.lock();
  }
  now_ = target;
}

std::size_t manual_clock::pending() const {
  std::lock_guard lk(mu_);
  return timers_.size();
}

time_point manual_clock::next_deadline() const {
  std::lock_guard lk(mu_);
  return timers_.empty() ? time_point::max() : timers_.begin()->first.first;
}

}  // namespace actor
