#pragma once
// poll_window: how long a thread that ran out of work keeps polling for more
// before it sleeps, adapted to the gaps it sees, as Linux KVM adapts halt
// polling. Polling turns a wake-up (tens of microseconds on a loaded machine)
// into a few, at the price of CPU; the window keeps that price to traffic that
// pays it back:
//   - a gap the window covered leaves it as it is;
//   - a gap a wider window (up to the maximum) would have covered doubles it,
//     from `grow_start`;
//   - a gap beyond the maximum halves it, to 0 below `grow_start`: traffic too
//     sparse to catch stops costing CPU.
// One per thread; not thread-safe.

#include <algorithm>
#include <chrono>
#include <thread>

namespace actor::detail {

class poll_window {
 public:
  using duration = std::chrono::nanoseconds;
  static constexpr duration grow_start = std::chrono::microseconds(10);

  /// Starts at its widest; max <= 0: never polls.
  explicit poll_window(duration max) noexcept : max_(std::max(max, duration::zero())), width_(max_) {}

  /// How long to poll now.
  [[nodiscard]] duration width() const noexcept { return width_; }

  /// Work came `gap` after the thread ran out of it.
  void observe(duration gap) noexcept {
    if (gap <= width_) return;
    if (gap > max_) {
      width_ /= 2;
      if (width_ < grow_start) width_ = duration::zero();
    } else {
      width_ = std::min(max_, std::max(width_ * 2, grow_start));
    }
  }

 private:
  duration max_;
  duration width_;
};

// An I/O loop's use of a poll_window: after traffic (anything its poll reported),
// it polls without blocking until the window has passed, yielding between empty
// polls so the thread that produces the next job gets the CPU.
class traffic_window {
 public:
  using clock = std::chrono::steady_clock;
  explicit traffic_window(poll_window::duration max) noexcept : window_(max) {}

  /// Whether the next poll should not block.
  [[nodiscard]] bool polling() const noexcept { return clock::now() < last_traffic_ + window_.width(); }

  /// After a poll: `traffic`, whether it reported anything; `was_polling`, polling() before it.
  void after_poll(bool traffic, bool was_polling) noexcept {
    if (traffic) {
      const auto now = clock::now();
      window_.observe(now - last_traffic_);
      last_traffic_ = now;
    } else if (was_polling) {
      std::this_thread::yield();
    }
  }

 private:
  poll_window window_;
  clock::time_point last_traffic_ = clock::now();
};

}  // namespace actor::detail
