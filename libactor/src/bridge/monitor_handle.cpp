// monitor_handle (actor/bridge.hpp): a Bridge's monitor on one actor, over bridge_monitors.
#include "actor/bridge.hpp"
#include "bridge/monitors.hpp"

namespace actor {

monitor_handle::monitor_handle(std::shared_ptr<detail::monitor_state> s, std::weak_ptr<detail::bridge_core> core)
    : state_(std::move(s)), core_(std::move(core)) {}

monitor_handle::monitor_handle(monitor_handle&&) noexcept = default;

monitor_handle& monitor_handle::operator=(monitor_handle&& other) noexcept {
  if (this != &other) {
    cancel();
    state_ = std::move(other.state_);
    core_ = std::move(other.core_);
  }
  return *this;
}

monitor_handle::~monitor_handle() { cancel(); }

std::uint64_t monitor_handle::id() const noexcept { return state_ ? state_->id : 0; }

const actor_ref& monitor_handle::target() const noexcept {
  static const actor_ref none;
  return state_ ? state_->who : none;
}

expected<down_reason> monitor_handle::wait(std::chrono::milliseconds timeout) {
  if (!state_) return error{errc::shutting_down, "a moved-from monitor"};
  auto& s = *state_;
  std::unique_lock lk(s.mu);
  s.cv.wait_for(lk, timeout, [&] { return s.reason.has_value() || s.closed.has_value(); });
  if (s.reason) return *s.reason;
  if (s.closed) return *s.closed;
  return error{errc::timeout, "no down within " + std::to_string(timeout.count()) + " ms"};
}

expected<void> monitor_handle::sync(std::chrono::milliseconds timeout) {
  if (!state_) return error{errc::shutting_down, "a moved-from monitor"};
  auto core = core_.lock();
  if (!core) return error{errc::shutting_down, "the bridge is gone"};
  return detail::ping_node(*core, state_->target.address, timeout);
}

bool monitor_handle::done() const {
  if (!state_) return false;
  std::lock_guard lk(state_->mu);
  return state_->reason.has_value();
}

void monitor_handle::on_down(std::function<void(const down_reason&)> fn) {
  if (!state_ || !fn) return;
  auto& s = *state_;
  {
    std::lock_guard lk(s.mu);
    if (s.closed) return;
    if (!s.reason) {
      s.callback = std::move(fn);
      return;
    }
  }
  fn(*s.reason);  // set once, never changed after
}

bool monitor_handle::cancel() {
  if (!state_) return false;
  bool was_live = false;
  try {
    if (auto core = core_.lock()) was_live = detail::monitors_of(*core).cancel(*state_);
  } catch (...) {  // allocation failure: the target keeps its entry until it dies
  }
  state_->close(error{errc::shutting_down, "the monitor was cancelled"});
  state_->await_callback();  // a callback under way on the I/O thread ends first
  return was_live;
}

}  // namespace actor
