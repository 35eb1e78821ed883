#pragma once
// scheduler: the M:N worker pool. Actors with messages wait in one FIFO run
// queue; each worker takes an actor, lets it handle up to `throughput`
// messages, and puts it back if it still has some. A worker that finds the
// queue empty keeps polling it for up to `busy_poll` (a poll_window per
// worker) before it sleeps; sleepers are woken only when no worker polls.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "core/executor.hpp"
#include "core/poll_window.hpp"

namespace actor::detail {

class scheduler final : public executor {
 public:
  scheduler(std::size_t workers, std::size_t throughput, std::chrono::microseconds busy_poll);
  ~scheduler() override;  // joins the workers
  scheduler(const scheduler&) = delete;
  scheduler& operator=(const scheduler&) = delete;

  void schedule(actor_cell* a) noexcept override;
  /// The pool runs no actor that pumps its own mailbox (receivers with a thread are dedicated).
  void wait_scheduled(actor_cell* a) noexcept override;
  [[nodiscard]] std::size_t workers() const noexcept { return threads_.size(); }

 private:
  void run() noexcept;
  actor_cell* pop(poll_window& window) noexcept;  // nullptr: shutting down
  bool try_pop(actor_cell*& out) noexcept;
  void wake_one_unless_polled() noexcept;

  std::size_t throughput_;
  std::chrono::microseconds busy_poll_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<actor_cell*> queue_;
  std::atomic<std::size_t> queued_{0};  // queue_.size(), readable without the lock
  std::atomic<int> sleeping_{0};
  std::atomic<int> polling_{0};  // workers looking for work without sleeping
  bool stopping_ = false;
  std::atomic<bool> stop_polling_{false};  // set with stopping_: pollers go to the wait, which sees it
  std::vector<std::thread> threads_;
};

}  // namespace actor::detail
