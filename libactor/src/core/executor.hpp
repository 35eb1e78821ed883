#pragma once
// executor: what runs an actor when it has messages. The worker pool is one;
// a dedicated thread per actor is another.

namespace actor {
class actor_base;
}

namespace actor::detail {

class executor {
 public:
  virtual ~executor() = default;
  /// Runs a soon. The caller has added a reference to a for the executor, which
  /// releases it when a goes idle or stops. Thread-safe, never blocks for long.
  virtual void schedule(actor_base* a) noexcept = 0;
};

}  // namespace actor::detail
