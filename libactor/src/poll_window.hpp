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

}  // namespace actor::detail
