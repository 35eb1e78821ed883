#include "core/dedicated_executor.hpp"

#include <limits>
#include <thread>

#include "actor/actor_base.hpp"
#include "core/system_state.hpp"

namespace actor::detail {

dedicated_executor* dedicated_executor::start(system_state& sys, actor_cell* a) {
  auto* ex = new dedicated_executor(sys, a);
  {
    std::lock_guard lk(sys.threads_mu);
    ++sys.threads_running;
  }
  std::thread([ex] { ex->run(); }).detach();
  return ex;
}

void dedicated_executor::schedule(actor_cell*) noexcept {
  // notify while holding the lock: once it is released the actor's thread may
  // stop the actor and delete this executor
  std::lock_guard lk(mu_);
  ++scheduled_;
  cv_.notify_one();
}

void dedicated_executor::wait_scheduled(actor_cell* a) noexcept {
  {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [this] { return scheduled_ > 0; });
    --scheduled_;
  }
  a->release();  // never the last: the system's list of running actors holds a
}

void dedicated_executor::run() noexcept {
  auto& sys = sys_;
  for (;;) {
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [this] { return scheduled_ > 0; });
      --scheduled_;
    }
    auto r = actor_->resume(std::numeric_limits<std::size_t>::max());
    actor_->release();
    if (r == actor_cell::resume_result::done) break;
  }
  delete this;
  std::lock_guard lk(sys.threads_mu);
  if (--sys.threads_running == 0) sys.threads_cv.notify_all();
}

}  // namespace actor::detail
