#pragma once
/// The clock behind every deadline and timer, injectable so tests step time
/// instead of sleeping.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <map>
#include <unordered_map>

namespace actor {

using duration = std::chrono::steady_clock::duration;
using time_point = std::chrono::steady_clock::time_point;

/// A source of time plus a timer queue. Thread-safe.
class clock {
 public:
  using timer_id = std::uint64_t;
  using callback = std::function<void()>;

  virtual ~clock() = default;
  [[nodiscard]] virtual time_point now() const = 0;
  /// Runs fn once, at or after `at`, on a thread of the clock's choosing.
  /// fn must be short and must not block (it typically enqueues a message).
  virtual timer_id schedule_at(time_point at, callback fn) = 0;
  /// Cancels a pending timer; false when it already ran or never existed.
  virtual bool cancel(timer_id id) = 0;
};

namespace detail {
/// Pending timers in deadline order, findable by id. Not thread-safe: its owner locks.
class timer_table {
 public:
  clock::timer_id add(time_point at, clock::callback fn);
  /// Removes a timer, moving its callback to `out` (to be destroyed outside the owner's
  /// lock: it may own refs). False when no such timer is pending.
  bool remove(clock::timer_id id, clock::callback& out);
  /// Takes the earliest timer when it is due at `now`: its callback and deadline.
  bool pop_due(time_point now, clock::callback& out, time_point& due);
  /// The earliest deadline, or time_point::max() when none.
  [[nodiscard]] time_point next() const noexcept;
  [[nodiscard]] std::size_t size() const noexcept { return by_time_.size(); }

 private:
  clock::timer_id next_id_ = 1;
  std::map<std::pair<time_point, clock::timer_id>, clock::callback> by_time_;
  std::unordered_map<clock::timer_id, time_point> by_id_;
};
}  // namespace detail

/// The real clock: std::chrono::steady_clock and one timer thread.
[[nodiscard]] std::shared_ptr<clock> make_steady_clock();

/// A clock that only moves when told to; advance() runs due timers on the calling thread,
/// in deadline order (timers scheduled by those callbacks run too when due).
class manual_clock final : public clock {
 public:
  explicit manual_clock(time_point start = time_point{} + std::chrono::hours(1)) : now_(start) {}
  [[nodiscard]] time_point now() const override;
  timer_id schedule_at(time_point at, callback fn) override;
  bool cancel(timer_id id) override;

  /// Moves time forward by d, running every timer that falls due on the way.
  void advance(duration d);
  /// How many timers are pending.
  [[nodiscard]] std::size_t pending() const;
  /// The earliest pending deadline, or time_point::max() when none.
  [[nodiscard]] time_point next_deadline() const;

 private:
  mutable std::mutex mu_;
  time_point now_;
  detail::timer_table timers_;
};

}  // namespace actor
