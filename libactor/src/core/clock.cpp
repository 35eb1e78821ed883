#include "actor/clock.hpp"

#include <condition_variable>
#include <thread>
#include <vector>

namespace actor {

namespace detail {

clock::timer_id timer_table::add(time_point at, clock::callback fn) {
  const auto id = next_id_++;
  by_time_.emplace(std::pair{at, id}, std::move(fn));
  by_id_.emplace(id, at);
  return id;
}

bool timer_table::remove(clock::timer_id id, clock::callback& out) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return false;
  auto node = by_time_.extract(std::pair{it->second, id});
  by_id_.erase(it);
  if (!node.empty()) out = std::move(node.mapped());
  return true;
}

bool timer_table::pop_due(time_point now, clock::callback& out, time_point& due) {
  if (by_time_.empty() || by_time_.begin()->first.first > now) return false;
  auto first = by_time_.begin();
  due = first->first.first;
  out = std::move(first->second);
  by_id_.erase(first->first.second);
  by_time_.erase(first);
  return true;
}

time_point timer_table::next() const noexcept {
  return by_time_.empty() ? time_point::max() : by_time_.begin()->first.first;
}

}  // namespace detail

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
      id = timers_.add(at, std::move(fn));
      // wake the timer thread only when it would otherwise sleep past `at`: most
      // timers are request deadlines that get cancelled long before they are due
      wake = at < waiting_until_;
    }
    if (wake) cv_.notify_one();
    return id;
  }

  bool cancel(timer_id id) override {
    callback dropped;  // destroyed after the lock is released
    std::lock_guard lk(mu_);
    return timers_.remove(id, dropped);
  }

 private:
  void run() {
    std::unique_lock lk(mu_);
    callback fn;
    time_point due;
    while (!stop_) {
      const auto now = std::chrono::steady_clock::now();
      if (!timers_.pop_due(now, fn, due)) {
        // never sleep longer than max_sleep, so a new later timer needs no wake-up
        waiting_until_ = std::min(now + max_sleep, timers_.next());
        cv_.wait_until(lk, waiting_until_);
        waiting_until_ = time_point::min();
        continue;
      }
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
  detail::timer_table timers_;
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
  return timers_.add(at, std::move(fn));
}

bool manual_clock::cancel(timer_id id) {
  callback dropped;
  std::lock_guard lk(mu_);
  return timers_.remove(id, dropped);
}

void manual_clock::advance(duration d) {
  std::unique_lock lk(mu_);
  const auto target = now_ + d;
  callback fn;
  time_point due;
  while (timers_.pop_due(target, fn, due)) {
    now_ = std::max(now_, due);
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
  return timers_.next();
}

}  // namespace actor
