#include "core/scheduler.hpp"

#include <cstdio>
#include <cstdlib>

#include "actor/actor_base.hpp"

namespace actor::detail {

namespace {
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}
// An idle worker polls before it sleeps: waking a sleeping thread costs
// microseconds, far more than a message. After a short busy spin it yields
// until busy_poll has passed (at least yield_rounds times), so on a machine
// with more runnable threads than cores it does not keep the thread that
// would produce its next job off the CPU.
constexpr int spin_rounds = 128;
constexpr int yield_rounds = 16;
}  // namespace

scheduler::scheduler(std::size_t workers, std::size_t throughput, std::chrono::microseconds busy_poll)
    : throughput_(throughput), busy_poll_(busy_poll) {
  if (workers == 0) workers = std::max(1u, std::thread::hardware_concurrency());
  threads_.reserve(workers);
  for (std::size_t i = 0; i < workers; ++i) threads_.emplace_back([this] { run(); });
}

scheduler::~scheduler() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  stop_polling_.store(true, std::memory_order_relaxed);
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  for (auto* a : queue_) a->release();
}

void scheduler::schedule(actor_cell* a) noexcept {
  {
    std::lock_guard lk(mu_);
    queue_.push_back(a);
    queued_.fetch_add(1, std::memory_order_relaxed);
  }
  wake_one_unless_polled();
}

void scheduler::wait_scheduled(actor_cell*) noexcept {
  std::fputs("libactor: actor_cell::pump called on the worker pool (a bug: only actors on a thread of their own pump)\n",
             stderr);
  std::abort();
}

// A polling worker will take what is queued. The seq_cst order of polling_
// against the pop side's decrement (then its check of the queue under mu_)
// means a job is never left with every worker asleep.
void scheduler::wake_one_unless_polled() noexcept {
  if (polling_.load(std::memory_order_seq_cst) == 0 && sleeping_.load(std::memory_order_seq_cst) > 0) cv_.notify_one();
}

bool scheduler::try_pop(actor_cell*& out) noexcept {
  if (queued_.load(std::memory_order_relaxed) == 0) return false;
  std::lock_guard lk(mu_);
  if (queue_.empty()) return false;
  out = queue_.front();
  queue_.pop_front();
  queued_.fetch_sub(1, std::memory_order_relaxed);
  return true;
}

actor_cell* scheduler::pop(poll_window& window) noexcept {
  actor_cell* a = nullptr;
  if (try_pop(a)) return a;
  using clock = std::chrono::steady_clock;
  const auto idle_since = clock::now();
  const auto found = [&] {
    window.observe(clock::now() - idle_since);
    return a;
  };
  polling_.fetch_add(1, std::memory_order_seq_cst);
  bool got = false;
  for (int i = 0; i < spin_rounds && !got; ++i) {
    got = try_pop(a);
    if (!got) cpu_relax();
  }
  const auto until = idle_since + window.width();
  for (int i = 0; !got && (i < yield_rounds || clock::now() < until) && !stop_polling_.load(std::memory_order_relaxed);
       ++i) {
    got = try_pop(a);
    if (!got) std::this_thread::yield();
  }
  polling_.fetch_sub(1, std::memory_order_seq_cst);
  if (got) {
    if (queued_.load(std::memory_order_relaxed) != 0) wake_one_unless_polled();  // more than this worker can take
    return found();
  }
  std::unique_lock lk(mu_);
  sleeping_.fetch_add(1, std::memory_order_seq_cst);
  cv_.wait(lk, [this] { return stopping_ || !queue_.empty(); });
  sleeping_.fetch_sub(1, std::memory_order_seq_cst);
  if (queue_.empty()) return nullptr;
  a = queue_.front();
  queue_.pop_front();
  queued_.fetch_sub(1, std::memory_order_relaxed);
  lk.unlock();
  return found();
}

void scheduler::run() noexcept {
  poll_window window(busy_poll_);
  while (auto* a = pop(window)) {
    for (;;) {
      auto r = a->resume(throughput_);
      if (r != actor_cell::resume_result::again) {
        a->release();
        break;
      }
      // keep running it while nobody else waits for a worker
      if (queued_.load(std::memory_order_relaxed) != 0) {
        schedule(a);
        break;
      }
    }
  }
}

}  // namespace actor::detail
