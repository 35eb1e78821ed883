#pragma once
// dedicated_executor: one thread for one actor, for handlers that block. The
// thread ends (and deletes this executor) when its actor stops.

#include <condition_variable>
#include <mutex>

#include "core/executor.hpp"

namespace actor::detail {

struct system_state;

class dedicated_executor final : public executor {
 public:
  /// Starts the thread; it runs a once scheduled.
  static dedicated_executor* start(system_state& sys, actor_cell* a);
  void schedule(actor_cell* a) noexcept override;
  void wait_scheduled(actor_cell* a) noexcept override;

 private:
  dedicated_executor(system_state& sys, actor_cell* a) : sys_(sys), actor_(a) {}
  void run() noexcept;

  system_state& sys_;
  actor_cell* actor_;
  std::mutex mu_;
  std::condition_variable cv_;
  int scheduled_ = 0;  // references handed to us by schedule()
};

}  // namespace actor::detail
